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

    /// <summary>For mmio rows: what the address hit (e.g. <c>nvme0 BAR4 MSI-X vector 3 data</c>) or <c>unclaimed</c>.</summary>
    public string? MmioTarget { get; internal set; }

    /// <summary>The value read (config or mmio), when the row reads.</summary>
    public ulong? ValueRead { get; internal set; }

    public List<ModelEvent> Events { get; } = [];

    public List<string> Mismatches { get; } = [];

    public List<string> Notes { get; } = [];

    public List<Violation> Violations { get; } = [];

    /// <summary>For a reset under <c>--vmm-enumerate</c>: what OpenVMM's enumeration assigned right after it.</summary>
    public EnumerationResult? Enumeration { get; internal set; }
}
