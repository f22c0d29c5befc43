namespace PcieSim.ConfigSpace.Registers;

/// <summary>Command register bits (PCIe Base Spec r6.0 §7.5.1.1.3). OpenVMM keeps bits 0-6 and 8-10 (mask 0x077F).</summary>
[Flags]
public enum CommandRegister : ushort
{
    None = 0,
    IoSpaceEnable = 1 << 0,
    MemorySpaceEnable = 1 << 1,
    BusMasterEnable = 1 << 2,
    SpecialCycleEnable = 1 << 3,
    MemoryWriteAndInvalidate = 1 << 4,
    VgaPaletteSnoop = 1 << 5,
    ParityErrorResponse = 1 << 6,
    IdselStepping = 1 << 7,
    SerrEnable = 1 << 8,
    FastBackToBackEnable = 1 << 9,
    InterruptDisable = 1 << 10,
}

/// <summary>Slot Control bits (PCIe Base Spec r6.0 §7.5.3.10; r3.0 §7.8.10).</summary>
[Flags]
public enum SlotControl : ushort
{
    None = 0,
    AttentionButtonPressedEnable = 1 << 0,
    PowerFaultDetectedEnable = 1 << 1,
    MrlSensorChangedEnable = 1 << 2,
    PresenceDetectChangedEnable = 1 << 3,
    CommandCompletedInterruptEnable = 1 << 4,
    HotPlugInterruptEnable = 1 << 5,
    AttentionIndicatorControl = 3 << 6,
    PowerIndicatorControl = 3 << 8,
    PowerControllerControl = 1 << 10,
    ElectromechanicalInterlockControl = 1 << 11,
    DataLinkLayerStateChangedEnable = 1 << 12,
    AutoSlotPowerLimitDisable = 1 << 13,
    InBandPresenceDetectDisable = 1 << 14,
}

/// <summary>Slot Status bits (PCIe Base Spec r6.0 §7.5.3.11; r3.0 §7.8.11).</summary>
[Flags]
public enum SlotStatus : ushort
{
    None = 0,
    AttentionButtonPressed = 1 << 0,
    PowerFaultDetected = 1 << 1,
    MrlSensorChanged = 1 << 2,
    PresenceDetectChanged = 1 << 3,
    CommandCompleted = 1 << 4,
    MrlSensorState = 1 << 5,
    PresenceDetectState = 1 << 6,
    ElectromechanicalInterlockStatus = 1 << 7,
    DataLinkLayerStateChanged = 1 << 8,

    /// <summary>The event (change) bits whose enables can cause a hot-plug interrupt (§6.7.3.4).</summary>
    Events = AttentionButtonPressed | PowerFaultDetected | MrlSensorChanged | PresenceDetectChanged | CommandCompleted | DataLinkLayerStateChanged,
}

/// <summary>Slot Capabilities bits (PCIe Base Spec r6.0 §7.5.3.9; r3.0 §7.8.9).</summary>
[Flags]
public enum SlotCapabilities : uint
{
    None = 0,
    AttentionButtonPresent = 1 << 0,
    PowerControllerPresent = 1 << 1,
    MrlSensorPresent = 1 << 2,
    AttentionIndicatorPresent = 1 << 3,
    PowerIndicatorPresent = 1 << 4,
    HotPlugSurprise = 1 << 5,
    HotPlugCapable = 1 << 6,
    ElectromechanicalInterlockPresent = 1 << 17,
    NoCommandCompletedSupport = 1 << 18,
}

/// <summary>Link Status bits (PCIe Base Spec r6.0 §7.5.3.8; r3.0 §7.8.8).</summary>
[Flags]
public enum LinkStatus : ushort
{
    None = 0,
    CurrentLinkSpeed = 0xF,
    NegotiatedLinkWidth = 0x3F << 4,
    LinkTraining = 1 << 11,
    SlotClockConfiguration = 1 << 12,
    DataLinkLayerLinkActive = 1 << 13,
    LinkBandwidthManagementStatus = 1 << 14,
    LinkAutonomousBandwidthStatus = 1 << 15,
}

/// <summary>Device/Port Type field of the PCI Express Capabilities register (PCIe Base Spec r6.0 §7.5.3.2).</summary>
public enum PciExpressPortType : byte
{
    Endpoint = 0b0000,
    LegacyEndpoint = 0b0001,
    RootPort = 0b0100,
    UpstreamSwitchPort = 0b0101,
    DownstreamSwitchPort = 0b0110,
    RootComplexIntegratedEndpoint = 0b1001,
}
