using PcieSim.Enumeration;

namespace PcieSim.Conformance.Enumeration;

// OpenVMM's vm/devices/pci/pci_resource_assignment/src/tests.rs, mirrored by name on the same mock configuration
// space (MockConfigSpace), for the scenarios our topology language cannot express: 32-bit and non-prefetchable
// BARs, endpoints on the root bus, multi-function endpoints, SR-IOV. The topology-expressible ones are also run on
// real models in ResourceAssignmentTopologyTests. Aperture values are the tests' own (low 0x1000_0000 + 256 MiB,
// high 0x1_0000_0000 + 4 GiB).
//
// The ari_* tests: OpenVMM's test bodies were not available to us (only their names, reference 10.7); these
// scenarios are rebuilt from the names and from enumerate.rs. Not mirrored: the pinned-BAR and gap-allocator tests
// (preserve_bars is not modelled) and ari_enabled_for_siov_device (the Scalable IOV capability is not modelled).

/// <summary>OpenVMM's resource-assignment unit tests on its mock configuration space (reference 10.7).</summary>
[TestFixture]
public sealed class ResourceAssignmentMockTests
{
    private static readonly MmioAperture Low = new(0x1000_0000, 0x1000_0000);
    private static readonly MmioAperture High = new(0x1_0000_0000, 0x1_0000_0000);

    /// <summary><c>assign_pci_resources</c>: enumerate, assign, program; the failure if any.</summary>
    private static AssignmentFailure? Assign(MockConfigSpace mock, MmioAperture? low, MmioAperture? high, byte endBus = 255) =>
        Run(mock, low, high, endBus).Failure;

    private static (List<DiscoveredDevice>? Devices, AssignmentFailure? Failure) Run(MockConfigSpace mock, MmioAperture? low, MmioAperture? high, byte endBus = 255)
    {
        var parameters = new AssignmentParameters(0, endBus, low, high);
        var devices = ResourceAssignment.Enumerate(mock, parameters, out var failure);
        if (devices is null)
        {
            return (null, failure);
        }

        failure = ResourceAssignment.AssignAddresses(devices, parameters);
        if (failure is null)
        {
            ResourceAssignment.Program(mock, devices);
        }

        return (devices, failure);
    }

    private static void AssertOk(AssignmentFailure? failure) => Assert.That(failure, Is.Null, failure?.Message);

    private static ulong Size(AddressWindow window) => window.Limit - window.Base + 1;

    [Test]
    public void single_endpoint_32bit_bar()
    {
        var mock = new MockConfigSpace();
        mock.AddEndpoint(0, 0, 0, (0, 0x10000, false, false));
        AssertOk(Assign(mock, Low, null));
        Assert.That(mock.Bar32(0, 0, 0, 0), Is.EqualTo(0x1000_0000u));
    }

    [Test]
    public void single_endpoint_64bit_bar()
    {
        var mock = new MockConfigSpace();
        mock.AddEndpoint(0, 1, 0, (0, 0x100000, true, true));
        AssertOk(Assign(mock, null, High));
        Assert.That(mock.Bar64(0, 1, 0, 0), Is.EqualTo(0x1_0000_0000UL));
    }

    [Test]
    public void bridge_with_endpoint()
    {
        var mock = new MockConfigSpace();
        mock.AddBridge(0, 0, 0);
        mock.AddEndpoint(1, 0, 0, (0, 0x10000, false, false));
        AssertOk(Assign(mock, Low, null));
        Assert.Multiple(() =>
        {
            Assert.That(mock.BusNumbers(0, 0, 0), Is.EqualTo(((byte)0, (byte)1, (byte)1)));
            Assert.That(mock.MemoryWindow(0, 0, 0), Is.Not.Null);
            Assert.That(mock.Bar32(1, 0, 0, 0), Is.GreaterThanOrEqualTo(0x1000_0000u));
        });
    }

    [Test]
    public void multiple_endpoints_sorted_by_size()
    {
        var mock = new MockConfigSpace();
        mock.AddEndpoint(0, 0, 0, (0, 0x1000, false, false));
        mock.AddEndpoint(0, 1, 0, (0, 0x100000, false, false));
        AssertOk(Assign(mock, Low, null));
        Assert.Multiple(() =>
        {
            Assert.That(mock.Bar32(0, 1, 0, 0), Is.EqualTo(0x1000_0000u));
            Assert.That(mock.Bar32(0, 0, 0, 0), Is.EqualTo(0x1010_0000u));
        });
    }

    [Test]
    public void multi_function_device()
    {
        var mock = new MockConfigSpace();
        mock.AddEndpoint(0, 0, 0, (0, 0x1000, false, false));
        mock.AddEndpoint(0, 0, 1, (0, 0x1000, false, false));
        mock.SetMultiFunction(0, 0);
        AssertOk(Assign(mock, Low, null));
        Assert.That(mock.Bar32(0, 0, 1, 0), Is.Not.EqualTo(mock.Bar32(0, 0, 0, 0)));
    }

    [Test]
    public void switch_with_multiple_endpoints()
    {
        var mock = new MockConfigSpace();
        mock.AddBridge(0, 0, 0);
        mock.AddBridge(1, 0, 0);
        mock.AddBridge(1, 1, 0);
        mock.AddEndpoint(2, 0, 0, (0, 0x10000, false, false));
        mock.AddEndpoint(3, 0, 0, (0, 0x10000, true, true));
        AssertOk(Assign(mock, Low, High));
        Assert.Multiple(() =>
        {
            Assert.That(mock.BusNumbers(0, 0, 0).Secondary, Is.EqualTo(1));
            Assert.That(mock.Bar32(2, 0, 0, 0), Is.InRange(0x1000_0000u, 0x1FFF_FFFFu), "32-bit BAR in low MMIO");
            Assert.That(mock.Bar64(3, 0, 0, 0), Is.GreaterThanOrEqualTo(0x1_0000_0000UL), "64-bit BAR in high MMIO");
            Assert.That(mock.PrefetchableWindow(1, 1, 0)?.Base, Is.GreaterThanOrEqualTo(0x1_0000_0000UL));
            Assert.That(mock.MemoryWindow(1, 0, 0), Is.Not.Null);
            Assert.That(mock.PrefetchableWindow(1, 0, 0), Is.Null);
        });
    }

    [Test]
    public void bus_exhaustion_error()
    {
        var mock = new MockConfigSpace();
        mock.AddBridge(0, 0, 0);
        Assert.That(Assign(mock, null, null, endBus: 0)?.Kind, Is.EqualTo(EnumerationErrorKind.BusExhaustion));
    }

    [Test]
    public void no_devices_is_ok()
    {
        var mock = new MockConfigSpace();
        AssertOk(Assign(mock, Low, null));
        Assert.That(mock.Writes, Is.Empty);
    }

    [Test]
    public void mmio_exhaustion_error()
    {
        var mock = new MockConfigSpace();
        mock.AddEndpoint(0, 0, 0, (0, 0x10000, false, false));
        mock.AddEndpoint(0, 1, 0, (0, 0x20000, false, false));
        Assert.That(Assign(mock, new MmioAperture(0x1000_0000, 0x20000), null)?.Kind, Is.EqualTo(EnumerationErrorKind.MmioExhaustion));
    }

    [Test]
    public void no_aperture_error()
    {
        var mock = new MockConfigSpace();
        mock.AddEndpoint(0, 0, 0, (0, 0x1000, false, false));
        var failure = Assign(mock, null, null);
        Assert.Multiple(() =>
        {
            Assert.That(failure?.Kind, Is.EqualTo(EnumerationErrorKind.MmioExhaustion));
            Assert.That(failure?.Message, Is.EqualTo("low_mmio MMIO exhaustion: need 0x1000 bytes, have 0x0"));
        });
    }

    [Test]
    public void sriov_reserves_bus_numbers()
    {
        var mock = new MockConfigSpace();
        mock.AddBridge(0, 0, 0);
        mock.AddEndpoint(1, 0, 0, (0, 0x1000, false, false));
        mock.AddSriov(1, 0, 0, 256, 1, 1);
        AssertOk(Assign(mock, Low, null));
        var (_, secondary, subordinate) = mock.BusNumbers(0, 0, 0);
        Assert.Multiple(() =>
        {
            Assert.That(secondary, Is.EqualTo(1));
            Assert.That(subordinate, Is.GreaterThanOrEqualTo(2), "the last VF (RID 0x200) is on bus 2");
        });
    }

    [Test]
    public void sriov_no_vfs_no_reservation()
    {
        var mock = new MockConfigSpace();
        mock.AddBridge(0, 0, 0);
        mock.AddEndpoint(1, 0, 0, (0, 0x1000, false, false));
        mock.AddSriov(1, 0, 0, 0, 1, 1);
        AssertOk(Assign(mock, Low, null));
        Assert.That(mock.BusNumbers(0, 0, 0).Subordinate, Is.EqualTo(1));
    }

    [Test]
    public void bridge_prefetchable_window_programmed()
    {
        var mock = new MockConfigSpace();
        mock.AddBridge(0, 0, 0);
        mock.AddEndpoint(1, 0, 0, (0, 0x100000, true, true));
        AssertOk(Assign(mock, null, High));
        Assert.Multiple(() =>
        {
            Assert.That(mock.MemoryWindow(0, 0, 0), Is.Null, "no non-prefetchable window");
            Assert.That(mock.PrefetchableWindow(0, 0, 0)?.Base, Is.GreaterThanOrEqualTo(0x1_0000_0000UL));
            Assert.That(mock.Get(0, 0, 0, 0x24), Is.Not.Zero);
            Assert.That(mock.Get(0, 0, 0, 0x24) & 1, Is.EqualTo(1u), "64-bit indicator");
            Assert.That(mock.Get(0, 0, 0, 0x28), Is.EqualTo(1u));
            Assert.That(mock.Get(0, 0, 0, 0x2C), Is.EqualTo(1u));
        });
    }

    [Test]
    public void sibling_bridge_windows_must_not_overlap()
    {
        var mock = new MockConfigSpace();
        mock.AddBridge(0, 0, 0);
        mock.AddBridge(1, 0, 0);
        mock.AddBridge(1, 1, 0);
        mock.AddEndpoint(2, 0, 0, (0, 0x100000, false, false), (2, 0x1000, false, false));
        mock.AddEndpoint(3, 0, 0, (0, 0x80000, false, false));
        AssertOk(Assign(mock, Low, null));
        var a = mock.MemoryWindow(1, 0, 0)!.Value;
        var b = mock.MemoryWindow(1, 1, 0)!.Value;
        Assert.That(a.Overlaps(b), Is.False, $"A {a} B {b}");
    }

    [Test]
    public void large_bar_alignment_fits_in_bridge_window()
    {
        var mock = new MockConfigSpace();
        mock.AddBridge(0, 0, 0);
        mock.AddEndpoint(1, 0, 0, (0, 0x4000_0000, false, false));
        AssertOk(Assign(mock, new MmioAperture(0x1000_0000, 0x2_0000_0000), null));
        var window = mock.MemoryWindow(0, 0, 0)!.Value;
        ulong bar = mock.Bar32(1, 0, 0, 0);
        Assert.Multiple(() =>
        {
            Assert.That(bar % 0x4000_0000, Is.Zero);
            Assert.That(window.Contains(bar, 0x4000_0000), Is.True);
        });
    }

    [Test]
    public void alignment_first_sort_avoids_wasted_padding()
    {
        var mock = new MockConfigSpace();
        mock.AddBridge(0, 0, 0);
        mock.AddEndpoint(1, 0, 0, (0, 0x100000, false, false));
        mock.AddEndpoint(1, 1, 0, (0, 0x100000, false, false));
        mock.AddEndpoint(1, 2, 0, (0, 0x100000, false, false));
        mock.AddBridge(0, 1, 0);
        mock.AddEndpoint(2, 0, 0, (0, 0x200000, false, false));
        AssertOk(Assign(mock, new MmioAperture(0x1000_0000, 0x500000), null));
    }

    [Test]
    public void misaligned_aperture_does_not_overflow()
    {
        var mock = new MockConfigSpace();
        mock.AddEndpoint(0, 0, 0, (0, 0x400000, false, false));
        Assert.That(Assign(mock, new MmioAperture(0x1020_0000, 0x400000), null)?.Kind, Is.EqualTo(EnumerationErrorKind.MmioExhaustion));
    }

    [Test]
    public void alignment_exceeds_aperture_returns_error()
    {
        var mock = new MockConfigSpace();
        mock.AddEndpoint(0, 0, 0, (0, 0x1000000, false, false));
        Assert.That(Assign(mock, new MmioAperture(0x1020_0000, 0x200000), null)?.Kind, Is.EqualTo(EnumerationErrorKind.MmioExhaustion));
    }

    [Test]
    public void sriov_bus_reservation_exceeding_end_bus_returns_error()
    {
        var mock = new MockConfigSpace();
        mock.AddBridge(0, 0, 0);
        mock.AddEndpoint(1, 0, 0, (0, 0x1000, false, false));
        mock.AddSriov(1, 0, 0, 256, 1, 1);
        Assert.That(Assign(mock, Low, null, endBus: 1)?.Kind, Is.EqualTo(EnumerationErrorKind.BusExhaustion));
    }

    [Test]
    public void mem32_bar_must_not_be_placed_above_4gb()
    {
        var mock = new MockConfigSpace();
        mock.AddEndpoint(0, 0, 0, (0, 0x10000, false, false));
        var failure = Assign(mock, null, High);
        Assert.Multiple(() =>
        {
            Assert.That(failure, Is.Not.Null, "no sub-4 GiB aperture: 32-bit BARs cannot be placed");
            Assert.That(failure?.Message, Is.EqualTo("low_mmio MMIO exhaustion: need 0x10000 bytes, have 0x0"));
        });
    }

    [Test]
    public void shared_aperture_mem32_mem64_must_not_overlap()
    {
        var mock = new MockConfigSpace();
        mock.AddEndpoint(0, 0, 0, (0, 0x40_0000, false, false));
        mock.AddEndpoint(0, 1, 0, (0, 0x10_0000, true, true));
        AssertOk(Assign(mock, new MmioAperture(0x1020_0000, 0x0100_0000), null));
        ulong bar0 = mock.Bar32(0, 0, 0, 0), bar1 = mock.Bar64(0, 1, 0, 0);
        Assert.Multiple(() =>
        {
            Assert.That(bar0 + 0x40_0000 <= bar1 || bar1 + 0x10_0000 <= bar0, Is.True, $"0x{bar0:x} and 0x{bar1:x} overlap");
            Assert.That(bar0, Is.EqualTo(0x1040_0000UL), "mem32 aligned up to 4 MiB");
            Assert.That(bar1, Is.EqualTo(0x1080_0000UL), "mem64 after the end of mem32");
        });
    }

    [Test]
    public void bus_wrap_to_zero_must_return_exhaustion()
    {
        var mock = new MockConfigSpace();
        mock.AddBridge(0, 0, 0);
        mock.AddEndpoint(1, 0, 0, (0, 0x1000, false, false));
        mock.AddSriov(1, 0, 0, 1, 0xFE00, 1);
        mock.AddBridge(0, 1, 0);
        var failure = Assign(mock, Low, null);
        Assert.Multiple(() =>
        {
            Assert.That(failure?.Kind, Is.EqualTo(EnumerationErrorKind.BusExhaustion));
            Assert.That(failure?.Message, Is.EqualTo("bus number exhaustion at bridge 00:01.0"));
        });
    }

    [Test]
    public void sriov_vf_bars_included_in_bridge_window()
    {
        var mock = new MockConfigSpace();
        mock.AddBridge(0, 0, 0);
        mock.AddEndpoint(1, 0, 0, (0, 0x1000, false, false));
        mock.SetMultiFunction(1, 0);
        mock.AddSriov(1, 0, 0, 4, 1, 1, (0, 0x1000, false, false));
        AssertOk(Assign(mock, Low, null));
        var window = mock.MemoryWindow(0, 0, 0)!.Value;
        ulong vf = mock.VfBar32(1, 0, 0, 0), pf = mock.Bar32(1, 0, 0, 0);
        Assert.Multiple(() =>
        {
            Assert.That(Size(window), Is.GreaterThanOrEqualTo(0x5000UL));
            Assert.That(vf, Is.GreaterThan(0UL));
            Assert.That(window.Contains(vf, 0x4000), Is.True, "VF BAR region inside the window");
            Assert.That(vf + 0x4000 <= pf || pf + 0x1000 <= vf, Is.True, "VF BAR region does not overlap the PF BAR");
        });
    }

    [Test]
    public void sriov_non_power_of_two_vf_count()
    {
        var mock = new MockConfigSpace();
        mock.AddBridge(0, 0, 0);
        mock.AddEndpoint(1, 0, 0, (0, 0x1000, false, false));
        mock.SetMultiFunction(1, 0);
        mock.AddSriov(1, 0, 0, 3, 1, 1, (0, 0x1000, false, false));
        AssertOk(Assign(mock, Low, null));
        Assert.That(Size(mock.MemoryWindow(0, 0, 0)!.Value), Is.GreaterThanOrEqualTo(0x4000UL));
    }

    [Test]
    public void sriov_vf_bars_64bit_prefetchable()
    {
        var mock = new MockConfigSpace();
        mock.AddBridge(0, 0, 0);
        mock.AddEndpoint(1, 0, 0, (0, 0x1000, false, false));
        mock.SetMultiFunction(1, 0);
        mock.AddSriov(1, 0, 0, 4, 1, 1, (0, 0x10_0000, true, true));
        AssertOk(Assign(mock, Low, High));
        var memory = mock.MemoryWindow(0, 0, 0)!.Value;
        var prefetchable = mock.PrefetchableWindow(0, 0, 0)!.Value;
        ulong vf = mock.VfBar64(1, 0, 0, 0);
        Assert.Multiple(() =>
        {
            Assert.That(Size(memory), Is.GreaterThanOrEqualTo(0x1000UL));
            Assert.That(Size(prefetchable), Is.GreaterThanOrEqualTo(0x40_0000UL));
            Assert.That(prefetchable.Base, Is.GreaterThanOrEqualTo(0x1_0000_0000UL));
            Assert.That(vf, Is.InRange(0x1_0000_0000UL, 0x1_FFFF_FFFFUL));
            Assert.That(prefetchable.Contains(vf, 0x40_0000), Is.True);
        });
    }

    [Test]
    public void sriov_mixed_vf_bar_types()
    {
        var mock = new MockConfigSpace();
        mock.AddBridge(0, 0, 0);
        mock.AddEndpoint(1, 0, 0);
        mock.SetMultiFunction(1, 0);
        mock.AddSriov(1, 0, 0, 2, 1, 1, (0, 0x1000, false, false), (2, 0x1_0000, true, true));
        AssertOk(Assign(mock, Low, High));
        var memory = mock.MemoryWindow(0, 0, 0)!.Value;
        var prefetchable = mock.PrefetchableWindow(0, 0, 0)!.Value;
        ulong vf0 = mock.VfBar32(1, 0, 0, 0), vf2 = mock.VfBar64(1, 0, 0, 2);
        Assert.Multiple(() =>
        {
            Assert.That(Size(memory), Is.GreaterThanOrEqualTo(0x2000UL));
            Assert.That(Size(prefetchable), Is.GreaterThanOrEqualTo(0x2_0000UL));
            Assert.That(vf0, Is.GreaterThan(0UL));
            Assert.That(memory.Contains(vf0, 0x2000), Is.True);
            Assert.That(prefetchable.Contains(vf2, 0x2_0000), Is.True);
        });
    }

    [Test]
    public void sriov_top_level_pf_no_bridge()
    {
        var mock = new MockConfigSpace();
        mock.AddEndpoint(0, 0, 0, (0, 0x1_0000, false, false));
        mock.SetMultiFunction(0, 0);
        mock.AddSriov(0, 0, 0, 4, 1, 1, (0, 0x1_0000, false, false));
        AssertOk(Assign(mock, Low, null));
        ulong bar = mock.Bar32(0, 0, 0, 0), vf = mock.VfBar32(0, 0, 0, 0);
        Assert.Multiple(() =>
        {
            Assert.That(bar, Is.GreaterThan(0UL));
            Assert.That(bar + 0x1_0000, Is.LessThanOrEqualTo(0x2000_0000UL));
            Assert.That(vf, Is.GreaterThan(0UL));
            Assert.That(vf + 0x4_0000, Is.LessThanOrEqualTo(0x2000_0000UL));
            Assert.That(vf + 0x4_0000 <= bar || bar + 0x1_0000 <= vf, Is.True);
        });
    }

    [Test]
    public void sriov_multiple_pfs_behind_bridge()
    {
        var mock = new MockConfigSpace();
        mock.AddBridge(0, 0, 0);
        mock.AddEndpoint(1, 0, 0, (0, 0x1000, false, false));
        mock.SetMultiFunction(1, 0);
        mock.AddSriov(1, 0, 0, 2, 1, 1, (0, 0x1000, false, false));
        mock.AddEndpoint(1, 1, 0, (0, 0x2000, false, false));
        mock.SetMultiFunction(1, 1);
        mock.AddSriov(1, 1, 0, 3, 1, 1, (0, 0x2000, false, false));
        AssertOk(Assign(mock, Low, null));
        ulong pf1 = mock.Bar32(1, 0, 0, 0), pf2 = mock.Bar32(1, 1, 0, 0), vf1 = mock.VfBar32(1, 0, 0, 0), vf2 = mock.VfBar32(1, 1, 0, 0);
        Assert.Multiple(() =>
        {
            Assert.That(Size(mock.MemoryWindow(0, 0, 0)!.Value), Is.GreaterThanOrEqualTo(0xB000UL));
            Assert.That(pf1 + 0x1000 <= pf2 || pf2 + 0x2000 <= pf1, Is.True, "PF BARs overlap");
            Assert.That(vf1, Is.GreaterThan(0UL));
            Assert.That(vf2, Is.GreaterThan(0UL));
            Assert.That(vf1 + 0x2000 <= vf2 || vf2 + 0x6000 <= vf1, Is.True, "VF BAR regions overlap");
            Assert.That(vf1 + 0x2000 <= pf1 || pf1 + 0x1000 <= vf1, Is.True, "PF1 VFs overlap PF1");
            Assert.That(vf2 + 0x6000 <= pf2 || pf2 + 0x2000 <= vf2, Is.True, "PF2 VFs overlap PF2");
        });
    }

    [Test]
    public void sriov_vf_bars_cause_mmio_exhaustion()
    {
        var mock = new MockConfigSpace();
        mock.AddBridge(0, 0, 0);
        mock.AddEndpoint(1, 0, 0, (0, 0x1000, false, false));
        mock.SetMultiFunction(1, 0);
        mock.AddSriov(1, 0, 0, 16, 1, 1, (0, 0x10_0000, false, false));
        Assert.That(Assign(mock, new MmioAperture(0x1000_0000, 0x20_0000), null), Is.Not.Null);
    }

    [Test]
    public void preserve_bars_false_ignores_preprogrammed()
    {
        var mock = new MockConfigSpace();
        mock.AddEndpoint(0, 0, 0, (0, 0x10000, false, false));
        mock.SetBarAddress(0, 0, 0, 0, 0x1050_0000);
        AssertOk(Assign(mock, Low, null));
        Assert.That(mock.Bar32(0, 0, 0, 0), Is.EqualTo(0x1000_0000u));
    }

    // ---- ARI (scenarios rebuilt from OpenVMM's test names and enumerate.rs; see the file comment) ----

    /// <summary>A bridge at 00:00.0 with a PCI Express capability whose ARI Forwarding Supported is as given.</summary>
    private static MockConfigSpace PortAbove(bool ariForwardingSupported)
    {
        var mock = new MockConfigSpace();
        mock.AddBridge(0, 0, 0);
        mock.AddPciExpressCapability(0, 0, 0, ariForwardingSupported);
        return mock;
    }

    private static List<(byte Bus, byte Devfn, ushort Offset, uint Value)> WritesTo(MockConfigSpace mock, ushort offset) =>
        mock.Writes.Where(w => w.Offset == offset).ToList();

    [Test]
    public void ari_enabled_for_ari_cap_only()
    {
        var mock = PortAbove(ariForwardingSupported: true);
        mock.AddEndpoint(1, 0, 0, (0, 0x1000, false, false));
        mock.AddAri(1, 0, 0, 0x100, nextFunction: 0);
        var (devices, failure) = Run(mock, Low, null);
        AssertOk(failure);
        Assert.Multiple(() =>
        {
            Assert.That(WritesTo(mock, 0x68), Is.EqualTo(new[] { ((byte)0, (byte)0, (ushort)0x68, 0x20u) }), "ARI Forwarding Enable set in the port above");
            Assert.That(mock.Writes.Where(w => w.Offset == 0x108), Is.Empty, "no SR-IOV PF: ARI Capable Hierarchy untouched");
            Assert.That(devices![0].AriForwardingEnabled, Is.True);
        });
    }

    [Test]
    public void ari_forwarding_stops_the_scan_after_the_ari_device()
    {
        // With ARI forwarding on, devfn 0x08 is ARI Function 8, not Device 1: the scan must not find it again.
        var mock = PortAbove(ariForwardingSupported: true);
        mock.AddEndpoint(1, 0, 0, (0, 0x1000, false, false));
        mock.AddAri(1, 0, 0, 0x100, nextFunction: 0);
        mock.AddEndpoint(1, 1, 0, (0, 0x1000, false, false));
        var (devices, failure) = Run(mock, Low, null);
        AssertOk(failure);
        Assert.Multiple(() =>
        {
            Assert.That(devices![0].Children.Select(d => d.Devfn), Is.EqualTo(new byte[] { 0 }));
            Assert.That(mock.Writes.Where(w => w.Bus == 1 && w.Devfn == 0x08), Is.Empty, "devfn 0x08 never touched");
        });
    }

    [Test]
    public void ari_function_list_walk()
    {
        // Functions 0 -> 4 -> 17 by Next Function Number; function 2 exists but is not on the list.
        var mock = PortAbove(ariForwardingSupported: true);
        foreach (byte f in new byte[] { 0, 2, 4, 17 })
        {
            mock.AddEndpoint(1, (byte)(f >> 3), (byte)(f & 7), (0, 0x1000, false, false));
        }

        mock.AddAri(1, 0, 0, 0x100, nextFunction: 4);
        mock.AddAri(1, 0, 4, 0x100, nextFunction: 17);
        mock.AddAri(1, 2, 1, 0x100, nextFunction: 0);
        var (devices, failure) = Run(mock, Low, null);
        AssertOk(failure);
        var children = devices![0].Children;
        Assert.Multiple(() =>
        {
            Assert.That(children.Select(d => (d.Device, d.Function)), Is.EqualTo(new[] { ((byte)0, (byte)0), ((byte)0, (byte)4), ((byte)0, (byte)17) }));
            Assert.That(mock.Bar32(1, 2, 1, 0), Is.InRange(0x1000_0000u, 0x1FFF_FFFFu), "Extended Function 17 (devfn 0x11) got its BAR");
            Assert.That(mock.Writes.Where(w => w.Bus == 1 && w.Devfn == 2), Is.Empty, "function 2 is not in the list");
        });
    }

    [Test]
    public void ari_not_enabled_when_unsupported()
    {
        var mock = PortAbove(ariForwardingSupported: false);
        mock.AddEndpoint(1, 0, 0, (0, 0x1000, false, false));
        mock.AddAri(1, 0, 0, 0x100, nextFunction: 0);
        mock.AddEndpoint(1, 1, 0, (0, 0x1000, false, false));
        var (devices, failure) = Run(mock, Low, null);
        AssertOk(failure);
        Assert.Multiple(() =>
        {
            Assert.That(WritesTo(mock, 0x68), Is.Empty, "ARI Forwarding Enable not written");
            Assert.That(devices![0].AriForwardingEnabled, Is.False);
            Assert.That(devices[0].Children.Select(d => d.Devfn), Is.EqualTo(new byte[] { 0x00, 0x08 }), "without forwarding, device 1 is a device and is scanned");
        });
    }

    [Test]
    public void ari_enabled_for_sriov_device()
    {
        var mock = PortAbove(ariForwardingSupported: true);
        mock.AddEndpoint(1, 0, 0, (0, 0x1000, false, false));
        mock.AddSriov(1, 0, 0, 4, 1, 1, (0, 0x1000, false, false));
        mock.Set(1, 0, 0, 0x108, 0);
        AssertOk(Assign(mock, Low, null));
        Assert.Multiple(() =>
        {
            Assert.That(mock.Get(0, 0, 0, 0x68) & 0x20, Is.EqualTo(0x20u), "ARI Forwarding Enable");
            Assert.That(WritesTo(mock, 0x108), Is.EqualTo(new[] { ((byte)1, (byte)0, (ushort)0x108, 0x10u) }), "ARI Capable Hierarchy, SR-IOV Status written 0");
        });
    }

    [Test]
    public void ari_capable_hierarchy_lowest_pf()
    {
        // Function 0 has no SR-IOV; functions 1 and 2 are PFs: only function 1 (the lowest PF) gets the bit.
        var mock = PortAbove(ariForwardingSupported: true);
        mock.AddEndpoint(1, 0, 0, (0, 0x1000, false, false));
        mock.SetMultiFunction(1, 0);
        foreach (byte f in new byte[] { 1, 2 })
        {
            mock.AddEndpoint(1, 0, f, (0, 0x1000, false, false));
            mock.AddSriov(1, 0, f, 2, 8, 1, (0, 0x1000, false, false));
            mock.Set(1, 0, f, 0x108, 0);
        }

        AssertOk(Assign(mock, Low, null));
        Assert.That(WritesTo(mock, 0x108).Select(w => w.Devfn), Is.EqualTo(new byte[] { 1 }));
    }

    [Test]
    public void ari_no_port_at_root_bus()
    {
        // An ARI Device on the host bridge's own bus has no downstream port above it: nothing to enable.
        var mock = new MockConfigSpace();
        mock.AddEndpoint(0, 0, 0, (0, 0x1000, false, false));
        mock.AddAri(0, 0, 0, 0x100, nextFunction: 0);
        var (devices, failure) = Run(mock, Low, null);
        AssertOk(failure);
        Assert.Multiple(() =>
        {
            Assert.That(WritesTo(mock, 0x68), Is.Empty);
            Assert.That(devices!.Select(d => d.Devfn), Is.EqualTo(new byte[] { 0 }));
        });
    }

    [Test]
    public void ari_cap_without_forwarding_does_not_skip_real_devices()
    {
        // On the root bus forwarding is never enabled, so devices 1..31 are real devices and are still scanned.
        var mock = new MockConfigSpace();
        mock.AddEndpoint(0, 0, 0, (0, 0x1000, false, false));
        mock.AddAri(0, 0, 0, 0x100, nextFunction: 0);
        mock.AddEndpoint(0, 1, 0, (0, 0x1000, false, false));
        mock.AddEndpoint(0, 5, 0, (0, 0x1000, false, false));
        var (devices, failure) = Run(mock, Low, null);
        AssertOk(failure);
        Assert.That(devices!.Select(d => d.Devfn), Is.EqualTo(new byte[] { 0x00, 0x08, 0x28 }));
    }
}
