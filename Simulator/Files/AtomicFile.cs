using System.Text;

namespace PcieSim.Files;

/// <summary>
/// Writes a file through a temporary file in the same folder and a rename, so an interrupted or failed run
/// never leaves a half-written snapshot, trace or golden file. UTF-8 without a byte-order mark.
/// </summary>
public static class AtomicFile
{
    public static readonly UTF8Encoding Utf8NoBom = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static void WriteAllText(string path, string text)
    {
        ArgumentNullException.ThrowIfNull(path);
        string full = Path.GetFullPath(path);
        string temporary = TemporaryFor(full);
        try
        {
            File.WriteAllText(temporary, text, Utf8NoBom);
            File.Move(temporary, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temporary))
            {
                File.Delete(temporary);
            }
        }
    }

    /// <summary>
    /// Streams text of any length to <paramref name="path"/>: <paramref name="write"/> writes to the temporary file,
    /// which replaces <paramref name="path"/> only when it returns. If it throws, nothing is written.
    /// </summary>
    public static T WriteText<T>(string path, Func<TextWriter, T> write)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(write);
        string full = Path.GetFullPath(path);
        string temporary = TemporaryFor(full);
        try
        {
            T result;
            using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, BufferBytes))
            using (var writer = new StreamWriter(stream, Utf8NoBom, BufferBytes))
            {
                result = write(writer);
            }

            File.Move(temporary, full, overwrite: true);
            return result;
        }
        finally
        {
            if (File.Exists(temporary))
            {
                File.Delete(temporary);
            }
        }
    }

    /// <summary>
    /// Streams text of any length to <paramref name="destination"/> (standard output) only once it is complete:
    /// <paramref name="write"/> writes to a temporary file, copied to <paramref name="destination"/> when it returns
    /// and deleted in any case. If it throws, nothing is written.
    /// </summary>
    public static T WriteToWhenComplete<T>(TextWriter destination, Func<TextWriter, T> write)
    {
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentNullException.ThrowIfNull(write);
        string temporary = Path.Combine(Path.GetTempPath(), "pciesim-" + Guid.NewGuid().ToString("N") + ".tmp");
        try
        {
            T result;
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, BufferBytes))
            using (var writer = new StreamWriter(stream, Utf8NoBom, BufferBytes))
            {
                result = write(writer);
            }

            using (var reader = new StreamReader(temporary, Utf8NoBom, detectEncodingFromByteOrderMarks: false, BufferBytes))
            {
                char[] buffer = new char[BufferBytes];
                int read;
                while ((read = reader.Read(buffer, 0, buffer.Length)) > 0)
                {
                    destination.Write(buffer, 0, read);
                }
            }

            destination.Flush();
            return result;
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    /// <summary>Large buffers: snapshots and generated traces run to gigabytes.</summary>
    private const int BufferBytes = 1 << 16;

    private static string TemporaryFor(string full) =>
        Path.Combine(Path.GetDirectoryName(full)!, "." + Path.GetFileName(full) + ".tmp-" + Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
}
