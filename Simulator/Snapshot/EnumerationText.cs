using System.Globalization;
using System.Text;
using PcieSim.Enumeration;

namespace PcieSim.Snapshot;

/// <summary>
/// An <see cref="EnumerationResult"/> as snapshot lines: per root complex its apertures, then every function the
/// enumeration found, indented by depth, with its bus numbers, windows and BARs as assigned.
/// </summary>
public static class EnumerationText
{
    /// <summary>The lines, without leading indentation (the caller indents them).</summary>
    public static IEnumerable<string> Lines(EnumerationResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        foreach (var rc in result.RootComplexes)
        {
            string apertures = Inv($"low_mmio {Aperture(rc.LowMmio)}, high_mmio {Aperture(rc.HighMmio)}");
            if (!rc.Enumerated)
            {
                yield return Inv($"{rc.RootComplex.Name}: {apertures}; not enumerated (an earlier root complex failed)");
                continue;
            }

            yield return Inv($"{rc.RootComplex.Name}: {apertures}");
            if (rc.Error is { } error)
            {
                yield return "  error: " + error.Message;
                continue;
            }

            foreach (var function in rc.Functions)
            {
                foreach (string line in FunctionLines(function, 1))
                {
                    yield return line;
                }
            }
        }
    }

    /// <summary>One function: <c>BDF name: details</c>.</summary>
    public static string Describe(FunctionAssignment function)
    {
        ArgumentNullException.ThrowIfNull(function);
        var text = new StringBuilder(function.Bdf).Append(' ').Append(function.Target?.Name ?? "(no model function)").Append(':');
        var parts = new List<string>();
        if (function.Buses is { } buses)
        {
            parts.Add(Inv($"buses {buses.Secondary:x2}-{buses.Subordinate:x2}"));
        }

        if (function.IsBridge)
        {
            parts.Add("memory " + Window(function.MemoryWindow));
            parts.Add("prefetchable " + Window(function.PrefetchableWindow));
        }

        if (function.AriForwardingEnabled)
        {
            parts.Add("ARI forwarding enabled");
        }

        foreach (var bar in function.Bars)
        {
            parts.Add(Inv($"BAR{bar.Index} 0x{bar.Address:x} size 0x{bar.Size:x} {Kind(bar)}"));
        }

        foreach (var bar in function.VfBars)
        {
            parts.Add(Inv($"VF BAR{bar.Index} 0x{bar.Address:x} size 0x{bar.Size:x} x {function.TotalVfs} VFs {Kind(bar)}"));
        }

        if (!function.IsBridge && function.Bars.Count == 0 && function.VfBars.Count == 0)
        {
            parts.Add("no memory BARs");
        }

        return text.Append(' ').Append(string.Join(", ", parts)).ToString();
    }

    private static IEnumerable<string> FunctionLines(FunctionAssignment function, int depth)
    {
        yield return new string(' ', depth * 2) + Describe(function);
        foreach (var child in function.Children)
        {
            foreach (string line in FunctionLines(child, depth + 1))
            {
                yield return line;
            }
        }
    }

    private static string Aperture(MmioAperture? aperture) => aperture is { } a ? Inv($"0x{a.Base:x}-0x{a.Limit:x}") : "none";

    private static string Window(AddressWindow? window) => window is { } w ? Inv($"0x{w.Base:x}-0x{w.Limit:x}") : "disabled";

    private static string Kind(BarAssignment bar) => (bar.Is64Bit ? "64-bit" : "32-bit") + (bar.Prefetchable ? " prefetchable" : "");

    private static string Inv(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
