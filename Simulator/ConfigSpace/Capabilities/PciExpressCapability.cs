using PcieSim.ConfigSpace.Registers;
using static PcieSim.ConfigSpace.FieldDefinition;

namespace PcieSim.ConfigSpace.Capabilities;

/// <summary>
/// The PCI Express Capability structure (ID 0x10, version 2, 0x3C bytes; PCIe Base Spec r6.0 §7.5.3), with
/// OpenVMM's exact values and write masks (<c>pci_core/src/capabilities/pci_express.rs</c>): 32 GT/s x16 link,
/// Device Control 0x2810, Link Control 2 target speed 5, and for hotplug ports a slot with Hot-Plug Surprise,
/// Hot-Plug Capable, No Command Completed Support (unless <see cref="CommandCompleted"/>) and a physical slot number.
/// </summary>
public sealed class PciExpressCapability : Capability
{
    /// <summary>Link Status when the link is up: 32 GT/s (5), x16, DLL Link Active.</summary>
    public const ushort LinkStatusUp = 0x2105;

    /// <summary>Link Status with no device: speed and width still report 5 and x16 (OpenVMM), DLL Link Active clear.</summary>
    public const ushort LinkStatusDown = 0x0105;

    public PciExpressCapability(PciExpressPortType portType, bool hotplug = false, ushort slotNumber = 0, bool commandCompleted = false, bool tlpPrefixes = false, bool functionLevelReset = false)
    {
        if (hotplug && portType is not (PciExpressPortType.RootPort or PciExpressPortType.DownstreamSwitchPort))
        {
            throw new ArgumentException("hotplug slots exist only on root ports and downstream switch ports", nameof(hotplug));
        }

        if (commandCompleted && !hotplug)
        {
            throw new ArgumentException("Command Completed support needs a hotplug slot", nameof(commandCompleted));
        }

        PortType = portType;
        Hotplug = hotplug;
        SlotNumber = slotNumber;
        CommandCompleted = commandCompleted;
        TlpPrefixes = tlpPrefixes;
        FunctionLevelReset = functionLevelReset && portType == PciExpressPortType.Endpoint;
    }

    public PciExpressPortType PortType { get; }

    /// <summary>Slot Implemented with a hot-plug capable slot.</summary>
    public bool Hotplug { get; }

    public ushort SlotNumber { get; }

    /// <summary>The slot supports Command Completed (the <c>cc</c> flag): NCCS reads 0, CCIE is writable, CC is RW1C.</summary>
    public bool CommandCompleted { get; }

    public bool TlpPrefixes { get; }

    public bool FunctionLevelReset { get; }

    /// <summary>Root ports and downstream switch ports: the ports with a slot, ARI forwarding and PDS hard-wired to 1 without a slot.</summary>
    public bool IsDownstreamPort => PortType is PciExpressPortType.RootPort or PciExpressPortType.DownstreamSwitchPort;

    public override ushort Id => 0x10;

    public override int Length => 0x3C;

    public override string Label => "PCIe";

    /// <summary>Slot Control bits the guest can write: PDCE, HPIE, DLLSCE (0x1028), plus CCIE with <c>cc</c> (0x1038).</summary>
    public ushort SlotControlWriteMask => !Hotplug ? (ushort)0 : CommandCompleted ? (ushort)0x1038 : (ushort)0x1028;

    /// <summary>Slot Status RW1C bits: PDC and DLLSC (0x0108), plus CC with <c>cc</c> (0x0118).</summary>
    public ushort SlotStatusRw1cMask => !Hotplug ? (ushort)0 : CommandCompleted ? (ushort)0x0118 : (ushort)0x0108;

    /// <summary>Slot Capabilities as OpenVMM builds it.</summary>
    public uint SlotCapabilitiesValue =>
        !Hotplug ? 0u
        : (uint)(SlotCapabilities.HotPlugSurprise | SlotCapabilities.HotPlugCapable)
          | (CommandCompleted ? 0u : (uint)SlotCapabilities.NoCommandCompletedSupport)
          | ((uint)SlotNumber << 19);

    /// <summary>PCI Express Capabilities register: version 2, device/port type, Slot Implemented with hotplug.</summary>
    public ushort CapabilitiesValue => (ushort)(2 | ((int)PortType << 4) | (Hotplug ? 1 << 8 : 0));

    /// <summary>Link Capabilities: 32 GT/s, x16, ASPM optionality compliance, DLL Link Active Reporting Capable with hotplug.</summary>
    public uint LinkCapabilitiesValue => 0x0040_0105u | (Hotplug ? 1u << 20 : 0);

    /// <summary>Device Capabilities 2: ARI Forwarding Supported on downstream ports; TLP prefix bits with <c>pasid</c>.</summary>
    public uint DeviceCapabilities2Value => (IsDownstreamPort ? 0x20u : 0) | (TlpPrefixes ? 0x0030_0000u : 0);

    /// <summary>Slot Status at reset with no presence: PDS hard-wired to 1 on a downstream port without a slot.</summary>
    private uint SlotStatusReset => IsDownstreamPort && !Hotplug ? (uint)SlotStatus.PresenceDetectState : 0;

    public override IEnumerable<RegisterDefinition> Registers(int next)
    {
        int o = Offset;
        yield return StandardHeader(next);
        yield return new("PcieCapabilities", o + 0x02, 2,
        [
            RO("CapabilityVersion", 0, 4, 2),
            RO("DevicePortType", 4, 4, (uint)PortType),
            HwInit("SlotImplemented", 8, 1, Hotplug ? 1u : 0),
            RO("InterruptMessageNumber", 9, 5),
        ]);
        yield return new("DeviceCapabilities", o + 0x04, 4,
        [
            RO("MaxPayloadSizeSupported", 0, 3),
            RO("RoleBasedErrorReporting", 15, 1, 1),
            RO("FunctionLevelResetCapability", 28, 1, FunctionLevelReset ? 1u : 0),
        ]);
        yield return new("DeviceControl", o + 0x08, 2,
        [
            RW("CorrectableErrorReportingEnable", 0, 1),
            RW("NonFatalErrorReportingEnable", 1, 1),
            RW("FatalErrorReportingEnable", 2, 1),
            RW("UnsupportedRequestReportingEnable", 3, 1),
            RW("EnableRelaxedOrdering", 4, 1, 1),
            RW("MaxPayloadSize", 5, 3),
            RO("ExtendedTagFieldEnable", 8, 1),
            RO("PhantomFunctionsEnable", 9, 1),
            RO("AuxPowerPmEnable", 10, 1),
            RW("EnableNoSnoop", 11, 1, 1),
            RW("MaxReadRequestSize", 12, 3, 2),
            RO("InitiateFunctionLevelReset", 15, 1),
        ], FunctionLevelReset ? RegisterHook.DeviceControl : RegisterHook.None);
        yield return new("DeviceStatus", o + 0x0A, 2, [RO("DeviceStatusBits", 0, 7)]);
        yield return new("LinkCapabilities", o + 0x0C, 4,
        [
            RO("MaxLinkSpeed", 0, 4, 5),
            RO("MaximumLinkWidth", 4, 6, 0x10),
            HwInit("DataLinkLayerLinkActiveReportingCapable", 20, 1, Hotplug ? 1u : 0),
            HwInit("AspmOptionalityCompliance", 22, 1, 1),
            HwInit("PortNumber", 24, 8),
        ]);
        yield return new("LinkControl", o + 0x10, 2,
        [
            RW("AspmControl", 0, 2),
            PortType == PciExpressPortType.Endpoint ? RW("ReadCompletionBoundary", 3, 1) : RO("ReadCompletionBoundary", 3, 1),
            RO("LinkDisable", 4, 1),
            RO("RetrainLink", 5, 1),
            RW("CommonClockConfiguration", 6, 1),
            RW("ExtendedSynch", 7, 1),
        ]);
        yield return new("LinkStatus", o + 0x12, 2,
        [
            RO("CurrentLinkSpeed", 0, 4, 5),
            RO("NegotiatedLinkWidth", 4, 6, 0x10),
            RO("LinkTraining", 11, 1),
            Status("DataLinkLayerLinkActive", 13),
        ]);
        yield return new("SlotCapabilities", o + 0x14, 4,
        [
            HwInit("AttentionButtonPresent", 0, 1),
            HwInit("PowerControllerPresent", 1, 1),
            HwInit("MrlSensorPresent", 2, 1),
            HwInit("AttentionIndicatorPresent", 3, 1),
            HwInit("PowerIndicatorPresent", 4, 1),
            HwInit("HotPlugSurprise", 5, 1, Hotplug ? 1u : 0),
            HwInit("HotPlugCapable", 6, 1, Hotplug ? 1u : 0),
            HwInit("ElectromechanicalInterlockPresent", 17, 1),
            HwInit("NoCommandCompletedSupport", 18, 1, Hotplug && !CommandCompleted ? 1u : 0),
            HwInit("PhysicalSlotNumber", 19, 13, Hotplug ? SlotNumber : 0u),
        ]);
        yield return new("SlotControl", o + 0x18, 2, SlotControlFields(), Hotplug ? RegisterHook.SlotControlStatus : RegisterHook.None);
        yield return new("SlotStatus", o + 0x1A, 2, SlotStatusFields());
        bool rootPort = PortType == PciExpressPortType.RootPort;
        yield return new("RootControl", o + 0x1C, 2,
        [
            Maybe(rootPort, "SystemErrorOnCorrectableErrorEnable", 0),
            Maybe(rootPort, "SystemErrorOnNonFatalErrorEnable", 1),
            Maybe(rootPort, "SystemErrorOnFatalErrorEnable", 2),
            Maybe(rootPort, "PmeInterruptEnable", 3),
            RO("CrsSoftwareVisibilityEnable", 4, 1),
        ]);
        yield return new("RootCapabilities", o + 0x1E, 2, [RO("CrsSoftwareVisibility", 0, 1)]);
        yield return new("RootStatus", o + 0x20, 4, [RO("PmeRequesterId", 0, 16), RO("PmeStatus", 16, 1), RO("PmePending", 17, 1)]);
        yield return new("DeviceCapabilities2", o + 0x24, 4,
        [
            RO("AriForwardingSupported", 5, 1, IsDownstreamPort ? 1u : 0),
            RO("ExtendedFmtFieldSupported", 20, 1, TlpPrefixes ? 1u : 0),
            RO("EndEndTlpPrefixSupported", 21, 1, TlpPrefixes ? 1u : 0),
            RO("MaxEndEndTlpPrefixes", 22, 2),
        ]);
        yield return new("DeviceControl2", o + 0x28, 2,
        [
            IsDownstreamPort ? RW("AriForwardingEnable", 5, 1) : RO("AriForwardingEnable", 5, 1),
        ], IsDownstreamPort ? RegisterHook.DeviceControl2 : RegisterHook.None);
        yield return new("DeviceStatus2", o + 0x2A, 2, []);
        yield return new("LinkCapabilities2", o + 0x2C, 4, [RO("SupportedLinkSpeedsVector", 1, 7, 0x1F)]);
        yield return new("LinkControl2", o + 0x30, 2,
        [
            RW("TargetLinkSpeed", 0, 4, 5),
            RW("EnterCompliance", 4, 1),
            RW("HardwareAutonomousSpeedDisable", 5, 1),
            RO("SelectableDeEmphasis", 6, 1),
            RW("TransmitMargin", 7, 3),
            RW("EnterModifiedCompliance", 10, 1),
            RW("ComplianceSos", 11, 1),
            RW("ComplianceDeEmphasis", 12, 4),
        ]);
        yield return new("LinkStatus2", o + 0x32, 2, [RO("CurrentDeEmphasisLevel", 0, 1)]);
        yield return new("SlotCapabilities2", o + 0x34, 4, [RO("InBandPdDisableSupported", 0, 1)]);
        yield return new("SlotControl2", o + 0x38, 2, []);
        yield return new("SlotStatus2", o + 0x3A, 2, []);
    }

    private FieldDefinition[] SlotControlFields()
    {
        return
        [
            RO("AttentionButtonPressedEnable", 0, 1),
            RO("PowerFaultDetectedEnable", 1, 1),
            RO("MrlSensorChangedEnable", 2, 1),
            Maybe(Hotplug, "PresenceDetectChangedEnable", 3),
            Maybe(CommandCompleted, "CommandCompletedInterruptEnable", 4),
            Maybe(Hotplug, "HotPlugInterruptEnable", 5),
            RO("AttentionIndicatorControl", 6, 2),
            RO("PowerIndicatorControl", 8, 2),
            RO("PowerControllerControl", 10, 1),
            RO("ElectromechanicalInterlockControl", 11, 1),
            Maybe(Hotplug, "DataLinkLayerStateChangedEnable", 12),
            RO("AutoSlotPowerLimitDisable", 13, 1),
            RO("InBandPdDisable", 14, 1),
        ];
    }

    private FieldDefinition[] SlotStatusFields()
    {
        return
        [
            RO("AttentionButtonPressed", 0, 1),
            RO("PowerFaultDetected", 1, 1),
            RO("MrlSensorChanged", 2, 1),
            Hotplug ? RW1C("PresenceDetectChanged", 3) : RO("PresenceDetectChanged", 3, 1),
            CommandCompleted ? RW1C("CommandCompleted", 4) : RO("CommandCompleted", 4, 1),
            RO("MrlSensorState", 5, 1),
            Hotplug ? Status("PresenceDetectState", 6) : RO("PresenceDetectState", 6, 1, SlotStatusReset >> 6),
            RO("ElectromechanicalInterlockStatus", 7, 1),
            Hotplug ? RW1C("DataLinkLayerStateChanged", 8) : RO("DataLinkLayerStateChanged", 8, 1),
        ];
    }

    private static FieldDefinition Maybe(bool writable, string name, int bit) => writable ? RW(name, bit, 1) : RO(name, bit, 1);
}
