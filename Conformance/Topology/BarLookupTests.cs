using System.Globalization;
using PcieSim.Conformance.TestSupport;
using PcieSim.Functions;
using PcieSim.Generation;
using PcieSim.Topology;

namespace PcieSim.Conformance.Topology;

/// <summary>
/// Memory requests to BARs: the model's sorted BAR table (rebuilt when BARs, Memory Space Enable, resets or
/// hot-plug change) must claim every address exactly as a scan of every endpoint and BAR in topology order does,
/// including while a guest has BARs overlapping or left at 0.
/// </summary>
public class BarLookupTests
{
    private const string Topology =
        "--pcie-root-complex rc0 --pcie-root-port rc0:rp0,hotplug --pcie-root-port rc0:rp1,hotplug --pcie-root-port rc0:rp2,hotplug"
        + " --pcie-endpoint rp0:ep0,template=generic,bar0=16K,bar2=1M,msix=8@bar4 --pcie-endpoint rp1:ep1,template=nvme"
        + " --pcie-endpoint rp2:ep2,template=generic,bar0=4K,bar4=8G --pcie-endpoint spare,template=generic,bar2=64K";

    private static void AssertLookupMatchesScan(PcieModel model, List<ulong> probes, string when)
    {
        foreach (ulong address in probes)
        {
            bool found = model.TryFindBar(address, out var endpoint, out int bar, out ulong offset);
            bool expected = model.TryFindBarByScan(address, out var expectedEndpoint, out int expectedBar, out ulong expectedOffset);
            if (found != expected || !ReferenceEquals(endpoint, expectedEndpoint) || bar != expectedBar || offset != expectedOffset)
            {
                Assert.Fail(string.Create(CultureInfo.InvariantCulture,
                    $"{when}: 0x{address:x}: table {endpoint?.Name ?? "-"} BAR{bar}+0x{offset:x}, scan {expectedEndpoint?.Name ?? "-"} BAR{expectedBar}+0x{expectedOffset:x}"));
            }
        }
    }

    private static List<ulong> Probes(PcieModel model, ref SplitMix64 random)
    {
        var probes = new List<ulong> { 0, 1, ulong.MaxValue };
        foreach (var endpoint in model.Endpoints)
        {
            for (int bar = 0; bar < 6; bar += 2)
            {
                ulong start = endpoint.BarBase(bar);
                ulong size = Math.Max(endpoint.BarSize(bar), 1);
                probes.AddRange([start, start - 1, start + size - 1, start + size, start + (random.Next() % size)]);
            }
        }

        return probes;
    }

    [Test]
    public void bar_table_claims_what_the_scan_claims_through_random_programming()
    {
        var model = Topo.Build(Topology);
        var random = new SplitMix64(99);
        for (int step = 0; step < 600; step++)
        {
            var endpoint = model.Endpoints[(int)random.Below((uint)model.Endpoints.Count)];
            string what;
            switch (random.Below(8))
            {
                case < 3:
                {
                    // A BAR pair programmed somewhere in a small window, so that BARs often overlap or coincide.
                    int bar = 2 * (int)random.Below(3);
                    ulong address = (random.Next() % 0x40) << 14;
                    endpoint.Write(0x10 + (bar * 4), 4, (uint)address);
                    endpoint.Write(0x14 + (bar * 4), 4, random.Chance(1, 4) ? 1u : 0u);
                    what = string.Create(CultureInfo.InvariantCulture, $"{endpoint.Name} BAR{bar} = 0x{address:x}");
                    break;
                }

                case < 5:
                {
                    uint command = random.Chance(2, 3) ? 0x6u : 0x4u;
                    endpoint.Write(0x04, 2, command);
                    what = string.Create(CultureInfo.InvariantCulture, $"{endpoint.Name} Command 0x{command:x}");
                    break;
                }

                case 5:
                {
                    var port = model.FindPort("rp" + random.Below(3).ToString(CultureInfo.InvariantCulture))!;
                    if (port.Child is Endpoint plugged)
                    {
                        model.HotRemove(port.Name);
                        what = $"hot-remove {plugged.Name}";
                    }
                    else
                    {
                        var spare = model.Endpoints.First(e => e.Port is null);
                        model.HotAdd(port.Name, spare.Name);
                        what = $"hot-add {spare.Name}";
                    }

                    break;
                }

                case 6:
                    endpoint.Write(endpoint.Pcie.Offset + 0x08, 2, 0x8000);
                    what = $"{endpoint.Name} function level reset";
                    break;
                default:
                    if (random.Chance(1, 4))
                    {
                        model.Reset();
                        what = "reset";
                    }
                    else
                    {
                        what = "nothing";
                    }

                    break;
            }

            AssertLookupMatchesScan(model, Probes(model, ref random), $"step {step} ({what})");
        }
    }

    [Test]
    public void bar_table_claims_what_the_scan_claims_with_disjoint_bars_in_changing_order()
    {
        // Every BAR pair in a 16 GiB slot of its own (the largest BAR is 8 GiB), two of them swapping slots at each step:
        // the table never overlaps, so it alone answers, and one endpoint's entries move among the others'.
        var model = Topo.Build(Topology);
        var bars = model.Endpoints.SelectMany(e => new[] { 0, 2, 4 }.Select(b => (Endpoint: e, Bar: b))).ToArray();
        var slots = Enumerable.Range(1, bars.Length).Select(s => (ulong)s << 34).ToArray();
        for (int i = 0; i < bars.Length; i++)
        {
            Program(bars[i], slots[i]);
        }

        var random = new SplitMix64(7);
        for (int step = 0; step < 400; step++)
        {
            int a = (int)random.Below((uint)bars.Length);
            int b = (int)random.Below((uint)bars.Length);
            (slots[a], slots[b]) = (slots[b], slots[a]);
            Program(bars[a], slots[a]);
            Program(bars[b], slots[b]);
            string what = $"{bars[a].Endpoint.Name} BAR{bars[a].Bar} and {bars[b].Endpoint.Name} BAR{bars[b].Bar} swapped";
            if (random.Chance(1, 8))
            {
                var port = model.FindPort("rp" + random.Below(3).ToString(CultureInfo.InvariantCulture))!;
                if (port.Child is Endpoint plugged)
                {
                    model.HotRemove(port.Name);
                    what += $", hot-remove {plugged.Name}";
                }
                else
                {
                    var spare = model.Endpoints.First(e => e.Port is null);
                    model.HotAdd(port.Name, spare.Name);
                    spare.Write(0x04, 2, 0x6);
                    what += $", hot-add {spare.Name}";
                }
            }

            AssertLookupMatchesScan(model, Probes(model, ref random), $"step {step} ({what})");
        }

        // As a guest moves a BAR: Memory Space Enable cleared (OpenVMM takes BAR writes only then), the pair written, MEM set.
        static void Program((Endpoint Endpoint, int Bar) pair, ulong address)
        {
            pair.Endpoint.Write(0x04, 2, 0x4);
            pair.Endpoint.Write(0x10 + (pair.Bar * 4), 4, (uint)address);
            pair.Endpoint.Write(0x14 + (pair.Bar * 4), 4, (uint)(address >> 32));
            pair.Endpoint.Write(0x04, 2, 0x6);
        }
    }

    [Test]
    public void a_bar_moves_and_memory_space_enable_gates_it_at_once()
    {
        var model = Topo.Build(Topology);
        var ep2 = model.FindEndpoint("ep2")!;
        ep2.Write(0x24, 4, 0x10);
        Assert.That(ep2.BarBase(4), Is.EqualTo(0x10_0000_0000UL), "the 8 GiB BAR out of the way, at 64 GiB");
        ep2.Write(0x10, 4, 0x8000_0000);
        ep2.Write(0x04, 2, 0x2);
        Assert.That(model.TryFindBar(0x8000_0010, out var hit, out int bar, out ulong offset) && (hit, bar, offset) == (ep2, 0, 0x10), Is.True);

        ep2.Write(0x04, 2, 0);
        ep2.Write(0x10, 4, 0x9000_0000);
        Assert.That(model.TryFindBar(0x8000_0010, out _, out _, out _), Is.False, "Memory Space Enable clear");
        ep2.Write(0x04, 2, 0x2);
        Assert.That(model.TryFindBar(0x8000_0010, out _, out _, out _), Is.False, "old base");
        Assert.That(model.TryFindBar(0x9000_0fff, out hit, out _, out offset) && hit == ep2 && offset == 0xfff, Is.True, "new base");
        Assert.That(model.TryFindBar(0x9000_1000, out _, out _, out _), Is.False, "past the 4 KiB BAR");

        model.HotRemove("rp2");
        Assert.That(model.TryFindBar(0x9000_0000, out _, out _, out _), Is.False, "unplugged");
    }
}
