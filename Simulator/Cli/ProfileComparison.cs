using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using PcieSim.Files;
using PcieSim.Snapshot;

namespace PcieSim.Cli;

/// <summary>
/// <c>replay --profile both</c>: both snapshots, then their line-level differences. In text, a
/// <c>differences A -&gt; B:</c> line and unified-diff hunks; in JSON, one <c>pciesim-comparison</c> document holding
/// both snapshot documents and the hunks.
/// </summary>
internal static class ProfileComparison
{
    public static void Write(TextWriter output, SnapshotFormat format, SpoolFile first, SpoolFile second, string firstName, string secondName)
    {
        var a = first.ReadLines();
        var b = second.ReadLines();
        var hunks = LineDiff.Compare(a, b);
        if (format == SnapshotFormat.Json)
        {
            WriteJson(output, a, b, hunks, firstName, secondName);
            return;
        }

        first.CopyTo(output);
        second.CopyTo(output);
        output.Write(string.Create(CultureInfo.InvariantCulture, $"differences {firstName} -> {secondName}: {(hunks.Count == 0 ? "none" : hunks.Count == 1 ? "1 hunk" : hunks.Count + " hunks")}\n"));
        output.Write("--- " + firstName + "\n+++ " + secondName + "\n");
        LineDiff.WriteUnified(output, a, hunks);
    }

    private static void WriteJson(TextWriter output, List<string> a, List<string> b, IReadOnlyList<DiffHunk> hunks, string firstName, string secondName)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, NewLine = "\n", Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteString("format", "pciesim-comparison");
            json.WriteNumber("version", SnapshotWriter.FormatVersion);
            json.WriteStartArray("snapshots");
            json.WriteRawValue(string.Join('\n', a));
            json.WriteRawValue(string.Join('\n', b));
            json.WriteEndArray();
            json.WriteString("first", firstName);
            json.WriteString("second", secondName);
            json.WriteStartArray("differences");
            foreach (var hunk in hunks)
            {
                json.WriteStartObject();
                json.WriteNumber("firstLine", hunk.FirstLine);
                json.WriteStartArray("removed");
                hunk.Removed.ToList().ForEach(json.WriteStringValue);
                json.WriteEndArray();
                json.WriteNumber("secondLine", hunk.SecondLine);
                json.WriteStartArray("added");
                hunk.Added.ToList().ForEach(json.WriteStringValue);
                json.WriteEndArray();
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        output.Write(AtomicFile.Utf8NoBom.GetString(stream.ToArray()));
        output.Write('\n');
    }
}
