
namespace PcieSim.Rules;

/// <summary>
/// What can be observed of one root or downstream port at one moment: its presence and the registers the §6.7
/// rules speak of. Taken from the model, or rebuilt from a recorded trace's reads (lint).
/// </summary>
public readonly record struct PortObservation(
    bool Presence,
    ushort PcieCapabilities,
    uint LinkCapabilities,
    ushort LinkStatus,
    uint SlotCapabilities,
    ushort SlotControl,
    ushort SlotStatus,
    bool MsiEnabled,
    bool VectorMasked)
{
    public bool SlotImplemented => (PcieCapabilities & 0x100) != 0;

    public bool HotPlugCapable => (SlotCapabilities & (uint)ConfigSpace.Registers.SlotCapabilities.HotPlugCapable) != 0;

    public bool NoCommandCompletedSupport => (SlotCapabilities & (uint)ConfigSpace.Registers.SlotCapabilities.NoCommandCompletedSupport) != 0;

    public bool DllLinkActiveReportingCapable => (LinkCapabilities & (1u << 20)) != 0;

    public bool HotPlugInterruptEnable => (SlotControl & (ushort)ConfigSpace.Registers.SlotControl.HotPlugInterruptEnable) != 0;

    /// <summary>The §6.7.3.4 condition: HPIE, an event bit with its enable, MSI enabled, vector unmasked.</summary>
    public bool InterruptCondition
    {
        get
        {
            // Slot Status event bits 0-4 line up with their enables in Slot Control bits 0-4; DLLSC (8) with DLLSCE (12).
            int enabledEvents = (SlotStatus & SlotControl & 0x1F) | (((SlotStatus >> 8) & (SlotControl >> 12)) & 1);
            return HotPlugInterruptEnable && enabledEvents != 0 && MsiEnabled && !VectorMasked;
        }
    }
}
