using PcieSim.Functions;
using PcieSim.Replay;
using PcieSim.Topology;

namespace PcieSim.Conformance.Reliability;

/// <summary>
/// A guest's complete enumeration of a model, as trace records (config writes in <c>SSSS:BB:DD.F@0xR</c> form): bus
/// numbers depth first (PCI-to-PCI Bridge r1.2 §3.2.5.2-3), then every BAR sized (all-ones) and assigned, and every
/// bridge's windows programmed: the 64-bit prefetchable window covering what is below it (BARs naturally aligned,
/// windows on 1 MiB), the memory window and any unused prefetchable window disabled (base above limit), as Linux
/// leaves them, and Memory Space and Bus Master enabled. Built from the model's structure only; the records are what
/// a trace of that guest would hold.
/// </summary>
internal static class GuestEnumeration
{
    private const ulong MiB = 1UL << 20;

    /// <summary>Bus numbering writes, parents before children (each bridge's 0x18 DWORD: primary, secondary, subordinate).</summary>
    public static List<TraceRecord> BusNumbers(PcieModel model)
    {
        var writes = new List<TraceRecord>();
        foreach (var rc in model.RootComplexes)
        {
            byte next = (byte)(rc.StartBus + 1);
            foreach (var port in rc.RootPorts)
            {
                Number(writes, rc, port, port.Devfn, rc.StartBus, ref next);
            }
        }

        return writes;
    }

    /// <summary>
    /// The resource writes for a model whose buses <see cref="BusNumbers"/> numbered, in groups that must stay in order
    /// (a BAR's sizing write, read and assignment); the groups themselves may come in any order.
    /// </summary>
    public static List<List<TraceRecord>> Resources(PcieModel model)
    {
        var groups = new List<List<TraceRecord>>();
        for (int i = 0; i < model.RootComplexes.Count; i++)
        {
            var rc = model.RootComplexes[i];
            ulong cursor = (ulong)(i + 1) << 36; // each root complex's 64-bit space, far apart: 64 GiB each
            var buses = BusesOf(rc);
            foreach (var port in rc.RootPorts)
            {
                Assign(groups, rc, port, buses, ref cursor);
            }
        }

        return groups;
    }

    /// <summary>Where every bridge and endpoint below <paramref name="rc"/> sits once numbered: (bus, devfn).</summary>
    private static Dictionary<PcieFunction, (byte Bus, byte Devfn)> BusesOf(RootComplex rc)
    {
        var at = new Dictionary<PcieFunction, (byte, byte)>(ReferenceEqualityComparer.Instance);
        byte next = (byte)(rc.StartBus + 1);
        foreach (var port in rc.RootPorts)
        {
            Place(at, rc, port, port.Devfn, rc.StartBus, ref next);
        }

        return at;
    }

    private static void Place(Dictionary<PcieFunction, (byte, byte)> at, RootComplex rc, BridgeFunction bridge, byte devfn, byte bus, ref byte next)
    {
        at[bridge] = (bus, devfn);
        if (next > rc.EndBus || next == 0)
        {
            return;
        }

        byte secondary = next++;
        switch (bridge)
        {
            case DownstreamPort { Child: PcieSwitch sw }:
                Place(at, rc, sw.Upstream, 0, secondary, ref next);
                break;
            case DownstreamPort { Child: Endpoint endpoint }:
                at[endpoint] = (secondary, 0);
                break;
            case UpstreamSwitchPort up:
                foreach (var port in up.Switch.DownstreamPorts)
                {
                    Place(at, rc, port, port.Devfn, secondary, ref next);
                }

                break;
        }
    }

    private static void Number(List<TraceRecord> writes, RootComplex rc, BridgeFunction bridge, byte devfn, byte primary, ref byte next)
    {
        if (next > rc.EndBus || next == 0)
        {
            return;
        }

        byte secondary = next++;
        int first = writes.Count;
        writes.Add(default);
        if (bridge is DownstreamPort { Child: PcieSwitch sw } && next != 0 && next <= rc.EndBus)
        {
            Number(writes, rc, sw.Upstream, 0, secondary, ref next);
        }
        else if (bridge is UpstreamSwitchPort up)
        {
            foreach (var port in up.Switch.DownstreamPorts)
            {
                Number(writes, rc, port, port.Devfn, secondary, ref next);
            }
        }

        byte subordinate = (byte)(next == 0 ? 0xFF : next - 1);
        writes[first] = Write(rc, primary, devfn, 0x18, (uint)(primary | (secondary << 8) | (subordinate << 16)));
    }

    /// <summary>Assigns what is below <paramref name="bridge"/> from <paramref name="cursor"/> and programs its windows.</summary>
    private static void Assign(List<List<TraceRecord>> groups, RootComplex rc, BridgeFunction bridge, Dictionary<PcieFunction, (byte Bus, byte Devfn)> at, ref ulong cursor)
    {
        if (!at.TryGetValue(bridge, out var self))
        {
            return;
        }

        ulong start = Align(cursor, MiB);
        cursor = start;
        switch (bridge)
        {
            case DownstreamPort { Child: PcieSwitch sw }:
                Assign(groups, rc, sw.Upstream, at, ref cursor);
                break;
            case DownstreamPort { Child: Endpoint endpoint } when at.TryGetValue(endpoint, out var place):
                groups.Add([Write(rc, place.Bus, place.Devfn, 0x04, 0x0006, width: 2)]); // Memory Space, Bus Master Enable
                // Largest BAR first, each naturally aligned (what Linux's pbus_size_mem arrives at).
                foreach (int bar in new[] { 0, 2, 4 }.Where(b => endpoint.BarSize(b) != 0).OrderByDescending(b => endpoint.BarSize(b)).ThenBy(b => b))
                {
                    ulong size = endpoint.BarSize(bar);
                    cursor = Align(cursor, size);
                    groups.Add(
                    [
                        Write(rc, place.Bus, place.Devfn, 0x10 + (bar * 4), uint.MaxValue),
                        Write(rc, place.Bus, place.Devfn, 0x14 + (bar * 4), uint.MaxValue),
                        Read(rc, place.Bus, place.Devfn, 0x10 + (bar * 4)),
                        Write(rc, place.Bus, place.Devfn, 0x10 + (bar * 4), (uint)cursor),
                        Write(rc, place.Bus, place.Devfn, 0x14 + (bar * 4), (uint)(cursor >> 32)),
                    ]);
                    cursor += size;
                }

                break;
            case UpstreamSwitchPort up:
                foreach (var port in up.Switch.DownstreamPorts)
                {
                    Assign(groups, rc, port, at, ref cursor);
                }

                break;
        }

        ulong end = Align(cursor, MiB);
        cursor = end;
        var (bus, devfn) = self;
        var windows = new List<TraceRecord> { Write(rc, bus, devfn, 0x20, 0x0000_FFF0) };
        if (end > start)
        {
            ulong limit = end - 1;
            windows.Add(Write(rc, bus, devfn, 0x24, (uint)(((start >> 16) & 0xFFF0) | (((limit >> 16) & 0xFFF0) << 16))));
            windows.Add(Write(rc, bus, devfn, 0x28, (uint)(start >> 32)));
            windows.Add(Write(rc, bus, devfn, 0x2C, (uint)(limit >> 32)));
        }
        else
        {
            windows.Add(Write(rc, bus, devfn, 0x24, 0x0000_FFF0));
            windows.Add(Write(rc, bus, devfn, 0x28, uint.MaxValue));
            windows.Add(Write(rc, bus, devfn, 0x2C, 0));
        }

        windows.Add(Write(rc, bus, devfn, 0x04, 0x0006, width: 2));
        groups.Add(windows);
    }

    private static ulong Align(ulong value, ulong alignment) => (value + alignment - 1) & ~(alignment - 1);

    private static TraceRecord Write(RootComplex rc, byte bus, byte devfn, int register, uint value, int width = 4) =>
        new(0, 0, null, TraceOp.Write, TraceAddressKind.Configuration, 0, new ConfigurationAddress(rc.Segment, bus, devfn, (ushort)register), width, value, null, null, null, null);

    private static TraceRecord Read(RootComplex rc, byte bus, byte devfn, int register) =>
        new(0, 0, null, TraceOp.Read, TraceAddressKind.Configuration, 0, new ConfigurationAddress(rc.Segment, bus, devfn, (ushort)register), 4, null, null, null, null, null);
}
