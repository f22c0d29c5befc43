using PcieSim.Conformance.TestSupport;
using PcieSim.Functions;

namespace PcieSim.Conformance.ConfigSpace;

/// <summary>MSI and MSI-X capability layout and register masks (reference 2.6, 3.4, 3.5; OpenVMM <c>msi_cap.rs</c>, <c>msix.rs</c>).</summary>
[TestFixture]
public sealed class MessageCapabilityTests
{
    private static Endpoint Generic(string options) =>
        Topo.Build("--pcie-root-complex rc0 --pcie-root-port rc0:rp0 --pcie-endpoint rp0:ep0,template=generic" + options).FindEndpoint("ep0")!;

    [Test]
    public void msi_check()
    {
        // msi=4: MMC 2, 64-bit with per-vector masking (24 bytes), so the PCIe capability follows at 0x58.
        var ep = Generic(",msi=4");
        Assert.That(ep.ReadDword(0x40), Is.EqualTo(0x0184_5805u));
        Assert.That(ep.ReadDword(0x58), Is.EqualTo(0x0002_0010u), "PCIe capability after MSI");
        ep.Write(0x44, 4, 0xFEE0_1000);
        ep.Write(0x48, 4, 0);
        ep.Write(0x4C, 4, 0xFFFF_0041);
        ep.Write(0x42, 2, 0x0011);
        Assert.Multiple(() =>
        {
            Assert.That(ep.ReadDword(0x40), Is.EqualTo(0x0195_5805u), "enabled with MME 1");
            Assert.That(ep.ReadDword(0x44), Is.EqualTo(0xFEE0_1000u));
            Assert.That(ep.ReadDword(0x4C), Is.EqualTo(0x0000_0041u), "data is 16 bits");
        });
    }

    [Test]
    public void msi_mask_and_pending_bits()
    {
        var ep = Generic(",msi=4");
        Assert.That(ep.ReadDword(0x50), Is.EqualTo(0xFFFF_FFFFu), "OpenVMM constructs the mask bits all-ones");
        ep.Write(0x50, 4, 0x1234_5678);
        ep.Write(0x54, 4, 0xFFFF_FFFF);
        Assert.Multiple(() =>
        {
            Assert.That(ep.ReadDword(0x50), Is.EqualTo(0x1234_5678u), "OpenVMM stores all 32 mask bits");
            Assert.That(ep.ReadDword(0x54), Is.Zero, "pending bits RO");
        });
        ep.Reset();
        Assert.That(ep.ReadDword(0x50), Is.Zero, "reset clears the mask bits");
    }

    [TestCase(",msi=1", 0x30, 0x0180u)]
    [TestCase(",msi=4", 0x30, 0x01A4u)]
    [TestCase(",msi=4", 0x10, 0x0194u)]
    [TestCase(",msi=32", 0x70, 0x01DAu)]
    public void test_msi_mme_clamping(string options, int mme, uint control)
    {
        var ep = Generic(options);
        ep.Write(0x42, 2, (uint)mme);
        Assert.That(ep.ReadDword(0x40) >> 16, Is.EqualTo(control));
    }

    [Test]
    public void msi_reset()
    {
        var model = Topo.Build("--pcie-root-complex rc0 --pcie-root-port rc0:rp0 --pcie-endpoint rp0:ep0,template=generic,msi=4");
        var ep = model.FindEndpoint("ep0")!;
        ep.Write(0x42, 2, 0x0021);
        ep.Write(0x44, 4, 0xFEE0_0000);
        ep.Write(0x50, 4, 0xF);
        model.Reset();
        Assert.Multiple(() =>
        {
            Assert.That(ep.ReadDword(0x40), Is.EqualTo(0x0184_5805u));
            Assert.That(ep.ReadDword(0x44), Is.Zero);
            Assert.That(ep.ReadDword(0x50), Is.Zero, "mask bits cleared by reset");
        });
    }

    [Test]
    public void port_msi_capability()
    {
        var port = Topo.Build("--pcie-root-complex rc0 --pcie-root-port rc0:rp0").RootComplexes[0].RootPorts[0];
        Assert.That(port.ReadDword(0x7C), Is.EqualTo(0x0080_0005u));
        port.Write(0x7E, 2, 0x0071);
        port.Write(0x80, 4, 0xFFFF_FFFF);
        port.Write(0x84, 4, 0xFFFF_FFFF);
        port.Write(0x88, 4, 0xFFFF_FFFF);
        port.Write(0x8C, 4, 0xFFFF_FFFF);
        Assert.Multiple(() =>
        {
            Assert.That(port.ReadDword(0x7C), Is.EqualTo(0x0081_0005u), "enabled; MME clamped to 0");
            Assert.That(port.ReadDword(0x80), Is.EqualTo(0xFFFF_FFFFu), "address low: all 32 bits, no masking of 1:0");
            Assert.That(port.ReadDword(0x84), Is.EqualTo(0xFFFF_FFFFu));
            Assert.That(port.ReadDword(0x88), Is.EqualTo(0x0000_FFFFu));
            Assert.That(port.ReadDword(0x8C), Is.Zero, "end of the capability list");
        });
    }

    [Test]
    public void msix_check()
    {
        var nvme = Topo.Build("--pcie-root-complex rc0 --pcie-root-port rc0:rp0 --pcie-endpoint rp0:nvme0,template=nvme").FindEndpoint("nvme0")!;
        Assert.Multiple(() =>
        {
            Assert.That(nvme.ReadDword(0x40), Is.EqualTo(0x003F_4C11u), "64 vectors, next 0x4C");
            Assert.That(nvme.ReadDword(0x44), Is.EqualTo(0x0000_0004u), "table in BAR 4 at offset 0");
            Assert.That(nvme.ReadDword(0x48), Is.EqualTo(0x0000_0404u), "PBA at 0x400 in BAR 4");
            Assert.That(nvme.ReadDword(0x4C), Is.EqualTo(0x0002_0010u), "PCIe endpoint capability, last");
        });
        nvme.Write(0x42, 2, 0xFFFF);
        Assert.That(nvme.ReadDword(0x40), Is.EqualTo(0x803F_4C11u), "only enable is writable; function mask not implemented");
        Assert.That(nvme.MsixEnabled, Is.True);
        nvme.Write(0x42, 2, 0);
        Assert.That(nvme.ReadDword(0x40), Is.EqualTo(0x003F_4C11u));
        for (int v = 0; v < 64; v++)
        {
            Assert.That(nvme.MsixVectorMasked(v), Is.True, $"vector {v} control initialises masked");
        }
    }

    [Test]
    public void msix_generic_layout()
    {
        var ep = Generic(",bar0=4K,msix=8");
        Assert.Multiple(() =>
        {
            Assert.That(ep.ReadDword(0x40), Is.EqualTo(0x0007_4C11u));
            Assert.That(ep.ReadDword(0x44), Is.EqualTo(0x0000_0002u), "first free even BAR");
            Assert.That(ep.ReadDword(0x48), Is.EqualTo(0x0000_0082u), "PBA at 8 x 16");
        });
    }
}
