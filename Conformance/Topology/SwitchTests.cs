using System.Globalization;
using PcieSim.Conformance.TestSupport;
using PcieSim.Functions;
using PcieSim.Topology;

namespace PcieSim.Conformance.Topology;

/// <summary>Mirrors OpenVMM <c>vm/devices/pci/pcie/src/switch.rs</c> unit tests (reference 10.3, section 7).</summary>
[TestFixture]
public sealed class SwitchTests
{
    private static PcieModel SwitchOnRootPort(string switchOptions)
    {
        var model = Topo.Build("--pcie-root-complex rc0 --pcie-root-port rc0:rp0 --pcie-switch rp0:sw0" + switchOptions);
        var rc = model.RootComplexes[0];
        model.Write(rc, 0, 0, 0x18, 4, 0x000A_0100);
        return model;
    }

    [Test]
    public void test_upstream_switch_port_creation()
    {
        var model = SwitchOnRootPort(string.Empty);
        var usp = model.Switches[0].Upstream;
        Assert.Multiple(() =>
        {
            Assert.That(usp.ReadDword(0), Is.EqualTo(0xC031_1414u));
            Assert.That(usp.ReadDword(0x08), Is.EqualTo(0x0604_0000u));
            Assert.That(usp.ReadDword(0x0C), Is.EqualTo(0x0001_0000u));
            Assert.That(usp.ReadDword(0x40), Is.EqualTo(0x0052_0010u), "PCIe cap only, next 0, type 5");
            Assert.That(usp.ReadDword(0x34), Is.EqualTo(0x40u));
            Assert.That(usp.Layout.Capabilities.Select(c => c.Id), Is.EqualTo(new ushort[] { 0x10 }));
            Assert.That(usp.ReadDword(0x7C), Is.EqualTo(0u), "no MSI on the USP");
        });
    }

    [Test]
    public void test_downstream_switch_port_creation()
    {
        var model = SwitchOnRootPort(",num_downstream_ports=2");
        foreach (var dsp in model.Switches[0].DownstreamPorts)
        {
            Assert.Multiple(() =>
            {
                Assert.That(dsp.ReadDword(0), Is.EqualTo(0xC032_1414u));
                Assert.That(dsp.ReadDword(0x40), Is.EqualTo(0x0062_7C10u));
                Assert.That(dsp.ReadDword(0x7C), Is.EqualTo(0x0080_0005u));
                Assert.That(dsp.ReadDword(0x100), Is.EqualTo(0x0001_000Du));
            });
        }
    }

    [TestCase(1, 0x0001_0000u)]
    [TestCase(2, 0x0081_0000u)]
    [TestCase(8, 0x0081_0000u)]
    public void test_downstream_switch_port_multi_function_options(int count, uint headerDword)
    {
        var model = SwitchOnRootPort(string.Create(CultureInfo.InvariantCulture, $",num_downstream_ports={count}"));
        foreach (var dsp in model.Switches[0].DownstreamPorts)
        {
            Assert.That(dsp.ReadDword(0x0C), Is.EqualTo(headerDword), dsp.Name);
        }
    }

    [Test]
    public void test_switch_multi_function_bit()
    {
        var multi = SwitchOnRootPort(",num_downstream_ports=3");
        var single = SwitchOnRootPort(",num_downstream_ports=1");
        Assert.Multiple(() =>
        {
            Assert.That(multi.Switches[0].DownstreamPorts[0].Read(0x0E, 1), Is.EqualTo(0x81u));
            Assert.That(single.Switches[0].DownstreamPorts[0].Read(0x0E, 1), Is.EqualTo(0x01u));
            Assert.That(multi.Switches[0].Upstream.Read(0x0E, 1), Is.EqualTo(0x01u));
        });
    }

    [Test]
    public void test_downstream_switch_port_hotplug_options()
    {
        var model = SwitchOnRootPort(",num_downstream_ports=3,hotplug");
        var ports = model.Switches[0].DownstreamPorts;
        for (int i = 0; i < ports.Count; i++)
        {
            Assert.Multiple(() =>
            {
                Assert.That(ports[i].ReadDword(0x40), Is.EqualTo(0x0162_7C10u));
                Assert.That(ports[i].SlotNumber, Is.EqualTo(i + 1));
                Assert.That(ports[i].ReadDword(0x54), Is.EqualTo(0x0004_0060u | ((uint)(i + 1) << 19)));
                Assert.That(ports[i].ReadDword(0x4C), Is.EqualTo(0x0050_0105u));
            });
        }
    }

    [Test]
    public void test_switch_default()
    {
        var model = SwitchOnRootPort(string.Empty);
        var ports = model.Switches[0].DownstreamPorts;
        Assert.Multiple(() =>
        {
            Assert.That(ports.Select(p => p.Name), Is.EqualTo(new[] { "sw0-downstream-0", "sw0-downstream-1", "sw0-downstream-2", "sw0-downstream-3" }));
            Assert.That(ports.Select(p => (int)p.Devfn), Is.EqualTo(new[] { 0, 1, 2, 3 }));
            Assert.That(ports.Select(p => p.Index), Is.EqualTo(new[] { 0, 1, 2, 3 }));
        });
    }

    [Test]
    public void test_switch_creation()
    {
        var model = SwitchOnRootPort(",num_downstream_ports=3");
        var sw = model.Switches[0];
        Assert.Multiple(() =>
        {
            Assert.That(sw.Name, Is.EqualTo("sw0"));
            Assert.That(sw.ParentPort, Is.SameAs(model.FindPort("rp0")));
            Assert.That(sw.DownstreamPorts.Select(p => (int)p.Devfn), Is.EqualTo(new[] { 0, 1, 2 }));
            Assert.That(model.FindPort("sw0-downstream-2"), Is.SameAs(sw.DownstreamPorts[2]));
            Assert.That(model.FindPort("rp0")!.Child, Is.SameAs(sw));
        });
    }

    [Test]
    public void test_switch_large_downstream_port_count()
    {
        var model = SwitchOnRootPort(",num_downstream_ports=16");
        var ports = model.Switches[0].DownstreamPorts;
        Assert.That(ports.Select(p => (int)p.Devfn), Is.EqualTo(Enumerable.Range(0, 16)));
        var rc = model.RootComplexes[0];
        model.Write(rc, 1, 0, 0x18, 4, 0x000A_0201);
        for (int devfn = 0; devfn < 16; devfn++)
        {
            Assert.That(model.Read(rc, 2, (byte)devfn, 0, 4).Value, Is.EqualTo(0xC032_1414UL), $"devfn {devfn}");
        }

        Assert.That(model.Read(rc, 2, 16, 0, 4).Value, Is.EqualTo(0xFFFF_FFFFUL));
    }

    [Test]
    public void test_switch_device_connections()
    {
        var model = Topo.Build("--pcie-root-complex rc0 --pcie-root-port rc0:rp0 --pcie-switch rp0:sw0,num_downstream_ports=2 --pcie-endpoint sw0-downstream-1:ep0,template=generic");
        var sw = model.Switches[0];
        Assert.Multiple(() =>
        {
            Assert.That(sw.DownstreamPorts[1].Child, Is.SameAs(model.FindEndpoint("ep0")));
            Assert.That(sw.DownstreamPorts[0].Child, Is.Null);
            Assert.That(sw.DownstreamPorts[1].Presence, Is.True);
            Assert.That(sw.DownstreamPorts[0].Presence, Is.False);
        });
    }

    [Test]
    public void test_switch_routing_functionality()
    {
        Assert.Throws<InputException>(() => Topo.Build("--pcie-root-complex rc0 --pcie-root-port rc0:rp0 --pcie-switch rp0:sw0,num_downstream_ports=2 --pcie-endpoint sw0-downstream-99:ep0,template=generic"));
    }

    [Test]
    public void test_switch_chipset_device()
    {
        var model = SwitchOnRootPort(string.Empty);
        var read = model.Read(model.RootComplexes[0], 1, 0, 0, 4);
        Assert.That(read.Value, Is.EqualTo(0xC031_1414UL), "Type 0 read of the USP ID");
        Assert.That(read.Function, Is.SameAs(model.Switches[0].Upstream));
    }

    [Test]
    public void test_switch_downstream_port_direct_access()
    {
        var model = SwitchOnRootPort(string.Empty);
        var rc = model.RootComplexes[0];
        model.Write(rc, 1, 0, 0x18, 4, 0x000A_0201);
        Assert.Multiple(() =>
        {
            Assert.That(model.Read(rc, 2, 0, 0, 4).Value, Is.EqualTo(0xC032_1414UL));
            Assert.That(model.Read(rc, 2, 2, 0, 4).Value, Is.EqualTo(0xC032_1414UL));
            Assert.That(model.Read(rc, 2, 2, 0, 4).Function, Is.SameAs(model.Switches[0].DownstreamPorts[2]));
            Assert.That(model.Read(rc, 2, 5, 0, 4).Value, Is.EqualTo(0xFFFF_FFFFUL));
            Assert.That(model.Read(rc, 2, 5, 0, 4).Failure, Is.EqualTo(RouteFailure.NoDownstreamPortAtDevfn));
            Assert.That(model.Read(rc, 2, 5, 0, 4).StoppedAt, Is.SameAs(model.Switches[0].Upstream));
        });
    }

    [Test]
    public void test_switch_invalid_bus_range_handling()
    {
        var model = SwitchOnRootPort(string.Empty);
        var rc = model.RootComplexes[0];
        for (int bus = 2; bus <= 10; bus++)
        {
            var read = model.Read(rc, (byte)bus, 0, 0, 4);
            Assert.Multiple(() =>
            {
                Assert.That(read.Value, Is.EqualTo(0xFFFF_FFFFUL), $"bus {bus}");
                Assert.That(read.Failure, Is.EqualTo(RouteFailure.SwitchBusRangeUnprogrammed));
                Assert.That(read.StoppedAt, Is.SameAs(model.Switches[0].Upstream));
            });
        }
    }

    [Test]
    public void test_switch_downstream_port_invalid_bus_range_skipping()
    {
        var model = Topo.Build("--pcie-root-complex rc0 --pcie-root-port rc0:rp0 --pcie-switch rp0:sw0,num_downstream_ports=2 --pcie-endpoint sw0-downstream-1:ep0,template=generic,device=0xBEEF");
        var rc = model.RootComplexes[0];
        model.Write(rc, 0, 0, 0x18, 4, 0x000A_0100);
        model.Write(rc, 1, 0, 0x18, 4, 0x000A_0201);
        Assert.Multiple(() =>
        {
            Assert.That(model.Read(rc, 3, 0, 0, 4).Failure, Is.EqualTo(RouteFailure.NoDownstreamPortClaimsBus), "both DSPs unprogrammed");
            Assert.That(model.Read(rc, 2, 1, 0, 4).Value, Is.EqualTo(0xC032_1414UL), "internal bus still works");
        });

        // DSP 1 gets 3..3; DSP 0 stays 0..0 and is skipped.
        model.Write(rc, 2, 1, 0x18, 4, 0x0003_0302);
        Assert.Multiple(() =>
        {
            Assert.That(model.Read(rc, 3, 0, 0, 4).Value, Is.EqualTo(0xBEEF_1414UL));
            Assert.That(model.Read(rc, 4, 0, 0, 4).Failure, Is.EqualTo(RouteFailure.NoDownstreamPortClaimsBus));
            Assert.That(model.Read(rc, 11, 0, 0, 4).Failure, Is.EqualTo(RouteFailure.BusNotClaimed));
        });
    }

    [Test]
    public void test_switch_enumeration_through_port()
    {
        var model = SwitchOnRootPort(string.Empty);
        var rc = model.RootComplexes[0];
        var devfn1 = model.Read(rc, 1, 1, 0, 4);
        Assert.Multiple(() =>
        {
            Assert.That(model.Read(rc, 1, 0, 0, 4).Value, Is.EqualTo(0xC031_1414UL));
            Assert.That(devfn1.Value, Is.EqualTo(0xFFFF_FFFFUL));
            Assert.That(devfn1.Failure, Is.EqualTo(RouteFailure.SwitchDevfnNotZero));
        });
    }

    [Test]
    public void test_switch_acs_only_applies_to_dsp()
    {
        var model = SwitchOnRootPort(",num_downstream_ports=2,acs=1");
        Assert.Multiple(() =>
        {
            Assert.That(model.Switches[0].Upstream.ReadDword(0x100), Is.EqualTo(0u));
            Assert.That(model.Switches[0].DownstreamPorts[0].ReadDword(0x100), Is.EqualTo(0x0001_000Du));
            Assert.That(model.Switches[0].DownstreamPorts[0].ReadDword(0x104), Is.EqualTo(0x0000_0001u));
            Assert.That(model.Switches[0].DownstreamPorts[1].ReadDword(0x104), Is.EqualTo(0x0000_0001u));
        });
    }

    [Test]
    public void test_switch_with_four_tlp_prefixes_reports_upstream_support()
    {
        var model = SwitchOnRootPort(",num_downstream_ports=2,pasid");
        Assert.Multiple(() =>
        {
            Assert.That(model.Switches[0].Upstream.ReadDword(0x64), Is.EqualTo(0x0030_0000u));
            Assert.That(model.Switches[0].DownstreamPorts[0].ReadDword(0x64), Is.EqualTo(0x0030_0020u));
        });
    }

    [Test]
    public void test_switch_reset()
    {
        var model = SwitchOnRootPort(",num_downstream_ports=2");
        var rc = model.RootComplexes[0];
        model.Write(rc, 1, 0, 0x18, 4, 0x000A_0201);
        model.Write(rc, 2, 1, 0x18, 4, 0x0003_0302);
        model.Reset();
        Assert.Multiple(() =>
        {
            Assert.That(model.Switches[0].Upstream.ReadDword(0x18), Is.EqualTo(0u));
            Assert.That(model.Switches[0].DownstreamPorts[1].ReadDword(0x18), Is.EqualTo(0u));
            Assert.That(model.RootComplexes[0].RootPorts[0].ReadDword(0x18), Is.EqualTo(0u));
            Assert.That(model.FindPort("rp0")!.Child, Is.SameAs(model.Switches[0]), "links survive reset");
            Assert.That(model.FindPort("rp0")!.Presence, Is.True, "presence survives reset");
            Assert.That(Topo.Read32(model, rc, 0, 0, 0x50), Is.EqualTo(0x2105_0000u));
        });
    }

    [Test]
    public void test_switch_nonzero_function_kinds()
    {
        var model = SwitchOnRootPort(",num_downstream_ports=1");
        Assert.Multiple(() =>
        {
            Assert.That(model.Switches[0].Upstream.Kind, Is.EqualTo(FunctionKind.UpstreamSwitchPort));
            Assert.That(model.Switches[0].DownstreamPorts[0].Kind, Is.EqualTo(FunctionKind.DownstreamSwitchPort));
        });
    }
}
