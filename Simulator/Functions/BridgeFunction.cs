using System.Runtime.CompilerServices;
using PcieSim.ConfigSpace;
using PcieSim.ConfigSpace.Capabilities;

namespace PcieSim.Functions;

/// <summary>A bus range a bridge forwards: secondary..subordinate, or unprogrammed.</summary>
public readonly record struct BusRange(byte Secondary, byte Subordinate)
{
    /// <summary>OpenVMM treats 0..0 as "not configured" (reference 2.3).</summary>
    public bool IsProgrammed => Secondary != 0 || Subordinate != 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Contains(int bus) => bus >= Secondary && bus <= Subordinate;
}

/// <summary>
/// A Type 1 (PCI-to-PCI bridge) function: root ports, switch upstream and downstream ports
/// (PCIe Base Spec r6.0 §7.5.1.3). Bus-number writes change routing and requester IDs.
/// </summary>
public abstract class BridgeFunction : PcieFunction
{
    /// <summary>Vendor ID of every OpenVMM bridge (Microsoft).</summary>
    public const ushort MicrosoftVendorId = 0x1414;

    /// <summary>Class code of every port: PCI-to-PCI bridge (06 04 00).</summary>
    public const uint BridgeClassCode = 0x060400;

    protected BridgeFunction(string name, ConfigSpaceLayout layout, PciExpressCapability pcie)
        : base(name, layout)
    {
        Pcie = pcie;
    }

    /// <summary>
    /// The root complex whose hierarchy this bridge is in (set when the model is built; switches never move): a
    /// routing change here reaches only that root complex's routing.
    /// </summary>
    internal Topology.RootComplex? Hierarchy { get; set; }

    /// <summary>This port's PCI Express capability.</summary>
    public PciExpressCapability Pcie { get; }

    public byte PrimaryBus => (byte)Config.Read(6);

    public byte SecondaryBus => (byte)(Config.Read(6) >> 8);

    public byte SubordinateBus => (byte)(Config.Read(6) >> 16);

    /// <summary>
    /// The range this bridge forwards: secondary..subordinate when secondary ≤ subordinate, else 0..0
    /// (OpenVMM <c>assigned_bus_range</c>).
    /// </summary>
    public BusRange AssignedBusRange
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            uint dword = Config.Read(6);
            byte secondary = (byte)(dword >> 8);
            byte subordinate = (byte)(dword >> 16);
            return secondary <= subordinate ? new BusRange(secondary, subordinate) : default;
        }
    }

    /// <summary>Builds the layout every port shares: Type 1 header then the given capabilities.</summary>
    protected static ConfigSpaceLayout BuildLayout(ushort deviceId, bool multiFunction, params Capability[] capabilities)
    {
        var builder = new ConfigSpaceLayoutBuilder();
        foreach (var capability in capabilities)
        {
            builder.AddCapability(capability);
        }

        builder.Add([.. HeaderRegisters.Type1(MicrosoftVendorId, deviceId, BridgeClassCode, multiFunction, builder.HasStandardCapabilities)]);
        return builder.Build();
    }

    /// <summary>A reset clears bus numbers and ARI Forwarding Enable: routing follows (whoever resets the bridge).</summary>
    protected override void Reset(bool powerOn)
    {
        base.Reset(powerOn);
        Host?.RoutingChanged(this);
    }

    protected override void OnHookedWrite(RegisterHook hook, int index, uint data, uint lanes)
    {
        uint old = Config.WriteMasked(index, data, lanes);

        // Routing caches are rebuilt only when bus numbers or ARI Forwarding Enable really change: a guest rewriting
        // the same value (or another Device Control 2 bit) costs no rebuild.
        uint routingBits = hook switch
        {
            RegisterHook.BusNumbers => 0x00FF_FFFF,
            RegisterHook.DeviceControl2 => AriForwardingEnableBit,
            _ => 0,
        };
        if (((old ^ Config.Read(index)) & routingBits) != 0)
        {
            Host?.RoutingChanged(this);
        }
    }

    /// <summary>Device Control 2 bit 5, ARI Forwarding Enable (PCIe Base Spec r6.0 §7.5.3.16).</summary>
    internal const uint AriForwardingEnableBit = 0x20;
}
