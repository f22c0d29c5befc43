using PcieSim.Topology.Language;

namespace PcieSim.Conformance.Topology;

public partial class TopologyLanguageTests
{
    private const ulong OneMb = 1UL << 20;
    private const ulong OneGb = 1UL << 30;

    private static RootComplexSpec OneRc(string value) =>
        Parse("--pcie-root-complex " + value).RootComplexes.Single();

    [TestCase("rc0", "rc0", 0, 0, 255, 64 * OneMb, OneGb)]
    [TestCase("rc1,segment=1", "rc1", 1, 0, 255, 64 * OneMb, OneGb)]
    [TestCase("rc2,start_bus=32", "rc2", 0, 32, 255, 64 * OneMb, OneGb)]
    [TestCase("rc3,end_bus=31", "rc3", 0, 0, 31, 64 * OneMb, OneGb)]
    [TestCase("rc4,start_bus=32,end_bus=127,high_mmio=2G", "rc4", 0, 32, 127, 64 * OneMb, 2 * OneGb)]
    [TestCase("rc5,segment=2,start_bus=32,end_bus=127", "rc5", 2, 32, 127, 64 * OneMb, OneGb)]
    [TestCase("rc6,low_mmio=1M,high_mmio=64G", "rc6", 0, 0, 255, OneMb, 64 * OneGb)]
    [TestCase("rc7,segment=0x10,start_bus=0x80,end_bus=0xff,low_mmio=0x100000", "rc7", 16, 128, 255, OneMb, OneGb)]
    public void test_pcie_root_complex_from_str(
        string value, string name, int segment, int startBus, int endBus, ulong lowMmio, ulong highMmio)
    {
        RootComplexSpec rc = OneRc(value);
        Assert.Multiple(() =>
        {
            Assert.That(rc.Name, Is.EqualTo(name));
            Assert.That(rc.Segment, Is.EqualTo(segment));
            Assert.That(rc.StartBus, Is.EqualTo(startBus));
            Assert.That(rc.EndBus, Is.EqualTo(endBus));
            Assert.That(rc.LowMmioSize, Is.EqualTo(lowMmio));
            Assert.That(rc.HighMmioSize, Is.EqualTo(highMmio));
            Assert.That(rc.LowMmioBase, Is.Null);
            Assert.That(rc.HighMmioBase, Is.Null);
            Assert.That(rc.AmdIommu, Is.False);
            Assert.That(rc.FirstPortDevice, Is.EqualTo(0));
            Assert.That(rc.ReservedDeviceMask, Is.EqualTo(0u));
            Assert.That(rc.Ports, Is.Empty);
        });
    }

    // OpenVMM's error cases, each with where it points and what it says.
    [TestCase("poorly,", 28, "empty option")]
    [TestCase("configured,complex", 32, "unknown option 'complex'", "segment=")]
    [TestCase("fails,start_bus=foo", 37, "start_bus=foo: expected a number")]
    [TestCase("fails,start_bus=32,end_bus=31", 40, "start_bus=32 is greater than end_bus=31")]
    [TestCase("rc,start_bus=256", 34, "start_bus=256 is out of range (allowed 0..255)")]
    [TestCase("rc,end_bus=256", 32, "end_bus=256 is out of range (allowed 0..255)")]
    [TestCase("rc,low_mmio=5G", 33, "low_mmio=5G is out of range", "32 bits")]
    [TestCase("rc,low_mmio=4G", 33, "low_mmio=4G is out of range")]
    [TestCase("rc,low_mmio=aG", 33, "low_mmio=aG: expected a size")]
    [TestCase("rc,high_mmio=bad", 34, "high_mmio=bad: expected a size")]
    [TestCase("rc,high_mmio", 24, "'high_mmio' needs a value")]
    [TestCase("rc,segment=0x10000", 32, "segment=0x10000 is out of range (allowed 0..0xffff)")]
    [TestCase("rc,cxl", 24, "cxl is not modelled")]
    [TestCase("rc,preserve_bars=1", 24, "'preserve_bars' is a bare flag and takes no value")]
    [TestCase("rc,segment=", 24, "'segment=' has an empty value")]
    [TestCase("rc,segment=1,segment=2", 34, "option 'segment' given twice (first as 'segment=1')")]
    [TestCase("rc,ecam_base=0x12345", 34, "not a multiple of 1 MiB")]
    [TestCase("rc,ecam_base=0xfffffffffff00000,end_bus=1", 34, "runs past the top of the address space")]
    [TestCase("rc,hdm=lots", 28, "hdm=lots: expected a size")]
    [TestCase("rc,node=0x100000000", 29, "node=0x100000000 is out of range")]
    [TestCase("r:c", 21, "invalid root complex name 'r:c'")]
    public void test_pcie_root_complex_from_str_errors(string value, int column, params string[] fragments)
    {
        InputException error = Fails("--pcie-root-complex " + value, 1, column, fragments);
        Assert.That(error.Message, Does.StartWith("--pcie-root-complex " + value + ": "));
    }

    [Test]
    public void root_complex_ignored_options_are_recorded_and_apertures_kept()
    {
        TopologySpec spec = Parse(
            "--pcie-root-complex rc0,low_mmio_base=0xC0000000,high_mmio_base=0x8000000000,preserve_bars,hdm=2G,"
            + "hdm_window_restrictions=0x3,node=1,low_mmio=32M --pcie-ecam-below-4gb");
        RootComplexSpec rc = spec.RootComplexes.Single();
        Assert.Multiple(() =>
        {
            Assert.That(rc.LowMmioBase, Is.EqualTo(0xC000_0000UL));
            Assert.That(rc.HighMmioBase, Is.EqualTo(0x80_0000_0000UL));
            Assert.That(rc.LowMmioSize, Is.EqualTo(32 * OneMb));
            Assert.That(rc.HighMmioSize, Is.EqualTo(OneGb));
            Assert.That(
                spec.IgnoredOptions.Select(o => o.Option),
                Is.EqualTo(new[]
                {
                    "preserve_bars", "hdm=2G", "hdm_window_restrictions=0x3", "node=1", string.Empty,
                }));
            Assert.That(spec.IgnoredOptions[0].Flag, Is.EqualTo("--pcie-root-complex rc0"));
            Assert.That(spec.IgnoredOptions[^1].Flag, Is.EqualTo("--pcie-ecam-below-4gb"));
        });
    }

    [Test]
    public void ecam_below_4gb_needs_a_root_complex()
    {
        Fails("--pcie-ecam-below-4gb", 1, 1, "--pcie-ecam-below-4gb: needs a --pcie-root-complex");
    }

    [Test]
    public void accepts_disjoint_ranges()
    {
        TopologySpec spec = Parse(
            "--pcie-root-complex rc0,start_bus=0,end_bus=63\n"
            + "--pcie-root-complex rc1,start_bus=64,end_bus=127\n"
            + "--pcie-root-complex rc2,segment=1,start_bus=0,end_bus=255");
        Assert.That(spec.RootComplexes.Select(rc => (rc.Name, rc.StartBus, rc.EndBus)),
            Is.EqualTo(new[] { ("rc0", (byte)0, (byte)63), ("rc1", (byte)64, (byte)127), ("rc2", (byte)0, (byte)255) }));
    }

    [Test]
    public void rejects_inverted_bus_range()
    {
        Fails(
            "--pcie-root-complex rc0,start_bus=10,end_bus=5",
            1,
            38,
            "--pcie-root-complex rc0,start_bus=10,end_bus=5: start_bus=10 is greater than end_bus=5");
    }

    [Test]
    public void rejects_overlapping_ranges_on_same_segment()
    {
        Fails(
            "--pcie-root-complex rc0,start_bus=0,end_bus=63\n--pcie-root-complex rc1,start_bus=63,end_bus=127",
            2,
            21,
            "buses 63..127 on segment 0 overlap root complex 'rc0' (buses 0..63",
            "test.topo:1:1");
    }

    [Test]
    public void overlapping_bus_ranges_on_different_segments_are_fine()
    {
        TopologySpec spec = Parse("--pcie-root-complex rc0 --pcie-root-complex rc1,segment=1");
        Assert.That(Rc(spec, "rc1").EcamBase, Is.EqualTo(0x11_0000_0000UL));
    }

    [Test]
    public void ecam_base_defaults_per_segment_block_and_start_bus()
    {
        TopologySpec spec = Parse("""
            --pcie-root-complex a,start_bus=64,end_bus=127
            --pcie-root-complex b,start_bus=16,end_bus=31
            --pcie-root-complex c,start_bus=200,end_bus=255
            --pcie-root-complex d,segment=2,start_bus=8,end_bus=8
            --pcie-root-complex e,segment=2,start_bus=9,end_bus=20
            --pcie-root-complex f,segment=0xFFFF
            """);
        Assert.Multiple(() =>
        {
            // Segment 0's lowest start bus is 16 (rc b): a sits 48 MiB in, c 184 MiB in. Gaps are allowed.
            Assert.That(Rc(spec, "b").EcamBase, Is.EqualTo(0x10_0000_0000UL));
            Assert.That(Rc(spec, "a").EcamBase, Is.EqualTo(0x10_0000_0000UL + (48 * OneMb)));
            Assert.That(Rc(spec, "c").EcamBase, Is.EqualTo(0x10_0000_0000UL + (184 * OneMb)));
            Assert.That(Rc(spec, "d").EcamBase, Is.EqualTo(0x12_0000_0000UL));
            Assert.That(Rc(spec, "e").EcamBase, Is.EqualTo(0x12_0010_0000UL));
            Assert.That(Rc(spec, "f").EcamBase, Is.EqualTo(0x10_0000_0000UL + (0xFFFFUL << 32)));
            Assert.That(Rc(spec, "a").EcamSize, Is.EqualTo(64 * OneMb));
            Assert.That(Rc(spec, "d").EcamSize, Is.EqualTo(OneMb));
            Assert.That(spec.RootComplexes.Select(rc => rc.EcamBaseExplicit), Has.All.False);
        });
    }

    [Test]
    public void explicit_ecam_base_is_honoured()
    {
        TopologySpec spec = Parse("--pcie-root-complex rc0,start_bus=4,end_bus=7,ecam_base=0xE0000000");
        RootComplexSpec rc = spec.RootComplexes.Single();
        Assert.Multiple(() =>
        {
            Assert.That(rc.EcamBase, Is.EqualTo(0xE000_0000UL));
            Assert.That(rc.EcamBaseExplicit, Is.True);
            Assert.That(rc.EcamSize, Is.EqualTo(4 * OneMb));
        });
    }

    [Test]
    public void rejects_overlapping_ecam_windows()
    {
        Fails(
            "--pcie-root-complex rc0,start_bus=0,end_bus=15\n--pcie-root-complex rc1,segment=3,ecam_base=0x1000f00000",
            2,
            45,
            "ECAM window 0x1000f00000..0x1010efffff overlaps root complex 'rc0''s ECAM window 0x1000000000..0x1000ffffff");
    }

    [Test]
    public void amd_iommu_moves_ports_to_device_1_and_reserves_device_20()
    {
        TopologySpec spec = Parse(
            "--pcie-root-complex rc0,end_bus=127 --pcie-root-complex rc1,start_bus=128 --pcie-root-complex rc2,segment=1 "
            + "--amd-iommu rc0 --amd-iommu rc1 --amd-iommu rc2 --pcie-root-port rc0:p0 --pcie-root-port rc1:p1");
        Assert.Multiple(() =>
        {
            Assert.That(Rc(spec, "rc0").AmdIommu, Is.True);
            Assert.That(Rc(spec, "rc0").FirstPortDevice, Is.EqualTo(1));
            Assert.That(Rc(spec, "rc0").ReservedDeviceMask, Is.EqualTo(1u << 20));
            Assert.That(Rc(spec, "rc1").ReservedDeviceMask, Is.EqualTo(0u), "start_bus is not 0");
            Assert.That(Rc(spec, "rc2").ReservedDeviceMask, Is.EqualTo(0u), "segment is not 0");
            Assert.That(Port(spec, "p0").Devfn, Is.EqualTo(8));
            Assert.That(Port(spec, "p1").Devfn, Is.EqualTo(8));
            Assert.That(spec.NormalisedFlags, Does.Contain("--amd-iommu rc1"));
        });
    }

    [Test]
    public void amd_iommu_errors()
    {
        Fails("--amd-iommu rc9", 1, 13, "--amd-iommu rc9: unknown root complex 'rc9' (no --pcie-root-complex is declared)");
        Fails(
            "--pcie-root-complex rc0 --pcie-root-complex rc1,segment=1 --amd-iommu rc0\n--amd-iommu rc0",
            2,
            1,
            "root complex 'rc0' already has an AMD IOMMU");
        Fails("--pcie-root-complex rc0 --amd-iommu rc0,x", 1, 41, "unknown option 'x' (allowed: none)");
        Fails(
            "--pcie-root-complex rc0 --amd-iommu rc0 --pcie-root-port rc0:p,addr=0.1",
            1,
            64,
            "port 'p' at 00.1 collides with the amd-iommu");
    }

    [Test]
    public void amd_iommu_reserved_device_20_rejects_explicit_port()
    {
        Fails(
            "--pcie-root-complex rc0 --amd-iommu rc0 --pcie-root-port rc0:bad,addr=0x14",
            1,
            66,
            "port 'bad' would land at 14.0, but device 20 (0x14) of root complex 'rc0' is reserved");
    }

    [Test]
    public void amd_iommu_reserved_device_20_rejects_automatic_port()
    {
        // Ports fill devices 1..19 (152 ports); the 153rd would land on device 20.
        string ports = string.Concat(Enumerable.Range(0, 153).Select(i => $" --pcie-root-port rc0:p{i}"));
        InputException error = Assert.Throws<InputException>(() => Parse("--pcie-root-complex rc0 --amd-iommu rc0" + ports))!;
        Assert.That(error.Message, Does.Contain("port 'p152' would land at 14.0"));
    }
}
