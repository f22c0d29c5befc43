using System.Globalization;
using PcieSim.Replay;

namespace PcieSim.Cli;

/// <summary>
/// A progress bar on standard error while a long trace replays, shown only when standard error is a terminal (never
/// in a pipe, a file or a test, so it cannot reach a snapshot). Progress is the replayed line against the file's
/// line count, redrawn when the percentage moves: no clock involved.
/// </summary>
internal sealed class ReplayProgress
{
    /// <summary>Traces shorter than this many lines finish before a bar would be worth drawing.</summary>
    private const long MinimumLines = 200_000;

    private readonly TextWriter stderr;
    private readonly long totalLines;
    private int shownPercent = -1;
    private int pass;

    public ReplayProgress(TextWriter stderr, string tracePath)
    {
        this.stderr = stderr;
        totalLines = CountLines(tracePath);
    }

    public void Report(StepOutcome outcome)
    {
        if (totalLines < MinimumLines)
        {
            return;
        }

        int percent = (int)Math.Min(100, outcome.Record.Line * 100L / totalLines);
        if (percent < shownPercent)
        {
            pass++; // --profile both: the second run starts again from the top.
        }

        if (percent != shownPercent)
        {
            shownPercent = percent;
            int filled = percent / 4;
            stderr.Write(string.Create(CultureInfo.InvariantCulture, $"\rreplay{(pass > 0 ? " (run " + (pass + 1).ToString(CultureInfo.InvariantCulture) + ")" : "")} [{new string('#', filled)}{new string(' ', 25 - filled)}] {percent,3}%  line {outcome.Record.Line}"));
        }
    }

    public void Done()
    {
        if (shownPercent >= 0)
        {
            stderr.Write("\r\x1b[K");
        }
    }

    private static long CountLines(string path)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
            var buffer = new byte[1 << 16];
            long lines = 0;
            int read;
            while ((read = stream.Read(buffer, 0, buffer.Length)) > 0)
            {
                lines += buffer.AsSpan(0, read).Count((byte)'\n');
            }

            return lines;
        }
        catch (IOException)
        {
            return 0;
        }
    }
}
