using System.Globalization;
using PcieSim.AddressDecode;
using PcieSim.Conformance.TestSupport;
using PcieSim.Functions;
using PcieSim.Generation;
using PcieSim.Topology;
using PcieSim.Topology.Language;

namespace PcieSim.Conformance.Topology;

/// <summary>
/// The routing cache (one <see cref="RoutingTable"/> per root complex, rebuilt when routing changes) against the
/// definition, the walk from the root complex: after bus-number programming of every kind (proper, overlapping,
/// inverted, unprogrammed), ARI changes, hot-add, hot-remove and reset, every (bus, devfn) routes to the same
/// function, with the same failure and the same stopping point. And the ECAM map against a scan of the windows.
/// </summary>
public class RoutingTableTests
{
    /// <summary>Two root complexes; switches two levels deep; hot-plug ports; an IOMMU; spares to hot-add.</summary>
    private const string Topology =
        "--pcie-root-complex rc0,end_bus=63 --amd-iommu rc0 --pcie-root-port rc0:rp0,hotplug --pcie-root-port rc0:rp1,hotplug --pcie-root-port rc0:rp2"
        + " --pcie-switch rp0:sw0,num_downstream_ports=3,hotplug --pcie-switch sw0-downstream-2:sw1,num_downstream_ports=2,hotplug"
        + " --pcie-endpoint sw0-downstream-0:nvme0,template=nvme --pcie-endpoint sw1-downstream-1:ep1,template=generic,msi=1"
        + " --pcie-endpoint rp1:ep2,template=generic"
        + " --pcie-root-complex rc1,start_bus=64,end_bus=127 --pcie-root-port rc1:rpa,hotplug --pcie-root-port rc1:rpb"
        + " --pcie-switch rpb:sw2,num_downstream_ports=2,hotplug --pcie-endpoint rpa:ep3,template=nvme"
        + " --pcie-endpoint spare0,template=nvme --pcie-endpoint spare1,template=generic";

    private static readonly byte[] Devfns = [0, 1, 2, 7, 8, 9, 0x10, 0x11, 0xF8, 0xFF];

    /// <summary>Fails at the first (root complex, bus, devfn) where the cache and the walk disagree.</summary>
    private static void AssertCacheMatchesWalk(PcieModel model, string when)
    {
        foreach (var rc in model.RootComplexes)
        {
            for (int bus = 0; bus < 256; bus++)
            {
                foreach (byte devfn in Devfns)
                {
                    var cached = model.Route(rc, (byte)bus, devfn, out var cachedFailure, out var cachedStop);
                    var walked = PcieModel.RouteByWalk(rc, (byte)bus, devfn, out var walkedFailure, out var walkedStop);
                    if (!ReferenceEquals(cached, walked) || cachedFailure != walkedFailure || (walked is null && !ReferenceEquals(cachedStop, walkedStop)))
                    {
                        Assert.Fail(string.Create(CultureInfo.InvariantCulture,
                            $"{when}: {rc.Name} bus {bus:x2} devfn {devfn:x2}: cache {cached?.Name ?? "-"} {cachedFailure} at {cachedStop?.Name ?? "-"}, walk {walked?.Name ?? "-"} {walkedFailure} at {walkedStop?.Name ?? "-"}"));
                    }
                }
            }
        }
    }

    private static (RootComplex Rc, byte Bus, byte Devfn) Locate(PcieModel model, PcieFunction function)
    {
        var numbering = new BusNumbering(model);
        byte bus = numbering.BusOf(function) ?? throw new ArgumentException(function.Name);
        byte devfn = function is DownstreamPort port ? port.Devfn : (byte)0;
        for (PcieFunction? f = function; f is not null; f = RoutePath.Upstream(f))
        {
            if (f is RootPort rp)
            {
                return (rp.RootComplex, bus, devfn);
            }
        }

        return (model.RootComplexes[0], bus, devfn);
    }

    /// <summary>Programs every bridge as first enumeration does (parents first).</summary>
    private static void Enumerate(PcieModel model)
    {
        var numbering = new BusNumbering(model);
        foreach (var function in model.Functions)
        {
            if (function is BridgeFunction bridge && numbering.RangeOf(bridge) is { } range)
            {
                var (rc, bus, devfn) = Locate(model, bridge);
                var result = model.Write(rc, bus, devfn, 0x18, 4, bus | ((uint)range.Secondary << 8) | ((uint)range.Subordinate << 16));
                Assert.That(result.Completed, Is.True, bridge.Name);
            }
        }
    }

    private static List<BridgeFunction> Bridges(PcieModel model) => [.. model.Functions.OfType<BridgeFunction>()];

    [Test]
    public void cache_matches_the_walk_in_the_reset_state_and_after_enumeration()
    {
        var model = Topo.Build(Topology);
        AssertCacheMatchesWalk(model, "reset state");
        Enumerate(model);
        AssertCacheMatchesWalk(model, "after enumeration");
    }

    [Test]
    public void cache_matches_the_walk_through_random_reprogramming_ari_hotplug_and_reset()
    {
        var model = Topo.Build(Topology);
        var random = new SplitMix64(2024);
        Enumerate(model);
        for (int step = 0; step < 400; step++)
        {
            AssertCacheMatchesWalk(model, RandomChange(model, random, step));
        }
    }

    /// <summary>
    /// Several changes between two lookups: a hot-add or hot-remove refills only its port's buses, and such patches
    /// pile up until the next lookup, or give way to a whole rebuild when bus numbers, ARI or a reset come between.
    /// </summary>
    [Test]
    public void cache_matches_the_walk_through_bursts_of_changes_between_lookups()
    {
        var model = Topo.Build(Topology);
        var random = new SplitMix64(4242);
        Enumerate(model);
        for (int step = 0; step < 300; step++)
        {
            var changes = new List<string>();
            for (int n = 1 + (int)random.Below(4); n > 0; n--)
            {
                changes.Add(random.Chance(2, 3) ? RandomHotplug(model, random, step) : RandomChange(model, random, step));
            }

            AssertCacheMatchesWalk(model, string.Join("; ", changes));
        }
    }

    /// <summary>
    /// The replay's route texts, kept per function and root complex and checked again when that root complex's routing changes, against
    /// texts made afresh: through the same random changes in both root complexes (a change in one leaves the other's
    /// texts kept), every (bus, devfn) of both gets the text its route has now.
    /// </summary>
    [Test]
    public void kept_route_texts_match_fresh_ones_through_random_changes_in_two_root_complexes()
    {
        var model = Topo.Build(Topology);
        var random = new SplitMix64(77);
        var kept = new RouteDescriptions();
        Enumerate(model);
        for (int step = 0; step < 300; step++)
        {
            string what = RandomChange(model, random, step);
            foreach (var rc in model.RootComplexes)
            {
                for (int bus = rc.StartBus; bus <= rc.EndBus; bus++)
                {
                    foreach (byte devfn in Devfns)
                    {
                        var result = model.Read(rc, (byte)bus, devfn, 0, 4);
                        string text = kept.Describe(result, result.RootComplex?.RoutingGeneration ?? model.RoutingGeneration).Full;
                        if (text != RoutePath.Describe(result))
                        {
                            Assert.Fail(string.Create(CultureInfo.InvariantCulture, $"{what}: {rc.Name} bus {bus:x2} devfn {devfn:x2}: kept '{text}', now '{RoutePath.Describe(result)}'"));
                        }
                    }
                }
            }
        }
    }

    /// <summary>An endpoint moved to another port of the same root complex is described where it is now.</summary>
    [Test]
    public void a_moved_endpoint_gets_the_route_text_of_its_new_port()
    {
        var model = Topo.Build(Topology);
        Enumerate(model);
        var kept = new RouteDescriptions();
        var rc = model.RootComplexes[0];
        string Text(string port)
        {
            var result = model.Read(rc, model.FindPort(port)!.SecondaryBus, 0, 0, 4);
            return kept.Describe(result, result.RootComplex!.RoutingGeneration).Full;
        }

        Assert.That(Text("sw1-downstream-1"), Does.EndWith("sw1-downstream-1 (T1) > ep1 (T0)"));
        model.HotRemove("sw1-downstream-1");
        model.HotAdd("sw0-downstream-1", "ep1");
        Assert.That(Text("sw0-downstream-1"), Does.EndWith("sw0-downstream-1 (T1) > ep1 (T0)"));
    }

    /// <summary>Hot-removes what a random hot-plug slot holds, or hot-adds a spare to it.</summary>
    private static string RandomHotplug(PcieModel model, SplitMix64 random, int step)
    {
        var slots = model.Ports.Where(p => p.HotplugCapable).ToList();
        var port = slots[(int)random.Below((uint)slots.Count)];
        if (port.Child is Endpoint plugged)
        {
            model.HotRemove(port.Name);
            return $"step {step}: hot-remove {plugged.Name} from {port.Name}";
        }

        if (port.Child is null && model.Endpoints.FirstOrDefault(e => e.Port is null) is { } spare)
        {
            model.HotAdd(port.Name, spare.Name);
            return $"step {step}: hot-add {spare.Name} to {port.Name}";
        }

        return $"step {step}: nothing on {port.Name}";
    }

    /// <summary>One random routing change: bus numbers, ARI, a hot-add or hot-remove, an enumeration or a reset.</summary>
    private static string RandomChange(PcieModel model, SplitMix64 random, int step)
    {
        var bridges = Bridges(model);
        string what;
        switch (random.Below(10))
        {
            case < 5:
            {
                // Any bus numbers at all, written straight into the bridge: proper, overlapping, inverted, 0..0.
                var bridge = bridges[(int)random.Below((uint)bridges.Count)];
                uint secondary = random.Below(128);
                uint subordinate = random.Chance(1, 4) ? secondary : random.Chance(1, 5) ? 0 : random.Below(128);
                bridge.Write(0x18, 4, (subordinate << 16) | (secondary << 8));
                what = string.Create(CultureInfo.InvariantCulture, $"step {step}: {bridge.Name} buses {secondary:x2}-{subordinate:x2}");
                break;
            }

            case 5:
            {
                var port = model.Ports[(int)random.Below((uint)model.Ports.Count)];
                uint ari = random.Chance(1, 2) ? BridgeFunction.AriForwardingEnableBit : 0;
                port.Write(port.Pcie.Offset + 0x28, 2, ari);
                what = string.Create(CultureInfo.InvariantCulture, $"step {step}: {port.Name} ARI {ari}");
                break;
            }

            case 6:
            case 7:
                what = RandomHotplug(model, random, step);
                break;

            case 8:
                Enumerate(model);
                what = $"step {step}: enumeration";
                break;
            default:
                model.Reset();
                what = $"step {step}: reset";
                break;
        }

        return what;
    }

    [Test]
    public void reprogrammed_bus_numbers_move_the_function_at_once()
    {
        var model = Topo.Build(Topology);
        Enumerate(model);
        var rc = model.RootComplexes[0];
        var rp1 = model.FindPort("rp1")!;
        byte old = rp1.SecondaryBus;
        Assert.That(model.Read(rc, old, 0, 0, 4).Function, Is.SameAs(model.FindEndpoint("ep2")));

        model.Write(rc, 0, rp1.Devfn, 0x18, 4, 0x0030_3000);
        Assert.Multiple(() =>
        {
            Assert.That(model.Read(rc, 0x30, 0, 0, 4).Function, Is.SameAs(model.FindEndpoint("ep2")), "new bus");
            Assert.That(model.Read(rc, old, 0, 0, 4).Failure, Is.EqualTo(RouteFailure.BusNotClaimed), "old bus");
        });

        // Inverted range (secondary above subordinate): unprogrammed, nothing below is reachable.
        model.Write(rc, 0, rp1.Devfn, 0x18, 4, 0x0020_3000);
        Assert.That(model.Read(rc, 0x30, 0, 0, 4).Failure, Is.EqualTo(RouteFailure.BusNotClaimed));
    }

    [Test]
    public void hot_remove_and_hot_add_change_routing_at_once()
    {
        var model = Topo.Build(Topology);
        Enumerate(model);
        var rc = model.RootComplexes[1];
        var rpa = model.FindPort("rpa")!;
        byte bus = rpa.SecondaryBus;
        Assert.That(model.Read(rc, bus, 0, 0, 4).Function, Is.SameAs(model.FindEndpoint("ep3")));

        model.HotRemove("rpa");
        var empty = model.Read(rc, bus, 0, 0, 4);
        Assert.That((empty.Failure, empty.StoppedAt, empty.Value), Is.EqualTo((RouteFailure.PortEmpty, (PcieFunction?)rpa, 0xFFFF_FFFFUL)));

        model.HotAdd("rpa", "spare1");
        Assert.That(model.Read(rc, bus, 0, 0, 4).Function, Is.SameAs(model.FindEndpoint("spare1")));
    }

    [Test]
    public void reset_unprograms_every_bus_then_enumeration_routes_again()
    {
        var model = Topo.Build(Topology);
        Enumerate(model);
        var rc = model.RootComplexes[0];
        var (_, bus, _) = Locate(model, model.FindEndpoint("ep1")!);
        Assert.That(model.Read(rc, bus, 0, 0, 4).Function, Is.SameAs(model.FindEndpoint("ep1")));

        model.Reset();
        Assert.That(model.Read(rc, bus, 0, 0, 4).Failure, Is.EqualTo(RouteFailure.BusNotClaimed));

        Enumerate(model);
        Assert.That(model.Read(rc, bus, 0, 0, 4).Function, Is.SameAs(model.FindEndpoint("ep1")));
    }

    [Test]
    public void ari_forwarding_enable_changes_routing_of_devices_other_than_0()
    {
        var model = Topo.Build(Topology);
        Enumerate(model);
        var rc = model.RootComplexes[0];
        var rp1 = model.FindPort("rp1")!;
        byte bus = rp1.SecondaryBus;
        Assert.That(model.Read(rc, bus, 0x08, 0, 4).Failure, Is.EqualTo(RouteFailure.DeviceNotZeroWithoutAri));

        model.Write(rc, 0, rp1.Devfn, rp1.Pcie.Offset + 0x28, 2, 0x20);
        var read = model.Read(rc, bus, 0x08, 0, 4);
        Assert.That((read.Failure, read.StoppedAt), Is.EqualTo((RouteFailure.EndpointFunctionNotImplemented, (PcieFunction?)model.FindEndpoint("ep2"))));

        model.Write(rc, 0, rp1.Devfn, rp1.Pcie.Offset + 0x28, 2, 0);
        Assert.That(model.Read(rc, bus, 0x08, 0, 4).Failure, Is.EqualTo(RouteFailure.DeviceNotZeroWithoutAri));
    }

    [Test]
    public void routing_generation_moves_only_when_bus_numbers_ari_or_links_change()
    {
        var model = Topo.Build(Topology);
        Enumerate(model);
        var rc = model.RootComplexes[0];
        var rp1 = model.FindPort("rp1")!;
        uint busNumbers = rp1.ReadDword(0x18);
        long generation = model.RoutingGeneration;

        model.Write(rc, 0, rp1.Devfn, 0x18, 4, busNumbers);
        Assert.That(model.RoutingGeneration, Is.EqualTo(generation), "same bus numbers rewritten");
        model.Write(rc, 0, rp1.Devfn, rp1.Pcie.Offset + 0x28, 2, 0x0010);
        Assert.That(model.RoutingGeneration, Is.EqualTo(generation), "another Device Control 2 bit");
        model.Write(rc, 0, rp1.Devfn, 0x20, 4, 0xFFF0_0000);
        Assert.That(model.RoutingGeneration, Is.EqualTo(generation), "memory window");

        model.Write(rc, 0, rp1.Devfn, 0x1A, 1, (uint)rp1.SubordinateBus + 1);
        Assert.That(model.RoutingGeneration, Is.GreaterThan(generation), "subordinate bus changed");
        generation = model.RoutingGeneration;
        model.Write(rc, 0, rp1.Devfn, rp1.Pcie.Offset + 0x28, 2, 0x0030);
        Assert.That(model.RoutingGeneration, Is.GreaterThan(generation), "ARI Forwarding Enable set");
        generation = model.RoutingGeneration;
        model.HotRemove("rp1");
        Assert.That(model.RoutingGeneration, Is.GreaterThan(generation), "hot-remove");
        generation = model.RoutingGeneration;
        model.Reset();
        Assert.That(model.RoutingGeneration, Is.GreaterThan(generation), "reset");
    }

    [Test]
    public void routed_access_allocates_nothing_once_the_table_is_built()
    {
        var model = Topo.Build(Topology);
        Enumerate(model);
        var rc = model.RootComplexes[0];
        var (_, bus, _) = Locate(model, model.FindEndpoint("ep1")!);
        ulong address = rc.Window.AddressOf(bus, 0, 0);
        model.ReadEcam(address, 4);
        model.WriteEcam(address + 0x3C, 1, 5);
        long before = GC.GetAllocatedBytesForCurrentThread();
        ulong sum = 0;
        for (int i = 0; i < 1000; i++)
        {
            sum += model.ReadEcam(address, 4).Value;
            sum += model.WriteEcam(address + 0x3C, 1, (uint)i & 0xFF).After;
        }

        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
        Assert.That(sum, Is.Not.Zero);
    }

    // ----- ECAM map -------------------------------------------------------------------------------------------

    private static RootComplex? Scan(PcieModel model, ulong address, out EcamAddress decoded)
    {
        foreach (var rc in model.RootComplexes.OrderBy(r => r.Window.Base))
        {
            if (rc.Window.TryDecode(address, out decoded))
            {
                return rc;
            }
        }

        decoded = default;
        return null;
    }

    private static void AssertDecodeMatchesScan(PcieModel model)
    {
        var probes = new List<ulong> { 0, ulong.MaxValue, 0x0F_FFFF_FFFF, 0x10_0000_0000 };
        foreach (var rc in model.RootComplexes)
        {
            var w = rc.Window;
            probes.AddRange([w.Base - 1, w.Base, w.Base + 0xFFF, w.Base + 0x1000, w.Base + 0xF_FFFF, w.Base + 0x10_0000, w.Base + w.Size - 1, w.Base + w.Size, w.Base + w.Size + 0x10_0000]);
        }

        var random = new SplitMix64(77);
        for (int i = 0; i < 2000; i++)
        {
            var w = model.RootComplexes[(int)random.Below((uint)model.RootComplexes.Count)].Window;
            probes.Add(w.Base - (w.Size / 2) + (random.Next() % (w.Size * 2)));
        }

        foreach (ulong address in probes)
        {
            var expected = Scan(model, address, out var expectedDecoded);
            bool found = model.TryDecodeEcam(address, out var rc, out var decoded);
            Assert.That((found, rc, decoded), Is.EqualTo((expected is not null, expected, expectedDecoded)), string.Create(CultureInfo.InvariantCulture, $"address 0x{address:x}"));
            Assert.That(model.FindRootComplex(address), Is.SameAs(expected));
        }
    }

    [TestCase("--pcie-root-complex rc0", TestName = "ecam_decode_one_window")]
    [TestCase("--pcie-root-complex a,end_bus=63 --pcie-root-complex b,start_bus=64,end_bus=127 --pcie-root-complex c,start_bus=128,end_bus=191 --pcie-root-complex d,start_bus=192", TestName = "ecam_decode_four_contiguous_windows")]
    [TestCase("--pcie-root-complex a --pcie-root-complex b,segment=1,start_bus=0x80,end_bus=0x8f --pcie-root-complex c,segment=3,ecam_base=0x40000000", TestName = "ecam_decode_segments_and_explicit_base")]
    [TestCase("--pcie-root-complex a --pcie-root-complex b,segment=40", TestName = "ecam_decode_windows_160_gib_apart_search_fallback")]
    public void ecam_decode_matches_a_scan_of_the_windows(string flags) => AssertDecodeMatchesScan(Topo.Build(flags));

    /// <summary>
    /// Windows the topology language refuses (a spec built by hand): overlapping, and not 1 MiB aligned. The first
    /// window in base order that holds an address claims it, through the MiB table and through the fallback scan.
    /// </summary>
    [TestCase(0x10_0800_0000UL, TestName = "ecam_decode_overlapping_windows_first_in_base_order")]
    [TestCase(0x10_0800_0800UL, TestName = "ecam_decode_unaligned_overlapping_windows_first_in_base_order")]
    public void ecam_decode_of_hand_built_windows(ulong secondBase)
    {
        var spec = TopologyParser.Parse("--pcie-root-complex a --pcie-root-complex b,segment=1,end_bus=15 --pcie-root-complex c,segment=2,end_bus=3", "test");
        var rcs = spec.RootComplexes;
        var model = new PcieModel(spec with
        {
            RootComplexes = [rcs[0], rcs[1] with { EcamBase = secondBase }, rcs[2] with { EcamBase = secondBase + 0x40_0000 }],
        });
        Assert.That(model.TryDecodeEcam(secondBase + 0x1000, out var rc, out _) && rc.Name == "a", Is.True, "a starts first and holds it");
        AssertDecodeMatchesScan(model);
    }
}
