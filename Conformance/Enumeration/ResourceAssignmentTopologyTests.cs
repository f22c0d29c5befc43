using PcieSim.Conformance.TestSupport;
using PcieSim.Enumeration;
using PcieSim.Functions;
using PcieSim.Topology;

namespace PcieSim.Conformance.Enumeration;

// OpenVMM's vm/devices/pci/pci_resource_assignment/src/tests.rs, mirrored by name on models built from our
// topology language and enumerated through the model's own configuration accesses. Adaptations, forced by what
// OpenVMM's emulated devices are: every endpoint sits below a root port or a switch downstream port, and every BAR
// is a 64-bit prefetchable pair (OpenVMM's DeviceBars), so it goes to the high aperture and the prefetchable window,
// and the non-prefetchable window stays disabled. The "mem32" half of a scenario is therefore checked on the
// prefetchable window, or on the low aperture when high_mmio=0 (OpenVMM then falls back to low_mmio).
//
// Not expressible in our topology, mirrored on OpenVMM's mock configuration space in ResourceAssignmentMockTests:
// single_endpoint_32bit_bar, multi_function_device with two endpoint functions, mem32_bar_must_not_be_placed_above_4gb,
// shared_aperture_mem32_mem64_must_not_overlap (no 32-bit or non-prefetchable BARs), bus_wrap_to_zero_must_return_exhaustion
// and every sriov_* test (no SR-IOV capability), preserve_bars_false_ignores_preprogrammed (our BARs read 0 after
// every reset). Not mirrored anywhere: the pinned-BAR and gap-allocator tests (single_pinned_bar, two_pinned_bars_*,
// mixed_pinned_and_dynamic_bars, pinned_bar_*, bridge_window_from_pinned_and_dynamic,
// preserve_bars_no_pins_identical_to_dynamic, pinned_sibling_bridge_windows_do_not_overlap,
// gap_allocator_uses_space_*, sizing_accounts_for_gap_*, sizing_underestimate_constrained_base_misaligned,
// constrained_base_before_aperture_returns_error): preserve_bars is not modelled, since after every reset our BARs
// read 0 and OpenVMM would find nothing to pin. ari_enabled_for_siov_device: the Scalable IOV capability is not modelled.

/// <summary>OpenVMM's pre-boot resource assignment on topologies (reference 11.1 item 20, 10.7).</summary>
[TestFixture]
public sealed class ResourceAssignmentTopologyTests
{
    private const ulong HighBase = MmioApertures.DefaultHighBase;

    private static (PcieModel Model, EnumerationResult Result) Enumerate(string flags)
    {
        var model = Topo.Build(flags);
        var result = VmmEnumerator.Run(model);
        return (model, result);
    }

    private static (PcieModel Model, EnumerationResult Result) EnumerateOk(string flags)
    {
        var (model, result) = Enumerate(flags);
        Assert.That(result.Error, Is.Null, "enumeration failed");
        Assert.That(EnumerationInvariants.Check(model), Is.Empty, "enumeration invariants");
        return (model, result);
    }

    private static AddressWindow? MemoryWindow(BridgeFunction bridge)
    {
        uint dword = bridge.ReadDword(0x20);
        ulong low = (ulong)(dword & 0xFFF0) << 16, high = ((ulong)((dword >> 16) & 0xFFF0) << 16) | 0xF_FFFF;
        return low <= high ? new AddressWindow(low, high) : null;
    }

    private static AddressWindow? PrefetchableWindow(BridgeFunction bridge)
    {
        uint dword = bridge.ReadDword(0x24);
        ulong low = ((ulong)(dword & 0xFFF0) << 16) | ((ulong)bridge.ReadDword(0x28) << 32);
        ulong high = ((ulong)((dword >> 16) & 0xFFF0) << 16) | 0xF_FFFF | ((ulong)bridge.ReadDword(0x2C) << 32);
        return low <= high ? new AddressWindow(low, high) : null;
    }

    [Test]
    public void single_endpoint_64bit_bar()
    {
        var (model, _) = EnumerateOk("--pcie-root-complex rc0 --pcie-root-port rc0:rp0 --pcie-endpoint rp0:ep0,template=generic,bar0=1M");
        var ep = model.FindEndpoint("ep0")!;
        Assert.Multiple(() =>
        {
            Assert.That(ep.BarBase(0), Is.EqualTo(HighBase), "at the high aperture's base");
            Assert.That(ep.ReadDword(0x10), Is.EqualTo(0x0000_000Cu), "low DWORD: address bits 0, 64-bit prefetchable");
            Assert.That(ep.ReadDword(0x14), Is.EqualTo((uint)(HighBase >> 32)), "upper DWORD written too");
        });
    }

    [Test]
    public void single_endpoint_bar_falls_back_to_low_mmio_without_high_aperture()
    {
        // OpenVMM's single_endpoint_32bit_bar asks for the BAR at the low base; ours are 64-bit prefetchable, which
        // OpenVMM places in low_mmio only when there is no high aperture.
        var (model, _) = EnumerateOk("--pcie-root-complex rc0,high_mmio=0 --pcie-root-port rc0:rp0 --pcie-endpoint rp0:ep0,template=generic,bar0=64K");
        Assert.That(model.FindEndpoint("ep0")!.BarBase(0), Is.EqualTo(MmioApertures.DefaultLowBase));
    }

    [Test]
    public void bridge_with_endpoint()
    {
        var (model, _) = EnumerateOk("--pcie-root-complex rc0 --pcie-root-port rc0:rp0 --pcie-endpoint rp0:ep0,template=generic,bar0=64K");
        var rp = model.FindPort("rp0")!;
        var window = PrefetchableWindow(rp);
        ulong bar = model.FindEndpoint("ep0")!.BarBase(0);
        Assert.Multiple(() =>
        {
            Assert.That((rp.SecondaryBus, rp.SubordinateBus), Is.EqualTo(((byte)1, (byte)1)));
            Assert.That(window, Is.Not.Null, "the bridge has a (prefetchable) window");
            Assert.That(window!.Value.Contains(bar, 0x10000), Is.True, "the BAR lies in it");
            Assert.That(bar, Is.GreaterThanOrEqualTo(HighBase));
        });
    }

    [Test]
    public void multiple_endpoints_sorted_by_size()
    {
        // Two BARs on one level, the small one first in index order: the 1 MiB BAR is placed first.
        var (model, _) = EnumerateOk("--pcie-root-complex rc0 --pcie-root-port rc0:rp0 --pcie-endpoint rp0:ep0,template=generic,bar0=4K,bar2=1M");
        var ep = model.FindEndpoint("ep0")!;
        Assert.Multiple(() =>
        {
            Assert.That(ep.BarBase(2), Is.EqualTo(HighBase));
            Assert.That(ep.BarBase(0), Is.EqualTo(HighBase + 0x10_0000));
        });
    }

    [Test]
    public void multi_function_device()
    {
        // Two root ports as functions 0 and 1 of device 1: the multi-function bit makes the scan find function 1.
        var (model, result) = EnumerateOk("--pcie-root-complex rc0 --pcie-root-port rc0:rp0,addr=1.0 --pcie-root-port rc0:rp1,addr=1.1");
        var rp0 = model.FindPort("rp0")!;
        var rp1 = model.FindPort("rp1")!;
        Assert.Multiple(() =>
        {
            Assert.That(result.RootComplexes[0].Functions.Select(f => f.Target?.Name), Is.EqualTo(new[] { "rp0", "rp1" }));
            Assert.That((rp0.SecondaryBus, rp0.SubordinateBus), Is.EqualTo(((byte)1, (byte)1)));
            Assert.That((rp1.SecondaryBus, rp1.SubordinateBus), Is.EqualTo(((byte)2, (byte)2)));
        });
    }

    [Test]
    public void switch_with_multiple_endpoints()
    {
        var (model, _) = EnumerateOk(
            "--pcie-root-complex rc0 --pcie-root-port rc0:rp0 --pcie-switch rp0:sw0,num_downstream_ports=2 "
            + "--pcie-endpoint sw0-downstream-0:ep0,template=generic,bar0=64K --pcie-endpoint sw0-downstream-1:ep1,template=generic,bar0=64K");
        var rp = model.FindPort("rp0")!;
        var usp = model.Switches[0].Upstream;
        var dsp0 = model.FindPort("sw0-downstream-0")!;
        var dsp1 = model.FindPort("sw0-downstream-1")!;
        Assert.Multiple(() =>
        {
            Assert.That((rp.SecondaryBus, rp.SubordinateBus), Is.EqualTo(((byte)1, (byte)4)));
            Assert.That((usp.PrimaryBus, usp.SecondaryBus, usp.SubordinateBus), Is.EqualTo(((byte)1, (byte)2, (byte)4)));
            Assert.That((dsp0.SecondaryBus, dsp0.SubordinateBus), Is.EqualTo(((byte)3, (byte)3)));
            Assert.That((dsp1.SecondaryBus, dsp1.SubordinateBus), Is.EqualTo(((byte)4, (byte)4)));
            foreach (var bridge in new BridgeFunction[] { rp, usp, dsp0, dsp1 })
            {
                Assert.That(PrefetchableWindow(bridge)!.Value.Base, Is.GreaterThanOrEqualTo(HighBase), bridge.Name + " prefetchable window in high MMIO");
                Assert.That(MemoryWindow(bridge), Is.Null, bridge.Name + ": no non-prefetchable BAR below, memory window disabled");
            }

            Assert.That(model.FindEndpoint("ep0")!.BarBase(0), Is.GreaterThanOrEqualTo(HighBase));
            Assert.That(model.FindEndpoint("ep1")!.BarBase(0), Is.GreaterThanOrEqualTo(HighBase));
        });
    }

    [Test]
    public void bus_exhaustion_error()
    {
        var (model, result) = Enumerate("--pcie-root-complex rc0,end_bus=0 --pcie-root-port rc0:rp0");
        Assert.Multiple(() =>
        {
            Assert.That(result.Error?.Kind, Is.EqualTo(EnumerationErrorKind.BusExhaustion));
            Assert.That(result.Error?.ToString(), Is.EqualTo("rc0: bus number exhaustion at bridge 00:00.0"));
            Assert.That(model.FindPort("rp0")!.AssignedBusRange.IsProgrammed, Is.False, "nothing was written to the bridge");
        });
    }

    [Test]
    public void bus_exhaustion_below_a_switch()
    {
        // start 0, end 3: rp0 gets 1, the switch's upstream port 2, its first downstream port 3, the second none.
        var (_, result) = Enumerate("--pcie-root-complex rc0,end_bus=3 --pcie-root-port rc0:rp0 --pcie-switch rp0:sw0,num_downstream_ports=2");
        Assert.That(result.Error?.ToString(), Is.EqualTo("rc0: bus number exhaustion at bridge 02:00.1"));
    }

    [Test]
    public void no_devices_is_ok()
    {
        var (_, result) = EnumerateOk("--pcie-root-complex rc0");
        Assert.Multiple(() =>
        {
            Assert.That(result.Succeeded, Is.True);
            Assert.That(result.AllFunctions, Is.Empty);
            Assert.That(result.Accesses.Count(a => a.IsWrite), Is.Zero, "nothing to program");
            Assert.That(result.Accesses.Count, Is.EqualTo(32), "one Vendor ID read per device number of the root bus");
        });
    }

    [Test]
    public void empty_ports_get_a_bus_and_disabled_windows()
    {
        var (model, _) = EnumerateOk("--pcie-root-complex rc0 --pcie-root-port rc0:rp0,hotplug --pcie-root-port rc0:rp1,hotplug");
        var rp1 = model.FindPort("rp1")!;
        Assert.Multiple(() =>
        {
            Assert.That((rp1.SecondaryBus, rp1.SubordinateBus), Is.EqualTo(((byte)2, (byte)2)));
            Assert.That(rp1.ReadDword(0x20), Is.EqualTo(0x0000_FFF0u), "memory base 0xFFF0 above limit 0");
            Assert.That(rp1.ReadDword(0x24), Is.EqualTo(0x0001_FFF1u), "prefetchable base 0xFFF0 above limit 0 (64-bit flags are read-only 1)");
            Assert.That(rp1.ReadDword(0x28), Is.EqualTo(0xFFFF_FFFFu));
            Assert.That(rp1.ReadDword(0x2C), Is.Zero);
        });
    }

    [Test]
    public void mmio_exhaustion_error()
    {
        // 64 KiB and 128 KiB behind two root ports: each window takes 1 MiB, 2 MiB do not fit a 1 MiB aperture.
        var (_, result) = Enumerate(
            "--pcie-root-complex rc0,high_mmio=1M --pcie-root-port rc0:rp0 --pcie-root-port rc0:rp1 "
            + "--pcie-endpoint rp0:ep0,template=generic,bar0=64K --pcie-endpoint rp1:ep1,template=generic,bar0=128K");
        Assert.Multiple(() =>
        {
            Assert.That(result.Error?.Kind, Is.EqualTo(EnumerationErrorKind.MmioExhaustion));
            Assert.That(result.Error?.Message, Is.EqualTo("high_mmio MMIO exhaustion: need 0x200000 bytes, have 0x100000"));
        });
    }

    [Test]
    public void no_aperture_error()
    {
        var (_, result) = Enumerate("--pcie-root-complex rc0,low_mmio=0,high_mmio=0 --pcie-root-port rc0:rp0 --pcie-endpoint rp0:ep0,template=generic,bar0=4K");
        Assert.Multiple(() =>
        {
            Assert.That(result.Error?.Kind, Is.EqualTo(EnumerationErrorKind.MmioExhaustion));
            Assert.That(result.Error?.Message, Is.EqualTo("high_mmio MMIO exhaustion: need 0x100000 bytes, have 0x0"));
        });
    }

    [Test]
    public void bridge_prefetchable_window_programmed()
    {
        var (model, _) = EnumerateOk("--pcie-root-complex rc0,high_mmio_base=0x100000000,high_mmio=4G --pcie-root-port rc0:rp0 --pcie-endpoint rp0:ep0,template=generic,bar0=1M");
        var rp = model.FindPort("rp0")!;
        Assert.Multiple(() =>
        {
            Assert.That(MemoryWindow(rp), Is.Null, "no non-prefetchable window");
            Assert.That(rp.ReadDword(0x20), Is.EqualTo(0x0000_FFF0u));
            Assert.That(rp.ReadDword(0x24), Is.EqualTo(0x0001_0001u), "base 0 | 64-bit, limit 0x000F | 64-bit: one 1 MiB window");
            Assert.That(rp.ReadDword(0x24) & 1, Is.EqualTo(1u), "64-bit indicator");
            Assert.That(rp.ReadDword(0x28), Is.EqualTo(1u), "upper base 1 for 0x1_0000_0000");
            Assert.That(rp.ReadDword(0x2C), Is.EqualTo(1u), "upper limit 1");
            Assert.That(PrefetchableWindow(rp), Is.EqualTo(new AddressWindow(0x1_0000_0000, 0x1_000F_FFFF)));
        });
    }

    [Test]
    public void sibling_bridge_windows_must_not_overlap()
    {
        var (model, _) = EnumerateOk(
            "--pcie-root-complex rc0 --pcie-root-port rc0:rp0 --pcie-switch rp0:sw0,num_downstream_ports=2 "
            + "--pcie-endpoint sw0-downstream-0:a,template=generic,bar0=1M,bar2=4K --pcie-endpoint sw0-downstream-1:b,template=generic,bar0=512K");
        var a = PrefetchableWindow(model.FindPort("sw0-downstream-0")!)!.Value;
        var b = PrefetchableWindow(model.FindPort("sw0-downstream-1")!)!.Value;
        Assert.Multiple(() =>
        {
            Assert.That(a.Overlaps(b), Is.False, $"A {a} B {b}");
            Assert.That(a, Is.EqualTo(new AddressWindow(HighBase, HighBase + 0x1F_FFFF)), "1 MiB + 4 KiB rounds up to 2 MiB");
            Assert.That(b, Is.EqualTo(new AddressWindow(HighBase + 0x20_0000, HighBase + 0x2F_FFFF)));
        });
    }

    [Test]
    public void large_bar_alignment_fits_in_bridge_window()
    {
        // A 1 GiB BAR behind a root port, the high aperture 256 MiB aligned but not 1 GiB aligned.
        var (model, _) = EnumerateOk("--pcie-root-complex rc0,high_mmio_base=0x10000000,high_mmio=8G --pcie-root-port rc0:rp0 --pcie-endpoint rp0:ep0,template=generic,bar0=1G");
        var window = PrefetchableWindow(model.FindPort("rp0")!)!.Value;
        ulong bar = model.FindEndpoint("ep0")!.BarBase(0);
        Assert.Multiple(() =>
        {
            Assert.That(bar % 0x4000_0000, Is.Zero, "naturally aligned");
            Assert.That(window.Contains(bar, 0x4000_0000), Is.True, "inside the bridge window");
            Assert.That(bar, Is.EqualTo(0x4000_0000UL), "the first 1 GiB boundary in the aperture");
        });
    }

    [Test]
    public void alignment_first_sort_avoids_wasted_padding()
    {
        // A: a switch with three 1 MiB BARs below (3 MiB, 1 MiB aligned); B: one 2 MiB BAR (2 MiB aligned).
        // Placed B first, both fit 5 MiB exactly; in topology order (A first) they would need 6 MiB.
        var (model, _) = EnumerateOk(
            "--pcie-root-complex rc0,high_mmio=5M --pcie-root-port rc0:a --pcie-root-port rc0:b --pcie-switch a:sw0,num_downstream_ports=3 "
            + "--pcie-endpoint sw0-downstream-0:e0,template=generic,bar0=1M --pcie-endpoint sw0-downstream-1:e1,template=generic,bar0=1M "
            + "--pcie-endpoint sw0-downstream-2:e2,template=generic,bar0=1M --pcie-endpoint b:e3,template=generic,bar0=2M");
        Assert.Multiple(() =>
        {
            Assert.That(PrefetchableWindow(model.FindPort("b")!), Is.EqualTo(new AddressWindow(HighBase, HighBase + 0x1F_FFFF)));
            Assert.That(PrefetchableWindow(model.FindPort("a")!), Is.EqualTo(new AddressWindow(HighBase + 0x20_0000, HighBase + 0x4F_FFFF)));
        });
    }

    [Test]
    public void misaligned_aperture_does_not_overflow()
    {
        var (_, result) = Enumerate("--pcie-root-complex rc0,high_mmio_base=0x10200000,high_mmio=4M --pcie-root-port rc0:rp0 --pcie-endpoint rp0:ep0,template=generic,bar0=4M");
        Assert.That(result.Error?.Kind, Is.EqualTo(EnumerationErrorKind.MmioExhaustion));
    }

    [Test]
    public void alignment_exceeds_aperture_returns_error()
    {
        var (_, result) = Enumerate("--pcie-root-complex rc0,high_mmio_base=0x10200000,high_mmio=2M --pcie-root-port rc0:rp0 --pcie-endpoint rp0:ep0,template=generic,bar0=16M");
        Assert.Multiple(() =>
        {
            Assert.That(result.Error?.Kind, Is.EqualTo(EnumerationErrorKind.MmioExhaustion));
            Assert.That(result.Error?.Message, Is.EqualTo("high_mmio MMIO exhaustion: need 0x1000000 bytes, have 0x0"), "no wrap of the available space");
        });
    }

    [Test]
    public void bus_numbers_are_written_twice_subordinate_opened_to_the_end_bus_first()
    {
        var (_, result) = EnumerateOk("--pcie-root-complex rc0,start_bus=0x10,end_bus=0x3f --pcie-root-port rc0:rp0 --pcie-switch rp0:sw0,num_downstream_ports=1");
        var writes = result.Accesses.Where(a => a.IsWrite && a.Register == 0x18).Select(a => (a.Bus, a.Devfn, a.Value)).ToList();
        Assert.That(writes, Is.EqualTo(new (byte, byte, uint)[]
        {
            (0x10, 0x00, 0x003F_1110), // rp0: primary 10, secondary 11, subordinate opened to the end bus
            (0x11, 0x00, 0x003F_1211), // sw0 upstream port
            (0x12, 0x00, 0x003F_1312), // sw0-downstream-0
            (0x12, 0x00, 0x0013_1312),
            (0x11, 0x00, 0x0013_1211),
            (0x10, 0x00, 0x0013_1110),
        }));
    }

    [Test]
    public void bars_are_sized_with_all_ones_and_windows_programmed_in_openvmm_order()
    {
        var (_, result) = EnumerateOk("--pcie-root-complex rc0 --pcie-root-port rc0:rp0 --pcie-endpoint rp0:ep0,template=generic,bar0=64K");
        var endpointAccesses = result.Accesses.Where(a => a.Bus == 1 && a.Register is >= 0x10 and < 0x18).Select(a => (a.IsWrite, a.Register, a.Value)).ToList();
        var bridgeWrites = result.Accesses.Where(a => a.Bus == 0 && a.IsWrite && a.Register >= 0x1C).Select(a => (a.Register, a.Value)).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(endpointAccesses.Take(4), Is.EqualTo(new (bool, ushort, uint)[]
            {
                (true, 0x10, 0xFFFF_FFFF), (false, 0x10, 0xFFFF_000C), (true, 0x14, 0xFFFF_FFFF), (false, 0x14, 0xFFFF_FFFF),
            }), "BAR0 low then upper: all-ones written and read back as the size mask");
            Assert.That(endpointAccesses.Skip(endpointAccesses.Count - 2), Is.EqualTo(new (bool, ushort, uint)[]
            {
                (true, 0x10, 0x0000_0000), (true, 0x14, 0x0000_0080),
            }), "programmed: low DWORD (flag bits 0), upper DWORD");
            Assert.That(bridgeWrites, Is.EqualTo(new (ushort, uint)[]
            {
                (0x1C, 0x0000_00F0), (0x20, 0x0000_FFF0), (0x2C, 0x0000_0080), (0x24, 0x0001_0001), (0x28, 0x0000_0080),
            }), "I/O window disabled, memory window disabled, prefetchable limit upper, range, base upper");
        });
    }

    [Test]
    public void command_memory_enable_is_cleared_and_left_clear()
    {
        var model = Topo.Build("--pcie-root-complex rc0 --pcie-root-port rc0:rp0 --pcie-endpoint rp0:ep0,template=generic,bar0=64K");
        var rc = model.RootComplexes[0];
        model.Write(rc, 0, 0, 0x18, 4, 0x0001_0100);
        model.Write(rc, 1, 0, 0x04, 2, 0x0006);
        var result = VmmEnumerator.Run(model);
        var ep = model.FindEndpoint("ep0")!;
        Assert.Multiple(() =>
        {
            Assert.That(result.Accesses.Where(a => a.Bus == 1 && a.Register == 0x04 && a.IsWrite).Select(a => a.Value), Is.EqualTo(new[] { 0x0000_0004u }),
                "MEM cleared, Bus Master kept, Status written 0");
            Assert.That(ep.Command, Is.EqualTo((ushort)0x0004), "not re-enabled after programming");
            Assert.That(ep.BarBase(0), Is.EqualTo(HighBase), "the BAR took its address: writes are accepted with MEM clear");
            Assert.That(result.Accesses.Count(a => a.Bus == 0 && a.Register == 0x04 && a.IsWrite), Is.Zero, "MEM already clear on the port: no write");
        });
    }

    [Test]
    public void ari_forwarding_stays_disabled_without_ari_or_sriov_devices()
    {
        // Our ports support ARI forwarding, but no endpoint has an ARI or SR-IOV capability: nothing enables it.
        var (model, result) = EnumerateOk("--pcie-root-complex rc0 --pcie-root-port rc0:rp0 --pcie-switch rp0:sw0,num_downstream_ports=1 --pcie-endpoint sw0-downstream-0:nvme0,template=nvme");
        Assert.Multiple(() =>
        {
            Assert.That(model.Ports.Select(p => p.AriForwardingEnabled), Is.All.False);
            Assert.That(result.AllFunctions.Select(f => f.AriForwardingEnabled), Is.All.False);
            Assert.That(result.Accesses.Where(a => a.IsWrite && a.Register == 0x68), Is.Empty);
        });
    }

    [Test]
    public void amd_iommu_rciep_is_found_on_the_root_bus_without_bars()
    {
        var (_, result) = EnumerateOk("--pcie-root-complex rc0 --amd-iommu rc0 --pcie-root-port rc0:rp0 --pcie-endpoint rp0:nvme0,template=nvme");
        var functions = result.RootComplexes[0].Functions;
        Assert.Multiple(() =>
        {
            Assert.That(functions.Select(f => (f.Bdf, f.Target?.Name)), Is.EqualTo(new[] { ("0000:00:00.0", "rc0-iommu"), ("0000:00:01.0", "rp0") }));
            Assert.That(functions[0].IsBridge, Is.False);
            Assert.That(functions[0].Bars, Is.Empty);
        });
    }

    [Test]
    public void root_complexes_use_their_own_apertures_in_topology_order()
    {
        var (model, result) = EnumerateOk(
            "--pcie-root-complex rc0,end_bus=0x7f --pcie-root-complex rc1,segment=1 --pcie-root-complex rc2,start_bus=0x80,low_mmio_base=0xe0000000,high_mmio_base=0x9000000000 "
            + "--pcie-root-port rc0:a --pcie-root-port rc1:b --pcie-root-port rc2:c "
            + "--pcie-endpoint a:ea,template=generic,bar0=4K --pcie-endpoint b:eb,template=generic,bar0=4K --pcie-endpoint c:ec,template=generic,bar0=4K");
        Assert.Multiple(() =>
        {
            Assert.That(result.RootComplexes.Select(r => r.LowMmio), Is.EqualTo(new MmioAperture?[]
            {
                new MmioAperture(0xC000_0000, 64 << 20), new MmioAperture(0xC400_0000, 64 << 20), new MmioAperture(0xE000_0000, 64 << 20),
            }));
            Assert.That(model.FindEndpoint("ea")!.BarBase(0), Is.EqualTo(0x80_0000_0000UL));
            Assert.That(model.FindEndpoint("eb")!.BarBase(0), Is.EqualTo(0x80_4000_0000UL), "second root complex: high base + 1 GiB");
            Assert.That(model.FindEndpoint("ec")!.BarBase(0), Is.EqualTo(0x90_0000_0000UL), "high_mmio_base given");
            Assert.That(model.FindPort("c")!.PrimaryBus, Is.EqualTo((byte)0x80), "numbered from the root complex's start bus");
        });
    }

    [Test]
    public void an_error_stops_the_run_before_later_root_complexes()
    {
        var (model, result) = Enumerate(
            "--pcie-root-complex rc0,high_mmio=1M --pcie-root-complex rc1,segment=1 --pcie-root-port rc0:a --pcie-root-port rc1:b "
            + "--pcie-endpoint a:ea,template=generic,bar0=2M");
        Assert.Multiple(() =>
        {
            Assert.That(result.Error?.RootComplex, Is.EqualTo("rc0"));
            Assert.That(result.RootComplexes[1].Enumerated, Is.False);
            Assert.That(model.FindPort("b")!.AssignedBusRange.IsProgrammed, Is.False, "rc1 untouched");
            Assert.That(result.Accesses.All(a => a.RootComplex.Name == "rc0"), Is.True);
            Assert.That(model.FindPort("a")!.AssignedBusRange, Is.EqualTo(new BusRange(1, 1)), "rc0's bus numbers stay as phase 1 wrote them");
        });
    }

    [Test]
    public void re_enumeration_after_reset_and_hot_add_gives_the_new_endpoint_resources()
    {
        var model = Topo.Build("--pcie-root-complex rc0 --pcie-root-port rc0:rp0,hotplug --pcie-root-port rc0:rp1,hotplug "
            + "--pcie-endpoint rp0:e0,template=generic,bar0=1M --pcie-endpoint e1,template=generic,bar0=2M");
        var first = VmmEnumerator.Run(model);
        model.HotAdd("rp1", "e1");
        model.Reset();
        var second = VmmEnumerator.Run(model);
        Assert.Multiple(() =>
        {
            Assert.That(first.Succeeded && second.Succeeded, Is.True);
            Assert.That(first.Find(model.FindEndpoint("e1")!), Is.Null, "not plugged at the first enumeration");
            Assert.That(second.Find(model.FindEndpoint("e1")!)!.Bars.Single().Address, Is.EqualTo(HighBase), "2 MiB aligned, placed first");
            Assert.That(model.FindEndpoint("e0")!.BarBase(0), Is.EqualTo(HighBase + 0x20_0000));
            Assert.That(EnumerationInvariants.Check(model), Is.Empty);
        });
    }

    [Test]
    public void enumerating_twice_programs_the_same_state()
    {
        var model = Topo.Build("--pcie-root-complex rc0,high_mmio=16G --amd-iommu rc0 --pcie-root-port rc0:rp0 --pcie-switch rp0:sw0 "
            + "--pcie-endpoint sw0-downstream-2:n,template=nvme --pcie-endpoint sw0-downstream-3:g,template=generic,bar0=8M,bar4=4G");
        var first = VmmEnumerator.Run(model);
        var state = Topo.Snapshot(model);
        var second = VmmEnumerator.Run(model);
        Topo.AssertUnchanged(state, Topo.Snapshot(model), "a second enumeration");
        Assert.That(second.AllFunctions.Select(EnumerationDescription), Is.EqualTo(first.AllFunctions.Select(EnumerationDescription)));
    }

    private static string EnumerationDescription(FunctionAssignment function) => PcieSim.Snapshot.EnumerationText.Describe(function);
}

/// <summary>
/// OpenVMM's enumeration over seeded random topologies (fixed seeds, so a failure names a reproducible case): it
/// succeeds, keeps every enumeration invariant, numbers buses as <see cref="BusNumbering"/> (what <c>pciesim topology</c>
/// prints) does, and gives each plugged endpoint BAR an address inside its aperture.
/// </summary>
[TestFixture]
public sealed class ResourceAssignmentSweepTests
{
    private static string RandomTopology(int seed)
    {
        var random = new Random(seed);
        var flags = new List<string>();
        var free = new List<string>();
        int rootComplexes = random.Next(1, 4);
        for (int r = 0; r < rootComplexes; r++)
        {
            flags.Add(FormattableString.Invariant($"--pcie-root-complex rc{r},segment={r},high_mmio=64G"));
            if (random.Next(4) == 0)
            {
                flags.Add(FormattableString.Invariant($"--amd-iommu rc{r}"));
            }

            int ports = random.Next(0, 7);
            for (int p = 0; p < ports; p++)
            {
                flags.Add(FormattableString.Invariant($"--pcie-root-port rc{r}:rc{r}p{p}{(random.Next(2) == 0 ? ",hotplug" : "")}"));
                free.Add(FormattableString.Invariant($"rc{r}p{p}"));
            }
        }

        int switches = 0, endpoints = 0;
        while (free.Count > 0)
        {
            int pick = random.Next(free.Count);
            string port = free[pick];
            free.RemoveAt(pick);
            switch (random.Next(5))
            {
                case 0 when switches < 6:
                    int downstream = random.Next(1, 5);
                    string name = FormattableString.Invariant($"sw{switches++}");
                    flags.Add(FormattableString.Invariant($"--pcie-switch {port}:{name},num_downstream_ports={downstream}"));
                    for (int d = 0; d < downstream; d++)
                    {
                        free.Add(FormattableString.Invariant($"{name}-downstream-{d}"));
                    }

                    break;
                case 1:
                    flags.Add(FormattableString.Invariant($"--pcie-endpoint {port}:e{endpoints++},template=nvme"));
                    break;
                case 2:
                case 3:
                    string bars = string.Join(',', new[] { 0, 2, 4 }.Where(_ => random.Next(2) == 0)
                        .Select(i => FormattableString.Invariant($"bar{i}={4 << random.Next(0, 15)}K")));
                    flags.Add(FormattableString.Invariant($"--pcie-endpoint {port}:e{endpoints++},template=generic{(bars.Length > 0 ? "," + bars : "")}"));
                    break;
                default:
                    break; // an empty port
            }
        }

        return string.Join(' ', flags);
    }

    public static IEnumerable<int> Seeds() => Enumerable.Range(1, 60);

    [TestCaseSource(nameof(Seeds))]
    public void random_topology_is_enumerated_consistently(int seed)
    {
        string flags = RandomTopology(seed);
        var model = Topo.Build(flags);
        var result = VmmEnumerator.Run(model);
        Assert.That(result.Error, Is.Null, flags);
        Assert.That(EnumerationInvariants.Check(model), Is.Empty, flags);
        var numbering = new BusNumbering(model);
        Assert.Multiple(() =>
        {
            foreach (var port in model.Ports)
            {
                Assert.That(port.AssignedBusRange, Is.EqualTo(numbering.RangeOf(port)), port.Name + " in " + flags);
            }

            foreach (var rc in result.RootComplexes)
            {
                foreach (var function in rc.AllFunctions.Where(f => !f.IsBridge))
                {
                    Assert.That(function.Bus, Is.EqualTo(numbering.BusOf(function.Target!)), function.Bdf + " in " + flags);
                    foreach (var bar in function.Bars)
                    {
                        Assert.That(bar.Address, Is.InRange(rc.HighMmio!.Value.Base, rc.HighMmio.Value.End - bar.Size), function.Bdf + " in " + flags);
                    }
                }
            }
        });
    }
}
