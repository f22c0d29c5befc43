using PcieSim.Topology;

namespace PcieSim.Replay;

/// <summary>
/// A replay saved after a data row (issue 6): the model, the session, and where in the trace it stopped. A save
/// point is legal after a row whose outcome is final: the row is not followed by <c>msi</c> rows (they belong to
/// it and are compared with it), so nothing is open and the tail replays exactly as it would have.
/// </summary>
/// <param name="Trace">The trace's file name (informative).</param>
/// <param name="Row">The last data row replayed; a restored replay continues with row <c>Row + 1</c>.</param>
/// <param name="Seq">That row's <c>seq</c>, when it has one (checked on restore: the same trace).</param>
public sealed record ReplayState(string Trace, int Row, long? Seq, ModelState Model, SessionState Session)
{
    /// <summary>Where the state was read from (a file name), for error messages.</summary>
    public string Source { get; init; } = "saved state";
}

/// <summary>The replay session's own state: the summary's counters, the §6.7 checker's edge state, and whether resets re-run OpenVMM's enumeration.</summary>
/// <param name="EdgeState">The HP-EDGE condition of each port the checker has judged, by port name (ordinal order).</param>
/// <param name="VmmEnumerate">The replay ran with <c>--vmm-enumerate</c>: a later reset enumerates again, so a restored replay must too.</param>
public sealed record SessionState(CountersState Counters, IReadOnlyList<KeyValuePair<string, bool>> EdgeState, bool VmmEnumerate);

/// <summary>The counters of <see cref="ReplayCounters"/>.</summary>
/// <param name="ByOp">Records per <see cref="TraceOp"/>, indexed by its value.</param>
public sealed record CountersState(
    long Records,
    IReadOnlyList<long> ByOp,
    long Mismatches,
    long Violations,
    long MessagesAccepted,
    long MessagesDropped,
    long Unroutable,
    long Marked);
