using System.Globalization;
using PcieSim.ConfigSpace.Registers;

namespace PcieSim.Rules;

/// <summary>What a step did to one port's Slot Control/Status DWORD, if it wrote it.</summary>
/// <param name="Data">The written data in lane position.</param>
/// <param name="Lanes">0xFF per enabled byte lane.</param>
public readonly record struct SlotWrite(uint Data, uint Lanes);

/// <summary>
/// Judges observations against the closed §6.7 rule set. It keeps one piece of state per port, the interrupt
/// condition after the last step (the edge state of HP-EDGE); everything else comes from the observations, so the
/// same checker judges the model's replay and a recorded system's trace.
/// </summary>
public sealed class HotplugRuleChecker
{
    private readonly Dictionary<string, bool> condition = new(StringComparer.Ordinal);

    /// <summary>The edge state: the interrupt condition of each port after its last observed step.</summary>
    public IReadOnlyDictionary<string, bool> EdgeState => condition;

    /// <summary>Restores the edge state (save and restore).</summary>
    public void RestoreEdgeState(IEnumerable<KeyValuePair<string, bool>> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        condition.Clear();
        foreach (var (port, value) in state)
        {
            condition[port] = value;
        }
    }

    /// <summary>The static rules (presence, link, no-slot) on one observation.</summary>
    public static void CheckState(string port, in PortObservation now, List<Violation> violations)
    {
        ArgumentNullException.ThrowIfNull(violations);
        bool pds = (now.SlotStatus & (ushort)SlotStatus.PresenceDetectState) != 0;
        bool dllla = (now.LinkStatus & (ushort)LinkStatus.DataLinkLayerLinkActive) != 0;
        if (now.SlotImplemented ? pds != now.Presence : !pds)
        {
            violations.Add(new(HotplugRule.Pds, port, Inv($"PDS={(pds ? 1 : 0)} with {(now.SlotImplemented ? "presence " + (now.Presence ? "1" : "0") : "no slot implemented")}")));
        }

        if (dllla != now.Presence)
        {
            violations.Add(new(HotplugRule.Dllla, port, Inv($"DLLLA={(dllla ? 1 : 0)} with presence {(now.Presence ? 1 : 0)}")));
        }

        if (now.HotPlugCapable && !now.DllLinkActiveReportingCapable)
        {
            violations.Add(new(HotplugRule.Dlllarc, port, Inv($"Slot Capabilities 0x{now.SlotCapabilities:x8} has HPC, Link Capabilities 0x{now.LinkCapabilities:x8} lacks DLLLARC")));
        }

        if (now.NoCommandCompletedSupport && (now.SlotStatus & (ushort)SlotStatus.CommandCompleted) != 0)
        {
            violations.Add(new(HotplugRule.Nccs, port, Inv($"Slot Status 0x{now.SlotStatus:x4} has CC with NCCS set")));
        }

        if (!now.SlotImplemented && (now.SlotCapabilities != 0 || now.SlotControl != 0 || now.SlotStatus != 0x0040))
        {
            violations.Add(new(HotplugRule.NoSlot, port, Inv($"no slot: Slot Capabilities 0x{now.SlotCapabilities:x8}, Slot Control 0x{now.SlotControl:x4}, Slot Status 0x{now.SlotStatus:x4}")));
        }

        int width = (now.LinkStatus >> 4) & 0x3F;
        if (dllla && (width == 0 || (now.LinkStatus & (ushort)LinkStatus.LinkTraining) != 0))
        {
            violations.Add(new(HotplugRule.LinkUp, port, Inv($"Link Status 0x{now.LinkStatus:x4}: DLLLA with width {width}, LT {((now.LinkStatus >> 11) & 1)}")));
        }
    }

    /// <summary>
    /// Judges one step on one port: the transition <paramref name="before"/> → <paramref name="after"/>, the guest's
    /// write to the slot DWORD if any, whether the step was a reset, and how many hotplug messages the port raised.
    /// </summary>
    public void CheckStep(string port, in PortObservation before, in PortObservation after, SlotWrite? write, bool reset, int messagesRaised, List<Violation> violations)
    {
        ArgumentNullException.ThrowIfNull(violations);
        const ushort events = (ushort)SlotStatus.Events;
        int cleared = before.SlotStatus & ~after.SlotStatus & events;
        int allowed = reset ? events : write is { } w ? (int)((w.Data & w.Lanes) >> 16) : 0;
        if ((cleared & ~allowed) != 0)
        {
            violations.Add(new(HotplugRule.Rw1c, port, Inv($"Slot Status 0x{before.SlotStatus:x4} -> 0x{after.SlotStatus:x4}: bits 0x{cleared & ~allowed:x4} cleared without a 1 written")));
        }

        if (write is { } onlyStatus && (onlyStatus.Lanes & 0xFFFF) == 0)
        {
            int setCc = ~before.SlotStatus & after.SlotStatus & (ushort)SlotStatus.CommandCompleted;
            if (setCc != 0 || before.SlotControl != after.SlotControl)
            {
                violations.Add(new(HotplugRule.StatusWrite, port, Inv($"a write to Slot Status only changed Slot Control 0x{before.SlotControl:x4} -> 0x{after.SlotControl:x4} or set CC")));
            }
        }

        bool wasTrue = condition.TryGetValue(port, out bool stored) ? stored : before.InterruptCondition;
        bool isTrue = after.InterruptCondition;
        condition[port] = isTrue;
        bool rising = isTrue && !wasTrue;
        if (messagesRaised > 0 && !after.HotPlugInterruptEnable)
        {
            violations.Add(new(HotplugRule.NoHpie, port, Inv($"{messagesRaised} hotplug message(s) raised with HPIE clear (Slot Control 0x{after.SlotControl:x4})")));
        }

        if ((messagesRaised > 0) != rising || messagesRaised > 1)
        {
            violations.Add(new(HotplugRule.Edge, port, Inv($"{messagesRaised} message(s) raised; condition {(wasTrue ? 1 : 0)} -> {(isTrue ? 1 : 0)} (Slot Control 0x{after.SlotControl:x4}, Slot Status 0x{after.SlotStatus:x4}, MSI {(after.MsiEnabled ? "enabled" : "disabled")})")));
        }
    }

    /// <summary>HP-EMPTY: a read that stopped at an empty slot must return all-ones.</summary>
    public static void CheckEmptyRead(string port, ulong value, int width, List<Violation> violations)
    {
        ArgumentNullException.ThrowIfNull(violations);
        ulong ones = width >= 8 ? ulong.MaxValue : (1UL << (width * 8)) - 1;
        if (value != ones)
        {
            violations.Add(new(HotplugRule.Empty, port, Inv($"read below the empty slot returned 0x{value:x}")));
        }
    }

    private static string Inv(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
