using System.Globalization;
using PcieSim.Files;
using PcieSim.Snapshot;
using PcieSim.Topology;
using static PcieSim.Conformance.State.StateSupport;

namespace PcieSim.Conformance.State;

/// <summary>
/// Issue 6, save and restore, on the trace corpus: for every row k of every corpus trace and both profiles, replay
/// to k, save, restore into a fresh model through the state file format, continue: the outcomes after row k are
/// byte-identical to the uninterrupted replay's.
/// </summary>
public class CorpusSaveRestoreTests
{
    public static IEnumerable<TestCaseData> Cases()
    {
        foreach (string trace in CorpusTraces())
        {
            foreach (var profile in new[] { BehaviourProfile.OpenVmm, BehaviourProfile.Spec })
            {
                yield return new TestCaseData(trace, profile).SetName($"save_restore({trace},{SnapshotWriter.ProfileName(profile)})");
            }
        }
    }

    [TestCaseSource(nameof(Cases))]
    public void every_save_point_restores_to_the_same_remaining_outcomes(string trace, BehaviourProfile profile)
    {
        string path = Path.Combine(TracesDirectory(), trace);
        var (whole, wholeResult) = ReplayTrace(path, profile);
        var points = SavePoints(path);
        Assert.That(points.Count(p => p.Legal), Is.GreaterThan(0), "the trace has save points");
        foreach (var point in points)
        {
            string at = string.Create(CultureInfo.InvariantCulture, $"row {point.Row} (--save-at {point.At})");
            if (!point.Legal)
            {
                var error = Assert.Throws<InputException>(() => ReplayTrace(path, profile, point.At), at)!;
                Assert.That(error.Message, Does.Contain("is followed by the msi rows it caused"), at);
                continue;
            }

            var (saving, saveResult) = ReplayTrace(path, profile, point.At);
            Assert.That(saving, Is.EqualTo(whole), $"{at}: saving does not change the replay");
            Assert.That(saveResult.Saved, Is.Not.Null, at);
            Assert.That(saveResult.Saved!.Row, Is.EqualTo(point.Row), at);

            var (restored, restoredResult) = ReplayTrace(path, profile, restore: ThroughFile(saveResult.Saved));
            Assert.That(restored, Is.EqualTo(Tail(whole, point.Row)), $"{at}: the restored replay's outcomes");
            Assert.That(restoredResult with { Saved = null }, Is.EqualTo(wholeResult with { Saved = null }), $"{at}: counts");
        }
    }

    [TestCaseSource(nameof(Cases))]
    public void restoring_then_saving_later_gives_the_state_an_uninterrupted_replay_saves(string trace, BehaviourProfile profile)
    {
        // The saved state is complete: nothing lost in a save and restore shows up in a later save.
        string path = Path.Combine(TracesDirectory(), trace);
        var legal = SavePoints(path).Where(p => p.Legal).ToList();
        for (int i = 0; i + 1 < legal.Count; i++)
        {
            var first = ReplayTrace(path, profile, legal[i].At).Result.Saved!;
            var direct = ReplayTrace(path, profile, legal[i + 1].At).Result.Saved!;
            var chained = ReplayTrace(path, profile, legal[i + 1].At, ThroughFile(first)).Result.Saved!;
            Assert.That(StateFile.Serialize(chained), Is.EqualTo(StateFile.Serialize(direct)), $"restored at row {legal[i].Row}, saved at row {legal[i + 1].Row}");
        }
    }
}
