using PcieSim.Enumeration;

namespace PcieSim.Conformance.Enumeration;

/// <summary>
/// The mock configuration space of OpenVMM's <c>pci_resource_assignment/src/tests.rs</c>, for scenarios our topology
/// cannot express: a flat map of DWORDs keyed by (bus, device, function, offset); an unknown register reads
/// all-ones and a write stores whatever is written; a BAR declared with a size reads its mask and encoding after
/// an all-ones write and takes any other value as written. Endpoints read 0x1234_5678 at 0x00, bridges 0xABCD_EF01.
/// </summary>
internal sealed class MockConfigSpace : IConfigAccess
{
    private readonly SortedDictionary<(byte Bus, byte Device, byte Function, ushort Offset), uint> registers = [];
    private readonly SortedDictionary<(byte, byte, byte, ushort), uint> barMasks = [];
    private readonly HashSet<(byte, byte, byte, ushort)> probing = [];

    /// <summary>Every write, in order.</summary>
    public List<(byte Bus, byte Devfn, ushort Offset, uint Value)> Writes { get; } = [];

    /// <summary>A Type 0 endpoint; each BAR is (index, size, 64-bit, prefetchable).</summary>
    public void AddEndpoint(byte bus, byte device, byte function, params (int Index, ulong Size, bool Is64Bit, bool Prefetchable)[] bars)
    {
        Set(bus, device, function, 0x00, 0x1234_5678);
        Set(bus, device, function, 0x08, 0x0200_0000);
        Set(bus, device, function, 0x0C, 0x0000_0000);
        Set(bus, device, function, 0x04, 0x0000_0000);
        AddBars(bus, device, function, 0x10, bars);
    }

    /// <summary>A Type 1 bridge with bus numbers and windows zero and no capabilities.</summary>
    public void AddBridge(byte bus, byte device, byte function)
    {
        Set(bus, device, function, 0x00, 0xABCD_EF01);
        Set(bus, device, function, 0x08, 0x0604_0000);
        Set(bus, device, function, 0x0C, 0x0001_0000);
        foreach (ushort offset in new ushort[] { 0x04, 0x18, 0x20, 0x24, 0x28, 0x2C })
        {
            Set(bus, device, function, offset, 0);
        }
    }

    public void SetMultiFunction(byte bus, byte device) => Set(bus, device, 0, 0x0C, Get(bus, device, 0, 0x0C) | 0x0080_0000);

    /// <summary>Pre-programs a BAR's address, keeping its encoding bits.</summary>
    public void SetBarAddress(byte bus, byte device, byte function, int index, ulong address)
    {
        ushort offset = (ushort)(0x10 + (index * 4));
        uint encoding = (registers.TryGetValue((bus, device, function, offset), out uint value) ? value : 0) & 0xF;
        Set(bus, device, function, offset, ((uint)address & ~0xFu) | encoding);
        if ((encoding & 0x4) != 0)
        {
            Set(bus, device, function, (ushort)(offset + 4), (uint)(address >> 32));
        }
    }

    /// <summary>An SR-IOV capability at 0x100 (next 0): TotalVFs, VF Offset and Stride, VF BARs at +0x24.</summary>
    public void AddSriov(byte bus, byte device, byte function, ushort totalVfs, ushort vfOffset, ushort vfStride, params (int Index, ulong Size, bool Is64Bit, bool Prefetchable)[] vfBars)
    {
        Set(bus, device, function, 0x100, ResourceAssignment.SriovCapabilityId);
        Set(bus, device, function, 0x10C, ((uint)totalVfs << 16) | totalVfs);
        Set(bus, device, function, 0x114, ((uint)vfStride << 16) | vfOffset);
        AddBars(bus, device, function, 0x124, vfBars);
    }

    /// <summary>
    /// A PCI Express capability at 0x40 (Status.CapabilitiesList set, pointer 0x34 = 0x40), Device Capabilities 2
    /// at 0x64 with ARI Forwarding Supported as given, Device Control 2 at 0x68 cleared.
    /// </summary>
    public void AddPciExpressCapability(byte bus, byte device, byte function, bool ariForwardingSupported)
    {
        Set(bus, device, function, 0x04, 0x0010_0000);
        Set(bus, device, function, 0x34, 0x40);
        Set(bus, device, function, 0x40, 0x0042_0010);
        Set(bus, device, function, 0x64, ariForwardingSupported ? 0x20u : 0);
        Set(bus, device, function, 0x68, 0);
    }

    /// <summary>An extended capability header at <paramref name="offset"/>: ID, version 1, next pointer.</summary>
    public void AddExtendedCapability(byte bus, byte device, byte function, ushort offset, ushort id, ushort next) =>
        Set(bus, device, function, offset, id | (1u << 16) | ((uint)next << 20));

    /// <summary>An ARI capability at <paramref name="offset"/> whose Next Function Number is <paramref name="nextFunction"/>.</summary>
    public void AddAri(byte bus, byte device, byte function, ushort offset, byte nextFunction, ushort nextCapability = 0)
    {
        AddExtendedCapability(bus, device, function, offset, ResourceAssignment.AriCapabilityId, nextCapability);
        Set(bus, device, function, (ushort)(offset + 4), (uint)nextFunction << 8);
    }

    /// <summary>Points the extended capability at <paramref name="offset"/> to <paramref name="next"/>.</summary>
    public void SetNextCapability(byte bus, byte device, byte function, ushort offset, ushort next) =>
        Set(bus, device, function, offset, (Get(bus, device, function, offset) & 0x000F_FFFF) | ((uint)next << 20));

    public void Set(byte bus, byte device, byte function, ushort offset, uint value) => registers[(bus, device, function, offset)] = value;

    /// <summary>The register as the enumeration would read it (a probed BAR reads its mask).</summary>
    public uint Get(byte bus, byte device, byte function, ushort offset) =>
        probing.Contains((bus, device, function, offset)) ? barMasks[(bus, device, function, offset)]
        : registers.TryGetValue((bus, device, function, offset), out uint value) ? value : uint.MaxValue;

    public uint Bar32(byte bus, byte device, byte function, int index) => Get(bus, device, function, (ushort)(0x10 + (index * 4)));

    public ulong Bar64(byte bus, byte device, byte function, int index) =>
        Bar32(bus, device, function, index) | ((ulong)Bar32(bus, device, function, index + 1) << 32);

    public uint VfBar32(byte bus, byte device, byte function, int index) => Get(bus, device, function, (ushort)(0x124 + (index * 4))) & ~0xFu;

    public ulong VfBar64(byte bus, byte device, byte function, int index) =>
        VfBar32(bus, device, function, index) | ((ulong)Get(bus, device, function, (ushort)(0x124 + ((index + 1) * 4))) << 32);

    public (byte Primary, byte Secondary, byte Subordinate) BusNumbers(byte bus, byte device, byte function)
    {
        uint value = Get(bus, device, function, 0x18);
        return ((byte)value, (byte)(value >> 8), (byte)(value >> 16));
    }

    /// <summary>The non-prefetchable window, or null when disabled (base above limit).</summary>
    public AddressWindow? MemoryWindow(byte bus, byte device, byte function)
    {
        uint value = Get(bus, device, function, 0x20);
        ulong low = (ulong)(value & 0xFFF0) << 16, high = ((ulong)((value >> 16) & 0xFFF0) << 16) | 0xF_FFFF;
        return low <= high ? new AddressWindow(low, high) : null;
    }

    /// <summary>The prefetchable window with its upper halves, or null when disabled.</summary>
    public AddressWindow? PrefetchableWindow(byte bus, byte device, byte function)
    {
        uint value = Get(bus, device, function, 0x24);
        ulong low = ((ulong)(value & 0xFFF0) << 16) | ((ulong)Get(bus, device, function, 0x28) << 32);
        ulong high = ((ulong)((value >> 16) & 0xFFF0) << 16) | 0xF_FFFF | ((ulong)Get(bus, device, function, 0x2C) << 32);
        return low <= high ? new AddressWindow(low, high) : null;
    }

    uint IConfigAccess.Read(byte bus, byte devfn, ushort offset) => Get(bus, (byte)(devfn >> 3), (byte)(devfn & 7), offset);

    void IConfigAccess.Write(byte bus, byte devfn, ushort offset, uint value)
    {
        Writes.Add((bus, devfn, offset, value));
        var key = (bus, (byte)(devfn >> 3), (byte)(devfn & 7), offset);
        if (barMasks.ContainsKey(key))
        {
            if (value == uint.MaxValue)
            {
                probing.Add(key);
                return;
            }

            probing.Remove(key);
        }

        registers[key] = value;
    }

    private void AddBars(byte bus, byte device, byte function, ushort first, (int Index, ulong Size, bool Is64Bit, bool Prefetchable)[] bars)
    {
        foreach (var (index, size, is64Bit, prefetchable) in bars)
        {
            ushort offset = (ushort)(first + (index * 4));
            uint encoding = (is64Bit ? 0x4u : 0) | (prefetchable ? 0x8u : 0);
            Set(bus, device, function, offset, encoding);
            barMasks[(bus, device, function, offset)] = (uint)~(size - 1) | encoding;
            if (is64Bit)
            {
                Set(bus, device, function, (ushort)(offset + 4), 0);
                barMasks[(bus, device, function, (ushort)(offset + 4))] = (uint)(~(size - 1) >> 32);
            }
        }
    }
}
