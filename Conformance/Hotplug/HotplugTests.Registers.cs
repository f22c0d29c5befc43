using PcieSim.Interrupts;
using PcieSim.Topology;

namespace PcieSim.Conformance.Hotplug;

/// <summary>Slot register masks, <c>cc</c>, reset, and OpenVMM's <c>port.rs</c>/<c>pci_express.rs</c> hotplug tests by name.</summary>
public partial class HotplugTests
{
    // ---- OpenVMM tests (reference 10.2, 10.5), by name ----

    [Test]
    public void test_add_pcie_device_sets_presence_detect_state()
    {
        var b = new Bench(RootPorts);
        var rp0 = b.Port("rp0");
        Assert.That(b.Read(rp0, Bench.SltCtl, 4) & (1u << 22), Is.EqualTo(0u));
        b.Model.HotAdd("rp0", "nvme0");
        Assert.That(b.Read(rp0, Bench.SltCtl, 4) & (1u << 22), Is.EqualTo(1u << 22));
    }

    [Test]
    public void test_slot_status_rw1c_behavior()
    {
        var b = new Bench(RootPorts);
        var rp0 = b.Port("rp0");
        b.Model.HotAdd("rp0", "nvme0");
        Assert.That(b.Read(rp0, Bench.SltSta, 2), Is.EqualTo(0x0148));

        b.Write(rp0, Bench.SltSta, 2, 0x0000);
        Assert.That(b.Read(rp0, Bench.SltSta, 2), Is.EqualTo(0x0148), "writing 0 clears nothing");
        b.Write(rp0, Bench.SltSta, 2, 0x0008);
        Assert.That(b.Read(rp0, Bench.SltSta, 2), Is.EqualTo(0x0140), "PDC alone");
        b.Write(rp0, Bench.SltSta, 2, 0x0100);
        Assert.That(b.Read(rp0, Bench.SltSta, 2), Is.EqualTo(0x0040), "DLLSC alone; PDS stays");

        // Same-state re-apply is not an event.
        Assert.That(rp0.SetPresence(true, latchEvents: true), Is.False);
        Assert.That(b.Read(rp0, Bench.SltSta, 2), Is.EqualTo(0x0040));
    }

    [Test]
    public void test_slot_control_write_protection()
    {
        var b = new Bench(RootPorts);
        var rp0 = b.Port("rp0");
        b.Write(rp0, Bench.SltCtl, 2, 0xFFFF);
        Assert.That(b.Read(rp0, Bench.SltCtl, 2), Is.EqualTo(0x1028), "only PDCE, HPIE, DLLSCE");
        b.Write(rp0, Bench.SltCtl, 2, 0x0000);
        Assert.That(b.Read(rp0, Bench.SltCtl, 2), Is.EqualTo(0x0000));
        b.Write(rp0, Bench.SltCtl, 2, 0x0010);
        Assert.That(b.Read(rp0, Bench.SltCtl, 2), Is.EqualTo(0x0000), "CCIE read-only without cc");
        var rp2 = b.Port("rp2");
        b.Write(rp2, Bench.SltCtl, 2, 0xFFFF);
        Assert.That(b.Read(rp2, Bench.SltCtl, 2), Is.EqualTo(0x0000), "no slot: nothing writable");
    }

    [Test]
    public void test_set_presence_detect_state()
    {
        var b = new Bench(RootPorts);
        var rp1 = b.Port("rp1");
        Assert.That(rp1.SetPresence(true, latchEvents: false), Is.True);
        Assert.Multiple(() =>
        {
            Assert.That(b.Read(rp1, Bench.SltSta, 2), Is.EqualTo(0x0040));
            Assert.That(b.Read(rp1, Bench.LnkSta, 2), Is.EqualTo(0x2105));
        });
        Assert.That(rp1.SetPresence(false, latchEvents: false), Is.True);
        Assert.Multiple(() =>
        {
            Assert.That(b.Read(rp1, Bench.SltSta, 2), Is.EqualTo(0x0000));
            Assert.That(b.Read(rp1, Bench.LnkSta, 2), Is.EqualTo(0x0105));
        });
    }

    [Test]
    public void test_set_presence_detect_state_without_slot_implemented()
    {
        var b = new Bench("--pcie-root-complex rc0 --pcie-root-port rc0:rp0");
        var rp0 = b.Port("rp0");
        Assert.Multiple(() =>
        {
            Assert.That(b.Read(rp0, 0x42, 2), Is.EqualTo(0x0042), "no Slot Implemented");
            Assert.That(b.Read(rp0, Bench.SltSta, 2), Is.EqualTo(0x0040), "PDS hard-wired to 1");
            Assert.That(b.Read(rp0, Bench.LnkSta, 2), Is.EqualTo(0x0105));
        });
        rp0.SetPresence(true, latchEvents: true);
        Assert.Multiple(() =>
        {
            Assert.That(b.Read(rp0, Bench.SltSta, 2), Is.EqualTo(0x0040), "no latches without a slot");
            Assert.That(b.Read(rp0, Bench.LnkSta, 2), Is.EqualTo(0x2105), "DLLLA follows presence on every port");
        });
        rp0.SetPresence(false, latchEvents: true);
        Assert.Multiple(() =>
        {
            Assert.That(b.Read(rp0, Bench.SltSta, 2), Is.EqualTo(0x0040));
            Assert.That(b.Read(rp0, Bench.LnkSta, 2), Is.EqualTo(0x0105));
        });
    }

    [Test]
    public void test_hotplug_link_capabilities()
    {
        var b = new Bench(RootPorts);
        Assert.Multiple(() =>
        {
            Assert.That(b.Read(b.Port("rp0"), 0x4C, 4), Is.EqualTo(0x0050_0105u), "DLLLARC with hotplug");
            Assert.That(b.Read(b.Port("rp2"), 0x4C, 4), Is.EqualTo(0x0040_0105u), "no DLLLARC without");
            Assert.That(b.Read(b.Port("rp0"), 0x40, 4), Is.EqualTo(0x0142_7C10u));
            Assert.That(b.Read(b.Port("rp2"), 0x40, 4), Is.EqualTo(0x0042_7C10u));
        });
    }

    [Test]
    public void test_pci_express_capability_reset()
    {
        var b = new Bench(RootPorts);
        var rp0 = b.Port("rp0");
        b.Buses(rp0, 0, 1, 1);
        b.EnablePortMsi(rp0, Bench.ItsTranslater, 0x20);
        b.Write(rp0, 0x48, 2, 0x0000);
        b.Write(rp0, 0x50, 2, 0x00C3);
        b.Write(rp0, Bench.SltCtl, 2, 0x1028);
        b.Write(rp0, Bench.DevCtl2, 2, 0x0020);
        b.Model.HotAdd("rp0", "nvme0");
        Assert.That(b.Read(rp0, Bench.SltSta, 2), Is.EqualTo(0x0148));

        b.Model.Reset();
        Assert.Multiple(() =>
        {
            Assert.That(b.Read(rp0, 0x48, 2), Is.EqualTo(0x2810), "Device Control reset");
            Assert.That(b.Read(rp0, 0x50, 2), Is.EqualTo(0x0000), "Link Control reset");
            Assert.That(b.Read(rp0, Bench.SltCtl, 2), Is.EqualTo(0x0000), "Slot Control reset");
            Assert.That(b.Read(rp0, Bench.SltSta, 2), Is.EqualTo(0x0040), "latches reset, presence kept");
            Assert.That(b.Read(rp0, Bench.LnkSta, 2), Is.EqualTo(0x2105), "link kept");
            Assert.That(b.Read(rp0, Bench.DevCtl2, 2), Is.EqualTo(0x0000));
            Assert.That(b.Read(rp0, Bench.MsiCtl, 2), Is.EqualTo(0x0080), "MSI disabled, 64-bit");
            Assert.That(b.Read(rp0, 0x18, 4), Is.EqualTo(0u), "bus numbers reset");
            Assert.That(rp0.Presence, Is.True);
            Assert.That(b.Endpoint("nvme0").Port, Is.SameAs(rp0), "link kept");
            Assert.That(b.Model.Events, Is.Empty);
        });

        b.Buses(rp0, 0, 1, 1);
        Assert.That(b.ReadAt(b.Rc(), 1, 0, 0, 4).Value, Is.EqualTo(0x00A9_1414UL), "the endpoint is still linked");
    }

    // ---- Masks ----

    [TestCase(false, 0x1028, 0x0108)]
    [TestCase(true, 0x1038, 0x0118)]
    public void slot_control_and_status_masks(bool cc, int controlMask, int rw1cMask)
    {
        var b = new Bench(CcRootPort(cc));
        var rp0 = b.Port("rp0");
        b.Write(rp0, Bench.SltCtl, 2, 0xFFFF);
        Assert.That(b.Read(rp0, Bench.SltCtl, 2), Is.EqualTo((uint)controlMask));

        b.Model.HotAdd("rp0", "nvme0");
        uint status = b.Read(rp0, Bench.SltSta, 2);
        Assert.That(status, Is.EqualTo(cc ? 0x0158u : 0x0148u), "PDS, PDC, DLLSC (+ CC from the command with cc)");
        b.Write(rp0, Bench.SltSta, 2, 0xFFFF);
        Assert.Multiple(() =>
        {
            Assert.That(b.Read(rp0, Bench.SltSta, 2), Is.EqualTo(0x0040), "every RW1C bit cleared, PDS kept");
            Assert.That(status & ~0x0040u, Is.EqualTo((uint)rw1cMask & status));
        });
    }

    [Test]
    public void presence_detect_state_is_read_only()
    {
        var b = new Bench(RootPorts);
        var rp0 = b.Port("rp0");
        b.Write(rp0, Bench.SltSta, 2, 0x0040);
        Assert.That(b.Read(rp0, Bench.SltSta, 2), Is.EqualTo(0x0000));
        b.Model.HotAdd("rp0", "nvme0");
        b.Write(rp0, Bench.SltCtl, 4, 0x0040_0000);
        Assert.That(b.Read(rp0, Bench.SltSta, 2), Is.EqualTo(0x0148), "writing PDS=1 neither clears nor sets anything");
        b.Write(rp0, Bench.SltCtl, 4, 0xFFBF_0000);
        Assert.That(b.Read(rp0, Bench.SltSta, 2), Is.EqualTo(0x0040));
    }

    // ---- cc ----

    [TestCase(false, 0x000C_0060u)]
    [TestCase(true, 0x0008_0060u)]
    public void cc_slot_capabilities_no_command_completed_support(bool cc, uint sltcap)
    {
        var b = new Bench(CcRootPort(cc));
        Assert.That(b.Read(b.Port("rp0"), Bench.SltCap, 4), Is.EqualTo(sltcap), "HPS | HPC | slot 1, NCCS only without cc");
    }

    [Test]
    public void cc_switch_flag_applies_to_every_downstream_port()
    {
        var b = new Bench(Switch(cc: true));
        ProgramSwitch(b);
        foreach (var dsp in b.Model.Switches.Single().DownstreamPorts)
        {
            Assert.That(b.Read(dsp, Bench.SltCap, 4) & 0x0004_0000u, Is.EqualTo(0u), dsp.Name);
            b.Write(dsp, Bench.SltCtl, 2, 0xFFFF);
            Assert.That(b.Read(dsp, Bench.SltCtl, 2), Is.EqualTo(0x1038), dsp.Name);
            Assert.That(b.Read(dsp, Bench.SltSta, 2), Is.EqualTo(0x0010), dsp.Name);
        }
    }

    [Test]
    public void cc_any_enable_in_bytes_0_1_is_a_command_even_when_unchanged()
    {
        var b = new Bench(CcRootPort(cc: true));
        var rp0 = b.Port("rp0");
        var steps = new (int Register, int Width, uint Value)[]
        {
            (Bench.SltCtl, 2, 0x0000), // unchanged value
            (Bench.SltCtl, 1, 0x00),   // byte 0
            (0x59, 1, 0x00),           // byte 1
            (Bench.SltCtl, 4, 0x0000_0000), // dword
        };
        foreach (var (register, width, value) in steps)
        {
            var raised = b.Step(() => b.Write(rp0, register, width, value));
            Assert.Multiple(() =>
            {
                Assert.That(b.Read(rp0, Bench.SltSta, 2), Is.EqualTo(0x0010), $"CC after write 0x{register:x}/{width}");
                Assert.That(b.Model.Events.OfType<CommandCompletedEvent>().Single().Port, Is.SameAs(rp0));
                Assert.That(raised, Is.Empty, "HPIE clear");
                Assert.That(b.Read(rp0, Bench.SltCtl, 2), Is.EqualTo(0x0000));
            });
            b.Write(rp0, Bench.SltSta, 2, 0x0010);
            Assert.That(b.Read(rp0, Bench.SltSta, 2), Is.EqualTo(0x0000), "CC is RW1C");
        }
    }

    [Test]
    public void cc_dword_write_clearing_cc_is_itself_a_command()
    {
        var b = new Bench(CcRootPort(cc: true));
        var rp0 = b.Port("rp0");
        b.Write(rp0, Bench.SltCtl, 2, 0x1008);
        Assert.That(b.Read(rp0, Bench.SltSta, 2), Is.EqualTo(0x0010));
        b.Model.ClearEvents();
        b.Write(rp0, Bench.SltCtl, 4, 0x0010_1008);
        Assert.Multiple(() =>
        {
            Assert.That(b.Read(rp0, Bench.SltSta, 2), Is.EqualTo(0x0010), "the control half completes a command after the W1C");
            Assert.That(b.Model.Events.OfType<CommandCompletedEvent>().Count(), Is.EqualTo(1));
        });
    }

    [TestCase(BehaviourProfile.OpenVmm)]
    [TestCase(BehaviourProfile.Spec)]
    public void cc_status_only_write_is_not_a_command_no_interrupt_storm(BehaviourProfile profile)
    {
        var b = new Bench(CcRootPort(cc: true), profile);
        var rp0 = b.Port("rp0");
        b.EnablePortMsi(rp0, Bench.ItsTranslater, 0x41);
        var first = b.Step(() => b.Write(rp0, Bench.SltCtl, 2, 0x0030));
        Assert.That(first.Select(m => (m.Message.Address, m.Message.Data, m.Delivery.Status)),
            Is.EqualTo(new[] { (Bench.ItsTranslater, 0x41u, DeliveryStatus.Accepted) }), "CC with CCIE and HPIE; no platform: accepted and recorded");

        for (int i = 0; i < 3; i++)
        {
            var raised = b.Step(() => b.Write(rp0, Bench.SltSta, 2, 0x0010));
            Assert.Multiple(() =>
            {
                Assert.That(raised, Is.Empty, $"clear {i}: no message");
                Assert.That(b.Model.Events.OfType<CommandCompletedEvent>(), Is.Empty, $"clear {i}: no command");
                Assert.That(b.Read(rp0, Bench.SltSta, 2), Is.EqualTo(0x0000));
            });
        }

        var bytes = b.Step(() => b.Write(rp0, 0x5B, 1, 0x00));
        Assert.That(bytes, Is.Empty);
        Assert.That(b.Read(rp0, Bench.SltSta, 2), Is.EqualTo(0x0000), "byte 3 only: not a command");
    }

    [Test]
    public void cc_never_set_without_cc()
    {
        var b = new Bench(CcRootPort(cc: false));
        var rp0 = b.Port("rp0");
        b.Write(rp0, Bench.SltCtl, 2, 0x1028);
        b.Write(rp0, Bench.SltCtl, 4, 0x0010_1028);
        Assert.Multiple(() =>
        {
            Assert.That(b.Read(rp0, Bench.SltSta, 2), Is.EqualTo(0x0000));
            Assert.That(b.Model.Events.OfType<CommandCompletedEvent>(), Is.Empty);
        });
    }

    [Test]
    public void cc_with_ccie_and_hpie_openvmm_raises_on_every_command()
    {
        var b = new Bench(CcRootPort(cc: true));
        var rp0 = b.Port("rp0");
        b.EnablePortMsi(rp0, Bench.ItsTranslater, 0x41);
        Assert.Multiple(() =>
        {
            Assert.That(b.Step(() => b.Write(rp0, Bench.SltCtl, 2, 0x0030)), Has.Count.EqualTo(1));
            Assert.That(b.Step(() => b.Write(rp0, Bench.SltCtl, 2, 0x0030)), Has.Count.EqualTo(1), "CC still set: openvmm fires again");
            Assert.That(b.Step(() => b.Write(rp0, Bench.SltCtl, 2, 0x0020)), Is.Empty, "the command clearing CCIE does not notify");
            Assert.That(b.Read(rp0, Bench.SltSta, 2), Is.EqualTo(0x0010));
        });
    }

    [Test]
    public void cc_with_ccie_and_hpie_spec_raises_only_on_the_edge()
    {
        var b = new Bench(CcRootPort(cc: true), BehaviourProfile.Spec);
        var rp0 = b.Port("rp0");
        b.EnablePortMsi(rp0, Bench.ItsTranslater, 0x41);
        Assert.Multiple(() =>
        {
            Assert.That(b.Step(() => b.Write(rp0, Bench.SltCtl, 2, 0x0030)), Has.Count.EqualTo(1), "false -> true");
            Assert.That(b.Step(() => b.Write(rp0, Bench.SltCtl, 2, 0x0030)), Is.Empty, "CC still set: no edge");
            Assert.That(b.Step(() => b.Write(rp0, Bench.SltSta, 2, 0x0010)), Is.Empty, "cleared");
            Assert.That(b.Step(() => b.Write(rp0, Bench.SltCtl, 2, 0x0030)), Has.Count.EqualTo(1), "a new edge");
            Assert.That(b.Step(() => b.Write(rp0, Bench.SltSta, 2, 0x0010)), Is.Empty);
            Assert.That(b.Step(() => b.Write(rp0, Bench.SltCtl, 2, 0x0020)), Is.Empty, "the command clearing CCIE does not notify");
        });
    }
}
