using PcieSim.Functions;

namespace PcieSim.Interrupts;

/// <summary>Why a function signalled: a port's hot-plug interrupt, or an endpoint's MSI or MSI-X vector.</summary>
public enum MessageOrigin : byte
{
    Hotplug,
    Msi,
    Msix,
}

/// <summary>
/// One MSI write a function put on the fabric: its requester ID (resolved from the live bus numbers when raised,
/// reference 5.1), the segment of its root complex, address and data.
/// </summary>
public readonly record struct InterruptMessage(PcieFunction Source, MessageOrigin Origin, int Vector, ushort Segment, ushort RequesterId, ulong Address, uint Data);

/// <summary>What the platform's MSI controller did with a message.</summary>
public enum DeliveryStatus : byte
{
    /// <summary>Accepted: translated by the ITS, asserted as a v2m SPI, or recorded (no platform).</summary>
    Accepted,

    /// <summary>Dropped, with a reason.</summary>
    Dropped,
}

/// <summary>The platform's answer to one message.</summary>
/// <param name="DeviceId">GICv3 ITS DeviceID = (segment &lt;&lt; 16) | requester ID.</param>
/// <param name="EventId">GICv3 ITS EventID = data.</param>
/// <param name="Intid">GICv2m: the SPI INTID (= data).</param>
public readonly record struct Delivery(DeliveryStatus Status, uint? DeviceId, uint? EventId, uint? Intid, string? Reason)
{
    public static Delivery Dropped(string reason) => new(DeliveryStatus.Dropped, null, null, null, reason);

    public bool Accepted => Status == DeliveryStatus.Accepted;
}
