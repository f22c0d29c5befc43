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
public sealed class StepOutcome
{
    public StepOutcome(TraceRecord record) => Record = record;

    public TraceRecord Record { get; }

    /// <summary>The configuration access, for read and write rows.</summary>
    public ConfigAccessResult? Access { get; internal set; }

    /// <summary>
    /// The route of <see cref="Access"/> as it was when the access happened: an outcome held open for its msi rows
    /// is written after the next row, which may have changed links (a hot-remove) the path is described from.
    /// </summary>
    public string? Route => RouteText?.Full;

    /// <summary><see cref="Route"/> whole and in the text snapshot's short form.</summary>
    internal RouteText? RouteText { get; set; }

    /// <summary>For mmio rows: what the address hit (e.g. <c>nvme0 BAR4 MSI-X vector 3 data</c>) or <c>unclaimed</c>.</summary>
    public string? MmioTarget { get; internal set; }

    /// <summary>The value read (config or mmio), when the row reads.</summary>
    public ulong? ValueRead { get; internal set; }

    // Most records have no events, mismatches, notes or violations: the lists are made when first asked for.
    private List<ModelEvent>? events;
    private List<string>? mismatches;
    private List<string>? notes;
    private List<Violation>? violations;

    public List<ModelEvent> Events => events ??= [];

    public List<string> Mismatches => mismatches ??= [];

    public List<string> Notes => notes ??= [];

    public List<Violation> Violations => violations ??= [];

    /// <summary>The events without making an empty list.</summary>
    internal ReadOnlySpan<ModelEvent> EventSpan => CollectionsMarshal.AsSpan(events);

    internal ReadOnlySpan<string> MismatchSpan => CollectionsMarshal.AsSpan(mismatches);

    internal ReadOnlySpan<string> NoteSpan => CollectionsMarshal.AsSpan(notes);

    internal ReadOnlySpan<Violation> ViolationSpan => CollectionsMarshal.AsSpan(violations);

    /// <summary>For a reset under <c>--vmm-enumerate</c>: what OpenVMM's enumeration assigned right after it.</summary>
    public EnumerationResult? Enumeration { get; internal set; }
}
