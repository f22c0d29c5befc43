using System.Globalization;
using FsCheck;
using FsCheck.Fluent;
using PcieSim.Enumeration;
using PcieSim.Files;
using PcieSim.Replay;
using PcieSim.Topology;
using PcieSim.Topology.Language;
using static PcieSim.Conformance.Reliability.PropertyCheck;
using PcieSim.Conformance.TestSupport;

namespace PcieSim.Conformance.Reliability;

/// <summary>
/// Issue 6, the enumeration invariant after enumeration traces (anchors 4a; the checker is
/// <see cref="EnumerationInvariants"/>): child bus ranges nest in their parent's, bridge windows nest, no two BARs
/// overlap. Checked on generated guest enumeration traces over random topologies (written as CSV and read back, the
/// resource writes in random order), then after every later record of a random sequence; and on every corpus trace
/// that starts from OpenVMM's own enumeration (<c># replay: --vmm-enumerate</c>), after every row.
/// </summary>
[TestFixture]
public sealed class EnumerationTracePropertyTests
{
    /// <summary>A topology, the order of the guest's resource writes, and what happens after the enumeration.</summary>
    internal sealed record EnumerationCase(TopologyPlan Topology, int Order, BehaviourProfile Profile, Step[] Tail)
    {
        public override string ToString() => new ModelCase(Topology, Profile, Tail) + Inv($"resource write order {Order}\n");
    }

    private static readonly Gen<EnumerationCase> Cases =
        from topology in ModelGen.Topology
        from order in Gen.Choose(0, int.MaxValue)
        from profile in Gen.Elements(BehaviourProfile.OpenVmm, BehaviourProfile.Spec)
        from tail in ModelGen.Steps.Select(steps => steps.Where(s => s is not EnumerateStep).ToArray())
        select new EnumerationCase(topology, order, profile, tail);

    [Test]
    public void after_any_complete_enumeration_trace_the_hierarchy_keeps_the_enumeration_invariants() =>
        ForAll(nameof(after_any_complete_enumeration_trace_the_hierarchy_keeps_the_enumeration_invariants), Arb.From(Cases), c =>
        {
            var trace = EnumerationTrace(c);
            ModelRun.Execute(new ModelCase(c.Topology, c.Profile, c.Tail), Invariants.Enumeration | Invariants.RefusalChangesNothing, trace);
        }, 100);

    [Test]
    public void a_generated_enumeration_trace_assigns_every_bar_and_window()
    {
        // Not vacuous: the generated traces leave BARs and windows programmed (so the checker has something to judge).
        var samples = Gen.Sample(Cases, 30, new Rnd(Seed, Gamma), 20);
        int bars = 0;
        int windows = 0;
        foreach (var c in samples)
        {
            var model = new PcieModel(TopologyParser.Parse(c.Topology.Flags(), "generated"));
            var session = new ReplaySession(model, "generated", interruptComplete: false);
            foreach (var record in EnumerationTrace(c))
            {
                session.Step(record);
            }

            Assert.That(EnumerationInvariants.Check(model), Is.Empty, c.ToString());
            bars += model.Endpoints.Where(e => e.Port is not null).Sum(e => new[] { 0, 2, 4 }.Count(b => e.BarSize(b) != 0 && e.BarBase(b) != 0));
            windows += model.Ports.Count(p => (p.ReadDword(0x24) & 0xFFF0) <= ((p.ReadDword(0x24) >> 16) & 0xFFF0) && p.ReadDword(0x28) <= p.ReadDword(0x2C));
        }

        Assert.Multiple(() =>
        {
            Assert.That(bars, Is.GreaterThan(20), "BARs assigned");
            Assert.That(windows, Is.GreaterThan(20), "prefetchable windows enabled");
        });
    }

    /// <summary>Every corpus trace that starts from OpenVMM's enumeration keeps the invariants after every row.</summary>
    [Test]
    public void corpus_traces_after_vmm_enumerate_keep_the_invariants_at_every_row()
    {
        string directory = CorpusDirectory();
        var traces = Directory.GetFiles(directory, "*.csv").Where(t => File.ReadLines(t).Any(l => l.StartsWith("# replay: --vmm-enumerate", StringComparison.Ordinal))).ToList();
        Assert.That(traces, Is.Not.Empty, "the corpus has a trace starting from --vmm-enumerate");
        foreach (string trace in traces)
        {
            using var reader = TraceReader.Open(trace);
            var model = new PcieModel(TopologyParser.Parse(reader.Header.TopologyLines));
            Assert.That(VmmEnumerator.Run(model).Error, Is.Null);
            var session = new ReplaySession(model, reader.Header.Source, interruptComplete: false) { VmmEnumerate = true };
            session.UseColumns(reader.Header.Columns);
            Assert.That(EnumerationInvariants.Check(model), Is.Empty, Path.GetFileName(trace) + " after --vmm-enumerate");
            while (reader.TryRead(out var record))
            {
                session.Step(record);
                var findings = EnumerationInvariants.Check(model);
                Assert.That(findings, Is.Empty, Inv($"{Path.GetFileName(trace)} line {record.Line}: {string.Join("; ", findings)}"));
            }
        }
    }

    /// <summary>
    /// The guest's enumeration of the case's topology, written as a CSV trace (topology lines, header, rows) and read
    /// back: bus numbers first, then BAR sizing and assignment, windows and Command enables in the case's random order
    /// (a Command write that sets Memory Space before a BAR's assignment leaves that BAR unassigned, as in OpenVMM).
    /// </summary>
    private static List<TraceRecord> EnumerationTrace(EnumerationCase c)
    {
        string flags = c.Topology.Flags();
        var model = new PcieModel(TopologyParser.Parse(flags, "generated"));
        var random = new Random(c.Order);
        var groups = GuestEnumeration.Resources(model).OrderBy(_ => random.Next()).ToList();
        var records = GuestEnumeration.BusNumbers(model).Concat(groups.SelectMany(g => g)).ToList();
        var text = new StringWriter(CultureInfo.InvariantCulture) { NewLine = "\n" };
        using (var writer = new TraceWriter(text, [flags], ["generated guest enumeration"], ["seq", "op", "address", "width", "value", "note"], leaveOpen: true))
        {
            long seq = 0;
            foreach (var record in records)
            {
                writer.Write(record with { Seq = ++seq, Note = null });
            }
        }

        using var reader = new TraceReader(new StringReader(text.ToString()), "generated.csv");
        var read = new List<TraceRecord>();
        while (reader.TryRead(out var record))
        {
            read.Add(record);
        }

        Assert.That(read, Has.Count.EqualTo(records.Count), "the trace reads back whole");
        return read;
    }

    private static string CorpusDirectory() => TestCorpus.Directory;

    private static string Inv(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
