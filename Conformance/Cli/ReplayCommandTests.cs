using System.Text.Json;
using PcieSim.Cli;
using PcieSim.Conformance.Golden;
using PcieSim.Conformance.TestSupport;

namespace PcieSim.Conformance.Cli;

/// <summary><c>pciesim replay</c>: the JSON form, <c>--profile both</c>, <c>--emit-trace</c>, and output that is
/// written only by runs that completed.</summary>
public class ReplayCommandTests
{
    /// <summary>HPIE set with PDCE and DLLSCE clear: OpenVMM messages on hot-add, §6.7.3.4 does not.</summary>
    private const string ProfilesPartTrace = """
        # topology: --pcie-root-complex rc0 --pcie-root-port rc0:rp0,hotplug --pcie-endpoint ep0,template=generic
        seq,op,address,width,value,port,device,note
        1,write,00:00.0@0x080,4,0xfee00000,,,MSI address
        2,write,00:00.0@0x088,2,0x0041,,,MSI data
        3,write,00:00.0@0x07e,2,0x0001,,,MSI enable
        4,write,00:00.0@0x058,2,0x0020,,,HPIE only
        5,hot-add,,,,rp0,ep0,
        6,read,00:00.0@0x05a,2,0x0148,,,
        """;

    private static string Corpus() => TestCorpus.Directory;

    private static string Trace05 => Path.Combine(Corpus(), "05-pciehp-root-port-its.csv");

    public static IEnumerable<string> CorpusTraces() => TestCorpus.Traces();

    private static (int Exit, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter { NewLine = "\n" };
        var stderr = new StringWriter { NewLine = "\n" };
        int exit = PcieSimCommand.Run(args, stdout, stderr);
        return (exit, stdout.ToString(), stderr.ToString());
    }

    /// <summary>Writes a trace with LF line endings and a final newline to a new temporary folder; returns its path.</summary>
    private static string WriteTrace(string name, string text) => TestTemp.WriteFile(name, text.ReplaceLineEndings("\n") + "\n");

    [Test]
    public async Task json_snapshot_of_the_pciehp_trace()
    {
        var (exit, output, error) = Run("replay", Trace05, "--format", "json");
        Assert.That((exit, error), Is.EqualTo((0, "")));
        await Verifier.Verify(output);
    }

    [TestCaseSource(nameof(CorpusTraces))]
    public void json_and_text_snapshots_hold_the_same_records_events_and_counts(string trace)
    {
        string path = Path.Combine(Corpus(), trace);
        var (textExit, text, _) = Run("replay", path);
        var (jsonExit, json, _) = Run("replay", path, "--format", "json");
        Assert.That(jsonExit, Is.EqualTo(textExit));
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        Assert.That(root.GetProperty("format").GetString(), Is.EqualTo("pciesim-snapshot"));
        Assert.That(root.GetProperty("version").GetInt32(), Is.EqualTo(1));
        var lines = text.Split('\n');
        var records = root.GetProperty("records").EnumerateArray().ToList();
        Assert.That(records.Select(r => r.GetProperty("row").GetInt32()), Is.EqualTo(lines.Where(l => l.StartsWith('#')).Select(l => int.Parse(l[1..l.IndexOf(' ', StringComparison.Ordinal)], System.Globalization.CultureInfo.InvariantCulture))));
        Assert.That(records.Sum(r => r.GetProperty("events").GetArrayLength()), Is.EqualTo(lines.Count(l => l.StartsWith("    event: ", StringComparison.Ordinal))));
        Assert.That(records.Sum(r => r.GetProperty("violations").GetArrayLength()), Is.EqualTo(lines.Count(l => l.StartsWith("    violation: ", StringComparison.Ordinal))));
        Assert.That(records.Sum(r => r.GetProperty("mismatches").GetArrayLength()), Is.EqualTo(lines.Count(l => l.StartsWith("    MISMATCH: ", StringComparison.Ordinal))));
        var eventTexts = records.SelectMany(r => r.GetProperty("events").EnumerateArray().Select(e => "    event: " + e.GetProperty("text").GetString()));
        Assert.That(eventTexts, Is.EqualTo(lines.Where(l => l.StartsWith("    event: ", StringComparison.Ordinal))));
    }

    [Test]
    public async Task profile_both_prints_both_snapshots_then_their_differences()
    {
        var (exit, output, error) = Run("replay", WriteTrace("profiles-part.csv", ProfilesPartTrace), "--profile", "both");
        Assert.That(error, Is.Empty);
        Assert.That(exit, Is.EqualTo(3), "the openvmm run breaks HP-EDGE");
        Assert.That(output, Does.Contain("profile: openvmm\n").And.Contain("profile: spec\n").And.Contain("differences openvmm -> spec: "));
        await Verifier.Verify(output);
    }

    [Test]
    public void profile_both_in_json_is_one_document_with_both_snapshots_and_the_hunks()
    {
        var (_, output, _) = Run("replay", WriteTrace("profiles-part.csv", ProfilesPartTrace), "--profile", "both", "--format", "json");
        using var document = JsonDocument.Parse(output);
        var root = document.RootElement;
        Assert.That(root.GetProperty("format").GetString(), Is.EqualTo("pciesim-comparison"));
        var snapshots = root.GetProperty("snapshots").EnumerateArray().ToList();
        Assert.That(snapshots.Select(s => s.GetProperty("profile").GetString()), Is.EqualTo(new[] { "openvmm", "spec" }));
        var differences = root.GetProperty("differences").EnumerateArray().ToList();
        Assert.That(differences.SelectMany(d => d.GetProperty("removed").EnumerateArray()).Select(e => e.GetString()), Has.Some.Contains("hotplug MSI from rp0"));
    }

    [TestCaseSource(nameof(CorpusTraces))]
    public void an_emitted_trace_replays_to_the_same_snapshot(string trace)
    {
        string emitted = TestTemp.NewFilePath(trace);
        var (exit, original, _) = Run("replay", Path.Combine(Corpus(), trace), "--emit-trace", emitted);
        var (again, replayed, error) = Run("replay", emitted);
        Assert.That((again, error), Is.EqualTo((exit, "")));
        bool hasMsiRows = File.ReadLines(Path.Combine(Corpus(), trace)).Any(line => line.Contains(",msi,", StringComparison.Ordinal));
        if (!hasMsiRows && !original.Contains("  messages: 0 accepted", StringComparison.Ordinal))
        {
            // A trace that is not interrupt-complete (13: the profiles send different messages) gains msi rows from
            // the emitter, so its replay gains their records; it must still replay clean with the same events.
            Assert.That(replayed, Does.Contain("  mismatches: 0\n"));
            Assert.That(EventLines(replayed), Is.EqualTo(EventLines(original)));
            return;
        }

        Assert.That(replayed, Is.EqualTo(original), "same file name, same records, the model's values and messages");
    }

    private static List<string> EventLines(string snapshot) =>
        [.. snapshot.Split('\n').Where(line => line.StartsWith("    event: ", StringComparison.Ordinal))];

    [Test]
    public void emit_trace_fills_reads_and_messages_from_the_model()
    {
        string recorded = TestTemp.NewFilePath("unrecorded.csv");
        File.WriteAllText(recorded, """
            # topology: --pcie-root-complex rc0 --pcie-root-port rc0:rp0,hotplug --pcie-endpoint ep0,template=generic
            op,address,width,value,port,device
            read,00:00.0@0x000,4,,,
            write,00:00.0@0x080,4,0xfee00000,,
            write,00:00.0@0x07e,2,0x1,,
            write,00:00.0@0x058,2,0x1028,,
            hot-add,,,,rp0,ep0
            read,00:00.0@0x05a,2,,,

            """.ReplaceLineEndings("\n"));
        string emitted = TestTemp.NewFilePath("emitted.csv");
        var (exit, _, error) = Run("replay", recorded, "--emit-trace", emitted);
        Assert.That((exit, error), Is.EqualTo((0, "")));
        var rows = File.ReadAllLines(emitted).Where(l => !l.StartsWith('#')).ToList();
        Assert.That(rows, Is.EqualTo(new[]
        {
            "seq,op,address,width,value,port,device,note",
            ",read,0000:00:00.0@0x000,4,0xc0301414,,,",
            ",write,0000:00:00.0@0x080,4,0xfee00000,,,",
            ",write,0000:00:00.0@0x07e,2,0x1,,,",
            ",write,0000:00:00.0@0x058,2,0x1028,,,",
            ",hot-add,,,,rp0,ep0,",
            ",msi,0xfee00000,,0x0,,0x0,",
            ",read,0000:00:00.0@0x05a,2,0x148,,,",
        }));
        var (replayExit, _, _) = Run("replay", emitted);
        Assert.That(replayExit, Is.EqualTo(0), "the emitted trace is interrupt-complete and matches the model");
    }

    [Test]
    public void emit_trace_corrects_a_wrong_recorded_value()
    {
        string broken = WriteTrace("broken.csv", File.ReadAllText(Trace05).Replace("1,read,00:00.0@0x000,4,0xc0301414", "1,read,00:00.0@0x000,4,0xc0311414", StringComparison.Ordinal));
        string emitted = TestTemp.NewFilePath("fixed.csv");
        Assert.That(Run("replay", broken, "--emit-trace", emitted).Exit, Is.EqualTo(1));
        Assert.That(Run("replay", emitted).Exit, Is.EqualTo(0));
    }

    [Test]
    public void bad_input_after_many_rows_writes_nothing_anywhere()
    {
        string trace = WriteTrace("late-error.csv", File.ReadAllText(Trace05) + "33,hot-add,,,,rp9,nvme0,unknown port\n");
        string snapshot = Path.Combine(Path.GetDirectoryName(trace)!, "snapshot.txt");
        string emitted = Path.Combine(Path.GetDirectoryName(trace)!, "emitted.csv");
        File.WriteAllText(snapshot, "previous snapshot");
        File.WriteAllText(emitted, "previous trace");

        var (exit, output, error) = Run("replay", trace, "--out", snapshot, "--emit-trace", emitted, "--profile", "both");
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(error, Does.StartWith("pciesim: late-error.csv:").And.Contain("rp9"));
        Assert.That(output, Is.Empty);
        Assert.That(File.ReadAllText(snapshot), Is.EqualTo("previous snapshot"));
        Assert.That(File.ReadAllText(emitted), Is.EqualTo("previous trace"));
        Assert.That(Directory.GetFiles(Path.GetDirectoryName(trace)!).Select(Path.GetFileName), Is.EquivalentTo(new[] { "late-error.csv", "snapshot.txt", "emitted.csv" }), "no temporary file left");

        var (stdoutExit, stdoutOutput, _) = Run("replay", trace);
        Assert.That((stdoutExit, stdoutOutput), Is.EqualTo((2, "")), "nothing printed before the error either");
    }
}
