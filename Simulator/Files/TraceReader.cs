using System.Globalization;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Text;
using CsvHelper;
using PcieSim.Replay;

namespace PcieSim.Files;

/// <summary>
/// Reads a trace CSV row by row (memory does not grow with the trace). Each record is one physical line: a line
/// without a quote character is split at its commas in place (RFC 4180 gives such a line no other reading); a line
/// with quotes goes to CsvHelper, which handles quoting and reports malformed CSV. <see cref="TraceFormat"/> parses
/// hex and configuration addresses from the fields as spans; each row is checked against what its op requires.
/// Every problem with the input is an <see cref="InputException"/> naming the line and the CSV field (column) number.
/// </summary>
/// <remarks>
/// Each record is one physical line: a quoted field may not contain a line break. A row may have fewer fields
/// than the header (the rest are empty) but not more. A field that the row's op does not take must be empty.
/// </remarks>
public sealed class TraceReader : IDisposable
{
    private const int MaxShownValue = 40;

    private static readonly CsvReaderOptions CsvOptions = new()
    {
        Separator = ',',
        Quote = '"',
        Mode = CsvMode.Rfc4180,
        HasHeader = false,
        CommentPrefix = '#',
        SkipEmptyLines = true,
        AllowLineBreaksInQuotes = false,
        MalformedData = CsvMalformedDataHandling.Throw,
        FieldCountMismatch = CsvFieldCountHandling.Allow,
        MissingField = CsvMissingFieldHandling.ReturnEmpty,
        TrackLineNumbers = true,
        DetectSeparatorHint = false,
        TrimWhitespace = false,
        PoolStrings = false,
        MaxRecordSize = 2 * TraceFormat.MaxRecordBytes,
        IncludeValuesInExceptions = true,
        FormatProvider = CultureInfo.InvariantCulture,
    };

    private readonly TraceLineFilter filter;
    private readonly string source;
    private readonly int[] columnIndex = new int[8];
    private readonly int fieldLimit;

    /// <summary>Reads plain rows from the characters in bulk, or null (declined rows take the one-pass path).</summary>
    private readonly PlainRowScanner? scanner;

    /// <summary>The header is <c>seq,op,address,width,value,port,device</c>, perhaps then <c>note</c>: the columns <see cref="TryParsePlainAccess"/> reads.</summary>
    private readonly bool plainAccessColumns;
    private int[] fieldStart = new int[8];
    private int[] fieldLength = new int[8];
    private int fieldCount;
    private char[] unquoted = new char[256];

    /// <summary>
    /// Port, device and note texts read before: a trace names the same few ports and endpoints over and over, so a
    /// row naming one again allocates nothing. Pairs of entries chosen by a hash of the text, each pair keeping its
    /// two texts used last.
    /// </summary>
    private readonly string?[] texts = new string?[256];

    /// <summary>
    /// The texts objects of recent rows, by the identity of their (shared) strings: a trace's hot-plug, raise and msi
    /// rows repeat a few hundred combinations, so a row naming one again allocates nothing. Pairs of entries, as for
    /// <see cref="texts"/>.
    /// </summary>
    private readonly RowTexts?[] rowTexts = new RowTexts?[512];
    private int row;
    private bool disposed;

    /// <summary>Reads the header now. The reader takes ownership of <paramref name="reader"/>.</summary>
    /// <param name="source">The file name for messages (no directory).</param>
    /// <exception cref="InputException">The text before the first data row is not a valid trace header.</exception>
    public TraceReader(TextReader reader, string source)
        : this(reader, source, PlainRowPaths.Scanner)
    {
    }

    /// <param name="plainRows">Which paths read plain rows (tests compare them with the general path).</param>
    internal TraceReader(TextReader reader, string source, PlainRowPaths plainRows)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(source);
        this.source = source;
        filter = new TraceLineFilter(reader, source);
        try
        {
            Header = ReadHeader();
            fieldLimit = Header.ColumnNames.Count;
            scanner = plainRows is PlainRowPaths.Scanner or PlainRowPaths.Scanner128 && PlainRowScanner.IsSupported
                ? new PlainRowScanner(wideVectors: plainRows == PlainRowPaths.Scanner)
                : null;
            plainAccessColumns = plainRows != PlainRowPaths.None && columnIndex[Seq] == 0 && columnIndex[Op] == 1 && columnIndex[Address] == 2 && columnIndex[Width] == 3
                && columnIndex[Value] == 4 && columnIndex[Port] == 5 && columnIndex[Device] == 6 && fieldLimit is 7 or 8;
        }
        catch
        {
            filter.Dispose();
            throw;
        }
    }

    public TraceHeader Header { get; }

    /// <summary>Rows read by the one-pass path for plain accesses and msi rows (<see cref="TryParsePlainAccess"/>) or by the scanner.</summary>
    internal long PlainAccessRows { get; private set; }

    /// <summary>Of <see cref="PlainAccessRows"/>, those the scanner read.</summary>
    internal long ScannedRows { get; private set; }

    /// <summary>Opens a trace file, shared for reading. The source of messages is the file name.</summary>
    /// <exception cref="InputException">The file does not exist, or its header is invalid.</exception>
    public static TraceReader Open(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string name = Path.GetFileName(path) is { Length: > 0 } file ? file : path;
        if (Directory.Exists(path))
        {
            throw new InputException(name, 0, 0, $"found a folder, expected a trace file: {path}");
        }

        FileStream stream;
        try
        {
            // No FileStream buffer: the StreamReader reads 64 KiB at a time straight from the file.
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0, FileOptions.SequentialScan);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new InputException(name, 0, 0, $"trace file not found: {path}");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InputException(name, 0, 0, $"cannot read the trace file {path}: {e.Message}");
        }

        return Open(stream, name);
    }

    /// <summary>
    /// Reads a trace from UTF-8 bytes (a byte-order mark is skipped; invalid UTF-8 is an
    /// <see cref="InputException"/>). The reader takes ownership of <paramref name="stream"/>.
    /// </summary>
    public static TraceReader Open(Stream stream, string source)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var text = new StreamReader(stream, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false), detectEncodingFromByteOrderMarks: false, bufferSize: 1 << 16, leaveOpen: false);
        return new TraceReader(text, source);
    }

    /// <summary>Reads the next data row.</summary>
    /// <returns>False at the end of the trace.</returns>
    /// <exception cref="InputException">The row, or the CSV around it, is invalid.</exception>
    public bool TryRead(out TraceRecord record)
    {
        ObjectDisposedException.ThrowIf(disposed, this);

        // The record is usually a reused step outcome's (on the heap): it is written once, by whichever path reads the
        // row, rather than cleared first.
        Unsafe.SkipInit(out record);
        if (plainAccessColumns && scanner is not null && filter.TryPeekWindow(out var window) && scanner.TryScan(window, fieldLimit, out var plain))
        {
            filter.Consume(plain.Consumed);
            row++;
            RowTexts? texts = null;
            ulong? deviceValue = null;
            if (plain.DeviceStart != 0)
            {
                texts = Texts(null, Text(window.Slice(plain.DeviceStart, plain.DeviceLength)), null);
                deviceValue = plain.DeviceValue;
            }

            record.SetPlainAccess(row, filter.LinesRead, plain.Seq, plain.Op, plain.Address, plain.Width, plain.HasValue ? plain.Value : null, deviceValue, texts);
            PlainAccessRows++;
            ScannedRows++;
            return true;
        }

        while (filter.NextLine(out var text, out bool terminated))
        {
            // Comment and empty lines are not records.
            if (text.IsEmpty || text[0] == '#')
            {
                continue;
            }

            row++;
            if (plainAccessColumns && TryParsePlainAccess(text, filter.LinesRead, ref record))
            {
                PlainAccessRows++;
                return true;
            }

            text = Split(text, terminated);
            record = ParseRow(text, filter.LinesRead);
            return true;
        }

        if (filter.PendingError is { } pending)
        {
            throw pending;
        }

        record = default;
        return false;
    }

    public void Dispose()
    {
        if (!disposed)
        {
            disposed = true;
            filter.Dispose();
        }
    }

    /// <summary>
    /// Splits a line into fields (their starts and lengths in the returned text): at the commas when it has no quote,
    /// else through CsvHelper (the fields, unquoted, copied into a buffer of their own).
    /// </summary>
    private ReadOnlySpan<char> Split(ReadOnlySpan<char> text, bool terminated)
    {
        if (text.IndexOf('"') < 0)
        {
            SplitAtCommas(text);
            return text;
        }

        var fields = SplitQuoted(text, terminated);
        fieldCount = fields.Count;
        EnsureFields(fieldCount);
        int total = 0;
        foreach (string field in fields)
        {
            total += field.Length;
        }

        if (unquoted.Length < total)
        {
            unquoted = new char[Math.Max(total, unquoted.Length * 2)];
        }

        int at = 0;
        for (int i = 0; i < fields.Count; i++)
        {
            fields[i].CopyTo(unquoted.AsSpan(at));
            fieldStart[i] = at;
            fieldLength[i] = fields[i].Length;
            at += fields[i].Length;
        }

        return unquoted.AsSpan(0, at);
    }

    /// <summary>
    /// Field starts and lengths of a line without quotes: the commas of sixteen characters at a time as a bit mask
    /// (one compare, then one step per comma rather than a branch per character), the tail one by one.
    /// </summary>
    private void SplitAtCommas(ReadOnlySpan<char> text)
    {
        int count = 0;
        int start = 0;
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            ref ushort chars = ref Unsafe.As<char, ushort>(ref MemoryMarshal.GetReference(text));
            var comma = Vector256.Create((ushort)',');
            for (; i + Vector256<ushort>.Count <= text.Length; i += Vector256<ushort>.Count)
            {
                uint commas = Vector256.Equals(Vector256.LoadUnsafe(ref chars, (nuint)i), comma).ExtractMostSignificantBits();
                while (commas != 0)
                {
                    int at = i + BitOperations.TrailingZeroCount(commas);
                    AddField(ref count, start, at);
                    start = at + 1;
                    commas &= commas - 1;
                }
            }
        }

        for (; i < text.Length; i++)
        {
            if (text[i] == ',')
            {
                AddField(ref count, start, i);
                start = i + 1;
            }
        }

        AddField(ref count, start, text.Length);
        fieldCount = count;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void AddField(ref int count, int start, int end)
    {
        if (count == fieldStart.Length)
        {
            EnsureFields(count + 1);
        }

        fieldStart[count] = start;
        fieldLength[count] = end - start;
        count++;
    }

    /// <summary>The fields of one line with quotes, as CsvHelper reads them (RFC 4180; malformed CSV is an error here).</summary>
    private List<string> SplitQuoted(ReadOnlySpan<char> text, bool terminated)
    {
        // The line alone, with its line break if it had one: an unclosed quote then reads as a line break inside a
        // quoted field, and at the end of the trace as a field never closed, as when CsvHelper read the whole text.
        string lineText = terminated ? string.Concat(text, "\n") : text.ToString();
        using var csv = CsvReader.Create(new StringReader(lineText), CsvOptions, leaveOpen: false);
        try
        {
            var fields = new List<string>();
            if (csv.Read())
            {
                for (int i = 0; i < csv.FieldCount; i++)
                {
                    fields.Add(csv.IsEmpty(i) ? string.Empty : csv.GetString(i) ?? string.Empty);
                }
            }

            return fields;
        }
        catch (CsvFormatException e)
        {
            throw FromCsv(e);
        }
    }

    private void EnsureFields(int count)
    {
        if (fieldStart.Length < count)
        {
            int size = Math.Max(count, fieldStart.Length * 2);
            Array.Resize(ref fieldStart, size);
            Array.Resize(ref fieldLength, size);
        }
    }

    private TraceHeader ReadHeader()
    {
        var names = new List<string>();
        while (filter.NextLine(out var text, out bool terminated))
        {
            if (text.IsEmpty || text[0] == '#')
            {
                continue;
            }

            text = Split(text, terminated);
            for (int i = 0; i < fieldCount; i++)
            {
                names.Add(text.Slice(fieldStart[i], fieldLength[i]).ToString());
            }

            break;
        }

        if (names.Count == 0 || filter.HeaderLine == 0)
        {
            if (filter.PendingError is { } pending)
            {
                throw pending;
            }

            string expected = "expected a header row naming the columns (" + string.Join(",", TraceFormat.ColumnNames) + ")";
            throw filter.LinesRead == 0
                ? new InputException(source, 1, 1, "found an empty trace, " + expected)
                : new InputException(source, filter.LinesRead, 1, "found only comments and empty lines, " + expected);
        }

        int line = filter.HeaderLine;
        Array.Fill(columnIndex, -1);
        for (int i = 0; i < names.Count; i++)
        {
            int known = IndexOfColumn(names[i]);
            if (known < 0)
            {
                throw new InputException(source, line, i + 1, Invariant(
                    $"column {i + 1} of the header: found {Quote(names[i])}, expected one of {string.Join(", ", TraceFormat.ColumnNames)}"));
            }

            if (columnIndex[known] >= 0)
            {
                throw new InputException(source, line, i + 1, Invariant(
                    $"column {i + 1} of the header: found a second {Quote(names[i])} column (the first is column {columnIndex[known] + 1}), expected each column once"));
            }

            columnIndex[known] = i;
        }

        if (columnIndex[Op] < 0)
        {
            throw new InputException(source, line, 1, Invariant(
                $"header row: found no 'op' column, expected a header with an 'op' column (found {Shorten(string.Join(",", names)).Replace("\t", "\\t", StringComparison.Ordinal)})"));
        }

        var columns = new TraceColumns(
            columnIndex[Seq] + 1, columnIndex[Op] + 1, columnIndex[Address] + 1, columnIndex[Width] + 1,
            columnIndex[Value] + 1, columnIndex[Port] + 1, columnIndex[Device] + 1, columnIndex[Note] + 1);
        return new TraceHeader(source, [.. filter.TopologyLines], [.. filter.Comments], names, columns) { VmmEnumerateLine = ReplayOptions() };
    }

    /// <summary>
    /// Checks the <c># replay:</c> lines: whitespace-separated options, each <c>--vmm-enumerate</c>. Returns the line
    /// of the first one naming it, or 0.
    /// </summary>
    private int ReplayOptions()
    {
        int vmmEnumerateLine = 0;
        foreach (var line in filter.ReplayLines)
        {
            string text = line.Text;
            int i = 0;
            bool any = false;
            while (i < text.Length)
            {
                if (char.IsWhiteSpace(text[i]))
                {
                    i++;
                    continue;
                }

                int start = i;
                while (i < text.Length && !char.IsWhiteSpace(text[i]))
                {
                    i++;
                }

                string option = text[start..i];
                if (!string.Equals(option, TraceFormat.VmmEnumerateOption, StringComparison.Ordinal))
                {
                    throw new InputException(source, line.Line, line.ColumnOffset + start + 1, Invariant(
                        $"found '{Shorten(option)}' in a '{TraceFormat.ReplayPrefix}' line, expected {TraceFormat.VmmEnumerateOption} (the only replay option a trace carries)"));
                }

                any = true;
                if (vmmEnumerateLine == 0)
                {
                    vmmEnumerateLine = line.Line;
                }
            }

            if (!any)
            {
                throw new InputException(source, line.Line, line.ColumnOffset + 1, Invariant(
                    $"found an empty '{TraceFormat.ReplayPrefix}' line, expected {TraceFormat.VmmEnumerateOption}"));
            }
        }

        return vmmEnumerateLine;
    }

    // Indexes into columnIndex, in TraceFormat.ColumnNames order.
    private const int Seq = 0;
    private const int Op = 1;
    private const int Address = 2;
    private const int Width = 3;
    private const int Value = 4;
    private const int Port = 5;
    private const int Device = 6;
    private const int Note = 7;

    private static int IndexOfColumn(string name)
    {
        for (int i = 0; i < TraceFormat.ColumnNames.Count; i++)
        {
            if (string.Equals(TraceFormat.ColumnNames[i], name, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }

    private TraceRecord ParseRow(ReadOnlySpan<char> text, int line)
    {
        if (fieldCount > fieldLimit)
        {
            throw new InputException(source, line, fieldLimit + 1, Invariant(
                $"row {row}: found {fieldCount} fields, expected at most {fieldLimit} (one per header column)"));
        }

        var opText = Field(text, Op);
        if (opText.IsEmpty)
        {
            throw Error(line, Op, "nothing", "an op (" + TraceFormat.OpList + ")");
        }

        if (!TraceFormat.TryParseOp(opText, out TraceOp op))
        {
            throw Error(line, Op, Quote(opText), "an op (" + TraceFormat.OpList + ", exact lower case)");
        }

        long? seq = null;
        var seqText = Field(text, Seq);
        if (!seqText.IsEmpty)
        {
            seq = TryParseDecimal(seqText, out long s)
                ? s
                : throw Error(line, Seq, Quote(seqText), "a decimal integer");
        }

        var rules = Rules(op);
        string opName = TraceFormat.FormatOp(op);

        // address
        TraceAddressKind kind = TraceAddressKind.None;
        ulong address = 0;
        ConfigurationAddress configuration = default;
        if (Present(text, line, op, Address, rules.Address, out var addressText))
        {
            if (TraceFormat.TryParseHex(addressText, out address))
            {
                kind = TraceAddressKind.Numeric;
            }
            else if (rules.Address == Need.ConfigOrHex && (addressText.Contains('@') || addressText.Contains(':')))
            {
                string? problem = TraceFormat.DescribeConfigurationAddressError(addressText, out configuration);
                if (problem is not null)
                {
                    throw Error(line, Address, Quote(addressText), problem);
                }

                kind = TraceAddressKind.Configuration;
            }
            else
            {
                throw Error(line, Address, Quote(addressText), rules.Address == Need.ConfigOrHex
                    ? $"a hex number (0x followed by 1-16 hex digits) or a configuration address {TraceFormat.ConfigurationAddressShape}"
                    : $"a hex number (0x followed by 1-16 hex digits) for op '{opName}'");
            }
        }

        // width
        int? width = null;
        if (Present(text, line, op, Width, rules.Width, out var widthText))
        {
            if (!TryParseDecimal(widthText, out long wide) || wide is < int.MinValue or > int.MaxValue)
            {
                throw Error(line, Width, Quote(widthText), "a decimal integer");
            }

            int w = (int)wide;

            if (op is TraceOp.MmioRead or TraceOp.MmioWrite && w is not (4 or 8))
            {
                throw Error(line, Width, Quote(widthText), $"4 or 8 for op '{opName}'");
            }

            if (op == TraceOp.Msi && w is not (2 or 4))
            {
                throw Error(line, Width, Quote(widthText), $"2 or 4 for op '{opName}'");
            }

            width = w;
        }

        // value
        ulong? value = null;
        if (Present(text, line, op, Value, rules.Value, out var valueText))
        {
            if (!TraceFormat.TryParseHex(valueText, out ulong v))
            {
                throw Error(line, Value, Quote(valueText), "a hex number (0x followed by 1-16 hex digits)");
            }

            if (width is { } bytesWide && bytesWide < 8)
            {
                ulong max = WidthMax(bytesWide);
                if (v > max)
                {
                    throw Error(line, Value, Quote(valueText), Invariant(
                        $"a value that fits in the width of {bytesWide} bytes (at most {TraceFormat.FormatHex(max)})"));
                }
            }

            value = v;
        }

        string? port = null;
        if (Present(text, line, op, Port, rules.Port, out var portText))
        {
            CheckName(line, Port, portText);
            port = Text(portText);
        }

        string? device = null;
        ulong? deviceValue = null;
        if (Present(text, line, op, Device, rules.Device, out var deviceText))
        {
            device = Text(deviceText);
            if (op == TraceOp.Msi)
            {
                deviceValue = TraceFormat.TryParseHex(deviceText, out ulong d)
                    ? d
                    : throw Error(line, Device, Quote(deviceText), "a hex number (0x followed by 1-16 hex digits) for op 'msi'");
            }
            else
            {
                CheckName(line, Device, deviceText);
            }
        }

        var noteText = Field(text, Note);
        string? note = noteText.IsEmpty ? null : Text(noteText);
        return new TraceRecord(row, line, seq, op, kind, address, configuration, width, value, deviceValue, Texts(port, device, note));
    }

    /// <summary>
    /// The rows most rows of a trace are, read in one pass: <c>SEQ,OP,0xADDRESS,WIDTH,[0xVALUE]</c> for a configuration
    /// read or write (width 1, 2 or 4) or an mmio read or write (4 or 8), and <c>SEQ,msi,0xADDRESS,WIDTH,0xVALUE,,[0xDEVICE]</c>
    /// (width 2 or 4), then only empty fields, under the columns <see cref="plainAccessColumns"/> names. It yields the
    /// record <see cref="ParseRow"/> would (a differential test holds the two together), or false for anything else,
    /// which then takes the general path with its checks and messages: another op, a configuration address, a name, a
    /// note, a width the op does not take, a value too wide for its width, a decimal or hex number longer than this
    /// pass reads, more fields than the header has.
    /// </summary>
    private bool TryParsePlainAccess(ReadOnlySpan<char> text, int line, ref TraceRecord record)
    {
        int i = 0;
        long seq = 0;
        for (; i < text.Length && i < 18; i++)
        {
            uint digit = (uint)(text[i] - '0');
            if (digit > 9)
            {
                break;
            }

            seq = (seq * 10) + digit;
        }

        if (i == 0 || i >= text.Length || text[i] != ',')
        {
            return false;
        }

        var rest = text[(i + 1)..];
        if (!TryTakePlainOp(ref rest, out TraceOp op))
        {
            return false;
        }

        if (!TryTakeHex(ref rest, out ulong address) || rest.Length < 3 || rest[0] != ',' || rest[2] != ',')
        {
            return false;
        }

        int width = rest[1] - '0';
        if (!PlainWidth(op, width))
        {
            return false;
        }

        rest = rest[3..];
        ulong? value = null;
        if (!rest.IsEmpty && rest[0] != ',')
        {
            if (!TryTakeHex(ref rest, out ulong v) || !FitsWidth(v, width))
            {
                return false;
            }

            value = v;
        }
        else if (op is not (TraceOp.Read or TraceOp.MmioRead))
        {
            return false;
        }

        // An msi row's device column: the DeviceID or requester ID it expects, after an empty port column.
        int fields = 5;
        string? device = null;
        ulong? deviceValue = null;
        if (op == TraceOp.Msi && rest.Length > 2 && rest[0] == ',' && rest[1] == ',' && rest[2] != ',')
        {
            var afterDevice = rest[2..];
            if (!TryTakeHex(ref afterDevice, out ulong d))
            {
                return false;
            }

            device = Text(rest[2..^afterDevice.Length]);
            deviceValue = d;
            rest = afterDevice;
            fields = 7;
        }

        // Only empty fields after that, and no more than the header has.
        foreach (char c in rest)
        {
            if (c != ',')
            {
                return false;
            }

            fields++;
        }

        if (fields > fieldLimit)
        {
            return false;
        }

        record.SetPlainAccess(row, line, seq, op, address, width, value, deviceValue, device is null ? null : Texts(null, device, null));
        return true;
    }

    /// <summary>Whether a plain row of <paramref name="op"/> may have <paramref name="width"/> (any other width takes the general path).</summary>
    internal static bool PlainWidth(TraceOp op, int width) => op switch
    {
        TraceOp.Read or TraceOp.Write => width is 1 or 2 or 4,
        TraceOp.MmioRead or TraceOp.MmioWrite => width is 4 or 8,
        _ => width is 2 or 4,
    };

    /// <summary>Whether <paramref name="value"/> fits in <paramref name="width"/> bytes.</summary>
    internal static bool FitsWidth(ulong value, int width) => value <= WidthMax(width);

    /// <summary>The largest value <paramref name="width"/> bytes hold (0 for no bytes, all ones from 8 on).</summary>
    private static ulong WidthMax(int width) => width switch
    {
        <= 0 => 0,
        >= 8 => ulong.MaxValue,
        _ => (1UL << (8 * width)) - 1,
    };

    /// <summary>The op of a row <see cref="TryParsePlainAccess"/> reads, and its comma, at the start of <paramref name="text"/>.</summary>
    private static bool TryTakePlainOp(ref ReadOnlySpan<char> text, out TraceOp op)
    {
        (op, int length) = text switch
        {
            _ when text.StartsWith("read,") => (TraceOp.Read, 5),
            _ when text.StartsWith("write,") => (TraceOp.Write, 6),
            _ when text.StartsWith("mmio-write,") => (TraceOp.MmioWrite, 11),
            _ when text.StartsWith("msi,") => (TraceOp.Msi, 4),
            _ when text.StartsWith("mmio-read,") => (TraceOp.MmioRead, 10),
            _ => (default, 0),
        };
        text = text[length..];
        return length > 0;
    }

    /// <summary><c>0x</c> and 1-16 hex digits at the start of <paramref name="text"/>, which then starts after them.</summary>
    private static bool TryTakeHex(ref ReadOnlySpan<char> text, out ulong value)
    {
        value = 0;
        if (text.Length < 3 || text[0] != '0' || (text[1] | 0x20) != 'x')
        {
            return false;
        }

        int i = 2;
        for (; i < text.Length; i++)
        {
            uint digit = TraceFormat.HexDigit(text[i]);
            if (digit > 15)
            {
                break;
            }

            value = (value << 4) | digit;
        }

        int digits = i - 2;
        text = text[i..];
        return digits is > 0 and <= 16;
    }

    /// <summary>A row's texts (strings from <see cref="Text"/>), as the object made for a recent row naming the same ones if there was one.</summary>
    private RowTexts? Texts(string? port, string? device, string? note)
    {
        if (port is null && device is null && note is null)
        {
            return null;
        }

        int first = ((((Identity(port) * 31) + Identity(device)) * 31) + Identity(note)) & (rowTexts.Length - 2);
        if (Holds(rowTexts[first]))
        {
            return rowTexts[first];
        }

        if (Holds(rowTexts[first + 1]))
        {
            (rowTexts[first], rowTexts[first + 1]) = (rowTexts[first + 1], rowTexts[first]);
            return rowTexts[first];
        }

        rowTexts[first + 1] = rowTexts[first];
        return rowTexts[first] = new RowTexts(port, device, note);

        bool Holds(RowTexts? recent) => recent is not null && ReferenceEquals(recent.Port, port) && ReferenceEquals(recent.Device, device) && ReferenceEquals(recent.Note, note);

        static int Identity(string? text) => text is null ? 0 : RuntimeHelpers.GetHashCode(text);
    }

    /// <summary><paramref name="text"/> as a string: the one made when it was last read, if still known.</summary>
    private string Text(ReadOnlySpan<char> text)
    {
        // FNV-1a over the characters picks a pair of entries; the pair keeps the two texts used last.
        uint hash = 2166136261;
        foreach (char c in text)
        {
            hash = (hash ^ c) * 16777619;
        }

        int first = (int)(hash % (uint)texts.Length) & ~1;
        if (texts[first] is { } recent && text.SequenceEqual(recent))
        {
            return recent;
        }

        if (texts[first + 1] is { } older && text.SequenceEqual(older))
        {
            (texts[first], texts[first + 1]) = (older, texts[first]);
            return older;
        }

        texts[first + 1] = texts[first];
        return texts[first] = text.ToString();
    }

    /// <summary>
    /// A decimal integer as <c>long.TryParse</c> with <see cref="NumberStyles.AllowLeadingSign"/> reads it (invariant):
    /// plain digits (the usual case) are read here; anything else (a sign, 19 digits or more) goes to the runtime.
    /// </summary>
    private static bool TryParseDecimal(ReadOnlySpan<char> text, out long value)
    {
        if (text.Length is > 0 and <= 18)
        {
            long result = 0;
            int i = 0;
            for (; i < text.Length; i++)
            {
                uint digit = (uint)(text[i] - '0');
                if (digit > 9)
                {
                    break;
                }

                result = (result * 10) + digit;
            }

            if (i == text.Length)
            {
                value = result;
                return true;
            }
        }

        return long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);
    }

    private enum Need : byte
    {
        /// <summary>Must be empty.</summary>
        Never,
        Optional,
        Required,

        /// <summary>Required: a hex number or a configuration address.</summary>
        ConfigOrHex,
    }

    private readonly record struct OpRules(Need Address, Need Width, Need Value, Need Port, Need Device);

    private static OpRules Rules(TraceOp op) => op switch
    {
        TraceOp.Read => new(Need.ConfigOrHex, Need.Required, Need.Optional, Need.Never, Need.Never),
        TraceOp.Write => new(Need.ConfigOrHex, Need.Required, Need.Required, Need.Never, Need.Never),
        TraceOp.HotAdd => new(Need.Never, Need.Never, Need.Never, Need.Required, Need.Required),
        TraceOp.HotRemove => new(Need.Never, Need.Never, Need.Never, Need.Required, Need.Optional),
        TraceOp.Reset => new(Need.Never, Need.Never, Need.Never, Need.Never, Need.Never),
        TraceOp.Msi => new(Need.Required, Need.Optional, Need.Required, Need.Never, Need.Optional),
        TraceOp.MmioRead => new(Need.Required, Need.Required, Need.Optional, Need.Never, Need.Never),
        TraceOp.MmioWrite => new(Need.Required, Need.Required, Need.Required, Need.Never, Need.Never),
        TraceOp.Raise => new(Need.Never, Need.Never, Need.Required, Need.Never, Need.Required),
        _ => throw new ArgumentOutOfRangeException(nameof(op)),
    };

    /// <summary>The field of a column, checked against the op's need: false when absent (and allowed to be).</summary>
    private bool Present(ReadOnlySpan<char> text, int line, TraceOp op, int column, Need need, out ReadOnlySpan<char> field)
    {
        field = Field(text, column);
        if (need == Need.Never)
        {
            return field.IsEmpty
                ? false
                : throw Error(line, column, Quote(field), $"an empty field: op '{TraceFormat.FormatOp(op)}' takes no '{TraceFormat.ColumnNames[column]}'");
        }

        if (field.IsEmpty && need != Need.Optional)
        {
            string name = TraceFormat.ColumnNames[column];
            string opName = TraceFormat.FormatOp(op);
            if (columnIndex[column] < 0)
            {
                throw new InputException(source, line, columnIndex[Op] + 1, Invariant(
                    $"row {row}: found op '{opName}', which requires column '{name}', but the header has no '{name}' column"));
            }

            throw Error(line, column, "nothing", $"{Describe(column)} for op '{opName}'");
        }

        return !field.IsEmpty;
    }

    private static string Describe(int column) => column switch
    {
        Address => "an address",
        Width => "a width",
        Value => "a value",
        Port => "a port name",
        Device => "a device name",
        _ => "a value",
    };

    private void CheckName(int line, int column, ReadOnlySpan<char> name)
    {
        foreach (char c in name)
        {
            if (char.IsWhiteSpace(c))
            {
                throw Error(line, column, Quote(name), "a name without whitespace");
            }
        }
    }

    /// <summary>The field of a column; empty when the header has no such column, the row is shorter, or the field is empty.</summary>
    private ReadOnlySpan<char> Field(ReadOnlySpan<char> text, int column)
    {
        int index = columnIndex[column];
        return (uint)index < (uint)fieldCount ? text.Slice(fieldStart[index], fieldLength[index]) : default;
    }

    private InputException Error(int line, int column, string found, string expected)
        => new(source, line, columnIndex[column] + 1, $"column '{TraceFormat.ColumnNames[column]}': found {found}, expected {expected}");

    private InputException FromCsv(CsvFormatException e)
    {
        // CsvHelper's message is "Malformed CSV in record N (line L): <problem> (byte offset B)."; keep the problem.
        string message = e.Message;
        int start = message.IndexOf("): ", StringComparison.Ordinal);
        string problem = start >= 0 ? message[(start + 3)..].TrimEnd('.') : message;

        // The byte offset counts the text CsvHelper saw (one line), not the file's bytes.
        int offset = problem.LastIndexOf(" (byte offset ", StringComparison.Ordinal);
        problem = offset > 0 ? problem[..offset] : problem;

        // CsvHelper saw the line alone: the line is the filter's.
        return new InputException(source, Math.Max(filter.LinesRead, 1), 1,
            $"found malformed CSV ({problem}), expected RFC 4180 fields, each record on one line, a quoted field closed before the line ends");
    }

    /// <summary>A field as a message shows it: quoted, shortened, a tab (the one control character a line may hold) as <c>\t</c>.</summary>
    private static string Quote(ReadOnlySpan<char> text) => "'" + Shorten(text).Replace("\t", "\\t", StringComparison.Ordinal) + "'";

    private static string Shorten(ReadOnlySpan<char> text) => text.Length <= MaxShownValue ? text.ToString() : string.Concat(text[..MaxShownValue], "...");

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

/// <summary>The paths a <see cref="TraceReader"/> may read plain rows by; tests hold each to the general path.</summary>
internal enum PlainRowPaths
{
    /// <summary>Every row by the general path, with its checks and messages.</summary>
    None,

    /// <summary>Plain rows by the one-pass path, character by character.</summary>
    OnePass,

    /// <summary>The scanner with 128-bit vectors first, then the one-pass path.</summary>
    Scanner128,

    /// <summary>The scanner with the widest vectors the machine has first, then the one-pass path (what a reader does).</summary>
    Scanner,
}
