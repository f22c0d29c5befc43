using System.Globalization;
using PcieSim.Functions;
using PcieSim.Interrupts;
using PcieSim.Rules;
using PcieSim.Topology;

namespace PcieSim.Replay;

/// <summary>
/// Replays trace records against a model, one step at a time: (model state, record) → (new state, outcome).
/// Compares recorded read values and, in an interrupt-complete trace, recorded <c>msi</c> rows with what the model
/// did; judges every step against the closed §6.7 rule set. Knows nothing of files or consoles.
/// </summary>
public sealed partial class ReplaySession
{
    private readonly HotplugRuleChecker checker = new();
    private readonly Dictionary<DownstreamPort, PortObservation> before = [];
    private readonly List<InterruptMessage> expectedMessages = [];
    private readonly List<StepOutcome> msiRowsOfCause = [];
    private StepOutcome? cause;
    private int causeMessageIndex;

    /// <param name="interruptComplete">The trace has at least one <c>msi</c> row: every accepted message must have one.</param>
    public ReplaySession(PcieModel model, string source, bool interruptComplete)
    {
        Model = model ?? throw new ArgumentNullException(nameof(model));
        Source = source;
        InterruptComplete = interruptComplete;
        foreach (var port in model.Ports)
        {
            HotplugRuleChecker.CheckState(port.Name, PcieModel.Observe(port), InitialViolations);
        }
    }

    public PcieModel Model { get; }

    public string Source { get; }

    public bool InterruptComplete { get; }

    /// <summary>OpenVMM's pre-boot enumeration runs again right after every <c>reset</c> record, as on a reboot.</summary>
    public bool VmmEnumerate { get; init; }

    /// <summary>Rule violations of the initial (reset) state.</summary>
    public List<Violation> InitialViolations { get; } = [];

    public ReplayCounters Counters { get; } = new();

    /// <summary>Where outcomes already written can be had back for reuse (the replay's snapshot pipeline, threaded or in place), or null.</summary>
    internal IOutcomeRecycler? Recycler { get; set; }

    /// <summary>
    /// Replays one record. Returns the outcomes that are now final: a row that caused messages stays open until
    /// its <c>msi</c> rows have been seen (they are compared with it), so outcomes come back in row order but
    /// possibly one step late. Call <see cref="Finish()"/> at the end.
    /// </summary>
    /// <exception cref="InputException">The record names something the topology does not have.</exception>
    public IReadOnlyList<StepOutcome> Step(in TraceRecord record)
    {
        var ready = new List<StepOutcome>(1);
        Step(record, ready);
        return ready;
    }

    /// <summary>
    /// <see cref="Step(in TraceRecord)"/> that appends the outcomes now final to <paramref name="ready"/> instead of
    /// returning a collection: the replay's loop reuses one list for every record.
    /// </summary>
    internal void Step(in TraceRecord record, List<StepOutcome> ready)
    {
        var outcome = NextOutcome();
        outcome.RecordToRead = record;
        Step(outcome, ready);
    }

    /// <summary>An outcome to read the next record into (<see cref="StepOutcome.RecordToRead"/>), then to <see cref="Step(StepOutcome, List{StepOutcome})"/>.</summary>
    internal StepOutcome NextOutcome() => Recycler is not null && Recycler.TryReuse(out var written) ? written.Clear() : new StepOutcome(default);

    /// <summary>Replays the record <paramref name="outcome"/> holds (from <see cref="NextOutcome"/>), into it.</summary>
    internal void Step(StepOutcome outcome, List<StepOutcome> ready)
    {
        ref readonly var record = ref outcome.Record;
        Counters.Count(record.Op);
        if (record.Op == TraceOp.Msi)
        {
            CompareMsiRow(outcome);
            if (cause is not null)
            {
                msiRowsOfCause.Add(outcome);
            }
            else
            {
                ready.Add(outcome);
            }

            return;
        }

        CloseCause(ready);
        Model.ClearEvents();
        var touched = PortsTouched(record);
        SnapshotBefore(touched);
        Execute(record, outcome);
        if (Model.Events.Count > 0)
        {
            outcome.Events.AddRange(Model.Events);
        }

        Judge(record, outcome, touched);
        Counters.Tally(outcome);

        if (InterruptComplete)
        {
            cause = outcome;
            causeMessageIndex = 0;
            expectedMessages.Clear();
            foreach (var e in outcome.EventSpan)
            {
                if (e is MessageEvent { Delivery.Accepted: true } m)
                {
                    expectedMessages.Add(m.Message);
                }
            }

            return;
        }

        ready.Add(outcome);
    }

    /// <summary>
    /// Ends the replay: closes the last open step. Also legal mid-replay when the next record is not an
    /// <c>msi</c> row (a save point): closing then gives the same outcome the next step would have.
    /// </summary>
    public IReadOnlyList<StepOutcome> Finish()
    {
        var ready = new List<StepOutcome>(1);
        CloseCause(ready);
        return ready;
    }

    /// <summary><see cref="Finish()"/> appending to <paramref name="ready"/>.</summary>
    internal void Finish(List<StepOutcome> ready) => CloseCause(ready);

    /// <summary>The session's state at a save point (no step open: call <see cref="Finish()"/> first).</summary>
    /// <exception cref="InvalidOperationException">A step is open: its <c>msi</c> rows may still come.</exception>
    public SessionState SaveState()
    {
        if (cause is not null)
        {
            throw new InvalidOperationException("a step is open (its msi rows may still come): call Finish before saving");
        }

        var edges = checker.EdgeState.ToList();
        edges.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
        return new SessionState(Counters.Save(), edges, VmmEnumerate);
    }

    /// <summary>Restores counters and edge state saved by <see cref="SaveState"/> into a session of the same model.</summary>
    /// <param name="source">Where the state came from, for error messages.</param>
    /// <exception cref="InputException">Counters that do not add up, edge state for a port the model does not have, or a different <c>--vmm-enumerate</c>.</exception>
    public void RestoreState(SessionState state, string source)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (cause is not null)
        {
            throw new InvalidOperationException("a step is open: restore into a session that has not started");
        }

        if (state.VmmEnumerate != VmmEnumerate)
        {
            throw new InputException(source, 0, 0, state.VmmEnumerate
                ? "the state was saved by a replay with --vmm-enumerate (a reset enumerates again); this replay runs without it"
                : "the state was saved by a replay without --vmm-enumerate; this replay runs with it");
        }

        var c = state.Counters;
        long sum = 0;
        foreach (long n in c.ByOp)
        {
            sum += n;
        }

        if (c.ByOp.Count != Enum.GetValues<TraceOp>().Length || c.ByOp.Any(n => n < 0) || sum != c.Records
            || c.Mismatches < 0 || c.Violations < 0 || c.MessagesAccepted < 0 || c.MessagesDropped < 0 || c.Unroutable < 0 || c.Marked < 0)
        {
            throw new InputException(source, 0, 0, Inv($"the counters do not add up: {c.Records} records, {sum} by operation, none may be negative"));
        }

        foreach (var (port, _) in state.EdgeState)
        {
            if (Model.FindPort(port) is null)
            {
                throw new InputException(source, 0, 0, Inv($"edge state for port '{port}', which is not in the topology"));
            }
        }

        Counters.Restore(c);
        checker.RestoreEdgeState(state.EdgeState);
    }

    /// <summary>Appends the open step and its msi rows, now that no more msi rows can follow it; nothing when none is open.</summary>
    private void CloseCause(List<StepOutcome> ready)
    {
        if (cause is null)
        {
            return;
        }

        for (int i = causeMessageIndex; i < expectedMessages.Count; i++)
        {
            var m = expectedMessages[i];
            cause.Mismatches.Add(Inv($"message without an msi row: {m.Source.Name} address 0x{m.Address:x} data 0x{m.Data:x}"));
            Counters.Mismatches++;
        }

        ready.Add(cause);
        if (msiRowsOfCause.Count > 0)
        {
            ready.AddRange(msiRowsOfCause);
            msiRowsOfCause.Clear();
        }

        cause = null;
    }

    private void CompareMsiRow(StepOutcome outcome)
    {
        ref readonly var record = ref outcome.Record;
        if (!InterruptComplete || cause is null)
        {
            return;
        }

        if (causeMessageIndex >= expectedMessages.Count)
        {
            cause.Mismatches.Add(Inv($"row {record.Row}: msi row with no message from the model (address 0x{record.Address:x} data 0x{record.Value ?? 0:x})"));
            Counters.Mismatches++;
            return;
        }

        var message = expectedMessages[causeMessageIndex++];
        uint expectedDevice = Model.Spec.GicMsi?.Mode == Topology.Language.GicMsiMode.Its
            ? ((uint)message.Segment << 16) | message.RequesterId
            : message.RequesterId;
        if (message.Address != record.Address || message.Data != (record.Value ?? 0) || (record.DeviceValue is { } device && device != expectedDevice))
        {
            cause.Mismatches.Add(Inv($"row {record.Row}: msi row address 0x{record.Address:x} data 0x{record.Value ?? 0:x}{(record.DeviceValue is { } d ? Inv($" device 0x{d:x}") : "")}, model raised address 0x{message.Address:x} data 0x{message.Data:x} device 0x{expectedDevice:x}"));
            Counters.Mismatches++;
        }
    }

    private static string Inv(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

/// <summary>Counts shown in a snapshot's summary.</summary>
public sealed class ReplayCounters
{
    private readonly long[] byOp = new long[Enum.GetValues<TraceOp>().Length];

    public long Records { get; private set; }

    public long Mismatches { get; internal set; }

    public long Violations { get; internal set; }

    public long MessagesAccepted { get; private set; }

    public long MessagesDropped { get; private set; }

    public long Unroutable { get; private set; }

    public long Marked { get; private set; }

    public long ByOp(TraceOp op) => byOp[(int)op];

    internal CountersState Save() => new(Records, [.. byOp], Mismatches, Violations, MessagesAccepted, MessagesDropped, Unroutable, Marked);

    internal void Restore(CountersState state)
    {
        Records = state.Records;
        for (int i = 0; i < byOp.Length; i++)
        {
            byOp[i] = state.ByOp[i];
        }

        Mismatches = state.Mismatches;
        Violations = state.Violations;
        MessagesAccepted = state.MessagesAccepted;
        MessagesDropped = state.MessagesDropped;
        Unroutable = state.Unroutable;
        Marked = state.Marked;
    }

    internal void Count(TraceOp op)
    {
        Records++;
        byOp[(int)op]++;
    }

    internal void Tally(StepOutcome outcome)
    {
        Mismatches += outcome.MismatchSpan.Length;
        Violations += outcome.ViolationSpan.Length;
        foreach (var e in outcome.EventSpan)
        {
            if (e is MessageEvent m)
            {
                if (m.Delivery.Accepted)
                {
                    MessagesAccepted++;
                }
                else
                {
                    MessagesDropped++;
                }
            }
        }

        if (outcome.HasAccess)
        {
            ref readonly var access = ref outcome.AccessRef;
            if (access.Status == AccessStatus.Unroutable)
            {
                Unroutable++;
            }
            else if (access.Status != AccessStatus.Completed)
            {
                Marked++;
            }
        }
    }
}

/// <summary>Hands back step outcomes that have been written and are no longer looked at, for reuse.</summary>
internal interface IOutcomeRecycler
{
    bool TryReuse(out StepOutcome outcome);
}
