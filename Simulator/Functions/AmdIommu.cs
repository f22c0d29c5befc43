using PcieSim.ConfigSpace;
using PcieSim.ConfigSpace.Capabilities;

namespace PcieSim.Functions;

/// <summary>
/// The AMD IOMMU as OpenVMM places it: a Root Complex Integrated Endpoint at devfn 0 of its root complex's start
/// bus (reference 6), 1022:1451, class 080600, subsystem 1414:2000, the IOMMU capability at 0x40 and MSI at 0x54
/// (1 vector, 64-bit), no BARs and no PCI Express capability (so no extended space). It answers function 0 only.
/// </summary>
public sealed class AmdIommu : PcieFunction
{
    public const ushort VendorIdValue = 0x1022;
    public const ushort DeviceIdValue = 0x1451;
    public const uint ClassCodeValue = 0x080600;

    public AmdIommu(string name, ulong mmioBase)
        : this(name, new AmdIommuCapability(mmioBase), new MsiCapability(1, is64Bit: true, perVectorMasking: false))
    {
    }

    private AmdIommu(string name, AmdIommuCapability capability, MsiCapability msi)
        : base(name, BuildLayout(capability, msi))
    {
        Capability = capability;
        Msi = msi;
    }

    public override FunctionKind Kind => FunctionKind.RootComplexIntegratedEndpoint;

    public AmdIommuCapability Capability { get; }

    public MsiCapability Msi { get; }

    public Topology.RootComplex RootComplex { get; internal set; } = null!;

    protected override void OnHookedWrite(RegisterHook hook, int index, uint data, uint lanes)
    {
        if (hook == RegisterHook.MsiControl)
        {
            WriteMsiControl(index, data, lanes);
        }
        else
        {
            Config.WriteMasked(index, data, lanes);
        }

        if (hook is RegisterHook.MsiControl or RegisterHook.MsiMessage)
        {
            Host?.MessageStateChanged(this);
        }
    }

    private static ConfigSpaceLayout BuildLayout(AmdIommuCapability capability, MsiCapability msi)
    {
        var builder = new ConfigSpaceLayoutBuilder().AddCapability(capability).AddCapability(msi);
        builder.Add([.. HeaderRegisters.Type0(VendorIdValue, DeviceIdValue, 0, ClassCodeValue, 0x1414, 0x2000, multiFunction: false, hasCapabilities: true, new ulong[6])]);
        return builder.Build();
    }
}
