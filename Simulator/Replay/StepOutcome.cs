using System.Runtime.InteropServices;
using PcieSim.Enumeration;
using PcieSim.Interrupts;
using PcieSim.Rules;
using PcieSim.Topology;

namespace PcieSim.Replay;

/// <summary>
/// The outcome of replaying one trace record: the access (decoded path, value read, DWORD before and after a
/// write), the events it caused, recorded values that differ from the model, notes and §6.7 violations.
/// </summary>
/// <remarks>
/// A replay reuses outcomes once they are written, in place or on its snapshot thread (see <see cref="ReplayOptions.OnOutcome"/>): a plain access
/// then allocates nothing.
/// </remarks>
public sealed class StepOutcome
{
    private TraceRecord record;
    private ConfigAccessResult access;
    private bool hasAccess;

    public StepOutcome(in TraceRecord record) => this.record = record;

    /// <summary>The row replayed.</summary>
    public ref readonly TraceRecord Record => ref record;

    /// <summary>The configuration access, for read and write rows.</summary>
    public ConfigAccessResult? Access => hasAccess ? access : null;

    /// <summary>Whether the row made a configuration access (then <see cref="AccessRef"/> is it).</summary>
    internal bool HasAccess => hasAccess;

    /// <summary>
    /// <see cref="Access"/> in place: a result is 56 bytes, and the replay and the snapshot read it several times a
    /// row. Meaningless when <see cref="HasAccess"/> is false (a reused outcome keeps its last access there).
    /// </summary>
    internal ref readonly ConfigAccessResult AccessRef => ref access;

    /// <summary>
    /// The route of <see cref="Access"/> as it was when the access happened: an outcome held open for its msi rows
    /// is written after the next row, which may have changed links (a hot-remove) the path is described from.
    /// </summary>
    public string? Route => RouteText?.Full;

    /// <summary><see cref="Route"/> whole and in the text snapshot's short form.</summary>
    internal RouteText? RouteText { get; set; }

    /// <summary>For mmio rows: what the address hit (e.g. <c>nvme0 BAR4 MSI-X vector 3 data</c>) or <c>unclaimed</c>.</summary>
    public string? MmioTarget => Mmio?.ToString();

    /// <summary>What an mmio row hit, kept as data: the text is made by whoever prints it (the snapshot's thread).</summary>
    internal MmioHit? Mmio
    {
        get => detailsInUse ? details!.Mmio : null;
        set => Details.Mmio = value;
    }

    /// <summary>The value read (config or mmio), when the row reads.</summary>
    public ulong? ValueRead { get; internal set; }

    public List<ModelEvent> Events => Details.HandOutEvents();

    public List<string> Mismatches => Details.HandOutMismatches();

    public List<string> Notes => Details.HandOutNotes();

    public List<Violation> Violations => Details.HandOutViolations();

    /// <summary>The events without making an empty list (nor reading the lists of a reused outcome when this one has none).</summary>
    internal ReadOnlySpan<ModelEvent> EventSpan => detailsInUse ? details!.Span(details.Events, OutcomeDetails.EventsHanded) : default;

    internal ReadOnlySpan<string> MismatchSpan => detailsInUse ? details!.Span(details.Mismatches, OutcomeDetails.MismatchesHanded) : default;

    internal ReadOnlySpan<string> NoteSpan => detailsInUse ? details!.Span(details.Notes, OutcomeDetails.NotesHanded) : default;

    internal ReadOnlySpan<Violation> ViolationSpan => detailsInUse ? details!.Span(details.Violations, OutcomeDetails.ViolationsHanded) : default;

    /// <summary>For a reset under <c>--vmm-enumerate</c>: what OpenVMM's enumeration assigned right after it.</summary>
    public EnumerationResult? Enumeration
    {
        get => detailsInUse ? details!.Enumeration : null;
        internal set => Details.Enumeration = value;
    }

    // Most records (plain config reads and writes) have no events, mismatches, notes, violations, mmio target or
    // enumeration: those live in an object made when first set, which keeps the outcome of a plain access small.
    private OutcomeDetails? details;

    // Whether the rare parts were handed out (to be filled, or through the public lists) since the last Clear; when
    // not, they are empty and are neither emptied nor read. A reused outcome keeps its details object once it had
    // one, so without this every row would empty and read four lists last read on the other thread: cache lines to
    // fetch back, about a tenth of the replay thread's time.
    private bool detailsInUse;

    private OutcomeDetails Details
    {
        get
        {
            detailsInUse = true;
            return details ??= new();
        }
    }

    /// <summary>
    /// The record, for the replay's reader to write in place: the replay takes an outcome before it reads the row, so
    /// a row is not copied again (112 bytes, three of them references the GC must be told about) into its outcome.
    /// </summary>
    internal ref TraceRecord RecordToRead => ref record;

    /// <summary>Sets <see cref="Access"/>, copying the result once (not through a nullable's copy).</summary>
    internal void SetAccess(in ConfigAccessResult result)
    {
        access = result;
        hasAccess = true;
    }

    /// <summary>Forgets all but the record; the lists (emptied) are kept for reuse.</summary>
    internal StepOutcome Clear()
    {
        hasAccess = false;
        RouteText = null;
        ValueRead = null;
        if (detailsInUse)
        {
            details!.Clear();
            detailsInUse = false;
        }

        return this;
    }

    private sealed class OutcomeDetails
    {
        public const byte EventsHanded = 1;
        public const byte MismatchesHanded = 2;
        public const byte NotesHanded = 4;
        public const byte ViolationsHanded = 8;

        public List<ModelEvent>? Events;
        public List<string>? Mismatches;
        public List<string>? Notes;
        public List<Violation>? Violations;
        public MmioHit? Mmio;
        public EnumerationResult? Enumeration;

        /// <summary>
        /// The lists handed out since the last Clear: only those can hold anything, so only those are read and
        /// emptied. An mmio row uses the details for its target alone; emptying the four lists anyway (each an object
        /// of its own, last touched on the other thread) cost four cache misses per such row.
        /// </summary>
        private byte handed;

        public List<ModelEvent> HandOutEvents() => HandOut(ref Events, EventsHanded);

        public List<string> HandOutMismatches() => HandOut(ref Mismatches, MismatchesHanded);

        public List<string> HandOutNotes() => HandOut(ref Notes, NotesHanded);

        public List<Violation> HandOutViolations() => HandOut(ref Violations, ViolationsHanded);

        /// <summary>The list's items when it was handed out since the last Clear; otherwise it is empty and not read.</summary>
        public ReadOnlySpan<T> Span<T>(List<T>? list, byte bit) => (handed & bit) != 0 ? CollectionsMarshal.AsSpan(list) : default;

        public void Clear()
        {
            if (handed != 0)
            {
                Empty(Events, EventsHanded);
                Empty(Mismatches, MismatchesHanded);
                Empty(Notes, NotesHanded);
                Empty(Violations, ViolationsHanded);
                handed = 0;
            }

            Mmio = null;
            Enumeration = null;
        }

        /// <summary>The list (made on first use), marked as handed out.</summary>
        private List<T> HandOut<T>(ref List<T>? list, byte bit)
        {
            handed |= bit;
            return list ??= [];
        }

        private void Empty<T>(List<T>? list, byte bit)
        {
            if ((handed & bit) != 0)
            {
                list!.Clear();
            }
        }
    }
}

/// <summary>What an mmio row's address decoded to, in the terms <see cref="StepOutcome.MmioTarget"/> prints.</summary>
internal enum MmioHitKind : byte
{
    /// <summary>No decoding BAR holds the address.</summary>
    Unclaimed,

    /// <summary>An MSI-X table entry's DWORD (offset within the BAR).</summary>
    MsixTable,

    /// <summary>A read of the MSI-X Pending Bit Array (index of the DWORD).</summary>
    PbaRead,

    /// <summary>A write to the read-only Pending Bit Array, dropped (index of the DWORD).</summary>
    PbaWrite,

    /// <summary>In the MSI-X BAR but unaligned or not 4 or 8 bytes wide: dropped.</summary>
    Dropped,

    /// <summary>A BAR (or part of one) the model does not emulate.</summary>
    NotModelled,
}

/// <param name="Offset">Offset in the BAR, or the PBA DWORD index for <see cref="MmioHitKind.PbaRead"/> and <see cref="MmioHitKind.PbaWrite"/>.</param>
internal readonly record struct MmioHit(Functions.Endpoint? Endpoint, int Bar, MmioHitKind Kind, ulong Offset)
{
    private static readonly string[] MsixFields = ["address", "upper address", "data", "vector control"];

    /// <summary>E.g. <c>nvme0 BAR4 MSI-X vector 3 data</c>, <c>nvme0 BAR4 MSI-X PBA[0]</c> or <c>unclaimed</c>.</summary>
    public void AppendTo(CharBuffer text)
    {
        if (Kind == MmioHitKind.Unclaimed || Endpoint is null)
        {
            text.Append("unclaimed");
            return;
        }

        text.Append(Endpoint.Name).Append(" BAR").AppendDecimal(Bar);
        switch (Kind)
        {
            case MmioHitKind.MsixTable:
                text.Append(" MSI-X vector ").AppendDecimal((long)(Offset / 16)).Append(' ').Append(MsixFields[(int)(Offset % 16 / 4)]);
                break;
            case MmioHitKind.PbaRead:
            case MmioHitKind.PbaWrite:
                text.Append(" MSI-X PBA[").AppendDecimal((long)Offset).Append(']').Append(Kind == MmioHitKind.PbaWrite ? " (read-only: dropped)" : "");
                break;
            case MmioHitKind.Dropped:
                text.Append("+0x").AppendHex(Offset).Append(" (unaligned or not 4/8 bytes: dropped)");
                break;
            default:
                text.Append("+0x").AppendHex(Offset).Append(" (not modelled)");
                break;
        }
    }

    public override string ToString()
    {
        var text = new CharBuffer(64);
        AppendTo(text);
        return text.ToString();
    }
}
