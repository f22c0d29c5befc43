using System.CommandLine;
using System.Text;
using PcieSim.Files;
using PcieSim.Import;

namespace PcieSim.Cli;

/// <summary><c>pciesim import qemu</c>.</summary>
public static partial class PcieSimCommand
{
    private static Command ImportCommand(TextWriter stdout, TextWriter stderr)
    {
        var log = new Argument<string>("LOG") { Description = "QEMU trace log (-trace pci_cfg_read -trace pci_cfg_write, or memory_region_ops_read/write; with or without -msg timestamp=on)." };
        var events = new Option<string?>("--events") { Description = "The recorder's log of QMP actions (LINES hot-add|hot-remove PORT DEVICE [PORT_ADDRESS]); places hot-add and hot-remove rows." };
        var topology = new Option<string?>("--topology") { Description = "Topology file to write into the trace's header instead of the one inferred from the log." };
        var output = new Option<string>("--out") { Description = "The trace CSV to write (atomically).", Required = true };
        var qemu = new Command("qemu", "Convert a QEMU trace log into a trace. Unknown and malformed lines are counted and listed (header and standard error). Exit 0 written, 2 bad input.")
        {
            log, events, topology, output,
        };
        qemu.SetAction(parse => Guard(stderr, () =>
        {
            string logPath = parse.GetValue(log)!;
            CheckOutputPath("--out", parse.GetValue(output)!);
            string logName = Path.GetFileName(logPath);
            if (Directory.Exists(logPath))
            {
                throw new InputException(logName, 0, 0, $"found a folder ({logPath}), expected a QEMU trace log file");
            }

            if (!File.Exists(logPath))
            {
                throw new InputException(logName, 0, 0, $"log file not found: {logPath}");
            }

            var options = ImportOptions(parse.GetValue(events), parse.GetValue(topology));
            using var pending = AtomicFile.Begin(parse.GetValue(output)!);
            var report = QemuLogImporter.Import(() => OpenText(logPath), logName, options, pending.Writer);
            pending.Commit();
            foreach (string line in report.Describe())
            {
                stderr.WriteLine("pciesim: import qemu: " + line);
            }

            return Success;
        }));
        return new Command("import", "Convert another system's log into a trace.") { qemu };
    }

    /// <summary>The options <c>import qemu</c> and <c>record qemu</c> share: an event log and a topology file, read now.</summary>
    private static QemuImportOptions ImportOptions(string? eventsPath, string? topologyPath)
    {
        IReadOnlyList<QmpEvent>? events = null;
        if (eventsPath is not null)
        {
            string name = Path.GetFileName(eventsPath);
            if (!File.Exists(eventsPath))
            {
                throw new InputException(name, 0, 0, $"event log not found: {eventsPath}");
            }

            using var reader = OpenText(eventsPath);
            events = QmpEventLog.Read(reader, name);
        }

        return new QemuImportOptions
        {
            Events = events,
            EventsSource = eventsPath is null ? null : Path.GetFileName(eventsPath),
            Topology = topologyPath is null ? null : TopologyFile.Read(topologyPath),
            TopologySource = topologyPath is null ? null : Path.GetFileName(topologyPath),
        };
    }

    private static StreamReader OpenText(string path) =>
        new(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 16, FileOptions.SequentialScan), new UTF8Encoding(false, false), detectEncodingFromByteOrderMarks: true);
}
