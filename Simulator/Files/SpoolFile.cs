namespace PcieSim.Files;

/// <summary>
/// Output held in a temporary file until the run has succeeded, then copied to its destination (standard output),
/// so a run that fails on bad input prints nothing but its error, whatever the trace's length. Deleted on dispose.
/// </summary>
public sealed class SpoolFile : IDisposable
{
    private readonly FileStream stream;
    private readonly StreamWriter writer;

    public SpoolFile()
    {
        // A unique empty file the OS names; deleted when the stream closes.
        stream = new FileStream(System.IO.Path.GetTempFileName(), FileMode.Open, FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.DeleteOnClose);
        writer = new StreamWriter(stream, AtomicFile.Utf8NoBom, 1 << 16, leaveOpen: true);
    }

    public TextWriter Writer => writer;

    /// <summary>Copies everything written so far to <paramref name="destination"/>.</summary>
    public void CopyTo(TextWriter destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        writer.Flush();
        stream.Position = 0;
        using var reader = new StreamReader(stream, AtomicFile.Utf8NoBom, false, 1 << 16, leaveOpen: true);
        var buffer = new char[1 << 16];
        int read;
        while ((read = reader.Read(buffer, 0, buffer.Length)) > 0)
        {
            destination.Write(buffer, 0, read);
        }

        stream.Position = stream.Length;
    }

    /// <summary>The lines written so far (for comparing two snapshots).</summary>
    public List<string> ReadLines()
    {
        writer.Flush();
        stream.Position = 0;
        var lines = new List<string>();
        using var reader = new StreamReader(stream, AtomicFile.Utf8NoBom, false, 1 << 16, leaveOpen: true);
        while (reader.ReadLine() is { } line)
        {
            lines.Add(line);
        }

        stream.Position = stream.Length;
        return lines;
    }

    public void Dispose()
    {
        writer.Dispose();
        stream.Dispose();
    }
}
