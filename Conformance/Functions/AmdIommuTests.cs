using PcieSim.Conformance.TestSupport;
using PcieSim.Functions;

namespace PcieSim.Conformance.Functions;

/// <summary>The AMD IOMMU RCiEP (reference 6): 1022:1451, class 080600, IOMMU capability at 0x40, MSI at 0x54.</summary>
[TestFixture]
public sealed class AmdIommuTests
{
    private static AmdIommu Iommu() => Topo.Build("--pcie-root-complex rc0 --pcie-root-port rc0:rp0 --amd-iommu rc0").RootComplexes[0].Iommu!;

    [Test]
    public void test_amd_iommu_config_space()
    {
        var iommu = Iommu();
        Assert.Multiple(() =>
        {
            Assert.That(iommu.Kind, Is.EqualTo(FunctionKind.RootComplexIntegratedEndpoint));
            Assert.That(iommu.ReadDword(0x00), Is.EqualTo(0x1451_1022u));
            Assert.That(iommu.ReadDword(0x04), Is.EqualTo(0x0010_0000u));
            Assert.That(iommu.ReadDword(0x08), Is.EqualTo(0x0806_0000u));
            Assert.That(iommu.ReadDword(0x0C), Is.EqualTo(0u));
            Assert.That(iommu.ReadDword(0x2C), Is.EqualTo(0x2000_1414u));
            Assert.That(iommu.ReadDword(0x34), Is.EqualTo(0x40u));
            Assert.That(iommu.ReadDword(0x40), Is.EqualTo(0x080B_540Fu));
            Assert.That(iommu.ReadDword(0x44), Is.EqualTo(0xFD00_0001u), "base address pre-enabled");
            Assert.That(iommu.ReadDword(0x48), Is.EqualTo(0u));
            Assert.That(iommu.ReadDword(0x4C), Is.EqualTo(0xFF00_0080u));
            Assert.That(iommu.ReadDword(0x50), Is.EqualTo(0x0018_3000u));
            Assert.That(iommu.ReadDword(0x54), Is.EqualTo(0x0080_0005u));
            Assert.That(iommu.ReadDword(0x64), Is.EqualTo(0u), "end of list");
        });
        for (int offset = 0x10; offset <= 0x24; offset += 4)
        {
            Assert.That(iommu.ReadDword(offset), Is.Zero, $"no BAR at 0x{offset:X2}");
        }
    }

    [Test]
    public void test_amd_iommu_capability_ignores_all_writes()
    {
        var iommu = Iommu();
        var before = iommu.Config.Save();
        for (int offset = 0x40; offset < 0x54; offset += 4)
        {
            iommu.Write(offset, 4, 0xFFFF_FFFF);
            iommu.Write(offset, 4, 0);
            iommu.Write(offset + 1, 1, 0x5A);
            iommu.Write(offset + 2, 2, 0xA5A5);
        }

        Assert.That(iommu.Config.Save(), Is.EqualTo(before));
    }

    [Test]
    public void test_amd_iommu_msi()
    {
        var iommu = Iommu();
        iommu.Write(0x56, 2, 0x0071);
        iommu.Write(0x58, 4, 0xFEE0_0003);
        iommu.Write(0x5C, 4, 0x1);
        iommu.Write(0x60, 4, 0xFFFF_FFFF);
        Assert.Multiple(() =>
        {
            Assert.That(iommu.ReadDword(0x54), Is.EqualTo(0x0081_0005u), "enabled; MME clamped to MMC 0");
            Assert.That(iommu.ReadDword(0x58), Is.EqualTo(0xFEE0_0003u));
            Assert.That(iommu.ReadDword(0x5C), Is.EqualTo(0x1u));
            Assert.That(iommu.ReadDword(0x60), Is.EqualTo(0x0000_FFFFu));
        });
    }

    [Test]
    public void test_amd_iommu_second_root_complex_register_block()
    {
        var model = Topo.Build("--pcie-root-complex rc0,end_bus=127 --pcie-root-complex rc1,start_bus=128,end_bus=255 --amd-iommu rc0 --amd-iommu rc1");
        Assert.Multiple(() =>
        {
            Assert.That(model.RootComplexes[0].Iommu!.ReadDword(0x44), Is.EqualTo(0xFD00_0001u));
            Assert.That(model.RootComplexes[1].Iommu!.ReadDword(0x44), Is.EqualTo(0xFD00_4001u));
            Assert.That(model.Read(model.RootComplexes[1], 128, 0, 0, 4).Value, Is.EqualTo(0x1451_1022UL));
        });
    }
}
