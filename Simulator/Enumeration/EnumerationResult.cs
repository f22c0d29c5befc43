using System.Globalization;
using PcieSim.Functions;
using PcieSim.Topology;

namespace PcieSim.Enumeration;

/// <summary>
/// What OpenVMM's pre-boot enumeration and resource assignment did to a model (OpenVMM
/// <c>vm/devices/pci/pci_resource_assignment</c>, reference 11.1 item 20): per root complex, in topology order, its
/// apertures and the tree of functions it found with their bus numbers, BAR addresses and bridge windows, or the
/// error that stopped it. Like OpenVMM, the first error ends the whole run: later root complexes are not touched.
/// </summary>
public sealed class EnumerationResult
{
    internal EnumerationResult(IReadOnlyList<RootComplexAssignment> rootComplexes, IReadOnlyList<EnumerationAccess> accesses)
    {
        RootComplexes = rootComplexes;
        Accesses = accesses;
        foreach (var rc in rootComplexes)
        {
            if (rc.Error is not null)
            {
                Error = rc.Error;
                break;
            }
        }
    }

    public IReadOnlyList<RootComplexAssignment> RootComplexes { get; }

    /// <summary>Every configuration access the enumeration made, in order (all DWORD accesses through ECAM).</summary>
    public IReadOnlyList<EnumerationAccess> Accesses { get; }

    /// <summary>The error that stopped the enumeration, or null when every root complex was assigned.</summary>
    public EnumerationError? Error { get; }

    public bool Succeeded => Error is null;

    /// <summary>Every assigned function, depth first in the order the enumeration found them.</summary>
    public IEnumerable<FunctionAssignment> AllFunctions => RootComplexes.SelectMany(rc => rc.AllFunctions);

    /// <summary>The assignment of <paramref name="function"/>, or null when the enumeration did not reach it.</summary>
    public FunctionAssignment? Find(PcieFunction function) => AllFunctions.FirstOrDefault(f => ReferenceEquals(f.Target, function));
}

/// <summary>One root complex's part of an <see cref="EnumerationResult"/>.</summary>
public sealed class RootComplexAssignment
{
    internal RootComplexAssignment(RootComplex rootComplex, MmioAperture? lowMmio, MmioAperture? highMmio, bool enumerated, IReadOnlyList<FunctionAssignment> functions, EnumerationError? error)
    {
        RootComplex = rootComplex;
        LowMmio = lowMmio;
        HighMmio = highMmio;
        Enumerated = enumerated;
        Functions = functions;
        Error = error;
    }

    public RootComplex RootComplex { get; }

    public MmioAperture? LowMmio { get; }

    public MmioAperture? HighMmio { get; }

    /// <summary>False when an earlier root complex's error stopped the run before this one.</summary>
    public bool Enumerated { get; }

    /// <summary>The functions on the start bus, each with its subtree (empty when this root complex failed).</summary>
    public IReadOnlyList<FunctionAssignment> Functions { get; }

    public EnumerationError? Error { get; }

    /// <summary>Every function of this root complex, depth first.</summary>
    public IEnumerable<FunctionAssignment> AllFunctions => Functions.SelectMany(f => f.SelfAndDescendants);
}

/// <summary>
/// One function the enumeration found (PCIe Base Spec r6.0 §7.5.1): where it sits, its BARs as assigned, and for a
/// bridge its bus numbers and memory windows (a window is null when it was programmed disabled, base above limit).
/// </summary>
public sealed class FunctionAssignment
{
    internal FunctionAssignment(ushort segment, byte bus, byte device, byte function, PcieFunction? target, bool isBridge)
    {
        Segment = segment;
        Bus = bus;
        Device = device;
        Function = function;
        Target = target;
        IsBridge = isBridge;
    }

    public ushort Segment { get; }

    public byte Bus { get; }

    public byte Device { get; }

    /// <summary>Function number (above 7 only for an ARI Device's Extended Functions, whose Device is 0).</summary>
    public byte Function { get; }

    public byte Devfn => (byte)((Device << 3) | Function);

    /// <summary>The model's function at this address after the enumeration, or null if none answers there.</summary>
    public PcieFunction? Target { get; }

    /// <summary>Header type 1.</summary>
    public bool IsBridge { get; }

    /// <summary>For a bridge: the secondary and subordinate bus numbers written to 0x18.</summary>
    public BusRange? Buses { get; internal set; }

    /// <summary>Memory BARs as sized and assigned (I/O BARs are skipped, as OpenVMM does).</summary>
    public IReadOnlyList<BarAssignment> Bars { get; internal set; } = [];

    /// <summary>For an SR-IOV Physical Function: the VF BARs (each the base of TotalVFs consecutive VF BARs).</summary>
    public IReadOnlyList<BarAssignment> VfBars { get; internal set; } = [];

    /// <summary>For an SR-IOV Physical Function: TotalVFs.</summary>
    public ushort TotalVfs { get; internal set; }

    /// <summary>For a bridge: the non-prefetchable memory window (0x20), or null when programmed disabled.</summary>
    public AddressWindow? MemoryWindow { get; internal set; }

    /// <summary>For a bridge: the prefetchable memory window (0x24, 0x28, 0x2C), or null when programmed disabled.</summary>
    public AddressWindow? PrefetchableWindow { get; internal set; }

    /// <summary>For a downstream port: the enumeration found ARI Forwarding Enable set or set it (an ARI, SR-IOV device below).</summary>
    public bool AriForwardingEnabled { get; internal set; }

    public IReadOnlyList<FunctionAssignment> Children { get; internal set; } = [];

    /// <summary>This function then its subtree, depth first.</summary>
    public IEnumerable<FunctionAssignment> SelfAndDescendants => Children.SelectMany(c => c.SelfAndDescendants).Prepend(this);

    /// <summary><c>SSSS:BB:DD.F</c> (an ARI Extended Function prints its full function number in hex).</summary>
    public string Bdf => Function > 7
        ? string.Create(CultureInfo.InvariantCulture, $"{Segment:x4}:{Bus:x2}:00.{Function:x2}")
        : string.Create(CultureInfo.InvariantCulture, $"{Segment:x4}:{Bus:x2}:{Device:x2}.{Function}");
}

/// <summary>A memory BAR as assigned: index (0..5), base address, size (a power of two), decoding.</summary>
public readonly record struct BarAssignment(int Index, ulong Address, ulong Size, bool Is64Bit, bool Prefetchable)
{
    /// <summary>The last byte the BAR decodes.</summary>
    public ulong Limit => Address + Size - 1;
}

/// <summary>An inclusive address range, as a bridge window decodes it.</summary>
public readonly record struct AddressWindow(ulong Base, ulong Limit)
{
    public bool Contains(ulong address, ulong size) => address >= Base && size != 0 && address + size - 1 <= Limit && address + size - 1 >= address;

    public bool Contains(AddressWindow inner) => inner.Base >= Base && inner.Limit <= Limit;

    public bool Overlaps(AddressWindow other) => Base <= other.Limit && other.Base <= Limit;
}

/// <summary>Why the enumeration stopped (OpenVMM <c>AssignmentError</c>).</summary>
public enum EnumerationErrorKind
{
    /// <summary>A bridge (or an SR-IOV Physical Function's VFs) needed a bus number above the root complex's end bus.</summary>
    BusExhaustion,

    /// <summary>An SR-IOV Physical Function's VFs would land on buses already given to a sibling bridge.</summary>
    SriovBusConflict,

    /// <summary>The BARs and windows do not fit the aperture, or there is no aperture for them.</summary>
    MmioExhaustion,
}

/// <summary>An enumeration error with OpenVMM's wording, and the root complex it happened on.</summary>
public sealed record EnumerationError(EnumerationErrorKind Kind, string RootComplex, string Message)
{
    public override string ToString() => RootComplex + ": " + Message;
}

/// <summary>One configuration access the enumeration made: a DWORD read or write through ECAM.</summary>
public readonly record struct EnumerationAccess(RootComplex RootComplex, byte Bus, byte Devfn, ushort Register, bool IsWrite, uint Value);
