using System.Globalization;
using PcieSim.Files;
using PcieSim.Lint;
using PcieSim.Replay;
using PcieSim.Topology.Language;

namespace PcieSim.Import;

/// <summary>What <c>pciesim import qemu</c> is given besides the log.</summary>
public sealed record QemuImportOptions
{
    /// <summary>A topology replacing the one inferred from the log (<c>--topology</c>), or null.</summary>
    public TopologySpec? Topology { get; init; }

    /// <summary>Where <see cref="Topology"/> came from, for the header comment.</summary>
    public string? TopologySource { get; init; }

    /// <summary>The recorder's QMP actions (<c>--events</c>), or null: then no hotplug rows are written.</summary>
    public IReadOnlyList<QmpEvent>? Events { get; init; }

    /// <summary>Where <see cref="Events"/> came from, for messages and the header comment.</summary>
    public string? EventsSource { get; init; }

    /// <summary>Extra header comments (a recorder's command line, say), written first.</summary>
    public IReadOnlyList<string> Comments { get; init; } = [];
}

/// <summary>
/// Converts a QEMU trace log (the <c>log</c> trace backend, QEMU 7.2) into a trace:
/// <list type="bullet">
/// <item><c>pci_cfg_read</c>/<c>pci_cfg_write</c>: configuration-address rows with the recorded values; QEMU logs no
/// width, so it is inferred (<see cref="AccessWidths"/>) and the note says <c>width-inferred</c> where it is not exact.</item>
/// <item><c>memory_region_ops_read</c>/<c>_write</c> (when the log has them for configuration space): ECAM rows with
/// their real widths, 0xCF8/0xCFC pairs folded into configuration-address rows (PCI Local Bus 3.0 §3.2.2.3.2),
/// MSI-X table and PBA accesses as mmio rows, and interrupt writes that a function's programmed MSI or MSI-X
/// message explains as <c>msi</c> rows (PCIe Base Spec r6.0 §6.1.4).</item>
/// <item><c>gicv3_its_translation_write</c>: <c>msi</c> rows at GITS_TRANSLATER with the requester ID.</item>
/// </list>
/// Hotplug rows come from the recorder's event log, placed after the number of log lines it names. Every log line
/// is accounted for in the header: rows, lines consumed into rows, traffic that is not configuration or MSI (by
/// region), and unknown and malformed lines with their line numbers. Reads no file: the caller opens the log.
/// </summary>
public static class QemuLogImporter
{
    /// <summary>QEMU q35's MMCONFIG base (PCIEXBAR default) when the log never shows the guest programming it.</summary>
    public const ulong Q35DefaultEcamBase = 0xB000_0000;

    /// <summary>QEMU virt's high ECAM window (256 buses) when the log is an Arm guest's and never shows it.</summary>
    public const ulong VirtDefaultEcamBase = 0x40_1000_0000;

    /// <summary>QEMU virt's GITS_TRANSLATER (0x08080000 ITS frame + 0x10000 + 0x40) when no topology names one.</summary>
    public const ulong VirtItsTranslater = 0x0809_0040;

    internal const string PciConfData = "pci-conf-data";
    internal const string PciConfIndex = "pci-conf-idx";
    internal const string Mmcfg = "pcie-mmcfg-mmio";
    internal const string MsixTable = "msix-table";
    internal const string MsixPba = "msix-pba";
    internal const string ApicMsi = "apic-msi";

    /// <summary>x86 MSI address base and local APIC default base (Intel SDM Vol. 3 §11.11.1).</summary>
    private const ulong ApicBase = 0xFEE0_0000;

    /// <summary>
    /// Imports the log <paramref name="openLog"/> opens (called twice: the first pass decides which events carry the
    /// configuration accesses) and writes the trace to <paramref name="output"/>.
    /// </summary>
    /// <exception cref="InputException">The log has no QEMU trace event, an event names what the topology lacks, or an ECAM access lies outside the given topology's windows.</exception>
    public static QemuImportReport Import(Func<TextReader> openLog, string source, QemuImportOptions options, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(openLog);
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(output);

        bool memoryMode = false;
        bool anyEvent = false;
        long lineCount = 0;
        using (var reader = openLog())
        {
            while (reader.ReadLine() is { } text)
            {
                lineCount++;
                var line = QemuLogLine.Parse(text);
                anyEvent |= line.Kind is not (QemuLineKind.Blank or QemuLineKind.Unknown or QemuLineKind.Malformed);
                memoryMode |= line.Kind is QemuLineKind.MemoryRead or QemuLineKind.MemoryWrite && line.Region is PciConfData or Mmcfg;
            }
        }

        if (!anyEvent)
        {
            // An empty log is reported where the first event was expected, like an empty trace.
            throw new InputException(source, 1, 1,
                "found no QEMU trace event, expected a log of -trace pci_cfg_read -trace pci_cfg_write (or memory_region_ops_read/write) from QEMU's log trace backend");
        }

        if (options.Events is { } events && events.Count > 0 && events[^1].LogLinesBefore > lineCount)
        {
            var last = events[^1];
            throw new InputException(options.EventsSource ?? "events", last.Line, 1, Inv(
                $"found an action after {last.LogLinesBefore} log lines, but the log has {lineCount} lines; expected the event log of this trace log"));
        }

        var run = new ImportRun(source, options, memoryMode);
        using (var reader = openLog())
        {
            long number = 0;
            while (reader.ReadLine() is { } text)
            {
                number++;
                run.Take(number, QemuLogLine.Parse(text));
            }
        }

        run.Finish(lineCount);
        return run.Write(output);
    }

    internal static string Inv(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    /// <summary>One import: the state the log's lines build up, and the rows.</summary>
    private sealed class ImportRun
    {
        private readonly string source;
        private readonly QemuImportOptions options;
        private readonly bool memoryMode;
        private readonly List<TraceRecord> rows = [];
        private readonly Dictionary<FunctionAddress, RecordedFunction> functions = [];
        private readonly SortedDictionary<FunctionAddress, SortedSet<string>> names = [];
        private readonly Dictionary<ulong, uint[]> msixEntries = [];
        private readonly QemuImportReport report;
        private int nextEvent;
        private uint cf8;
        private ulong? ecamBase;
        private int ecamBuses = 256;
        private bool itsSeen;
        private (long Line, ulong Address)? uncovered;

        public ImportRun(string source, QemuImportOptions options, bool memoryMode)
        {
            this.source = source;
            this.options = options;
            this.memoryMode = memoryMode;
            report = new QemuImportReport(source, memoryMode);
        }

        public void Take(long number, QemuLogLine line)
        {
            report.Lines = number;
            switch (line.Kind)
            {
                case QemuLineKind.Blank:
                    report.Blank++;
                    return;
                case QemuLineKind.Unknown:
                    report.AddUnknown(line.Event is null ? "text that is no trace event" : "event '" + line.Event + "'", number);
                    return;
                case QemuLineKind.Malformed:
                    report.AddMalformed(line.Event!, number);
                    return;
                case QemuLineKind.KnownNoRow:
                    report.Consume(line.Event + " (repeats a configuration write's effect)");
                    return;
                case QemuLineKind.PciCfgRead:
                case QemuLineKind.PciCfgWrite:
                    PciCfg(number, line);
                    return;
                case QemuLineKind.MemoryRead:
                case QemuLineKind.MemoryWrite:
                    Memory(number, line);
                    return;
                case QemuLineKind.ItsTranslationWrite:
                    Its(number, line);
                    return;
            }
        }

        public void Finish(long lineCount)
        {
            EmitEventsBefore(long.MaxValue);
            report.Lines = lineCount;
            if (options.Topology is { } spec && uncovered is { } miss)
            {
                throw new InputException(source, (int)Math.Min(miss.Line, int.MaxValue), 1, Inv(
                    $"found an ECAM access at 0x{miss.Address:x}, which no root complex of the topology ({options.TopologySource ?? "--topology"}) decodes; expected a topology with this ECAM window (ecam_base=0x{ecamBase ?? Q35DefaultEcamBase:x})"));
            }

            if (options.Topology is { } topology && options.Events is { } events)
            {
                CheckEvents(topology, events);
            }
        }

        public QemuImportReport Write(TextWriter output)
        {
            var header = new QemuTopologyInference(functions, names, ecamBase, ecamBuses, itsSeen, options).Build();
            var comments = new List<string>(options.Comments);
            comments.Add(Inv($"imported by pciesim import qemu from {source} (a QEMU trace log, {report.Lines} lines); seq is the log line"));
            comments.AddRange(report.HeaderComments(options));
            comments.AddRange(header.Comments);
            using var writer = new TraceWriter(output, header.Flags, comments, TraceFormat.ColumnNames, leaveOpen: true);
            foreach (var row in rows)
            {
                writer.Write(row);
            }

            writer.Flush();
            return report;
        }

        private void PciCfg(long number, QemuLogLine line)
        {
            var address = new FunctionAddress(0, line.Bus, line.Devfn);
            if (!names.TryGetValue(address, out var set))
            {
                names[address] = set = new SortedSet<string>(StringComparer.Ordinal);
            }

            set.Add(line.Device!);
            if (memoryMode)
            {
                report.Consume("pci_cfg_* lines (the memory_region_ops rows carry the same accesses, with widths)");
                return;
            }

            bool write = line.Kind == QemuLineKind.PciCfgWrite;
            var function = Function(address);
            int register = (int)line.Register;
            var possible = AccessWidths.Possible(function, register, line.Value, write);
            int width;
            bool exact = possible.Count == 1;
            if (exact)
            {
                width = possible[0];
            }
            else if (possible.Count > 1)
            {
                int? natural = AccessWidths.Natural(function, register);
                width = natural is int n && possible.Contains(n) ? n : possible[^1];
            }
            else
            {
                // Misaligned or wider than its alignment allows (QEMU accepts such accesses): the narrowest width that holds the value.
                width = line.Value <= 0xFF ? 1 : line.Value <= 0xFFFF ? 2 : 4;
            }

            report.Widths(exact);
            Config(number, write, address, register, width, line.Value, exact ? null : "width-inferred");
        }

        private void Memory(long number, QemuLogLine raw)
        {
            // QEMU logs a read handler's return value before it is cut to the access size (an absent function's
            // 0xffffffff for a 2-byte CFC read, say): the requester received only the low bytes.
            var line = raw with { Value = raw.Size >= 8 ? raw.Value : raw.Value & ((1UL << (8 * raw.Size)) - 1) };
            bool write = line.Kind == QemuLineKind.MemoryWrite;
            switch (line.Region)
            {
                case PciConfIndex:
                    if (write && line.Size == 4 && line.Address == 0xCF8)
                    {
                        cf8 = (uint)line.Value;
                        report.Consume("CF8 index writes (folded into the rows of their CFC accesses)");
                    }
                    else
                    {
                        report.Consume("CF8 reads and accesses narrower than a DWORD (no configuration access; QEMU ignores them)");
                    }

                    return;
                case PciConfData:
                    if ((cf8 & 0x8000_0000) == 0 || line.Address is < 0xCFC or > 0xCFF)
                    {
                        report.Consume("CFC accesses with CF8 bit 31 clear (no configuration access)");
                        return;
                    }

                    var address = new FunctionAddress(0, (byte)(cf8 >> 16), (byte)(cf8 >> 8));
                    int register = (int)(cf8 & 0xFC) | (int)(line.Address & 3);
                    report.Mechanism("CF8/CFC");
                    Config(number, write, address, register, line.Size, line.Value, null);
                    return;
                case Mmcfg:
                    Ecam(number, line, write);
                    return;
                case MsixTable:
                case MsixPba:
                    Mmio(number, line, write);
                    return;
                case ApicMsi when write && (line.Address - ApicBase > 0xFFF || line.Address - ApicBase < 0x10):
                    // QEMU's apic-msi region holds both: a write outside the local APIC's register page (or to its
                    // reserved first 16 bytes) is an MSI; a device's or the vCPU's own (a message raised by a
                    // configuration write the vCPU is making).
                    Message(number, line);
                    return;
                case ApicMsi:
                    report.Skip("apic-msi (local APIC registers)");
                    return;
                default:
                    report.Skip(line.Region!);
                    return;
            }
        }

        private void Ecam(long number, QemuLogLine line, bool write)
        {
            ulong windowBase = ecamBase ?? Q35DefaultEcamBase;
            ulong offset = line.Address - windowBase;
            if (options.Topology is { } spec && uncovered is null && !spec.RootComplexes.Any(rc => line.Address >= rc.EcamBase && line.Address - rc.EcamBase < rc.EcamSize))
            {
                uncovered = (number, line.Address);
            }

            EmitEventsBefore(number);
            rows.Add(Row(number, write ? TraceOp.Write : TraceOp.Read, TraceAddressKind.Numeric, line.Address, default, line.Size, line.Value, null));
            report.Mechanism("ECAM");
            if (line.Address >= windowBase && offset < (ulong)ecamBuses << 20)
            {
                var address = new FunctionAddress(0, (byte)(offset >> 20), (byte)(offset >> 12));
                Track(write, address, (int)(offset & 0xFFF), line.Size, line.Value);
            }
        }

        private void Config(long number, bool write, FunctionAddress address, int register, int width, ulong value, string? note)
        {
            EmitEventsBefore(number);
            var configuration = new ConfigurationAddress(address.Segment, address.Bus, address.Devfn, (ushort)register);
            rows.Add(Row(number, write ? TraceOp.Write : TraceOp.Read, TraceAddressKind.Configuration, 0, configuration, width, value, note));
            Track(write, address, register, width, value);
        }

        private void Track(bool write, FunctionAddress address, int register, int width, ulong value)
        {
            var function = Function(address);
            if (write)
            {
                function.Write(register, width, value);
                if (address is { Bus: 0, Devfn: 0 } && register <= 0x67 && register + width > 0x60)
                {
                    Pciexbar(function);
                }
            }
            else
            {
                function.Read(register, width, value);
            }
        }

        /// <summary>q35 MCH PCIEXBAR (00:00.0 offset 0x60): bit 0 enables MMCONFIG; bits 2:1 give 256, 128 or 64 buses.</summary>
        private void Pciexbar(RecordedFunction mch)
        {
            bool isMch = mch.Ids == 0x29C0_8086 || (names.TryGetValue(mch.Address, out var n) && n.Contains("mch"));
            if (!isMch || mch.Get(0x60, 4) is not uint low || (low & 1) == 0)
            {
                return;
            }

            ulong high = mch.Get(0x64, 4) ?? 0;
            int length = (int)(low >> 1) & 3;
            if (length == 3)
            {
                return;
            }

            ecamBuses = 256 >> length;
            ulong mask = ~(((ulong)ecamBuses << 20) - 1) & 0xF_FFFF_FFFF;
            ecamBase = ((high << 32) | low) & mask;
        }

        private void Mmio(long number, QemuLogLine line, bool write)
        {
            if (line.Size is not (4 or 8))
            {
                report.Consume(line.Region + " accesses of other than 4 or 8 bytes (mmio rows take 4 or 8)");
                return;
            }

            EmitEventsBefore(number);
            rows.Add(Row(number, write ? TraceOp.MmioWrite : TraceOp.MmioRead, TraceAddressKind.Numeric, line.Address, default, line.Size, line.Value, null));
            report.Mmio++;
            if (write && line.Region == MsixTable)
            {
                // Table entry: Message Address, Message Upper Address, Message Data, Vector Control (§7.7.2).
                for (int k = 0; k < line.Size / 4; k++)
                {
                    ulong at = line.Address + (ulong)(4 * k);
                    ulong entry = at & ~0xFUL;
                    if (!msixEntries.TryGetValue(entry, out var dwords))
                    {
                        msixEntries[entry] = dwords = new uint[4];
                    }

                    dwords[(int)(at >> 2) & 3] = (uint)(line.Value >> (32 * k));
                }
            }
        }

        private void Message(long number, QemuLogLine line)
        {
            if (line.Size is not (2 or 4) || !Programmed(line.Address, (uint)line.Value))
            {
                report.Consume("interrupt writes no function's MSI or MSI-X message explains (IOAPIC, HPET)");
                return;
            }

            EmitEventsBefore(number);
            rows.Add(Row(number, TraceOp.Msi, TraceAddressKind.Numeric, line.Address, default, line.Size, line.Value, null));
            report.Messages++;
        }

        private void Its(long number, QemuLogLine line)
        {
            itsSeen = true;
            if (line.Size is not (2 or 4))
            {
                report.Consume("ITS translation writes of other than 2 or 4 bytes");
                return;
            }

            ulong translater = options.Topology?.GicMsi is { Mode: GicMsiMode.Its } gic ? gic.TranslaterAddress : VirtItsTranslater;
            EmitEventsBefore(number);
            rows.Add(Row(number, TraceOp.Msi, TraceAddressKind.Numeric, translater, default, line.Size, line.Value, null) with { DeviceValue = line.RequesterId });
            report.Messages++;
        }

        /// <summary>Whether a function's MSI capability or an MSI-X table entry holds this message (address and data).</summary>
        private bool Programmed(ulong address, uint data)
        {
            foreach (var dwords in msixEntries.Values)
            {
                if ((((ulong)dwords[1] << 32) | dwords[0]) == address && dwords[2] == data)
                {
                    return true;
                }
            }

            foreach (var function in functions.Values)
            {
                if (function.Capability(RecordedFunction.MsiId) is not int cap || function.Get(cap + 2, 2) is not uint control)
                {
                    continue;
                }

                bool wide = (control & 0x80) != 0;
                ulong low = function.Get(cap + 4, 4) ?? 0;
                ulong high = wide ? function.Get(cap + 8, 4) ?? 0 : 0;
                uint? messageData = function.Get(cap + (wide ? 0xC : 0x8), 2);
                int vectors = 1 << (int)((control >> 4) & 7);
                if (((high << 32) | low) == address && messageData is uint d && (data & ~(uint)(vectors - 1)) == d)
                {
                    return true;
                }
            }

            return false;
        }

        private void EmitEventsBefore(long number)
        {
            if (options.Events is not { } events)
            {
                return;
            }

            while (nextEvent < events.Count && events[nextEvent].LogLinesBefore < number)
            {
                var e = events[nextEvent++];
                bool add = e.Action == QmpAction.HotAdd;
                string note = add
                    ? "QMP device_add"
                    : "QMP device_del: QEMU presses the attention button; the function leaves when the guest turns the slot's power off";
                rows.Add(new TraceRecord(0, 0, null, add ? TraceOp.HotAdd : TraceOp.HotRemove, TraceAddressKind.None, 0, default, null, null, e.Port, e.Device, null, note));
                report.Hotplug++;
            }
        }

        private void CheckEvents(TopologySpec topology, IReadOnlyList<QmpEvent> events)
        {
            var ports = topology.RootComplexes.SelectMany(rc => rc.Ports).Select(p => p.Name)
                .Concat(topology.Switches.SelectMany(s => s.DownstreamPorts).Select(p => p.Name)).ToHashSet(StringComparer.Ordinal);
            foreach (var e in events)
            {
                if (!ports.Contains(e.Port))
                {
                    throw new InputException(options.EventsSource ?? "events", e.Line, 1, $"found port '{e.Port}', which the topology ({options.TopologySource}) does not have; expected a root or downstream port name");
                }

                if (!topology.Endpoints.Any(ep => string.Equals(ep.Name, e.Device, StringComparison.Ordinal) && ep.Port is null))
                {
                    throw new InputException(options.EventsSource ?? "events", e.Line, 1, $"found device '{e.Device}', expected an endpoint the topology ({options.TopologySource}) declares without a port (one that waits for a hot-add)");
                }
            }
        }

        private RecordedFunction Function(FunctionAddress address)
        {
            if (!functions.TryGetValue(address, out var function))
            {
                functions[address] = function = new RecordedFunction(address);
            }

            return function;
        }

        private static TraceRecord Row(long number, TraceOp op, TraceAddressKind kind, ulong address, ConfigurationAddress configuration, int width, ulong value, string? note) =>
            new(0, 0, number, op, kind, address, configuration, width, value, null, null, null, note);
    }
}
