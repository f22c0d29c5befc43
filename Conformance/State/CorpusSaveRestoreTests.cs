using System.Globalization;
using PcieSim.Snapshot;
using PcieSim.Topology;
using static PcieSim.Conformance.State.StateSupport;

namespace PcieSim.Conformance.State;

/// <summary>
/// Issue 6, save and restore, on the trace corpus: for every row k of every corpus trace and both profiles, replay
/// to k, save, restore into a fresh model through the state file format, continue: the outcomes after row k are
/// byte-identical to the uninterrupted replay's, and so are the later states.
/// </summary>
public class CorpusSaveRestoreTests
{
    public static IEnumerable<TestCaseData> Cases(string test)
    {
        foreach (string trace in CorpusTraces())
        {
            foreach (var profile in new[] { BehaviourProfile.OpenVmm, BehaviourProfile.Spec })
            {
                yield return new TestCaseData(trace, profile).SetName($"{test}({trace},{SnapshotWriter.ProfileName(profile)})");
            }
        }
    }

    [TestCaseSource(nameof(Cases), new object[] { "every_row" })]
    public void every_save_point_restores_to_the_same_remaining_outcomes(string trace, BehaviourProfile profile)
    {
        var loaded = Load(Path.Combine(TracesDirectory(), trace));
        int splits = CheckEverySplit(loaded, profile, trace);
        int legal = SavePoints(Path.Combine(TracesDirectory(), trace)).Count(p => p.Legal);
        Assert.That(splits, Is.EqualTo(legal).And.GreaterThan(0), "every legal save point was tried");
    }

    [TestCaseSource(nameof(Cases), new object[] { "console_path" })]
    public void replay_with_save_at_and_restore_continues_where_it_stopped(string trace, BehaviourProfile profile)
    {
        // The console's path (the first pass, --save-at resolution, the state file) at the first, a middle and
        // the last legal save point; illegal ones are refused before anything runs.
        string path = Path.Combine(TracesDirectory(), trace);
        var (whole, wholeResult) = ReplayTrace(path, profile);
        var points = SavePoints(path);
        var legal = points.Where(p => p.Legal).ToList();
        foreach (var point in new[] { legal[0], legal[legal.Count / 2], legal[^1] })
        {
            string at = string.Create(CultureInfo.InvariantCulture, $"row {point.Row} (--save-at {point.At})");
            var (saving, saveResult) = ReplayTrace(path, profile, point.At);
            Assert.That(saving, Is.EqualTo(whole), $"{at}: saving does not change the replay");
            Assert.That(saveResult.Saved!.Row, Is.EqualTo(point.Row), at);
            var (restored, restoredResult) = ReplayTrace(path, profile, restore: ThroughFile(saveResult.Saved));
            Assert.That(restored, Is.EqualTo(Tail(whole, point.Row)), $"{at}: the restored replay's outcomes");
            Assert.That(restoredResult, Is.EqualTo(wholeResult), $"{at}: counts");
        }

        foreach (var point in points.Where(p => !p.Legal).Take(3))
        {
            var error = Assert.Throws<InputException>(() => ReplayTrace(path, profile, point.At))!;
            Assert.That(error.Message, Does.Contain("is followed by the msi rows it caused"));
        }
    }

    [Test]
    public void the_corpus_has_interrupt_complete_traces_so_illegal_save_points_are_tested()
    {
        Assert.That(CorpusTraces().Any(t => SavePoints(Path.Combine(TracesDirectory(), t)).Any(p => !p.Legal)), Is.True);
    }
}
