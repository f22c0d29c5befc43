using System.Globalization;
using PcieSim.AddressDecode;
using PcieSim.Conformance.TestSupport;
using PcieSim.Topology;
using PcieSim.Topology.Language;

namespace PcieSim.Conformance.Topology;

/// <summary>
/// The model's ECAM decode (PCIe Base Spec r6.0 §7.2.2) through the MiB table of <see cref="EcamMap"/>, against the
/// definition: the first window in base order whose own decode (<see cref="EcamWindow.TryDecode"/>) holds the
/// address. At every MiB boundary of the table's span, at every window edge, outside every window, at the largest
/// span the table holds and one MiB beyond it (the scan), and at the top of the address space.
/// </summary>
public class EcamMapTests
{
    /// <summary>The definition: the windows in base order, the first whose own decode holds the address.</summary>
    private static (bool Found, RootComplex? Rc, EcamAddress Decoded) Expected(PcieModel model, ulong address)
    {
        foreach (var rc in model.RootComplexes.OrderBy(r => r.Window.Base))
        {
            if (rc.Window.TryDecode(address, out var decoded))
            {
                return (true, rc, decoded);
            }
        }

        return (false, null, default);
    }

    /// <summary>
    /// Every probe decoded through the model, through a copy of its map held apart (as a caller decoding many addresses
    /// holds it) and by the definition; fails listing the first disagreements.
    /// </summary>
    private static void AssertAgree(PcieModel model, IEnumerable<ulong> probes)
    {
        var failures = new List<string>();
        var held = model.Ecam;
        int count = 0;
        foreach (ulong address in probes)
        {
            count++;
            var expected = Expected(model, address);
            bool found = model.TryDecodeEcam(address, out var rc, out var decoded);
            bool heldFound = held.TryDecode(address, out var heldRc, out var heldDecoded);
            if ((found, rc, decoded) != expected || (heldFound, heldRc, heldDecoded) != expected || !ReferenceEquals(model.FindRootComplex(address), expected.Rc))
            {
                failures.Add(string.Create(CultureInfo.InvariantCulture, $"0x{address:x}: {found} {rc?.Name} {decoded}, expected {expected.Found} {expected.Rc?.Name} {expected.Decoded}"));
            }
        }

        Assert.That(count, Is.GreaterThan(0));
        Assert.That(failures.Take(10), Is.Empty, string.Create(CultureInfo.InvariantCulture, $"{failures.Count} of {count} probes disagree"));
    }

    /// <summary>Around every window: its first and last byte, the byte on either side, and each bus's edges.</summary>
    private static IEnumerable<ulong> WindowEdges(PcieModel model)
    {
        yield return 0;
        yield return ulong.MaxValue;
        foreach (var rc in model.RootComplexes)
        {
            var w = rc.Window;
            ulong last = w.Base + (w.Size - 1);
            yield return w.Base - 1;
            yield return w.Base;
            yield return last;
            yield return last + 1;
            yield return w.Base - 0x10_0000;
            yield return last + 0x10_0000;
            for (ulong bus = w.Base; bus - w.Base < w.Size; bus += 0x10_0000)
            {
                yield return bus + 0xF_FFFC;
                yield return bus + 0x10_0000;
            }
        }
    }

    /// <summary>Every MiB from two below the lowest window to two above the highest: its edges and inside it.</summary>
    private static IEnumerable<ulong> EveryMib(PcieModel model)
    {
        ulong low = model.RootComplexes.Min(r => r.Window.Base);
        ulong high = model.RootComplexes.Max(r => r.Window.Base + (r.Window.Size - 1));
        for (ulong mib = (low >> 20) - 2; mib <= (high >> 20) + 2; mib++)
        {
            ulong start = mib << 20;
            yield return start - 1;
            yield return start;
            yield return start + 0xFFF;
            yield return start + 0x1000;
            yield return start + 0x8_7654;
            yield return start + 0xF_FFFF;
        }
    }

    /// <summary>Entries of the model's MiB table: 0 when it falls back to the scan.</summary>
    private static int TableLength(PcieModel model) => model.Ecam.TableLength;

    private static PcieModel HandBuilt(string flags, params ulong[] bases)
    {
        var spec = TopologyParser.Parse(flags, "test");
        var rcs = spec.RootComplexes.Select((rc, i) => rc with { EcamBase = bases[i] }).ToList();
        return new PcieModel(spec with { RootComplexes = rcs });
    }

    [TestCase("--pcie-root-complex rc0", 256, TestName = "ecam_table_one_window_every_mib")]
    [TestCase("--pcie-root-complex a,end_bus=63 --pcie-root-complex b,start_bus=64,end_bus=127 --pcie-root-complex c,start_bus=128,end_bus=191 --pcie-root-complex d,start_bus=192", 256, TestName = "ecam_table_four_contiguous_windows_every_mib")]
    [TestCase("--pcie-root-complex a,start_bus=0x10,end_bus=0x1f --pcie-root-complex b,segment=1,start_bus=0x80,end_bus=0x8f --pcie-root-complex c,segment=2,end_bus=3", 0x2004, TestName = "ecam_table_windows_with_gaps_every_mib")]
    public void ecam_table_agrees_with_the_windows_at_every_mib(string flags, int tableLength)
    {
        var model = Topo.Build(flags);
        Assert.That(TableLength(model), Is.EqualTo(tableLength), "decoded through the table");
        AssertAgree(model, EveryMib(model).Concat(WindowEdges(model)));
    }

    /// <summary>Hand-built windows (the topology language refuses them) that overlap: the lowest base claims.</summary>
    [Test]
    public void ecam_table_overlapping_hand_built_windows_lowest_base_claims_every_mib()
    {
        var model = HandBuilt("--pcie-root-complex a --pcie-root-complex b,segment=1,end_bus=15 --pcie-root-complex c,segment=2,end_bus=3", 0x10_0000_0000, 0x10_0800_0000, 0x10_0040_0000);
        Assert.That(TableLength(model), Is.EqualTo(256), "decoded through the table");
        Assert.That(model.FindRootComplex(0x10_0800_0000)?.Name, Is.EqualTo("a"));
        AssertAgree(model, EveryMib(model).Concat(WindowEdges(model)));
    }

    /// <summary>
    /// The table holds at most <see cref="EcamMap.MaxChunks"/> MiB of span: two one-bus windows exactly that far apart
    /// (first byte of the first to last byte of the second) decode through it; one MiB further apart, through the scan.
    /// </summary>
    [TestCase(0UL, EcamMap.MaxChunks, TestName = "ecam_decode_largest_span_the_table_holds")]
    [TestCase(0x10_0000UL, 0, TestName = "ecam_decode_one_mib_beyond_the_table_scans")]
    public void ecam_decode_at_the_table_size_limit(ulong further, int tableLength)
    {
        const ulong first = 0x10_0000_0000;
        ulong second = first + ((ulong)(EcamMap.MaxChunks - 1) << 20) + further;
        var model = Topo.Build(string.Create(CultureInfo.InvariantCulture, $"--pcie-root-complex a,end_bus=0 --pcie-root-complex b,segment=1,end_bus=0,ecam_base=0x{second:x}"));
        Assert.That(TableLength(model), Is.EqualTo(tableLength));
        AssertAgree(model, WindowEdges(model).Concat([first + 0x10_0000, second - 0x10_0000, first + (second - first) / 2]));
    }

    /// <summary>A window whose last byte is the last of the address space: its end does not fit 64 bits.</summary>
    [TestCase("--pcie-root-complex a,end_bus=0,ecam_base=0xfffffffff0000000 --pcie-root-complex b,segment=1,end_bus=0,ecam_base=0xfffffffffff00000", 256, TestName = "ecam_decode_window_at_the_top_of_the_address_space_table")]
    [TestCase("--pcie-root-complex a,end_bus=15,ecam_base=0xffffffffff000000", 16, TestName = "ecam_decode_one_window_at_the_top_of_the_address_space")]
    [TestCase("--pcie-root-complex a,end_bus=0,ecam_base=0 --pcie-root-complex b,segment=1,end_bus=0,ecam_base=0xfffffffffff00000", 0, TestName = "ecam_decode_windows_at_both_ends_of_the_address_space_scan")]
    public void ecam_decode_at_the_top_of_the_address_space(string flags, int tableLength)
    {
        var model = Topo.Build(flags);
        Assert.That(TableLength(model), Is.EqualTo(tableLength));
        AssertAgree(model, WindowEdges(model));
        var top = model.RootComplexes[^1];
        bool found = model.TryDecodeEcam(ulong.MaxValue, out var rc, out var decoded);
        Assert.That((found, rc, decoded), Is.EqualTo((true, top, new EcamAddress(top.EndBus, 0xFF, 0xFFF))));
    }

    /// <summary>Addresses in no window: false, no root complex and a default address, through the table and the scan.</summary>
    [TestCase("--pcie-root-complex a,end_bus=63 --pcie-root-complex b,segment=1,end_bus=63", TestName = "ecam_decode_outside_every_window_table")]
    [TestCase("--pcie-root-complex a,end_bus=63 --pcie-root-complex b,segment=40,end_bus=63", TestName = "ecam_decode_outside_every_window_scan")]
    public void ecam_decode_outside_every_window(string flags)
    {
        var model = Topo.Build(flags);
        var a = model.RootComplexes[0].Window;
        var b = model.RootComplexes[1].Window;
        ulong[] outside = [0, a.Base - 1, a.Base + a.Size, b.Base - 1, b.Base + b.Size, b.Base + b.Size + 0x10_0000, ulong.MaxValue, a.Base + a.Size + ((b.Base - a.Base - a.Size) / 2)];
        foreach (ulong address in outside)
        {
            bool found = model.TryDecodeEcam(address, out var rc, out var decoded);
            Assert.That((found, rc, decoded, model.FindRootComplex(address)), Is.EqualTo((false, (RootComplex?)null, default(EcamAddress), (RootComplex?)null)), string.Create(CultureInfo.InvariantCulture, $"0x{address:x}"));
        }

        AssertAgree(model, outside);
    }
}
