using System.Text;

namespace PcieSim.Conformance.Reliability;

/// <summary>
/// Issue 6, bad input for topology files, <c># topology:</c> lines and command-line flags, end to end: file, line
/// and column, exit code 2, no stack trace, and no file changed (the existing <c>--out</c> file included).
/// </summary>
[TestFixture]
public sealed class BadTopologyCliTests
{
    private const string Trace = "seq,op,address,width,value,port,device,note\n1,read,00:00.0@0x000,4,0xc0301414,,,\n2,hot-add,,,,rp0,nvme0,\n";

    private CliSandbox box = null!;

    [SetUp]
    public void SetUp() => box = new CliSandbox();

    [TearDown]
    public void TearDown() => box.Dispose();

    /// <summary>A trace with no topology of its own, replayed against <paramref name="topology"/> (file bad.topo).</summary>
    private string ReplayRejected(byte[] topology, string location, params string[] fragments)
    {
        string trace = box.Write("trace.csv", Trace);
        string topo = box.Write("bad.topo", topology);
        box.Rejected(["topology", topo], location, fragments);
        return box.Rejected(["replay", trace, "--topology", topo, "--out", box.OutPath], location, fragments);
    }

    private string ReplayRejected(string topology, string location, params string[] fragments) => ReplayRejected(Encoding.UTF8.GetBytes(topology), location, fragments);

    [Test]
    public void unknown_flag()
    {
        ReplayRejected("--pcie-root-complex rc0\n  --pcie-remote rp0\n", "bad.topo:2:3", "unknown flag '--pcie-remote' (known: --pcie-root-complex, --pcie-root-port");
    }

    [Test]
    public void malformed_and_out_of_range_values()
    {
        ReplayRejected("--pcie-root-complex rc0,segment=x\n", "bad.topo:1:33", "--pcie-root-complex rc0,segment=x: segment=x: expected a number, decimal or 0x hex (0..0xffff)");
        ReplayRejected("--pcie-root-complex rc0\n--pcie-root-port rc0:rp0,acs=0x10000\n", "bad.topo:2:30", "acs=0x10000 is out of range (allowed 0..0xffff)");
    }

    [Test]
    public void unknown_reference()
    {
        ReplayRejected("--pcie-root-complex rc0\n--pcie-root-port rc9:rp0\n", "bad.topo:2:18", "unknown root complex 'rc9' (known: rc0)");
    }

    [Test]
    public void flag_without_value()
    {
        ReplayRejected("--pcie-root-complex\n", "bad.topo:1:1", "--pcie-root-complex: missing value (NAME[,segment=S]");
    }

    [Test]
    public void binary_garbage_is_reported_at_its_line_and_column_and_never_quoted()
    {
        string error = ReplayRejected([.. Encoding.UTF8.GetBytes("--pcie-root-complex rc0\n--pcie-root-port rc0:rp0"), 0x00, .. Encoding.UTF8.GetBytes("\n")],
            "bad.topo:2:25", "found control character U+0000 (binary data?), expected UTF-8 text");
        Assert.That(error.IndexOf('\0', StringComparison.Ordinal), Is.EqualTo(-1), "the NUL is not printed");
        ReplayRejected([.. Encoding.UTF8.GetBytes("# x\n--pcie-root-complex rc"), 0xFF, .. Encoding.UTF8.GetBytes("0\n")], "bad.topo:2:23", "found invalid UTF-8 (U+FFFD), expected UTF-8 text");
        var noise = new byte[2048];
        new Random(61).NextBytes(noise);
        ReplayRejected(noise, "bad.topo:", "expected");
    }

    [Test]
    public void byte_order_mark_and_crlf_are_accepted()
    {
        const string Lf = "# demo\n--pcie-root-complex rc0\n--pcie-root-port rc0:rp0,hotplug\n--pcie-endpoint nvme0,template=nvme\n";
        string plain = box.Write("plain.topo", Lf);
        string windows = box.Write("windows.topo", [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(Lf.Replace("\n", "\r\n", StringComparison.Ordinal))]);
        var a = CliSandbox.Run("topology", plain);
        var b = CliSandbox.Run("topology", windows);
        string trace = box.Write("trace.csv", Trace);
        var c = CliSandbox.Run("replay", trace, "--topology", windows);
        Assert.Multiple(() =>
        {
            Assert.That((a.Exit, a.Err), Is.EqualTo((0, "")));
            Assert.That((b.Exit, b.Err, b.Out), Is.EqualTo((0, "", a.Out)));
            Assert.That((c.Exit, c.Err), Is.EqualTo((0, "")));
            Assert.That(c.Out, Does.Contain("hot-add"));
        });
    }

    [Test]
    public void missing_topology_file_or_a_folder()
    {
        string trace = box.Write("trace.csv", Trace);
        box.Rejected(["replay", trace, "--topology", box.Path("missing.topo"), "--out", box.OutPath], "missing.topo", "topology file not found: " + box.Path("missing.topo"));
        string folder = Directory.CreateDirectory(box.Path("dir.topo")).FullName;
        box.Rejected(["replay", trace, "--topology", folder, "--out", box.OutPath], "dir.topo", "found a folder, expected a topology file");
        box.Rejected(["topology", box.Path("missing.topo")], "missing.topo", "topology file not found");
        box.Rejected(["decode", "0x1000000000", "--topology", box.Path("missing.topo")], "missing.topo", "topology file not found");
    }

    [Test]
    public void bad_topology_line_in_a_trace_is_reported_at_the_trace_line_and_column()
    {
        const string Line2 = "# topology: --pcie-root-port rcX:rp0";
        string trace = box.Write("bad.csv", "# topology: --pcie-root-complex rc0\n" + Line2 + "\n" + Trace);
        int column = Line2.IndexOf("rcX", StringComparison.Ordinal) + 1;
        box.Rejected(["replay", trace, "--out", box.OutPath], "bad.csv:2:" + column.ToString(System.Globalization.CultureInfo.InvariantCulture), "unknown root complex 'rcX' (known: rc0)");
    }

    [Test]
    public void replacement_topology_without_what_the_trace_names()
    {
        string trace = box.Write("trace.csv", Trace);
        string topo = box.Write("other.topo", "--pcie-root-complex rc0 --pcie-root-port rc0:rp0 --pcie-endpoint nvme0,template=nvme\n");
        box.Rejected(["replay", trace, "--topology", topo, "--out", box.OutPath], "trace.csv:3:6", "column 'port': found 'rp0', which is not hot-plug capable, expected a hot-plug capable port: (none)");
    }

    [Test]
    public void cxl_is_rejected_as_not_modelled()
    {
        string error = ReplayRejected("--pcie-root-complex rc0,cxl\n", "bad.topo:1:25", "cxl");
        Assert.That(error, Does.Contain("not modelled").Or.Contain("not supported"));
    }

    /// <summary>Usage errors: exit 2, a <c>pciesim:</c> line naming the problem and a pointer to <c>--help</c>; nothing written.</summary>
    [TestCase("frob")]
    [TestCase("replay")]
    [TestCase("replay", "t.csv", "--frob")]
    [TestCase("replay", "t.csv", "--profile", "qemu")]
    [TestCase("replay", "t.csv", "--out")]
    [TestCase("verify", "--profile", "")]
    [TestCase("decode", "0x0")]
    public void usage_errors(params string[] args)
    {
        var before = box.Fingerprint();
        var (exit, output, error) = CliSandbox.Run(args);
        Assert.Multiple(() =>
        {
            Assert.That(exit, Is.EqualTo(2), error);
            Assert.That(output, Is.Empty);
            Assert.That(error, Does.StartWith("pciesim: ").And.EndWith("Try 'pciesim --help'.\n"));
            Assert.That(error, Does.Not.Contain("   at ").And.Not.Contain("Exception"));
            Assert.That(box.Fingerprint(), Is.EqualTo(before));
        });
    }

    [Test]
    public void bad_argument_values_name_what_was_found_and_expected()
    {
        string topo = box.Write("ok.topo", "--pcie-root-complex rc0\n");
        box.Rejected(["decode", "zz", "--topology", topo], "command line", "ADDRESS: found 'zz', expected 0x followed by 1 to 16 hex digits");
        box.Rejected(["decode", "0x10000000000000000", "--topology", topo], "command line", "ADDRESS: found '0x10000000000000000', expected 0x followed by 1 to 16 hex digits");
        box.Rejected(["verify", box.Path("nope")], "command line", "DIR: found '" + box.Path("nope") + "', which is not a folder, expected a folder of traces");
    }
}
