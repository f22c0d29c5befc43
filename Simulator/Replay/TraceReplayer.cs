using PcieSim.Enumeration;
using PcieSim.Files;
using PcieSim.Snapshot;
using PcieSim.Topology;
using PcieSim.Topology.Language;

namespace PcieSim.Replay;

/// <summary>How a trace is replayed: everything the console's <c>replay</c> options decide.</summary>
public sealed record ReplayOptions
{
    /// <summary>The behaviour profile (issue text: <c>--profile</c>).</summary>
    public BehaviourProfile Profile { get; init; } = BehaviourProfile.OpenVmm;

    /// <summary>A topology replacing the trace's <c># topology:</c> lines, or null to use them.</summary>
    public TopologySpec? Topology { get; init; }

    /// <summary>
    /// Start from OpenVMM's pre-boot enumeration and resource assignment instead of the reset state, and run it again
    /// right after every <c>reset</c> record (issue text: <c>--vmm-enumerate</c>). A trace's own
    /// <c># replay: --vmm-enumerate</c> line asks for the same.
    /// </summary>
    public bool VmmEnumerate { get; init; }

    /// <summary>The snapshot's printed form.</summary>
    public SnapshotFormat Format { get; init; } = SnapshotFormat.Text;

    /// <summary>Where to write the trace back with the model's read values and messages (<c>--emit-trace</c>), or null.</summary>
    public TextWriter? EmitTrace { get; init; }

    /// <summary>Write the snapshot on a second thread (true), in place (false), or as the trace's length decides (null).</summary>
    internal bool? SnapshotThread { get; init; }

    /// <summary>Reuse step outcomes once written (false: a new one every step; tests compare the two).</summary>
    internal bool ReuseOutcomes { get; init; } = true;

    /// <summary>
    /// Called with every outcome as it becomes final, in row order (emitted traces, progress). The outcome is the
    /// callee's to read during the call only: the replay reuses it for a later row once it is written.
    /// </summary>
    public Action<StepOutcome>? OnOutcome { get; init; }

    /// <summary>
    /// Save the state after this row (<c>--save-at N</c>): N is the <c>seq</c> value when the trace has that
    /// column, the data row number otherwise. The row must exist and not be followed by <c>msi</c> rows.
    /// </summary>
    public long? SaveAt { get; init; }

    /// <summary>Start from this saved state (<c>--restore</c>) and replay the rows after its row.</summary>
    public ReplayState? Restore { get; init; }
}

/// <summary>The result of replaying one trace under one profile.</summary>
/// <param name="Records">Data rows replayed.</param>
public sealed record ReplayResult(long Records, long Mismatches, long Violations)
{
    /// <summary>The state saved at <see cref="ReplayOptions.SaveAt"/>, or null.</summary>
    public ReplayState? Saved { get; init; }
}

/// <summary>
/// Replays a trace file end to end: header, topology (the trace's own or a replacement), every record through a
/// <see cref="ReplaySession"/>, the snapshot streamed to a writer as it goes (memory does not grow with the trace).
/// Bad input raises <see cref="InputException"/>.
/// </summary>
public static class TraceReplayer
{
    /// <summary>Replays <paramref name="tracePath"/> and writes the snapshot to <paramref name="snapshot"/>.</summary>
    public static ReplayResult Replay(string tracePath, ReplayOptions options, TextWriter snapshot)
    {
        ArgumentNullException.ThrowIfNull(tracePath);
        return Replay(new TraceSource(() => TraceReader.Open(tracePath), () => File.OpenRead(tracePath), () => new FileInfo(tracePath).Length), options, snapshot);
    }

    /// <summary>Replays a trace held in memory as UTF-8 bytes; <paramref name="source"/> names it in messages and the snapshot.</summary>
    public static ReplayResult Replay(byte[] trace, string source, ReplayOptions options, TextWriter snapshot)
    {
        ArgumentNullException.ThrowIfNull(trace);
        ArgumentNullException.ThrowIfNull(source);
        return Replay(new TraceSource(() => TraceReader.Open(new MemoryStream(trace, writable: false), source), () => new MemoryStream(trace, writable: false), () => trace.Length), options, snapshot);
    }

    /// <summary>Where a trace's text comes from: a reader of its records, its raw bytes for the first pass, its length.</summary>
    private sealed record TraceSource(Func<TraceReader> OpenReader, Func<Stream> OpenBytes, Func<long> Length);

    /// <summary>
    /// Traces from this length on are read and stepped on one thread and written on a second. Measured on two cores:
    /// at 1 M records (37 MB) the second thread costs time (threaded 1.20, 1.21, 1.38 s against 1.09, 1.09, 1.31 s in
    /// place, alternating runs: the JIT's and GC's background threads want the second core then); at 10 M (380 MB) it
    /// saves a third of the wall time. A third thread for reading was dropped: with records as values and outcomes
    /// reused it gained nothing (10 M records: 3.91 to 4.65 s on two threads against 4.26 to 6.79 s on three).
    /// </summary>
    private const long SnapshotThreadFromBytes = 64L << 20;

    private static ReplayResult Replay(TraceSource source, ReplayOptions options, TextWriter snapshot)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(snapshot);

        // The reader first: a missing file or a bad header is reported before the first pass opens anything.
        using var reader = source.OpenReader();
        var scan = Scan(source, options);
        var header = reader.Header;
        var spec = options.Topology ?? (header.TopologyLines.Count > 0
            ? TopologyParser.Parse(header.TopologyLines)
            : throw new InputException(header.Source, 1, 1, "found no '# topology:' lines and no --topology option, expected '# topology:' lines before the header row or a --topology FILE"));
        var model = new PcieModel(spec, new ModelOptions { Profile = options.Profile });
        bool vmmEnumerate = options.VmmEnumerate || header.VmmEnumerate;
        EnumerationResult? enumeration = null;
        if (vmmEnumerate)
        {
            enumeration = VmmEnumerator.Run(model);
            if (enumeration.Error is { } error)
            {
                throw new InputException(header.Source, header.VmmEnumerateLine, header.VmmEnumerate ? 1 : 0,
                    "--vmm-enumerate: OpenVMM's pre-boot enumeration fails, so OpenVMM would not start this VM: " + error);
            }
        }

        var session = new ReplaySession(model, header.Source, scan.InterruptComplete) { VmmEnumerate = vmmEnumerate };
        session.UseColumns(header.Columns);
        int restoredRow = 0;
        if (options.Restore is { } restore)
        {
            model.RestoreState(restore.Model, restore.Source);
            session.RestoreState(restore.Session, restore.Source);
            restoredRow = restore.Row;
        }

        var writer = SnapshotWriters.Create(options.Format, snapshot);
        using var emitter = options.EmitTrace is { } emitTo ? new TraceEmitter(emitTo, header, model, options.Profile, vmmEnumerate) : null;
        writer.WriteHeader(header.Source, options.Profile, model, session.InitialViolations, enumeration);

        // Long traces: the snapshot is written on a second thread while this one reads and steps (SnapshotPipeline).
        bool threaded = options.SnapshotThread ?? source.Length() >= SnapshotThreadFromBytes;
        using var pipeline = new SnapshotPipeline(writer, threaded);
        session.Recycler = options.ReuseOutcomes ? pipeline : null;
        ReplayState? saved = null;
        var ready = new List<StepOutcome>(4);

        // Each row is read straight into the outcome it will be replayed into.
        var outcome = session.NextOutcome();
        while (reader.TryRead(out outcome.RecordToRead))
        {
            int row = outcome.Record.Row;
            if (row <= restoredRow)
            {
                continue;
            }

            long? seq = outcome.Record.Seq;
            session.Step(outcome, ready);
            Write(ready);
            if (row == scan.SaveRow)
            {
                // The scan made sure no msi row follows: the open step can be closed now.
                session.Finish(ready);
                Write(ready);
                saved = new ReplayState(header.Source, row, seq, model.SaveState(), session.SaveState());
            }

            outcome = session.NextOutcome();
        }

        session.Finish(ready);
        Write(ready);
        pipeline.Complete();
        writer.WriteSummary(session);
        emitter?.Flush();
        return new ReplayResult(session.Counters.Records, session.Counters.Mismatches, session.Counters.Violations + session.InitialViolations.Count) { Saved = saved };

        void Write(List<StepOutcome> outcomes)
        {
            foreach (var outcome in outcomes)
            {
                pipeline.Post(outcome);
                emitter?.Write(outcome);
                options.OnOutcome?.Invoke(outcome);
            }

            outcomes.Clear();
        }
    }

    /// <summary>Replays <paramref name="tracePath"/> and returns the snapshot text (LF, no BOM) with the result.</summary>
    public static (string Snapshot, ReplayResult Result) ReplayToText(string tracePath, ReplayOptions options)
    {
        var text = new StringWriter(System.Globalization.CultureInfo.InvariantCulture);
        var result = Replay(tracePath, options, text);
        return (text.ToString(), result);
    }

    /// <summary>What a cheap first pass learns: whether the trace has an <c>msi</c> row (then it is interrupt-complete) and the row to save after (0: none).</summary>
    private readonly record struct TraceScan(bool InterruptComplete, int SaveRow);

    /// <summary>
    /// The first pass: finds <c>msi</c> rows, resolves <see cref="ReplayOptions.SaveAt"/> to a row and checks that
    /// the save and restore points are legal, so bad input fails before anything is written. Without a save or
    /// restore point only the <c>msi</c> rows matter: a byte scan (<see cref="MsiRowScan"/>) then stands in for a
    /// second CSV parse of the whole trace, and the reader checks every row in the replay's own pass (a consumer
    /// that must show nothing on bad input writes to a temporary file, as the console does).
    /// </summary>
    private static TraceScan Scan(TraceSource source, ReplayOptions options)
    {
        if (options.SaveAt is null && options.Restore is null)
        {
            using var bytes = source.OpenBytes();
            return new TraceScan(MsiRowScan.HasMsiRows(bytes), 0);
        }

        using var reader = source.OpenReader();
        string trace = reader.Header.Source;
        bool bySeq = reader.Header.Columns.Seq != 0;
        var restore = options.Restore;
        bool msi = false;
        int rows = 0, saveRow = 0;
        TraceRecord? save = null, restored = null;
        TraceRecord? saveGroupEnd = null, restoreGroupEnd = null;
        while (reader.TryRead(out var record))
        {
            rows = record.Row;
            msi |= record.Op == TraceOp.Msi;
            if (options.SaveAt is { } n && (bySeq ? record.Seq == n : record.Row == n))
            {
                if (save is not null)
                {
                    throw SaveAtError(options, Inv($"seq {n} is on rows {saveRow} and {record.Row} of {trace}: ambiguous"));
                }

                save = record;
                saveRow = record.Row;
            }

            if (restore is not null && record.Row == restore.Row)
            {
                restored = record;
            }

            saveGroupEnd = FollowingMsi(save, saveGroupEnd, record);
            restoreGroupEnd = FollowingMsi(restored, restoreGroupEnd, record);
        }

        if (restore is not null)
        {
            if (restored is null)
            {
                throw new InputException(restore.Source, 0, 0, Inv($"the state was saved after row {restore.Row} of {restore.Trace}; {trace} has {rows} data rows"));
            }

            if (restored.Value.Seq != restore.Seq)
            {
                throw new InputException(restore.Source, 0, 0, Inv($"the state was saved after row {restore.Row} (seq {SeqText(restore.Seq)}) of {restore.Trace}; row {restore.Row} of {trace} has seq {SeqText(restored.Value.Seq)}: not the same trace"));
            }

            if (restoreGroupEnd is not null)
            {
                throw new InputException(restore.Source, 0, 0, Inv($"row {restore.Row} of {trace} is followed by the msi rows it caused: not a save point"));
            }
        }

        if (options.SaveAt is { } at)
        {
            string unit = bySeq ? "seq" : "data row";
            if (save is null)
            {
                throw SaveAtError(options, bySeq
                    ? Inv($"no row of {trace} has seq {at}")
                    : Inv($"{trace} has {rows} data rows (it has no seq column: N is a data row number)"));
            }

            if (saveGroupEnd is { } last)
            {
                throw SaveAtError(options, Inv($"{unit} {at} is followed by the msi rows it caused (they are compared with it); save after the last of them, {(bySeq ? Inv($"seq {SeqText(last.Seq)} (row {last.Row})") : Inv($"row {last.Row}"))}"));
            }

            if (restore is not null && saveRow <= restore.Row)
            {
                throw SaveAtError(options, Inv($"{unit} {at} (row {saveRow}) is not after row {restore.Row}, where the restored state starts"));
            }
        }

        return new TraceScan(msi, saveRow);
    }

    /// <summary>Tracks the msi rows right after <paramref name="anchor"/>: returns the last such row so far (null: none).</summary>
    private static TraceRecord? FollowingMsi(TraceRecord? anchor, TraceRecord? groupEnd, in TraceRecord record)
    {
        if (anchor is not { } start || record.Row <= start.Row)
        {
            return groupEnd;
        }

        bool contiguous = record.Row == (groupEnd ?? start).Row + 1;
        return contiguous && record.Op == TraceOp.Msi ? record : groupEnd;
    }

    private static InputException SaveAtError(ReplayOptions options, string message) =>
        new("command line", 0, 0, Inv($"--save-at {options.SaveAt}: {message}"));

    private static string SeqText(long? seq) => seq is { } s ? s.ToString(System.Globalization.CultureInfo.InvariantCulture) : "none";

    private static string Inv(FormattableString text) => text.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
