using PcieSim.Conformance.TestSupport;
using PcieSim.Functions;

namespace PcieSim.Conformance.Functions;

/// <summary>Type 0 header and BAR behaviour of endpoints (reference 3.1, 3.2; OpenVMM <c>cfg_space_emu.rs</c> Type 0 tests).</summary>
[TestFixture]
public sealed class EndpointTests
{
    private static Endpoint Nvme() =>
        Topo.Build("--pcie-root-complex rc0 --pcie-root-port rc0:rp0 --pcie-endpoint rp0:nvme0,template=nvme").FindEndpoint("nvme0")!;

    private static Endpoint Generic(string options) =>
        Topo.Build("--pcie-root-complex rc0 --pcie-root-port rc0:rp0 --pcie-endpoint rp0:ep0,template=generic" + options).FindEndpoint("ep0")!;

    [Test]
    public void test_type0_nvme_header()
    {
        var nvme = Nvme();
        Assert.Multiple(() =>
        {
            Assert.That(nvme.ReadDword(0x00), Is.EqualTo(0x00A9_1414u));
            Assert.That(nvme.ReadDword(0x04), Is.EqualTo(0x0010_0000u));
            Assert.That(nvme.ReadDword(0x08), Is.EqualTo(0x0108_0200u));
            Assert.That(nvme.ReadDword(0x0C), Is.EqualTo(0x0000_0000u), "header type 0, single function");
            Assert.That(nvme.ReadDword(0x34), Is.EqualTo(0x0000_0040u));
            Assert.That(nvme.ReadDword(0x3C), Is.EqualTo(0u));
        });
    }

    [Test]
    public void test_type0_generic_header_defaults()
    {
        var ep = Generic(",device=0x1234,class=0x020000");
        Assert.Multiple(() =>
        {
            Assert.That(ep.ReadDword(0x00), Is.EqualTo(0x1234_1414u));
            Assert.That(ep.ReadDword(0x08), Is.EqualTo(0x0200_0000u));
            Assert.That(ep.ReadDword(0x2C), Is.EqualTo(0x2000_1414u), "default subsystem 1414:2000");
        });
    }

    [Test]
    public void test_header_type_functionality()
    {
        var ep = Generic(string.Empty);
        ep.Write(0x0C, 4, 0xFFFF_FFFF);
        Assert.That(ep.ReadDword(0x0C), Is.EqualTo(0u), "writes to 0x0C ignored");
        ep.Write(0x04, 4, 0xFFFF_FFFF);
        Assert.That(ep.ReadDword(0x04), Is.EqualTo(0x0010_077Fu));
    }

    [Test]
    public void test_interrupt_pin_register()
    {
        var ep = Generic(string.Empty);
        ep.Write(0x3C, 4, 0xFFFF_FFFF);
        Assert.That(ep.ReadDword(0x3C), Is.EqualTo(0x00FF_00FFu), "line RW, pin RO 0 (no INTx), byte 2 RW, byte 3 reads 0");
        ep.Write(0x3C, 1, 0x0B);
        Assert.That(ep.ReadDword(0x3C) & 0xFF, Is.EqualTo(0x0Bu));
    }

    [Test]
    public void test_type0_latency_timer_quirk()
    {
        var ep = Generic(string.Empty);
        ep.Write(0x0D, 1, 0x55);
        Assert.That(ep.ReadDword(0x0C), Is.EqualTo(0u), "0x0D cannot be written directly");
        ep.Write(0x3E, 1, 0x40);
        Assert.Multiple(() =>
        {
            Assert.That(ep.Read(0x0D, 1), Is.EqualTo(0x40u), "byte 0x3E shows at 0x0D");
            Assert.That(ep.Read(0x3E, 1), Is.EqualTo(0x40u));
            Assert.That(ep.ReadDword(0x0C), Is.EqualTo(0x0000_4000u));
        });
        ep.Write(0x3C, 4, 0x0012_0000);
        Assert.That(ep.Read(0x0D, 1), Is.EqualTo(0x12u), "a DWORD write follows too");
    }

    [Test]
    public void test_bars_read_zero_until_first_written()
    {
        var nvme = Nvme();
        for (int offset = 0x10; offset <= 0x24; offset += 4)
        {
            Assert.That(nvme.ReadDword(offset), Is.Zero, $"0x{offset:X2}");
        }

        nvme.Write(0x10, 4, 0);
        Assert.That(nvme.ReadDword(0x10), Is.EqualTo(0x0000_000Cu), "64-bit prefetchable nibble appears after the first write");
    }

    [TestCase(",bar0=4K", 0x10, 0xFFFF_F00Cu)]
    [TestCase(",bar0=16K", 0x10, 0xFFFF_C00Cu)]
    [TestCase(",bar2=1M", 0x18, 0xFFF0_000Cu)]
    [TestCase(",bar4=16", 0x20, 0xFFFF_F00Cu)]
    [TestCase(",bar0=2G", 0x10, 0x8000_000Cu)]
    public void test_bar_sizing(string options, int offset, uint mask)
    {
        var ep = Generic(options);
        ep.Write(offset, 4, 0xFFFF_FFFF);
        ep.Write(offset + 4, 4, 0xFFFF_FFFF);
        Assert.Multiple(() =>
        {
            Assert.That(ep.ReadDword(offset), Is.EqualTo(mask));
            Assert.That(ep.ReadDword(offset + 4), Is.EqualTo(0xFFFF_FFFFu), "upper half of a BAR below 4 GiB");
        });
    }

    [Test]
    public void find_bar_returns_full_u64_offset_for_large_bar()
    {
        var ep = Generic(",bar2=8G");
        ep.Write(0x18, 4, 0xFFFF_FFFF);
        ep.Write(0x1C, 4, 0xFFFF_FFFF);
        Assert.Multiple(() =>
        {
            Assert.That(ep.ReadDword(0x18), Is.EqualTo(0x0000_000Cu), "no address bits in the low DWORD of an 8 GiB BAR");
            Assert.That(ep.ReadDword(0x1C), Is.EqualTo(0xFFFF_FFFEu));
        });
        ep.Write(0x18, 4, 0);
        ep.Write(0x1C, 4, 0x0000_0004);
        Assert.That(ep.BarBase(2), Is.EqualTo(0x4_0000_0000UL));
    }

    [Test]
    public void test_bar_sizing_4gib()
    {
        var ep = Generic(",bar0=4G");
        ep.Write(0x10, 4, 0xFFFF_FFFF);
        ep.Write(0x14, 4, 0xFFFF_FFFF);
        Assert.Multiple(() =>
        {
            Assert.That(ep.ReadDword(0x10), Is.EqualTo(0x0000_000Cu));
            Assert.That(ep.ReadDword(0x14), Is.EqualTo(0xFFFF_FFFFu));
        });
    }

    [Test]
    public void test_nvme_bar_sizing()
    {
        var nvme = Nvme();
        for (int offset = 0x10; offset <= 0x24; offset += 4)
        {
            nvme.Write(offset, 4, 0xFFFF_FFFF);
        }

        Assert.Multiple(() =>
        {
            Assert.That(nvme.ReadDword(0x10), Is.EqualTo(0xFFFF_000Cu), "BAR0 64 KiB");
            Assert.That(nvme.ReadDword(0x14), Is.EqualTo(0xFFFF_FFFFu));
            Assert.That(nvme.ReadDword(0x18), Is.Zero, "BAR2 undeclared");
            Assert.That(nvme.ReadDword(0x1C), Is.Zero);
            Assert.That(nvme.ReadDword(0x20), Is.EqualTo(0xFFFF_F00Cu), "BAR4: MSI-X table + PBA, 4 KiB");
            Assert.That(nvme.ReadDword(0x24), Is.EqualTo(0xFFFF_FFFFu));
        });
    }

    [Test]
    public void test_bar_writes_ignored_while_memory_enabled()
    {
        var ep = Generic(",bar0=16K");
        ep.Write(0x10, 4, 0xFEDC_0000);
        ep.Write(0x14, 4, 0x0000_0001);
        ep.Write(0x04, 2, 0x0002);
        ep.Write(0x10, 4, 0xFFFF_FFFF);
        ep.Write(0x14, 4, 0xFFFF_FFFF);
        Assert.Multiple(() =>
        {
            Assert.That(ep.ReadDword(0x10), Is.EqualTo(0xFEDC_000Cu));
            Assert.That(ep.ReadDword(0x14), Is.EqualTo(0x0000_0001u));
            Assert.That(ep.BarBase(0), Is.EqualTo(0x1_FEDC_0000UL));
        });
        ep.Write(0x04, 2, 0x0000);
        ep.Write(0x10, 4, 0xFFFF_FFFF);
        Assert.That(ep.ReadDword(0x10), Is.EqualTo(0xFFFF_C00Cu), "writable again once MEM is clear");
    }

    [Test]
    public void test_odd_index_64bit_bar_preserves_attrs_only_on_lower_dword()
    {
        var ep = Generic(",bar0=4K");
        ep.Write(0x14, 4, 0x1234_5678);
        Assert.That(ep.ReadDword(0x14), Is.EqualTo(0x1234_5678u), "upper DWORD: no attribute nibble forced");
        Assert.That(ep.ReadDword(0x10), Is.Zero, "lower DWORD untouched until written");
        ep.Write(0x10, 4, 0x8765_4321);
        Assert.That(ep.ReadDword(0x10), Is.EqualTo(0x8765_400Cu));
    }

    [Test]
    public void test_bar_byte_writes_merge_lanes()
    {
        var ep = Generic(",bar0=4K");
        ep.Write(0x13, 1, 0xAB);
        Assert.That(ep.ReadDword(0x10), Is.EqualTo(0xAB00_000Cu));
        ep.Write(0x11, 1, 0xFF);
        Assert.That(ep.ReadDword(0x10), Is.EqualTo(0xAB00_F00Cu));
    }

    [Test]
    public void test_type0_reset()
    {
        var model = Topo.Build("--pcie-root-complex rc0 --pcie-root-port rc0:rp0 --pcie-endpoint rp0:ep0,template=generic,bar0=4K,msi=4");
        var ep = model.FindEndpoint("ep0")!;
        ep.Write(0x10, 4, 0xFFFF_FFFF);
        ep.Write(0x04, 2, 0x0006);
        ep.Write(0x3C, 4, 0x0040_000B);
        ep.Write(0x42, 2, 0x0021);
        model.Reset();
        for (int i = 0; i < 1024; i++)
        {
            Assert.That(ep.Config.Read(i), Is.EqualTo(ep.Layout.ResetDword(i)), $"DWORD 0x{i * 4:X3} after reset");
        }

        Assert.That(ep.ReadDword(0x10), Is.Zero, "BAR back to 0");
    }

    [Test]
    public void a_hot_added_endpoint_has_power_on_values_and_a_reset_one_reset_values()
    {
        // MSI Mask Bits: all ones when OpenVMM constructs the device, 0 after a reset (msi_cap.rs).
        var model = Topo.Build("--pcie-root-complex rc0 --pcie-root-port rc0:rp0,hotplug --pcie-endpoint rp0:ep0,template=generic,bar0=4K,msi=4");
        var ep = model.FindEndpoint("ep0")!;
        int maskBits = ep.Layout.Registers.Single(r => r.Name == "MsiMaskBits").Offset;
        Assert.That(ep.ReadDword(maskBits), Is.EqualTo(uint.MaxValue), "as created");

        ep.Write(0x10, 4, 0xFFFF_FFFF);
        ep.Write(maskBits, 4, 0x5);
        model.HotRemove("rp0");
        model.HotAdd("rp0", "ep0");
        Assert.Multiple(() =>
        {
            Assert.That(ep.ReadDword(maskBits), Is.EqualTo(uint.MaxValue), "hot-added: power-on value");
            Assert.That(ep.ReadDword(0x10), Is.EqualTo(ep.Layout.ResetDword(0x10 >> 2)), "hot-added: BAR at its reset value");
        });

        ep.Write(maskBits, 4, 0x5);
        model.Reset();
        Assert.That(ep.ReadDword(maskBits), Is.Zero, "reset: reset value");
        for (int i = 0; i < 1024; i++)
        {
            Assert.That(ep.Config.Read(i), Is.EqualTo(ep.Layout.ResetDword(i)), $"DWORD 0x{i * 4:X3} after reset");
        }
    }
}
