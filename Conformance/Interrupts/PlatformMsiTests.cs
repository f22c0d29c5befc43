using PcieSim.Conformance.Hotplug;
using PcieSim.Functions;
using PcieSim.Interrupts;
using PcieSim.Topology;

namespace PcieSim.Conformance.Interrupts;

/// <summary>
/// Platform MSI routing (GICv3 ITS, GICv2m, none) and MSI / MSI-X capability semantics (OpenVMM <c>msi_cap.rs</c>,
/// <c>msix.rs</c> tests adapted: delivery uses the address and data current at raise time).
/// </summary>
[TestFixture]
public partial class PlatformMsiTests
{
    private static (Bench B, Endpoint Ep) Generic(string gic, string options = "msi=1", BehaviourProfile profile = BehaviourProfile.OpenVmm)
    {
        var b = new Bench($"--pcie-root-complex rc0 --pcie-root-port rc0:rp0 --pcie-endpoint rp0:ep0,template=generic,{options} {gic}", profile);
        b.Buses(b.Port("rp0"), 0, 1, 1);
        return (b, b.Endpoint("ep0"));
    }

    private static MessageEvent RaiseOne(Bench b, Endpoint ep, int vector = 0)
    {
        var raised = b.Step(() => b.Model.Raise(ep, vector));
        Assert.That(raised, Has.Count.EqualTo(1));
        return raised[0];
    }

    // ---- ITS ----

    [Test]
    public void its_accepts_at_gits_translater_with_device_id_and_event_id()
    {
        var (b, ep) = Generic("--gic-msi its");
        RequesterIdTests.EnableMsi(b, ep, 0xEFFD_0040, 0x1234);
        var m = RaiseOne(b, ep);
        Assert.Multiple(() =>
        {
            Assert.That(m.Message.Source, Is.SameAs(ep));
            Assert.That(m.Message.Origin, Is.EqualTo(MessageOrigin.Msi));
            Assert.That(m.Message.RequesterId, Is.EqualTo((ushort)0x0100));
            Assert.That(m.Delivery, Is.EqualTo(new Delivery(DeliveryStatus.Accepted, 0x0100u, 0x1234u, null, null)));
        });
    }

    [Test]
    public void its_wrong_address_is_dropped_with_reason()
    {
        var (b, ep) = Generic("--gic-msi its");
        RequesterIdTests.EnableMsi(b, ep, 0xFEE0_0000, 0x20);
        var m = RaiseOne(b, ep);
        Assert.That(m.Delivery, Is.EqualTo(Delivery.Dropped("address 0xfee00000 is not GITS_TRANSLATER 0xeffd0040")));
    }

    [Test]
    public void its_custom_translater()
    {
        var (b, ep) = Generic("--gic-msi its,translater=0x80010040");
        RequesterIdTests.EnableMsi(b, ep, 0x8001_0040, 3);
        Assert.That(RaiseOne(b, ep).Delivery, Is.EqualTo(new Delivery(DeliveryStatus.Accepted, 0x0100u, 3u, null, null)));
        RequesterIdTests.EnableMsi(b, ep, Bench.ItsTranslater, 3);
        Assert.That(RaiseOne(b, ep).Delivery.Status, Is.EqualTo(DeliveryStatus.Dropped));
    }

    // ---- GICv2m ----

    [TestCase(928)]
    [TestCase(991)]
    public void v2m_in_range_is_accepted_as_intid(int intid)
    {
        var (b, ep) = Generic("--gic-msi v2m");
        RequesterIdTests.EnableMsi(b, ep, Bench.V2mDoorbell, (ushort)intid);
        Assert.That(RaiseOne(b, ep).Delivery, Is.EqualTo(new Delivery(DeliveryStatus.Accepted, null, null, (uint)intid, null)));
    }

    [TestCase(927)]
    [TestCase(992)]
    public void v2m_out_of_pool_is_dropped(int intid)
    {
        var (b, ep) = Generic("--gic-msi v2m");
        RequesterIdTests.EnableMsi(b, ep, Bench.V2mDoorbell, (ushort)intid);
        Assert.That(RaiseOne(b, ep).Delivery, Is.EqualTo(Delivery.Dropped($"INTID {intid} outside the SPI pool 928..991")));
    }

    [Test]
    public void v2m_wrong_doorbell_is_dropped()
    {
        var (b, ep) = Generic("--gic-msi v2m");
        RequesterIdTests.EnableMsi(b, ep, 0xEFFE_8000, 930);
        Assert.That(RaiseOne(b, ep).Delivery, Is.EqualTo(Delivery.Dropped("address 0xeffe8000 is not the GICv2m doorbell SETSPI_NS 0xeffe8040")));
    }

    [Test]
    public void v2m_custom_frame_and_pool()
    {
        var (b, ep) = Generic("--gic-msi v2m,frame=0x90000000,spi_base=100,spi_count=4");
        RequesterIdTests.EnableMsi(b, ep, 0x9000_0040, 103);
        Assert.That(RaiseOne(b, ep).Delivery.Intid, Is.EqualTo(103u));
        RequesterIdTests.EnableMsi(b, ep, 0x9000_0040, 104);
        Assert.That(RaiseOne(b, ep).Delivery, Is.EqualTo(Delivery.Dropped("INTID 104 outside the SPI pool 100..103")));
    }

    [Test]
    public void no_platform_accepts_and_records()
    {
        var (b, ep) = Generic(string.Empty);
        RequesterIdTests.EnableMsi(b, ep, 0x1_2345_6780, 0xBEEF);
        var m = RaiseOne(b, ep);
        Assert.Multiple(() =>
        {
            Assert.That(m.Message.Address, Is.EqualTo(0x1_2345_6780UL), "64-bit address");
            Assert.That(m.Message.Data, Is.EqualTo(0xBEEFu));
            Assert.That(m.Message.RequesterId, Is.EqualTo((ushort)0x0100));
            Assert.That(m.Delivery, Is.EqualTo(new Delivery(DeliveryStatus.Accepted, null, null, null, null)));
        });
    }

    // ---- MSI ----

    [Test]
    public void msi_check()
    {
        var (b, ep) = Generic(string.Empty, "msi=4");
        int msi = ep.Msi!.Offset;
        uint next = (uint)(msi + ep.Msi.Length) << 8;
        Assert.That(b.Read(ep, msi, 4), Is.EqualTo(0x0184_0005u | next), "MMC 2, 64-bit, PVM");
        b.Write(ep, msi + 2, 2, 0x0011);
        Assert.That(b.Read(ep, msi, 4), Is.EqualTo(0x0195_0005u | next), "enabled, MME 1");
        b.Write(ep, msi + 2, 2, 0x0071);
        Assert.That(b.Read(ep, msi, 4), Is.EqualTo(0x01A5_0005u | next), "MME 7 clamped to MMC 2");
        b.Model.Reset();
        b.Buses(b.Port("rp0"), 0, 1, 1);
        Assert.That(b.Read(ep, msi, 4), Is.EqualTo(0x0184_0005u | next), "reset");
    }

    [Test]
    public void msi_64bit_layout_and_16bit_data()
    {
        var (b, ep) = Generic(string.Empty, "msi=1");
        int msi = ep.Msi!.Offset;
        b.Write(ep, msi + 4, 4, 0xFFFF_FFFF);
        b.Write(ep, msi + 8, 4, 0xFFFF_FFFF);
        b.Write(ep, msi + 0xC, 4, 0xFFFF_FFFF);
        Assert.Multiple(() =>
        {
            Assert.That(b.Read(ep, msi + 4, 4), Is.EqualTo(0xFFFF_FFFFu));
            Assert.That(b.Read(ep, msi + 8, 4), Is.EqualTo(0xFFFF_FFFFu), "upper address");
            Assert.That(b.Read(ep, msi + 0xC, 4), Is.EqualTo(0x0000_FFFFu), "data is 16 bits");
            Assert.That(b.Read(ep, msi + 0x14, 4), Is.EqualTo(0u), "pending is read-only");
        });
    }

    [Test]
    public void msi_vector_bits_in_data()
    {
        var (b, ep) = Generic(string.Empty, "msi=4");
        int msi = ep.Msi!.Offset;
        RequesterIdTests.EnableMsi(b, ep, 0xFEE0_0000, 0x0043);
        b.Write(ep, msi + 2, 2, 0x0021);
        Assert.Multiple(() =>
        {
            Assert.That(RaiseOne(b, ep, 0).Message.Data, Is.EqualTo(0x0040u));
            Assert.That(RaiseOne(b, ep, 2).Message.Data, Is.EqualTo(0x0042u));
            Assert.That(RaiseOne(b, ep, 3).Message.Data, Is.EqualTo(0x0043u));
        });
        b.Write(ep, msi + 2, 2, 0x0011);
        Assert.That(RaiseOne(b, ep, 3).Message.Data, Is.EqualTo(0x0043u), "MME 1: only bit 0 replaced");
        Assert.Throws<ArgumentException>(() => b.Model.Raise(ep, 4));
    }

    [Test]
    public void msi_disabled_latches_and_enable_delivers_with_current_address_and_data()
    {
        var (b, ep) = Generic("--gic-msi its", "msi=1");
        int msi = ep.Msi!.Offset;
        b.Write(ep, msi + 4, 4, 0x1111_0000);
        var raised = b.Step(() => b.Model.Raise(ep, 0));
        Assert.Multiple(() =>
        {
            Assert.That(raised, Is.Empty);
            Assert.That(b.Model.Events.Single(), Is.EqualTo(new MessageLatchedEvent(ep, MessageOrigin.Msi, 0, "MSI disabled")));
            Assert.That(b.Read(ep, msi + 0x14, 4), Is.Zero, "OpenVMM latches inside the interrupt; Pending Bits read 0");
        });
        b.Write(ep, msi + 4, 4, (uint)Bench.ItsTranslater);
        b.Write(ep, msi + 0xC, 2, 0x77);
        var delivered = b.Step(() => b.Write(ep, msi + 2, 2, 1));
        Assert.Multiple(() =>
        {
            Assert.That(delivered.Single().Delivery, Is.EqualTo(new Delivery(DeliveryStatus.Accepted, 0x0100u, 0x77u, null, null)));
            Assert.That(b.Read(ep, msi + 0x14, 4), Is.EqualTo(0u));
        });
    }

    // ---- MSI-X ----

    private static (Bench B, Endpoint Ep) Msix(string gic = "--gic-msi its") => Generic(gic, "msix=64@bar2");

    private static void ProgramVector(Endpoint ep, int vector, ulong address, uint data, bool masked)
    {
        ep.WriteMsixTable(vector, 0, (uint)address, uint.MaxValue);
        ep.WriteMsixTable(vector, 1, (uint)(address >> 32), uint.MaxValue);
        ep.WriteMsixTable(vector, 2, data, uint.MaxValue);
        ep.WriteMsixTable(vector, 3, masked ? 1u : 0u, uint.MaxValue);
    }

    [Test]
    public void msix_check()
    {
        var (b, ep) = Msix();
        int cap = ep.Msix!.Offset;
        Assert.Multiple(() =>
        {
            Assert.That(cap, Is.EqualTo(0x40));
            Assert.That(b.Read(ep, cap, 4) & 0xFFFF_00FF, Is.EqualTo(0x003F_0011u), "64 vectors, ID 0x11");
            Assert.That(b.Read(ep, cap + 4, 4), Is.EqualTo(2u), "table in BAR 2 at 0");
            Assert.That(b.Read(ep, cap + 8, 4), Is.EqualTo(0x402u), "PBA in BAR 2 at 0x400");
            Assert.That(ep.ReadMsixTable(5, 3), Is.EqualTo(1u), "vector control resets masked");
            Assert.That(ep.ReadPba(0), Is.EqualTo(0u));
        });
        b.Write(ep, cap + 2, 2, 0xFFFF);
        Assert.That(b.Read(ep, cap, 4) >> 16, Is.EqualTo(0x803Fu), "only enable writable; function mask not implemented");

        b.Write(ep, cap + 2, 2, 0x0000);
        b.Model.Raise(ep, 33);
        Assert.Multiple(() =>
        {
            Assert.That(ep.ReadPba(1), Is.EqualTo(0x2u), "pending bit of vector 33");
            Assert.That(ep.ReadPba(0), Is.EqualTo(0u));
        });
    }

    [Test]
    public void route_set_msi_on_unmask()
    {
        var (b, ep) = Msix();
        b.Write(ep, ep.Msix!.Offset + 2, 2, 0x8000);
        ProgramVector(ep, 3, Bench.ItsTranslater, 0x33, masked: true);
        var raised = b.Step(() => b.Model.Raise(ep, 3));
        Assert.Multiple(() =>
        {
            Assert.That(raised, Is.Empty);
            Assert.That(b.Model.Events.Single(), Is.EqualTo(new MessageLatchedEvent(ep, MessageOrigin.Msix, 3, "vector masked")));
            Assert.That(ep.ReadPba(0), Is.EqualTo(1u << 3));
        });

        var delivered = b.Step(() =>
        {
            ep.WriteMsixTable(3, 3, 0, uint.MaxValue);
            b.Model.DeliverLatched(ep);
        });
        Assert.Multiple(() =>
        {
            Assert.That(delivered.Single().Message.Origin, Is.EqualTo(MessageOrigin.Msix));
            Assert.That(delivered.Single().Message.Vector, Is.EqualTo(3));
            Assert.That(delivered.Single().Delivery, Is.EqualTo(new Delivery(DeliveryStatus.Accepted, 0x0100u, 0x33u, null, null)));
            Assert.That(ep.ReadPba(0), Is.EqualTo(0u));
        });
    }

    [Test]
    public void route_mask_on_vector_mask()
    {
        var (b, ep) = Msix();
        b.Write(ep, ep.Msix!.Offset + 2, 2, 0x8000);
        ProgramVector(ep, 0, Bench.ItsTranslater, 0x10, masked: false);
        Assert.That(RaiseOne(b, ep).Delivery.EventId, Is.EqualTo(0x10u));
        ep.WriteMsixTable(0, 3, 1, uint.MaxValue);
        Assert.That(b.Step(() => b.Model.Raise(ep, 0)), Is.Empty, "masked: held");
        Assert.That(ep.ReadPba(0), Is.EqualTo(1u));
    }

    [TestCase(BehaviourProfile.OpenVmm)]
    [TestCase(BehaviourProfile.Spec)]
    public void route_global_disable_masks_all(BehaviourProfile profile)
    {
        var (b, ep) = Generic("--gic-msi its", "msix=64@bar2", profile);
        ProgramVector(ep, 0, Bench.ItsTranslater, 0x10, masked: false);
        ProgramVector(ep, 63, Bench.ItsTranslater, 0x3F, masked: false);
        b.Step(() =>
        {
            b.Model.Raise(ep, 0);
            b.Model.Raise(ep, 63);
        });
        Assert.Multiple(() =>
        {
            Assert.That(b.Messages, Is.Empty);
            Assert.That(b.Model.Events.OfType<MessageLatchedEvent>().Select(e => e.Reason), Is.EqualTo(new[] { "MSI-X disabled", "MSI-X disabled" }));
            Assert.That(ep.ReadPba(1), Is.EqualTo(0x8000_0000u));
        });
        var delivered = b.Step(() => b.Write(ep, ep.Msix!.Offset + 2, 2, 0x8000));
        Assert.That(delivered.Select(m => m.Delivery.EventId), Is.EqualTo(new uint?[] { 0x10, 0x3F }), "enable delivers pending vectors in order");
    }

    [Test]
    public void route_set_msi_on_addr_data_change_while_unmasked()
    {
        var (b, ep) = Msix("--gic-msi v2m");
        b.Write(ep, ep.Msix!.Offset + 2, 2, 0x8000);
        ProgramVector(ep, 1, Bench.V2mDoorbell, 940, masked: false);
        Assert.That(RaiseOne(b, ep, 1).Delivery.Intid, Is.EqualTo(940u));
        ep.WriteMsixTable(1, 2, 941, 0xFFFF_FFFF);
        Assert.That(RaiseOne(b, ep, 1).Delivery.Intid, Is.EqualTo(941u), "new data at raise time");
        ep.WriteMsixTable(1, 0, 0xEFFE_9040, 0xFFFF_FFFF);
        Assert.That(RaiseOne(b, ep, 1).Delivery, Is.EqualTo(Delivery.Dropped("address 0xeffe9040 is not the GICv2m doorbell SETSPI_NS 0xeffe8040")), "new address at raise time");
    }

    [Test]
    public void msix_takes_precedence_over_msi_when_enabled()
    {
        var (b, ep) = Generic("--gic-msi its", "msi=1,msix=4");
        Assert.That(ep.Msix!.Offset, Is.EqualTo(ep.Msi!.Offset + ep.Msi.Length), "MSI, then MSI-X");
        RequesterIdTests.EnableMsi(b, ep, Bench.ItsTranslater, 0x01);
        Assert.That(RaiseOne(b, ep).Message.Origin, Is.EqualTo(MessageOrigin.Msi));
        b.Write(ep, ep.Msix.Offset + 2, 2, 0x8000);
        ProgramVector(ep, 0, Bench.ItsTranslater, 0x02, masked: false);
        var m = RaiseOne(b, ep);
        Assert.Multiple(() =>
        {
            Assert.That(m.Message.Origin, Is.EqualTo(MessageOrigin.Msix));
            Assert.That(m.Delivery.EventId, Is.EqualTo(0x02u));
        });
    }
}
