using System.Text.Json;
using PcieSim.Cli;
using PcieSim.Conformance.TestSupport;
using PcieSim.Files;
using PcieSim.Replay;

namespace PcieSim.Conformance.Replay;

/// <summary>
/// Replay from OpenVMM's pre-boot enumeration (issue 4, <c>--vmm-enumerate</c>): asked by the option or by the
/// trace's own <c># replay: --vmm-enumerate</c> line; run first and again right after every reset; shown in the
/// snapshot; a configuration OpenVMM cannot enumerate is bad input.
/// </summary>
[TestFixture]
public sealed class VmmEnumerateReplayTests
{
    private const string Topology =
        "# topology: --pcie-root-complex rc0 --pcie-root-port rc0:rp0 --pcie-root-port rc0:rp1,hotplug\n"
        + "# topology: --pcie-endpoint rp0:ep0,template=generic,bar0=1M\n";

    private string directory = null!;

    [SetUp]
    public void SetUp() => directory = TestTemp.NewFolder("vmm-enumerate");

    [TearDown]
    public void TearDown() => Directory.Delete(directory, recursive: true);

    private string Trace(string text)
    {
        string path = Path.Combine(directory, "t.csv");
        File.WriteAllText(path, text);
        return path;
    }

    private static TraceHeader Header(string text)
    {
        using var reader = new TraceReader(new StringReader(text), "t.csv");
        return reader.Header;
    }

    [Test]
    public void a_replay_line_before_the_header_asks_for_vmm_enumerate()
    {
        var header = Header("# a comment\n# replay: --vmm-enumerate\n" + Topology + "op,address\n");
        Assert.Multiple(() =>
        {
            Assert.That(header.VmmEnumerate, Is.True);
            Assert.That(header.VmmEnumerateLine, Is.EqualTo(2));
            Assert.That(header.Comments, Is.EqualTo(new[] { "a comment" }), "a replay line is not a comment");
        });
    }

    [Test]
    public void without_a_replay_line_the_trace_starts_cold()
    {
        var header = Header(Topology + "op,address\n");
        Assert.That(header.VmmEnumerate, Is.False);
    }

    [TestCase("# replay: --vmm-enumerate --fast\n", 1, 27, "found '--fast' in a '# replay:' line, expected --vmm-enumerate")]
    [TestCase("# replay:vmm-enumerate\n", 1, 10, "found 'vmm-enumerate'")]
    [TestCase("# replay:   \n", 1, 10, "found an empty '# replay:' line, expected --vmm-enumerate")]
    public void a_bad_replay_line_is_bad_input_with_line_and_column(string line, int lineNumber, int column, string message)
    {
        var error = Assert.Throws<InputException>(() => Header(line + Topology + "op,address\n"))!;
        Assert.Multiple(() =>
        {
            Assert.That((error.Line, error.Column), Is.EqualTo((lineNumber, column)), error.Message);
            Assert.That(error.Message, Does.StartWith(message));
        });
    }

    [Test]
    public void a_replay_line_after_the_header_row_is_bad_input()
    {
        string text = Topology + "op,address,width\nread,00:00.0@0x000,4\n# replay: --vmm-enumerate\n";
        var error = Assert.Throws<InputException>(() =>
        {
            using var reader = new TraceReader(new StringReader(text), "t.csv");
            while (reader.TryRead(out _))
            {
            }
        })!;
        Assert.Multiple(() =>
        {
            Assert.That(error.Line, Is.EqualTo(5));
            Assert.That(error.Message, Does.Contain("found a '# replay:' line after the header row (line 3)"));
        });
    }

    [Test]
    public void the_writer_writes_the_replay_line_and_keeps_a_replay_like_comment_a_comment()
    {
        var text = new StringWriter();
        using (var writer = new TraceWriter(text, ["--pcie-root-complex rc0"], ["replay: --vmm-enumerate is a comment here"], ["op"], leaveOpen: true, vmmEnumerate: true))
        {
        }

        var header = Header(text.ToString());
        Assert.Multiple(() =>
        {
            Assert.That(text.ToString(), Does.StartWith("#replay: --vmm-enumerate is a comment here\n# replay: --vmm-enumerate\n# topology: --pcie-root-complex rc0\n"));
            Assert.That(header.VmmEnumerateLine, Is.EqualTo(2));
            Assert.That(header.Comments, Is.EqualTo(new[] { "replay: --vmm-enumerate is a comment here" }));
        });
    }

    [Test]
    public void the_option_and_the_replay_line_give_the_same_snapshot()
    {
        string rows = "op,address,width,value\nread,00:00.0@0x018,4,0x00010100\nread,01:00.0@0x010,4,0x0000000c\nread,01:00.0@0x014,4,0x00000080\n";
        var (byOption, optionResult) = TraceReplayer.ReplayToText(Trace(Topology + rows), new ReplayOptions { VmmEnumerate = true });
        var (byLine, lineResult) = TraceReplayer.ReplayToText(Trace("# replay: --vmm-enumerate\n" + Topology + rows), new ReplayOptions());
        Assert.Multiple(() =>
        {
            Assert.That(optionResult.Mismatches, Is.Zero, byOption);
            Assert.That(lineResult.Mismatches, Is.Zero, byLine);
            Assert.That(byLine, Is.EqualTo(byOption));
            Assert.That(byOption, Does.Contain("\ninitial state: vmm-enumerate (OpenVMM's pre-boot enumeration and resource assignment; Command.MEM left clear)\n"
                + "  rc0: low_mmio 0xc0000000-0xc3ffffff, high_mmio 0x8000000000-0x803fffffff\n"
                + "    0000:00:00.0 rp0: buses 01-01, memory disabled, prefetchable 0x8000000000-0x80000fffff\n"
                + "      0000:01:00.0 ep0: BAR0 0x8000000000 size 0x100000 64-bit prefetchable\n"
                + "    0000:00:00.1 rp1: buses 02-02, memory disabled, prefetchable disabled\n"
                + "records:\n"));
        });
    }

    [Test]
    public void a_cold_replay_shows_no_enumeration()
    {
        var (snapshot, result) = TraceReplayer.ReplayToText(Trace(Topology + "op,address,width,value\nread,00:00.0@0x018,4,0x0\n"), new ReplayOptions());
        Assert.Multiple(() =>
        {
            Assert.That(result.Mismatches, Is.Zero, snapshot);
            Assert.That(snapshot, Does.Not.Contain("vmm-enumerate"));
        });
    }

    [Test]
    public void enumeration_runs_again_right_after_every_reset()
    {
        string rows = "op,address,width,value,port,device\n"
            + "write,00:00.1@0x018,4,0x00000000,,\n"
            + "read,00:00.1@0x018,4,0x00000000,,\n"
            + "hot-add,,,,rp1,ep1\n"
            + "reset,,,,,\n"
            + "read,00:00.1@0x018,4,0x00020200,,\n"
            + "read,02:00.0@0x010,4,0x0000000c,,\n"
            + "read,02:00.0@0x014,4,0x00000080,,\n";
        var (snapshot, result) = TraceReplayer.ReplayToText(
            Trace("# replay: --vmm-enumerate\n" + Topology + "# topology: --pcie-endpoint ep1,template=generic,bar0=2M\n" + rows), new ReplayOptions());
        Assert.Multiple(() =>
        {
            Assert.That(result.Mismatches, Is.Zero, snapshot);
            Assert.That(snapshot, Does.Contain("#4 reset (presence and links kept)\n    vmm-enumerate: OpenVMM's enumeration runs again after the reset\n"
                + "      rc0: low_mmio 0xc0000000-0xc3ffffff, high_mmio 0x8000000000-0x803fffffff\n"));
            Assert.That(snapshot, Does.Contain("          0000:02:00.0 ep1: BAR0 0x8000000000 size 0x200000 64-bit prefetchable\n"),
                "the hot-added endpoint is assigned, 2 MiB aligned first");
        });
    }

    [Test]
    public void without_vmm_enumerate_a_reset_leaves_the_reset_state()
    {
        string rows = "op,address,width,value\nwrite,00:00.0@0x018,4,0x00010100\nreset,,,\nread,00:00.0@0x018,4,0x00000000\n";
        var (snapshot, result) = TraceReplayer.ReplayToText(Trace(Topology + rows), new ReplayOptions());
        Assert.That(result.Mismatches, Is.Zero, snapshot);
    }

    [Test]
    public void an_enumeration_failure_is_bad_input_and_nothing_is_written()
    {
        string path = Trace("# replay: --vmm-enumerate\n# topology: --pcie-root-complex rc0,high_mmio=1M --pcie-root-port rc0:rp0\n"
            + "# topology: --pcie-endpoint rp0:ep0,template=generic,bar0=2M\nop,address\n");
        string output = Path.Combine(directory, "out.txt");
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int exit = PcieSimCommand.Run(["replay", path, "--out", output], stdout, stderr);
        Assert.Multiple(() =>
        {
            Assert.That(exit, Is.EqualTo(2));
            Assert.That(stderr.ToString(), Is.EqualTo(
                "pciesim: t.csv:1:1: --vmm-enumerate: OpenVMM's pre-boot enumeration fails, so OpenVMM would not start this VM: "
                + "rc0: high_mmio MMIO exhaustion: need 0x200000 bytes, have 0x100000" + Environment.NewLine));
            Assert.That(File.Exists(output), Is.False);
            Assert.That(stdout.ToString(), Is.Empty);
        });
    }

    [Test]
    public void an_enumeration_failure_after_a_reset_is_bad_input_at_the_reset_row()
    {
        // The hot-added endpoint's 2 MiB BAR does not fit the 1 MiB high aperture next to ep0's window.
        string path = Trace("# topology: --pcie-root-complex rc0,high_mmio=1M --pcie-root-port rc0:rp0 --pcie-root-port rc0:rp1,hotplug\n"
            + "# topology: --pcie-endpoint rp0:ep0,template=generic,bar0=4K --pcie-endpoint ep1,template=generic,bar0=2M\n"
            + "op,port,device\nhot-add,rp1,ep1\nreset,,\n");
        var error = Assert.Throws<InputException>(() => TraceReplayer.ReplayToText(path, new ReplayOptions { VmmEnumerate = true }))!;
        Assert.Multiple(() =>
        {
            Assert.That((error.Line, error.Column), Is.EqualTo((5, 1)));
            Assert.That(error.Message, Is.EqualTo("reset: OpenVMM's enumeration after the reset fails, so OpenVMM would not restart this VM: "
                + "rc0: high_mmio MMIO exhaustion: need 0x300000 bytes, have 0x100000"));
        });
    }

    [Test]
    public void the_json_snapshot_carries_the_enumeration_in_the_header_and_under_a_reset()
    {
        string path = Trace("# replay: --vmm-enumerate\n" + Topology + "op,address,width,value\nreset,,,\n");
        var stdout = new StringWriter();
        int exit = PcieSimCommand.Run(["replay", path, "--format", "json"], stdout, new StringWriter());
        using var document = JsonDocument.Parse(stdout.ToString());
        var root = document.RootElement;
        var rc = root.GetProperty("enumeration").GetProperty("rootComplexes")[0];
        var rp0 = rc.GetProperty("functions")[0];
        var ep0 = rp0.GetProperty("functions")[0];
        Assert.Multiple(() =>
        {
            Assert.That(exit, Is.Zero);
            Assert.That(root.EnumerateObject().Select(p => p.Name).Take(6), Is.EqualTo(new[] { "format", "version", "trace", "profile", "topology", "enumeration" }));
            Assert.That(rc.GetProperty("name").GetString(), Is.EqualTo("rc0"));
            Assert.That(rc.GetProperty("highMmio").GetProperty("base").GetString(), Is.EqualTo("0x8000000000"));
            Assert.That(rp0.GetProperty("name").GetString(), Is.EqualTo("rp0"));
            Assert.That(rp0.GetProperty("secondaryBus").GetInt32(), Is.EqualTo(1));
            Assert.That(rp0.GetProperty("memoryWindow").ValueKind, Is.EqualTo(JsonValueKind.Null));
            Assert.That(rp0.GetProperty("prefetchableWindow").GetProperty("limit").GetString(), Is.EqualTo("0x80000fffff"));
            Assert.That(ep0.GetProperty("bars")[0].GetProperty("address").GetString(), Is.EqualTo("0x8000000000"));
            Assert.That(ep0.GetProperty("text").GetString(), Is.EqualTo("0000:01:00.0 ep0: BAR0 0x8000000000 size 0x100000 64-bit prefetchable"));
            Assert.That(root.GetProperty("records")[0].GetProperty("enumeration").GetProperty("rootComplexes").GetArrayLength(), Is.EqualTo(1));
        });
    }

    [Test]
    public void an_emitted_trace_keeps_the_replay_line_and_replays_clean()
    {
        string path = Trace(Topology + "op,address,width,value\nread,00:00.0@0x018,4,\nreset,,,\nread,01:00.0@0x010,4,\n");
        string emitted = Path.Combine(directory, "emitted.csv");
        int exit = PcieSimCommand.Run(["replay", path, "--vmm-enumerate", "--emit-trace", emitted], new StringWriter(), new StringWriter());
        var header = Header(File.ReadAllText(emitted));
        var stdout = new StringWriter();
        int again = PcieSimCommand.Run(["replay", emitted], stdout, new StringWriter());
        Assert.Multiple(() =>
        {
            Assert.That(exit, Is.Zero);
            Assert.That(header.VmmEnumerate, Is.True);
            Assert.That(File.ReadAllText(emitted), Does.Contain("\n# replay: --vmm-enumerate\n# topology: ")
                .And.Contain("\n,read,0000:00:00.0@0x018,4,0x10100,,,\n,reset,,,,,,\n,read,0000:01:00.0@0x010,4,0xc,,,"));
            Assert.That(again, Is.Zero, stdout.ToString());
        });
    }

    [Test]
    public void the_console_option_starts_from_the_enumeration()
    {
        string path = Trace(Topology + "op,address,width,value\nread,00:00.0@0x018,4,0x00010100\n");
        var stdout = new StringWriter();
        int exit = PcieSimCommand.Run(["replay", path, "--vmm-enumerate"], stdout, new StringWriter());
        Assert.Multiple(() =>
        {
            Assert.That(exit, Is.Zero, stdout.ToString());
            Assert.That(stdout.ToString(), Does.Contain("initial state: vmm-enumerate"));
        });
    }
}
