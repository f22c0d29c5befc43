using PcieSim.Interrupts;
using PcieSim.Topology;

namespace PcieSim.Conformance.Hotplug;

/// <summary>
/// Native hot-plug (PCIe Base Spec §6.7; reference 4): hot-add and hot-remove on root ports and switch downstream
/// ports, presence and change latches, errors, Slot Control/Status masks, <c>cc</c> and reset.
/// </summary>
[TestFixture]
public partial class HotplugTests
{
    /// <summary>rp0, rp1 hotplug (slots 1, 2); rp2 no hotplug with a cold-plugged endpoint; rp3 hotplug with a cold-plugged endpoint (slot 4).</summary>
    private const string RootPorts =
        "--pcie-root-complex rc0 --pcie-root-port rc0:rp0,hotplug --pcie-root-port rc0:rp1,hotplug "
        + "--pcie-root-port rc0:rp2 --pcie-root-port rc0:rp3,hotplug "
        + "--pcie-endpoint nvme0,template=nvme --pcie-endpoint gen0,template=generic,msi=4 "
        + "--pcie-endpoint rp2:fixed,template=generic --pcie-endpoint rp3:cold,template=generic";

    /// <summary>rp0 (no hotplug) holds sw0 with two hotplug downstream ports.</summary>
    private static string Switch(bool cc = false) =>
        "--pcie-root-complex rc0 --pcie-root-port rc0:rp0 --pcie-switch rp0:sw0,num_downstream_ports=2,hotplug" + (cc ? ",cc" : string.Empty)
        + " --pcie-endpoint nvme0,template=nvme";

    private static string CcRootPort(bool cc) =>
        "--pcie-root-complex rc0 --pcie-root-port rc0:rp0,hotplug" + (cc ? ",cc" : string.Empty) + " --pcie-endpoint nvme0,template=nvme";

    /// <summary>Programs rp0 → sw0 (USP bus 1, internal bus 2, DSP i secondary 3 + i).</summary>
    private static void ProgramSwitch(Bench b)
    {
        var sw = b.Model.Switches.Single();
        b.Buses(b.Port("rp0"), 0, 1, 4);
        b.Buses(sw.Upstream, 1, 2, 4);
        b.Buses(sw.DownstreamPorts[0], 2, 3, 3);
        b.Buses(sw.DownstreamPorts[1], 2, 4, 4);
    }

    [Test]
    public void hot_add_on_root_port_sets_presence_link_and_both_latches_in_one_step()
    {
        var b = new Bench(RootPorts);
        var rp0 = b.Port("rp0");
        b.Buses(rp0, 0, 1, 1);
        Assert.Multiple(() =>
        {
            Assert.That(b.Read(rp0, Bench.SltSta, 2), Is.EqualTo(0x0000));
            Assert.That(b.Read(rp0, Bench.LnkSta, 2), Is.EqualTo(0x0105));
            Assert.That(b.ReadAt(b.Rc(), 1, 0, 0, 4).Value, Is.EqualTo(0xFFFF_FFFFUL));
        });

        b.Model.ClearEvents();
        b.Model.HotAdd("rp0", "nvme0");
        Assert.Multiple(() =>
        {
            Assert.That(b.Read(rp0, Bench.SltSta, 2), Is.EqualTo(0x0148), "PDS | PDC | DLLSC");
            Assert.That(b.Read(rp0, Bench.LnkSta, 2), Is.EqualTo(0x2105), "DLLLA, 32 GT/s x16");
            Assert.That(b.ReadAt(b.Rc(), 1, 0, 0, 4).Value, Is.EqualTo(0x00A9_1414UL), "the endpoint answers at once");
            Assert.That(b.Endpoint("nvme0").Port, Is.SameAs(rp0));
            Assert.That(rp0.Presence, Is.True);
            Assert.That(b.Model.Events.OfType<HotplugEvent>().Single(), Is.EqualTo(new HotplugEvent(rp0, b.Endpoint("nvme0"), true)));
            Assert.That(b.Messages, Is.Empty, "HPIE clear: no message");
        });
    }

    [Test]
    public void hot_remove_on_root_port_clears_presence_and_sets_both_latches()
    {
        var b = new Bench(RootPorts);
        var rp0 = b.Port("rp0");
        b.Buses(rp0, 0, 1, 1);
        b.Model.HotAdd("rp0", "nvme0");
        b.Write(rp0, Bench.SltSta, 2, 0x0108);
        Assert.That(b.Read(rp0, Bench.SltSta, 2), Is.EqualTo(0x0040));

        b.Model.ClearEvents();
        b.Model.HotRemove("rp0", "nvme0");
        var below = b.ReadAt(b.Rc(), 1, 0, 0, 4);
        Assert.Multiple(() =>
        {
            Assert.That(b.Read(rp0, Bench.SltSta, 2), Is.EqualTo(0x0108), "PDC | DLLSC, PDS 0");
            Assert.That(b.Read(rp0, Bench.LnkSta, 2), Is.EqualTo(0x0105));
            Assert.That(below.Value, Is.EqualTo(0xFFFF_FFFFUL));
            Assert.That(below.Status, Is.EqualTo(AccessStatus.Unroutable));
            Assert.That(below.Failure, Is.EqualTo(RouteFailure.PortEmpty));
            Assert.That(below.StoppedAt, Is.SameAs(rp0));
            Assert.That(rp0.Child, Is.Null);
            Assert.That(b.Endpoint("nvme0").Port, Is.Null, "back in the pool");
            Assert.That(b.Model.Events.OfType<HotplugEvent>().Single(), Is.EqualTo(new HotplugEvent(rp0, b.Endpoint("nvme0"), false)));
        });
    }

    [TestCase(0)]
    [TestCase(1)]
    public void hot_add_and_remove_on_switch_downstream_port(int index)
    {
        var b = new Bench(Switch());
        ProgramSwitch(b);
        var dsp = b.Model.Switches.Single().DownstreamPorts[index];
        byte secondary = (byte)(3 + index);
        Assert.Multiple(() =>
        {
            Assert.That(dsp.Name, Is.EqualTo($"sw0-downstream-{index}"));
            Assert.That(b.Read(dsp, Bench.SltCap, 4), Is.EqualTo(0x0004_0060u | ((uint)(index + 1) << 19)));
            Assert.That(b.Read(dsp, Bench.SltSta, 2), Is.EqualTo(0x0000));
            Assert.That(b.Read(dsp, Bench.LnkSta, 2), Is.EqualTo(0x0105));
        });

        b.Model.HotAdd(dsp.Name, "nvme0");
        Assert.Multiple(() =>
        {
            Assert.That(b.Read(dsp, Bench.SltSta, 2), Is.EqualTo(0x0148));
            Assert.That(b.Read(dsp, Bench.LnkSta, 2), Is.EqualTo(0x2105));
            Assert.That(b.ReadAt(b.Rc(), secondary, 0, 0, 4).Value, Is.EqualTo(0x00A9_1414UL));
        });

        b.Write(dsp, Bench.SltSta, 2, 0x0108);
        b.Model.HotRemove(dsp.Name);
        Assert.Multiple(() =>
        {
            Assert.That(b.Read(dsp, Bench.SltSta, 2), Is.EqualTo(0x0108));
            Assert.That(b.Read(dsp, Bench.LnkSta, 2), Is.EqualTo(0x0105));
            Assert.That(b.ReadAt(b.Rc(), secondary, 0, 0, 4).Value, Is.EqualTo(0xFFFF_FFFFUL));
        });
    }

    [Test]
    public void reapplying_the_same_presence_is_not_an_event()
    {
        var b = new Bench(RootPorts);
        var rp0 = b.Port("rp0");
        b.Model.HotAdd("rp0", "nvme0");
        b.Write(rp0, Bench.SltSta, 2, 0x0108);
        Assert.Multiple(() =>
        {
            Assert.That(rp0.SetPresence(true, latchEvents: true), Is.False);
            Assert.That(b.Read(rp0, Bench.SltSta, 2), Is.EqualTo(0x0040), "no PDC/DLLSC for the same presence");
            Assert.That(rp0.SetPresence(false, latchEvents: true), Is.True);
            Assert.That(b.Read(rp0, Bench.SltSta, 2), Is.EqualTo(0x0108));
        });
    }

    [Test]
    public void cold_plug_only_sets_presence()
    {
        var b = new Bench(RootPorts);
        var rp3 = b.Port("rp3");
        b.Buses(rp3, 0, 1, 1);
        Assert.Multiple(() =>
        {
            Assert.That(b.Read(rp3, Bench.SltSta, 2), Is.EqualTo(0x0040), "PDS, no PDC/DLLSC");
            Assert.That(b.Read(rp3, Bench.LnkSta, 2), Is.EqualTo(0x2105));
            Assert.That(b.ReadAt(b.Rc(), 1, 0, 0, 4).Value, Is.EqualTo(0x0000_1414UL), "generic endpoint 1414:0000");
            Assert.That(b.Model.Events, Is.Empty);
        });
    }

    [Test]
    public void cold_plugged_endpoint_can_be_hot_removed_and_hot_added_elsewhere_in_reset_state()
    {
        var b = new Bench(RootPorts);
        var rp3 = b.Port("rp3");
        var rp1 = b.Port("rp1");
        var cold = b.Endpoint("cold");
        b.Buses(rp3, 0, 1, 1);
        b.Buses(rp1, 0, 2, 2);
        b.Write(cold, 0x04, 2, 0x0006);
        b.Write(cold, 0x3C, 1, 0x0B);
        Assert.That(b.Read(cold, 0x04, 2), Is.EqualTo(0x0006));

        b.Model.HotRemove("rp3", "cold");
        Assert.Multiple(() =>
        {
            Assert.That(cold.Port, Is.Null);
            Assert.That(b.Model.Endpoints, Does.Contain(cold));
            Assert.That(b.Read(rp3, Bench.SltSta, 2), Is.EqualTo(0x0108));
        });

        b.Model.HotAdd("rp1", "cold");
        Assert.Multiple(() =>
        {
            Assert.That(cold.Port, Is.SameAs(rp1));
            Assert.That(b.ReadAt(b.Rc(), 2, 0, 0x04, 2).Value, Is.EqualTo(0UL), "Command back to its reset value");
            Assert.That(b.ReadAt(b.Rc(), 2, 0, 0x3C, 1).Value, Is.EqualTo(0UL), "Interrupt Line back to 0");
            Assert.That(b.ReadAt(b.Rc(), 1, 0, 0, 4).Value, Is.EqualTo(0xFFFF_FFFFUL), "gone from rp3");
        });
    }

    [Test]
    public void every_hotplug_error()
    {
        var b = new Bench(RootPorts);
        b.Model.HotAdd("rp0", "nvme0");
        var sw = new Bench(Switch());

        HotplugError Fails(Action action, string message)
        {
            var e = Assert.Throws<HotplugException>(action)!;
            Assert.That(e.Message, Is.EqualTo(message));
            return e.Error;
        }

        Assert.Multiple(() =>
        {
            Assert.That(Fails(() => b.Model.HotAdd("nope", "gen0"), "unknown port 'nope'"), Is.EqualTo(HotplugError.UnknownPort));
            Assert.That(Fails(() => b.Model.HotRemove("nope"), "unknown port 'nope'"), Is.EqualTo(HotplugError.UnknownPort));
            Assert.That(Fails(() => b.Model.HotAdd("rp2", "gen0"), "port 'rp2' is not hotplug capable"), Is.EqualTo(HotplugError.NotHotplugCapable));
            Assert.That(Fails(() => b.Model.HotRemove("rp2"), "port 'rp2' is not hotplug capable"), Is.EqualTo(HotplugError.NotHotplugCapable));
            Assert.That(Fails(() => b.Model.HotAdd("rp0", "gen0"), "port 'rp0' is already occupied by 'nvme0'"), Is.EqualTo(HotplugError.PortOccupied));
            Assert.That(Fails(() => b.Model.HotRemove("rp1"), "port 'rp1' is empty"), Is.EqualTo(HotplugError.PortEmpty));
            Assert.That(Fails(() => b.Model.HotAdd("rp1", "ghost"), "unknown endpoint 'ghost'"), Is.EqualTo(HotplugError.UnknownEndpoint));
            Assert.That(Fails(() => b.Model.HotAdd("rp1", "nvme0"), "endpoint 'nvme0' is already plugged into 'rp0'"), Is.EqualTo(HotplugError.EndpointAlreadyPlugged));
            Assert.That(Fails(() => b.Model.HotAdd("rp1", "fixed"), "endpoint 'fixed' is already plugged into 'rp2'"), Is.EqualTo(HotplugError.EndpointAlreadyPlugged));
            Assert.That(Fails(() => b.Model.HotRemove("rp0", "gen0"), "port 'rp0' holds 'nvme0', not 'gen0'"), Is.EqualTo(HotplugError.WrongEndpoint));
            Assert.That(Fails(() => sw.Model.HotAdd("rp0", "nvme0"), "port 'rp0' is not hotplug capable"), Is.EqualTo(HotplugError.NotHotplugCapable));
        });

        // A refused operation changes nothing.
        Assert.Multiple(() =>
        {
            Assert.That(b.Endpoint("nvme0").Port, Is.SameAs(b.Port("rp0")));
            Assert.That(b.Endpoint("gen0").Port, Is.Null);
            Assert.That(b.Read(b.Port("rp1"), Bench.SltSta, 2), Is.EqualTo(0x0000));
        });
    }

    [Test]
    public void hot_remove_of_a_port_holding_a_switch_is_refused()
    {
        var b = new Bench(
            "--pcie-root-complex rc0 --pcie-root-port rc0:rp0,hotplug --pcie-switch rp0:sw0,num_downstream_ports=1");
        var e = Assert.Throws<HotplugException>(() => b.Model.HotRemove("rp0"))!;
        Assert.Multiple(() =>
        {
            Assert.That(e.Error, Is.EqualTo(HotplugError.WrongEndpoint));
            Assert.That(e.Message, Is.EqualTo("port 'rp0' holds switch 'sw0', not an endpoint"));
            Assert.That(b.Read(b.Port("rp0"), Bench.SltSta, 2), Is.EqualTo(0x0040), "cold-plugged switch: presence only");
        });
    }
}
