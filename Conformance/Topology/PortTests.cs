using PcieSim.Conformance.TestSupport;
using PcieSim.Topology;

namespace PcieSim.Conformance.Topology;

/// <summary>Mirrors OpenVMM <c>vm/devices/pci/pcie/src/port.rs</c> unit tests (reference 10.2, sections 1.4, 2.5, 2.7).</summary>
[TestFixture]
public sealed class PortTests
{
    private const string RootPortWithEndpoint = "--pcie-root-complex rc0 --pcie-root-port rc0:rp0 --pcie-endpoint rp0:ep0,template=generic,device=0x1234";

    private static PcieModel ProgrammedRootPort(string flags)
    {
        var model = Topo.Build(flags);
        model.Write(model.RootComplexes[0], 0, 0, 0x18, 4, 0x0001_0100);
        return model;
    }

    [Test]
    public void test_add_pcie_device_sets_presence_detect_state()
    {
        var empty = Topo.Build("--pcie-root-complex rc0 --pcie-root-port rc0:rp0,hotplug");
        var attached = Topo.Build("--pcie-root-complex rc0 --pcie-root-port rc0:rp0,hotplug --pcie-endpoint rp0:ep0,template=generic");
        Assert.Multiple(() =>
        {
            Assert.That(Topo.Read32(empty, empty.RootComplexes[0], 0, 0, 0x58) & (1u << 22), Is.EqualTo(0u), "PDS clear on an empty hotplug slot");
            Assert.That(Topo.Read32(empty, empty.RootComplexes[0], 0, 0, 0x58), Is.EqualTo(0u), "hotplug RP empty: 0x58");
            Assert.That(Topo.Read32(empty, empty.RootComplexes[0], 0, 0, 0x50), Is.EqualTo(0x0105_0000u), "hotplug RP empty: 0x50");
            Assert.That(Topo.Read32(attached, attached.RootComplexes[0], 0, 0, 0x58), Is.EqualTo(1u << 22), "PDS set after attach, no change bits latched");
            Assert.That(Topo.Read32(attached, attached.RootComplexes[0], 0, 0, 0x50), Is.EqualTo(0x2105_0000u), "DLL Link Active after attach");
            Assert.That(attached.RootComplexes[0].RootPorts[0].Presence, Is.True);
            Assert.That(empty.RootComplexes[0].RootPorts[0].Presence, Is.False);
        });
    }

    [Test]
    public void test_add_pcie_device_without_hotplug()
    {
        var model = ProgrammedRootPort(RootPortWithEndpoint);
        var empty = Topo.Build("--pcie-root-complex rc0 --pcie-root-port rc0:rp0");
        var rc = model.RootComplexes[0];
        Assert.Multiple(() =>
        {
            Assert.That(model.Read(rc, 1, 0, 0, 4).Value, Is.EqualTo(0x1234_1414UL));
            Assert.That(Topo.Read32(model, rc, 0, 0, 0x58), Is.EqualTo(0x0040_0000u), "PDS hard-wired 1 without a slot");
            Assert.That(Topo.Read32(model, rc, 0, 0, 0x50), Is.EqualTo(0x2105_0000u));
            Assert.That(Topo.Read32(empty, empty.RootComplexes[0], 0, 0, 0x58), Is.EqualTo(0x0040_0000u));
            Assert.That(Topo.Read32(empty, empty.RootComplexes[0], 0, 0, 0x50), Is.EqualTo(0x0105_0000u));
        });
    }

    [Test]
    public void test_direct_child_bus_reads_use_forward_for_multifunction_devices()
    {
        var model = ProgrammedRootPort(RootPortWithEndpoint);
        var rc = model.RootComplexes[0];
        var endpoint = model.FindEndpoint("ep0");
        for (int devfn = 1; devfn < 8; devfn++)
        {
            var read = model.Read(rc, 1, (byte)devfn, 0, 4);
            Assert.Multiple(() =>
            {
                Assert.That(read.Value, Is.EqualTo(0xFFFF_FFFFUL), $"function {devfn}");
                Assert.That(read.Failure, Is.EqualTo(RouteFailure.EndpointFunctionNotImplemented), "the endpoint's own Type 0 decode declines");
                Assert.That(read.StoppedAt, Is.SameAs(endpoint));
                Assert.That(read.Address.Devfn, Is.EqualTo(devfn), "original devfn carried");
            });
        }
    }

    [Test]
    public void test_direct_child_bus_writes_use_forward_for_multifunction_devices()
    {
        var model = ProgrammedRootPort(RootPortWithEndpoint);
        var rc = model.RootComplexes[0];
        var before = Topo.Snapshot(model);
        var write = model.Write(rc, 1, 3, 0x04, 2, 0x0006);
        Assert.That(write.Failure, Is.EqualTo(RouteFailure.EndpointFunctionNotImplemented));
        Topo.AssertUnchanged(before, Topo.Snapshot(model), "write to function 3 of a single-function endpoint");
        model.Write(rc, 1, 0, 0x04, 2, 0x0006);
        Assert.That(model.FindEndpoint("ep0")!.Command, Is.EqualTo(0x0006), "function 0 takes the write");
    }

    [Test]
    public void test_secondary_bus_nonzero_device_without_ari_is_unsupported_request()
    {
        var model = ProgrammedRootPort(RootPortWithEndpoint);
        var rc = model.RootComplexes[0];
        var port = rc.RootPorts[0];
        var before = Topo.Snapshot(model);
        foreach (byte devfn in new byte[] { 0x08, 0x10, 0x30, 0xF8, 0xFF })
        {
            var read = model.Read(rc, 1, devfn, 0, 4);
            var write = model.Write(rc, 1, devfn, 0x04, 2, 0x0006);
            Assert.Multiple(() =>
            {
                Assert.That(read.Value, Is.EqualTo(0xFFFF_FFFFUL));
                Assert.That(read.Status, Is.EqualTo(AccessStatus.Unroutable));
                Assert.That(read.Failure, Is.EqualTo(RouteFailure.DeviceNotZeroWithoutAri));
                Assert.That(read.StoppedAt, Is.SameAs(port), "the device below is never reached");
                Assert.That(write.Failure, Is.EqualTo(RouteFailure.DeviceNotZeroWithoutAri));
            });
        }

        Topo.AssertUnchanged(before, Topo.Snapshot(model), "writes to nonzero devices without ARI");
    }

    [Test]
    public void test_secondary_bus_nonzero_device_with_ari_forwards_full_devfn()
    {
        var model = ProgrammedRootPort(RootPortWithEndpoint);
        var rc = model.RootComplexes[0];
        var port = rc.RootPorts[0];
        var endpoint = model.FindEndpoint("ep0");
        model.Write(rc, 0, 0, 0x68, 4, 0x20);
        Assert.That(port.AriForwardingEnabled, Is.True);
        Assert.That(Topo.Read32(model, rc, 0, 0, 0x68), Is.EqualTo(0x0000_0020u));
        foreach (byte devfn in new byte[] { 0x08, 0x30 })
        {
            var read = model.Read(rc, 1, devfn, 0, 4);
            Assert.Multiple(() =>
            {
                Assert.That(read.StoppedAt, Is.SameAs(endpoint), "forwarded as Type 0 to the device");
                Assert.That(read.Failure, Is.EqualTo(RouteFailure.EndpointFunctionNotImplemented), "ARI function of a single-function endpoint");
                Assert.That(read.Address.Devfn, Is.EqualTo(devfn), "full 8-bit devfn delivered");
            });
        }

        model.Write(rc, 0, 0, 0x68, 4, 0);
        Assert.That(model.Read(rc, 1, 0x08, 0, 4).Failure, Is.EqualTo(RouteFailure.DeviceNotZeroWithoutAri), "clearing ARI forwarding restores the gate");
    }

    [TestCase("--pcie-root-complex rc0 --pcie-root-port rc0:rp0,acs=0xff", 0x00DFu)]
    [TestCase("--pcie-root-complex rc0 --pcie-root-port rc0:rp0", 0x005Fu)]
    [TestCase("--pcie-root-complex rc0 --pcie-root-port rc0:rp0,acs=0x20", 0x0000u)]
    public void test_filter_acs_capabilities_for_bridge_type(string flags, uint capability)
    {
        var model = Topo.Build(flags);
        var port = model.RootComplexes[0].RootPorts[0];
        Assert.That(port.ReadDword(0x104) & 0xFFFF, Is.EqualTo(capability));
    }

    [Test]
    public void test_filter_acs_capabilities_for_bridge_type_switch_and_endpoint()
    {
        var model = Topo.Build("--pcie-root-complex rc0 --pcie-root-port rc0:rp0 --pcie-switch rp0:sw0,num_downstream_ports=1,acs=0xff --pcie-endpoint sw0-downstream-0:ep0,template=generic");
        Assert.Multiple(() =>
        {
            Assert.That(model.Switches[0].DownstreamPorts[0].ReadDword(0x104), Is.EqualTo(0x0000_00DFu), "DSP filtered with 0xDF");
            Assert.That(model.Switches[0].Upstream.ReadDword(0x100), Is.EqualTo(0u), "USP has no ACS");
            Assert.That(model.Switches[0].Upstream.ReadDword(0x104), Is.EqualTo(0u));
            Assert.That(model.FindEndpoint("ep0")!.ReadDword(0x100), Is.EqualTo(0u), "endpoint has no ACS");
        });
    }

    [Test]
    public void test_root_port_adds_acs_only_when_non_zero()
    {
        var without = Topo.Build("--pcie-root-complex rc0 --pcie-root-port rc0:rp0,acs=0");
        var with = Topo.Build("--pcie-root-complex rc0 --pcie-root-port rc0:rp0");
        Assert.Multiple(() =>
        {
            Assert.That(Topo.Read32(without, without.RootComplexes[0], 0, 0, 0x100), Is.EqualTo(0u));
            Assert.That(Topo.Read32(without, without.RootComplexes[0], 0, 0, 0x104), Is.EqualTo(0u));
            Assert.That(without.RootComplexes[0].RootPorts[0].Layout.Capabilities.Select(c => c.Id), Is.EqualTo(new ushort[] { 0x10, 0x05 }));
            Assert.That(Topo.Read32(with, with.RootComplexes[0], 0, 0, 0x100), Is.EqualTo(0x0001_000Du));
            Assert.That(Topo.Read32(with, with.RootComplexes[0], 0, 0, 0x104), Is.EqualTo(0x0000_005Fu));
        });
    }
}
