namespace PcieSim.Conformance.Reliability;

/// <summary>
/// Issue 6: <c>pciesim verify --accept</c> never replaces a golden file with the output of a run that failed, and a
/// bad golden file is reported, not a crash. A run that completed is accepted as before.
/// </summary>
[TestFixture]
public sealed class VerifyAcceptTests
{
    private const string Topology = "# topology: --pcie-root-complex rc0 --pcie-root-port rc0:rp0,hotplug --pcie-endpoint nvme0,template=nvme\n";
    private const string GoodTrace = Topology + "seq,op,address,width,value,port,device,note\n1,read,00:00.0@0x000,4,0xc0301414,,,\n2,hot-add,,,,rp0,nvme0,\n";

    /// <summary>Fails at its last row (line 5), after rows that replay.</summary>
    private const string FailingTrace = GoodTrace + "3,hot-add,,,,rp0,nvme0,\n";

    private const string OldGolden = "pciesim snapshot v1\nan old golden file";

    private CliSandbox box = null!;

    [SetUp]
    public void SetUp() => box = new CliSandbox();

    [TearDown]
    public void TearDown() => box.Dispose();

    private string Golden(string name) => box.Path("traces/" + name + ".openvmm.verified.txt");

    [Test]
    public void accept_never_replaces_a_golden_file_with_a_failed_run()
    {
        box.Write("traces/bad.csv", FailingTrace);
        box.Write("traces/bad.openvmm.verified.txt", OldGolden);
        var before = box.Fingerprint();
        var (exit, output, error) = CliSandbox.Run("verify", box.Path("traces"), "--profile", "openvmm", "--accept");
        Assert.Multiple(() =>
        {
            Assert.That(exit, Is.EqualTo(2));
            Assert.That(error, Is.Empty);
            Assert.That(output, Does.Contain("failed    bad.csv [openvmm]: bad.csv:5:6: column 'port': found 'rp0', which already holds 'nvme0'"));
            Assert.That(output, Does.EndWith("verify: 1 traces, 0 equal or accepted, 0 new or different, 1 failed\n"));
            Assert.That(box.Fingerprint(), Is.EqualTo(before), "the golden file is untouched and no received file is written");
        });
    }

    [Test]
    public void accept_replaces_only_the_golden_files_of_runs_that_completed()
    {
        box.Write("traces/a-good.csv", GoodTrace);
        box.Write("traces/a-good.openvmm.verified.txt", OldGolden);
        box.Write("traces/b-bad.csv", FailingTrace);
        box.Write("traces/b-bad.openvmm.verified.txt", OldGolden);
        var (exit, output, _) = CliSandbox.Run("verify", box.Path("traces"), "--profile", "openvmm", "--accept");
        Assert.Multiple(() =>
        {
            Assert.That(exit, Is.EqualTo(2), "a failed trace fails the verify run");
            Assert.That(output, Does.Contain("different a-good.csv [openvmm] (accepted)"));
            Assert.That(File.ReadAllText(Golden("a-good")), Does.StartWith("pciesim snapshot v1\ntrace: a-good.csv\n"));
            Assert.That(File.ReadAllText(Golden("b-bad")), Is.EqualTo(OldGolden));
            Assert.That(File.Exists(box.Path("traces/b-bad.openvmm.received.txt")), Is.False);
            Assert.That(Directory.GetFiles(box.Path("traces")).Select(Path.GetFileName).Where(f => f!.Contains(".tmp", StringComparison.Ordinal)), Is.Empty);
        });
    }

    [Test]
    public void golden_file_with_carriage_returns_is_a_failed_trace_not_a_crash()
    {
        box.Write("traces/t.csv", GoodTrace);
        box.Write("traces/t.openvmm.verified.txt", "pciesim snapshot v1\r\nold");
        var (exit, output, error) = CliSandbox.Run("verify", box.Path("traces"), "--profile", "openvmm", "--accept");
        Assert.Multiple(() =>
        {
            Assert.That(exit, Is.EqualTo(2));
            Assert.That(error, Does.Not.Contain("Exception").And.Not.Contain("   at "));
            Assert.That(output, Does.Contain("failed    t.csv [openvmm]: ").And.Contain("t.openvmm.verified.txt contains carriage returns"));
            Assert.That(File.ReadAllText(Golden("t")), Is.EqualTo("pciesim snapshot v1\r\nold"), "never replaced, even with --accept");
            Assert.That(File.ReadAllText(box.Path("traces/t.openvmm.received.txt")), Does.StartWith("pciesim snapshot v1\ntrace: t.csv\n"), "the received text is there to compare");
        });
    }

    [Test]
    public void without_accept_a_difference_writes_only_the_received_file()
    {
        box.Write("traces/t.csv", GoodTrace);
        box.Write("traces/t.openvmm.verified.txt", OldGolden);
        var (exit, output, _) = CliSandbox.Run("verify", box.Path("traces"), "--profile", "openvmm");
        Assert.Multiple(() =>
        {
            Assert.That(exit, Is.EqualTo(1));
            Assert.That(output, Does.Contain("different t.csv [openvmm]\n"));
            Assert.That(File.ReadAllText(Golden("t")), Is.EqualTo(OldGolden));
            Assert.That(File.Exists(box.Path("traces/t.openvmm.received.txt")), Is.True);
        });
    }
}
