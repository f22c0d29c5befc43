using PcieSim.Conformance.TestSupport;
using PcieSim.Functions;
using PcieSim.Topology;

namespace PcieSim.Conformance.Topology;

/// <summary>Individual routing rules and the reason each unroutable access names.</summary>
public sealed partial class RoutingTests
{
    private const string TwoPorts =
        "--pcie-root-complex rc0 --pcie-root-port rc0:rp0 --pcie-root-port rc0:rp1 --pcie-endpoint rp1:ep1,template=generic,device=0x1111";

    [Test]
    public void unprogrammed_ports_are_skipped()
    {
        var model = Topo.Build(TwoPorts);
        var rc = model.RootComplexes[0];
        model.Write(rc, 0, 1, 0x18, 4, 0x0003_0300);
        Assert.Multiple(() =>
        {
            Assert.That(model.FindPort("rp0")!.AssignedBusRange.IsProgrammed, Is.False);
            Assert.That(model.Read(rc, 3, 0, 0, 4).Value, Is.EqualTo(0x1111_1414UL), "rp0 (0..0) skipped, rp1 claims bus 3");
        });
    }

    [Test]
    public void secondary_greater_than_subordinate_is_unprogrammed()
    {
        var model = Topo.Build(TwoPorts);
        var rc = model.RootComplexes[0];
        model.Write(rc, 0, 1, 0x18, 4, 0x0003_0500);
        Assert.Multiple(() =>
        {
            Assert.That(model.FindPort("rp1")!.AssignedBusRange, Is.EqualTo(default(BusRange)));
            Assert.That(model.Read(rc, 5, 0, 0, 4).Failure, Is.EqualTo(RouteFailure.BusNotClaimed));
            Assert.That(model.Read(rc, 3, 0, 0, 4).Failure, Is.EqualTo(RouteFailure.BusNotClaimed));
        });
    }

    [Test]
    public void first_root_port_in_devfn_order_wins_on_overlapping_ranges()
    {
        var model = Topo.Build(TwoPorts);
        var rc = model.RootComplexes[0];
        model.Write(rc, 0, 1, 0x18, 4, 0x0005_0100);
        Assert.That(model.Read(rc, 1, 0, 0, 4).Value, Is.EqualTo(0x1111_1414UL));
        model.Write(rc, 0, 0, 0x18, 4, 0x0005_0100);
        var read = model.Read(rc, 1, 0, 0, 4);
        Assert.Multiple(() =>
        {
            Assert.That(read.Value, Is.EqualTo(0xFFFF_FFFFUL), "rp0 at devfn 0 shadows rp1");
            Assert.That(read.Failure, Is.EqualTo(RouteFailure.PortEmpty));
            Assert.That(read.StoppedAt, Is.SameAs(model.FindPort("rp0")));
        });
    }

    [Test]
    public void first_port_wins_regardless_of_flag_order()
    {
        var model = Topo.Build("--pcie-root-complex rc0 --pcie-root-port rc0:rpb,addr=0.1 --pcie-root-port rc0:rpa,addr=0.0 --pcie-endpoint rpb:ep,template=generic");
        var rc = model.RootComplexes[0];
        Assert.That(rc.RootPorts.Select(p => p.Name), Is.EqualTo(new[] { "rpa", "rpb" }), "root ports in devfn order");
        model.Write(rc, 0, 1, 0x18, 4, 0x0002_0100);
        model.Write(rc, 0, 0, 0x18, 4, 0x0002_0100);
        Assert.That(model.Read(rc, 1, 0, 0, 4).StoppedAt, Is.SameAs(model.FindPort("rpa")));
    }

    [Test]
    public void secondary_zero_range_is_accepted()
    {
        var model = Topo.Build(TwoPorts);
        var rc = model.RootComplexes[0];
        model.Write(rc, 0, 1, 0x18, 4, 0x0004_0000);
        var read = model.Read(rc, 2, 0, 0, 4);
        Assert.Multiple(() =>
        {
            Assert.That(model.FindPort("rp1")!.AssignedBusRange, Is.EqualTo(new BusRange(0, 4)));
            Assert.That(read.StoppedAt, Is.SameAs(model.FindPort("rp1")), "bus 2 is not the secondary: the port's Type 1 goes nowhere");
            Assert.That(read.Failure, Is.EqualTo(RouteFailure.EndpointIgnoresType1));
        });
    }

    [Test]
    public void type1_below_an_endpoint_is_unroutable()
    {
        var model = Topo.Build(TwoPorts);
        var rc = model.RootComplexes[0];
        model.Write(rc, 0, 1, 0x18, 4, 0x0003_0100);
        Assert.Multiple(() =>
        {
            Assert.That(model.Read(rc, 1, 0, 0, 4).Value, Is.EqualTo(0x1111_1414UL));
            Assert.That(model.Read(rc, 2, 0, 0, 4).Failure, Is.EqualTo(RouteFailure.EndpointIgnoresType1));
            Assert.That(model.Read(rc, 2, 0, 0, 4).Value, Is.EqualTo(0xFFFF_FFFFUL));
            Assert.That(model.Read(rc, 3, 0, 0, 4).Value, Is.EqualTo(0xFFFF_FFFFUL));
        });
    }

    [Test]
    public void bus_outside_switch_range_is_unroutable()
    {
        var model = Topo.Build("--pcie-root-complex rc0 --pcie-root-port rc0:rp0 --pcie-switch rp0:sw0,num_downstream_ports=2");
        var rc = model.RootComplexes[0];
        model.Write(rc, 0, 0, 0x18, 4, 0x000A_0100);
        model.Write(rc, 1, 0, 0x18, 4, 0x0005_0201);
        var read = model.Read(rc, 7, 0, 0, 4);
        Assert.Multiple(() =>
        {
            Assert.That(read.Failure, Is.EqualTo(RouteFailure.BusOutsideSwitchRange));
            Assert.That(read.StoppedAt, Is.SameAs(model.Switches[0].Upstream));
            Assert.That(read.Value, Is.EqualTo(0xFFFF_FFFFUL));
        });
    }

    [Test]
    public void ari_gate_applies_on_switch_downstream_ports()
    {
        var model = Topo.Build("--pcie-root-complex rc0 --pcie-root-port rc0:rp0 --pcie-switch rp0:sw0,num_downstream_ports=2 --pcie-endpoint sw0-downstream-1:ep0,template=generic,device=0xE0E0");
        var rc = model.RootComplexes[0];
        model.Write(rc, 0, 0, 0x18, 4, 0x000A_0100);
        model.Write(rc, 1, 0, 0x18, 4, 0x000A_0201);
        model.Write(rc, 2, 1, 0x18, 4, 0x0003_0302);
        var dsp = model.FindPort("sw0-downstream-1")!;
        Assert.Multiple(() =>
        {
            Assert.That(model.Read(rc, 3, 0, 0, 4).Value, Is.EqualTo(0xE0E0_1414UL));
            Assert.That(model.Read(rc, 3, 8, 0, 4).Failure, Is.EqualTo(RouteFailure.DeviceNotZeroWithoutAri));
            Assert.That(model.Read(rc, 3, 8, 0, 4).StoppedAt, Is.SameAs(dsp));
        });
        model.Write(rc, 2, 1, 0x68, 2, 0x20);
        var read = model.Read(rc, 3, 8, 0, 4);
        Assert.Multiple(() =>
        {
            Assert.That(dsp.AriForwardingEnabled, Is.True);
            Assert.That(read.Failure, Is.EqualTo(RouteFailure.EndpointFunctionNotImplemented));
            Assert.That(read.StoppedAt, Is.SameAs(model.FindEndpoint("ep0")));
        });
    }

    [Test]
    public void ari_gate_does_not_apply_to_root_bus_or_switch_internal_bus()
    {
        var model = Topo.Build("--pcie-root-complex rc0 --pcie-root-port rc0:rp0 --pcie-root-port rc0:rp1,addr=1 --pcie-switch rp0:sw0,num_downstream_ports=10");
        var rc = model.RootComplexes[0];
        model.Write(rc, 0, 0, 0x18, 4, 0x000A_0100);
        model.Write(rc, 1, 0, 0x18, 4, 0x000A_0201);
        Assert.Multiple(() =>
        {
            Assert.That(model.Read(rc, 0, 8, 0, 4).Value, Is.EqualTo(0xC030_1414UL), "device 1 on the root bus");
            Assert.That(model.Read(rc, 2, 9, 0, 4).Value, Is.EqualTo(0xC032_1414UL), "device 1 on the switch internal bus: exact devfn lookup");
        });
    }
}
