using System.Globalization;
using PcieSim.Topology.Language;

namespace PcieSim.Interrupts;

/// <summary>
/// The platform's MSI controller on Arm: the GICv3 ITS (DeviceID = (segment &lt;&lt; 16) | requester ID, EventID =
/// data, address must be GITS_TRANSLATER) or a GICv2m frame (doorbell SETSPI_NS = frame + 0x40, data = INTID in
/// the SPI pool). Without one, every message is accepted and recorded with address, data and requester ID.
/// </summary>
public abstract class PlatformMsiController
{
    public static PlatformMsiController Create(GicMsiSpec? spec) => spec switch
    {
        null => new NoPlatform(),
        { Mode: GicMsiMode.Its } => new GicIts(spec.TranslaterAddress),
        _ => new GicV2m(spec.FrameBase, spec.SpiBase, spec.SpiCount),
    };

    public abstract Delivery Deliver(in InterruptMessage message);

    private static string Hex(ulong value) => "0x" + value.ToString("x", CultureInfo.InvariantCulture);

    private sealed class NoPlatform : PlatformMsiController
    {
        public override Delivery Deliver(in InterruptMessage message) => new(DeliveryStatus.Accepted, null, null, null, null);
    }

    /// <summary>GICv3 ITS as OpenVMM drives it under KVM (<c>pcie/src/its.rs</c>, <c>virt_kvm</c>).</summary>
    private sealed class GicIts(ulong translater) : PlatformMsiController
    {
        public override Delivery Deliver(in InterruptMessage message) => message.Address == translater
            ? new Delivery(DeliveryStatus.Accepted, ((uint)message.Segment << 16) | message.RequesterId, message.Data, null, null)
            : Delivery.Dropped($"address {Hex(message.Address)} is not GITS_TRANSLATER {Hex(translater)}");
    }

    /// <summary>GICv2m (<c>vmm_core/virt/src/aarch64/gic_v2m.rs</c>): data is the INTID; the device ID is ignored.</summary>
    private sealed class GicV2m(ulong frame, uint spiBase, uint spiCount) : PlatformMsiController
    {
        public override Delivery Deliver(in InterruptMessage message)
        {
            if (message.Address != frame + 0x40)
            {
                return Delivery.Dropped($"address {Hex(message.Address)} is not the GICv2m doorbell SETSPI_NS {Hex(frame + 0x40)}");
            }

            return message.Data >= spiBase && message.Data < spiBase + spiCount
                ? new Delivery(DeliveryStatus.Accepted, null, null, message.Data, null)
                : Delivery.Dropped(string.Create(CultureInfo.InvariantCulture, $"INTID {message.Data} outside the SPI pool {spiBase}..{spiBase + spiCount - 1}"));
        }
    }
}
