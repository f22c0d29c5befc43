using PcieSim.Conformance.Hotplug;
using PcieSim.Interrupts;
using PcieSim.Topology;

namespace PcieSim.Conformance.Interrupts;

/// <summary>
/// OpenVMM <c>msi.rs</c>'s remaining tests, by name, on the model's equivalents: OpenVMM derives each function's MSI
/// target from its parent's live bus range (<c>with_devfn</c>, <c>with_bus_range</c>) and resolves the requester ID
/// when a message is sent or a route is enabled (an MSI-X vector unmasked with a message pending).
/// Not mirrored: <c>with_rid_signal_msi_accepts_bus_in_range</c>, <c>with_rid_signal_msi_drops_bus_outside_range</c>
/// and <c>with_rid_route_enable_disables_when_bus_outside_range</c> exercise explicit-RID signalling, which OpenVMM
/// uses only for multi-function and SR-IOV devices; the topology language has neither.
/// </summary>
public partial class RequesterIdTests
{
    private const string MsixEndpointOnRootPort =
        "--pcie-root-complex rc0 --pcie-root-port rc0:rp0 --pcie-endpoint rp0:ep0,template=generic,msix=4@bar2 --gic-msi its";

    [Test]
    public void signal_msi_with_rid_accepts_bus_in_range()
    {
        var b = new Bench(EndpointOnRootPort);
        var ep = b.Endpoint("ep0");
        b.Buses(b.Port("rp0"), 0, 3, 8);
        EnableMsi(b, ep, Bench.ItsTranslater, 7);
        var m = RaiseOne(b, ep);
        Assert.That(m.Delivery, Is.EqualTo(new Delivery(DeliveryStatus.Accepted, 0x0300u, 7u, null, null)));
    }

    /// <summary>A pending MSI-X vector delivered when unmasked takes its requester ID from the bus range at that moment.</summary>
    [Test]
    public void route_enable_resolves_default_rid()
    {
        var (b, ep) = MsixPending(secondary: 1, subordinate: 1);
        b.Buses(b.Port("rp0"), 0, 6, 6);
        var delivered = Unmask(b, ep);
        Assert.That(delivered.Single().Message.RequesterId, Is.EqualTo((ushort)0x0600), "the range at enable time, not at raise time");
    }

    [Test]
    public void route_enable_with_rid_accepts_bus_in_range()
    {
        var (b, ep) = MsixPending(secondary: 5, subordinate: 9);
        var delivered = Unmask(b, ep);
        Assert.That(delivered.Single().Delivery, Is.EqualTo(new Delivery(DeliveryStatus.Accepted, 0x0500u, 0x31u, null, null)));
    }

    [Test]
    public void route_enable_with_rid_disables_when_bus_outside_range()
    {
        var (b, ep) = MsixPending(secondary: 1, subordinate: 1);
        b.Buses(b.Port("rp0"), 0, 0x0C, 0x0B);
        var delivered = Unmask(b, ep);
        Assert.Multiple(() =>
        {
            Assert.That(delivered.Single().Delivery, Is.EqualTo(Delivery.Dropped("requester bus 0c above subordinate bus 0b of rp0")));
            Assert.That(ep.ReadPba(0), Is.Zero, "the pending message was consumed, then dropped by the bus check");
        });
    }

    /// <summary>Downstream ports of one switch share the upstream port's live range and differ by their own devfn.</summary>
    [Test]
    public void with_devfn_derives_target_with_new_devfn()
    {
        var b = new Bench("--pcie-root-complex rc0 --pcie-root-port rc0:rp0 --pcie-switch rp0:sw0,num_downstream_ports=3");
        var sw = b.Model.Switches.Single();
        b.Buses(b.Port("rp0"), 0, 0x20, 0x2F);
        b.Buses(sw.Upstream, 0x20, 0x21, 0x2F);
        var rids = sw.DownstreamPorts.Select(p =>
        {
            Assert.That(PcieModel.TryResolveRequesterId(p, out _, out ushort rid, out _), Is.True);
            return rid;
        });
        Assert.That(rids, Is.EqualTo(new ushort[] { 0x2100, 0x2101, 0x2102 }));
    }

    /// <summary>An endpoint below a downstream port takes that port's range, not the switch's.</summary>
    [Test]
    public void with_bus_range_derives_target_with_new_range()
    {
        var b = new Bench(
            "--pcie-root-complex rc0 --pcie-root-port rc0:rp0 --pcie-switch rp0:sw0,num_downstream_ports=2 "
            + "--pcie-endpoint sw0-downstream-0:ep0,template=generic,msi=1");
        var sw = b.Model.Switches.Single();
        b.Buses(b.Port("rp0"), 0, 0x20, 0x2F);
        b.Buses(sw.Upstream, 0x20, 0x21, 0x2F);
        b.Buses(sw.DownstreamPorts[0], 0x21, 0x24, 0x26);
        Assert.That(PcieModel.TryResolveRequesterId(b.Endpoint("ep0"), out _, out ushort rid, out _), Is.True);
        Assert.That(rid, Is.EqualTo((ushort)0x2400));
        b.Buses(sw.DownstreamPorts[0], 0x21, 0x25, 0x26);
        Assert.That(PcieModel.TryResolveRequesterId(b.Endpoint("ep0"), out _, out rid, out _), Is.True);
        Assert.That(rid, Is.EqualTo((ushort)0x2500), "the live range, read again");
    }

    /// <summary>MSI-X enabled, vector 0 programmed but masked, raised: pending in the PBA.</summary>
    private static (Bench B, PcieSim.Functions.Endpoint Ep) MsixPending(byte secondary, byte subordinate)
    {
        var b = new Bench(MsixEndpointOnRootPort);
        var ep = b.Endpoint("ep0");
        b.Buses(b.Port("rp0"), 0, secondary, subordinate);
        b.Write(ep, ep.Msix!.Offset + 2, 2, 0x8000);
        ep.WriteMsixTable(0, 0, (uint)Bench.ItsTranslater, uint.MaxValue);
        ep.WriteMsixTable(0, 2, 0x31, uint.MaxValue);
        Assert.That(b.Step(() => b.Model.Raise(ep, 0)), Is.Empty);
        Assert.That(ep.ReadPba(0), Is.EqualTo(1u));
        return (b, ep);
    }

    private static List<MessageEvent> Unmask(Bench b, PcieSim.Functions.Endpoint ep) => b.Step(() =>
    {
        ep.WriteMsixTable(0, 3, 0, uint.MaxValue);
        b.Model.DeliverLatched(ep);
    });
}
