using PcieSim.Topology;

namespace PcieSim.Conformance.Hotplug;

/// <summary>
/// Linux pciehp's sequences (anchors 4c) in both profiles × root port | switch downstream port × ITS | v2m × cc.
/// Linux's well-behaved sequence gives the same messages in both profiles: one per hot-add, one per hot-remove,
/// and with cc one for the notification command's Command Completed.
/// </summary>
[TestFixture]
public class PciehpScenarioTests
{
    private static IEnumerable<TestCaseData> Cases()
    {
        foreach (var profile in new[] { BehaviourProfile.OpenVmm, BehaviourProfile.Spec })
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

    [TestCaseSource(nameof(Cases))]
    public void pciehp_probe_add_interrupt_loop_scan_remove(BehaviourProfile profile, SlotKind slot, GicKind gic, bool cc)
    {
        var s = new PciehpScenario(profile, slot, gic, cc);
        s.Run();
        var messageSteps = s.Log.Where(l => l.Messages > 0).Select(l => l.Step).ToArray();
        string[] expected = cc
            ? ["write 58=1038", "hot-add", "hot-remove", "hot-add"]
            : ["hot-add", "hot-remove", "hot-add"];
        Assert.Multiple(() =>
        {
            Assert.That(messageSteps, Is.EqualTo(expected));
            Assert.That(s.Log.Sum(l => l.Messages), Is.EqualTo(expected.Length), "exactly one message per such step");
        });
    }

    [TestCase(BehaviourProfile.OpenVmm)]
    [TestCase(BehaviourProfile.Spec)]
    public void hotplug_event_between_the_probe_clear_and_notification_enable_is_found_by_check_presence(BehaviourProfile profile)
    {
        var s = new PciehpScenario(profile, SlotKind.RootPort, GicKind.Its, cc: false);
        s.EnablePortMsi();
        Assert.That(s.WritePortWord(Bench.SltSta, 0x011F), Is.Empty);
        s.Model.ClearEvents();
        s.Model.HotAdd(s.Port.Name, "nvme0");
        Assert.That(s.Bench.Messages, Is.Empty, "HPIE still clear");
        var raised = s.WritePortWord(Bench.SltCtl, 0x1028);
        if (profile == BehaviourProfile.Spec)
        {
            s.AssertExactlyOneMessage(raised, "enabling notifications with PDC pending is an edge");
        }
        else
        {
            Assert.That(raised, Is.Empty, "openvmm fires only on events");
        }

        Assert.That(s.ReadPort(Bench.SltSta, 2), Is.EqualTo(0x0148u), "pciehp_check_presence sees PDS");
    }
}
