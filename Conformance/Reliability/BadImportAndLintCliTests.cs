namespace PcieSim.Conformance.Reliability;

/// <summary>
/// Issue 6's bad-input care for <c>pciesim lint</c> and <c>pciesim import qemu</c>: one line with the file (or the
/// option) and what was found and expected, exit code 2, no stack trace, the existing output file unchanged and no
/// temporary file left.
/// </summary>
[TestFixture]
public sealed class BadImportAndLintCliTests
{
    private const string Trace =
        "# topology: --pcie-root-complex rc0 --pcie-root-port rc0:rp0,hotplug\n" +
        "seq,op,address,width,value,port,device,note\n1,read,00:00.0@0x000,4,0xc0301414,,,\n";

    private CliSandbox box = null!;

    [SetUp]
    public void SetUp() => box = new CliSandbox();

    [TearDown]
    public void TearDown() => box.Dispose();

    private byte[] Noise(int seed)
    {
        var bytes = new byte[3000];
        new Random(seed).NextBytes(bytes);
        bytes[0] = 0xFF; // never a valid first UTF-8 byte
        return bytes;
    }

    [Test]
    public void lint_rejects_binary_garbage_and_bad_rows()
    {
        box.Rejected(["lint", box.Write("garbage.csv", Noise(1)), "--out", box.OutPath], "garbage.csv:1:1", "found invalid UTF-8 (U+FFFD)", "expected UTF-8 text");
        box.Rejected(["lint", box.Write("bad.csv", Trace + "2,raed,,,,,,\n"), "--out", box.OutPath], "bad.csv:4:2", "column 'op': found 'raed', expected an op");
        box.Rejected(["lint", box.Write("empty.csv", ""), "--out", box.OutPath], "empty.csv:1:1", "found an empty trace");
    }

    [Test]
    public void lint_out_path_that_cannot_be_written()
    {
        string trace = box.Write("good.csv", Trace);
        box.Rejected(["lint", trace, "--out", box.Path("no-such-folder/report.txt")], "command line", "--out: found '", "whose folder does not exist, expected a file path in an existing folder");
        box.Rejected(["lint", trace, "--out", box.Folder], "command line", "which is a folder, expected a file path");
    }

    [Test]
    public void import_rejects_a_log_with_no_qemu_event()
    {
        box.Rejected(["import", "qemu", box.Write("garbage.log", Noise(2)), "--out", box.OutPath], "garbage.log:1:1", "found no QEMU trace event, expected a log of -trace pci_cfg_read");
        box.Rejected(["import", "qemu", box.Write("empty.log", ""), "--out", box.OutPath], "empty.log:1:1", "found no QEMU trace event");
        box.Rejected(["import", "qemu", box.Path("missing.log"), "--out", box.OutPath], "missing.log", "log file not found");
        Directory.CreateDirectory(box.Path("logs"));
        box.Rejected(["import", "qemu", box.Path("logs"), "--out", box.OutPath], "logs", "found a folder");
    }

    [Test]
    public void import_rejects_a_bad_event_log_or_topology()
    {
        string log = box.Write("cfg.log", "pci_cfg_read virtio-net-pci 00:00.0 @0x0 -> 0x10001af4\n");
        box.Rejected(["import", "qemu", log, "--events", box.Write("garbage.events", Noise(3)), "--out", box.OutPath], "garbage.events:", "expected");
        box.Rejected(["import", "qemu", log, "--topology", box.Write("bad.topo", "--pcie-root-complex rc0\n--pcie-root-port rc9:rp0\n"), "--out", box.OutPath], "bad.topo:2:18", "unknown root complex 'rc9'");
    }

    [Test]
    public void import_out_path_that_cannot_be_written()
    {
        string log = box.Write("cfg.log", "pci_cfg_read virtio-net-pci 00:00.0 @0x0 -> 0x10001af4\n");
        string error = box.Rejected(["import", "qemu", log, "--out", box.Path("no-such-folder/t.csv")], "command line", "--out: found '", "whose folder does not exist");
        Assert.That(error, Does.Not.Contain(".tmp-"), "the temporary file's name is not the user's business");
    }
}
