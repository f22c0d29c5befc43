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
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(snapshot);
        bool interruptComplete = HasMsiRows(tracePath);
        using var reader = TraceReader.Open(tracePath);
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

        var session = new ReplaySession(model, header.Source, interruptComplete) { VmmEnumerate = vmmEnumerate };
        session.UseColumns(header.Columns);
        var writer = SnapshotWriters.Create(options.Format, snapshot);
        using var emitter = options.EmitTrace is { } emitTo ? new TraceEmitter(emitTo, header, model, options.Profile, vmmEnumerate) : null;
        writer.WriteHeader(header.Source, options.Profile, model, session.InitialViolations, enumeration);
        while (reader.TryRead(out var record))
        {
            Write(session.Step(record));
        }

        Write(session.Finish());
        writer.WriteSummary(session);
        emitter?.Flush();
        return new ReplayResult(session.Counters.Records, session.Counters.Mismatches, session.Counters.Violations + session.InitialViolations.Count);

        void Write(IReadOnlyList<StepOutcome> outcomes)
        {
            foreach (var outcome in outcomes)
            {
                writer.WriteStep(outcome);
                emitter?.Write(outcome);
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

    /// <summary>Whether the trace has an <c>msi</c> row (then it is interrupt-complete): a cheap first pass.</summary>
    private static bool HasMsiRows(string tracePath)
    {
        using var reader = TraceReader.Open(tracePath);
        while (reader.TryRead(out var record))
        {
            if (record.Op == TraceOp.Msi)
            {
                return true;
            }
        }

        return false;
    }
}
