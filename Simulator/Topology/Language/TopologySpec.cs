namespace PcieSim.Topology.Language;

/// <summary>
/// A topology written in OpenVMM's command-line grammar, parsed, validated and resolved: every devfn,
/// slot number and ECAM base is decided. Pure data; the engine builds a model from it.
/// </summary>
/// <remarks>Lists keep flag order, which fixes automatic devfns and slot numbers (OpenVMM's rule).</remarks>
public sealed record TopologySpec(
    IReadOnlyList<RootComplexSpec> RootComplexes,
    IReadOnlyList<SwitchSpec> Switches,
    IReadOnlyList<EndpointSpec> Endpoints,
    GicMsiSpec? GicMsi,
    IReadOnlyList<IgnoredOption> IgnoredOptions,
    IReadOnlyList<string> NormalisedFlags);

/// <summary>A <c>--pcie-root-complex</c> flag (and any <c>--amd-iommu</c> naming it).</summary>
/// <param name="EcamBase">Guest-physical address of the first byte of <paramref name="StartBus"/>'s configuration space.</param>
/// <param name="FirstPortDevice">Device number automatic port devfns start from (1 when an AMD IOMMU sits at 00.0).</param>
/// <param name="ReservedDeviceMask">Bit N set: device N is reserved (device 20 on segment 0, start bus 0, with an IOMMU).</param>
public sealed record RootComplexSpec(
    string Name,
    ushort Segment,
    byte StartBus,
    byte EndBus,
    ulong EcamBase,
    bool EcamBaseExplicit,
    ulong LowMmioSize,
    ulong HighMmioSize,
    ulong? LowMmioBase,
    ulong? HighMmioBase,
    bool AmdIommu,
    byte FirstPortDevice,
    uint ReservedDeviceMask,
    IReadOnlyList<RootPortSpec> Ports)
{
    /// <summary>Size in bytes of the ECAM window: one MiB per bus.</summary>
    public ulong EcamSize => (ulong)(EndBus - StartBus + 1) << 20;
}

/// <summary>Options shared by root ports and by every downstream port of a switch.</summary>
/// <param name="AcsMask">Requested ACS capability bits (0x005F when <c>acs=</c> is omitted; 0 means no ACS capability).</param>
/// <param name="CommandCompleted">The <c>cc</c> flag: the slot supports Command Completed (NCCS reads 0).</param>
/// <param name="Pasid">The <c>pasid</c> flag: Device Capabilities 2 advertises end-to-end TLP prefixes.</param>
public readonly record struct PortOptions(bool Hotplug, bool CommandCompleted, ushort AcsMask, bool Pasid);

/// <summary>A <c>--pcie-root-port RC:NAME</c> flag, with its resolved devfn and slot number.</summary>
/// <param name="SlotNumber">1 + the port's position among its root complex's root-port flags (every port counts).</param>
/// <param name="MultiFunction">The port's device number hosts more than one port function (header type bit 7).</param>
public sealed record RootPortSpec(
    string Name,
    string RootComplex,
    byte Devfn,
    bool ExplicitAddress,
    PortOptions Options,
    ushort SlotNumber,
    bool MultiFunction);

/// <summary>A <c>--pcie-switch PARENT:NAME</c> flag; downstream port I is <c>NAME-downstream-I</c> at devfn I of the internal bus.</summary>
public sealed record SwitchSpec(
    string Name,
    string ParentPort,
    PortOptions Options,
    IReadOnlyList<DownstreamPortSpec> DownstreamPorts);

/// <summary>A switch's downstream port: slot number is 1 + its index.</summary>
public sealed record DownstreamPortSpec(string Name, int Index, byte Devfn, ushort SlotNumber, bool MultiFunction);

/// <summary>Which endpoint model a <c>--pcie-endpoint</c> uses.</summary>
public enum EndpointTemplate
{
    /// <summary>OpenVMM's NVMe emulator (1414:00A9, revision 0, class 010802; vm/devices/storage/nvme/src/pci.rs).</summary>
    Nvme,

    /// <summary>A configurable Type 0 endpoint.</summary>
    Generic,
}

/// <summary>A <c>--pcie-endpoint [PORT:]NAME,template=...</c> flag (ours). Without a port it waits for a hot-add.</summary>
/// <param name="BarSizes">Declared size in bytes for BAR indices 0..5 (0 = undeclared); every declared BAR is a 64-bit prefetchable pair.</param>
/// <param name="MsiVectors">Number of MSI vectors (0 = no MSI capability); 64-bit with per-vector masking.</param>
/// <param name="MsixVectors">Number of MSI-X vectors (0 = no MSI-X capability).</param>
/// <param name="MsixBar">BAR index holding the MSI-X table at offset 0 and its PBA right after it.</param>
public sealed record EndpointSpec(
    string Name,
    string? Port,
    EndpointTemplate Template,
    ushort VendorId,
    ushort DeviceId,
    byte RevisionId,
    uint ClassCode,
    ushort SubsystemVendorId,
    ushort SubsystemId,
    IReadOnlyList<ulong> BarSizes,
    int MsiVectors,
    int MsixVectors,
    int MsixBar);

/// <summary>Which GIC MSI controller <c>--gic-msi</c> selects.</summary>
public enum GicMsiMode
{
    /// <summary>GICv3 ITS: DeviceID = (segment &lt;&lt; 16) | requester ID, EventID = data.</summary>
    Its,

    /// <summary>GICv2m: the data is the SPI INTID, which must lie in the frame's pool.</summary>
    V2m,
}

/// <summary>A <c>--gic-msi</c> flag with OpenVMM's defaults filled in.</summary>
/// <param name="TranslaterAddress">GITS_TRANSLATER (default 0xEFFD0040).</param>
/// <param name="FrameBase">GICv2m frame base (default 0xEFFE8000); the doorbell SETSPI_NS is at base + 0x40.</param>
/// <param name="SpiBase">First SPI of the v2m pool (default 928).</param>
/// <param name="SpiCount">Number of SPIs in the pool (default 64).</param>
public sealed record GicMsiSpec(GicMsiMode Mode, ulong TranslaterAddress, ulong FrameBase, uint SpiBase, uint SpiCount);

/// <summary>An OpenVMM option that does not change config space: accepted and listed as ignored.</summary>
public readonly record struct IgnoredOption(string Flag, string Option);
