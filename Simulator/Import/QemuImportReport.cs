using System.Globalization;
using System.Text;

namespace PcieSim.Import;

/// <summary>
/// How every line of a QEMU log was used: rows, lines consumed into rows or repeating them, traffic that is not
/// configuration or MSI (per memory region), and unknown and malformed lines with their line numbers. Written into
/// the trace's header and, by the console, to standard error.
/// </summary>
public sealed class QemuImportReport
{
    /// <summary>How many line ranges a header comment lists per kind; standard error lists them all.</summary>
    public const int HeaderRanges = 20;

    private readonly SortedDictionary<string, List<long>> unknown = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, List<long>> malformed = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, long> consumed = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, long> skipped = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, long> mechanisms = new(StringComparer.Ordinal);

    internal QemuImportReport(string source, bool memoryMode)
    {
        Source = source;
        MemoryMode = memoryMode;
    }

    public string Source { get; }

    /// <summary>Configuration rows come from memory_region_ops (true) or from pci_cfg_* (false).</summary>
    public bool MemoryMode { get; }

    public long Lines { get; internal set; }

    public long Blank { get; internal set; }

    public long ConfigRows { get; private set; }

    public long ExactWidths { get; private set; }

    public long InferredWidths { get; private set; }

    public long Messages { get; internal set; }

    public long Mmio { get; internal set; }

    public long Hotplug { get; internal set; }

    public long UnknownLines => unknown.Values.Sum(l => (long)l.Count);

    public long MalformedLines => malformed.Values.Sum(l => (long)l.Count);

    /// <summary>Unknown lines by kind (an event name, or text that is no trace event), with their line numbers.</summary>
    public IReadOnlyDictionary<string, List<long>> Unknown => unknown;

    /// <summary>Malformed lines by event name, with their line numbers.</summary>
    public IReadOnlyDictionary<string, List<long>> Malformed => malformed;

    internal void AddUnknown(string kind, long line) => Add(unknown, kind, line);

    internal void AddMalformed(string kind, long line) => Add(malformed, kind, line);

    internal void Consume(string what) => consumed[what] = consumed.GetValueOrDefault(what) + 1;

    internal void Skip(string region) => skipped[region] = skipped.GetValueOrDefault(region) + 1;

    internal void Mechanism(string what)
    {
        mechanisms[what] = mechanisms.GetValueOrDefault(what) + 1;
        ConfigRows++;
    }

    internal void Widths(bool exact)
    {
        ConfigRows++;
        if (exact)
        {
            ExactWidths++;
        }
        else
        {
            InferredWidths++;
        }
    }

    /// <summary>The accounting as header comments (line lists shortened to <see cref="HeaderRanges"/> ranges per kind).</summary>
    internal IEnumerable<string> HeaderComments(QemuImportOptions options)
    {
        if (ConfigRows == 0)
        {
            yield return "configuration rows: none (the log has no pci_cfg_* lines and no memory_region_ops lines on configuration space)";
        }
        else if (MemoryMode)
        {
            yield return Inv($"configuration rows: {ConfigRows} from memory_region_ops with their widths ({Join(mechanisms)})");
        }
        else
        {
            yield return Inv($"configuration rows: {ConfigRows} from pci_cfg_read/pci_cfg_write; QEMU logs no width: {ExactWidths} exact, {InferredWidths} inferred (note width-inferred); naturally aligned accesses assumed");
            yield return "pci_cfg_* logs show only accesses a function decoded (no master-abort probes) and not the mechanism (CF8/CFC or ECAM)";
        }

        yield return Messages > 0 || MemoryMode
            ? Inv($"msi rows: {Messages} (interrupt writes a function's programmed MSI or MSI-X message explains); mmio rows: {Mmio} (MSI-X tables and PBAs)")
            : "no msi rows: pci_cfg_* logs carry no interrupt messages (add -trace memory_region_ops_read -trace memory_region_ops_write)";
        yield return options.Events is null
            ? "no hotplug rows: no --events file was given (QEMU's trace log has no hotplug events)"
            : Inv($"hotplug rows: {Hotplug} from {options.EventsSource ?? "the event log"} (the recorder's QMP actions)");
        if (consumed.Count > 0)
        {
            yield return "used without a row of their own: " + Join(consumed);
        }

        if (skipped.Count > 0)
        {
            yield return "skipped, not configuration or MSI traffic (memory_region_ops lines by region): " + Join(skipped);
        }

        foreach (string line in Problems(HeaderRanges))
        {
            yield return line;
        }
    }

    /// <summary>The report for standard error: a summary line, then every unknown and malformed line number.</summary>
    public IEnumerable<string> Describe()
    {
        yield return Inv($"{Source}: {Lines} lines -> {ConfigRows} configuration rows, {Messages} msi rows, {Mmio} mmio rows, {Hotplug} hotplug rows; {UnknownLines} unknown and {MalformedLines} malformed lines");
        foreach (string line in Problems(int.MaxValue))
        {
            yield return Source + ": " + line;
        }
    }

    private IEnumerable<string> Problems(int maxRanges)
    {
        if (unknown.Count > 0)
        {
            yield return Inv($"unknown lines: {UnknownLines}: ") + string.Join("; ", unknown.Select(kv => Inv($"{kv.Key} ({kv.Value.Count}): lines {Ranges(kv.Value, maxRanges)}")));
        }

        if (malformed.Count > 0)
        {
            yield return Inv($"malformed lines: {MalformedLines}: ") + string.Join("; ", malformed.Select(kv => Inv($"{kv.Key} ({kv.Value.Count}): lines {Ranges(kv.Value, maxRanges)}")));
        }
    }

    /// <summary>Line numbers as ranges: <c>3-7, 12, 20-25</c>; at most <paramref name="max"/> ranges, then <c>...</c>.</summary>
    public static string Ranges(IReadOnlyList<long> lines, int max)
    {
        ArgumentNullException.ThrowIfNull(lines);
        var text = new StringBuilder();
        int ranges = 0;
        int i = 0;
        while (i < lines.Count)
        {
            int j = i;
            while (j + 1 < lines.Count && lines[j + 1] == lines[j] + 1)
            {
                j++;
            }

            if (ranges == max)
            {
                text.Append(", ...");
                break;
            }

            if (ranges > 0)
            {
                text.Append(", ");
            }

            text.Append(lines[i].ToString(CultureInfo.InvariantCulture));
            if (j > i)
            {
                text.Append('-').Append(lines[j].ToString(CultureInfo.InvariantCulture));
            }

            ranges++;
            i = j + 1;
        }

        return text.ToString();
    }

    private static void Add(SortedDictionary<string, List<long>> map, string kind, long line)
    {
        if (!map.TryGetValue(kind, out var list))
        {
            map[kind] = list = [];
        }

        list.Add(line);
    }

    private static string Join(SortedDictionary<string, long> counts) =>
        string.Join(", ", counts.Select(kv => Inv($"{kv.Key} {kv.Value}")));

    private static string Inv(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
