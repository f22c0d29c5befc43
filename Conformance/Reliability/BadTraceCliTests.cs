using System.Text;

namespace PcieSim.Conformance.Reliability;

/// <summary>
/// Issue 6, "bad input gets a clear error, and nothing is lost", for traces, end to end through <c>pciesim replay</c>:
/// one test per case of the list. Each asserts the one-line message (file, line, column, what was found and
/// what was expected), exit code 2, no stack trace, nothing on standard output, and that the existing <c>--out</c>
/// file and every other file of the folder are unchanged (no temporary file left beside them).
/// </summary>
[TestFixture]
public sealed class BadTraceCliTests
{
    /// <summary>Lines 1-2: the topology (rp0 hot-plug and empty, ep1 cold-plugged in rp1, nvme0 and nvme1 unplugged).</summary>
    private const string Topology =
        "# topology: --pcie-root-complex rc0 --pcie-root-port rc0:rp0,hotplug --pcie-root-port rc0:rp1\n" +
        "# topology: --pcie-endpoint nvme0,template=nvme --pcie-endpoint nvme1,template=nvme --pcie-endpoint rp1:ep1,template=generic,msi=1\n";

    /// <summary>Line 3: the header; line 4: a valid first row. A bad row written after it is line 5.</summary>
    private const string Head = Topology + "seq,op,address,width,value,port,device,note\n1,read,00:00.0@0x000,4,0xc0301414,,,\n";

    private CliSandbox box = null!;

    [SetUp]
    public void SetUp() => box = new CliSandbox();

    [TearDown]
    public void TearDown() => box.Dispose();

    /// <summary>The trace is rejected by <c>replay</c> to standard output, to <c>--out</c>, and under both profiles with <c>--emit-trace</c>.</summary>
    private string Rejected(string trace, string location, params string[] fragments) => Rejected(Encoding.UTF8.GetBytes(trace), location, fragments);

    private string Rejected(byte[] trace, string location, params string[] fragments)
    {
        string path = box.Write("bad.csv", trace);
        box.Rejected(["replay", path], location, fragments);
        box.Rejected(["replay", path, "--profile", "both", "--out", box.OutPath, "--emit-trace", box.Path("emitted.csv")], location, fragments);
        return box.Rejected(["replay", path, "--out", box.OutPath], location, fragments);
    }

    [Test]
    public void no_header()
    {
        Rejected(Topology, "bad.csv:2:1", "found only comments and empty lines", "expected a header row naming the columns (seq,op,address,width,value,port,device,note)");
        Rejected(Topology + "1,read,00:00.0@0x000,4,,,,\n", "bad.csv:3:1", "column 1 of the header: found '1', expected one of seq, op, address");
    }

    [Test]
    public void header_without_op()
    {
        Rejected(Topology + "seq,address,width\n1,00:00.0@0x000,4\n", "bad.csv:3:1", "found no 'op' column", "expected a header with an 'op' column (found seq,address,width)");
    }

    [Test]
    public void duplicate_column()
    {
        Rejected(Topology + "seq,op,address,op\n", "bad.csv:3:4", "column 4 of the header: found a second 'op' column (the first is column 2), expected each column once");
    }

    [Test]
    public void unknown_column()
    {
        Rejected(Topology + "seq,op,adress,width\n", "bad.csv:3:3", "column 3 of the header: found 'adress', expected one of seq, op, address, width, value, port, device, note");
    }

    [Test]
    public void unknown_op()
    {
        Rejected(Head + "2,raed,00:00.0@0x000,4,,,,\n", "bad.csv:5:2", "column 'op': found 'raed', expected an op (read, write, hot-add, hot-remove, reset, msi, mmio-read, mmio-write, raise, exact lower case)");
    }

    [Test]
    public void malformed_hex()
    {
        Rejected(Head + "2,write,00:00.0@0x004,2,0x1g,,,\n", "bad.csv:5:5", "column 'value': found '0x1g', expected a hex number (0x followed by 1-16 hex digits)");
        Rejected(Head + "2,read,0x10_0000_0000,4,,,,\n", "bad.csv:5:3", "column 'address': found '0x10_0000_0000', expected a hex number");
    }

    [Test]
    public void value_wider_than_its_width()
    {
        Rejected(Head + "2,write,00:00.0@0x004,2,0x10000,,,\n", "bad.csv:5:5", "column 'value': found '0x10000', expected a value that fits in the width of 2 bytes (at most 0xffff)");
    }

    [Test]
    public void width_not_a_number()
    {
        Rejected(Head + "2,read,00:00.0@0x004,two,,,,\n", "bad.csv:5:4", "column 'width': found 'two', expected a decimal integer");
    }

    [Test]
    public void ecam_address_in_no_window()
    {
        Rejected(Head + "2,read,0x2000000000,4,,,,\n", "bad.csv:5:3",
            "column 'address': found ECAM address 0x2000000000, which is in no root complex's ECAM window, expected an address in an ECAM window: rc0 0x1000000000-0x100fffffff");
    }

    [Test]
    public void malformed_configuration_address()
    {
        Rejected(Head + "2,read,00:00.0@0x1000,4,,,,\n", "bad.csv:5:3", "column 'address': found '00:00.0@0x1000', expected ", "a register 0x0-0xfff");
        Rejected(Head + "2,read,00:20.0@0x0,4,,,,\n", "bad.csv:5:3", "found '00:20.0@0x0', expected ", "a device 00-1f");
    }

    [Test]
    public void segment_with_no_root_complex()
    {
        Rejected(Head + "2,read,0001:00:00.0@0x000,4,,,,\n", "bad.csv:5:3", "column 'address': found segment 0001, which has no root complex, expected a segment with a root complex: 0000");
    }

    [Test]
    public void unknown_port()
    {
        Rejected(Head + "2,hot-add,,,,rpX,nvme0,\n", "bad.csv:5:6", "column 'port': found 'rpX', which is no port of the topology, expected a hot-plug capable port: rp0");
        Rejected(Head + "2,hot-remove,,,,rpX,,\n", "bad.csv:5:6", "column 'port': found 'rpX', which is no port of the topology");
        Rejected(Head + "2,hot-add,,,,rp1,nvme0,\n", "bad.csv:5:6", "column 'port': found 'rp1', which is not hot-plug capable, expected a hot-plug capable port: rp0");
    }

    [Test]
    public void unknown_endpoint()
    {
        Rejected(Head + "2,hot-add,,,,rp0,nvmeX,\n", "bad.csv:5:7", "column 'device': found 'nvmeX', which is no endpoint of the topology, expected an endpoint waiting unplugged: nvme0, nvme1");
        Rejected(Head + "2,raise,,,0x0,,nvmeX,\n", "bad.csv:5:7", "column 'device': found 'nvmeX', which is no endpoint of the topology, expected a plugged-in endpoint: ep1");
        Rejected(Head + "2,raise,,,0x0,,nvme0,\n", "bad.csv:5:7", "column 'device': found 'nvme0', which is not plugged in (it waits for a hot-add), expected a plugged-in endpoint: ep1");
        Rejected(Head + "2,hot-add,,,,rp0,ep1,\n", "bad.csv:5:7", "column 'device': found 'ep1', which is already plugged into 'rp1', expected an endpoint waiting unplugged: nvme0, nvme1");
    }

    [Test]
    public void raise_of_a_vector_the_endpoint_does_not_have()
    {
        string error = Rejected(Head + "2,raise,,,0x1,,ep1,\n", "bad.csv:5:5", "column 'value': found vector 1, expected a vector 0..0: 'ep1' signals through MSI now, with 1 vector(s)");
        Assert.That(error, Does.Not.Contain("Parameter"), "no ArgumentException text");
    }

    [Test]
    public void hot_add_to_an_occupied_port()
    {
        Rejected(Head + "2,hot-add,,,,rp0,nvme0,\n3,hot-add,,,,rp0,nvme1,\n", "bad.csv:6:6", "column 'port': found 'rp0', which already holds 'nvme0', expected an empty hot-plug port (hot-remove 'nvme0' first)");
    }

    [Test]
    public void hot_remove_from_an_empty_port()
    {
        Rejected(Head + "2,hot-remove,,,,rp0,,\n", "bad.csv:5:6", "column 'port': found 'rp0', which is empty, expected a port holding an endpoint (hot-add one first)");
        Rejected(Head + "2,hot-add,,,,rp0,nvme0,\n3,hot-remove,,,,rp0,nvme1,\n", "bad.csv:6:7", "column 'device': found 'nvme1', but 'rp0' holds 'nvme0', expected 'nvme0' or an empty field");
    }

    [Test]
    public void topology_line_after_the_header()
    {
        Rejected(Head + "# topology: --gic-msi its\n2,reset,,,,,,\n", "bad.csv:5:1", "found a '# topology:' line after the header row (line 3), expected topology lines before the header row");
    }

    [Test]
    public void no_topology_at_all()
    {
        Rejected("# a comment\nseq,op\n1,reset\n", "bad.csv:1:1", "found no '# topology:' lines and no --topology option, expected '# topology:' lines before the header row or a --topology FILE");
    }

    [Test]
    public void empty_file()
    {
        Rejected("", "bad.csv:1:1", "found an empty trace, expected a header row naming the columns");
        Rejected([0xEF, 0xBB, 0xBF], "bad.csv:1:1", "found an empty trace");
    }

    [Test]
    public void truncated_last_line()
    {
        // Cut mid-record with no line break: the row is short of its width.
        Rejected(Head + "2,write,00:00.0@0x004", "bad.csv:5:4", "column 'width': found nothing, expected a width for op 'write'");

        // Cut inside a quoted note.
        Rejected(Head + "2,reset,,,,,,\"cut in the mid", "bad.csv:5:1", "found malformed CSV (a quoted field that is never closed", "expected RFC 4180 fields");
    }

    [Test]
    public void record_over_64_kib_is_reported_without_reading_further()
    {
        // Line 5 is one byte over 64 KiB; line 6 would be a different error if the reader went on.
        string note = new('n', (64 * 1024) - "2,reset,,,,,,".Length + 1);
        string trace = Head + "2,reset,,,,,," + note + "\n3,no-such-op,,,,,,\n";
        Assert.That(Encoding.UTF8.GetByteCount(trace.Split('\n')[4]), Is.EqualTo((64 * 1024) + 1));
        string error = Rejected(trace, "bad.csv:5:1", "found a line longer than the maximum record size, expected at most 65536 bytes (64 KiB)");
        Assert.That(error, Does.Not.Contain("no-such-op"));
    }

    [Test]
    public void binary_garbage()
    {
        byte[] png = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52];
        Rejected(png, "bad.csv:1:1", "found invalid UTF-8 (U+FFFD) at character 1, expected UTF-8 text");
        Rejected([.. Encoding.UTF8.GetBytes("# c\n"), .. png.AsSpan(6)], "bad.csv:2:1", "found control character U+001A at character 1 (binary data?), expected UTF-8 text");
        Rejected([.. Encoding.UTF8.GetBytes(Head + "2,reset,,,,,,a"), 0x00, 0x01, .. Encoding.UTF8.GetBytes("\n")], "bad.csv:5:1", "found control character U+0000 at character 15 (binary data?), expected UTF-8 text");
        Rejected([.. Encoding.UTF8.GetBytes(Head + "2,reset,,,,,,"), 0xC3, 0x28, .. Encoding.UTF8.GetBytes("\n")], "bad.csv:5:1", "found invalid UTF-8 (U+FFFD) at character 14, expected UTF-8 text");
        var random = new Random(6);
        var noise = new byte[4096];
        random.NextBytes(noise);
        Rejected(noise, "bad.csv:", "expected UTF-8 text");
    }

    [Test]
    public void byte_order_mark_and_crlf_are_accepted()
    {
        string lf = Head + "2,write,00:00.0@0x004,2,0x0006,,,\n3,hot-add,,,,rp0,nvme0,\n";
        string plain = box.Write("plain/trace.csv", lf);
        string windows = box.Write("windows/trace.csv", [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(lf.Replace("\n", "\r\n", StringComparison.Ordinal))]);
        var a = CliSandbox.Run("replay", plain);
        var b = CliSandbox.Run("replay", windows);
        Assert.Multiple(() =>
        {
            Assert.That((a.Exit, a.Err), Is.EqualTo((0, "")));
            Assert.That((b.Exit, b.Err), Is.EqualTo((0, "")));
            Assert.That(b.Out, Is.EqualTo(a.Out), "BOM and CRLF change nothing in the snapshot");
            Assert.That(a.Out, Does.Contain("#3 hot-add"));
        });
    }

    [Test]
    public void trace_file_not_found_or_a_folder()
    {
        box.Rejected(["replay", box.Path("missing.csv"), "--out", box.OutPath], "missing.csv", "trace file not found: " + box.Path("missing.csv"));
        string folder = Directory.CreateDirectory(box.Path("folder.csv")).FullName;
        box.Rejected(["replay", folder, "--out", box.OutPath], "folder.csv", "found a folder, expected a trace file");
    }

    [Test]
    public void error_after_many_good_rows_writes_nothing()
    {
        var trace = new StringBuilder(Head);
        for (int seq = 2; seq < 2000; seq++)
        {
            trace.Append(seq).Append(",read,00:00.0@0x000,4,0xc0301414,,,\n");
        }

        trace.Append("2000,hot-remove,,,,rp0,,\n");
        Rejected(trace.ToString(), "bad.csv:2003:6", "found 'rp0', which is empty");
    }

    [Test]
    public void out_path_that_cannot_be_written()
    {
        string trace = box.Write("good.csv", Head);
        box.Rejected(["replay", trace, "--out", box.Path("no-such-folder/out.txt")], "command line", "--out: found '", "whose folder does not exist, expected a file path in an existing folder");
        box.Rejected(["replay", trace, "--out", box.Folder], "command line", "--out: found '", "which is a folder, expected a file path");
        box.Rejected(["replay", trace, "--emit-trace", box.Path("no-such-folder/t.csv")], "command line", "--emit-trace: found '", "whose folder does not exist");
    }

    [Test]
    public void successful_run_replaces_the_out_file_atomically()
    {
        string trace = box.Write("good.csv", Head);
        var (exit, output, error) = CliSandbox.Run("replay", trace, "--out", box.OutPath);
        Assert.That((exit, output, error), Is.EqualTo((0, "", "")));
        Assert.That(File.ReadAllText(box.OutPath), Does.StartWith("pciesim snapshot v1\ntrace: good.csv\n"));
        Assert.That(Directory.GetFiles(box.Folder).Select(Path.GetFileName), Is.EquivalentTo(new[] { "good.csv", "out.txt" }), "no temporary file left");
    }
}
