using PcieSim.Enumeration;
using PcieSim.Replay;
using PcieSim.Rules;
using PcieSim.Topology;

namespace PcieSim.Snapshot;

/// <summary>The snapshot's printed form (<c>--format</c>).</summary>
public enum SnapshotFormat
{
    /// <summary>Diff-friendly text, one line per record (<see cref="SnapshotWriter"/>).</summary>
    Text,

    /// <summary>The same content as one JSON document (<see cref="JsonSnapshotWriter"/>, schema in the README).</summary>
    Json,
}

/// <summary>
/// Writes a replay snapshot as it goes: the header, each final step outcome in row order, the summary. Writers hold
/// no per-record state beyond a bounded buffer of text not yet written, so memory does not grow with the trace.
/// </summary>
public interface ISnapshotWriter
{
    /// <param name="enumeration">When the replay starts from OpenVMM's pre-boot enumeration (<c>--vmm-enumerate</c>): what it assigned.</param>
    void WriteHeader(string traceName, BehaviourProfile profile, PcieModel model, IReadOnlyList<Violation> initialViolations, EnumerationResult? enumeration = null);

    /// <summary>Writes one step; a writer may gather steps into larger writes until <see cref="Flush"/> or the summary.</summary>
    void WriteStep(StepOutcome outcome);

    /// <summary>Writes the summary and ends the document; nothing stays gathered.</summary>
    void WriteSummary(ReplaySession session);

    /// <summary>Writes the steps gathered so far to the output (before anything else writes to it, or to read it).</summary>
    void Flush();
}

/// <summary>Creates the writer for a <see cref="SnapshotFormat"/>.</summary>
public static class SnapshotWriters
{
    public static ISnapshotWriter Create(SnapshotFormat format, TextWriter output) => format switch
    {
        SnapshotFormat.Json => new JsonSnapshotWriter(output),
        _ => new SnapshotWriter(output),
    };
}
