using System.Runtime.CompilerServices;
using PcieSim.Conformance.TestSupport;

namespace PcieSim.Conformance.Cli;

/// <summary><c>pciesim import qemu</c> and the input checks of <c>pciesim record qemu</c> from the console: exit codes, standard error, nothing written on bad input.</summary>
public class ImportCommandTests
{
    private string directory = null!;

    private static string Fixture(string name, [CallerFilePath] string source = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(source)!, "..", "Import", "Fixtures", name));

    [SetUp]
    public void CreateDirectory() => directory = TestTemp.NewFolder("import");

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(directory, recursive: true);

    private (int Exit, string Stdout, string Stderr) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int exit = PcieSim.Cli.PcieSimCommand.Run(args, stdout, stderr);
        return (exit, stdout.ToString(), stderr.ToString());
    }

    [Test]
    public void import_writes_the_trace_and_reports_every_line_on_standard_error()
    {
        string log = Path.Combine(directory, "guest.log");
        File.WriteAllLines(log, [.. File.ReadAllLines(Fixture("pci-cfg-plain.log")), "qemu-system-x86_64: terminating on signal 15"]);
        string events = Path.Combine(directory, "guest.events");
        File.WriteAllText(events, "# actions\n50 hot-add rp-04.0 hp0\n");
        string trace = Path.Combine(directory, "guest.csv");
        var (exit, stdout, stderr) = Run("import", "qemu", log, "--events", events, "--out", trace);
        Assert.That(exit, Is.Zero, stderr);
        Assert.That(stdout, Is.Empty);
        Assert.That(stderr, Is.EqualTo(
            "pciesim: import qemu: guest.log: 110 lines -> 107 configuration rows, 0 msi rows, 0 mmio rows, 1 hotplug rows; 1 unknown and 0 malformed lines\n"
            + "pciesim: import qemu: guest.log: unknown lines: 1: text that is no trace event (1): lines 110\n"));
        Assert.That(File.ReadAllText(trace), Does.Contain("\n,hot-add,,,,rp-04.0,hp0,QMP device_add\n"));
        Assert.That(Run("replay", trace).Exit, Is.EqualTo(1), "the imported trace replays (its values are QEMU's, so they differ)");
    }

    [Test]
    public void a_missing_log_is_bad_input_and_nothing_is_written()
    {
        string trace = Path.Combine(directory, "out.csv");
        var (exit, _, stderr) = Run("import", "qemu", Path.Combine(directory, "none.log"), "--out", trace);
        Assert.That((exit, stderr), Is.EqualTo((2, "pciesim: none.log: log file not found: " + Path.Combine(directory, "none.log") + "\n")));
        Assert.That(Directory.GetFiles(directory), Is.Empty);
    }

    [Test]
    public void a_bad_event_log_is_bad_input_with_its_position_and_nothing_is_written()
    {
        string events = Path.Combine(directory, "bad.events");
        File.WriteAllText(events, "12 hot-plug rp0 hp0\n");
        var (exit, _, stderr) = Run("import", "qemu", Fixture("pci-cfg-plain.log"), "--events", events, "--out", Path.Combine(directory, "out.csv"));
        Assert.That((exit, stderr), Is.EqualTo((2, "pciesim: bad.events:1:4: found action 'hot-plug', expected hot-add or hot-remove\n")));
        Assert.That(File.Exists(Path.Combine(directory, "out.csv")), Is.False);
    }

    [Test]
    public void record_checks_its_inputs_before_starting_qemu()
    {
        string topology = Path.Combine(directory, "t.topo");
        File.WriteAllText(topology, "--pcie-root-complex rc0 --pcie-root-port rc0:rp0,addr=2,hotplug --pcie-endpoint hp0,template=generic\n");
        var generic = Run("record", "qemu", "--topology", topology, "--kernel", "/nonexistent/vmlinuz", "--out", Path.Combine(directory, "r.csv"));
        Assert.That(generic.Exit, Is.EqualTo(2));
        Assert.That(generic.Stderr, Does.StartWith("pciesim: t.topo: found endpoint 'hp0' with template=generic, expected template=nvme"));

        File.WriteAllText(topology, "--pcie-root-complex rc0 --pcie-root-port rc0:rp0,addr=2,hotplug --pcie-endpoint hp0,template=nvme\n");
        var kernel = Run("record", "qemu", "--topology", topology, "--hotplug", "rp0:hp0", "--kernel", "/nonexistent/vmlinuz", "--out", Path.Combine(directory, "r.csv"));
        Assert.That((kernel.Exit, kernel.Stderr), Is.EqualTo((2, "pciesim: command line: kernel not found: /nonexistent/vmlinuz\n")));
        var hotplug = Run("record", "qemu", "--topology", topology, "--hotplug", "rp0", "--kernel", "/nonexistent/vmlinuz", "--out", Path.Combine(directory, "r.csv"));
        Assert.That((hotplug.Exit, hotplug.Stderr), Is.EqualTo((2, "pciesim: command line: --hotplug 'rp0': expected PORT:ENDPOINT\n")));
        Assert.That(Directory.GetFiles(directory), Is.EqualTo(new[] { topology }));
    }
}
