using System.Globalization;
using CsvHelper;
using PcieSim.Replay;

namespace PcieSim.Files;

/// <summary>
/// Writes a trace that <see cref="TraceReader"/> reads back: <c># </c> comments, <c># topology:</c> lines, the
/// header row and one line per record, with LF line endings and invariant formatting (hex as <c>0x</c> and
/// lower-case digits, configuration addresses as <c>SSSS:BB:DD.F@0xRRR</c>). CsvHelper quotes fields that need it.
/// </summary>
public sealed class TraceWriter : IDisposable
{
    private static readonly CsvWriterOptions CsvOptions = new()
    {
        Mode = CsvMode.Rfc4180,
        Separator = ',',
        NewLine = "\n",
        CommentPrefix = '#',
        Quoting = CsvQuoting.WhenNeeded,
        Injection = CsvInjection.None,
        ValidateFieldCount = true,
        WriteByteOrderMark = false,
        FormatProvider = CultureInfo.InvariantCulture,
    };

    private readonly CsvWriter csv;
    private readonly int[] columns;
    private readonly string?[] fields;

    /// <summary>Writes the comments, the topology lines and the header row now.</summary>
    /// <param name="writer">The destination; disposed with this writer unless <paramref name="leaveOpen"/>.</param>
    /// <param name="topologyFlags">Each becomes a <c># topology: </c> line.</param>
    /// <param name="comments">Each becomes a <c># </c> line, before the topology lines.</param>
    /// <param name="columns">Header column names, in the order to write them; must include <c>op</c>.</param>
    /// <param name="vmmEnumerate">Write a <c># replay: --vmm-enumerate</c> line (after the comments, before the topology).</param>
    /// <exception cref="ArgumentException">An unknown or repeated column, no <c>op</c> column, or a line break in a flag or comment.</exception>
    public TraceWriter(TextWriter writer, IReadOnlyList<string> topologyFlags, IReadOnlyList<string> comments, IReadOnlyList<string> columns, bool leaveOpen = false, bool vmmEnumerate = false)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(topologyFlags);
        ArgumentNullException.ThrowIfNull(comments);
        ArgumentNullException.ThrowIfNull(columns);

        this.columns = new int[columns.Count];
        for (int i = 0; i < columns.Count; i++)
        {
            int known = -1;
            for (int k = 0; k < TraceFormat.ColumnNames.Count; k++)
            {
                if (string.Equals(TraceFormat.ColumnNames[k], columns[i], StringComparison.Ordinal))
                {
                    known = k;
                }
            }

            if (known < 0)
            {
                throw new ArgumentException($"unknown trace column '{columns[i]}'", nameof(columns));
            }

            if (Array.IndexOf(this.columns, known, 0, i) >= 0)
            {
                throw new ArgumentException($"trace column '{columns[i]}' given twice", nameof(columns));
            }

            this.columns[i] = known;
        }

        if (Array.IndexOf(this.columns, 1) < 0)
        {
            throw new ArgumentException("a trace needs an 'op' column", nameof(columns));
        }

        foreach (string comment in comments)
        {
            CheckOneLine(comment, nameof(comments));
        }

        foreach (string flags in topologyFlags)
        {
            CheckOneLine(flags, nameof(topologyFlags));
        }

        fields = new string?[columns.Count];
        csv = CsvWriter.Create(writer, CsvOptions, leaveOpen);
        foreach (string comment in comments)
        {
            // "# topology:" and "# replay:" would read back as topology or replay lines; "#topology:" reads back as this comment.
            bool special = comment.StartsWith(TraceFormat.TopologyPrefix[2..], StringComparison.Ordinal) || comment.StartsWith(TraceFormat.ReplayPrefix[2..], StringComparison.Ordinal);
            csv.WriteComment(special ? comment : " " + comment);
        }

        if (vmmEnumerate)
        {
            csv.WriteComment(TraceFormat.ReplayPrefix[1..] + " " + TraceFormat.VmmEnumerateOption);
        }

        foreach (string flags in topologyFlags)
        {
            csv.WriteComment(TraceFormat.TopologyPrefix[1..] + " " + flags.Trim());
        }

        csv.WriteHeader([.. columns]);
    }

    /// <summary>Writes one record (its <see cref="TraceRecord.Row"/> and <see cref="TraceRecord.Line"/> are not written).</summary>
    /// <exception cref="ArgumentException">The record has a field for a column this trace does not have, or a line break in a text field.</exception>
    public void Write(in TraceRecord record)
    {
        string? device = record.Op == TraceOp.Msi && record.DeviceValue is { } deviceValue
            ? TraceFormat.FormatHex(deviceValue)
            : record.Device;
        string?[] all =
        [
            record.Seq?.ToString(CultureInfo.InvariantCulture),
            TraceFormat.FormatOp(record.Op),
            record.AddressKind switch
            {
                TraceAddressKind.Numeric => TraceFormat.FormatHex(record.Address),
                TraceAddressKind.Configuration => TraceFormat.FormatConfigurationAddress(record.Configuration),
                _ => null,
            },
            record.Width?.ToString(CultureInfo.InvariantCulture),
            record.Value is { } value ? TraceFormat.FormatHex(value) : null,
            record.Port,
            device,
            record.Note,
        ];

        for (int k = 0; k < all.Length; k++)
        {
            if (string.IsNullOrEmpty(all[k]))
            {
                continue;
            }

            CheckOneLine(all[k]!, nameof(record));
            if (Array.IndexOf(columns, k) < 0)
            {
                throw new ArgumentException($"the record's '{TraceFormat.ColumnNames[k]}' ({all[k]}) has no column in this trace", nameof(record));
            }
        }

        for (int i = 0; i < columns.Length; i++)
        {
            fields[i] = all[columns[i]];
        }

        csv.WriteRecord(fields);
    }

    /// <summary>Writes what is buffered to the destination.</summary>
    public void Flush() => csv.Flush();

    public void Dispose() => csv.Dispose();

    private static void CheckOneLine(string text, string parameter)
    {
        if (text.AsSpan().IndexOfAny('\r', '\n') >= 0)
        {
            throw new ArgumentException($"a trace field or comment cannot hold a line break: '{text}'", parameter);
        }
    }
}
