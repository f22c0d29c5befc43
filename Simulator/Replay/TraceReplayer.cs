using PcieSim.Files;
using PcieSim.Snapshot;
using PcieSim.Topology;
using PcieSim.Topology.Language;

namespace PcieSim.Replay;

/// <summary>The result of replaying one trace under one profile.</summary>
/// <param name="Snapshot">The snapshot text (LF, no BOM).</param>
public sealed record ReplayResult(string Snapshot, long Mismatches, long Violations);

/// <summary>
/// Replays a trace file end to end: header, topology (the trace's own or a replacement), every record through a
/// <see cref="ReplaySession"/>, the snapshot written as it goes. Bad input raises <see cref="InputException"/>.
/// </summary>
public static class TraceReplayer
{
    public static ReplayResult Replay(string tracePath, BehaviourProfile profile, TopologySpec? topology)
    {
        ArgumentNullException.ThrowIfNull(tracePath);
        bool interruptComplete = HasMsiRows(tracePath);
        using var reader = TraceReader.Open(tracePath);
        var header = reader.Header;
        var spec = topology ?? (header.TopologyLines.Count > 0
            ? TopologyParser.Parse(header.TopologyLines)
            : throw new InputException(header.Source, 1, 1, "the trace has no '# topology:' lines and no --topology was given"));
        var model = new PcieModel(spec, new ModelOptions { Profile = profile });
        var session = new ReplaySession(model, header.Source, interruptComplete);
        session.UseColumns(header.Columns);
        var text = new StringWriter(System.Globalization.CultureInfo.InvariantCulture);
        var writer = new SnapshotWriter(text);
        writer.WriteHeader(header.Source, profile, model, session.InitialViolations);
        while (reader.TryRead(out var record))
        {
            foreach (var outcome in session.Step(record))
            {
                writer.WriteStep(outcome);
            }
        }

        foreach (var outcome in session.Finish())
        {
            writer.WriteStep(outcome);
        }

        writer.WriteSummary(session);
        return new ReplayResult(text.ToString(), session.Counters.Mismatches, session.Counters.Violations + session.InitialViolations.Count);
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
