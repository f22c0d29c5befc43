using System.Globalization;
using System.Text;
using PcieSim.Topology.Language;

namespace PcieSim.Files;

/// <summary>
/// Reads a topology file (OpenVMM flags, any number per line, <c>#</c> comments): UTF-8 text, a byte-order mark
/// and CRLF line endings accepted. Binary data (control characters, invalid UTF-8) is reported at its line and
/// column before the flags are parsed, so no message ever quotes it.
/// </summary>
public static class TopologyFile
{
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);

    private static ReadOnlySpan<byte> ByteOrderMark => [0xEF, 0xBB, 0xBF];

    /// <exception cref="InputException">The file is missing or unreadable, is not UTF-8 text, or its flags are invalid.</exception>
    public static TopologySpec Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string name = Path.GetFileName(path) is { Length: > 0 } file ? file : path;
        if (Directory.Exists(path))
        {
            throw new InputException(name, 0, 0, $"found a folder, expected a topology file: {path}");
        }

        if (!File.Exists(path))
        {
            throw new InputException(name, 0, 0, $"topology file not found: {path}");
        }

        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InputException(name, 0, 0, $"cannot read the topology file {path}: {e.Message}");
        }

        ReadOnlySpan<byte> body = bytes.AsSpan().StartsWith(ByteOrderMark) ? bytes.AsSpan(ByteOrderMark.Length) : bytes;
        string text = Utf8.GetString(body);
        CheckText(text, name);
        return TopologyParser.Parse(text, name);
    }

    /// <summary>Rejects control characters (other than tab and line breaks) and invalid UTF-8 (decoded as U+FFFD), naming line and column.</summary>
    private static void CheckText(string text, string name)
    {
        int line = 1;
        int column = 0;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            column++;
            if (c == '\n')
            {
                line++;
                column = 0;
                continue;
            }

            string? problem = c switch
            {
                '\uFFFD' => "found invalid UTF-8 (U+FFFD), expected UTF-8 text",
                '\t' or '\r' => null,
                _ when c < 0x20 || c == 0x7F => string.Create(CultureInfo.InvariantCulture, $"found control character U+{(int)c:X4} (binary data?), expected UTF-8 text"),
                _ => null,
            };
            if (problem is not null)
            {
                throw new InputException(name, line, column, problem);
            }
        }
    }
}
