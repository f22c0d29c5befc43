using PcieSim.Conformance.Hotplug;
using PcieSim.Interrupts;
using PcieSim.Rules;
using PcieSim.Topology;

namespace PcieSim.Conformance.Rules;

/// <summary>The closed §6.7 rule set: each rule broken and kept on synthetic observations, and the model judged.</summary>
[TestFixture]
public class HotplugRuleTests
{
    /// <summary>A hotplug root port with an endpoint present, notifications enabled, MSI enabled, no events.</summary>
    private static readonly PortObservation Good = new(
        Presence: true,
        PcieCapabilities: 0x0142,
        LinkCapabilities: 0x0050_0105,
        LinkStatus: 0x2105,
        SlotCapabilities: 0x000C_0060,
        SlotControl: 0x1028,
        SlotStatus: 0x0040,
        MsiEnabled: true,
        VectorMasked: false);

    /// <summary>A root port without a slot, nothing below.</summary>
    private static readonly PortObservation NoSlot = new(false, 0x0042, 0x0040_0105, 0x0105, 0, 0, 0x0040, false, false);

    private static string[] State(PortObservation o)
    {
        var v = new List<Violation>();
        HotplugRuleChecker.CheckState("p", o, v);
        return [.. v.Select(x => x.Rule.Id)];
    }

    private static string[] Step(PortObservation before, PortObservation after, SlotWrite? write = null, bool reset = false, int messages = 0)
    {
        var v = new List<Violation>();
        new HotplugRuleChecker().CheckStep("p", before, after, write, reset, messages, v);
        Assert.That(v.All(x => x.Port == "p" && x.Evidence.Length > 0));
        return [.. v.Select(x => x.Rule.Id)];
    }

    [Test]
    public void the_rule_set_is_closed()
    {
        Assert.That(HotplugRule.All.Select(r => r.Id), Is.EqualTo(new[]
        {
            "HP-RW1C", "HP-PDS", "HP-DLLLA", "HP-DLLLARC", "HP-EDGE", "HP-NOHPIE", "HP-NCCS", "HP-STATUSWRITE", "HP-EMPTY", "HP-NOSLOT", "HP-LINKUP",
        }));
        Assert.Multiple(() =>
        {
            foreach (var rule in HotplugRule.All)
            {
                Assert.That(rule.Statement, Is.Not.Empty, rule.Id);
                Assert.That(rule.Clause, Does.Contain("§"), rule.Id);
            }
        });
    }

    [Test]
    public void good_observations_keep_every_state_rule()
    {
        Assert.Multiple(() =>
        {
            Assert.That(State(Good), Is.Empty);
            Assert.That(State(Good with { Presence = false, LinkStatus = 0x0105, SlotStatus = 0x0000 }), Is.Empty, "empty slot");
            Assert.That(State(NoSlot), Is.Empty);
            Assert.That(State(NoSlot with { Presence = true, LinkStatus = 0x2105 }), Is.Empty, "no slot, link up");
        });
    }

    [Test]
    public void HP_RW1C()
    {
        var before = Good with { SlotStatus = 0x0148 };
        Assert.Multiple(() =>
        {
            Assert.That(Step(before, Good), Is.EqualTo(new[] { "HP-RW1C" }), "cleared with no write");
            Assert.That(Step(before, Good with { SlotStatus = 0x0140 }, Bench.WordWrite(Bench.SltSta, 0x0100)), Is.EqualTo(new[] { "HP-RW1C" }), "PDC cleared by a write of DLLSC");
            Assert.That(Step(before, Good, Bench.WordWrite(Bench.SltSta, 0x0108)), Is.Empty);
            Assert.That(Step(before, Good with { SlotStatus = 0x0140 }, Bench.WordWrite(Bench.SltSta, 0x0008)), Is.Empty);
            Assert.That(Step(before, Good, reset: true), Is.Empty, "a reset clears latches");
        });
    }

    [Test]
    public void HP_PDS()
    {
        Assert.Multiple(() =>
        {
            Assert.That(State(Good with { SlotStatus = 0x0000 }), Is.EqualTo(new[] { "HP-PDS" }), "present, PDS 0");
            Assert.That(State(NoSlot with { SlotStatus = 0x0000 }), Is.EqualTo(new[] { "HP-PDS", "HP-NOSLOT" }), "no slot must read PDS 1");
            Assert.That(State(Good), Is.Empty);
        });
    }

    [Test]
    public void HP_DLLLA()
    {
        Assert.Multiple(() =>
        {
            Assert.That(State(Good with { LinkStatus = 0x0105 }), Is.EqualTo(new[] { "HP-DLLLA" }));
            Assert.That(State(NoSlot with { LinkStatus = 0x2105 }), Is.EqualTo(new[] { "HP-DLLLA" }), "every port");
            Assert.That(State(Good), Is.Empty);
        });
    }

    [Test]
    public void HP_DLLLARC()
    {
        Assert.Multiple(() =>
        {
            Assert.That(State(Good with { LinkCapabilities = 0x0040_0105 }), Is.EqualTo(new[] { "HP-DLLLARC" }));
            Assert.That(State(Good), Is.Empty);
        });
    }

    [Test]
    public void HP_EDGE()
    {
        var pending = Good with { SlotStatus = 0x0148 };
        var idle = Good with { Presence = false, LinkStatus = 0x0105, SlotStatus = 0x0000 };
        Assert.Multiple(() =>
        {
            Assert.That(Step(idle, pending, messages: 1), Is.Empty, "false -> true, one message");
            Assert.That(Step(idle, pending, messages: 0), Is.EqualTo(new[] { "HP-EDGE" }), "edge without message");
            Assert.That(Step(idle, pending, messages: 2), Is.EqualTo(new[] { "HP-EDGE" }), "two messages");
            Assert.That(Step(pending, pending with { Presence = false, LinkStatus = 0x0105, SlotStatus = 0x0108 }, messages: 1), Is.EqualTo(new[] { "HP-EDGE" }), "second event before clear");
            Assert.That(Step(idle, pending with { SlotControl = 0x0020 }, messages: 1), Is.EqualTo(new[] { "HP-EDGE" }), "PDCE and DLLSCE clear");
            Assert.That(Step(idle, pending with { MsiEnabled = false }, messages: 1), Is.EqualTo(new[] { "HP-EDGE" }), "MSI disabled");
            Assert.That(Step(idle, pending with { VectorMasked = true }, messages: 1), Is.EqualTo(new[] { "HP-EDGE" }), "vector masked");
            Assert.That(Step(pending with { MsiEnabled = false }, pending, messages: 1), Is.Empty, "MSI enable is a term: enabling it with an event pending is an edge");
        });

        // The checker keeps the edge state per port across steps.
        var checker = new HotplugRuleChecker();
        var v = new List<Violation>();
        checker.CheckStep("p", idle, pending, null, false, 1, v);
        checker.CheckStep("p", pending, pending with { SlotStatus = 0x0140 }, Bench.WordWrite(Bench.SltSta, 0x0008), false, 0, v);
        Assert.Multiple(() =>
        {
            Assert.That(v, Is.Empty);
            Assert.That(checker.EdgeState["p"], Is.True, "DLLSC still enabled and set");
        });
    }

    [Test]
    public void HP_NOHPIE()
    {
        var idle = Good with { SlotControl = 0x1008, Presence = false, LinkStatus = 0x0105, SlotStatus = 0x0000 };
        var pending = Good with { SlotControl = 0x1008, SlotStatus = 0x0148 };
        Assert.Multiple(() =>
        {
            Assert.That(Step(idle, pending, messages: 1), Is.EqualTo(new[] { "HP-NOHPIE", "HP-EDGE" }));
            Assert.That(Step(idle, pending, messages: 0), Is.Empty);
        });
    }

    [Test]
    public void HP_NCCS()
    {
        Assert.Multiple(() =>
        {
            Assert.That(State(Good with { SlotStatus = 0x0050 }), Is.EqualTo(new[] { "HP-NCCS" }));
            Assert.That(State(Good with { SlotCapabilities = 0x0008_0060, SlotStatus = 0x0050 }), Is.Empty, "cc slot");
        });
    }

    [Test]
    public void HP_STATUSWRITE()
    {
        var cc = Good with { SlotCapabilities = 0x0008_0060, SlotControl = 0x1008 };
        var clear = Bench.WordWrite(Bench.SltSta, 0x0010);
        Assert.Multiple(() =>
        {
            Assert.That(Step(cc, cc with { SlotStatus = 0x0050 }, Bench.WordWrite(Bench.SltSta, 0x0000)), Is.EqualTo(new[] { "HP-STATUSWRITE" }), "CC set by a status write");
            Assert.That(Step(cc, cc with { SlotControl = 0x1028 }, clear), Is.EqualTo(new[] { "HP-STATUSWRITE" }), "control changed by a status write");
            Assert.That(Step(cc with { SlotStatus = 0x0050 }, cc, clear), Is.Empty);
            Assert.That(Step(cc, cc with { SlotStatus = 0x0050 }, Bench.WordWrite(Bench.SltCtl, 0x1008)), Is.Empty, "a control write is a command");
        });
    }

    [Test]
    public void HP_EMPTY()
    {
        var v = new List<Violation>();
        HotplugRuleChecker.CheckEmptyRead("p", 0xFFFF_FFFF, 4, v);
        HotplugRuleChecker.CheckEmptyRead("p", 0xFFFF, 2, v);
        HotplugRuleChecker.CheckEmptyRead("p", 0xFF, 1, v);
        Assert.That(v, Is.Empty);
        HotplugRuleChecker.CheckEmptyRead("p", 0x0000_0000, 4, v);
        HotplugRuleChecker.CheckEmptyRead("p", 0x00FF, 2, v);
        Assert.That(v.Select(x => x.Rule.Id), Is.EqualTo(new[] { "HP-EMPTY", "HP-EMPTY" }));
    }

    [Test]
    public void HP_NOSLOT()
    {
        Assert.Multiple(() =>
        {
            Assert.That(State(NoSlot with { SlotControl = 0x0020 }), Is.EqualTo(new[] { "HP-NOSLOT" }));
            Assert.That(State(NoSlot with { SlotCapabilities = 0x0008_0000 }), Is.EqualTo(new[] { "HP-NOSLOT" }));
            Assert.That(State(NoSlot with { SlotStatus = 0x0048 }), Is.EqualTo(new[] { "HP-NOSLOT" }));
            Assert.That(State(NoSlot), Is.Empty);
        });
    }

    [Test]
    public void HP_LINKUP()
    {
        Assert.Multiple(() =>
        {
            Assert.That(State(Good with { LinkStatus = 0x2005 }), Is.EqualTo(new[] { "HP-LINKUP" }), "width 0");
            Assert.That(State(Good with { LinkStatus = 0x2905 }), Is.EqualTo(new[] { "HP-LINKUP" }), "link training");
            Assert.That(State(Good with { Presence = false, LinkStatus = 0x0805, SlotStatus = 0x0000 }), Is.Empty, "link down: not judged");
            Assert.That(State(Good), Is.Empty);
        });
    }

    // ---- The model judged ----

    private static List<Violation> Judge(PciehpScenario s)
    {
        var checker = new HotplugRuleChecker();
        var violations = new List<Violation>();
        s.Observer = step =>
        {
            HotplugRuleChecker.CheckState(s.Port.Name, step.After, violations);
            checker.CheckStep(s.Port.Name, step.Before, step.After, step.Write, reset: false, step.HotplugMessages, violations);
            if (step.EmptyRead is { } value)
            {
                HotplugRuleChecker.CheckEmptyRead(s.Port.Name, value, 4, violations);
            }
        };
        return violations;
    }

    private static IEnumerable<TestCaseData> Slots()
    {
        foreach (var profile in new[] { BehaviourProfile.Spec, BehaviourProfile.OpenVmm })
        {
            foreach (var slot in new[] { SlotKind.RootPort, SlotKind.SwitchDownstreamPort })
            {
                foreach (var gic in new[] { GicKind.Its, GicKind.V2m })
                {
                    foreach (bool cc in new[] { false, true })
                    {
                        yield return new TestCaseData(profile, slot, gic, cc);
                    }
                }
            }
        }
    }

    [TestCaseSource(nameof(Slots))]
    public void pciehp_scenarios_break_no_rule(BehaviourProfile profile, SlotKind slot, GicKind gic, bool cc)
    {
        var s = new PciehpScenario(profile, slot, gic, cc);
        var violations = Judge(s);
        s.Run();
        Assert.That(s.Log, Has.Count.GreaterThan(30));
        Assert.That(violations.Select(v => $"{v.Rule.Id}: {v.Evidence}"), Is.Empty);
    }

    [Test]
    public void spec_profile_divergent_steps_break_no_rule()
    {
        var s = new PciehpScenario(BehaviourProfile.Spec, SlotKind.RootPort, GicKind.Its, cc: false);
        var violations = Judge(s);
        s.EnablePortMsi();
        s.WritePortWord(Bench.SltCtl, 0x0020);
        Assert.That(s.HotAddStep(), Is.Empty, "PDCE and DLLSCE clear: no message");
        s.AssertExactlyOneMessage(s.WritePortWord(Bench.SltCtl, 0x1028), "enabling PDCE with PDC pending is the edge");
        s.InterruptLoop(0x0148);
        Assert.That(violations.Select(v => $"{v.Rule.Id}: {v.Evidence}"), Is.Empty);
    }

    [Test]
    public void openvmm_message_with_pdce_and_dllsce_clear_breaks_hp_edge()
    {
        var s = new PciehpScenario(BehaviourProfile.OpenVmm, SlotKind.RootPort, GicKind.Its, cc: false);
        var violations = Judge(s);
        s.EnablePortMsi();
        s.WritePortWord(Bench.SltCtl, 0x0020);
        s.HotAdd();
        Assert.That(violations.Select(v => (v.Rule.Id, v.Port)), Is.EqualTo(new[] { ("HP-EDGE", "rp1") }));
        Assert.That(violations[0].Evidence, Does.Contain("1 message(s) raised; condition 0 -> 0"));
    }

    /// <summary>
    /// Judged only through replay steps: behind a switch downstream port with v2m, a hot-add raises the message
    /// (condition 0 -> 1), then a hot-remove before the guest cleared PDC/DLLSC raises a second one in the openvmm
    /// profile (condition 1 -> 1, HP-EDGE) and none in the spec profile.
    /// </summary>
    [TestCase(BehaviourProfile.OpenVmm, 1, "HP-EDGE")]
    [TestCase(BehaviourProfile.Spec, 0, null)]
    public void second_event_before_clear(BehaviourProfile profile, int messagesOnRemove, string? rule)
    {
        const string trace = """
            seq,op,address,width,value,port,device
            1,write,0x1000000018,4,0x00030100,,
            2,write,0x1000100018,4,0x00030201,,
            3,write,0x1000201018,4,0x00030302,,
            4,write,0x1000201080,4,0xeffe8040,,
            5,write,0x1000201088,2,0x03a0,,
            6,write,0x100020107e,2,0x0001,,
            7,write,0x1000201058,2,0x1028,,
            8,hot-add,,,,sw0-downstream-1,nvme0
            9,hot-remove,,,,sw0-downstream-1,
            """;
        var spec = PcieSim.Topology.Language.TopologyParser.Parse(
            "--pcie-root-complex rc0 --pcie-root-port rc0:rp0 --pcie-switch rp0:sw0,num_downstream_ports=2,hotplug "
            + "--pcie-endpoint nvme0,template=nvme --gic-msi v2m", "edge.topo");
        var session = new PcieSim.Replay.ReplaySession(new PcieModel(spec, new ModelOptions { Profile = profile }), "edge.csv", interruptComplete: false);
        using var reader = new PcieSim.Files.TraceReader(new StringReader(trace), "edge.csv");
        session.UseColumns(reader.Header.Columns);
        var outcomes = new List<PcieSim.Replay.StepOutcome>();
        while (reader.TryRead(out var record))
        {
            outcomes.AddRange(session.Step(record));
        }

        outcomes.AddRange(session.Finish());
        Assert.That(outcomes.Take(7).SelectMany(o => o.Violations), Is.Empty, "bus numbers and MSI set-up");
        Assert.That(outcomes[7].Events.OfType<MessageEvent>().Select(m => m.Delivery.Intid), Is.EqualTo(new uint?[] { 0x3a0 }), "hot-add: the edge");
        Assert.That(outcomes[7].Violations, Is.Empty);
        Assert.That(outcomes[8].Events.OfType<MessageEvent>().Count(), Is.EqualTo(messagesOnRemove));
        Assert.That(outcomes[8].Violations.Select(v => v.Rule.Id), Is.EqualTo(rule is null ? Array.Empty<string>() : new[] { rule }));
        if (rule is not null)
        {
            Assert.That(outcomes[8].Violations[0].Evidence, Does.Contain("1 message(s) raised; condition 1 -> 1"));
        }
    }
}
