using BenchmarkDotNet.Attributes;
using PcieSim.Interrupts;
using PcieSim.Topology;

namespace PcieSim.Benchmarks;

/// <summary>
/// The hot-plug paths of PCIe Base Spec §6.7 on a root port of the 1 × 4 topology, set up the way Linux pciehp leaves
/// it (MSI to the GICv3 ITS enabled; HPIE, PDCE, DLLSCE and CCIE set), openvmm profile: every step raises the port's
/// MSI, resolves its requester ID from the live bus numbers and routes it through the ITS.
/// </summary>
[MemoryDiagnoser]
public class Hotplug
{
    private const int SltCtl = 0x58;
    private const int MsiCtl = 0x7C;

    private PcieModel model = null!;
    private ulong slotAddress;

    [GlobalSetup]
    public void Setup()
    {
        model = BenchTopologies.Enumerated(BenchTopologies.Rc1x4);
        var port = model.FindPort("rp0")!;
        model.HotRemove("rp0");
        ulong msi = BenchTopologies.EcamAddressOf(model, port, MsiCtl);
        model.WriteEcam(msi + 4, 4, 0xEFFD_0040);
        model.WriteEcam(msi + 8, 4, 0);
        model.WriteEcam(msi + 12, 4, 0x21);
        model.WriteEcam(msi, 4, 0x1_0000);
        slotAddress = BenchTopologies.EcamAddressOf(model, port, SltCtl);

        // HPIE | CCIE | PDCE | DLLSCE, and clear whatever is latched.
        model.WriteEcam(slotAddress, 4, 0x011F_1038);
        model.ClearEvents();
        model.WriteEcam(slotAddress, 4, 0x0011_1038);
        bool accepted = false;
        foreach (var e in model.Events)
        {
            accepted |= e is MessageEvent { Delivery.Accepted: true };
        }

        model.ClearEvents();
        if (!accepted)
        {
            throw new InvalidOperationException("the slot command raised no accepted message: set-up is wrong");
        }
    }

    /// <summary>
    /// The interrupt routine's 32-bit write to Slot Control/Status: clears CC (RW1C) and, being a Slot Control
    /// command on a <c>cc</c> slot, completes at once, sets CC again and raises the port's MSI.
    /// </summary>
    [Benchmark]
    public int SlotStatusClear()
    {
        model.WriteEcam(slotAddress, 4, 0x0011_1038);
        int events = model.Events.Count;
        model.ClearEvents();
        return events;
    }

    /// <summary>One hot-add and one hot-remove of an NVMe endpoint (two presence events, two messages).</summary>
    [Benchmark]
    public int HotAdd()
    {
        model.HotAdd("rp0", "spare0");
        model.HotRemove("rp0");
        int events = model.Events.Count;
        model.ClearEvents();
        return events;
    }
}
