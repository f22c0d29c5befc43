using PcieSim.Conformance.Hotplug;
using PcieSim.Functions;
using PcieSim.Interrupts;
using PcieSim.Topology;

namespace PcieSim.Conformance.Interrupts;

/// <summary>Requester IDs resolved when a message is raised, from the live bus numbers (reference 5.1; OpenVMM <c>msi.rs</c>).</summary>
[TestFixture]
public partial class RequesterIdTests
{
    /// <summary>Programs and enables a one-vector MSI on an endpoint.</summary>
    internal static void EnableMsi(Bench b, Endpoint ep, ulong address, ushort data)
    {
        int msi = ep.Msi!.Offset;
        b.Write(ep, msi + 4, 4, (uint)address);
        b.Write(ep, msi + 8, 4, (uint)(address >> 32));
        b.Write(ep, msi + 0xC, 2, data);
        b.Write(ep, msi + 2, 2, 1);
    }

    private static MessageEvent RaiseOne(Bench b, Endpoint ep, int vector = 0)
    {
        var raised = b.Step(() => b.Model.Raise(ep, vector));
        Assert.That(raised, Has.Count.EqualTo(1));
        return raised[0];
    }

    [Test]
    public void signal_msi_resolves_default_rid()
    {
        // OpenVMM: range 5..10, devfn 0x18 gives 0x518. Here: a switch downstream port at devfn 0x18 under a USP whose secondary is 5.
        var b = new Bench("--pcie-root-complex rc0 --pcie-root-port rc0:rp0 --pcie-switch rp0:sw0,num_downstream_ports=25,hotplug --pcie-endpoint nvme0,template=nvme --gic-msi its");
        var sw = b.Model.Switches.Single();
        b.Buses(b.Port("rp0"), 0, 4, 10);
        b.Buses(sw.Upstream, 4, 5, 10);
        var dsp = sw.DownstreamPorts[24];
        Assert.That(dsp.Devfn, Is.EqualTo((byte)0x18));
        Assert.Multiple(() =>
        {
            Assert.That(PcieModel.TryResolveRequesterId(dsp, out ushort segment, out ushort rid, out string? note), Is.True);
            Assert.That(rid, Is.EqualTo((ushort)0x0518));
            Assert.That(segment, Is.EqualTo((ushort)0));
            Assert.That(note, Is.Null);
        });

        b.EnablePortMsi(dsp, Bench.ItsTranslater, 3);
        b.Write(dsp, Bench.SltCtl, 2, 0x1028);
        b.Model.ClearEvents();
        b.Model.HotAdd(dsp.Name, "nvme0");
        Assert.That(b.HotplugMessages(dsp).Single().Delivery.DeviceId, Is.EqualTo(0x0518u));
    }

    private const string EndpointOnRootPort =
        "--pcie-root-complex rc0 --pcie-root-port rc0:rp0 --pcie-endpoint rp0:ep0,template=generic,msi=1 --gic-msi its";

    [Test]
    public void signal_msi_with_rid_drops_bus_outside_range()
    {
        var b = new Bench(EndpointOnRootPort);
        var ep = b.Endpoint("ep0");
        b.Buses(b.Port("rp0"), 0, 1, 1);
        EnableMsi(b, ep, Bench.ItsTranslater, 9);
        b.Buses(b.Port("rp0"), 0, 0x0B, 0x0A); // secondary above subordinate
        var m = RaiseOne(b, ep);
        Assert.Multiple(() =>
        {
            Assert.That(m.Message.RequesterId, Is.EqualTo((ushort)0x0B00));
            Assert.That(m.Delivery, Is.EqualTo(Delivery.Dropped("requester bus 0b above subordinate bus 0a of rp0")));
            Assert.That(m.Note, Is.Null);
            Assert.That(PcieModel.TryResolveRequesterId(ep, out _, out _, out string? note), Is.False);
            Assert.That(note, Is.EqualTo("requester bus 0b above subordinate bus 0a of rp0"));
        });
    }

    [TestCase(0x0A, 0x0A, 0x0A00)]
    [TestCase(0x01, 0x0A, 0x0100)]
    [TestCase(0x00, 0x05, 0x0000)]
    public void signal_msi_with_rid_accepts_boundary_buses(int secondary, int subordinate, int rid)
    {
        var b = new Bench(EndpointOnRootPort);
        var ep = b.Endpoint("ep0");
        b.Buses(b.Port("rp0"), 0, 1, 1);
        EnableMsi(b, ep, Bench.ItsTranslater, 9);
        b.Buses(b.Port("rp0"), 0, (byte)secondary, (byte)subordinate);
        var m = RaiseOne(b, ep);
        Assert.Multiple(() =>
        {
            Assert.That(m.Message.RequesterId, Is.EqualTo((ushort)rid));
            Assert.That(m.Delivery, Is.EqualTo(new Delivery(DeliveryStatus.Accepted, (uint)rid, 9u, null, null)));
            Assert.That(m.Note, Is.Null, "a programmed range (secondary 0 with subordinate > 0 is accepted as 0..sub)");
        });
    }

    [Test]
    public void unprogrammed_bus_range_delivers_with_bus_0_and_a_note()
    {
        var b = new Bench(EndpointOnRootPort);
        var ep = b.Endpoint("ep0");
        b.Buses(b.Port("rp0"), 0, 1, 1);
        EnableMsi(b, ep, Bench.ItsTranslater, 9);
        b.Buses(b.Port("rp0"), 0, 0, 0);
        var m = RaiseOne(b, ep);
        Assert.Multiple(() =>
        {
            Assert.That(m.Message.RequesterId, Is.EqualTo((ushort)0x0000));
            Assert.That(m.Delivery, Is.EqualTo(new Delivery(DeliveryStatus.Accepted, 0u, 9u, null, null)));
            Assert.That(m.Note, Is.EqualTo("unprogrammed bus range"));
        });
    }

    [Test]
    public void root_port_rid_is_start_bus_and_devfn_with_segment_in_the_its_device_id()
    {
        var b = new Bench(
            "--pcie-root-complex rc0 --pcie-root-complex rc2,segment=2,start_bus=0x80,end_bus=0xff "
            + "--pcie-root-port rc2:a,hotplug --pcie-root-port rc2:b,hotplug --pcie-root-port rc2:c,hotplug "
            + "--pcie-endpoint nvme0,template=nvme --gic-msi its");
        var port = b.Port("c");
        Assert.That(port.Devfn, Is.EqualTo((byte)2));
        b.EnablePortMsi(port, Bench.ItsTranslater, 0x11);
        b.Write(port, Bench.SltCtl, 2, 0x1028);
        b.Model.ClearEvents();
        b.Model.HotAdd("c", "nvme0");
        var m = b.HotplugMessages(port).Single();
        Assert.Multiple(() =>
        {
            Assert.That(m.Message.Segment, Is.EqualTo((ushort)2));
            Assert.That(m.Message.RequesterId, Is.EqualTo((ushort)0x8002));
            Assert.That(m.Delivery, Is.EqualTo(new Delivery(DeliveryStatus.Accepted, 0x2_8002u, 0x11u, null, null)));
        });
    }

    [Test]
    public void downstream_switch_port_and_endpoint_rids()
    {
        var b = new Bench(
            "--pcie-root-complex rc0,segment=3 --pcie-root-port rc0:rp0 --pcie-switch rp0:sw0,num_downstream_ports=2 "
            + "--pcie-endpoint sw0-downstream-1:ep0,template=generic,msi=1 --gic-msi its");
        var sw = b.Model.Switches.Single();
        b.Buses(b.Port("rp0"), 0, 0x10, 0x1F);
        b.Buses(sw.Upstream, 0x10, 0x11, 0x1F);
        b.Buses(sw.DownstreamPorts[1], 0x11, 0x15, 0x15);
        var ep = b.Endpoint("ep0");
        Assert.Multiple(() =>
        {
            Assert.That(PcieModel.TryResolveRequesterId(sw.DownstreamPorts[1], out ushort seg, out ushort dspRid, out _), Is.True);
            Assert.That((seg, dspRid), Is.EqualTo(((ushort)3, (ushort)0x1101)), "USP secondary << 8 | devfn");
            Assert.That(PcieModel.TryResolveRequesterId(b.Port("rp0"), out _, out ushort rpRid, out _), Is.True);
            Assert.That(rpRid, Is.EqualTo((ushort)0x0000));
        });

        EnableMsi(b, ep, Bench.ItsTranslater, 0x21);
        var m = RaiseOne(b, ep);
        Assert.Multiple(() =>
        {
            Assert.That(m.Message.RequesterId, Is.EqualTo((ushort)0x1500), "port secondary << 8 | 0");
            Assert.That(m.Delivery.DeviceId, Is.EqualTo(0x3_1500u));
            Assert.That(m.Delivery.EventId, Is.EqualTo(0x21u));
        });
    }

    [Test]
    public void amd_iommu_rid_is_start_bus()
    {
        var b = new Bench("--pcie-root-complex rc0,start_bus=0x40,end_bus=0x7f --amd-iommu rc0 --pcie-root-port rc0:rp0");
        var iommu = b.Rc().Iommu!;
        Assert.Multiple(() =>
        {
            Assert.That(PcieModel.TryResolveRequesterId(iommu, out _, out ushort rid, out string? note), Is.True);
            Assert.That(rid, Is.EqualTo((ushort)0x4000));
            Assert.That(note, Is.Null);
            Assert.That(PcieModel.TryResolveRequesterId(b.Port("rp0"), out _, out ushort rpRid, out _), Is.True);
            Assert.That(rpRid, Is.EqualTo((ushort)(0x4000 | b.Port("rp0").Devfn)));
        });
    }

    [Test]
    public void its_device_id_follows_bus_reprogramming_between_two_messages()
    {
        var b = new Bench(EndpointOnRootPort);
        var ep = b.Endpoint("ep0");
        b.Buses(b.Port("rp0"), 0, 1, 1);
        EnableMsi(b, ep, Bench.ItsTranslater, 5);
        var first = RaiseOne(b, ep);
        b.Buses(b.Port("rp0"), 0, 0x42, 0x42);
        var second = RaiseOne(b, ep);
        Assert.Multiple(() =>
        {
            Assert.That(first.Delivery.DeviceId, Is.EqualTo(0x0100u));
            Assert.That(second.Delivery.DeviceId, Is.EqualTo(0x4200u));
            Assert.That(b.ReadAt(b.Rc(), 0x42, 0, 0, 4).Value, Is.EqualTo(0x0000_1414UL), "the endpoint moved with the bus");
        });
    }
}
