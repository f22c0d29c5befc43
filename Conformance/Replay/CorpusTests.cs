using PcieSim.Conformance.Golden;
using PcieSim.Conformance.TestSupport;
using PcieSim.Replay;
using PcieSim.Snapshot;
using PcieSim.Topology;

namespace PcieSim.Conformance.Replay;

/// <summary>
/// The trace corpus: one case per trace and profile, compared with <c>traces/&lt;name&gt;.&lt;profile&gt;.verified.txt</c>
/// through the same golden-file helper <c>pciesim verify</c> uses. Every read in a corpus trace records OpenVMM's
/// value, so a mismatch means the model drifted.
/// </summary>
public class CorpusTests
{
    private static string TracesDirectory() => TestCorpus.Directory;

    public static IEnumerable<TestCaseData> Cases()
    {
        foreach (string trace in TestCorpus.Traces())
        {
            foreach (var profile in new[] { BehaviourProfile.OpenVmm, BehaviourProfile.Spec })
            {
                yield return new TestCaseData(trace, profile).SetName($"corpus({trace},{SnapshotWriter.ProfileName(profile)})");
            }
        }
    }

    [TestCaseSource(nameof(Cases))]
    public async Task corpus_trace_matches_its_golden_snapshot(string trace, BehaviourProfile profile)
    {
        string path = Path.Combine(TracesDirectory(), trace);
        var (snapshot, result) = TraceReplayer.ReplayToText(path, new ReplayOptions { Profile = profile });
        Assert.That(result.Mismatches, Is.Zero, "a recorded OpenVMM value differs from the model");
        string verified = Path.Combine(TracesDirectory(), $"{Path.GetFileNameWithoutExtension(trace)}.{SnapshotWriter.ProfileName(profile)}.verified.txt");
        await Verifier.VerifyFile(verified, snapshot);
    }

    [Test]
    public void a_wrong_recorded_value_is_a_mismatch_shown_in_place()
    {
        string original = Path.Combine(TracesDirectory(), "05-pciehp-root-port-its.csv");
        string broken = TestTemp.WriteFile("broken.csv", File.ReadAllText(original).Replace("1,read,00:00.0@0x000,4,0xc0301414", "1,read,00:00.0@0x000,4,0xc0311414", StringComparison.Ordinal));
        var stdout = new StringWriter();
        int exit = PcieSim.Cli.PcieSimCommand.Run(["replay", broken], stdout, new StringWriter());
        Assert.That(exit, Is.EqualTo(1));
        Assert.That(stdout.ToString(), Does.Contain("#1 read 0000:00:00.0@0x000 w4 -> 0xc0301414").And.Contain("    MISMATCH: recorded 0xc0311414, model 0xc0301414"));
    }
}
