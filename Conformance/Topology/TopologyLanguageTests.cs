using PcieSim.Topology.Language;

namespace PcieSim.Conformance.Topology;

/// <summary>The topology language: OpenVMM's command-line grammar into a resolved <see cref="TopologySpec"/>.</summary>
[TestFixture]
public partial class TopologyLanguageTests
{
    private const string Source = "test.topo";

    private static TopologySpec Parse(string text) => TopologyParser.Parse(text, Source);

    /// <summary>Parses text that must fail; checks where, and that the message holds every fragment.</summary>
    private static InputException Fails(string text, int line, int column, params string[] fragments)
    {
        InputException error = Assert.Throws<InputException>(() => Parse(text))!;
        Assert.Multiple(() =>
        {
            Assert.That(error.Source, Is.EqualTo(Source), error.Message);
            Assert.That(error.Line, Is.EqualTo(line), error.Message);
            Assert.That(error.Column, Is.EqualTo(column), error.Message);
            foreach (string fragment in fragments)
            {
                Assert.That(error.Message, Does.Contain(fragment));
            }
        });
        return error;
    }

    private static RootComplexSpec Rc(TopologySpec spec, string name) => spec.RootComplexes.Single(rc => rc.Name == name);

    private static RootPortSpec Port(TopologySpec spec, string name) =>
        spec.RootComplexes.SelectMany(rc => rc.Ports).Single(p => p.Name == name);

    [Test]
    public void empty_text_gives_empty_topology()
    {
        TopologySpec spec = Parse("  # only a comment\n\n");
        Assert.Multiple(() =>
        {
            Assert.That(spec.RootComplexes, Is.Empty);
            Assert.That(spec.Switches, Is.Empty);
            Assert.That(spec.Endpoints, Is.Empty);
            Assert.That(spec.GicMsi, Is.Null);
            Assert.That(spec.IgnoredOptions, Is.Empty);
            Assert.That(spec.NormalisedFlags, Is.Empty);
        });
    }

    [Test]
    public void pasted_openvmm_command_line()
    {
        TopologySpec spec = Parse(
            "--pcie-root-complex rc0,segment=0,start_bus=0,end_bus=255,low_mmio=4M,high_mmio=1G "
            + "--pcie-root-port rc0:rc0rp1,hotplug --pcie-switch rc0rp1:switch0,num_downstream_ports=4 "
            + "--pcie-switch switch0-downstream-0:switch1");
        RootComplexSpec rc = Rc(spec, "rc0");
        Assert.Multiple(() =>
        {
            Assert.That(rc.LowMmioSize, Is.EqualTo(4UL << 20));
            Assert.That(rc.HighMmioSize, Is.EqualTo(1UL << 30));
            Assert.That(rc.EcamBase, Is.EqualTo(0x10_0000_0000UL));
            Assert.That(rc.EcamSize, Is.EqualTo(0x1000_0000UL));
            Assert.That(rc.Ports.Single().Name, Is.EqualTo("rc0rp1"));
            Assert.That(rc.Ports.Single().Options.Hotplug, Is.True);
            Assert.That(rc.Ports.Single().Devfn, Is.EqualTo(0));
            Assert.That(rc.Ports.Single().SlotNumber, Is.EqualTo(1));
            Assert.That(spec.Switches.Select(s => s.Name), Is.EqualTo(new[] { "switch0", "switch1" }));
            Assert.That(spec.Switches[0].ParentPort, Is.EqualTo("rc0rp1"));
            Assert.That(spec.Switches[1].ParentPort, Is.EqualTo("switch0-downstream-0"));
            Assert.That(spec.Switches[1].DownstreamPorts, Has.Count.EqualTo(4));
            Assert.That(spec.IgnoredOptions, Is.Empty, "the apertures are --vmm-enumerate's");
        });
    }

    [Test]
    public void comments_and_multi_line_files()
    {
        const string text = """
            # A two-level topology.
            --pcie-root-complex rc0   # the only RC
            --pcie-root-port rc0:rp0 --pcie-root-port rc0:rp1,hotplug,cc   # two ports on one line

            --pcie-endpoint rp1:nvme0,template=nvme#comment right after
            """;
        TopologySpec spec = Parse(text);
        Assert.Multiple(() =>
        {
            Assert.That(Rc(spec, "rc0").Ports.Select(p => p.Name), Is.EqualTo(new[] { "rp0", "rp1" }));
            Assert.That(Port(spec, "rp1").Options, Is.EqualTo(new PortOptions(true, true, 0x005F, false)));
            Assert.That(spec.Endpoints.Single().Port, Is.EqualTo("rp1"));
        });
    }

    [Test]
    public void crlf_line_endings_and_tabs()
    {
        TopologySpec spec = Parse("--pcie-root-complex\trc0\r\n--pcie-root-port rc0:rp0\r\n");
        Assert.That(Port(spec, "rp0").RootComplex, Is.EqualTo("rc0"));
    }

    [Test]
    public void value_may_follow_its_flag_on_the_next_line()
    {
        TopologySpec spec = Parse("--pcie-root-complex\nrc0");
        Assert.That(spec.RootComplexes.Single().Name, Is.EqualTo("rc0"));
    }

    [Test]
    public void trace_header_lines_keep_their_own_line_and_column_offsets()
    {
        var lines = new[]
        {
            new TopologySourceLine("run.trace", 3, 12, "--pcie-root-complex rc0"),
            new TopologySourceLine("run.trace", 4, 12, "--pcie-root-port rc0:rp0"),
            new TopologySourceLine("run.trace", 5, 12, "--pcie-root-port rc1:rp1"),
        };
        InputException error = Assert.Throws<InputException>(() => TopologyParser.Parse(lines))!;
        Assert.Multiple(() =>
        {
            Assert.That(error.Source, Is.EqualTo("run.trace"));
            Assert.That(error.Line, Is.EqualTo(5));
            // "--pcie-root-port " is 17 characters: the value starts at index 17, column 12 + 17 + 1.
            Assert.That(error.Column, Is.EqualTo(30));
            Assert.That(error.Message, Is.EqualTo("--pcie-root-port rc1:rp1: unknown root complex 'rc1' (known: rc0)"));
            Assert.That(error.Describe(), Does.StartWith("run.trace:5:30: "));
        });
    }

    [Test]
    public void multi_source_lines_resolve_together()
    {
        var lines = new[]
        {
            new TopologySourceLine("a.trace", 1, 12, "--pcie-root-port rc0:rp0"),
            new TopologySourceLine("b.topo", 1, 0, "--pcie-root-complex rc0"),
        };
        TopologySpec spec = TopologyParser.Parse(lines);
        Assert.Multiple(() =>
        {
            Assert.That(spec.RootComplexes.Single().Ports.Single().Name, Is.EqualTo("rp0"));
            // Flag order is kept in the canonical list, even though the port came before its root complex.
            Assert.That(spec.NormalisedFlags[0], Does.StartWith("--pcie-root-port rc0:rp0,"));
            Assert.That(spec.NormalisedFlags[1], Does.StartWith("--pcie-root-complex rc0,"));
        });
    }

    [Test]
    public void normalised_flags_are_canonical_and_in_input_order()
    {
        TopologySpec spec = Parse(
            "--pcie-root-complex rc0,low_mmio=64M,preserve_bars --pcie-root-port rc0:rp0,hotplug "
            + "--pcie-root-port rc0:rp1,addr=0x1f.7,acs=0,pasid --pcie-root-port rc0:rp2,addr=31 "
            + "--pcie-switch rp0:sw,num_downstream_ports=2 "
            + "--pcie-endpoint sw-downstream-0:ep,template=generic,bar0=64K,msix=8 --pcie-endpoint n,template=nvme "
            + "--gic-msi v2m --pcie-ecam-below-4gb");
        Assert.That(
            spec.NormalisedFlags,
            Is.EqualTo(new[]
            {
                "--pcie-root-complex rc0,segment=0,start_bus=0,end_bus=255,ecam_base=0x1000000000,low_mmio=0x4000000,high_mmio=0x40000000",
                "--pcie-root-port rc0:rp0,addr=0x00.0,hotplug,acs=0x005f",
                "--pcie-root-port rc0:rp1,addr=0x1f.7,acs=0x0000,pasid",
                "--pcie-root-port rc0:rp2,addr=0x1f.0,acs=0x005f",
                "--pcie-switch rp0:sw,num_downstream_ports=2,acs=0x005f",
                "--pcie-endpoint sw-downstream-0:ep,template=generic,vendor=0x1414,device=0x0000,class=0xff0000,subsystem=0x1414:0x2000,bar0=0x10000,msix=8@bar2",
                "--pcie-endpoint n,template=nvme",
                "--gic-msi v2m,frame=0xeffe8000,spi_base=928,spi_count=64",
            }));
    }

    [Test]
    public void normalised_flags_parse_back_to_the_same_topology()
    {
        TopologySpec first = Parse(
            "--pcie-root-complex rc0,segment=1,start_bus=16,end_bus=31 --amd-iommu rc0 --pcie-root-port rc0:a "
            + "--pcie-root-port rc0:b,addr=3,hotplug,cc --pcie-switch a:s,num_downstream_ports=9,acs=0x1f "
            + "--pcie-endpoint s-downstream-8:e,template=generic,vendor=0x8086,device=0x1234,class=0x020000,"
            + "subsystem=1:2,bar0=1M,bar4=4G,msi=4,msix=100@bar2 --gic-msi its");
        TopologySpec second = Parse(string.Join("\n", first.NormalisedFlags));
        Assert.Multiple(() =>
        {
            Assert.That(second.NormalisedFlags, Is.EqualTo(first.NormalisedFlags));
            Assert.That(second.RootComplexes[0].Ports.Select(p => p.Devfn), Is.EqualTo(first.RootComplexes[0].Ports.Select(p => p.Devfn)));
            Assert.That(second.RootComplexes[0].EcamBase, Is.EqualTo(first.RootComplexes[0].EcamBase));
            Assert.That(second.Endpoints[0].BarSizes, Is.EqualTo(first.Endpoints[0].BarSizes));
            Assert.That(second.GicMsi, Is.EqualTo(first.GicMsi));
        });
    }
}
