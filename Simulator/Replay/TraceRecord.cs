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
/// <para>
/// A value, not an object: a replay reads millions of rows, and rows travel between its threads in reused arrays
/// and are kept inside reused step outcomes, so reading a row allocates nothing. Pass it by <c>in</c> where it is hot.
/// </para>
/// <para>
/// Stored compactly, in one 64-byte cache line: the optional numbers as a value and a presence bit, the three
/// texts (port, device, note; most rows have none) in one shared object. Every row is written into a step outcome
/// that the snapshot's thread then reads on the other core, so each byte saved is a byte fewer to move between the
/// cores, and one reference instead of three is one write barrier instead of three.
/// </para>
/// </remarks>
public record struct TraceRecord
{
    // Mutable for the reader alone (SetPlainAccess), which writes a row into the outcome it will be replayed into
    // field by field: a whole record built elsewhere and copied in went through a temporary and a rep movsq. Every
    // public member reads only.
    private RowTexts? texts;
    private long seq;
    private ulong address;
    private ulong value;
    private ulong deviceValue;
    private int row;
    private int line;
    private int width;
    private ConfigurationAddress configuration;
    private TraceOp op;
    private TraceAddressKind addressKind;
    private Present present;

    /// <param name="Row">1-based index of the data row (header and <c>#</c> lines not counted).</param>
    /// <param name="Line">1-based line in the file (for error messages).</param>
    /// <param name="Width">The width column, any integer (validity is the model's: 3 or 8 are marked accesses); null when empty.</param>
    /// <param name="Device">The <c>device</c> column as written: an endpoint name for hot-add, hot-remove and raise; hex for msi.</param>
    /// <param name="DeviceValue">For msi rows: the parsed hex <c>device</c> (expected ITS DeviceID or requester ID).</param>
    public TraceRecord(
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
        string? Note)
        : this(Row, Line, Seq, Op, AddressKind, Address, Configuration, Width, Value, DeviceValue, RowTexts.Of(Port, Device, Note))
    {
    }

    /// <summary>A record whose texts are already gathered (the reader keeps the objects of recent rows).</summary>
    internal TraceRecord(int row, int line, long? seq, TraceOp op, TraceAddressKind addressKind, ulong address,
        ConfigurationAddress configuration, int? width, ulong? value, ulong? deviceValue, RowTexts? texts)
    {
        this.row = row;
        this.line = line;
        this.op = op;
        this.addressKind = addressKind;
        this.address = address;
        this.configuration = configuration;
        this.texts = texts;
        this.seq = seq.GetValueOrDefault();
        this.width = width.GetValueOrDefault();
        this.value = value.GetValueOrDefault();
        this.deviceValue = deviceValue.GetValueOrDefault();
        present = If(seq.HasValue, Present.Seq) | If(width.HasValue, Present.Width) | If(value.HasValue, Present.Value)
            | If(deviceValue.HasValue, Present.DeviceValue);
    }

    /// <summary>1-based index of the data row (header and <c>#</c> lines not counted).</summary>
    public int Row { readonly get => row; init => row = value; }

    /// <summary>1-based line in the file (for error messages).</summary>
    public int Line { readonly get => line; init => line = value; }

    /// <summary>The <c>seq</c> column; null when empty or absent.</summary>
    public long? Seq
    {
        readonly get => Get(Present.Seq, seq);
        init => Set(ref seq, Present.Seq, value);
    }

    public TraceOp Op { readonly get => op; init => op = value; }

    public TraceAddressKind AddressKind { readonly get => addressKind; init => addressKind = value; }

    /// <summary>The address column when <see cref="AddressKind"/> is <see cref="TraceAddressKind.Numeric"/>.</summary>
    public ulong Address { readonly get => address; init => address = value; }

    /// <summary>The address column when <see cref="AddressKind"/> is <see cref="TraceAddressKind.Configuration"/>.</summary>
    public ConfigurationAddress Configuration { readonly get => configuration; init => configuration = value; }

    /// <summary>The width column, any integer (validity is the model's: 3 or 8 are marked accesses); null when empty.</summary>
    public int? Width
    {
        readonly get => Get(Present.Width, width);
        init => Set(ref width, Present.Width, value);
    }

    /// <summary>The value column: data written, value read (recorded), vector raised, message data; null when empty.</summary>
    public ulong? Value
    {
        readonly get => Get(Present.Value, this.value);
        init => Set(ref this.value, Present.Value, value);
    }

    /// <summary>The <c>port</c> column; null when empty.</summary>
    public string? Port
    {
        readonly get => texts?.Port;
        init => texts = RowTexts.Of(value, Device, Note);
    }

    /// <summary>The <c>device</c> column as written: an endpoint name for hot-add, hot-remove and raise; hex for msi.</summary>
    public string? Device
    {
        readonly get => texts?.Device;
        init => texts = RowTexts.Of(Port, value, Note);
    }

    /// <summary>For msi rows: the parsed hex <c>device</c> (expected ITS DeviceID or requester ID).</summary>
    public ulong? DeviceValue
    {
        readonly get => Get(Present.DeviceValue, deviceValue);
        init => Set(ref deviceValue, Present.DeviceValue, value);
    }

    /// <summary>The <c>note</c> column; null when empty.</summary>
    public string? Note
    {
        readonly get => texts?.Note;
        init => texts = RowTexts.Of(Port, Device, value);
    }

    /// <summary>
    /// Makes this record a plain access row as the reader's one-pass path reads it (numeric address, no port or note),
    /// writing every field in place.
    /// </summary>
    internal void SetPlainAccess(int row, int line, long seq, TraceOp op, ulong address, int width, ulong? value, ulong? deviceValue, RowTexts? texts)
    {
        this.row = row;
        this.line = line;
        this.seq = seq;
        this.op = op;
        addressKind = TraceAddressKind.Numeric;
        this.address = address;
        configuration = default;
        this.width = width;
        this.value = value.GetValueOrDefault();
        this.deviceValue = deviceValue.GetValueOrDefault();
        present = Present.Seq | Present.Width | If(value.HasValue, Present.Value) | If(deviceValue.HasValue, Present.DeviceValue);
        if (texts is null)
        {
            // A constant null needs no write barrier; most rows have no texts.
            this.texts = null;
        }
        else
        {
            this.texts = texts;
        }
    }

    private static Present If(bool has, Present flag) => has ? flag : 0;

    /// <summary>An optional number: its stored value when the row has it.</summary>
    private readonly T? Get<T>(Present flag, T stored)
        where T : struct => (present & flag) != 0 ? stored : null;

    /// <summary>Stores an optional number and whether the row has it.</summary>
    private void Set<T>(ref T stored, Present flag, T? value)
        where T : struct
    {
        stored = value.GetValueOrDefault();
        present = value.HasValue ? present | flag : present & ~flag;
    }

    /// <summary>Which optional numbers the row has.</summary>
    [Flags]
    private enum Present : byte
    {
        Seq = 1,
        Width = 2,
        Value = 4,
        DeviceValue = 8,
    }
}

/// <summary>A row's <c>port</c>, <c>device</c> and <c>note</c> texts, when it has any (compared by value).</summary>
internal sealed record RowTexts(string? Port, string? Device, string? Note)
{
    /// <summary>The texts, or null when the row has none.</summary>
    public static RowTexts? Of(string? port, string? device, string? note) =>
        port is null && device is null && note is null ? null : new RowTexts(port, device, note);
}

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
