using BenchmarkDotNet.Attributes;
using PcieSim.Files;
using PcieSim.Generation;
using PcieSim.Replay;
using PcieSim.Snapshot;
using PcieSim.Topology;
using PcieSim.Topology.Language;

namespace PcieSim.Benchmarks;

/// <summary>
/// The replay's three stages alone, each over the same generated trace (<c>pciesim generate</c>'s generator, seed 1,
/// on the 4 × 16 topology) in one thread: <see cref="Read"/> parses every row from memory, <see cref="Step"/> replays
/// the parsed records through a new model and session (outcomes reused, as the replay reuses them), and
/// <see cref="Format"/> writes the text snapshot's record lines of outcomes made beforehand to a null writer. Their
/// sum is what one core would spend replaying in place; <see cref="Replay"/> measures the whole.
/// </summary>
/// <remarks>The record count comes from <c>PCIESIM_BENCH_RECORDS</c>, as for <see cref="Replay"/>.</remarks>
[MemoryDiagnoser]
[Config(typeof(RecordsPerSecondConfig))]
public class ReplayStages
{
    private byte[] traceBytes = [];
    private TopologySpec spec = null!;
    private TraceRecord[] records = [];
    private StepOutcome[] outcomes = [];
    private TraceColumns columns;
    private bool interruptComplete;
    private ReplaySession session = null!;
    private readonly List<StepOutcome> ready = new(4);
    private readonly FreeOutcomes free = new();
    private readonly SnapshotWriter writer = new(TextWriter.Null);

    [ParamsSource(nameof(RecordCounts))]
    public int Records { get; set; }

    public static IEnumerable<int> RecordCounts() => Replay.RecordCounts();

    [GlobalSetup]
    public void Setup()
    {
        spec = BenchTopologies.Spec(BenchTopologies.Rc4x16Switch3);
        var text = new StringWriter(System.Globalization.CultureInfo.InvariantCulture);
        using (var trace = new TraceWriter(text, spec.NormalisedFlags, [], TraceGenerator.Columns, leaveOpen: true))
        {
            foreach (var record in TraceGenerator.Generate(spec, Records, seed: 1))
            {
                trace.Write(record);
            }
        }

        traceBytes = AtomicFile.Utf8NoBom.GetBytes(text.ToString());
        var all = new List<TraceRecord>(Records);
        using (var reader = Open())
        {
            columns = reader.Header.Columns;
            while (reader.TryRead(out var record))
            {
                all.Add(record);
                interruptComplete |= record.Op == TraceOp.Msi;
            }
        }

        records = [.. all];

        // Outcomes of every record, each its own (no reuse), for Format.
        var made = new List<StepOutcome>(records.Length);
        var fresh = NewSession();
        foreach (var record in records)
        {
            made.AddRange(fresh.Step(record));
        }

        made.AddRange(fresh.Finish());
        outcomes = [.. made];
    }

    /// <summary>A new model and session before each replay: stepping changes the model.</summary>
    [IterationSetup(Target = nameof(Step))]
    public void NewModel()
    {
        session = NewSession();
        session.Recycler = free;
    }

    [Benchmark]
    public int Read()
    {
        int count = 0;
        using var reader = Open();
        while (reader.TryRead(out _))
        {
            count++;
        }

        return count;
    }

    [Benchmark]
    public int Step()
    {
        int written = 0;
        var records = this.records;
        for (int i = 0; i < records.Length; i++)
        {
            session.Step(in records[i], ready);
            written += Release();
        }

        session.Finish(ready);
        return written + Release();
    }

    [Benchmark]
    public int Format()
    {
        foreach (var outcome in outcomes)
        {
            writer.WriteStep(outcome);
        }

        writer.Flush();
        return outcomes.Length;
    }

    private TraceReader Open() => TraceReader.Open(new MemoryStream(traceBytes, writable: false), "generated.csv");

    private ReplaySession NewSession()
    {
        var session = new ReplaySession(new PcieModel(spec), "generated.csv", interruptComplete);
        session.UseColumns(columns);
        return session;
    }

    /// <summary>Hands the outcomes now final back for reuse, as the replay does once they are written.</summary>
    private int Release()
    {
        int count = ready.Count;
        foreach (var outcome in ready)
        {
            free.Push(outcome);
        }

        ready.Clear();
        return count;
    }

    private sealed class FreeOutcomes : IOutcomeRecycler
    {
        private readonly Stack<StepOutcome> stack = new();

        public void Push(StepOutcome outcome) => stack.Push(outcome);

        public bool TryReuse(out StepOutcome outcome) => stack.TryPop(out outcome!);
    }
}
