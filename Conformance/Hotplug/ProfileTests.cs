using PcieSim.Functions;
using PcieSim.Interrupts;
using PcieSim.Topology;

namespace PcieSim.Conformance.Hotplug;

/// <summary>
/// The two behaviour profiles differ in exactly two things: when a port raises its hotplug message, and whether
/// MSI per-vector mask bits are applied. Bus Master Enable gates MSI in neither.
/// </summary>
[TestFixture]
public class ProfileTests
{
    private const string Topology =
        "--pcie-root-complex rc0 --pcie-root-port rc0:rp0,hotplug --pcie-root-port rc0:rp1 --gic-msi its "
        + "--pcie-endpoint nvme0,template=nvme --pcie-endpoint rp1:gen0,template=generic,msi=4";

    private static (Bench B, DownstreamPort Port) Armed(BehaviourProfile profile, ushort slotControl, bool msiEnabled = true)
    {
        var b = new Bench(Topology, profile);
        var rp0 = b.Port("rp0");
        b.Buses(rp0, 0, 1, 1);
        if (msiEnabled)
        {
            b.EnablePortMsi(rp0, Bench.ItsTranslater, 0x30);
        }
        else
        {
            b.Write(rp0, Bench.MsiAddrLo, 4, (uint)Bench.ItsTranslater);
            b.Write(rp0, Bench.MsiData, 2, 0x30);
        }

        b.Write(rp0, Bench.SltCtl, 2, slotControl);
        return (b, rp0);
    }

    private static void AssertOneHotplugMessage(List<MessageEvent> raised, DownstreamPort port)
    {
        Assert.That(raised, Has.Count.EqualTo(1));
        var m = raised[0];
        Assert.Multiple(() =>
        {
            Assert.That(m.Message.Source, Is.SameAs(port));
            Assert.That(m.Message.Origin, Is.EqualTo(MessageOrigin.Hotplug));
            Assert.That(m.Message.RequesterId, Is.EqualTo((ushort)0x0000), "rc0 start bus 0, rp0 devfn 0");
            Assert.That(m.Message.Address, Is.EqualTo(Bench.ItsTranslater));
            Assert.That(m.Message.Data, Is.EqualTo(0x30u));
            Assert.That(m.Delivery, Is.EqualTo(new Delivery(DeliveryStatus.Accepted, 0x0000u, 0x30u, null, null)));
        });
    }

    [TestCase(BehaviourProfile.OpenVmm, 1)]
    [TestCase(BehaviourProfile.Spec, 0)]
    public void message_with_pdce_and_dllsce_clear(BehaviourProfile profile, int expected)
    {
        var (b, rp0) = Armed(profile, 0x0020);
        var raised = b.Step(() => b.Model.HotAdd("rp0", "nvme0"));
        Assert.That(raised, Has.Count.EqualTo(expected));
        if (expected == 1)
        {
            AssertOneHotplugMessage(raised, rp0);
        }

        Assert.That(b.Read(rp0, Bench.SltSta, 2), Is.EqualTo(0x0148), "the latches are the same in both profiles");
    }

    [TestCase(BehaviourProfile.OpenVmm, 1)]
    [TestCase(BehaviourProfile.Spec, 0)]
    public void second_event_before_the_guest_cleared_the_first(BehaviourProfile profile, int expected)
    {
        var (b, rp0) = Armed(profile, 0x1028);
        AssertOneHotplugMessage(b.Step(() => b.Model.HotAdd("rp0", "nvme0")), rp0);
        var second = b.Step(() => b.Model.HotRemove("rp0"));
        Assert.That(second, Has.Count.EqualTo(expected));
        if (expected == 1)
        {
            AssertOneHotplugMessage(second, rp0);
        }

        // After the guest clears everything, both raise on the next event.
        Assert.That(b.Step(() => b.Write(rp0, Bench.SltSta, 2, 0x0108)), Is.Empty);
        AssertOneHotplugMessage(b.Step(() => b.Model.HotAdd("rp0", "nvme0")), rp0);
    }

    [Test]
    public void openvmm_message_raised_while_msi_disabled_is_latched_and_raised_by_the_enabling_write()
    {
        var (b, rp0) = Armed(BehaviourProfile.OpenVmm, 0x1028, msiEnabled: false);
        var added = b.Step(() => b.Model.HotAdd("rp0", "nvme0"));
        Assert.Multiple(() =>
        {
            Assert.That(added, Is.Empty);
            Assert.That(b.Model.Events.OfType<MessageLatchedEvent>().Single(), Is.EqualTo(new MessageLatchedEvent(rp0, MessageOrigin.Hotplug, 0, "MSI disabled")));
        });

        // Even after the guest cleared the events, the latched message goes out when MSI is enabled.
        b.Write(rp0, Bench.SltSta, 2, 0x0108);
        AssertOneHotplugMessage(b.Step(() => b.Write(rp0, Bench.MsiCtl, 2, 1)), rp0);
        Assert.That(b.Step(() => b.Write(rp0, Bench.MsiCtl, 2, 1)), Is.Empty, "delivered once");
    }

    [Test]
    public void spec_enabling_msi_while_an_enabled_event_is_pending_raises_one_message()
    {
        var (b, rp0) = Armed(BehaviourProfile.Spec, 0x1028, msiEnabled: false);
        var added = b.Step(() => b.Model.HotAdd("rp0", "nvme0"));
        Assert.Multiple(() =>
        {
            Assert.That(added, Is.Empty);
            Assert.That(b.Model.Events.OfType<MessageLatchedEvent>(), Is.Empty, "spec latches nothing: the condition is false");
        });

        AssertOneHotplugMessage(b.Step(() => b.Write(rp0, Bench.MsiCtl, 2, 1)), rp0);
        Assert.That(b.Step(() => b.Write(rp0, Bench.MsiCtl, 2, 1)), Is.Empty, "still true: no edge");
    }

    [Test]
    public void spec_events_cleared_before_msi_enable_raise_nothing()
    {
        var (b, rp0) = Armed(BehaviourProfile.Spec, 0x1028, msiEnabled: false);
        b.Model.HotAdd("rp0", "nvme0");
        b.Write(rp0, Bench.SltSta, 2, 0x0108);
        Assert.That(b.Step(() => b.Write(rp0, Bench.MsiCtl, 2, 1)), Is.Empty);
    }

    [TestCase(BehaviourProfile.OpenVmm)]
    [TestCase(BehaviourProfile.Spec)]
    public void no_message_while_hpie_clear(BehaviourProfile profile)
    {
        var (b, rp0) = Armed(profile, 0x1008);
        Assert.Multiple(() =>
        {
            Assert.That(b.Step(() => b.Model.HotAdd("rp0", "nvme0")), Is.Empty);
            Assert.That(b.Model.Events.OfType<MessageLatchedEvent>(), Is.Empty);
        });
    }

    [TestCase(BehaviourProfile.OpenVmm)]
    [TestCase(BehaviourProfile.Spec)]
    public void setting_hpie_with_an_enabled_event_pending(BehaviourProfile profile)
    {
        var (b, rp0) = Armed(profile, 0x1008);
        b.Model.HotAdd("rp0", "nvme0");
        var raised = b.Step(() => b.Write(rp0, Bench.SltCtl, 2, 0x1028));
        if (profile == BehaviourProfile.Spec)
        {
            AssertOneHotplugMessage(raised, rp0);
        }
        else
        {
            Assert.That(raised, Is.Empty, "openvmm fires on events only, not on enabling HPIE");
        }
    }

    private static (Bench B, Endpoint Ep, int Msi) GenericMsi(BehaviourProfile profile)
    {
        var b = new Bench(Topology, profile);
        b.Buses(b.Port("rp1"), 0, 2, 2);
        var ep = b.Endpoint("gen0");
        int msi = ep.Msi!.Offset;
        Assert.That(msi, Is.EqualTo(0x40), "MSI first");
        b.Write(ep, msi + 4, 4, (uint)Bench.ItsTranslater);
        b.Write(ep, msi + 8, 4, 0);
        b.Write(ep, msi + 0xC, 2, 0x0040);
        b.Write(ep, msi + 2, 2, 0x0021); // enable, MME = 2 (4 vectors)
        Assert.That(b.Read(ep, msi, 4), Is.EqualTo(0x01A5_0005u | (uint)(ep.Msi.Offset + ep.Msi.Length) << 8), "PVM, 64-bit, MME 2, MMC 2, enabled");
        b.Write(ep, msi + 0x10, 4, 0x2); // mask vector 1
        return (b, ep, msi);
    }

    [Test]
    public void openvmm_msi_mask_bits_are_stored_not_applied()
    {
        var (b, ep, msi) = GenericMsi(BehaviourProfile.OpenVmm);
        var raised = b.Step(() => b.Model.Raise(ep, 1));
        Assert.Multiple(() =>
        {
            Assert.That(b.Read(ep, msi + 0x10, 4), Is.EqualTo(0x2u), "stored");
            Assert.That(raised.Single().Message.Data, Is.EqualTo(0x41u), "delivered despite the mask, vector 1 in the data");
            Assert.That(raised.Single().Delivery.DeviceId, Is.EqualTo(0x0200u), "rp1 secondary 2");
            Assert.That(b.Read(ep, msi + 0x14, 4), Is.EqualTo(0u), "nothing pending");
        });
    }

    [Test]
    public void spec_msi_mask_bits_are_applied_and_unmask_delivers()
    {
        var (b, ep, msi) = GenericMsi(BehaviourProfile.Spec);
        var raised = b.Step(() => b.Model.Raise(ep, 1));
        Assert.Multiple(() =>
        {
            Assert.That(raised, Is.Empty);
            Assert.That(b.Model.Events.OfType<MessageLatchedEvent>().Single(), Is.EqualTo(new MessageLatchedEvent(ep, MessageOrigin.Msi, 1, "vector masked")));
            Assert.That(b.Read(ep, msi + 0x14, 4), Is.Zero, "held inside the interrupt, as OpenVMM does: Pending Bits read 0 in both profiles");
        });

        var other = b.Step(() => b.Model.Raise(ep, 2));
        Assert.That(other.Single().Message.Data, Is.EqualTo(0x42u), "vector 2 is unmasked");

        var unmasked = b.Step(() => b.Write(ep, msi + 0x10, 4, 0));
        Assert.Multiple(() =>
        {
            Assert.That(unmasked.Single().Message.Data, Is.EqualTo(0x41u));
            Assert.That(unmasked.Single().Message.Vector, Is.EqualTo(1));
            Assert.That(b.Read(ep, msi + 0x14, 4), Is.EqualTo(0u));
        });
    }

    [TestCase(BehaviourProfile.OpenVmm)]
    [TestCase(BehaviourProfile.Spec)]
    public void bus_master_enable_never_gates_msi(BehaviourProfile profile)
    {
        var (b, rp0) = Armed(profile, 0x1028);
        Assert.That(b.Read(rp0, 0x04, 2) & 0x4, Is.EqualTo(0u), "port BME clear");
        AssertOneHotplugMessage(b.Step(() => b.Model.HotAdd("rp0", "nvme0")), rp0);

        b.Buses(b.Port("rp1"), 0, 2, 2);
        var ep = b.Endpoint("gen0");
        b.Write(ep, 0x04, 2, 0x0000);
        b.Write(ep, ep.Msi!.Offset + 4, 4, (uint)Bench.ItsTranslater);
        b.Write(ep, ep.Msi.Offset + 0xC, 2, 0x0050);
        b.Write(ep, ep.Msi.Offset + 0x10, 4, 0); // a new device's mask bits are all-ones (OpenVMM msi_cap.rs)
        b.Write(ep, ep.Msi.Offset + 2, 2, 0x0001);
        var raised = b.Step(() => b.Model.Raise(ep, 0));
        Assert.That(raised.Single().Delivery, Is.EqualTo(new Delivery(DeliveryStatus.Accepted, 0x0200u, 0x50u, null, null)));
    }
}
