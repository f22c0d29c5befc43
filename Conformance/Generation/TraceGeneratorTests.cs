using System.Globalization;
using PcieSim.Cli;
using PcieSim.Conformance.Golden;
using PcieSim.Conformance.TestSupport;
using PcieSim.Files;
using PcieSim.Generation;
using PcieSim.Replay;
using PcieSim.Topology.Language;

namespace PcieSim.Conformance.Generation;

/// <summary>
/// <c>pciesim generate</c>: exactly N records, the same trace for the same seed, and a trace that replays cleanly
/// (every recorded read and msi row agrees with the model) on every platform MSI controller.
/// </summary>
public class TraceGeneratorTests
{
    /// <summary>Hot-plug root ports (one with Command Completed), a hot-plug switch, MSI and MSI-X endpoints, two spares.</summary>
    private const string Topology =
        "--pcie-root-complex rc0 --pcie-root-port rc0:rp0,hotplug,cc --pcie-root-port rc0:rp1,hotplug --pcie-root-port rc0:rp2"
        + " --pcie-switch rp2:sw0,num_downstream_ports=4,hotplug"
        + " --pcie-endpoint rp0:ep0,template=generic,bar0=16K,msi=4 --pcie-endpoint sw0-downstream-1:nvme0,template=nvme"
        + " --pcie-endpoint spare0,template=nvme --pcie-endpoint spare1,template=generic,msix=8,bar2=64K";

    private static TopologySpec Spec(string gic = " --gic-msi its") => TopologyParser.Parse(Topology + gic, "test.topo");

    private static string Text(TopologySpec spec, long records, ulong seed)
    {
        var text = new StringWriter(CultureInfo.InvariantCulture);
        using (var writer = new TraceWriter(text, spec.NormalisedFlags, [], TraceGenerator.Columns, leaveOpen: true))
        {
            foreach (var record in TraceGenerator.Generate(spec, records, seed))
            {
                writer.Write(record);
            }
        }

        return text.ToString();
    }

    [TestCase(0)]
    [TestCase(1)]
    [TestCase(7)]
    [TestCase(45)]
    [TestCase(3000)]
    public void generate_gives_exactly_the_number_of_records_asked_for(long records)
    {
        var all = TraceGenerator.Generate(Spec(), records, 3).ToList();
        Assert.That(all, Has.Count.EqualTo(records));
        Assert.That(all.Select(r => r.Seq), Is.EqualTo(Enumerable.Range(1, (int)records).Select(i => (long?)i)), "seq numbers rows 1..N");
    }

    [Test]
    public void the_same_seed_gives_the_same_trace_and_another_seed_another()
    {
        string first = Text(Spec(), 5000, 42);
        Assert.That(Text(Spec(), 5000, 42), Is.EqualTo(first));
        Assert.That(Text(Spec(), 5000, 43), Is.Not.EqualTo(first));
    }

    [Test]
    public void a_longer_trace_starts_with_the_shorter_one_up_to_its_final_reads()
    {
        // Only the tail differs: the shorter trace ends in reads once too few records remain for a step's msi rows.
        var shorter = TraceGenerator.Generate(Spec(), 2000, 9).ToList();
        var longer = TraceGenerator.Generate(Spec(), 4000, 9).ToList();
        Assert.That(longer.Take(1900), Is.EqualTo(shorter.Take(1900)));
    }

    [Test]
    public void generated_trace_covers_enumeration_bar_sizing_hotplug_storms_interrupts_and_resets()
    {
        var all = TraceGenerator.Generate(Spec(), 400_000, 1).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(all[0].Note, Is.EqualTo("enumeration"));
            Assert.That(all.Any(r => r.Op == TraceOp.Write && r.Value == 0xFFFF_FFFF && r.Address % 0x1000 is >= 0x10 and < 0x28), "BAR sizing");
            Assert.That(all.Count(r => r.Op == TraceOp.HotAdd), Is.GreaterThan(100), "hot-adds");
            Assert.That(all.Count(r => r.Op == TraceOp.HotRemove), Is.GreaterThan(100), "hot-removes");
            Assert.That(all.Count(r => r.Op == TraceOp.Msi), Is.GreaterThan(100), "msi rows");
            Assert.That(all.Count(r => r.Op == TraceOp.Raise), Is.GreaterThan(100), "raise rows");
            Assert.That(all.Count(r => r.Op == TraceOp.MmioWrite), Is.GreaterThan(100), "MSI-X table writes");
            Assert.That(all.Count(r => r.Op == TraceOp.Reset), Is.GreaterThan(0), "VM resets");
            Assert.That(all.Count(r => r.Op == TraceOp.Read), Is.GreaterThan(all.Count / 2), "mostly reads");
        });
    }

    [TestCase(" --gic-msi its")]
    [TestCase(" --gic-msi v2m")]
    [TestCase("")]
    public void generated_trace_replays_with_no_mismatch_and_no_violation(string gic)
    {
        var spec = Spec(gic);
        string path = TestTemp.WriteFile("generated.csv", Text(spec, 60_000, 7));
        try
        {
            var counted = new int[Enum.GetValues<TraceOp>().Length];
            var result = TraceReplayer.Replay(path, new ReplayOptions { OnOutcome = o => counted[(int)o.Record.Op]++ }, TextWriter.Null);
            Assert.That(result, Is.EqualTo(new ReplayResult(60_000, 0, 0)));
            Assert.That(counted[(int)TraceOp.Msi], Is.GreaterThan(0), "msi rows compared one to one");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public async Task generated_trace_and_its_snapshot_match_their_golden_files()
    {
        string trace = Text(Spec(), 700, 5);
        await Verifier.Verify(trace, "generated_trace_700_records_seed_5");
        // The snapshot names the trace file: a fixed name in a folder of its own.
        string path = TestTemp.WriteFile("generated.csv", trace);
        try
        {
            var (snapshot, result) = TraceReplayer.ReplayToText(path, new ReplayOptions());
            Assert.That(result.Mismatches, Is.Zero);
            await Verifier.Verify(snapshot, "generated_trace_700_records_seed_5_snapshot");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void generate_command_writes_the_trace_atomically_and_replay_reads_it_back()
    {
        string topology = TestTemp.WriteFile("test.topo", Topology + " --gic-msi its\n");
        string output = TestTemp.NewFilePath("generated.csv");
        try
        {
            var stdout = new StringWriter { NewLine = "\n" };
            int exit = PcieSimCommand.Run(["generate", "--topology", topology, "--records", "2500", "--out", output, "--seed", "11"], stdout, new StringWriter());
            Assert.That(exit, Is.EqualTo(PcieSimCommand.Success));
            Assert.That(stdout.ToString(), Is.EqualTo($"generate: 2500 records written to {output} (seed 11)\n"));
            string text = File.ReadAllText(output);
            Assert.That(text, Does.StartWith($"# generated by pciesim generate --topology {Path.GetFileName(topology)} --records 2500 --seed 11\n# topology: --pcie-root-complex rc0,"));
            Assert.That(text, Is.EqualTo(Text(Spec(), 2500, 11).Insert(0, $"# generated by pciesim generate --topology {Path.GetFileName(topology)} --records 2500 --seed 11\n")));
            Assert.That(PcieSimCommand.Run(["replay", output, "--out", output + ".snap"], new StringWriter(), new StringWriter()), Is.EqualTo(PcieSimCommand.Success));
            Assert.That(Directory.GetFiles(Path.GetDirectoryName(output)!, "." + Path.GetFileName(output) + ".tmp-*"), Is.Empty, "no temporary file left");
        }
        finally
        {
            File.Delete(topology);
            File.Delete(output);
            File.Delete(output + ".snap");
        }
    }

    [TestCase("-1", "command line: --records -1 is negative, expected 0 or more")]
    [TestCase("many", null)]
    public void generate_command_bad_record_count_exits_2_and_writes_nothing(string records, string? message)
    {
        string topology = TestTemp.WriteFile("test.topo", Topology);
        string output = TestTemp.NewFilePath("generated.csv");
        try
        {
            var stderr = new StringWriter { NewLine = "\n" };
            int exit = PcieSimCommand.Run(["generate", "--topology", topology, "--records", records, "--out", output], new StringWriter(), stderr);
            Assert.That(exit, Is.EqualTo(PcieSimCommand.BadInput));
            Assert.That(File.Exists(output), Is.False);
            if (message is not null)
            {
                Assert.That(stderr.ToString(), Is.EqualTo("pciesim: " + message + "\n"));
            }
        }
        finally
        {
            File.Delete(topology);
        }
    }

    [Test]
    public void generate_command_missing_topology_exits_2_and_writes_nothing()
    {
        string output = TestTemp.NewFilePath("generated.csv");
        var stderr = new StringWriter { NewLine = "\n" };
        int exit = PcieSimCommand.Run(["generate", "--topology", "/nonexistent/x.topo", "--records", "10", "--out", output], new StringWriter(), stderr);
        Assert.That(exit, Is.EqualTo(PcieSimCommand.BadInput));
        Assert.That(stderr.ToString(), Is.EqualTo("pciesim: x.topo: topology file not found: /nonexistent/x.topo\n"));
        Assert.That(File.Exists(output), Is.False);
    }

    [Test]
    public void split_mix_64_matches_the_reference_sequence()
    {
        // First outputs of SplitMix64 seeded with 0 (the reference C implementation by Sebastiano Vigna).
        var rng = new SplitMix64(0);
        Assert.That(new[] { rng.Next(), rng.Next(), rng.Next() }, Is.EqualTo(new[] { 0xE220A8397B1DCDAFUL, 0x6E789E6AA1B965F4UL, 0x06C45D188009454FUL }));
    }
}
