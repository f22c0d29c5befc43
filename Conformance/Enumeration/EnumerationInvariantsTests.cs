using PcieSim.Conformance.TestSupport;
using PcieSim.Enumeration;
using PcieSim.Topology;

namespace PcieSim.Conformance.Enumeration;

/// <summary>
/// The enumeration invariant checker (anchors 4a; issue 6): kept after OpenVMM's enumeration of several topologies,
/// and each invariant broken by guest configuration writes on an enumerated model, one at a time.
/// </summary>
[TestFixture]
public sealed class EnumerationInvariantsTests
{
    // rp0 -> sw0 (two downstream ports, an endpoint on each), rp1 -> endpoint; all BARs 64-bit prefetchable.
    private const string Tree =
        "--pcie-root-complex rc0 --pcie-root-port rc0:rp0 --pcie-root-port rc0:rp1 --pcie-switch rp0:sw0,num_downstream_ports=2 "
        + "--pcie-endpoint sw0-downstream-0:a,template=generic,bar0=64K --pcie-endpoint sw0-downstream-1:b,template=generic,bar0=1M,bar2=16K "
        + "--pcie-endpoint rp1:c,template=nvme";

    private static PcieModel Enumerated(string flags = Tree)
    {
        var model = Topo.Build(flags);
        Assert.That(VmmEnumerator.Run(model).Error, Is.Null);
        return model;
    }

    private static void Write(PcieModel model, int bus, int devfn, int register, uint value) =>
        Assert.That(model.Write(model.RootComplexes[0], (byte)bus, (byte)devfn, register, 4, value).Completed, Is.True, "the breaking write must reach its function");

    private static void AssertOnly(PcieModel model, string rule, string subject)
    {
        var findings = EnumerationInvariants.Check(model);
        Assert.That(findings.Select(f => (f.Rule, f.Subject)), Does.Contain((rule, subject)), string.Join("\n", findings));
        Assert.That(findings.Select(f => f.Rule).Distinct(), Is.EqualTo(new[] { rule }), string.Join("\n", findings));
    }

    [TestCase(Tree)]
    [TestCase("--pcie-root-complex rc0 --amd-iommu rc0 --pcie-root-port rc0:a,hotplug --pcie-root-port rc0:b,addr=3.0 --pcie-root-port rc0:c,addr=3.1 --pcie-endpoint c:n,template=nvme")]
    [TestCase("--pcie-root-complex r0,end_bus=0x3f --pcie-root-complex r1,start_bus=0x40 --pcie-root-complex r2,segment=2 "
        + "--pcie-root-port r0:p0 --pcie-root-port r1:p1 --pcie-root-port r2:p2 --pcie-switch p0:s0 --pcie-switch p1:s1,num_downstream_ports=2 "
        + "--pcie-switch s1-downstream-1:s2,num_downstream_ports=2 --pcie-endpoint s0-downstream-3:e0,template=generic,bar0=32M,bar2=4K,bar4=256M "
        + "--pcie-endpoint s2-downstream-0:e1,template=nvme --pcie-endpoint p2:e2,template=generic,bar0=512M")]
    public void invariants_hold_after_vmm_enumeration(string flags)
    {
        var model = Enumerated(flags);
        Assert.That(EnumerationInvariants.Check(model), Is.Empty);
    }

    [Test]
    public void the_reset_state_breaks_nothing()
    {
        var model = Topo.Build(Tree);
        Assert.That(EnumerationInvariants.Check(model), Is.Empty, "nothing is enumerated, nothing is judged");
    }

    [Test]
    public void a_bridge_range_outside_its_parent_breaks_bus_nest()
    {
        var model = Enumerated();
        Write(model, 1, 0, 0x18, 0x0009_0901); // sw0 upstream port: buses 09-09, outside rp0's 02-04
        AssertOnly(model, EnumerationInvariants.BusNest, "sw0");
    }

    [Test]
    public void an_inverted_range_breaks_bus_nest()
    {
        var model = Enumerated();
        Write(model, 0, 0x01, 0x18, 0x0004_0500); // rp1: secondary 05 above subordinate 04
        AssertOnly(model, EnumerationInvariants.BusNest, "rp1");
    }

    [Test]
    public void a_programmed_range_below_an_unprogrammed_bridge_breaks_bus_nest()
    {
        var model = Enumerated();
        Write(model, 0, 0x00, 0x18, 0); // rp0 back to 0..0; its switch keeps 02-04
        var findings = EnumerationInvariants.Check(model);
        Assert.That(findings.Select(f => (f.Rule, f.Subject)), Is.EqualTo(new[] { (EnumerationInvariants.BusNest, "sw0") }), string.Join("\n", findings));
    }

    [Test]
    public void sibling_ranges_that_overlap_break_bus_overlap()
    {
        var model = Enumerated();
        // rp1 claims 04-05, overlapping rp0's 01-04; sw0-downstream-1 (bus 04) stays inside rp0.
        Write(model, 0, 0x01, 0x18, 0x0005_0400);
        AssertOnly(model, EnumerationInvariants.BusOverlap, "rp1");
    }

    [Test]
    public void a_child_window_outside_its_parent_breaks_window_nest()
    {
        var model = Enumerated();
        var dsp = model.FindPort("sw0-downstream-0")!;
        uint prefetchable = dsp.ReadDword(0x24);
        Write(model, 2, 0x00, 0x28, 0x81); // upper base and limit 0x81: the window moves 4 GiB up, out of sw0's
        Write(model, 2, 0x00, 0x2C, 0x81);
        Assert.That(dsp.ReadDword(0x24), Is.EqualTo(prefetchable));
        var findings = EnumerationInvariants.Check(model);
        Assert.Multiple(() =>
        {
            Assert.That(findings.Select(f => (f.Rule, f.Subject)), Does.Contain((EnumerationInvariants.WindowNest, "sw0-downstream-0")), string.Join("\n", findings));
            Assert.That(findings.Select(f => f.Rule), Is.All.AnyOf(EnumerationInvariants.WindowNest, EnumerationInvariants.BarWindow),
                "the endpoint's BAR is now outside its port's window too");
        });
    }

    [Test]
    public void sibling_windows_that_overlap_break_window_overlap()
    {
        var model = Enumerated();
        var rp0 = model.FindPort("rp0")!;
        // rp1's prefetchable window set to rp0's: two siblings claim the same range.
        ulong rp0Base = ((ulong)(rp0.ReadDword(0x24) & 0xFFF0) << 16) | ((ulong)rp0.ReadDword(0x28) << 32);
        Assert.That(rp0Base >> 32, Is.EqualTo(0x80UL));
        Write(model, 0, 0x01, 0x24, rp0.ReadDword(0x24));
        Write(model, 0, 0x01, 0x28, rp0.ReadDword(0x28));
        Write(model, 0, 0x01, 0x2C, rp0.ReadDword(0x2C));
        var findings = EnumerationInvariants.Check(model);
        Assert.Multiple(() =>
        {
            Assert.That(findings.Select(f => (f.Rule, f.Subject)), Does.Contain((EnumerationInvariants.WindowOverlap, "rp1")), string.Join("\n", findings));
            Assert.That(findings.Select(f => f.Rule), Is.All.AnyOf(EnumerationInvariants.WindowOverlap, EnumerationInvariants.BarWindow),
                "rp1's endpoint BAR is now outside rp1's window");
        });
    }

    [Test]
    public void a_bar_outside_its_port_window_breaks_bar_window()
    {
        var model = Enumerated();
        Write(model, 3, 0x00, 0x14, 0x90); // endpoint a: BAR0 upper DWORD 0x90, far outside its port's window
        var findings = EnumerationInvariants.Check(model);
        Assert.That(findings.Select(f => (f.Rule, f.Subject)), Is.EqualTo(new[] { (EnumerationInvariants.BarWindow, "a") }), string.Join("\n", findings));
    }

    [Test]
    public void two_bars_at_one_address_break_bar_overlap()
    {
        var model = Enumerated();
        var b = model.FindEndpoint("b")!;
        // Endpoint b's BAR2 (16 KiB) moved onto its own BAR0 (1 MiB), inside the same window.
        Write(model, 4, 0x00, 0x18, (uint)b.BarBase(0));
        Write(model, 4, 0x00, 0x1C, (uint)(b.BarBase(0) >> 32));
        var findings = EnumerationInvariants.Check(model);
        Assert.That(findings.Select(f => (f.Rule, f.Subject)), Is.EqualTo(new[] { (EnumerationInvariants.BarOverlap, "b") }), string.Join("\n", findings));
        Assert.That(findings[0].Detail, Does.Contain("overlaps b BAR2"));
    }
}
