using PcieSim.Topology.Language;

namespace PcieSim.Conformance.Topology;

public partial class TopologyLanguageTests
{
    private const string EndpointPrefix = "--pcie-root-complex rc0 --pcie-root-port rc0:rp0\n";

    private static EndpointSpec OneEndpoint(string value) =>
        Parse(EndpointPrefix + "--pcie-endpoint " + value).Endpoints.Single();

    [Test]
    public void nvme_template_is_openvmms_nvme_emulator()
    {
        EndpointSpec ep = OneEndpoint("rp0:nvme0,template=nvme");
        Assert.Multiple(() =>
        {
            Assert.That(ep.Name, Is.EqualTo("nvme0"));
            Assert.That(ep.Port, Is.EqualTo("rp0"));
            Assert.That(ep.Template, Is.EqualTo(EndpointTemplate.Nvme));
            Assert.That(ep.VendorId, Is.EqualTo(0x1414));
            Assert.That(ep.DeviceId, Is.EqualTo(0x00A9));
            Assert.That(ep.RevisionId, Is.EqualTo(0));
            Assert.That(ep.ClassCode, Is.EqualTo(0x010802u));
            Assert.That(ep.SubsystemVendorId, Is.EqualTo(0));
            Assert.That(ep.SubsystemId, Is.EqualTo(0));
            Assert.That(ep.BarSizes, Is.EqualTo(new ulong[] { 0x10000, 0, 0, 0, 1032, 0 }));
            Assert.That(ep.MsiVectors, Is.EqualTo(0));
            Assert.That(ep.MsixVectors, Is.EqualTo(64));
            Assert.That(ep.MsixBar, Is.EqualTo(4));
        });
    }

    [Test]
    public void endpoint_without_port_is_unplugged()
    {
        EndpointSpec ep = OneEndpoint("spare,template=nvme");
        Assert.Multiple(() =>
        {
            Assert.That(ep.Port, Is.Null);
            Assert.That(ep.Name, Is.EqualTo("spare"));
        });
    }

    [Test]
    public void generic_template_defaults()
    {
        EndpointSpec ep = OneEndpoint("rp0:g,template=generic");
        Assert.Multiple(() =>
        {
            Assert.That(ep.Template, Is.EqualTo(EndpointTemplate.Generic));
            Assert.That(ep.VendorId, Is.EqualTo(0x1414));
            Assert.That(ep.DeviceId, Is.EqualTo(0));
            Assert.That(ep.RevisionId, Is.EqualTo(0));
            Assert.That(ep.ClassCode, Is.EqualTo(0xFF0000u));
            Assert.That(ep.SubsystemVendorId, Is.EqualTo(0x1414));
            Assert.That(ep.SubsystemId, Is.EqualTo(0x2000));
            Assert.That(ep.BarSizes, Is.EqualTo(new ulong[6]));
            Assert.That(ep.MsiVectors, Is.EqualTo(0));
            Assert.That(ep.MsixVectors, Is.EqualTo(0));
        });
    }

    [Test]
    public void generic_template_options()
    {
        EndpointSpec ep = OneEndpoint(
            "rp0:g,template=generic,vendor=0x8086,device=4660,class=0x020000,subsystem=0x1af4:0x1100,bar2=2M,bar4=0x1000K,msi=32,msix=2048@bar0");
        Assert.Multiple(() =>
        {
            Assert.That(ep.VendorId, Is.EqualTo(0x8086));
            Assert.That(ep.DeviceId, Is.EqualTo(4660));
            Assert.That(ep.ClassCode, Is.EqualTo(0x020000u));
            Assert.That(ep.SubsystemVendorId, Is.EqualTo(0x1AF4));
            Assert.That(ep.SubsystemId, Is.EqualTo(0x1100));
            // msix=2048: 2048 × 16 table bytes + 32 PBA QWORDs.
            Assert.That(ep.BarSizes, Is.EqualTo(new ulong[] { 32768 + 256, 0, 2UL << 20, 0, 0x1000UL << 10, 0 }));
            Assert.That(ep.MsiVectors, Is.EqualTo(32));
            Assert.That(ep.MsixVectors, Is.EqualTo(2048));
            Assert.That(ep.MsixBar, Is.EqualTo(0));
        });
    }

    [TestCase("bar0=4K,msix=1", 2, 24UL)]
    [TestCase("bar0=4K,bar2=8K,msix=65", 4, (65 * 16) + 16UL)]
    [TestCase("msix=64", 0, 1032UL)]
    public void msix_bar_defaults_to_lowest_free_even_bar(string options, int bar, ulong size)
    {
        EndpointSpec ep = OneEndpoint("g,template=generic," + options);
        Assert.Multiple(() =>
        {
            Assert.That(ep.MsixBar, Is.EqualTo(bar));
            Assert.That(ep.BarSizes[bar], Is.EqualTo(size));
        });
    }

    [TestCase(1)]
    [TestCase(2)]
    [TestCase(4)]
    [TestCase(8)]
    [TestCase(16)]
    [TestCase(32)]
    public void msi_vector_counts(int vectors)
    {
        Assert.That(OneEndpoint($"g,template=generic,msi={vectors}").MsiVectors, Is.EqualTo(vectors));
    }

    // Line 2 is "--pcie-endpoint VALUE"; the value starts at column 17.
    [TestCase("rp0:e", 17, "template= is required (allowed: template=nvme, template=generic)")]
    [TestCase("rp0:e,template=virtio", 32, "unknown template 'virtio' (allowed: nvme, generic)")]
    [TestCase("rp0:e,template=nvme,vendor=1", 37, "option 'vendor' is not allowed with template=nvme")]
    [TestCase("e,template=generic,revision=1", 36, "unknown option 'revision'")]
    [TestCase("e,template=generic,vendor=0x10000", 43, "vendor=0x10000 is out of range (allowed 0..0xffff)")]
    [TestCase("e,template=generic,device=-1", 43, "device=-1: expected a number")]
    [TestCase("e,template=generic,class=0x1000000", 42, "class=0x1000000 is out of range")]
    [TestCase("e,template=generic,subsystem=0x1414", 46, "subsystem=0x1414: expected VENDOR:DEVICE")]
    [TestCase("e,template=generic,subsystem=1:0x10000", 46, "expected VENDOR:DEVICE")]
    [TestCase("e,template=generic,bar1=4K", 36, "unknown option 'bar1'")]
    [TestCase("e,template=generic,bar0=3K", 41, "bar0=3K: a BAR size must be a power of two of at least 16 bytes")]
    [TestCase("e,template=generic,bar2=8", 41, "a power of two of at least 16 bytes")]
    [TestCase("e,template=generic,bar4=0", 41, "bar4=0: a BAR size must be a power of two")]
    [TestCase("e,template=generic,bar0=1T", 41, "bar0=1T: expected a size")]
    [TestCase("e,template=generic,msi=3", 40, "msi=3: MSI vector count must be 1, 2, 4, 8, 16 or 32")]
    [TestCase("e,template=generic,msi=64", 40, "msi=64 is out of range")]
    [TestCase("e,template=generic,msix=0", 41, "msix=0: vector count must be a number 1..2048")]
    [TestCase("e,template=generic,msix=2049", 41, "vector count must be a number 1..2048")]
    [TestCase("e,template=generic,msix=8@bar1", 43, "'bar1' is not an MSI-X BAR (allowed: bar0, bar2, bar4)")]
    [TestCase("e,template=generic,bar2=4K,msix=8@bar2", 51, "msix=8@bar2: bar2 is already declared by bar2=")]
    [TestCase("e,template=generic,bar0=4K,bar2=4K,bar4=4K,msix=8", 60, "no even BAR is free for the MSI-X table")]
    [TestCase("a:b:c,template=nvme", 17, "expected [PORT:]NAME, found 'a:b:c'")]
    [TestCase("e,template=nvme,cxl", 33, "unknown option 'cxl'")]
    public void endpoint_errors(string value, int column, string fragment)
    {
        Fails(EndpointPrefix + "--pcie-endpoint " + value, 2, column, "--pcie-endpoint " + value + ": ", fragment);
    }

    [Test]
    public void endpoint_port_must_exist_and_be_a_port()
    {
        Fails(EndpointPrefix + "--pcie-endpoint rpX:e,template=nvme", 2, 17, "unknown port 'rpX' (known ports: rp0)");
        Fails(EndpointPrefix + "--pcie-endpoint rc0:e,template=nvme", 2, 17, "'rc0' is a root complex", "an endpoint attaches to a root port or a switch downstream port");
        Fails(
            EndpointPrefix + "--pcie-endpoint rp0:a,template=nvme --pcie-endpoint rp0:b,template=nvme",
            2,
            53,
            "port 'rp0' already holds endpoint 'a'",
            "endpoint 'b' cannot attach there too");
    }

    [Test]
    public void endpoints_attach_below_switches()
    {
        TopologySpec spec = Parse(EndpointPrefix + "--pcie-switch rp0:sw --pcie-endpoint sw-downstream-3:e3,template=nvme --pcie-endpoint sw-downstream-0:e0,template=generic");
        Assert.That(spec.Endpoints.Select(e => (e.Name, e.Port)), Is.EqualTo(new[] { ("e3", (string?)"sw-downstream-3"), ("e0", (string?)"sw-downstream-0") }));
    }

    [Test]
    public void gic_msi_its_and_v2m_defaults()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Parse("--gic-msi its").GicMsi, Is.EqualTo(new GicMsiSpec(GicMsiMode.Its, 0xEFFD0040, 0xEFFE8000, 928, 64)));
            Assert.That(Parse("--gic-msi v2m").GicMsi, Is.EqualTo(new GicMsiSpec(GicMsiMode.V2m, 0xEFFD0040, 0xEFFE8000, 928, 64)));
            Assert.That(Parse("--gic-msi its,translater=0x8090040").GicMsi!.TranslaterAddress, Is.EqualTo(0x8090040UL));
            Assert.That(
                Parse("--gic-msi v2m,frame=0x8020000,spi_base=32,spi_count=988").GicMsi,
                Is.EqualTo(new GicMsiSpec(GicMsiMode.V2m, 0xEFFD0040, 0x8020000, 32, 988)));
        });
    }

    [TestCase("auto", 11, "mode 'auto' is not supported: a simulator has no hypervisor to ask; choose 'its' or 'v2m'")]
    [TestCase("gicv4", 11, "unknown mode 'gicv4' (allowed: its, v2m)")]
    [TestCase("its,frame=0x1000", 15, "option 'frame' does not apply to mode 'its' (allowed with its: translater=)")]
    [TestCase("v2m,translater=0x1000", 15, "option 'translater' does not apply to mode 'v2m'")]
    [TestCase("v2m,frame=0x1001", 21, "frame=0x1001 is not 4 KiB aligned")]
    [TestCase("v2m,spi_base=31", 24, "spi_base=31 is out of range (allowed 32..1019)")]
    [TestCase("v2m,spi_base=1000,spi_count=64", 29, "SPI pool 1000..1063 does not lie within SPIs 32..1019")]
    [TestCase("v2m,spi_count=0", 25, "spi_count=0 is out of range")]
    [TestCase("v2m,spi_base=990", 15, "SPI pool 990..1053 does not lie within SPIs 32..1019")]
    public void gic_msi_errors(string value, int column, string fragment)
    {
        Fails("--gic-msi " + value, 1, column, "--gic-msi " + value + ": ", fragment);
    }

    [Test]
    public void gic_msi_at_most_once()
    {
        Fails("--gic-msi its\n--gic-msi v2m", 2, 1, "--gic-msi v2m: --gic-msi may be given at most once (already given as '--gic-msi its' at test.topo:1:1)");
    }
}
