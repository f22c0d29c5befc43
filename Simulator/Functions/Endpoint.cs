using PcieSim.ConfigSpace;
using PcieSim.ConfigSpace.Capabilities;
using PcieSim.ConfigSpace.Registers;
using PcieSim.Topology.Language;

namespace PcieSim.Functions;

/// <summary>
/// A Type 0 endpoint (OpenVMM <c>ConfigSpaceType0Emulator</c>, reference 3): 64-bit prefetchable BAR pairs sized
/// to a power of two (4 KiB minimum) that read 0 until first written and ignore writes while Command.MEM is set;
/// capabilities MSI, MSI-X, PCI Express Endpoint in that order; MSI-X table and PBA in BAR memory.
/// </summary>
public sealed partial class Endpoint : PcieFunction, IPortChild
{
    private readonly ulong[] barSizes;

    public Endpoint(EndpointSpec spec)
        : this(spec, CreateCapabilities(spec))
    {
    }

    private Endpoint(EndpointSpec spec, (MsiCapability? Msi, MsixCapability? Msix, PciExpressCapability Pcie) caps)
        : base(spec.Name, BuildLayout(spec, caps, out ulong[] sizes))
    {
        Spec = spec;
        Msi = caps.Msi;
        Msix = caps.Msix;
        Pcie = caps.Pcie;
        barSizes = sizes;
        msixTable = new uint[(Msix?.Vectors ?? 0) * 4];
        msixPending = new bool[Msix?.Vectors ?? 0];
        ResetMsix();
    }

    public EndpointSpec Spec { get; }

    public override FunctionKind Kind => FunctionKind.Endpoint;

    public MsiCapability? Msi { get; }

    public MsixCapability? Msix { get; }

    public PciExpressCapability Pcie { get; }

    /// <summary>The model's BAR table has yet to renew this endpoint's entries.</summary>
    internal bool DecodeChanged { get; set; }

    /// <summary>The port the endpoint is linked to, or null while it waits in the pool of unplugged endpoints.</summary>
    public DownstreamPort? Port { get; internal set; }

    PcieFunction IPortChild.UpstreamFunction => this;

    /// <summary>Rounded size of BAR <paramref name="index"/> (0 for undeclared and upper halves).</summary>
    public ulong BarSize(int index) => barSizes[index];

    /// <summary>The 64-bit base programmed into the BAR pair starting at <paramref name="index"/> (attribute bits cleared).</summary>
    public ulong BarBase(int index) =>
        ((ulong)Config.Read((HeaderOffsets.Bar0 >> 2) + index + 1) << 32) | (Config.Read((HeaderOffsets.Bar0 >> 2) + index) & ~0xFu);

    public bool MemorySpaceEnabled => (Command & (ushort)CommandRegister.MemorySpaceEnable) != 0;

    protected override void Reset(bool powerOn)
    {
        base.Reset(powerOn);
        ResetMsix();
        Host?.MemoryDecodeChanged(this);
    }

    protected override void OnHookedWrite(RegisterHook hook, int index, uint data, uint lanes)
    {
        switch (hook)
        {
            case RegisterHook.BaseAddress:
                // OpenVMM accepts BAR writes only while MEM is clear.
                if (MemorySpaceEnabled)
                {
                    return;
                }

                Config.WriteMasked(index, data, lanes);
                int bar = index - (HeaderOffsets.Bar0 >> 2);
                if (bar % 2 == 0 && barSizes[bar] != 0)
                {
                    Config.Set(index, 0xC, 0xF);
                }

                // Only reached while MEM is clear, when the BAR decodes nothing; told anyway, so that BAR lookups
                // never depend on that rule.
                Host?.MemoryDecodeChanged(this);
                break;
            case RegisterHook.InterruptAndLatency:
                // Byte 0x3E is OpenVMM's "latency timer", also shown at 0x0D.
                Config.WriteMasked(index, data, lanes);
                Config.Set(0x0C >> 2, ((Config.Read(index) >> 16) & 0xFF) << 8, 0xFF00);
                break;
            case RegisterHook.MsiControl:
                WriteMsiControl(index, data, lanes);
                Host?.MessageStateChanged(this);
                break;
            case RegisterHook.Command:
                uint before = Config.WriteMasked(index, data, lanes);
                if (((before ^ Config.Read(index)) & (uint)CommandRegister.MemorySpaceEnable) != 0)
                {
                    Host?.MemoryDecodeChanged(this);
                }

                Host?.MessageStateChanged(this);
                break;
            case RegisterHook.MsiMessage:
            case RegisterHook.MsixControl:
                Config.WriteMasked(index, data, lanes);
                Host?.MessageStateChanged(this);
                break;
            case RegisterHook.DeviceControl:
                Config.WriteMasked(index, data, lanes);
                if ((data & lanes & 0x8000) != 0)
                {
                    Reset();
                }

                break;
            default:
                base.OnHookedWrite(hook, index, data, lanes);
                break;
        }
    }

    private static (MsiCapability?, MsixCapability?, PciExpressCapability) CreateCapabilities(EndpointSpec spec) =>
        (spec.MsiVectors > 0 ? new MsiCapability(spec.MsiVectors, is64Bit: true, perVectorMasking: true) : null,
         spec.MsixVectors > 0 ? new MsixCapability(spec.MsixVectors, spec.MsixBar) : null,
         new PciExpressCapability(PciExpressPortType.Endpoint));

    private static ConfigSpaceLayout BuildLayout(EndpointSpec spec, (MsiCapability? Msi, MsixCapability? Msix, PciExpressCapability Pcie) caps, out ulong[] sizes)
    {
        var declared = new ulong[6];
        for (int i = 0; i < 6 && i < spec.BarSizes.Count; i++)
        {
            declared[i] = spec.BarSizes[i];
        }

        if (caps.Msix is { } msix)
        {
            declared[msix.Bar] = Math.Max(declared[msix.Bar], (ulong)msix.BarLength);
        }

        sizes = new ulong[6];
        for (int i = 0; i < 6; i += 2)
        {
            sizes[i] = HeaderRegisters.RoundBarSize(declared[i]);
        }

        var builder = new ConfigSpaceLayoutBuilder();
        if (caps.Msi is not null)
        {
            builder.AddCapability(caps.Msi);
        }

        if (caps.Msix is not null)
        {
            builder.AddCapability(caps.Msix);
        }

        builder.AddCapability(caps.Pcie);
        builder.Add([.. HeaderRegisters.Type0(spec.VendorId, spec.DeviceId, spec.RevisionId, spec.ClassCode, spec.SubsystemVendorId, spec.SubsystemId, multiFunction: false, hasCapabilities: true, declared)]);
        return builder.Build();
    }
}
