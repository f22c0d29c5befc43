using System.Buffers;
using System.Globalization;
using PcieSim.Topology.Language;

namespace PcieSim.Files;

/// <summary>
/// A trace's physical lines, one at a time, checked before the reader splits them into fields. A line longer than
/// <see cref="TraceFormat.MaxRecordBytes"/>, binary data (control characters, invalid UTF-8) or a
/// <c># topology:</c> or <c># replay:</c> line after the header ends the text just before that line, so the records
/// before it are still read; the error waits in <see cref="PendingError"/>. Nothing after the bad line is read.
/// Collects the comments, <c># topology:</c> and <c># replay:</c> lines before the header. Line breaks are CR, LF or CRLF, so line numbers are the file's;
/// a leading byte-order mark is dropped.
/// </summary>
/// <remarks>
/// Built for throughput: line ends are found and lines checked with vectorized searches, and a line lying inside
/// the current chunk is handed out in place (a span of the chunk) rather than copied.
/// </remarks>
internal sealed class TraceLineFilter : IDisposable
{
    private const int ChunkSize = 1 << 16;

    /// <summary>Printable ASCII and tab: a line of only these is text, one byte per character.</summary>
    private static readonly SearchValues<char> Plain = SearchValues.Create("\t !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~");

    private readonly TextReader source;
    private readonly string sourceName;
    private readonly char[] chunk = new char[ChunkSize];
    private readonly List<TopologySourceLine> topologyLines = [];
    private readonly List<TopologySourceLine> replayLines = [];
    private readonly List<string> comments = [];
    private char[] line = new char[256];
    private int chunkPos;
    private int chunkLen;
    private bool sourceEnded;
    private bool skipLineFeed;
    private bool atStart = true;
    private bool stopped;

    public TraceLineFilter(TextReader source, string sourceName)
    {
        this.source = source;
        this.sourceName = sourceName;
    }

    /// <summary>The error that ended the text early, if any: report it once the records before it are read.</summary>
    public InputException? PendingError { get; private set; }

    /// <summary>Physical lines read so far (the number of the line <see cref="NextLine"/> returned last).</summary>
    public int LinesRead { get; private set; }

    /// <summary>The header row's line, 0 until it is seen.</summary>
    public int HeaderLine { get; private set; }

    public IReadOnlyList<TopologySourceLine> TopologyLines => topologyLines;

    /// <summary>The <c># replay:</c> lines before the header (text after the colon).</summary>
    public IReadOnlyList<TopologySourceLine> ReplayLines => replayLines;

    public IReadOnlyList<string> Comments => comments;

    public void Dispose() => source.Dispose();

    /// <summary>
    /// Reads, checks and classifies the next physical line (without its line break); false at the end or after an
    /// error. The text is valid until the next call.
    /// </summary>
    /// <param name="terminated">Whether a line break ended the line (false for a last line without one).</param>
    public bool NextLine(out ReadOnlySpan<char> text, out bool terminated)
    {
        text = default;
        terminated = false;
        if (stopped)
        {
            return false;
        }

        // The line is either a span of the chunk (it lies inside it) or gathered in 'line' across chunks.
        int gathered = 0;
        bool spansChunks = false;

        // Whether a piece of the line holds anything but printable ASCII (a tab, a control character, non-ASCII).
        bool unusual = false;
        while (true)
        {
            if (chunkPos == chunkLen)
            {
                if (sourceEnded)
                {
                    break;
                }

                if (!spansChunks && text.Length > 0)
                {
                    // The line so far lies in the chunk about to be overwritten: keep it.
                    Gather(text, ref gathered);
                    spansChunks = true;
                }

                chunkLen = source.Read(chunk, 0, chunk.Length);
                chunkPos = 0;
                if (chunkLen <= 0)
                {
                    chunkLen = 0;
                    sourceEnded = true;
                    break;
                }
            }

            if (atStart)
            {
                atStart = false;
                if (chunk[chunkPos] == '\uFEFF')
                {
                    chunkPos++;
                    continue;
                }
            }

            if (skipLineFeed)
            {
                skipLineFeed = false;
                if (chunk[chunkPos] == '\n')
                {
                    chunkPos++;
                    continue;
                }
            }

            // One scan finds the line break, unless something other than printable ASCII comes first: then the
            // line needs the exact checks below, and a second scan finds its end.
            var rest = chunk.AsSpan(chunkPos, chunkLen - chunkPos);
            int stop = rest.IndexOfAnyExceptInRange(' ', '~');
            if (stop >= 0 && rest[stop] is not ('\r' or '\n'))
            {
                unusual = true;
                int end = rest[stop..].IndexOfAny('\r', '\n');
                stop = end < 0 ? end : stop + end;
            }
            var piece = stop < 0 ? rest : rest[..stop];
            if (spansChunks)
            {
                Gather(piece, ref gathered);
            }
            else
            {
                text = piece;
            }

            chunkPos += piece.Length;
            if (stop >= 0)
            {
                terminated = true;
                skipLineFeed = chunk[chunkPos] == '\r';
                chunkPos++;
                break;
            }

            // A line that runs on past the chunk. More characters than the limit has bytes: too long whatever they are.
            if ((spansChunks ? gathered : text.Length) > TraceFormat.MaxRecordBytes)
            {
                return StopTooLong();
            }
        }

        if (spansChunks)
        {
            text = line.AsSpan(0, gathered);
        }

        if (!terminated && text.IsEmpty)
        {
            stopped = true;
            return false;
        }

        // Printable ASCII is one byte a character and never binary: only other text needs the exact checks.
        if (unusual && text.IndexOfAnyExcept(Plain) >= 0)
        {
            if (Utf8Bytes(text) > TraceFormat.MaxRecordBytes)
            {
                return StopTooLong();
            }

            LinesRead++;
            if (CheckCharacters(text) is { } problem)
            {
                return Stop(LinesRead, problem);
            }
        }
        else
        {
            if (text.Length > TraceFormat.MaxRecordBytes)
            {
                return StopTooLong();
            }

            LinesRead++;
        }

        if (!text.IsEmpty && text[0] == '#')
        {
            if (text.StartsWith(TraceFormat.TopologyPrefix, StringComparison.Ordinal))
            {
                if (HeaderLine != 0)
                {
                    return Stop(LinesRead, string.Create(
                        CultureInfo.InvariantCulture,
                        $"found a '{TraceFormat.TopologyPrefix}' line after the header row (line {HeaderLine}), expected topology lines before the header row"));
                }

                topologyLines.Add(new TopologySourceLine(sourceName, LinesRead, TraceFormat.TopologyPrefix.Length, text[TraceFormat.TopologyPrefix.Length..].ToString()));
            }
            else if (text.StartsWith(TraceFormat.ReplayPrefix, StringComparison.Ordinal))
            {
                if (HeaderLine != 0)
                {
                    return Stop(LinesRead, string.Create(
                        CultureInfo.InvariantCulture,
                        $"found a '{TraceFormat.ReplayPrefix}' line after the header row (line {HeaderLine}), expected replay options before the header row"));
                }

                replayLines.Add(new TopologySourceLine(sourceName, LinesRead, TraceFormat.ReplayPrefix.Length, text[TraceFormat.ReplayPrefix.Length..].ToString()));
            }
            else if (HeaderLine == 0)
            {
                ReadOnlySpan<char> comment = text[1..];
                comments.Add((comment.StartsWith(' ') ? comment[1..] : comment).ToString());
            }
        }
        else if (!text.IsEmpty && HeaderLine == 0)
        {
            HeaderLine = LinesRead;
        }

        return true;
    }

    /// <summary>
    /// The characters from the next line on, when that line lies in the chunk with at least
    /// <see cref="PlainRowScanner.Window"/> characters from its start and needs none of <see cref="NextLine"/>'s
    /// special cases (the file's start, a line feed to skip, the end, an error).
    /// </summary>
    public bool TryPeekWindow(out ReadOnlySpan<char> window)
    {
        if (chunkLen - chunkPos < PlainRowScanner.Window || skipLineFeed || atStart || stopped)
        {
            window = default;
            return false;
        }

        window = chunk.AsSpan(chunkPos, chunkLen - chunkPos);
        return true;
    }

    /// <summary>Takes the line <see cref="TryPeekWindow"/> showed, <paramref name="chars"/> long with its line break.</summary>
    public void Consume(int chars)
    {
        chunkPos += chars;
        LinesRead++;
    }

    private void Gather(ReadOnlySpan<char> piece, ref int gathered)
    {
        if (gathered + piece.Length > line.Length)
        {
            Array.Resize(ref line, Math.Max(line.Length * 2, gathered + piece.Length));
        }

        piece.CopyTo(line.AsSpan(gathered));
        gathered += piece.Length;
    }

    /// <summary>UTF-8 bytes of the line as the limit counts them (a surrogate, paired or not, as 2).</summary>
    private static long Utf8Bytes(ReadOnlySpan<char> text)
    {
        long bytes = 0;
        foreach (char c in text)
        {
            bytes += c < 0x80 ? 1 : c < 0x800 || char.IsSurrogate(c) ? 2 : 3;
        }

        return bytes;
    }

    private bool StopTooLong() => Stop(LinesRead + 1, string.Create(
        CultureInfo.InvariantCulture,
        $"found a line longer than the maximum record size, expected at most {TraceFormat.MaxRecordBytes} bytes (64 KiB)"));

    private bool Stop(int lineNumber, string message)
    {
        PendingError = new InputException(sourceName, lineNumber, 1, message);
        stopped = true;
        return false;
    }

    /// <summary>Null when the line is text; else what was found, for the message.</summary>
    private static string? CheckCharacters(ReadOnlySpan<char> text)
    {
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if ((c < 0x20 && c != '\t') || c == 0x7f)
            {
                return string.Create(
                    CultureInfo.InvariantCulture,
                    $"found control character U+{(int)c:X4} at character {i + 1} (binary data?), expected UTF-8 text");
            }

            if (c == '\uFFFD')
            {
                return string.Create(
                    CultureInfo.InvariantCulture,
                    $"found invalid UTF-8 (U+FFFD) at character {i + 1}, expected UTF-8 text");
            }

            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(c))
            {
                return string.Create(
                    CultureInfo.InvariantCulture,
                    $"found an unpaired surrogate U+{(int)c:X4} at character {i + 1}, expected UTF-8 text");
            }
        }

        return null;
    }
}
