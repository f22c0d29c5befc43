using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using PcieSim.Files;
using PcieSim.Replay;
using PcieSim.Topology;

namespace PcieSim.Conformance.State;

/// <summary>Shared helpers for the save and restore tests: temporary files, save points, snapshot tails.</summary>
internal static class StateSupport
{
    public static string TracesDirectory([CallerFilePath] string source = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(source)!, "..", "..", "traces"));

    public static IEnumerable<string> CorpusTraces()
    {
        var traces = Directory.GetFiles(TracesDirectory(), "*.csv").Select(Path.GetFileName).Select(n => n!).ToList();
        traces.Sort(StringComparer.Ordinal);
        return traces;
    }

    /// <summary>A fresh path in a fresh temporary folder (nothing exists there yet).</summary>
    public static string TempPath(string name)
    {
        string directory = Path.Combine(Path.GetTempPath(), "pciesim-state-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        return Path.Combine(directory, name);
    }

    public static string WriteTemp(string name, string text)
    {
        string path = TempPath(name);
        File.WriteAllText(path, text, new UTF8Encoding(false));
        return path;
    }

    /// <summary>A save point of a trace: the data row, the value <c>--save-at</c> takes for it, and whether it is legal.</summary>
    public readonly record struct SavePoint(int Row, long At, bool Legal);

    /// <summary>
    /// Every data row as a save point. <c>--save-at</c> takes the seq value when the trace has a seq column, the
    /// row number otherwise; a row followed by an msi row is not a legal save point.
    /// </summary>
    public static List<SavePoint> SavePoints(string tracePath)
    {
        using var reader = TraceReader.Open(tracePath);
        bool bySeq = reader.Header.Columns.Seq != 0;
        var records = new List<TraceRecord>();
        while (reader.TryRead(out var record))
        {
            records.Add(record);
        }

        var points = new List<SavePoint>();
        for (int i = 0; i < records.Count; i++)
        {
            bool legal = i + 1 == records.Count || records[i + 1].Op != TraceOp.Msi;
            points.Add(new SavePoint(records[i].Row, bySeq ? records[i].Seq!.Value : records[i].Row, legal));
        }

        return points;
    }

    /// <summary>
    /// The snapshot a replay restored after <paramref name="row"/> must print: the same header, the record blocks
    /// of the rows after it, the same summary.
    /// </summary>
    public static string Tail(string snapshot, int row)
    {
        var kept = new StringBuilder();
        bool inRecords = false, keep = true;
        foreach (string line in snapshot.Split('\n'))
        {
            if (line == "records:")
            {
                inRecords = true;
            }
            else if (line == "summary:")
            {
                inRecords = false;
                keep = true;
            }
            else if (inRecords && line.StartsWith('#'))
            {
                int end = line.IndexOf(' ', StringComparison.Ordinal);
                keep = int.Parse(line.AsSpan(1, end - 1), NumberStyles.None, CultureInfo.InvariantCulture) > row;
            }

            if (keep)
            {
                kept.Append(line).Append('\n');
            }

            if (line == "records:")
            {
                keep = true;
            }
        }

        return kept.ToString(0, kept.Length - 1);
    }

    public static (string Snapshot, ReplayResult Result) ReplayTrace(string tracePath, BehaviourProfile profile, long? saveAt = null, ReplayState? restore = null) =>
        TraceReplayer.ReplayToText(tracePath, new ReplayOptions { Profile = profile, SaveAt = saveAt, Restore = restore });

    /// <summary>Through the file format and back, as <c>--state</c> then <c>--restore</c> would take it.</summary>
    public static ReplayState ThroughFile(ReplayState state) =>
        StateFile.Parse(Encoding.UTF8.GetBytes(StateFile.Serialize(state)), "state.json");
}
