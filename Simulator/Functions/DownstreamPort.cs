using PcieSim.ConfigSpace;
using PcieSim.ConfigSpace.Capabilities;
using PcieSim.ConfigSpace.Registers;

namespace PcieSim.Functions;

/// <summary>Something linked below a downstream port: an endpoint or a switch.</summary>
public interface IPortChild
{
    /// <summary>The function a Type 0 access to devfn 0 of the port's secondary bus reaches.</summary>
    PcieFunction UpstreamFunction { get; }
}

/// <summary>
/// A root port or a switch downstream port (OpenVMM's <c>PcieDownstreamPort</c>, <c>pcie/src/port.rs</c>): Type 1
/// header, a PCI Express capability at 0x40, an MSI capability at 0x7C (1 vector, 64-bit, no masking), and ACS at
/// 0x100 unless its mask is 0. Presence is a flag outside the registers (kept across reset); Slot Status PDS and
/// Link Status DLLLA derive from it (reference 2.5).
/// </summary>
public abstract class DownstreamPort : BridgeFunction
{
    private readonly int slotStatusIndex;
    private readonly int linkStatusIndex;
    private readonly int deviceControl2Index;

    protected DownstreamPort(string name, ushort deviceId, PciExpressPortType type, byte devfn, bool multiFunction, ushort slotNumber, bool hotplug, bool commandCompleted, ushort acsMask, bool pasid)
        : this(name, deviceId, devfn, multiFunction, new PciExpressCapability(type, hotplug, slotNumber, commandCompleted, pasid), new MsiCapability(1, is64Bit: true, perVectorMasking: false), acsMask)
    {
    }

    private DownstreamPort(string name, ushort deviceId, byte devfn, bool multiFunction, PciExpressCapability pcie, MsiCapability msi, ushort acsMask)
        : base(name, acsMask != 0 ? BuildLayout(deviceId, multiFunction, pcie, msi, new AcsCapability(acsMask)) : BuildLayout(deviceId, multiFunction, pcie, msi), pcie)
    {
        Devfn = devfn;
        Msi = msi;
        slotStatusIndex = (pcie.Offset + PciExpressOffsets.SlotControl) >> 2;
        linkStatusIndex = (pcie.Offset + PciExpressOffsets.LinkControl) >> 2;
        deviceControl2Index = (pcie.Offset + PciExpressOffsets.DeviceControl2) >> 2;
        ApplyPresence();
    }

    /// <summary>Devfn on the bus this port sits on (root complex start bus or switch internal bus).</summary>
    public byte Devfn { get; }

    public MsiCapability Msi { get; }

    /// <summary>Physical Slot Number (0 when not hot-plug capable).</summary>
    public ushort SlotNumber => Pcie.SlotNumber;

    public bool HotplugCapable => Pcie.Hotplug;

    /// <summary>What is linked below (null: empty slot, accesses below read all-ones).</summary>
    public IPortChild? Child { get; private set; }

    /// <summary>The presence flag: a device is attached. Not a register: not reset, not saved.</summary>
    public bool Presence { get; private set; }

    /// <summary>Device Control 2 ARI Forwarding Enable (bit 5): Type 0 to any device on the secondary bus.</summary>
    public bool AriForwardingEnabled => (Config.Read(deviceControl2Index) & 0x20) != 0;

    /// <summary>Slot Control (low half) and Slot Status (high half) of the PCIe capability.</summary>
    public uint SlotControlStatus => Config.Read(slotStatusIndex);

    public SlotControl SlotControl => (SlotControl)(ushort)Config.Read(slotStatusIndex);

    public SlotStatus SlotStatus => (SlotStatus)(ushort)(Config.Read(slotStatusIndex) >> 16);

    public LinkStatus LinkStatus => (LinkStatus)(ushort)(Config.Read(linkStatusIndex) >> 16);

    /// <summary>The §6.7.3.4 hot-plug interrupt condition at the end of the last evaluation (for edge detection).</summary>
    internal bool HotplugCondition { get; set; }

    /// <summary>Links <paramref name="child"/> below the port (routing reaches it at once).</summary>
    internal void Link(IPortChild child)
    {
        Child = child;
        Host?.LinkChanged(this);
    }

    /// <summary>Unlinks whatever is below the port.</summary>
    internal void Unlink()
    {
        Child = null;
        Host?.LinkChanged(this);
    }

    /// <summary>
    /// Sets the presence flag. On a hot-plug slot a change also latches Presence Detect Changed and Data Link Layer
    /// State Changed when <paramref name="latchEvents"/> (a hot-add or hot-remove; a cold plug only sets presence).
    /// </summary>
    /// <returns>Whether presence changed (re-applying the same presence is not an event).</returns>
    internal bool SetPresence(bool present, bool latchEvents)
    {
        if (Presence == present)
        {
            return false;
        }

        Presence = present;
        ApplyPresence();
        if (latchEvents && Pcie.Hotplug)
        {
            uint latches = (uint)(SlotStatus.PresenceDetectChanged | SlotStatus.DataLinkLayerStateChanged) << 16;
            Config.Set(slotStatusIndex, latches, latches);
        }

        return true;
    }

    /// <summary>Latches Command Completed (slot with <c>cc</c>).</summary>
    internal void SetCommandCompleted()
    {
        uint bit = (uint)SlotStatus.CommandCompleted << 16;
        Config.Set(slotStatusIndex, bit, bit);
    }

    protected override void Reset(bool powerOn)
    {
        base.Reset(powerOn);
        ApplyPresence();
    }

    protected override void OnHookedWrite(RegisterHook hook, int index, uint data, uint lanes)
    {
        switch (hook)
        {
            case RegisterHook.SlotControlStatus:
                uint old = Config.WriteMasked(index, data, lanes);
                Host?.SlotWritten(this, old, data, lanes);
                break;
            case RegisterHook.MsiControl:
                WriteMsiControl(index, data, lanes);
                Host?.MessageStateChanged(this);
                break;
            case RegisterHook.MsiMessage:
                Config.WriteMasked(index, data, lanes);
                Host?.MessageStateChanged(this);
                break;
            default:
                base.OnHookedWrite(hook, index, data, lanes);
                break;
        }
    }

    /// <summary>PDS follows presence on a slot (hard-wired 1 without one, from the reset image); DLLLA follows presence on every port.</summary>
    private void ApplyPresence()
    {
        if (Pcie.Hotplug)
        {
            uint pds = (uint)SlotStatus.PresenceDetectState << 16;
            Config.Set(slotStatusIndex, Presence ? pds : 0, pds);
        }

        uint dllla = (uint)LinkStatus.DataLinkLayerLinkActive << 16;
        Config.Set(linkStatusIndex, Presence ? dllla : 0, dllla);
    }
}

/// <summary>A root port (1414:C030; PCIe device/port type 4) on its root complex's start bus.</summary>
public sealed class RootPort : DownstreamPort
{
    public const ushort DeviceIdValue = 0xC030;

    public RootPort(string name, byte devfn, bool multiFunction, ushort slotNumber, bool hotplug, bool commandCompleted, ushort acsMask, bool pasid)
        : base(name, DeviceIdValue, PciExpressPortType.RootPort, devfn, multiFunction, slotNumber, hotplug, commandCompleted, acsMask, pasid)
    {
    }

    public override FunctionKind Kind => FunctionKind.RootPort;

    /// <summary>The root complex this port belongs to; set when the model is built.</summary>
    public Topology.RootComplex RootComplex { get; internal set; } = null!;
}

/// <summary>A switch downstream port (1414:C032; type 6) on its switch's internal bus.</summary>
public sealed class DownstreamSwitchPort : DownstreamPort
{
    public const ushort DeviceIdValue = 0xC032;

    public DownstreamSwitchPort(string name, int index, byte devfn, bool multiFunction, ushort slotNumber, bool hotplug, bool commandCompleted, ushort acsMask, bool pasid)
        : base(name, DeviceIdValue, PciExpressPortType.DownstreamSwitchPort, devfn, multiFunction, slotNumber, hotplug, commandCompleted, acsMask, pasid)
    {
        Index = index;
    }

    public override FunctionKind Kind => FunctionKind.DownstreamSwitchPort;

    /// <summary>Position I in <c>NAME-downstream-I</c>.</summary>
    public int Index { get; }

    /// <summary>The switch this port belongs to; set when the switch is built.</summary>
    public Topology.PcieSwitch Switch { get; internal set; } = null!;
}

/// <summary>A switch upstream port (1414:C031; type 5): Type 1 header and only the PCI Express capability.</summary>
public sealed class UpstreamSwitchPort : BridgeFunction
{
    public const ushort DeviceIdValue = 0xC031;

    public UpstreamSwitchPort(string name, bool tlpPrefixes)
        : this(name, new PciExpressCapability(PciExpressPortType.UpstreamSwitchPort, tlpPrefixes: tlpPrefixes))
    {
    }

    private UpstreamSwitchPort(string name, PciExpressCapability pcie)
        : base(name, BuildLayout(DeviceIdValue, multiFunction: false, pcie), pcie)
    {
    }

    public override FunctionKind Kind => FunctionKind.UpstreamSwitchPort;

    public Topology.PcieSwitch Switch { get; internal set; } = null!;
}
