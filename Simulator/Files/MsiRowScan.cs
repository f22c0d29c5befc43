namespace PcieSim.Files;

/// <summary>
/// A fast first pass over a trace's bytes: does any data row have the op <c>msi</c> (then the trace is
/// interrupt-complete and every accepted message must have its <c>msi</c> row)? The replay needs the answer before
/// its first record; reading the whole trace twice through the CSV reader would double its cost. The bytes are
/// searched for <c>msi</c> (vectorized); only a line holding it is split into fields, and only its op field
/// compared. For a valid trace the answer is the reader's; an invalid one fails in the reader's pass anyway.
/// </summary>
internal static class MsiRowScan
{
    private const int ChunkBytes = 1 << 20;

    /// <summary>Whether a data row's op field is exactly <c>msi</c>. Reads <paramref name="stream"/> to the first such row.</summary>
    public static bool HasMsiRows(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        byte[] buffer = new byte[ChunkBytes];
        int kept = 0;
        bool first = true;
        int opField = -1;
        while (true)
        {
            int read = stream.ReadAtLeast(buffer.AsSpan(kept), buffer.Length - kept, throwOnEndOfStream: false);
            bool end = kept + read < buffer.Length;
            int length = kept + read;

            // Whole lines only; the unterminated tail waits for the next chunk (at the end it is a line of its own).
            int complete = end ? length : buffer.AsSpan(0, length).LastIndexOfAny((byte)'\n', (byte)'\r') + 1;
            if (complete <= 0)
            {
                // A line longer than the chunk: far over the reader's 64 KiB limit, so the reader rejects the trace.
                return false;
            }

            ReadOnlySpan<byte> text = buffer.AsSpan(0, complete);
            if (first)
            {
                first = false;
                if (text.StartsWith("\uFEFF"u8))
                {
                    text = text[3..];
                }
            }

            if (opField < 0)
            {
                opField = FindHeader(ref text);
                if (opField == -2)
                {
                    return false;
                }
            }

            if (opField >= 0 && HasMsiRow(text, opField))
            {
                return true;
            }

            if (end)
            {
                return false;
            }

            kept = length - complete;
            buffer.AsSpan(complete, kept).CopyTo(buffer);
        }
    }

    /// <summary>
    /// Consumes lines up to and including the header (the first line that is neither empty nor a <c>#</c> comment);
    /// returns the index of its <c>op</c> column, −1 when the header is not in <paramref name="text"/> yet, −2 when the
    /// header has no <c>op</c> column.
    /// </summary>
    private static int FindHeader(ref ReadOnlySpan<byte> text)
    {
        while (!text.IsEmpty)
        {
            var line = NextLine(ref text);
            if (line.IsEmpty || line[0] == (byte)'#')
            {
                continue;
            }

            for (int field = 0; ; field++)
            {
                var name = NextField(ref line, out bool valid);
                if (valid && name.SequenceEqual("op"u8))
                {
                    return field;
                }

                if (!valid || line.IsEmpty)
                {
                    break;
                }
            }

            return -2;
        }

        return -1;
    }

    private static bool HasMsiRow(ReadOnlySpan<byte> text, int opField)
    {
        while (true)
        {
            int hit = text.IndexOf("msi"u8);
            if (hit < 0)
            {
                return false;
            }

            int start = text[..hit].LastIndexOfAny((byte)'\n', (byte)'\r') + 1;
            int stop = text[hit..].IndexOfAny((byte)'\n', (byte)'\r');
            stop = stop < 0 ? text.Length : hit + stop;
            var line = text[start..stop];
            if (line[0] != (byte)'#' && OpIsMsi(line, opField))
            {
                return true;
            }

            text = text[stop..];
        }
    }

    private static bool OpIsMsi(ReadOnlySpan<byte> line, int opField)
    {
        for (int field = 0; field < opField; field++)
        {
            NextField(ref line, out bool valid);
            if (!valid || line.IsEmpty)
            {
                return false;
            }
        }

        return NextField(ref line, out bool ok).SequenceEqual("msi"u8) && ok;
    }

    /// <summary>
    /// The next RFC 4180 field of a line and its comma, consumed. A quoted field is returned without its quotes; one
    /// holding an escaped quote (<c>""</c>) is returned as a lone quote, which is no column or op name. False when the
    /// quotes are malformed (the reader rejects such a row).
    /// </summary>
    private static ReadOnlySpan<byte> NextField(ref ReadOnlySpan<byte> line, out bool valid)
    {
        valid = true;
        ReadOnlySpan<byte> value;
        if (!line.IsEmpty && line[0] == (byte)'"')
        {
            bool escaped = false;
            int at = 1;
            while (true)
            {
                int quote = line[at..].IndexOf((byte)'"');
                if (quote < 0)
                {
                    valid = false;
                    line = default;
                    return default;
                }

                at += quote;
                if (at + 1 < line.Length && line[at + 1] == (byte)'"')
                {
                    escaped = true;
                    at += 2;
                    continue;
                }

                break;
            }

            value = escaped ? "\""u8 : line[1..at];
            line = line[(at + 1)..];
            if (!line.IsEmpty && line[0] != (byte)',')
            {
                valid = false;
                line = default;
                return default;
            }
        }
        else
        {
            int comma = line.IndexOf((byte)',');
            value = comma < 0 ? line : line[..comma];
            line = comma < 0 ? default : line[comma..];
        }

        if (!line.IsEmpty)
        {
            line = line[1..];
        }

        return value;
    }

    private static ReadOnlySpan<byte> NextLine(ref ReadOnlySpan<byte> text)
    {
        int stop = text.IndexOfAny((byte)'\n', (byte)'\r');
        if (stop < 0)
        {
            var all = text;
            text = default;
            return all;
        }

        var line = text[..stop];
        text = text[(stop + 1)..];
        return line;
    }
}
