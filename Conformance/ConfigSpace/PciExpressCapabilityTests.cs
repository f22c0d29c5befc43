using PcieSim.Conformance.TestSupport;
using PcieSim.Functions;

namespace PcieSim.Conformance.ConfigSpace;

/// <summary>Mirrors OpenVMM <c>pci_core/src/capabilities/pci_express.rs</c> tests (reference 10.5, sections 2.4, 2.5).</summary>
[TestFixture]
public sealed class PciExpressCapabilityTests
{
    private static RootPort RootPort(string options = "") =>
        Topo.Build("--pcie-root-complex rc0 --pcie-root-port rc0:rp0" + options).RootComplexes[0].RootPorts[0];

    /// <summary>A generic endpoint without MSI: its PCI Express capability is at 0x40 like a port's.</summary>
    private static Endpoint Endpoint() =>
        Topo.Build("--pcie-root-complex rc0 --pcie-root-port rc0:rp0 --pcie-endpoint rp0:ep0,template=generic").FindEndpoint("ep0")!;

    [Test]
    public void test_pci_express_capability_read_endpoint()
    {
        var ep = Endpoint();
        Assert.Multiple(() =>
        {
            Assert.That(ep.ReadDword(0x40), Is.EqualTo(0x0002_0010u), "caps 0x0002, next 0");
            Assert.That(ep.ReadDword(0x44), Is.EqualTo(0x0000_8000u), "no FLR");
            Assert.That(ep.ReadDword(0x48), Is.EqualTo(0x0000_2810u));
        });
    }

    [Test]
    public void test_pci_express_capability_read_root_port()
    {
        var port = RootPort();
        Assert.Multiple(() =>
        {
            Assert.That(port.ReadDword(0x40) >> 16, Is.EqualTo(0x0042u));
            Assert.That(port.ReadDword(0x44), Is.EqualTo(0x0000_8000u));
            Assert.That(port.ReadDword(0x48), Is.EqualTo(0x0000_2810u));
            Assert.That(port.ReadDword(0x4C), Is.EqualTo(0x0040_0105u));
            Assert.That(port.ReadDword(0x54), Is.EqualTo(0u));
            Assert.That(port.ReadDword(0x64), Is.EqualTo(0x0000_0020u));
        });
    }

    [Test]
    public void test_flr_is_only_advertised_by_endpoints()
    {
        Assert.That(RootPort().ReadDword(0x44) & (1u << 28), Is.Zero);
        Assert.That(Endpoint().ReadDword(0x44) & (1u << 28), Is.Zero, "our endpoints have no FLR handler");
    }

    [Test]
    public void test_pci_express_capability_write_readonly_registers()
    {
        var port = RootPort();
        port.Write(0x40, 4, 0xFFFF_FFFF);
        port.Write(0x44, 4, 0xFFFF_FFFF);
        port.Write(0x4C, 4, 0xFFFF_FFFF);
        port.Write(0x54, 4, 0xFFFF_FFFF);
        port.Write(0x64, 4, 0xFFFF_FFFF);
        port.Write(0x6C, 4, 0xFFFF_FFFF);
        port.Write(0x74, 4, 0xFFFF_FFFF);
        Assert.Multiple(() =>
        {
            Assert.That(port.ReadDword(0x40), Is.EqualTo(0x0042_7C10u));
            Assert.That(port.ReadDword(0x44), Is.EqualTo(0x0000_8000u));
            Assert.That(port.ReadDword(0x4C), Is.EqualTo(0x0040_0105u));
            Assert.That(port.ReadDword(0x54), Is.EqualTo(0u));
            Assert.That(port.ReadDword(0x64), Is.EqualTo(0x0000_0020u));
            Assert.That(port.ReadDword(0x6C), Is.EqualTo(0x0000_003Eu));
            Assert.That(port.ReadDword(0x74), Is.EqualTo(0u));
        });
    }

    [Test]
    public void test_unimplemented_status_registers_ignore_writes()
    {
        var port = RootPort();
        port.Write(0x48, 4, 0xFFFF_0000);
        port.Write(0x60, 4, 0xFFFF_FFFF);
        port.Write(0x68, 4, 0xFFFF_0000);
        port.Write(0x70, 4, 0xFFFF_0000);
        port.Write(0x78, 4, 0xFFFF_FFFF);
        Assert.Multiple(() =>
        {
            Assert.That(port.ReadDword(0x48) >> 16, Is.Zero, "device status");
            Assert.That(port.ReadDword(0x60), Is.Zero, "root status");
            Assert.That(port.ReadDword(0x68) >> 16, Is.Zero, "device status 2");
            Assert.That(port.ReadDword(0x70) >> 16, Is.Zero, "link status 2");
            Assert.That(port.ReadDword(0x78), Is.Zero, "slot control/status 2");
        });
    }

    [Test]
    public void test_unsupported_control_fields_ignore_all_ones_write()
    {
        var port = RootPort();
        foreach (int offset in new[] { 0x48, 0x50, 0x5C, 0x68, 0x70 })
        {
            port.Write(offset, 4, 0xFFFF_FFFF);
        }

        Assert.Multiple(() =>
        {
            Assert.That(port.ReadDword(0x48), Is.EqualTo(0x0000_78FFu));
            Assert.That(port.ReadDword(0x50) & 0xFFFF, Is.EqualTo(0x00C3u));
            Assert.That(port.ReadDword(0x50) >> 16, Is.EqualTo(0x0105u), "link status untouched");
            Assert.That(port.ReadDword(0x5C), Is.EqualTo(0x0000_000Fu));
            Assert.That(port.ReadDword(0x68), Is.EqualTo(0x0000_0020u));
            Assert.That(port.ReadDword(0x70), Is.EqualTo(0x0000_FFBFu));
        });

        var ep = Endpoint();
        foreach (int offset in new[] { 0x48, 0x50, 0x5C, 0x68, 0x70 })
        {
            ep.Write(offset, 4, 0xFFFF_FFFF);
        }

        Assert.Multiple(() =>
        {
            Assert.That(ep.ReadDword(0x48), Is.EqualTo(0x0000_78FFu));
            Assert.That(ep.ReadDword(0x50) & 0xFFFF, Is.EqualTo(0x00CBu), "endpoint adds RCB");
            Assert.That(ep.ReadDword(0x5C), Is.EqualTo(0u), "root control only on root ports");
            Assert.That(ep.ReadDword(0x68), Is.EqualTo(0u), "ARI forwarding enable only on RP/DSP");
            Assert.That(ep.ReadDword(0x70), Is.EqualTo(0x0000_FFBFu));
        });
    }

    [Test]
    public void test_pci_express_capability_byte_write_control()
    {
        var port = RootPort();
        port.Write(0x48, 1, 0x01);
        Assert.That(port.ReadDword(0x48), Is.EqualTo(0x0000_2801u));
        port.Write(0x49, 1, 0x00);
        Assert.That(port.ReadDword(0x48), Is.EqualTo(0x0000_0001u));
    }

    [Test]
    public void test_link_disable_is_read_only()
    {
        var port = RootPort();
        port.Write(0x50, 2, 0x0010);
        Assert.That(port.ReadDword(0x50) & 0xFFFF, Is.Zero);
    }

    [Test]
    public void test_link_control_retrain_link_behavior()
    {
        var port = RootPort();
        port.Write(0x50, 2, 0x0020);
        Assert.That(port.ReadDword(0x50) & 0xFFFF, Is.Zero, "retrain link always reads 0");
    }

    [Test]
    public void test_link_status_read_only()
    {
        var port = RootPort();
        port.Write(0x50, 4, 0xFFFF_0000);
        Assert.That(port.ReadDword(0x50), Is.EqualTo(0x0105_0000u));
    }

    [Test]
    public void test_link_control_2_target_speed_validation()
    {
        var port = RootPort();
        port.Write(0x70, 2, 0x0001);
        Assert.That(port.ReadDword(0x70), Is.EqualTo(0x0000_0001u));
        port.Write(0x70, 2, 0x000F);
        Assert.That(port.ReadDword(0x70), Is.EqualTo(0x0000_000Fu), "any encoding accepted");
        Assert.That(port.ReadDword(0x50) >> 16, Is.EqualTo(0x0105u), "link status speed unchanged");
    }

    [Test]
    public void test_pci_express_capability_extended_registers()
    {
        var ep = Endpoint();
        uint[] expected = [0x0002_0010, 0x0000_8000, 0x0000_2810, 0x0040_0105, 0x0105_0000, 0, 0, 0, 0, 0, 0, 0x3E, 0x5, 0, 0];
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.That(ep.ReadDword(0x40 + (i * 4)), Is.EqualTo(expected[i]), $"endpoint PCIe cap +0x{i * 4:X2}");
        }
    }

    [Test]
    public void test_pci_express_capability_length()
    {
        var port = RootPort();
        var pcie = port.Layout.Capabilities[0];
        Assert.Multiple(() =>
        {
            Assert.That(pcie.Id, Is.EqualTo(0x10));
            Assert.That(pcie.Offset, Is.EqualTo(0x40));
            Assert.That(pcie.Length, Is.EqualTo(0x3C));
        });
    }

    [TestCase("", 0x0042_7C10u, 0u, 0x0040_0105u)]
    [TestCase(",hotplug", 0x0142_7C10u, 0x0004_0060u | (1u << 19), 0x0050_0105u)]
    [TestCase(",hotplug,cc", 0x0142_7C10u, 0x0000_0060u | (1u << 19), 0x0050_0105u)]
    public void test_pci_express_capability_with_hotplug_support(string options, uint header, uint slotCaps, uint linkCaps)
    {
        var port = RootPort(options);
        Assert.Multiple(() =>
        {
            Assert.That(port.ReadDword(0x40), Is.EqualTo(header));
            Assert.That(port.ReadDword(0x54), Is.EqualTo(slotCaps));
            Assert.That(port.ReadDword(0x4C), Is.EqualTo(linkCaps));
        });
    }

    [Test]
    public void test_hotplug_link_capabilities()
    {
        Assert.That(RootPort().ReadDword(0x4C) & (1u << 20), Is.Zero);
        Assert.That(RootPort(",hotplug").ReadDword(0x4C) & (1u << 20), Is.EqualTo(1u << 20));
    }

    [Test]
    public void test_with_hotplug_support_slot_number()
    {
        var model = Topo.Build("--pcie-root-complex rc0,end_bus=127 --pcie-root-port rc0:rp0,hotplug --pcie-root-port rc0:rp1 --pcie-root-port rc0:rp2,hotplug --pcie-root-complex rc1,start_bus=128,end_bus=255 --pcie-root-port rc1:rpa,hotplug");
        var byName = model.Ports.ToDictionary(p => p.Name, StringComparer.Ordinal);
        Assert.Multiple(() =>
        {
            Assert.That(byName["rp0"].ReadDword(0x54) >> 19, Is.EqualTo(1u));
            Assert.That(byName["rp1"].ReadDword(0x54), Is.EqualTo(0u), "no slot without hotplug");
            Assert.That(byName["rp2"].ReadDword(0x54) >> 19, Is.EqualTo(3u), "every root port flag counts");
            Assert.That(byName["rpa"].ReadDword(0x54) >> 19, Is.EqualTo(1u), "slot numbers restart per root complex");
        });
    }

    [Test]
    public void test_slot_implemented_flag_in_pcie_capabilities_register()
    {
        Assert.That(RootPort(",hotplug").ReadDword(0x40) & (1u << 24), Is.EqualTo(1u << 24));
        Assert.That(RootPort().ReadDword(0x40) & (1u << 24), Is.Zero);
    }

    [TestCase("", 0x0000)]
    [TestCase(",hotplug", 0x1028)]
    [TestCase(",hotplug,cc", 0x1038)]
    public void test_slot_control_write_protection(string options, int writable)
    {
        var port = RootPort(options);
        port.Write(0x58, 2, 0xFFFF);
        Assert.That(port.ReadDword(0x58) & 0xFFFF, Is.EqualTo((uint)writable));
        port.Write(0x58, 2, 0);
        Assert.That(port.ReadDword(0x58) & 0xFFFF, Is.Zero);
    }

    [Test]
    public void test_slot_status_rw1c_behavior()
    {
        // Hotplug events are not modelled yet; on a cold-plugged slot no latch is set and writing 1s keeps them clear.
        var model = Topo.Build("--pcie-root-complex rc0 --pcie-root-port rc0:rp0,hotplug --pcie-endpoint rp0:ep0,template=generic");
        var port = model.RootComplexes[0].RootPorts[0];
        port.Write(0x5A, 2, 0xFFFF);
        Assert.That(port.ReadDword(0x58), Is.EqualTo(0x0040_0000u), "PDS stays, latches stay clear");
    }

    [Test]
    public void test_set_presence_detect_state_without_slot_implemented()
    {
        var model = Topo.Build("--pcie-root-complex rc0 --pcie-root-port rc0:rp0 --pcie-root-port rc0:rp1 --pcie-endpoint rp1:ep0,template=generic --pcie-switch rp0:sw0,num_downstream_ports=2");
        var empty = model.FindPort("sw0-downstream-0")!;
        Assert.Multiple(() =>
        {
            Assert.That(empty.ReadDword(0x58), Is.EqualTo(0x0040_0000u), "DSP without slot: PDS hard-wired 1");
            Assert.That(empty.ReadDword(0x50), Is.EqualTo(0x0105_0000u), "DLLLA follows presence");
            Assert.That(model.FindPort("rp0")!.ReadDword(0x50), Is.EqualTo(0x2105_0000u), "switch below: link active");
            Assert.That(model.FindPort("rp1")!.ReadDword(0x50), Is.EqualTo(0x2105_0000u));
            Assert.That(model.Switches[0].Upstream.ReadDword(0x58), Is.Zero, "USP: PDS 0");
            Assert.That(model.FindEndpoint("ep0")!.ReadDword(0x58), Is.Zero, "endpoint: PDS 0");
        });
    }

    [Test]
    public void test_set_presence_detect_state()
    {
        var model = Topo.Build("--pcie-root-complex rc0 --pcie-root-port rc0:rp0,hotplug --pcie-root-port rc0:rp1,hotplug --pcie-endpoint rp1:ep0,template=generic");
        Assert.Multiple(() =>
        {
            Assert.That(model.FindPort("rp0")!.ReadDword(0x58), Is.EqualTo(0u));
            Assert.That(model.FindPort("rp0")!.ReadDword(0x50), Is.EqualTo(0x0105_0000u));
            Assert.That(model.FindPort("rp1")!.ReadDword(0x58), Is.EqualTo(0x0040_0000u));
            Assert.That(model.FindPort("rp1")!.ReadDword(0x50), Is.EqualTo(0x2105_0000u));
        });
    }

    [TestCase("rp", 0x0000_0020u)]
    [TestCase("dsp", 0x0000_0020u)]
    [TestCase("usp", 0u)]
    [TestCase("ep", 0u)]
    public void test_ari_forwarding_supported_by_port_type(string which, uint devCap2)
    {
        var model = Topo.Build("--pcie-root-complex rc0 --pcie-root-port rc0:rp0 --pcie-switch rp0:sw0,num_downstream_ports=1 --pcie-endpoint sw0-downstream-0:ep0,template=generic");
        PcieFunction function = which switch
        {
            "rp" => model.FindPort("rp0")!,
            "dsp" => model.FindPort("sw0-downstream-0")!,
            "usp" => model.Switches[0].Upstream,
            _ => model.FindEndpoint("ep0")!,
        };
        Assert.That(function.ReadDword(0x64), Is.EqualTo(devCap2));
    }

    [Test]
    public void test_ari_forwarding_enable_is_guest_writable()
    {
        var port = RootPort();
        port.Write(0x68, 2, 0x0020);
        Assert.That(port.AriForwardingEnabled, Is.True);
        port.Write(0x68, 2, 0);
        Assert.That(port.AriForwardingEnabled, Is.False);
    }

    [Test]
    public void test_tlp_prefixing_supported_max_prefixes()
    {
        Assert.That(RootPort(",pasid").ReadDword(0x64), Is.EqualTo(0x0030_0020u));
    }

    [Test]
    public void test_pci_express_capability_reset()
    {
        var model = Topo.Build("--pcie-root-complex rc0 --pcie-root-port rc0:rp0,hotplug --pcie-endpoint rp0:ep0,template=generic");
        var port = model.RootComplexes[0].RootPorts[0];
        port.Write(0x48, 2, 0x00FF);
        port.Write(0x50, 2, 0x00C3);
        port.Write(0x58, 2, 0x1028);
        port.Write(0x5C, 2, 0x000F);
        port.Write(0x70, 2, 0x0001);
        model.Reset();
        Assert.Multiple(() =>
        {
            Assert.That(port.ReadDword(0x48), Is.EqualTo(0x0000_2810u));
            Assert.That(port.ReadDword(0x50), Is.EqualTo(0x2105_0000u), "control reset, presence kept");
            Assert.That(port.ReadDword(0x58), Is.EqualTo(0x0040_0000u), "control reset, PDS kept");
            Assert.That(port.ReadDword(0x5C), Is.Zero);
            Assert.That(port.ReadDword(0x70), Is.EqualTo(0x0000_0005u));
            Assert.That(port.Presence, Is.True);
        });
    }
}
