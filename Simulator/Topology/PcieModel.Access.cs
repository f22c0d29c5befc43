using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using PcieSim.AddressDecode;
using PcieSim.Functions;

namespace PcieSim.Topology;

/// <summary>Configuration reads and writes through ECAM addresses or (segment, bus, devfn, register).</summary>
public sealed partial class PcieModel
{
    /// <summary>The root complex whose ECAM window holds <paramref name="address"/>, or null.</summary>
    public RootComplex? FindRootComplex(ulong address) => TryDecodeEcam(address, out var rc, out _) ? rc : null;

    /// <summary>
    /// The model's ECAM decode (PCIe Base Spec r6.0 §7.2.2), immutable: a caller decoding many addresses holds a copy
    /// in a local, so that its table stays in registers.
    /// </summary>
    public EcamMap Ecam => ecamMap;

    /// <summary>
    /// ECAM decode alone (PCIe Base Spec r6.0 §7.2.2): the root complex whose window holds <paramref name="address"/>
    /// and the (bus, devfn, register) it names (<see cref="EcamMap.TryDecode"/>).
    /// </summary>
    /// <returns>False when no window holds the address.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryDecodeEcam(ulong address, [NotNullWhen(true)] out RootComplex? rc, out EcamAddress decoded)
    {
        // Through a local copy: a method called on the field itself would take the field's address inside the model,
        // which costs an explicit null check and an add per decode.
        var map = ecamMap;
        return map.TryDecode(address, out rc, out decoded);
    }

    /// <summary>The root complex of <paramref name="segment"/> whose start..end holds <paramref name="bus"/>, or null.</summary>
    public RootComplex? FindRootComplex(ushort segment, byte bus)
    {
        foreach (var rc in rootComplexes)
        {
            if (rc.Segment == segment && bus >= rc.StartBus && bus <= rc.EndBus)
            {
                return rc;
            }
        }

        return null;
    }

    /// <summary>Whether any root complex sits on <paramref name="segment"/>.</summary>
    public bool HasSegment(ushort segment)
    {
        foreach (var rc in rootComplexes)
        {
            if (rc.Segment == segment)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>An ECAM read; an address in no window is unroutable with no root complex.</summary>
    public ConfigAccessResult ReadEcam(ulong address, int width) => AccessEcam(address, width, isWrite: false, 0);

    public ConfigAccessResult WriteEcam(ulong address, int width, ulong value) => AccessEcam(address, width, isWrite: true, value);

    /// <summary>A configuration read of (bus, devfn, register) on <paramref name="rc"/>.</summary>
    public ConfigAccessResult Read(RootComplex rc, byte bus, byte devfn, int register, int width) =>
        Access(rc, new EcamAddress(bus, devfn, (ushort)register), width, isWrite: false, 0);

    public ConfigAccessResult Write(RootComplex rc, byte bus, byte devfn, int register, int width, ulong value) =>
        Access(rc, new EcamAddress(bus, devfn, (ushort)register), width, isWrite: true, value);

    /// <summary>A configuration access by segment and bus (records in configuration-address form).</summary>
    public ConfigAccessResult Access(ushort segment, byte bus, byte devfn, int register, int width, bool isWrite, ulong value)
    {
        var rc = FindRootComplex(segment, bus);
        if (rc is null)
        {
            return NotCompleted(AccessStatus.NoRootComplex, RouteFailure.None, isWrite, null, new EcamAddress(bus, devfn, (ushort)register), width, null, value);
        }

        return Access(rc, new EcamAddress(bus, devfn, (ushort)register), width, isWrite, value);
    }

    private ConfigAccessResult AccessEcam(ulong address, int width, bool isWrite, ulong value)
    {
        if (!TryDecodeEcam(address, out var rc, out var decoded))
        {
            return NotCompleted(AccessStatus.NoRootComplex, RouteFailure.None, isWrite, null, default, width, null, value);
        }

        return Access(rc, decoded, width, isWrite, value);
    }

    /// <summary>
    /// The core access: validates width and lane (reference 1.2), routes, then reads or writes only the enabled
    /// lanes. Unroutable or invalid accesses read all-ones of their width and drop writes.
    /// </summary>
    public ConfigAccessResult Access(RootComplex rc, EcamAddress address, int width, bool isWrite, ulong value)
    {
        ArgumentNullException.ThrowIfNull(rc);
        var fault = ByteEnables.TryGet(address.Register, width, out byte enables);
        if (fault != AccessFault.None)
        {
            var status = fault == AccessFault.UnalignedAccess ? AccessStatus.UnalignedAccess : AccessStatus.InvalidAccessSize;
            return NotCompleted(status, RouteFailure.None, isWrite, rc, address, width, null, value);
        }

        var function = Route(rc, (byte)address.Bus, (byte)address.Devfn, out var failure, out var stoppedAt);
        if (function is null)
        {
            return NotCompleted(AccessStatus.Unroutable, failure, isWrite, rc, address, width, stoppedAt, value);
        }

        if (!isWrite)
        {
            return new ConfigAccessResult(AccessStatus.Completed, RouteFailure.None, isWrite: false, rc, address, width, function, null, function.Read(address.Register, width));
        }

        uint data = (uint)(value & ByteEnables.AllOnes(width));
        uint before = function.ReadDword(address.Register);
        function.WriteDword(address.Register, data << ((address.Register & 3) * 8), enables);
        return new ConfigAccessResult(AccessStatus.Completed, RouteFailure.None, isWrite: true, rc, address, width, function, null, data, before, function.ReadDword(address.Register));
    }

    /// <summary>
    /// An access that reached no function: a read returns all ones of its width, a write is dropped and reports the
    /// data it carried.
    /// </summary>
    private static ConfigAccessResult NotCompleted(AccessStatus status, RouteFailure failure, bool isWrite, RootComplex? rc, EcamAddress address, int width,
        PcieFunction? stoppedAt, ulong value) =>
        new(status, failure, isWrite, rc, address, width, null, stoppedAt, isWrite ? value : ByteEnables.AllOnes(width));
}
