using System.Globalization;
using System.Text;
using PcieSim.Conformance.TestSupport;
using PcieSim.Files;
using PcieSim.Snapshot;
using PcieSim.Topology;
using static PcieSim.Conformance.State.StateSupport;

namespace PcieSim.Conformance.State;

/// <summary>
/// Issue 6 property: for any trace and any split point, replaying the head, saving, restoring and replaying the
/// tail gives the same outcomes as replaying it whole. Traces are drawn from a fixed seed over a topology with
/// every kind of state (two root complexes, an IOMMU, a switch, hot-plug slots with and without Command Completed,
/// endpoints with MSI and MSI-X, the ITS); a failure names the seed and the trace so it can be replayed.
/// </summary>
public class RandomSplitTests
{
    private const int Seed = 6061;
    private const int Traces = 40;

    private const string TopologyLines =
        "# topology: --pcie-root-complex rc0,segment=0 --amd-iommu rc0\n" +
        "# topology: --pcie-root-port rc0:rp0,hotplug --pcie-root-port rc0:rp1\n" +
        "# topology: --pcie-switch rp1:sw0,num_downstream_ports=2,hotplug,cc\n" +
        "# topology: --pcie-root-complex rc1,segment=1,start_bus=0x80,end_bus=0xbf --pcie-root-port rc1:rc1rp0,hotplug,cc\n" +
        "# topology: --pcie-endpoint sw0-downstream-0:ep0,template=generic,bar0=16K,msix=8\n" +
        "# topology: --pcie-endpoint ep1,template=generic,msi=4 --pcie-endpoint nvme0,template=nvme\n" +
        "# topology: --gic-msi its\n";

    /// <summary>Bus numbers as the tree of <c>pciesim topology</c> shows them: every function becomes reachable.</summary>
    private static readonly string[] Enumeration =
    [
        "write,0000:00:01.0@0x018,4,0x00010100",
        "write,0000:00:01.1@0x018,4,0x00050200",
        "write,0000:02:00.0@0x018,4,0x00050302",
        "write,0000:03:00.0@0x018,4,0x00040403",
        "write,0000:03:00.1@0x018,4,0x00050503",
        "write,0001:80:00.0@0x018,4,0x00818180",
    ];

    private static readonly string[] Ports = ["0000:00:01.0", "0000:00:01.1", "0000:02:00.0", "0000:03:00.0", "0000:03:00.1", "0001:80:00.0", "0000:00:00.0"];

    /// <summary>Where an endpoint appears below each hot-plug port, and the base its BARs are programmed to.</summary>
    private static readonly (string Port, string Bdf, ulong Base)[] Slots =
    [
        ("rp0", "0000:01:00.0", 0xC000_0000),
        ("sw0-downstream-0", "0000:04:00.0", 0xC010_0000),
        ("sw0-downstream-1", "0000:05:00.0", 0xC020_0000),
        ("rc1rp0", "0001:81:00.0", 0xC030_0000),
    ];

    /// <summary>Port registers the §6.7 rules and MSI depend on, with values a guest writes.</summary>
    private static readonly (int Register, int Width, uint[] Values)[] PortWrites =
    [
        (0x004, 2, [0x0006, 0x0000, 0x0406]),
        (0x058, 2, [0x1028, 0x1038, 0x103b, 0x0000, 0x0028, 0x1029]),
        (0x05a, 2, [0x011f, 0x0108, 0x0010, 0x0001]),
        (0x058, 4, [0x011f1028, 0x00001038]),
        (0x07e, 2, [0x0001, 0x0000]),
        (0x080, 4, [0xeffd0040, 0xfee00000]),
        (0x088, 2, [0x0021, 0x0030]),
        (0x068, 2, [0x0020, 0x0000]),
        (0x050, 2, [0x0010, 0x0000]),
    ];

    /// <summary>Endpoint registers: Command, MSI-X or MSI control, MSI address, data and mask, BARs, Device Control.</summary>
    private static readonly (int Register, int Width, uint[] Values)[] EndpointWrites =
    [
        (0x004, 2, [0x0006, 0x0002, 0x0000]),
        (0x042, 2, [0x8000, 0xc000, 0x0000, 0x0001, 0x0021]),
        (0x044, 4, [0xeffd0040, 0x12345678]),
        (0x04c, 2, [0x0040, 0x0041]),
        (0x050, 4, [0x00000000, 0x00000005, 0x0000000f]),
        (0x03c, 1, [0x0b]),
        (0x03e, 1, [0x40]),
    ];

    private static readonly string[] Endpoints = ["ep0", "ep1", "nvme0"];

    [Test]
    public void any_split_point_gives_the_outcomes_of_the_whole_replay()
    {
        int splits = 0;
        for (int t = 0; t < Traces; t++)
        {
            var trace = GeneratedRecords(t);
            foreach (var profile in new[] { BehaviourProfile.OpenVmm, BehaviourProfile.Spec })
            {
                splits += CheckEverySplit(trace, profile, Inv($"seed {Seed + t}, trace {t}, {SnapshotWriter.ProfileName(profile)}"));
            }
        }

        TestContext.Out.WriteLine(Inv($"{splits} split points checked"));
        Assert.That(splits, Is.GreaterThan(Traces * 2 * 20));
    }

    [Test]
    public void generated_traces_reach_the_state_save_and_restore_must_carry()
    {
        // Guards the generator: the property above is only as strong as the states it visits.
        bool latched = false, pending = false, table = false, moved = false, edge = false, messages = false;
        for (int t = 0; t < Traces; t++)
        {
            foreach (var (_, json) in Run(GeneratedRecords(t), BehaviourProfile.Spec, null, saves: int.MaxValue).States)
            {
                var state = StateFile.Parse(Encoding.UTF8.GetBytes(json), "state.json");
                latched |= state.Model.Functions.Any(f => f.MsiLatch != 0);
                pending |= state.Model.Functions.Any(f => f.Msix?.Any(v => v.Pending) == true);
                table |= state.Model.Functions.Any(f => f.Msix?.Any(v => v.Address == 0xeffd0040 && v.VectorControl == 0) == true);
                moved |= state.Model.Ports.Any(p => p.Name == "rc1rp0" && p.Child is not null);
                edge |= state.Model.Ports.Any(p => p.HotplugCondition);
                messages |= state.Session.Counters.MessagesAccepted > 0;
            }
        }

        Assert.That((latched, pending, table, moved, edge, messages), Is.EqualTo((true, true, true, true, true, true)), "MSI latch, MSI-X pending bit, an unmasked MSI-X vector at the ITS, a hot-added endpoint, a true §6.7.3.4 condition, a delivered message");
    }

    /// <summary>Trace <paramref name="index"/> of the run, read by the trace reader: its own seed, with and without a seq column, one in three interrupt-complete.</summary>
    private static LoadedTrace GeneratedRecords(int index) =>
        Load(Encoding.UTF8.GetBytes(Generate(new Random(Seed + index), withSeq: index % 2 == 0, interruptComplete: index % 3 == 0)), Inv($"random-{index}.csv"));

    [Test]
    public void the_console_path_restores_a_generated_trace_like_the_session_path()
    {
        // The session-level property above skips files; one generated trace goes through TraceReplayer and --save-at.
        string path = GeneratedTrace(3);
        var legal = SavePoints(path).Where(p => p.Legal).ToList();
        var (whole, wholeResult) = ReplayTrace(path, BehaviourProfile.Spec);
        foreach (var point in new[] { legal[0], legal[legal.Count / 2], legal[^1] })
        {
            var saved = ReplayTrace(path, BehaviourProfile.Spec, point.At).Result.Saved!;
            var (tail, tailResult) = ReplayTrace(path, BehaviourProfile.Spec, restore: ThroughFile(saved));
            Assert.That(tail, Is.EqualTo(Tail(whole, point.Row)), Inv($"split after row {point.Row}"));
            Assert.That(tailResult, Is.EqualTo(wholeResult));
        }
    }

    /// <summary>Trace <paramref name="index"/> of the run: its own seed, with and without a seq column, one in three interrupt-complete.</summary>
    private static string GeneratedTrace(int index) =>
        TestTemp.WriteFile(Inv($"random-{index}.csv"), Generate(new Random(Seed + index), withSeq: index % 2 == 0, interruptComplete: index % 3 == 0));

    /// <summary>A trace: enumeration, then random accesses, hot-plug, resets, raises, MMIO to MSI-X tables and msi rows.</summary>
    private static string Generate(Random random, bool withSeq, bool interruptComplete)
    {
        var rows = new List<string>(Enumeration);
        var occupant = new Dictionary<string, string?>(StringComparer.Ordinal) { ["rp0"] = null, ["sw0-downstream-0"] = "ep0", ["sw0-downstream-1"] = null, ["rc1rp0"] = null };
        int length = random.Next(40, 90);
        while (rows.Count < length)
        {
            int kind = random.Next(100);
            var slot = Slots[random.Next(Slots.Length)];
            if (kind < 17)
            {
                var (register, width, values) = PortWrites[random.Next(PortWrites.Length)];
                rows.Add(Inv($"write,{Ports[random.Next(Ports.Length)]}@0x{register:x3},{width},0x{values[random.Next(values.Length)]:x}"));
            }
            else if (kind < 27)
            {
                var (register, width, values) = EndpointWrites[random.Next(EndpointWrites.Length)];
                rows.Add(Inv($"write,{slot.Bdf}@0x{register:x3},{width},0x{values[random.Next(values.Length)]:x}"));
            }
            else if (kind < 40)
            {
                string bdf = random.Next(2) == 0 ? Ports[random.Next(Ports.Length)] : slot.Bdf;
                int width = random.Next(8) switch { 0 => 1, 1 => 3, 2 or 3 => 2, _ => 4 };
                int register = random.Next(2) == 0 ? random.Next(0x40) * 4 : 0x58 + (2 * random.Next(2));
                register &= width == 4 ? ~3 : width == 2 ? ~1 : ~0;
                rows.Add(Inv($"read,{bdf}@0x{register:x3},{width},"));
            }
            else if (kind < 48)
            {
                var empty = occupant.Where(o => o.Value is null).Select(o => o.Key).ToList();
                var free = Endpoints.Where(e => !occupant.ContainsValue(e)).ToList();
                if (empty.Count > 0 && free.Count > 0)
                {
                    string port = empty[random.Next(empty.Count)], endpoint = free[random.Next(free.Count)];
                    occupant[port] = endpoint;
                    rows.Add(Inv($"hot-add,,,,{port},{endpoint}"));
                }
            }
            else if (kind < 53)
            {
                var full = occupant.Where(o => o.Value is not null).Select(o => o.Key).ToList();
                if (full.Count > 0)
                {
                    string port = full[random.Next(full.Count)];
                    occupant[port] = null;
                    rows.Add(Inv($"hot-remove,,,,{port},"));
                }
            }
            else if (kind < 54)
            {
                // A VM reset, and the guest enumerating again.
                rows.Add("reset,,,,,");
                rows.AddRange(Enumeration);
            }
            else if (kind < 68)
            {
                var plugged = occupant.Values.Where(e => e is not null).ToList();
                if (plugged.Count > 0)
                {
                    rows.Add(Inv($"raise,,,0x{random.Next(4):x},,{plugged[random.Next(plugged.Count)]}"));
                }
            }
            else if (kind < 73)
            {
                // An endpoint driver: BAR0 and BAR4 (the NVMe MSI-X BAR), memory decoding, MSI-X vectors 0-3 at the
                // ITS, MSI-X or MSI enabled (the MSI registers of an MSI-only endpoint sit where MSI-X's do).
                rows.Add(Inv($"write,{slot.Bdf}@0x010,4,0x{slot.Base:x}"));
                rows.Add(Inv($"write,{slot.Bdf}@0x020,4,0x{slot.Base + 0x8_0000:x}"));
                rows.Add(Inv($"write,{slot.Bdf}@0x004,2,0x0006"));
                ulong table = slot.Base + (random.Next(2) == 0 ? 0UL : 0x8_0000UL);
                for (int vector = 0; vector < 4; vector++)
                {
                    rows.Add(Inv($"mmio-write,0x{table + ((ulong)vector * 16):x},8,0xeffd0040"));
                    rows.Add(Inv($"mmio-write,0x{table + ((ulong)vector * 16) + 8:x},4,0x{0x40 + vector:x}"));
                    rows.Add(Inv($"mmio-write,0x{table + ((ulong)vector * 16) + 12:x},4,0x{random.Next(2)}"));
                }

                rows.Add(Inv($"write,{slot.Bdf}@0x044,4,0xeffd0040"));
                rows.Add(Inv($"write,{slot.Bdf}@0x04c,2,0x0040"));
                rows.Add(Inv($"write,{slot.Bdf}@0x042,2,0x{(random.Next(2) == 0 ? 0x8000 : 0x0021):x}"));
            }
            else if (kind < 78)
            {
                // pciehp on a port: MSI at the ITS, enabled, then notifications (with CCIE on a cc slot).
                string port = Ports[random.Next(Ports.Length)];
                rows.Add(Inv($"write,{port}@0x080,4,0xeffd0040"));
                rows.Add(Inv($"write,{port}@0x088,2,0x{0x20 + random.Next(8):x}"));
                rows.Add(Inv($"write,{port}@0x07e,2,0x0001"));
                rows.Add(Inv($"write,{port}@0x058,2,0x{(random.Next(2) == 0 ? 0x1028 : 0x1038):x}"));
            }
            else
            {
                ulong address = slot.Base + (random.Next(2) == 0 ? 0UL : 0x8_0000UL) + ((ulong)random.Next(0x110) * 4);
                bool write = random.Next(3) != 0;
                uint value = random.Next(3) switch { 0 => 0, 1 => 1, _ => 0xeffd0040 };
                rows.Add(write ? Inv($"mmio-write,0x{address:x},4,0x{value:x}") : Inv($"mmio-read,0x{address:x},{(random.Next(2) == 0 ? 4 : 8)},"));
            }

            if (interruptComplete && random.Next(6) == 0)
            {
                int count = random.Next(1, 3);
                for (int i = 0; i < count; i++)
                {
                    rows.Add(Inv($"msi,0xeffd0040,4,0x{random.Next(0x20, 0x42):x}"));
                }
            }
        }

        var text = new StringBuilder(TopologyLines);
        text.Append(withSeq ? "seq,op,address,width,value,port,device\n" : "op,address,width,value,port,device\n");
        for (int i = 0; i < rows.Count; i++)
        {
            if (withSeq)
            {
                // seq values that are not row numbers, so --save-at must look them up.
                text.Append(Inv($"{(i + 1) * 10},"));
            }

            text.Append(rows[i]).Append('\n');
        }

        return text.ToString();
    }

    private static string Inv(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
