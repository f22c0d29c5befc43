using System.Globalization;
using PcieSim.Topology.Language;

namespace PcieSim.Files;

/// <summary>
/// The text a trace's CSV reader sees: the input, one physical line at a time, checked before CsvHelper splits
/// it. A line longer than <see cref="TraceFormat.MaxRecordBytes"/>, binary data (control characters, invalid
/// UTF-8) or a <c># topology:</c> or <c># replay:</c> line after the header ends the text just before that line, so the records
/// before it are still read; the error waits in <see cref="PendingError"/>. Nothing after the bad line is read.
/// Collects the comments, <c># topology:</c> and <c># replay:</c> lines before the header. Line breaks (CR, LF, CRLF) become LF,
/// one for one, so CsvHelper's line numbers are the file's; a leading byte-order mark is dropped.
/// </summary>
internal sealed class TraceLineFilter : TextReader
{
    private const int ChunkSize = 4096;

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
    private int outPos;
    private int outLen;

    public TraceLineFilter(TextReader source, string sourceName)
    {
        this.source = source;
        this.sourceName = sourceName;
    }

    /// <summary>The error that ended the text early, if any: report it once the records before it are read.</summary>
    public InputException? PendingError { get; private set; }

    /// <summary>Physical lines read so far.</summary>
    public int LinesRead { get; private set; }

    /// <summary>The header row's line, 0 until it is seen.</summary>
    public int HeaderLine { get; private set; }

    public IReadOnlyList<TopologySourceLine> TopologyLines => topologyLines;

    /// <summary>The <c># replay:</c> lines before the header (text after the colon).</summary>
    public IReadOnlyList<TopologySourceLine> ReplayLines => replayLines;

    public IReadOnlyList<string> Comments => comments;

    public override int Read(Span<char> buffer)
    {
        if (buffer.IsEmpty)
        {
            return 0;
        }

        while (outPos == outLen)
        {
            if (!NextLine())
            {
                return 0;
            }
        }

        int n = Math.Min(buffer.Length, outLen - outPos);
        line.AsSpan(outPos, n).CopyTo(buffer);
        outPos += n;
        return n;
    }

    public override int Read(char[] buffer, int index, int count) => Read(buffer.AsSpan(index, count));

    public override int Read()
    {
        Span<char> one = stackalloc char[1];
        return Read(one) == 1 ? one[0] : -1;
    }

    public override int Peek()
    {
        while (outPos == outLen)
        {
            if (!NextLine())
            {
                return -1;
            }
        }

        return line[outPos];
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            source.Dispose();
        }

        base.Dispose(disposing);
    }

    /// <summary>Reads, checks and classifies the next physical line; false at the end or after an error.</summary>
    private bool NextLine()
    {
        if (stopped)
        {
            return false;
        }

        int length = 0;
        long bytes = 0;
        bool terminated = false;
        while (true)
        {
            if (chunkPos == chunkLen)
            {
                if (sourceEnded)
                {
                    break;
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

            char c = chunk[chunkPos++];
            if (atStart)
            {
                atStart = false;
                if (c == '\uFEFF')
                {
                    continue;
                }
            }

            if (skipLineFeed)
            {
                skipLineFeed = false;
                if (c == '\n')
                {
                    continue;
                }
            }

            if (c == '\n')
            {
                terminated = true;
                break;
            }

            if (c == '\r')
            {
                terminated = true;
                skipLineFeed = true;
                break;
            }

            bytes += c < 0x80 ? 1 : c < 0x800 || char.IsSurrogate(c) ? 2 : 3;
            if (bytes > TraceFormat.MaxRecordBytes)
            {
                return Stop(LinesRead + 1, string.Create(
                    CultureInfo.InvariantCulture,
                    $"found a line longer than the maximum record size, expected at most {TraceFormat.MaxRecordBytes} bytes (64 KiB)"));
            }

            if (length + 1 >= line.Length)
            {
                Array.Resize(ref line, line.Length * 2);
            }

            line[length++] = c;
        }

        if (!terminated && length == 0)
        {
            stopped = true;
            return false;
        }

        LinesRead++;
        ReadOnlySpan<char> text = line.AsSpan(0, length);
        if (CheckCharacters(text) is { } problem)
        {
            return Stop(LinesRead, problem);
        }

        if (text.StartsWith('#'))
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
        else if (length > 0 && HeaderLine == 0)
        {
            HeaderLine = LinesRead;
        }

        if (terminated)
        {
            line[length++] = '\n';
        }

        outPos = 0;
        outLen = length;
        return true;
    }

    private bool Stop(int lineNumber, string message)
    {
        PendingError = new InputException(sourceName, lineNumber, 1, message);
        stopped = true;
        outPos = outLen = 0;
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
