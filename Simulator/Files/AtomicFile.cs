using System.Text;

namespace PcieSim.Files;

/// <summary>
/// Writes a file through a temporary file in the same folder and a rename, so an interrupted or failed run
/// never leaves a half-written snapshot, trace or golden file. UTF-8 without a byte-order mark. A device, FIFO or
/// socket (<c>--out /dev/null</c>, <c>/dev/stdout</c>, a pipe) is written in place instead: a rename would replace
/// the device node itself, and a stream cannot be half-written in any way a rename could prevent.
/// </summary>
public static class AtomicFile
{
    public static readonly UTF8Encoding Utf8NoBom = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static void WriteAllText(string path, string text)
    {
        using var pending = Begin(path);
        pending.Writer.Write(text);
        pending.Commit();
    }

    /// <summary>
    /// Starts writing <paramref name="path"/>: text goes to a temporary file beside it, which
    /// <see cref="PendingFile.Commit"/> renames into place; disposing an uncommitted file deletes it.
    /// </summary>
    public static PendingFile Begin(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return new PendingFile(Path.GetFullPath(path));
    }
}

/// <summary>A file being written through a temporary file (see <see cref="AtomicFile.Begin"/>).</summary>
public sealed class PendingFile : IDisposable
{
    private readonly Utf8FileWriter writer;

    // A device, FIFO or socket: written in place, nothing to rename or delete.
    private readonly bool inPlace;
    private bool committed;

    internal PendingFile(string path)
    {
        Path = path;
        if (FileKinds.Of(path) == FileKind.Special)
        {
            inPlace = true;
            Temporary = path;
            writer = new Utf8FileWriter(UncachedFileStream.OpenSpecial(path));
            return;
        }

        string directory = System.IO.Path.GetDirectoryName(path)!;
        Temporary = System.IO.Path.Combine(directory, "." + System.IO.Path.GetFileName(path) + ".tmp-" + Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        // Written once and not read back by this process: past the page cache where the file system allows.
        writer = new Utf8FileWriter(new UncachedFileStream(Temporary));
    }

    /// <summary>The file to be written.</summary>
    public string Path { get; }

    /// <summary>The temporary file beside it; <see cref="Path"/> itself for a device, FIFO or socket, written in place.</summary>
    public string Temporary { get; }

    /// <summary>Where to write; LF line endings are the caller's.</summary>
    public TextWriter Writer => writer;

    /// <summary>Flushes, closes and renames the temporary file into place.</summary>
    public void Commit()
    {
        writer.Dispose();
        if (!inPlace)
        {
            File.Move(Temporary, Path, overwrite: true);
        }

        committed = true;
    }

    public void Dispose()
    {
        if (!committed)
        {
            try
            {
                writer.Dispose();
            }
            finally
            {
                if (!inPlace && File.Exists(Temporary))
                {
                    File.Delete(Temporary);
                }
            }
        }
    }
}
