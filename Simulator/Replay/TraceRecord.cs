using PcieSim.Topology.Language;

namespace PcieSim.Replay;

/// <summary>The operation of one trace row.</summary>
public enum TraceOp : byte
{
    Read,
    Write,
    HotAdd,
    HotRemove,
    Reset,
    Msi,
    MmioRead,
    MmioWrite,
    Raise,
}

/// <summary>How a row's <c>address</c> column was written.</summary>
public enum TraceAddressKind : byte
{
    /// <summary>No address column value.</summary>
    None,

    /// <summary><c>0x</c> followed by 1–16 hex digits: an ECAM address (read/write), a guest-physical address (mmio, msi).</summary>
    Numeric,

    /// <summary><c>[SSSS:]BB:DD.F@0xR</c>: a configuration address as lspci prints a BDF, plus a register.</summary>
    Configuration,
}

/// <summary>A configuration address <c>[SSSS:]BB:DD.F@0xR</c>.</summary>
public readonly record struct ConfigurationAddress(ushort Segment, byte Bus, byte Devfn, ushort Register);

/// <summary>1-based CSV column (field) numbers of each named column, 0 when the trace has no such column; for error messages.</summary>
public readonly record struct TraceColumns(int Seq, int Op, int Address, int Width, int Value, int Port, int Device, int Note);

/// <summary>
/// One data row of a trace, syntactically validated: numbers parsed as hex, op known, value fits its width.
/// Checks that need the model (ECAM window, segment, port and endpoint names) are the replay's.
/// </summary>
/// <remarks>
/// A value, not an object: a replay reads millions of rows, and rows travel between its threads in reused arrays
/// and are kept inside reused step outcomes, so reading a row allocates nothing. Pass it by <c>in</c> where it is hot.
/// </remarks>
/// <param name="Row">1-based index of the data row (header and <c>#</c> lines not counted).</param>
/// <param name="Line">1-based line in the file (for error messages).</param>
/// <param name="Width">The width column, any integer (validity is the model's: 3 or 8 are marked accesses); null when empty.</param>
/// <param name="Device">The <c>device</c> column as written: an endpoint name for hot-add, hot-remove and raise; hex for msi.</param>
/// <param name="DeviceValue">For msi rows: the parsed hex <c>device</c> (expected ITS DeviceID or requester ID).</param>
public readonly record struct TraceRecord(
    int Row,
    int Line,
    long? Seq,
    TraceOp Op,
    TraceAddressKind AddressKind,
    ulong Address,
    ConfigurationAddress Configuration,
    int? Width,
    ulong? Value,
    string? Port,
    string? Device,
    ulong? DeviceValue,
    string? Note);

/// <summary>What precedes the data rows: the topology lines, comments, and the header's columns.</summary>
/// <param name="TopologyLines">Each <c># topology:</c> line's text after the colon, in file order, with its line and column.</param>
/// <param name="ColumnNames">Header column names in file order.</param>
public sealed record TraceHeader(string Source, IReadOnlyList<TopologySourceLine> TopologyLines, IReadOnlyList<string> Comments, IReadOnlyList<string> ColumnNames, TraceColumns Columns)
{
    /// <summary>A <c># replay: --vmm-enumerate</c> line asks to start from OpenVMM's pre-boot enumeration.</summary>
    public bool VmmEnumerate => VmmEnumerateLine > 0;

    /// <summary>The line of the first <c># replay:</c> line naming <c>--vmm-enumerate</c>, or 0.</summary>
    public int VmmEnumerateLine { get; init; }
}
