using PcieSim.Functions;
using PcieSim.Interrupts;
using PcieSim.Rules;
using PcieSim.Topology;

namespace PcieSim.Conformance.Hotplug;

/// <summary>Where the hotplug slot sits.</summary>
public enum SlotKind
{
    RootPort,
    SwitchDownstreamPort,
}

/// <summary>Which platform MSI controller the topology has.</summary>
public enum GicKind
{
    Its,
    V2m,
}

/// <summary>One guest step as the §6.7 rule checker sees it.</summary>
internal sealed record ObservedStep(string Name, PortObservation Before, PortObservation After, SlotWrite? Write, int HotplugMessages, ulong? EmptyRead);

/// <summary>
/// Linux pciehp's config sequences (anchors 4c) against one hotplug slot, as executable steps: each guest access is
/// one step with fresh events; the step asserts the values Linux would read and the exact messages raised.
/// Segment 1, buses 0x20..0x3f; the slot is rp1 (devfn 1) or sw0-downstream-1 (devfn 1 on internal bus 0x22).
/// </summary>
internal sealed class PciehpScenario
{
    public const ushort ItsData = 0x0007;
    public const ushort V2mData = 930;

    private readonly Bench b;

    public PciehpScenario(BehaviourProfile profile, SlotKind slot, GicKind gic, bool cc)
    {
        Slot = slot;
        Gic = gic;
        Cc = cc;
        string flags = (cc ? ",hotplug,cc" : ",hotplug");
        string topology = "--pcie-root-complex rc0,segment=1,start_bus=0x20,end_bus=0x3f --pcie-root-port rc0:rp0"
            + (slot == SlotKind.RootPort
                ? " --pcie-root-port rc0:rp1" + flags
                : " --pcie-switch rp0:sw0,num_downstream_ports=2" + flags)
            + " --pcie-endpoint nvme0,template=nvme"
            + (gic == GicKind.Its ? " --gic-msi its" : " --gic-msi v2m");
        b = new Bench(topology, profile);
        if (slot == SlotKind.RootPort)
        {
            Port = b.Port("rp1");
            b.Buses(Port, 0x20, 0x21, 0x21);
            Secondary = 0x21;
            RequesterId = 0x2001;
        }
        else
        {
            var sw = b.Model.Switches.Single();
            b.Buses(b.Port("rp0"), 0x20, 0x21, 0x24);
            b.Buses(sw.Upstream, 0x21, 0x22, 0x24);
            b.Buses(sw.DownstreamPorts[0], 0x22, 0x23, 0x23);
            b.Buses(sw.DownstreamPorts[1], 0x22, 0x24, 0x24);
            Port = sw.DownstreamPorts[1];
            Secondary = 0x24;
            RequesterId = 0x2201;
        }

        Assert.That(Port.Devfn, Is.EqualTo((byte)1));
        Assert.That(b.Model.Events, Is.Empty);
    }

    public SlotKind Slot { get; }

    public GicKind Gic { get; }

    public bool Cc { get; }

    public Bench Bench => b;

    public PcieModel Model => b.Model;

    public DownstreamPort Port { get; }

    public byte Secondary { get; }

    public ushort RequesterId { get; }

    /// <summary>Called after every step (the rule checker listens here).</summary>
    public Action<ObservedStep>? Observer { get; set; }

    /// <summary>Every step with the number of hotplug messages it raised.</summary>
    public List<(string Step, int Messages)> Log { get; } = [];

    public ulong Address => Gic == GicKind.Its ? Bench.ItsTranslater : Bench.V2mDoorbell;

    public ushort Data => Gic == GicKind.Its ? ItsData : V2mData;

    /// <summary>What Linux sees with Slot Control commands: 0x1028, or 0x1038 when NCCS = 0.</summary>
    public ushort NotificationCommand => Cc ? (ushort)0x1038 : (ushort)0x1028;

    // ---- Steps ----

    private List<MessageEvent> Step(string name, Action action, SlotWrite? write = null, Func<ulong?>? emptyRead = null)
    {
        var before = PcieModel.Observe(Port);
        Model.ClearEvents();
        ulong? empty = null;
        action();
        if (emptyRead is not null)
        {
            empty = emptyRead();
        }

        var after = PcieModel.Observe(Port);
        var messages = b.HotplugMessages(Port);
        Log.Add((name, messages.Count));
        Observer?.Invoke(new ObservedStep(name, before, after, write, messages.Count, empty));
        return messages;
    }

    /// <summary>A port register read (Linux reads never raise anything).</summary>
    public uint ReadPort(int register, int width)
    {
        uint value = 0;
        var raised = Step($"read {register:x2}/{width}", () => value = b.Read(Port, register, width));
        Assert.That(raised, Is.Empty, $"read 0x{register:x}");
        return value;
    }

    public List<MessageEvent> WritePortWord(int register, ushort value) =>
        Step($"write {register:x2}={value:x4}", () => b.Write(Port, register, 2, value),
            register is Bench.SltCtl or Bench.SltSta ? Bench.WordWrite(register, value) : null);

    public List<MessageEvent> WritePortDword(int register, uint value) =>
        Step($"write {register:x2}={value:x8}", () => b.Write(Port, register, 4, value));

    public void AssertExactlyOneMessage(List<MessageEvent> raised, string step)
    {
        Assert.That(raised, Has.Count.EqualTo(1), step);
        var m = raised[0];
        Delivery expected = Gic == GicKind.Its
            ? new Delivery(DeliveryStatus.Accepted, 0x1_0000u | RequesterId, Data, null, null)
            : new Delivery(DeliveryStatus.Accepted, null, null, Data, null);
        Assert.Multiple(() =>
        {
            Assert.That(m.Message.Source, Is.SameAs(Port), step);
            Assert.That(m.Message.Origin, Is.EqualTo(MessageOrigin.Hotplug), step);
            Assert.That(m.Message.Vector, Is.EqualTo(0), step);
            Assert.That(m.Message.Segment, Is.EqualTo((ushort)1), step);
            Assert.That(m.Message.RequesterId, Is.EqualTo(RequesterId), step);
            Assert.That(m.Message.Address, Is.EqualTo(Address), step);
            Assert.That(m.Message.Data, Is.EqualTo((uint)Data), step);
            Assert.That(m.Delivery, Is.EqualTo(expected), step);
            Assert.That(m.Note, Is.Null, step);
        });
    }

    /// <summary>The driver enables the port's MSI before pciehp binds (portdrv).</summary>
    public void EnablePortMsi()
    {
        Assert.That(WritePortDword(Bench.MsiAddrLo, (uint)Address), Is.Empty);
        Assert.That(WritePortDword(Bench.MsiAddrHi, 0), Is.Empty);
        Assert.That(WritePortWord(Bench.MsiData, Data), Is.Empty);
        Assert.That(WritePortWord(Bench.MsiCtl, 1), Is.Empty);
        Assert.That(ReadPort(Bench.MsiCtl, 2), Is.EqualTo(0x0081u), "enabled, 64-bit, MMC 0");
    }

    /// <summary>pciehp_probe: SLTCAP, dbg_ctrl, SLTCAP2, clear 0x011F, enable notifications, check presence.</summary>
    public void Probe()
    {
        uint sltcap = 0x0000_0060u | (2u << 19) | (Cc ? 0 : 0x0004_0000u);
        Assert.That(ReadPort(Bench.SltCap, 4), Is.EqualTo(sltcap), "SLTCAP: HPS | HPC | slot 2 (| NCCS)");
        Assert.That(ReadPort(Bench.SltSta, 2), Is.EqualTo(0x0000u), "SLTSTA: empty, no events");
        Assert.That(ReadPort(Bench.SltCtl, 2), Is.EqualTo(0x0000u), "SLTCTL");
        Assert.That(ReadPort(Bench.SltCap2, 4), Is.EqualTo(0x0000_0000u), "SLTCAP2: no in-band PD disable");
        Assert.That(WritePortWord(Bench.SltSta, 0x011F), Is.Empty, "clear stale events: a status write is not a command");
        Assert.That(ReadPort(Bench.SltSta, 2), Is.EqualTo(0x0000u), "no CC from the status write");

        // pcie_enable_notification: read-modify-write of SLTCTL with mask 0x103B.
        uint old = ReadPort(Bench.SltCtl, 2);
        ushort cmd = (ushort)((old & ~0x103Bu) | NotificationCommand);
        var raised = WritePortWord(Bench.SltCtl, cmd);
        Assert.That(ReadPort(Bench.SltCtl, 2), Is.EqualTo((uint)NotificationCommand));
        if (Cc)
        {
            // NCCS = 0: the command completes at once; CC with CCIE and HPIE notifies; Linux clears CC (0x0010).
            AssertExactlyOneMessage(raised, "CC after the notification command");
            Assert.That(ReadPort(Bench.SltSta, 2), Is.EqualTo(0x0010u), "CC");
            Assert.That(WritePortWord(Bench.SltSta, 0x0010), Is.Empty, "clearing CC is not a command");
            Assert.That(ReadPort(Bench.SltSta, 2), Is.EqualTo(0x0000u));
        }
        else
        {
            Assert.That(raised, Is.Empty, "NCCS = 1: no CC, no message");
        }

        // pciehp_check_presence: PDS, then DLLLA since PDS is 0.
        Assert.That(ReadPort(Bench.SltSta, 2) & 0x0040, Is.EqualTo(0u), "PDS 0");
        Assert.That(ReadPort(Bench.LnkSta, 2), Is.EqualTo(0x0105u), "DLLLA 0");
    }

    /// <summary>The interrupt routine: read SLTSTA, write back exactly the event bits 0x011B &amp; status, re-read until none.</summary>
    public void InterruptLoop(ushort expectedFirst)
    {
        uint status = ReadPort(Bench.SltSta, 2);
        Assert.That(status, Is.EqualTo((uint)expectedFirst), "first SLTSTA read in the ISR");
        int rounds = 0;
        while ((status & 0x011B) != 0)
        {
            Assert.That(++rounds, Is.LessThanOrEqualTo(1), "one clear is enough");
            Assert.That(WritePortWord(Bench.SltSta, (ushort)(status & 0x011B)), Is.Empty, "the W1C raises nothing");
            status = ReadPort(Bench.SltSta, 2);
        }

        Assert.That(status & 0x011B, Is.EqualTo(0u));
    }

    /// <summary>Only the hot-add itself, as one step.</summary>
    public List<MessageEvent> HotAddStep() => Step("hot-add", () => Model.HotAdd(Port.Name, "nvme0"));

    public void HotAdd()
    {
        var raised = HotAddStep();
        AssertExactlyOneMessage(raised, "hot-add");
        InterruptLoop(0x0148);

        // pciehp_handle_presence_or_link_change → pciehp_check_link_status.
        Assert.That(ReadPort(Bench.SltSta, 2) & 0x0040, Is.EqualTo(0x0040u), "PDS 1");
        uint lnksta = ReadPort(Bench.LnkSta, 2);
        Assert.Multiple(() =>
        {
            Assert.That(lnksta & 0x2000, Is.EqualTo(0x2000u), "DLLLA");
            Assert.That((lnksta >> 4) & 0x3F, Is.EqualTo(0x10u), "NLW x16 (nonzero)");
            Assert.That(lnksta & 0x0800, Is.EqualTo(0u), "LT 0");
        });

        // pci_bus_check_dev: dword Vendor ID at (secondary, dev 0, fn 0).
        ulong vendor = 0;
        var scan = Step("scan", () => vendor = b.ReadAt(b.Rc(), Secondary, 0, 0x00, 4).Value);
        Assert.Multiple(() =>
        {
            Assert.That(scan, Is.Empty);
            Assert.That(vendor, Is.EqualTo(0x00A9_1414UL), "the NVMe endpoint");
            Assert.That(b.ReadAt(b.Rc(), Secondary, 0, 0x08, 4).Value, Is.EqualTo(0x0108_0200UL), "class 01 08 02");
        });
        Assert.That(ReadPort(Bench.LnkSta, 2), Is.EqualTo(0x2105u), "link status read again after the device answered");
    }

    public void HotRemove()
    {
        var raised = Step("hot-remove", () => Model.HotRemove(Port.Name));
        AssertExactlyOneMessage(raised, "hot-remove");
        InterruptLoop(0x0108);
        Assert.That(ReadPort(Bench.SltSta, 2) & 0x0040, Is.EqualTo(0u), "PDS 0");
        Assert.That(ReadPort(Bench.LnkSta, 2) & 0x2000, Is.EqualTo(0u), "DLLLA 0: stop");
        ulong vendor = 0;
        var scan = Step("scan after remove", () => vendor = b.ReadAt(b.Rc(), Secondary, 0, 0x00, 4).Value, emptyRead: () => vendor);
        Assert.That(scan, Is.Empty);
        Assert.That(vendor, Is.EqualTo(0xFFFF_FFFFUL), "below the empty slot");
    }

    /// <summary>The whole sequence: MSI, probe, add, remove, add again.</summary>
    public void Run()
    {
        EnablePortMsi();
        Probe();
        HotAdd();
        HotRemove();
        HotAdd();
    }
}
