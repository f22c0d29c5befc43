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

    /// <summary>Called with every outcome as it becomes final, in row order (emitted traces, progress).</summary>
    public Action<StepOutcome>? OnOutcome { get; init; }
}

/// <summary>The result of replaying one trace under one profile.</summary>
/// <param name="Records">Data rows replayed.</param>
public sealed record ReplayResult(long Records, long Mismatches, long Violations);

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
        return Replay(() => TraceReader.Open(tracePath), () => File.OpenRead(tracePath), options, snapshot);
    }

    /// <summary>Replays a trace held in memory as UTF-8 bytes; <paramref name="source"/> names it in messages and the snapshot.</summary>
    public static ReplayResult Replay(byte[] trace, string source, ReplayOptions options, TextWriter snapshot)
    {
        ArgumentNullException.ThrowIfNull(trace);
        ArgumentNullException.ThrowIfNull(source);
        return Replay(() => TraceReader.Open(new MemoryStream(trace, writable: false), source), () => new MemoryStream(trace, writable: false), options, snapshot);
    }

    private static ReplayResult Replay(Func<TraceReader> open, Func<Stream> openBytes, ReplayOptions options, TextWriter snapshot)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(snapshot);

        // The reader first: a missing file or a bad header is reported before the scan opens anything.
        using var reader = open();
        bool interruptComplete = HasMsiRows(openBytes);
        var header = reader.Header;
        var spec = options.Topology ?? (header.TopologyLines.Count > 0
            ? TopologyParser.Parse(header.TopologyLines)
            : throw new InputException(header.Source, 1, 1, "the trace has no '# topology:' lines and no --topology was given"));
        var model = new PcieModel(spec, new ModelOptions { Profile = options.Profile });
        var session = new ReplaySession(model, header.Source, interruptComplete);
        session.UseColumns(header.Columns);
        var writer = new SnapshotWriter(snapshot);
        writer.WriteHeader(header.Source, options.Profile, model, session.InitialViolations);
        while (reader.TryRead(out var record))
        {
            Write(session.Step(record));
        }

        Write(session.Finish());
        writer.WriteSummary(session);
        return new ReplayResult(session.Counters.Records, session.Counters.Mismatches, session.Counters.Violations + session.InitialViolations.Count);

        void Write(IReadOnlyList<StepOutcome> outcomes)
        {
            foreach (var outcome in outcomes)
            {
                writer.WriteStep(outcome);
                options.OnOutcome?.Invoke(outcome);
            }
        }
    }

    /// <summary>Replays <paramref name="tracePath"/> and returns the snapshot text (LF, no BOM) with the result.</summary>
    public static (string Snapshot, ReplayResult Result) ReplayToText(string tracePath, ReplayOptions options)
    {
        var text = new StringWriter(System.Globalization.CultureInfo.InvariantCulture);
        var result = Replay(tracePath, options, text);
        return (text.ToString(), result);
    }

    /// <summary>Whether the trace has an <c>msi</c> row (then it is interrupt-complete): a byte scan, not a CSV parse.</summary>
    private static bool HasMsiRows(Func<Stream> open)
    {
        using var stream = open();
        return TraceScan.HasMsiRows(stream);
    }
}
