using System.CommandLine;
using PcieSim.Files;
using PcieSim.Import;
using PcieSim.Record;
using PcieSim.Topology.Language;

namespace PcieSim.Cli;

/// <summary><c>pciesim record qemu</c>.</summary>
public static partial class PcieSimCommand
{
    private static Command RecordCommand(TextWriter stdout, TextWriter stderr)
    {
        var topology = new Option<string>("--topology") { Description = "Topology file (one root complex; root ports with addr= other than 00 and 1f; switches; template=nvme endpoints).", Required = true };
        var hotplug = new Option<string[]>("--hotplug") { Description = "PORT:ENDPOINT: hot-add the unplugged ENDPOINT into PORT once the guest is ready, then hot-remove it; repeatable, in order.", AllowMultipleArgumentsPerToken = false };
        var atBoot = new Option<string[]>("--hotplug-at-boot") { Description = "PORT:ENDPOINT: hot-add the unplugged ENDPOINT into PORT before the guest runs (its slot shows the events when pciehp probes it), then hot-remove it once the guest is ready; repeatable.", AllowMultipleArgumentsPerToken = false };
        var kernel = new Option<string>("--kernel") { Description = "Guest kernel: vmlinuz from Debian's linux-image-amd64 dependency (see the README).", Required = true };
        var output = new Option<string>("--out") { Description = "The trace CSV to write (atomically).", Required = true };
        var events = new Option<string?>("--events") { Description = "Where to write the QMP action log (default: the trace's name with .events)." };
        var busybox = new Option<string>("--busybox") { Description = "Statically linked busybox for the initramfs.", DefaultValueFactory = _ => "/bin/busybox" };
        var qemu = new Option<string>("--qemu") { Description = "QEMU binary.", DefaultValueFactory = _ => "qemu-system-x86_64" };
        var work = new Option<string?>("--work") { Description = "Keep the initramfs, QEMU's trace log, the console log and QEMU's standard error in this folder (default: a temporary folder, removed on success)." };
        var memory = new Option<bool>("--memory-trace") { Description = "Also trace memory_region_ops: real widths, CF8/CFC and ECAM, master aborts and MSIs (about 50 times the log)." };
        var timeout = new Option<int>("--timeout") { Description = "Seconds the whole recording may take.", DefaultValueFactory = _ => 300 };
        var command = new Command("qemu", "Boot a Linux guest under QEMU (TCG, q35, native PCIe hotplug) with a topology, hot-add and hot-remove over QMP, and write the imported trace with its events. Exit 0 written, 2 bad input or a failed recording.")
        {
            topology, hotplug, atBoot, kernel, output, events, busybox, qemu, work, memory, timeout,
        };
        command.SetAction(parse => Guard(stderr, () =>
        {
            string topologyPath = parse.GetValue(topology)!;
            string topologyName = Path.GetFileName(topologyPath);
            var spec = TopologyFile.Read(topologyPath);
            var actions = (parse.GetValue(hotplug) ?? []).Select(ParseHotplug).ToList();
            var bootActions = (parse.GetValue(atBoot) ?? []).Select(ParseHotplug).ToList();
            var machine = QemuMachine.Build(spec, [.. bootActions, .. actions], topologyName);
            string kernelPath = parse.GetValue(kernel)!;
            string busyboxPath = parse.GetValue(busybox)!;
            foreach (var (path, what) in new[] { (kernelPath, "kernel"), (busyboxPath, "busybox") })
            {
                if (!File.Exists(path))
                {
                    throw new InputException("command line", 0, 0, $"{what} not found: {path}");
                }
            }

            if (parse.GetValue(timeout) <= 0)
            {
                throw new InputException("command line", 0, 0, "--timeout: expected a positive number of seconds");
            }

            string outPath = parse.GetValue(output)!;
            string eventsPath = parse.GetValue(events) ?? Path.ChangeExtension(outPath, ".events");
            CheckOutputPath("--out", outPath);
            CheckOutputPath("--events", eventsPath);
            string? keep = parse.GetValue(work);
            string workDirectory = keep ?? Directory.CreateTempSubdirectory("pciesim-record-").FullName;
            var recording = QemuRecorder.Record(
                new QemuRecordOptions
                {
                    Machine = machine,
                    Hotplug = actions,
                    HotplugAtBoot = bootActions,
                    Kernel = kernelPath,
                    Busybox = busyboxPath,
                    Qemu = parse.GetValue(qemu)!,
                    WorkDirectory = workDirectory,
                    MemoryTrace = parse.GetValue(memory),
                    Timeout = TimeSpan.FromSeconds(parse.GetValue(timeout)),
                },
                stderr);

            var eventLines = new List<string> { QmpEventLog.Header };
            eventLines.AddRange(recording.Events.Select(QmpEventLog.Format));
            AtomicFile.WriteAllText(eventsPath, string.Join('\n', eventLines) + "\n");

            string recordedWith = "recorded with: pciesim record qemu --topology " + topologyName
                + string.Concat(bootActions.Select(a => " --hotplug-at-boot " + a.Port + ":" + a.Endpoint))
                + string.Concat(actions.Select(a => " --hotplug " + a.Port + ":" + a.Endpoint))
                + " --kernel " + Path.GetFileName(kernelPath) + (parse.GetValue(memory) ? " --memory-trace" : "")
                + " --out " + Path.GetFileName(outPath);
            var comments = new List<string>
            {
                recordedWith,
                "QEMU: " + recording.QemuVersion + "; kernel " + Path.GetFileName(kernelPath) + "; values are QEMU's, not OpenVMM's",
                "QEMU command line: " + parse.GetValue(qemu) + " " + string.Join(' ', recording.QemuArguments.Select(a => Scrub(a, workDirectory, kernelPath))),
            };
            comments.AddRange(machine.Differences.Select(d => "differs from the topology: " + d));
            var options = new QemuImportOptions
            {
                Topology = TopologyParser.Parse(string.Join('\n', machine.HeaderFlags), topologyName),
                TopologySource = topologyName + " (with q35's ECAM window)",
                Events = recording.Events,
                EventsSource = Path.GetFileName(eventsPath),
                Comments = comments,
            };
            using (var pending = AtomicFile.Begin(outPath))
            {
                var report = QemuLogImporter.Import(() => OpenText(recording.LogPath), Path.GetFileName(recording.LogPath), options, pending.Writer);
                pending.Commit();
                foreach (string line in report.Describe())
                {
                    stderr.WriteLine("pciesim: record qemu: " + line);
                }
            }

            if (keep is null)
            {
                Directory.Delete(workDirectory, recursive: true);
            }

            stdout.WriteLine("pciesim: record qemu: wrote " + outPath + " and " + eventsPath);
            return Success;
        }));
        return new Command("record", "Record a real guest's configuration accesses.") { command };
    }

    private static HotplugAction ParseHotplug(string text)
    {
        int colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0 || colon == text.Length - 1 || text.IndexOf(':', colon + 1) >= 0)
        {
            throw new InputException("command line", 0, 0, $"--hotplug '{text}': expected PORT:ENDPOINT");
        }

        return new HotplugAction(text[..colon], text[(colon + 1)..]);
    }

    /// <summary>An argument as the trace's header shows it: file names instead of this machine's folders.</summary>
    private static string Scrub(string argument, string workDirectory, string kernel)
    {
        string text = argument.Replace(Path.GetFullPath(kernel), Path.GetFileName(kernel), StringComparison.Ordinal)
            .Replace(kernel, Path.GetFileName(kernel), StringComparison.Ordinal)
            .Replace(workDirectory + Path.DirectorySeparatorChar, string.Empty, StringComparison.Ordinal);
        int socket = text.IndexOf("pciesim-qmp-", StringComparison.Ordinal);
        if (text.StartsWith("unix:", StringComparison.Ordinal) && socket > 0)
        {
            text = "unix:qmp.sock" + text[text.IndexOf(',', StringComparison.Ordinal)..];
        }

        return text.Contains(' ', StringComparison.Ordinal) ? "'" + text + "'" : text;
    }
}
