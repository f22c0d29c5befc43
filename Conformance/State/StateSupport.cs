using System.Globalization;
using System.Text;
using PcieSim.Enumeration;
using PcieSim.Files;
using PcieSim.Replay;
using PcieSim.Snapshot;
using PcieSim.Topology;
using PcieSim.Topology.Language;
using PcieSim.Conformance.TestSupport;

namespace PcieSim.Conformance.State;

/// <summary>Shared helpers for the save and restore tests: save points, snapshot tails.</summary>
internal static class StateSupport
{
    public static string TracesDirectory() => TestCorpus.Directory;

    public static IEnumerable<string> CorpusTraces() => TestCorpus.Traces();

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

    /// <summary>A trace read once: its name, topology, records, and whether it asks for <c>--vmm-enumerate</c>.</summary>
    public sealed record LoadedTrace(string Source, TopologySpec Spec, List<TraceRecord> Records, bool VmmEnumerate);

    public static LoadedTrace Load(string path) => Load(File.ReadAllBytes(path), Path.GetFileName(path));

    public static LoadedTrace Load(byte[] bytes, string source)
    {
        using var reader = TraceReader.Open(new MemoryStream(bytes), source);
        var records = new List<TraceRecord>();
        while (reader.TryRead(out var record))
        {
            records.Add(record);
        }

        return new LoadedTrace(reader.Header.Source, TopologyParser.Parse(reader.Header.TopologyLines), records, reader.Header.VmmEnumerate);
    }

    /// <summary>What one replay did: each row's snapshot text, the states saved (JSON), and the state at the end.</summary>
    public sealed record Replayed(List<(int Row, string Text)> Outcomes, List<(int Row, string Json)> States, string Final);

    /// <summary>
    /// Replays a loaded trace through a session as <see cref="TraceReplayer"/> does (only the rows after a restored
    /// state's row; a save closes the open step), cheaply enough to try every split point of every corpus trace.
    /// </summary>
    /// <param name="saves">How many of the legal save points (rows not followed by an msi row) to save at, from the first.</param>
    public static Replayed Run(LoadedTrace trace, BehaviourProfile profile, ReplayState? restore, int saves)
    {
        var records = trace.Records;
        var model = new PcieModel(trace.Spec, new ModelOptions { Profile = profile });
        if (trace.VmmEnumerate)
        {
            Assert.That(VmmEnumerator.Run(model).Error, Is.Null);
        }

        var session = new ReplaySession(model, trace.Source, records.Any(r => r.Op == TraceOp.Msi)) { VmmEnumerate = trace.VmmEnumerate };
        if (restore is not null)
        {
            model.RestoreState(restore.Model, restore.Source);
            session.RestoreState(restore.Session, restore.Source);
        }

        var outcomes = new List<(int, string)>();
        var states = new List<(int, string)>();
        for (int i = 0; i < records.Count; i++)
        {
            if (records[i].Row <= (restore?.Row ?? 0))
            {
                continue;
            }

            Take(session.Step(records[i]));
            if (states.Count < saves && (i + 1 == records.Count || records[i + 1].Op != TraceOp.Msi))
            {
                Take(session.Finish());
                states.Add((records[i].Row, StateFile.Serialize(new ReplayState(trace.Source, records[i].Row, records[i].Seq, model.SaveState(), session.SaveState()))));
            }
        }

        Take(session.Finish());
        string final = StateFile.Serialize(new ReplayState(trace.Source, records.Count, records[^1].Seq, model.SaveState(), session.SaveState()));
        return new Replayed(outcomes, states, final);

        void Take(IReadOnlyList<StepOutcome> ready)
        {
            foreach (var outcome in ready)
            {
                var text = new StringWriter(CultureInfo.InvariantCulture);
                var writer = new SnapshotWriter(text);
                writer.WriteStep(outcome);
                writer.Flush();
                outcomes.Add((outcome.Record.Row, text.ToString()));
            }
        }
    }

    /// <summary>
    /// The save and restore property on one trace and profile: saving at every legal row changes nothing; restoring
    /// each saved state into a fresh model and replaying the rest gives the same outcomes, the same state at the next
    /// save point and the same final state as the uninterrupted replay.
    /// </summary>
    /// <returns>How many split points were checked.</returns>
    public static int CheckEverySplit(LoadedTrace trace, BehaviourProfile profile, string what)
    {
        var whole = Run(trace, profile, null, saves: 0);
        var saving = Run(trace, profile, null, saves: int.MaxValue);
        Assert.That(saving.Outcomes, Is.EqualTo(whole.Outcomes), what + ": saving at every legal row does not change the replay");
        Assert.That(saving.Final, Is.EqualTo(whole.Final), what + ": saving at every legal row does not change the final state");
        for (int i = 0; i < saving.States.Count; i++)
        {
            var (row, json) = saving.States[i];
            string at = string.Create(CultureInfo.InvariantCulture, $"{what}, split after row {row}");
            var restored = Run(trace, profile, StateFile.Parse(Encoding.UTF8.GetBytes(json), "state.json"), saves: 1);
            Assert.That(restored.Outcomes, Is.EqualTo(whole.Outcomes.Where(o => o.Row > row).ToList()), at + ": outcomes of the rows after it");
            if (i + 1 < saving.States.Count)
            {
                Assert.That(restored.States[0], Is.EqualTo(saving.States[i + 1]), at + ": the state at the next save point");
            }

            Assert.That(restored.Final, Is.EqualTo(whole.Final), at + ": the final model and session state");
        }

        return saving.States.Count;
    }

    /// <summary>Through the file format and back, as <c>--state</c> then <c>--restore</c> would take it.</summary>
    public static ReplayState ThroughFile(ReplayState state) =>
        StateFile.Parse(Encoding.UTF8.GetBytes(StateFile.Serialize(state)), "state.json");
}
