using System.Globalization;
using PcieSim.ConfigSpace.Registers;
using PcieSim.Functions;
using PcieSim.Topology;

namespace PcieSim.Enumeration;

/// <summary>One broken enumeration invariant: the rule, the function it concerns, and what was found.</summary>
public sealed record EnumerationFinding(string Rule, string Subject, string Detail)
{
    public override string ToString() => Rule + " " + Subject + ": " + Detail;
}

/// <summary>
/// The invariants an enumerated hierarchy keeps, whoever enumerated it (the VMM, a guest's trace, a test), read from
/// the model's registers alone and independent of <see cref="VmmEnumerator"/> (PCI-to-PCI Bridge r1.2 §3.2.5;
/// PCIe Base Spec r6.0 §7.5.1.3; the cocotbext-pcie enumeration test, anchors 4a):
/// <list type="bullet">
/// <item><see cref="BusNest"/>: a bridge's secondary..subordinate lies inside the buses its parent forwards below it
/// (for a root port, start bus + 1 .. end bus of its root complex), above the bus it sits on, and is not inverted.</item>
/// <item><see cref="BusOverlap"/>: sibling bridges' bus ranges are disjoint.</item>
/// <item><see cref="WindowNest"/>: a bridge's memory window lies inside its parent's memory window; a prefetchable
/// window inside the parent's prefetchable or memory window.</item>
/// <item><see cref="WindowOverlap"/>: sibling bridges' windows are disjoint.</item>
/// <item><see cref="BarWindow"/>: an endpoint BAR lies inside a window of the port above it (a prefetchable BAR in
/// either window, a non-prefetchable one in the memory window).</item>
/// <item><see cref="BarOverlap"/>: no two BARs overlap.</item>
/// </list>
/// A bridge whose bus numbers are 0..0 is not enumerated: its windows are not judged, and a programmed range below it
/// breaks <see cref="BusNest"/>. A window is enabled when its base is not above its limit. A BAR whose base is 0 is
/// unassigned and not judged; unplugged endpoints are not judged.
/// </summary>
public static class EnumerationInvariants
{
    public const string BusNest = "ENUM-BUS-NEST";
    public const string BusOverlap = "ENUM-BUS-OVERLAP";
    public const string WindowNest = "ENUM-WINDOW-NEST";
    public const string WindowOverlap = "ENUM-WINDOW-OVERLAP";
    public const string BarWindow = "ENUM-BAR-WINDOW";
    public const string BarOverlap = "ENUM-BAR-OVERLAP";

    /// <summary>Every broken invariant of <paramref name="model"/>'s current state, in topology order; empty when all hold.</summary>
    public static IReadOnlyList<EnumerationFinding> Check(PcieModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var findings = new List<EnumerationFinding>();
        var bars = new List<(Endpoint Endpoint, int Index, AddressWindow Range)>();
        foreach (var rc in model.RootComplexes)
        {
            var scope = new Scope(rc.Name, Programmed: true, rc.StartBus, rc.StartBus + 1, rc.EndBus, Windowed: false, null, null);
            CheckSiblings(rc.RootPorts, scope, findings, bars);
        }

        for (int i = 0; i < bars.Count; i++)
        {
            for (int j = i + 1; j < bars.Count; j++)
            {
                if (bars[i].Range.Overlaps(bars[j].Range))
                {
                    findings.Add(new EnumerationFinding(BarOverlap, bars[i].Endpoint.Name, Inv(
                        $"BAR{bars[i].Index} {Describe(bars[i].Range)} overlaps {bars[j].Endpoint.Name} BAR{bars[j].Index} {Describe(bars[j].Range)}")));
                }
            }
        }

        return findings;
    }

    /// <summary>What a parent forwards below it: the bus its children sit on, the buses they may take, its windows.</summary>
    /// <param name="Programmed">The parent's bus numbers are programmed (not 0..0, not inverted): it forwards anything.</param>
    /// <param name="Low">Lowest bus a child bridge may take (above <paramref name="High"/> when there is no room).</param>
    /// <param name="Windowed">The parent is a bridge with memory windows (a root complex's apertures are not judged).</param>
    private sealed record Scope(string Parent, bool Programmed, int Bus, int Low, int High, bool Windowed, AddressWindow? Memory, AddressWindow? Prefetchable);

    private static void CheckSiblings<T>(IReadOnlyList<T> bridges, Scope scope, List<EnumerationFinding> findings, List<(Endpoint, int, AddressWindow)> bars)
        where T : BridgeFunction
    {
        var ranges = new List<(BridgeFunction Bridge, BusRange Range)>();
        var windows = new List<(BridgeFunction Bridge, string Kind, AddressWindow Window)>();
        foreach (var bridge in bridges)
        {
            var child = CheckBridge(bridge, scope, findings, bars);
            if (child.Programmed)
            {
                var range = new BusRange((byte)bridge.SecondaryBus, (byte)bridge.SubordinateBus);
                foreach (var (other, otherRange) in ranges)
                {
                    if (range.Secondary <= otherRange.Subordinate && otherRange.Secondary <= range.Subordinate)
                    {
                        findings.Add(new EnumerationFinding(BusOverlap, bridge.Name, Inv(
                            $"buses {range.Secondary:x2}-{range.Subordinate:x2} overlap {other.Name}'s {otherRange.Secondary:x2}-{otherRange.Subordinate:x2}")));
                    }
                }

                ranges.Add((bridge, range));
                foreach (var (kind, window) in new[] { ("memory", child.Memory), ("prefetchable", child.Prefetchable) })
                {
                    if (window is not { } w)
                    {
                        continue;
                    }

                    foreach (var (other, otherKind, otherWindow) in windows)
                    {
                        if (w.Overlaps(otherWindow))
                        {
                            findings.Add(new EnumerationFinding(WindowOverlap, bridge.Name, Inv(
                                $"{kind} window {Describe(w)} overlaps {other.Name}'s {otherKind} window {Describe(otherWindow)}")));
                        }
                    }

                    windows.Add((bridge, kind, w));
                }
            }
        }
    }

    /// <summary>Checks one bridge against its parent's scope, then what is below it; returns the bridge's own scope.</summary>
    private static Scope CheckBridge(BridgeFunction bridge, Scope parent, List<EnumerationFinding> findings, List<(Endpoint, int, AddressWindow)> bars)
    {
        int secondary = bridge.SecondaryBus, subordinate = bridge.SubordinateBus;
        bool programmed = secondary != 0 || subordinate != 0;
        Scope scope;
        if (!programmed)
        {
            scope = Unprogrammed(bridge);
        }
        else
        {
            if (secondary > subordinate)
            {
                findings.Add(new EnumerationFinding(BusNest, bridge.Name, Inv($"buses {secondary:x2}-{subordinate:x2} are inverted (secondary above subordinate)")));
            }
            else if (!parent.Programmed)
            {
                findings.Add(new EnumerationFinding(BusNest, bridge.Name, Inv($"buses {secondary:x2}-{subordinate:x2} below {parent.Parent}, whose bus numbers are unprogrammed (0..0) or inverted")));
            }
            else if (parent.Low > parent.High)
            {
                findings.Add(new EnumerationFinding(BusNest, bridge.Name, Inv(
                    $"buses {secondary:x2}-{subordinate:x2} below {parent.Parent}, which forwards no bus above the bus {parent.Bus:x2} it sits on")));
            }
            else if (secondary < parent.Low || subordinate > parent.High)
            {
                findings.Add(new EnumerationFinding(BusNest, bridge.Name, Inv(
                    $"buses {secondary:x2}-{subordinate:x2} outside {parent.Parent}'s {parent.Low:x2}-{parent.High:x2} (it sits on bus {parent.Bus:x2})")));
            }

            var memory = MemoryWindow(bridge);
            var prefetchable = PrefetchableWindow(bridge);
            if (parent.Programmed && parent.Windowed)
            {
                CheckWindowNest(bridge, "memory", memory, parent, prefetchableChild: false, findings);
                CheckWindowNest(bridge, "prefetchable", prefetchable, parent, prefetchableChild: true, findings);
            }

            scope = secondary > subordinate
                ? Unprogrammed(bridge)
                : new Scope(bridge.Name, Programmed: true, secondary, secondary + 1, subordinate, Windowed: true, memory, prefetchable);
        }

        switch (bridge)
        {
            case DownstreamPort port when port.Child is PcieSwitch sw:
                var upstream = CheckBridge(sw.Upstream, scope, findings, bars);
                CheckSiblings(sw.DownstreamPorts, upstream, findings, bars);
                break;
            case DownstreamPort port when port.Child is Endpoint endpoint:
                CheckBars(endpoint, scope, findings, bars);
                break;
        }

        return scope;
    }

    private static void CheckWindowNest(BridgeFunction bridge, string kind, AddressWindow? window, Scope parent, bool prefetchableChild, List<EnumerationFinding> findings)
    {
        if (window is not { } w)
        {
            return;
        }

        bool inside = parent.Memory is { } m && m.Contains(w) || prefetchableChild && parent.Prefetchable is { } p && p.Contains(w);
        if (!inside)
        {
            findings.Add(new EnumerationFinding(WindowNest, bridge.Name, Inv(
                $"{kind} window {Describe(w)} outside {parent.Parent}'s {(prefetchableChild ? "windows" : "memory window")} ({DescribeWindows(parent)})")));
        }
    }

    private static void CheckBars(Endpoint endpoint, Scope port, List<EnumerationFinding> findings, List<(Endpoint, int, AddressWindow)> bars)
    {
        for (int index = 0; index < 6; index++)
        {
            ulong size = endpoint.BarSize(index);
            if (size == 0)
            {
                continue;
            }

            ulong address = endpoint.BarBase(index);
            if (address == 0)
            {
                continue;
            }

            bool prefetchable = (endpoint.Config.Read((HeaderOffsets.Bar0 >> 2) + index) & 0x8) != 0;
            var range = new AddressWindow(address, address + size - 1 < address ? ulong.MaxValue : address + size - 1);
            bars.Add((endpoint, index, range));
            if (!port.Programmed)
            {
                continue;
            }

            bool inside = port.Memory is { } m && m.Contains(range) || prefetchable && port.Prefetchable is { } p && p.Contains(range);
            if (!inside)
            {
                findings.Add(new EnumerationFinding(BarWindow, endpoint.Name, Inv(
                    $"BAR{index} {Describe(range)} outside {port.Parent}'s {(prefetchable ? "windows" : "memory window")} ({DescribeWindows(port)})")));
            }
        }
    }

    /// <summary>A bridge that forwards nothing: bus numbers 0..0 or inverted.</summary>
    private static Scope Unprogrammed(BridgeFunction bridge) => new(bridge.Name, Programmed: false, -1, 1, 0, Windowed: true, null, null);

    /// <summary>Memory Base/Limit (0x20): bits 31:20 of base and limit; the limit's low 20 bits are all ones.</summary>
    private static AddressWindow? MemoryWindow(BridgeFunction bridge)
    {
        uint dword = bridge.Config.Read(0x20 >> 2);
        ulong low = (ulong)(dword & 0xFFF0) << 16;
        ulong high = ((ulong)((dword >> 16) & 0xFFF0) << 16) | 0xF_FFFF;
        return low <= high ? new AddressWindow(low, high) : null;
    }

    /// <summary>Prefetchable Base/Limit (0x24) with the upper 32 bits (0x28, 0x2C) when it decodes 64-bit addresses.</summary>
    private static AddressWindow? PrefetchableWindow(BridgeFunction bridge)
    {
        uint dword = bridge.Config.Read(0x24 >> 2);
        ulong low = (ulong)(dword & 0xFFF0) << 16;
        ulong high = ((ulong)((dword >> 16) & 0xFFF0) << 16) | 0xF_FFFF;
        if ((dword & 0xF) == 1)
        {
            low |= (ulong)bridge.Config.Read(0x28 >> 2) << 32;
        }

        if (((dword >> 16) & 0xF) == 1)
        {
            high |= (ulong)bridge.Config.Read(0x2C >> 2) << 32;
        }

        return low <= high ? new AddressWindow(low, high) : null;
    }

    private static string DescribeWindows(Scope scope)
    {
        string memory = scope.Memory is { } m ? "memory " + Describe(m) : "memory disabled";
        string prefetchable = scope.Prefetchable is { } p ? "prefetchable " + Describe(p) : "prefetchable disabled";
        return memory + ", " + prefetchable;
    }

    private static string Describe(AddressWindow window) => Inv($"0x{window.Base:x}-0x{window.Limit:x}");

    private static string Inv(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
