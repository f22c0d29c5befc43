using PcieSim.Cli;
using PcieSim.Conformance.Golden;
using PcieSim.Conformance.TestSupport;

namespace PcieSim.Conformance.Cli;

/// <summary><c>pciesim topology</c> and <c>pciesim decode</c> end to end, through the console front.</summary>
public class TopologyCommandTests
{
    /// <summary>
    /// traces/topologies/demo.topo: 2 root complexes on 2 segments, a hotplug root port, a switch with 2 downstream
    /// ports behind another root port, an unplugged NVMe and an AMD IOMMU.
    /// </summary>
    private static string DemoPath([System.Runtime.CompilerServices.CallerFilePath] string source = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(source)!, "..", "..", "traces", "topologies", "demo.topo"));

    private static string Demo => File.ReadAllText(DemoPath());

    private static (int Exit, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter { NewLine = "\n" };
        var stderr = new StringWriter { NewLine = "\n" };
        int exit = PcieSimCommand.Run(args, stdout, stderr);
        return (exit, stdout.ToString(), stderr.ToString());
    }

    private static string WriteTopology(string text) => TestTemp.WriteFile("test.topo", text);

    [Test]
    public async Task topology_tree_two_segments_switch_unplugged_nvme_and_iommu()
    {
        var (exit, output, error) = Run("topology", DemoPath());
        Assert.That((exit, error), Is.EqualTo((0, "")));
        await Verifier.Verify(output);
    }

    [Test]
    public async Task topology_dot()
    {
        var (exit, output, _) = Run("topology", WriteTopology(Demo), "--dot");
        Assert.That(exit, Is.EqualTo(0));
        Assert.That(output, Does.StartWith("digraph pcie {"));
        await Verifier.Verify(output);
    }

    [Test]
    public void decode_start_bus_register_names_root_complex_bdf_register_and_path()
    {
        var (exit, output, _) = Run("decode", "0x1000008058", "--topology", WriteTopology(Demo));
        Assert.That(exit, Is.EqualTo(0));
        Assert.That(output, Does.Contain("root complex  rc0 (segment 0000").And.Contain("bdf           0000:00:01.0").And.Contain("register      0x058 PCIe SlotControl").And.Contain("path          rc0 > rp0 (T0)"));
    }

    [Test]
    public void decode_unroutable_address_prints_reason_and_exits_0()
    {
        var (exit, output, _) = Run("decode", "0x1000101000", "--topology", WriteTopology(Demo));
        Assert.That(exit, Is.EqualTo(0));
        Assert.That(output, Does.Contain("unroutable    no root port's bus range holds the bus"));
        var (exit2, output2, _) = Run("decode", "0x20", "--topology", WriteTopology(Demo));
        Assert.That((exit2, output2), Is.EqualTo((0, "address       0x20\nunroutable    no root complex's ECAM window holds this address\n")));
    }

    [Test]
    public void bad_topology_is_exit_2_with_file_line_column_and_no_stack_trace()
    {
        var (exit, output, error) = Run("topology", WriteTopology("--pcie-root-complex rc0\n--pcie-root-port rc9:p0\n"));
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(output, Is.Empty);
        Assert.That(error, Does.Match(@"^pciesim: test\.topo:2:\d+: .*unknown root complex 'rc9'"));
        Assert.That(error, Does.Not.Contain("   at "));
    }

    [Test]
    public void usage_errors_exit_2()
    {
        Assert.That(Run("frob").Exit, Is.EqualTo(2));
        Assert.That(Run("decode", "zz", "--topology", WriteTopology(Demo)).Exit, Is.EqualTo(2));
        Assert.That(Run("topology", "/nonexistent/file.topo").Exit, Is.EqualTo(2));
    }

    [Test]
    public void help_and_version_exit_0()
    {
        var help = Run("topology", "--help");
        Assert.That(help.Exit, Is.EqualTo(0));
        Assert.That(help.Out, Does.Contain("--dot"));
        var version = Run("--version");
        Assert.That(version.Exit, Is.EqualTo(0));
        Assert.That(version.Out, Does.StartWith("0.1.0"));
    }
}
