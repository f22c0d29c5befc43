using System.Globalization;

namespace PcieSim.Enumeration;

/// <summary>What one host bridge's resource assignment gets (OpenVMM <c>AssignmentParams</c>, without <c>preserve_bars</c>).</summary>
internal sealed record AssignmentParameters(byte StartBus, byte EndBus, MmioAperture? LowMmio, MmioAperture? HighMmio);

/// <summary>An error of the resource assignment, in OpenVMM's words.</summary>
internal sealed record AssignmentFailure(EnumerationErrorKind Kind, string Message);

/// <summary>A memory BAR found by the all-ones probe (OpenVMM <c>DiscoveredBar</c>).</summary>
internal sealed class DiscoveredBar(int index, ulong size, bool is64Bit, bool prefetchable)
{
    public int Index { get; } = index;

    public ulong Size { get; } = size;

    public bool Is64Bit { get; } = is64Bit;

    public bool Prefetchable { get; } = prefetchable;

    /// <summary>Only 64-bit prefetchable BARs go to the mem64 pool (high MMIO, prefetchable window).</summary>
    public bool IsMem64 => Is64Bit && Prefetchable;

    public ulong? Address { get; set; }
}

/// <summary>An SR-IOV Physical Function's VF resources (OpenVMM <c>DiscoveredSriov</c>).</summary>
internal sealed class DiscoveredSriov(ushort capabilityOffset, ushort totalVfs, List<DiscoveredBar> vfBars)
{
    public ushort CapabilityOffset { get; } = capabilityOffset;

    public ushort TotalVfs { get; } = totalVfs;

    public List<DiscoveredBar> VfBars { get; } = vfBars;
}

/// <summary>A function found by the depth-first scan (OpenVMM <c>DiscoveredDevice</c>), filled in by each phase.</summary>
internal sealed class DiscoveredDevice(byte bus, byte device, byte function, bool isBridge, List<DiscoveredBar> bars)
{
    public byte Bus { get; } = bus;

    public byte Device { get; } = device;

    /// <summary>Function number; an ARI Device's Extended Functions have Device 0 and a Function up to 255.</summary>
    public byte Function { get; } = function;

    public byte Devfn => (byte)((Device << 3) | Function);

    public bool IsBridge { get; } = isBridge;

    public List<DiscoveredBar> Bars { get; } = bars;

    public List<DiscoveredDevice> Children { get; set; } = [];

    public byte? SecondaryBus { get; set; }

    public byte? SubordinateBus { get; set; }

    public DiscoveredSriov? Sriov { get; set; }

    /// <summary>The scan of this bridge's secondary bus found ARI Forwarding Enable set, or set it.</summary>
    public bool AriForwardingEnabled { get; set; }

    /// <summary>For a bridge: its children's sizing (bottom-up pass).</summary>
    public SubtreeSizing? Sizing { get; set; }

    public (ulong Base, ulong Limit)? MemoryWindow { get; set; }

    public (ulong Base, ulong Limit)? PrefetchableWindow { get; set; }
}

/// <summary>
/// OpenVMM's pre-boot PCI resource assignment (<c>pci_resource_assignment/src/{lib,enumerate,assign}.rs</c>), driven
/// only through <see cref="IConfigAccess"/>. Phase 1 (this file, <c>enumerate.rs</c>): a depth-first scan from the
/// start bus giving each bridge the next free bus as secondary, its subordinate opened to the end bus while the
/// scan is below it and then closed to the highest bus used; ARI Forwarding enabled above ARI and SR-IOV devices;
/// Command.MEM cleared and every BAR sized by writing all-ones. Phase 2 (<c>assign.rs</c>): bottom-up sizing,
/// top-down first-fit allocation, then programming BARs and bridge windows.
/// </summary>
/// <remarks>
/// Not modelled: <c>preserve_bars</c> (our BARs read 0 after every reset, so OpenVMM would find nothing to pin) and
/// the walk for a Scalable IOV capability, which only decides ARI forwarding and no model function can have.
/// </remarks>
internal static partial class ResourceAssignment
{
    /// <summary>Offset of the first extended capability (PCIe Base Spec r6.0 §7.6, extended configuration space).</summary>
    internal const ushort ExtendedCapabilityStart = 0x100;

    /// <summary>Alternative Routing-ID Interpretation extended capability ID (PCIe Base 7.0 §7.8.8, as OpenVMM cites it).</summary>
    internal const ushort AriCapabilityId = 0x000E;

    /// <summary>Single Root I/O Virtualization extended capability ID (PCIe Base Spec, SR-IOV Extended Capability).</summary>
    internal const ushort SriovCapabilityId = 0x0010;

    /// <summary>PCI Express capability ID (PCIe Base Spec r6.0 §7.5.3).</summary>
    private const byte PciExpressCapabilityId = 0x10;

    private const ushort CommandStatus = 0x04;
    private const ushort HeaderTypeDword = 0x0C;
    private const ushort CapabilitiesPointer = 0x34;
    private const ushort Bar0 = 0x10;
    private const ushort BusNumbers = 0x18;
    private const ushort StatusCapabilitiesList = 1 << 4;
    private const uint CommandMemorySpaceEnable = 1 << 1;
    private const ushort DeviceCapabilities2 = 0x24;
    private const ushort DeviceControl2 = 0x28;
    private const uint AriForwardingSupported = 1 << 5;
    private const uint AriForwardingEnable = 1 << 5;
    private const ushort AriCapabilityControl = 0x04;
    private const ushort SriovControlStatus = 0x08;
    private const ushort SriovInitialTotalVfs = 0x0C;
    private const ushort SriovVfOffsetStride = 0x14;
    private const ushort SriovVfBar0 = 0x24;
    private const uint SriovAriCapableHierarchy = 1 << 4;

    /// <summary>Phase 1. Returns the functions on the start bus (with their subtrees), or null with the failure.</summary>
    internal static List<DiscoveredDevice>? Enumerate(IConfigAccess cfg, AssignmentParameters parameters, out AssignmentFailure? failure)
    {
        var scan = new Scan(cfg, parameters.EndBus, parameters.StartBus + 1);
        var devices = scan.Bus(parameters.StartBus, null);
        failure = scan.Failure;
        return failure is null ? devices : null;
    }

    private sealed class Scan(IConfigAccess cfg, byte endBus, int nextBus)
    {
        private int nextBus = nextBus;

        public AssignmentFailure? Failure { get; private set; }

        /// <summary>Scans one bus; <paramref name="parentPort"/> is the bridge above it (null on the root bus).</summary>
        public List<DiscoveredDevice>? Bus(byte bus, DiscoveredDevice? parentPort)
        {
            var devices = new List<DiscoveredDevice>();
            for (byte device = 0; device < 32; device++)
            {
                byte devfn0 = (byte)(device << 3);
                if (cfg.Read(bus, devfn0, 0x00) == uint.MaxValue)
                {
                    continue;
                }

                uint header = cfg.Read(bus, devfn0, HeaderTypeDword);
                bool bridge0 = HeaderLayout(header) == 1;
                bool multiFunction = (header & 0x0080_0000) != 0;

                // An ARI Device occupies Device 0 and has the ARI capability in Function 0 (PCIe Base 7.0 §6.13), reachable
                // without ARI forwarding; enable forwarding above it before walking its Function list.
                ushort? ari = device == 0 ? FindExtendedCapability(bus, devfn0, AriCapabilityId) : null;
                bool ariForwarding = false;
                if (ari is not null && parentPort is not null)
                {
                    ariForwarding = EnableAriForwarding(parentPort);
                }

                List<byte> functionNumbers;
                if (ari is not null)
                {
                    functionNumbers = AriFunctionList(bus);
                }
                else if (multiFunction)
                {
                    functionNumbers = [0];
                    for (byte f = 1; f < 8; f++)
                    {
                        if (cfg.Read(bus, (byte)(devfn0 | f), 0x00) != uint.MaxValue)
                        {
                            functionNumbers.Add(f);
                        }
                    }
                }
                else
                {
                    functionNumbers = [0];
                }

                // Header types and SR-IOV capabilities first: ARI Capable Hierarchy must be set before First VF
                // Offset and VF Stride are read (PCIe Base 7.0 §9.4.3.3.5 and §9.2.1.2, as OpenVMM cites them).
                var functions = new List<(byte Function, byte Devfn, bool Bridge, ushort? Sriov)>(functionNumbers.Count);
                foreach (byte f in functionNumbers)
                {
                    byte devfn = (byte)(devfn0 | f);
                    bool bridge = f == 0 ? bridge0 : HeaderLayout(cfg.Read(bus, devfn, HeaderTypeDword)) == 1;
                    ushort? sriov = bridge ? null : FindExtendedCapability(bus, devfn, SriovCapabilityId);
                    functions.Add((f, devfn, bridge, sriov));
                }

                bool hasSriov = functions.Exists(f => f.Sriov is not null);
                if (!ariForwarding && hasSriov && parentPort is not null)
                {
                    ariForwarding = EnableAriForwarding(parentPort);
                }

                if (ariForwarding && hasSriov)
                {
                    var lowestPf = functions.Where(f => f.Sriov is not null).MinBy(f => f.Function);
                    SetAriCapableHierarchy(bus, lowestPf.Devfn, lowestPf.Sriov!.Value);
                }

                foreach (var (function, devfn, isBridge, sriovOffset) in functions)
                {
                    var dev = new DiscoveredDevice(bus, device, function, isBridge, ProbeBars(bus, devfn, isBridge));
                    if (isBridge)
                    {
                        if (nextBus > endBus)
                        {
                            Failure = BusExhaustion(bus, device, function);
                            return null;
                        }

                        byte secondary = (byte)nextBus++;
                        cfg.Write(bus, devfn, BusNumbers, bus | ((uint)secondary << 8) | ((uint)endBus << 16));
                        var children = Bus(secondary, dev);
                        if (children is null)
                        {
                            return null;
                        }

                        byte subordinate = (byte)Math.Max(nextBus - 1, secondary);
                        cfg.Write(bus, devfn, BusNumbers, bus | ((uint)secondary << 8) | ((uint)subordinate << 16));
                        dev.SecondaryBus = secondary;
                        dev.SubordinateBus = subordinate;
                        dev.Children = children;
                    }
                    else if (ProbeSriov(bus, devfn, sriovOffset) is { } sriov)
                    {
                        // VF bus numbers are fixed by VF Offset and Stride: VFs beyond the PF's bus reserve those
                        // buses, which must not already belong to a sibling bridge.
                        if (sriov.MaxVfBus > endBus)
                        {
                            Failure = BusExhaustion(bus, device, function);
                            return null;
                        }

                        if (sriov.MaxVfBus > bus)
                        {
                            if (sriov.MaxVfBus < nextBus)
                            {
                                Failure = new AssignmentFailure(EnumerationErrorKind.SriovBusConflict, Inv(
                                    $"SR-IOV VFs of {bus:x2}:{device:x2}.{function} reach bus {sriov.MaxVfBus:x2}, below the next free bus {nextBus:x2}"));
                                return null;
                            }

                            nextBus = sriov.MaxVfBus + 1;
                        }

                        dev.Sriov = new DiscoveredSriov(sriov.Offset, sriov.TotalVfs, sriov.VfBars);
                    }

                    devices.Add(dev);
                }

                // With ARI forwarding on, Device Numbers 1..31 alias the ARI Device's Functions 8 and up, which the
                // Function list walk already found: stop here (OpenVMM).
                if (ariForwarding)
                {
                    break;
                }
            }

            return devices;
        }

        private static int HeaderLayout(uint bistHeaderDword) => (int)((bistHeaderDword >> 16) & 0x7F);

        private static AssignmentFailure BusExhaustion(byte bus, byte device, byte function) =>
            new(EnumerationErrorKind.BusExhaustion, Inv($"bus number exhaustion at bridge {bus:x2}:{device:x2}.{function}"));

        private byte ReadByte(byte bus, byte devfn, int offset) => (byte)(cfg.Read(bus, devfn, (ushort)(offset & ~3)) >> ((offset & 3) * 8));

        /// <summary>The PCI Express capability in the standard list, walking at most 48 entries.</summary>
        private ushort? FindPciExpressCapability(byte bus, byte devfn)
        {
            uint status = cfg.Read(bus, devfn, CommandStatus) >> 16;
            if ((status & StatusCapabilitiesList) == 0)
            {
                return null;
            }

            int pointer = ReadByte(bus, devfn, CapabilitiesPointer);
            for (int i = 0; i < 48; i++)
            {
                if (pointer < 0x40 || pointer == 0xFF)
                {
                    break;
                }

                if (ReadByte(bus, devfn, pointer) == PciExpressCapabilityId)
                {
                    return (ushort)pointer;
                }

                pointer = ReadByte(bus, devfn, pointer + 1);
            }

            return null;
        }

        /// <summary>The extended capability <paramref name="id"/>, walking from 0x100 while the next pointer increases.</summary>
        private ushort? FindExtendedCapability(byte bus, byte devfn, ushort id)
        {
            int offset = ExtendedCapabilityStart;
            while (offset >= ExtendedCapabilityStart && (offset & 3) == 0)
            {
                uint header = cfg.Read(bus, devfn, (ushort)offset);
                if (header is 0 or uint.MaxValue)
                {
                    break;
                }

                int next = (int)((header >> 20) & 0xFFC);
                if ((header & 0xFFFF) == id)
                {
                    return (ushort)offset;
                }

                if (next == 0 || next <= offset)
                {
                    break;
                }

                offset = next;
            }

            return null;
        }

        /// <summary>
        /// Sets ARI Forwarding Enable in the port above an ARI or SR-IOV device if the port supports it (PCIe Base
        /// 7.0 §6.13, §7.5.3.15, §7.5.3.16, as OpenVMM cites them); true when it is (now) set.
        /// </summary>
        private bool EnableAriForwarding(DiscoveredDevice port)
        {
            if (FindPciExpressCapability(port.Bus, port.Devfn) is not { } pcie)
            {
                return false;
            }

            if ((cfg.Read(port.Bus, port.Devfn, (ushort)(pcie + DeviceCapabilities2)) & AriForwardingSupported) == 0)
            {
                return false;
            }

            ushort control = (ushort)(pcie + DeviceControl2);
            uint controlStatus = cfg.Read(port.Bus, port.Devfn, control);
            if ((controlStatus & AriForwardingEnable) == 0)
            {
                // Device Status 2 (the high half) is written back as read.
                cfg.Write(port.Bus, port.Devfn, control, controlStatus | AriForwardingEnable);
            }

            port.AriForwardingEnabled = true;
            return true;
        }

        /// <summary>Sets ARI Capable Hierarchy in the lowest-numbered PF's SR-IOV Control, Status written as 0 (RW1C).</summary>
        private void SetAriCapableHierarchy(byte bus, byte devfn, ushort sriovOffset)
        {
            ushort register = (ushort)(sriovOffset + SriovControlStatus);
            uint control = cfg.Read(bus, devfn, register) & 0xFFFF;
            if ((control & SriovAriCapableHierarchy) == 0)
            {
                cfg.Write(bus, devfn, register, control | SriovAriCapableHierarchy);
            }
        }

        /// <summary>An ARI Device's Function Numbers: the Next Function Number list from Function 0 (PCIe Base 7.0 §7.8.8.2).</summary>
        private List<byte> AriFunctionList(byte bus)
        {
            var functions = new List<byte>();
            int function = 0;
            for (int i = 0; i < 256; i++)
            {
                byte devfn = (byte)function;
                if (cfg.Read(bus, devfn, 0x00) == uint.MaxValue)
                {
                    break;
                }

                functions.Add(devfn);
                if (FindExtendedCapability(bus, devfn, AriCapabilityId) is not { } ari)
                {
                    break;
                }

                int next = (byte)(cfg.Read(bus, devfn, (ushort)(ari + AriCapabilityControl)) >> 8);
                if (next <= function)
                {
                    break;
                }

                function = next;
            }

            return functions;
        }

        /// <summary>Clears Command.MEM if set (Status written as 0, it is RW1C) and sizes BARs 0..5 (0..1 for a bridge).</summary>
        private List<DiscoveredBar> ProbeBars(byte bus, byte devfn, bool isBridge)
        {
            uint command = cfg.Read(bus, devfn, CommandStatus) & 0xFFFF;
            if ((command & CommandMemorySpaceEnable) != 0)
            {
                cfg.Write(bus, devfn, CommandStatus, command & ~CommandMemorySpaceEnable);
            }

            return ProbeBarRange(bus, devfn, Bar0, isBridge ? 2 : 6);
        }

        /// <summary>
        /// Sizes BARs by writing all-ones and reading back (PCIe Base Spec r6.0 §7.5.1.2.1); the BARs are left holding the probe value.
        /// A readback of 0 is no BAR; I/O BARs are skipped; a 64-bit BAR also probes its upper half unless it is
        /// the last slot (then it is sized as 32-bit, as OpenVMM does).
        /// </summary>
        private List<DiscoveredBar> ProbeBarRange(byte bus, byte devfn, ushort baseOffset, int count)
        {
            var bars = new List<DiscoveredBar>();
            int i = 0;
            while (i < count)
            {
                ushort offset = (ushort)(baseOffset + (i * 4));
                cfg.Write(bus, devfn, offset, uint.MaxValue);
                uint readback = cfg.Read(bus, devfn, offset);
                if (readback == 0 || (readback & 1) != 0)
                {
                    i++;
                    continue;
                }

                bool is64Bit = (readback & 0x4) != 0;
                bool prefetchable = (readback & 0x8) != 0;
                ulong size;
                if (is64Bit && i + 1 < count)
                {
                    ushort upperOffset = (ushort)(offset + 4);
                    cfg.Write(bus, devfn, upperOffset, uint.MaxValue);
                    ulong mask = ((ulong)cfg.Read(bus, devfn, upperOffset) << 32) | (readback & ~0xFu);
                    if (mask == 0)
                    {
                        i += 2;
                        continue;
                    }

                    size = ~mask + 1;
                }
                else
                {
                    uint mask = readback & ~0xFu;
                    if (mask == 0)
                    {
                        i++;
                        continue;
                    }

                    size = ~(mask | 0xFFFF_FFFF_0000_0000UL) + 1;
                }

                if (size > 0)
                {
                    bars.Add(new DiscoveredBar(i, size, is64Bit, prefetchable));
                }

                i += is64Bit ? 2 : 1;
            }

            return bars;
        }

        /// <summary>
        /// TotalVFs, the bus of the last VF and the VF BAR sizes of an SR-IOV PF, or null when it has no
        /// VFs or a zero stride. Reads Vendor/Device first: OpenVMM skips SR-IOV on 10de:2941.
        /// </summary>
        private (ushort Offset, int MaxVfBus, ushort TotalVfs, List<DiscoveredBar> VfBars)? ProbeSriov(byte bus, byte devfn, ushort? sriovOffset)
        {
            uint ids = cfg.Read(bus, devfn, 0x00);
            if ((ids & 0xFFFF) == 0x10DE && (ids >> 16) == 0x2941)
            {
                return null;
            }

            if (sriovOffset is not { } offset)
            {
                return null;
            }

            ushort totalVfs = (ushort)(cfg.Read(bus, devfn, (ushort)(offset + SriovInitialTotalVfs)) >> 16);
            if (totalVfs == 0)
            {
                return null;
            }

            uint offsetStride = cfg.Read(bus, devfn, (ushort)(offset + SriovVfOffsetStride));
            int vfOffset = (ushort)offsetStride;
            int vfStride = (ushort)(offsetStride >> 16);
            if (vfStride == 0)
            {
                return null;
            }

            // The last VF's routing ID must fit 16 bits (OpenVMM's checked arithmetic gives up otherwise).
            int lastVfRid = ((totalVfs - 1) * vfStride) + vfOffset + ((bus << 8) | devfn);
            if ((long)(totalVfs - 1) * vfStride > ushort.MaxValue || lastVfRid > ushort.MaxValue)
            {
                return null;
            }

            return (offset, lastVfRid >> 8, totalVfs, ProbeBarRange(bus, devfn, (ushort)(offset + SriovVfBar0), 6));
        }
    }

    private static string Inv(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
