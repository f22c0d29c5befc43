using System.Runtime.CompilerServices;
using PcieSim.Cli;
using PcieSim.Conformance.TestSupport;
using PcieSim.Files;
using static PcieSim.Conformance.State.StateSupport;

namespace PcieSim.Conformance.Cli;

/// <summary>
/// <c>pciesim replay --save-at N --state FILE</c> and <c>--restore FILE</c> end to end: exit codes, what is
/// printed, and that a run that fails writes nothing (no state file, no snapshot file, no half-written file).
/// </summary>
public class ReplayStateCommandTests
{
    /// <summary>A trace without a seq column (N is the data row number) whose row 5 names an unknown endpoint.</summary>
    private const string BadTail = """
        # topology: --pcie-root-complex rc0 --pcie-root-port rc0:rp0,hotplug --pcie-endpoint ep0,template=generic
        op,address,width,value,port,device
        read,00:00.0@0x000,4,0xc0301414,,
        write,00:00.0@0x018,4,0x00010100,,
        hot-add,,,,rp0,ep0
        read,01:00.0@0x000,4,,,
        hot-remove,,,,rp0,ep9
        """;

    private static string Trace05([CallerFilePath] string source = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(source)!, "..", "..", "traces", "05-pciehp-root-port-its.csv"));

    private static (int Exit, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter { NewLine = "\n" };
        var stderr = new StringWriter { NewLine = "\n" };
        int exit = PcieSimCommand.Run(args, stdout, stderr);
        return (exit, stdout.ToString(), stderr.ToString());
    }

    /// <summary>Files in the folder of <paramref name="path"/>, temporary ones included.</summary>
    private static string[] Folder(string path) =>
        [.. Directory.GetFiles(Path.GetDirectoryName(path)!).Select(Path.GetFileName).Order(StringComparer.Ordinal)!];

    [Test]
    public void save_then_restore_prints_the_rest_of_the_uninterrupted_snapshot()
    {
        string state = TestTemp.NewFilePath("state.json");
        var whole = Run("replay", Trace05());
        var saving = Run("replay", Trace05(), "--save-at", "24", "--state", state);
        Assert.That(saving, Is.EqualTo(whole), "saving changes neither output nor exit code");
        Assert.That(File.ReadAllText(state), Is.EqualTo(StateFile.Serialize(ReplayTrace(Trace05(), PcieSim.Topology.BehaviourProfile.OpenVmm, 24).Result.Saved!)));
        Assert.That(Folder(state), Is.EqualTo(new[] { "state.json" }), "no temporary file left");

        var restored = Run("replay", Trace05(), "--restore", state);
        Assert.That(restored.Err, Is.Empty);
        Assert.That(restored.Exit, Is.EqualTo(whole.Exit));
        Assert.That(restored.Out, Is.EqualTo(Tail(whole.Out, 24)));
        Assert.That(restored.Out, Does.Not.Contain("#24 ").And.Contain("#25 read"));
    }

    [Test]
    public void spec_profile_and_a_trace_without_seq_numbers_its_rows()
    {
        string trace = TestTemp.WriteFile("noseq.csv", BadTail.Replace("hot-remove,,,,rp0,ep9", "hot-remove,,,,rp0,ep0", StringComparison.Ordinal));
        string state = TestTemp.NewFilePath("s.json");
        var whole = Run("replay", trace, "--profile", "spec");
        Assert.That(Run("replay", trace, "--profile", "spec", "--save-at", "3", "--state", state), Is.EqualTo(whole));
        Assert.That(File.ReadAllText(state), Does.Contain("\"row\": 3,\n  \"seq\": null,").And.Contain("\"profile\": \"spec\""));
        var restored = Run("replay", trace, "--profile", "spec", "--restore", state);
        Assert.That((restored.Exit, restored.Out), Is.EqualTo((whole.Exit, Tail(whole.Out, 3))));
    }

    [Test]
    public void a_restored_replay_can_save_again_later()
    {
        string first = TestTemp.NewFilePath("first.json"), second = TestTemp.NewFilePath("second.json"), direct = TestTemp.NewFilePath("direct.json");
        Assert.That(Run("replay", Trace05(), "--save-at", "16", "--state", first).Exit, Is.Zero);
        Assert.That(Run("replay", Trace05(), "--restore", first, "--save-at", "29", "--state", second).Exit, Is.Zero);
        Assert.That(Run("replay", Trace05(), "--save-at", "29", "--state", direct).Exit, Is.Zero);
        Assert.That(File.ReadAllText(second), Is.EqualTo(File.ReadAllText(direct)));
    }

    public static IEnumerable<TestCaseData> UsageErrors()
    {
        yield return new TestCaseData(new[] { "--save-at", "3" }, "pciesim: command line: --save-at needs --state FILE (where to save)").SetName("save_at_without_state");
        yield return new TestCaseData(new[] { "--state", "STATE" }, "pciesim: command line: --state FILE needs --save-at N (the row to save after)").SetName("state_without_save_at");
        yield return new TestCaseData(new[] { "--save-at", "3", "--state", "STATE", "--profile", "both" }, "pciesim: command line: --save-at and --restore work on one profile: use --profile openvmm or --profile spec").SetName("save_at_with_both_profiles");
        yield return new TestCaseData(new[] { "--save-at", "99", "--state", "STATE" }, "pciesim: command line: --save-at 99: no row of 05-pciehp-root-port-its.csv has seq 99").SetName("save_at_beyond_the_trace");
        yield return new TestCaseData(new[] { "--save-at", "17", "--state", "STATE" }, "pciesim: command line: --save-at 17: seq 17 is followed by the msi rows it caused (they are compared with it); save after the last of them, seq 18 (row 18)").SetName("save_at_before_msi_rows");
        yield return new TestCaseData(new[] { "--save-at", "x", "--state", "STATE" }, "pciesim: Cannot parse argument 'x' for option '--save-at'").SetName("save_at_not_a_number");
    }

    [TestCaseSource(nameof(UsageErrors))]
    public void bad_save_options_exit_2_and_write_nothing(string[] options, string message)
    {
        string state = TestTemp.NewFilePath("state.json"), output = TestTemp.NewFilePath("out.txt");
        string[] args = ["replay", Trace05(), "--out", output, .. options.Select(o => o == "STATE" ? state : o)];
        var (exit, stdout, stderr) = Run(args);
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(stdout, Is.Empty);
        Assert.That(stderr.Split('\n')[0], Does.StartWith(message));
        Assert.That(stderr, Does.Not.Contain("   at "));
        Assert.That(File.Exists(state) || File.Exists(output), Is.False, "nothing written");
        Assert.That(Folder(state).Concat(Folder(output)), Is.Empty, "no temporary file left");
    }

    [Test]
    public void bad_input_after_the_save_point_writes_no_state_and_keeps_the_old_one()
    {
        string trace = TestTemp.WriteFile("bad.csv", BadTail);
        string state = TestTemp.WriteFile("state.json", "old state");
        var (exit, stdout, stderr) = Run("replay", trace, "--save-at", "2", "--state", state);
        Assert.That((exit, stdout), Is.EqualTo((2, "")));
        Assert.That(stderr, Does.StartWith("pciesim: bad.csv:7:6: "));
        Assert.That(File.ReadAllText(state), Is.EqualTo("old state"));
        Assert.That(Folder(state), Is.EqualTo(new[] { "state.json" }));
    }

    [Test]
    public void restoring_into_a_different_topology_exits_2_naming_both_fingerprints()
    {
        string state = TestTemp.NewFilePath("state.json");
        Assert.That(Run("replay", Trace05(), "--save-at", "24", "--state", state).Exit, Is.Zero);
        string saved = File.ReadAllText(state);
        string topology = TestTemp.WriteFile("other.topo", "--pcie-root-complex rc0 --pcie-root-port rc0:rp0,hotplug,cc --pcie-endpoint nvme0,template=nvme --gic-msi its");
        string output = TestTemp.NewFilePath("out.txt");
        var (exit, stdout, stderr) = Run("replay", Trace05(), "--topology", topology, "--restore", state, "--out", output, "--save-at", "30", "--state", state);
        Assert.That((exit, stdout), Is.EqualTo((2, "")));
        Assert.That(stderr, Does.Match(@"^pciesim: state\.json: the state was saved for topology fingerprint sha256:[0-9a-f]{64} \(profile openvmm, 4 flags\); this replay's is sha256:[0-9a-f]{64} \(profile openvmm, 4 flags\): restore into the same topology and profile\n$"));
        Assert.That(File.ReadAllText(state), Is.EqualTo(saved), "the state file is unchanged");
        Assert.That(File.Exists(output), Is.False);

        var spec = Run("replay", Trace05(), "--profile", "spec", "--restore", state);
        Assert.That((spec.Exit, spec.Out), Is.EqualTo((2, "")));
        Assert.That(spec.Err, Does.Contain("(profile openvmm, 4 flags); this replay's is sha256:").And.Contain("(profile spec, 4 flags)"));
    }

    [Test]
    public void restoring_into_a_different_trace_exits_2()
    {
        string state = TestTemp.NewFilePath("state.json");
        Assert.That(Run("replay", Trace05(), "--save-at", "24", "--state", state).Exit, Is.Zero);
        string shifted = TestTemp.WriteFile("shifted.csv", File.ReadAllText(Trace05()).Replace("24,read,01:00.0@0x000", "124,read,01:00.0@0x000", StringComparison.Ordinal));
        var (exit, _, stderr) = Run("replay", shifted, "--restore", state);
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(stderr, Is.EqualTo("pciesim: state.json: the state was saved after row 24 (seq 24) of 05-pciehp-root-port-its.csv; row 24 of shifted.csv has seq 124: not the same trace\n"));
        string shorter = TestTemp.WriteFile("short.csv", string.Join('\n', File.ReadAllLines(Trace05()).Take(20)));
        Assert.That(Run("replay", shorter, "--restore", state).Err, Is.EqualTo("pciesim: state.json: the state was saved after row 24 of 05-pciehp-root-port-its.csv; short.csv has 14 data rows\n"));
    }

    [Test]
    public void a_missing_corrupt_or_future_state_file_exits_2()
    {
        var missing = Run("replay", Trace05(), "--restore", TestTemp.NewFilePath("no-such-state.json"));
        Assert.That((missing.Exit, missing.Out), Is.EqualTo((2, "")));
        Assert.That(missing.Err, Does.StartWith("pciesim: ").And.Contain("no-such-state.json"));

        var corrupt = Run("replay", Trace05(), "--restore", TestTemp.WriteFile("corrupt.json", "{\"format\": \"pciesim-state\", \"version\": 1,"));
        Assert.That((corrupt.Exit, corrupt.Out), Is.EqualTo((2, "")));
        Assert.That(corrupt.Err, Does.Match(@"^pciesim: corrupt\.json:1:\d+: not valid JSON: "));

        var future = Run("replay", Trace05(), "--restore", TestTemp.WriteFile("future.json", "{\"format\": \"pciesim-state\", \"version\": 2}"));
        Assert.That(future, Is.EqualTo((2, "", "pciesim: future.json: state format version 2 is not supported: this pciesim reads version 1\n")));
    }

    [Test]
    public void restore_cannot_emit_a_trace()
    {
        string state = TestTemp.NewFilePath("state.json"), emitted = TestTemp.NewFilePath("emitted.csv");
        Assert.That(Run("replay", Trace05(), "--save-at", "24", "--state", state).Exit, Is.Zero);
        var (exit, _, stderr) = Run("replay", Trace05(), "--restore", state, "--emit-trace", emitted);
        Assert.That((exit, stderr), Is.EqualTo((2, "pciesim: command line: --emit-trace writes a whole trace: it cannot start from --restore\n")));
        Assert.That(File.Exists(emitted), Is.False);
    }

    [Test]
    public void help_names_the_options()
    {
        var (exit, stdout, _) = Run("replay", "--help");
        Assert.That(exit, Is.Zero);
        Assert.That(stdout, Does.Contain("--save-at").And.Contain("--state").And.Contain("--restore"));
    }
}
