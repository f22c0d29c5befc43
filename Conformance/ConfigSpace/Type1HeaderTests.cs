using PcieSim.Conformance.TestSupport;
using PcieSim.Functions;
using PcieSim.Topology;

namespace PcieSim.Conformance.ConfigSpace;

/// <summary>Mirrors the Type 1 tests of OpenVMM <c>pci_core/src/cfg_space_emu.rs</c> (reference 10.4, section 2.1, 2.2, 2.3, 2.7).</summary>
[TestFixture]
public sealed class Type1HeaderTests
{
    private static (PcieModel Model, RootPort Port) RootPort(string options = "")
    {
        var model = Topo.Build("--pcie-root-complex rc0 --pcie-root-port rc0:rp0" + options);
        return (model, model.RootComplexes[0].RootPorts[0]);
    }

    [Test]
    public void test_type1_probe()
    {
        var (_, port) = RootPort();
        Assert.Multiple(() =>
        {
            Assert.That(port.ReadDword(0x00), Is.EqualTo(0xC030_1414u));
            Assert.That(port.ReadDword(0x04), Is.EqualTo(0x0010_0000u), "status: capabilities list");
            Assert.That(port.ReadDword(0x08), Is.EqualTo(0x0604_0000u));
            Assert.That(port.ReadDword(0x0C), Is.EqualTo(0x0001_0000u));
            Assert.That(port.ReadDword(0x24), Is.EqualTo(0x0001_0001u), "prefetchable window reports 64-bit");
            Assert.That(port.ReadDword(0x34), Is.EqualTo(0x0000_0040u));
            Assert.That(port.ReadDword(0x40), Is.EqualTo(0x0042_7C10u));
            Assert.That(port.ReadDword(0x7C), Is.EqualTo(0x0080_0005u));
        });
    }

    [Test]
    public void test_type1_bus_number_assignment()
    {
        var (_, port) = RootPort();
        port.Write(0x18, 4, 0xFF03_0201);
        Assert.Multiple(() =>
        {
            Assert.That(port.ReadDword(0x18), Is.EqualTo(0x0003_0201u), "secondary latency timer is RO 0");
            Assert.That(port.PrimaryBus, Is.EqualTo(1));
            Assert.That(port.AssignedBusRange, Is.EqualTo(new BusRange(2, 3)));
        });

        port.Write(0x18, 4, 0x0001_0500);
        Assert.That(port.AssignedBusRange, Is.EqualTo(default(BusRange)), "subordinate < secondary is 0..0");
        Assert.That(port.AssignedBusRange.IsProgrammed, Is.False);
        Assert.That(port.ReadDword(0x18), Is.EqualTo(0x0001_0500u), "raw values are stored unvalidated");

        port.Write(0x18, 4, 0x0004_0400);
        Assert.That(port.AssignedBusRange, Is.EqualTo(new BusRange(4, 4)), "single-bus range");
        port.Write(0x18, 4, 0x0004_0000);
        Assert.That(port.AssignedBusRange, Is.EqualTo(new BusRange(0, 4)), "secondary 0 with subordinate > 0 is accepted");
        Assert.That(port.AssignedBusRange.IsProgrammed, Is.True);
    }

    [Test]
    public void test_type1_bus_number_byte_writes()
    {
        var (_, port) = RootPort();
        port.Write(0x18, 1, 0x11);
        port.Write(0x19, 1, 0x22);
        port.Write(0x1A, 1, 0x33);
        port.Write(0x1B, 1, 0x44);
        Assert.That(port.ReadDword(0x18), Is.EqualTo(0x0033_2211u));
        port.Write(0x19, 1, 0x30);
        Assert.That(port.ReadDword(0x18), Is.EqualTo(0x0033_3011u), "each byte is its own register");
        Assert.That(port.AssignedBusRange, Is.EqualTo(new BusRange(0x30, 0x33)));
    }

    [Test]
    public void test_type1_memory_range_register_masks_reserved_bits()
    {
        var (_, port) = RootPort();
        port.Write(0x20, 4, 0x567f_123f);
        Assert.That(port.ReadDword(0x20), Is.EqualTo(0x5670_1230u));
    }

    [Test]
    public void test_type1_prefetch_range_register_masks_reserved_bits_and_reports_64_bit()
    {
        var (_, port) = RootPort();
        port.Write(0x24, 4, 0x567e_123e);
        Assert.That(port.ReadDword(0x24), Is.EqualTo(0x5671_1231u));
        port.Write(0x24, 4, 0);
        Assert.That(port.ReadDword(0x24), Is.EqualTo(0x0001_0001u));
    }

    [Test]
    public void test_type1_prefetch_upper_registers_are_fully_writable()
    {
        var (_, port) = RootPort();
        port.Write(0x28, 4, 0xFFFF_FFFF);
        port.Write(0x2C, 4, 0x1234_5678);
        Assert.Multiple(() =>
        {
            Assert.That(port.ReadDword(0x28), Is.EqualTo(0xFFFF_FFFFu));
            Assert.That(port.ReadDword(0x2C), Is.EqualTo(0x1234_5678u));
        });
    }

    [Test]
    public void test_type1_unimplemented_header_registers_read_zero()
    {
        var (_, port) = RootPort();
        foreach (int offset in new[] { 0x10, 0x14, 0x1C, 0x30, 0x38 })
        {
            port.Write(offset, 4, 0xFFFF_FFFF);
            Assert.That(port.ReadDword(offset), Is.EqualTo(0u), $"0x{offset:X2}");
        }
    }

    [Test]
    public void test_type1_command_status_and_interrupt_registers()
    {
        var (_, port) = RootPort();
        port.Write(0x04, 4, 0xFFFF_FFFF);
        port.Write(0x0C, 4, 0xFFFF_FFFF);
        port.Write(0x3C, 4, 0xFFFF_FFFF);
        Assert.Multiple(() =>
        {
            Assert.That(port.ReadDword(0x04), Is.EqualTo(0x0010_077Fu), "command mask 0x077F; status RO");
            Assert.That(port.ReadDword(0x0C), Is.EqualTo(0x0001_0000u), "cache line and latency hard-wired 0");
            Assert.That(port.ReadDword(0x3C), Is.EqualTo(0xFFFF_00FFu), "line RW, pin RO 0, bridge control RW unmasked");
        });
    }

    [Test]
    public void test_unimplemented_capability_region_reads_zero()
    {
        var (_, port) = RootPort();
        for (int offset = 0x8C; offset < 0x100; offset += 4)
        {
            port.Write(offset, 4, 0xFFFF_FFFF);
            Assert.That(port.ReadDword(offset), Is.EqualTo(0u), $"0x{offset:X2}");
        }

        port.Write(0x90, 4, 0x1234_5678);
        Assert.That(port.ReadDword(0x90), Is.EqualTo(0u));
    }

    [Test]
    public void test_common_header_extended_capabilities()
    {
        var (_, port) = RootPort(",acs=0");
        var iommuModel = Topo.Build("--pcie-root-complex rc0 --amd-iommu rc0");
        var iommu = iommuModel.RootComplexes[0].Iommu!;
        Assert.Multiple(() =>
        {
            Assert.That(port.ReadDword(0x100), Is.EqualTo(0u), "PCIe function without extended capabilities: 0 header");
            for (int offset = 0x100; offset < 0x1000; offset += 4)
            {
                Assert.That(iommu.ReadDword(offset), Is.Zero, $"no PCIe capability: 0x{offset:X3} reads 0");
            }
        });
    }

    [Test]
    public void test_type1_acs_extended_capability()
    {
        var (_, port) = RootPort();
        Assert.That(port.ReadDword(0x100), Is.EqualTo(0x0001_000Du));
        port.Write(0x104, 4, 0xffff_0000);
        Assert.That(port.ReadDword(0x104), Is.EqualTo(0x005F_005Fu), "control 0x005f");
    }

    [Test]
    public void test_acs_defaults()
    {
        var (_, port) = RootPort();
        Assert.Multiple(() =>
        {
            Assert.That(port.ReadDword(0x104), Is.EqualTo(0x0000_005Fu));
            Assert.That(port.ReadDword(0x108), Is.EqualTo(0u));
        });
        port.Write(0x108, 4, 0xFFFF_FFFF);
        Assert.That(port.ReadDword(0x108), Is.EqualTo(0u), "egress control vector writes dropped");
        Assert.That(port.ReadDword(0x10C), Is.EqualTo(0u), "end of the extended list");
    }

    [Test]
    public void test_acs_control_write_masks_unsupported_bits()
    {
        var (_, port) = RootPort(",acs=0x11");
        port.Write(0x106, 2, 0xFFFF);
        Assert.That(port.ReadDword(0x104), Is.EqualTo(0x0011_0011u));
    }

    [Test]
    public void test_acs_reset_clears_control()
    {
        var (model, port) = RootPort();
        port.Write(0x106, 2, 0x5F);
        model.Reset();
        Assert.That(port.ReadDword(0x104), Is.EqualTo(0x0000_005Fu));
    }

    [Test]
    public void test_type1_reset_restores_defaults()
    {
        var (model, port) = RootPort(",hotplug");
        var rc = model.RootComplexes[0];
        var writes = new (int Offset, uint Value)[]
        {
            (0x04, 0x0000_0146), (0x18, 0x0005_0100), (0x20, 0x2000_1000), (0x24, 0x3000_2000), (0x28, 0x1), (0x2C, 0x2),
            (0x3C, 0x0003_000B), (0x48, 0x0000_001F), (0x50, 0x0000_0043), (0x58, 0x0000_1028), (0x68, 0x0000_0020),
            (0x70, 0x0000_0003), (0x7C, 0x0001_0000), (0x80, 0xFEE0_0000), (0x84, 0x1), (0x88, 0x41), (0x104, 0x005F_0000),
        };
        foreach (var (offset, value) in writes)
        {
            model.Write(rc, 0, 0, offset, 4, value);
        }

        model.Reset();
        for (int i = 0; i < 1024; i++)
        {
            Assert.That(port.Config.Read(i), Is.EqualTo(port.Layout.ResetDword(i)), $"DWORD 0x{i * 4:X3} after reset");
        }

        Assert.That(port.AssignedBusRange.IsProgrammed, Is.False);
    }
}
