using System.Collections.Concurrent;
using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using PcieSim.Import;
using PcieSim.Lint;

namespace PcieSim.Record;

/// <summary>What <c>pciesim record qemu</c> runs.</summary>
public sealed record QemuRecordOptions
{
    public required QemuMachine Machine { get; init; }

    /// <summary>Hot-adds to perform once the guest is ready, each followed by the hot-remove of the same endpoint.</summary>
    public IReadOnlyList<HotplugAction> Hotplug { get; init; } = [];

    /// <summary>
    /// Hot-adds performed before the guest runs (QEMU started with <c>-S</c>, then <c>cont</c>): the slot reports
    /// the events when pciehp first probes it; each is hot-removed once the guest is ready.
    /// </summary>
    public IReadOnlyList<HotplugAction> HotplugAtBoot { get; init; } = [];

    /// <summary>The guest kernel (a Debian <c>vmlinuz</c>: pciehp, portdrv and MSI built in).</summary>
    public required string Kernel { get; init; }

    /// <summary>A statically linked busybox (Debian's busybox-static).</summary>
    public string Busybox { get; init; } = "/bin/busybox";

    /// <summary>The QEMU binary.</summary>
    public string Qemu { get; init; } = "qemu-system-x86_64";

    /// <summary>Where the initramfs, QEMU's trace log, the console log and QEMU's standard error go.</summary>
    public required string WorkDirectory { get; init; }

    /// <summary>Also trace memory_region_ops_read/write: real widths, CF8/CFC and ECAM, master aborts, MSIs (about 50 times the lines).</summary>
    public bool MemoryTrace { get; init; }

    /// <summary>The longest the whole recording may take.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(5);
}

/// <summary>A finished recording: the files it left and the QMP actions it performed.</summary>
public sealed record QemuRecording(string LogPath, string ConsolePath, IReadOnlyList<QmpEvent> Events, IReadOnlyList<string> QemuArguments, string QemuVersion);

/// <summary>
/// Records a Linux guest under QEMU (TCG, q35, native PCIe hotplug): builds the initramfs, boots the kernel with the
/// machine's devices and QEMU's <c>pci_cfg_*</c> trace events logged to a file, performs each hot-add and hot-remove
/// over QMP (a unix socket on this machine; the guest has no network) once the guest is ready and has seen the
/// previous one, and waits for the guest to power off. Console-side: it runs a process and writes files.
/// </summary>
public static class QemuRecorder
{
    /// <summary>QEMU's q35 hotplug is ACPI-based unless this is set: native pciehp needs it (qemu-as-peer §2).</summary>
    public const string NativeHotplug = "ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off";

    /// <summary>Runs the recording. Progress lines go to <paramref name="progress"/>.</summary>
    /// <exception cref="IOException">QEMU could not be run, failed, or the guest did not get through the scenario in time.</exception>
    public static QemuRecording Record(QemuRecordOptions options, TextWriter progress)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(progress);
        var clock = Stopwatch.StartNew();
        string version = QemuVersion(options.Qemu);
        Directory.CreateDirectory(options.WorkDirectory);
        string initrd = Path.Combine(options.WorkDirectory, "initrd.gz");
        using (var file = File.Create(initrd))
        {
            Initramfs.Write(file, File.ReadAllBytes(options.Busybox));
        }

        string log = Path.Combine(options.WorkDirectory, "qemu-trace.log");
        string console = Path.Combine(options.WorkDirectory, "console.log");
        string errors = Path.Combine(options.WorkDirectory, "qemu-stderr.txt");
        // A short folder of its own: a unix socket path must fit in 108 bytes, which a kept --work folder may not.
        string socketDirectory = Directory.CreateTempSubdirectory("pciesim-qmp-").FullName;
        string socket = Path.Combine(socketDirectory, "qmp.sock");
        File.Delete(log);
        var arguments = Arguments(options, initrd, log, socket);

        var start = new ProcessStartInfo(options.Qemu) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var lines = new BlockingCollection<string>();
        using var consoleFile = new StreamWriter(console) { AutoFlush = true };
        using var qemu = StartProcess(start, options.Qemu);
        var stderrText = qemu.StandardError.ReadToEndAsync();
        var reader = new Thread(() =>
        {
            while (qemu.StandardOutput.ReadLine() is { } line)
            {
                lock (consoleFile)
                {
                    consoleFile.WriteLine(line);
                }

                lines.Add(line);
            }

            lines.CompleteAdding();
        }) { IsBackground = true };
        reader.Start();

        var events = new List<QmpEvent>();
        try
        {
            using var qmp = Connect(qemu, socket, options, stderrText);
            if (options.HotplugAtBoot.Count > 0)
            {
                foreach (var action in options.HotplugAtBoot)
                {
                    events.Add(Act(qmp, log, events.Count + 2, QmpAction.HotAdd, action, () => qmp.Execute("device_add", QemuMachine.DeviceAdd(action))));
                }

                qmp.Execute("cont", null);
                progress.WriteLine("hot-added " + string.Join(", ", options.HotplugAtBoot.Select(a => a.Endpoint + " into " + a.Port)) + " before the guest ran");
            }

            Await(lines, Initramfs.ReadyMarker, options, clock, stderrText);
            progress.WriteLine(Inv($"guest ready after {clock.Elapsed.TotalSeconds:0.0} s"));
            int change = 0;
            foreach (var action in options.HotplugAtBoot)
            {
                events.Add(Act(qmp, log, events.Count + 2, QmpAction.HotRemove, action, () => qmp.Execute("device_del", [new("id", action.Endpoint)])));
                Await(lines, Inv($"{Initramfs.ChangeMarker} {++change} "), options, clock, stderrText);
                qmp.WaitForEvent("DEVICE_DELETED", action.Endpoint, Left(options, clock));
                progress.WriteLine(Inv($"hot-remove {action.Endpoint} from {action.Port}: the guest lost it after {clock.Elapsed.TotalSeconds:0.0} s"));
            }

            foreach (var action in options.Hotplug)
            {
                events.Add(Act(qmp, log, events.Count + 2, QmpAction.HotAdd, action, () => qmp.Execute("device_add", QemuMachine.DeviceAdd(action))));
                Await(lines, Inv($"{Initramfs.ChangeMarker} {++change} "), options, clock, stderrText);
                progress.WriteLine(Inv($"hot-add {action.Endpoint} into {action.Port}: the guest sees it after {clock.Elapsed.TotalSeconds:0.0} s"));
                events.Add(Act(qmp, log, events.Count + 2, QmpAction.HotRemove, action, () => qmp.Execute("device_del", [new("id", action.Endpoint)])));
                Await(lines, Inv($"{Initramfs.ChangeMarker} {++change} "), options, clock, stderrText);
                qmp.WaitForEvent("DEVICE_DELETED", action.Endpoint, Left(options, clock));
                progress.WriteLine(Inv($"hot-remove {action.Endpoint} from {action.Port}: the guest lost it after {clock.Elapsed.TotalSeconds:0.0} s"));
            }

            Await(lines, Initramfs.DoneMarker, options, clock, stderrText);
            var left = options.Timeout - clock.Elapsed;
            if (left <= TimeSpan.Zero || !qemu.WaitForExit(left))
            {
                throw new IOException(Inv($"record qemu: the guest did not power off within {options.Timeout.TotalSeconds:0} s; work folder kept: {options.WorkDirectory}"));
            }

            if (qemu.ExitCode != 0)
            {
                throw new IOException(Inv($"record qemu: QEMU exited with {qemu.ExitCode}: {LastLine(stderrText)}; work folder kept: {options.WorkDirectory}"));
            }
        }
        finally
        {
            if (!qemu.HasExited)
            {
                qemu.Kill();
                qemu.WaitForExit();
            }

            reader.Join();
            File.WriteAllText(errors, stderrText.Result);
            Directory.Delete(socketDirectory, recursive: true);
        }

        progress.WriteLine(Inv($"guest powered off after {clock.Elapsed.TotalSeconds:0.0} s"));
        return new QemuRecording(log, console, events, arguments, version);
    }

    /// <summary>QEMU's command line for a recording (without the binary).</summary>
    public static IReadOnlyList<string> Arguments(QemuRecordOptions options, string initrd, string log, string socket)
    {
        ArgumentNullException.ThrowIfNull(options);
        var arguments = new List<string>
        {
            "-M", "q35", "-accel", "tcg", "-m", "512", "-smp", "1", "-nodefaults", "-display", "none", "-no-reboot",
            "-global", NativeHotplug,
            "-kernel", options.Kernel, "-initrd", initrd,
            "-append", Inv($"console=ttyS0 panic=-1 pciesim.changes={(2 * options.Hotplug.Count) + options.HotplugAtBoot.Count}"),
            "-serial", "stdio", "-qmp", "unix:" + socket + ",server=on,wait=off", "-msg", "timestamp=on",
            "-trace", "pci_cfg_read", "-trace", "pci_cfg_write",
        };
        if (options.MemoryTrace)
        {
            arguments.AddRange(["-trace", "memory_region_ops_read", "-trace", "memory_region_ops_write"]);
        }

        arguments.AddRange(["-D", log]);
        if (options.HotplugAtBoot.Count > 0)
        {
            // Stopped before the first instruction until the boot-time hot-adds are done.
            arguments.Add("-S");
        }

        foreach (string device in options.Machine.Devices)
        {
            arguments.AddRange(["-device", device]);
        }

        return arguments;
    }

    /// <summary>Performs one QMP action, noting how many trace-log lines were written before it and where the port is.</summary>
    private static QmpEvent Act(QmpClient qmp, string log, int line, QmpAction action, HotplugAction what, Action perform)
    {
        var at = QmpClient.FindDevice(qmp.Execute("query-pci", null), what.Port);
        long before = CountLines(log);
        perform();
        FunctionAddress? address = at is { } a ? new FunctionAddress(0, (byte)a.Bus, (byte)((a.Slot << 3) | a.Function)) : null;
        return new QmpEvent(line, before, action, what.Port, what.Endpoint, address);
    }

    private static void Await(BlockingCollection<string> lines, string marker, QemuRecordOptions options, Stopwatch clock, Task<string> stderr)
    {
        while (true)
        {
            var left = options.Timeout - clock.Elapsed;
            if (left <= TimeSpan.Zero)
            {
                throw new IOException(Inv($"record qemu: no '{marker.Trim()}' from the guest within {options.Timeout.TotalSeconds:0} s; work folder kept: {options.WorkDirectory}"));
            }

            if (lines.IsCompleted)
            {
                string last = stderr.Wait(TimeSpan.FromSeconds(5)) ? LastLine(stderr) : "";
                throw new IOException(Inv($"record qemu: QEMU ended before the guest printed '{marker.Trim()}': {last}; work folder kept: {options.WorkDirectory}"));
            }

            if (lines.TryTake(out string? line, left) && line.Contains(marker, StringComparison.Ordinal))
            {
                return;
            }
        }
    }

    private static QmpClient Connect(Process qemu, string socket, QemuRecordOptions options, Task<string> stderr)
    {
        try
        {
            return QmpClient.Connect(socket, TimeSpan.FromSeconds(10));
        }
        catch (IOException) when (qemu.WaitForExit(TimeSpan.FromSeconds(1)))
        {
            string last = stderr.Wait(TimeSpan.FromSeconds(5)) ? LastLine(stderr) : string.Empty;
            throw new IOException(Inv($"record qemu: QEMU exited with {qemu.ExitCode} before QMP answered: {last}; work folder kept: {options.WorkDirectory}"));
        }
    }

    private static TimeSpan Left(QemuRecordOptions options, Stopwatch clock)
    {
        var left = options.Timeout - clock.Elapsed;
        return left > TimeSpan.Zero ? left : TimeSpan.FromMilliseconds(1);
    }

    private static long CountLines(string path)
    {
        if (!File.Exists(path))
        {
            return 0;
        }

        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 16);
        var buffer = new byte[1 << 16];
        long count = 0;
        int read;
        while ((read = stream.Read(buffer, 0, buffer.Length)) > 0)
        {
            count += buffer.AsSpan(0, read).Count((byte)'\n');
        }

        return count;
    }

    private static string QemuVersion(string qemu)
    {
        var start = new ProcessStartInfo(qemu, "--version") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using var process = StartProcess(start, qemu);
        string text = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return text.Split('\n')[0].Trim();
    }

    private static Process StartProcess(ProcessStartInfo start, string name)
    {
        try
        {
            return Process.Start(start) ?? throw new IOException($"record qemu: could not start {name}");
        }
        catch (Win32Exception error)
        {
            throw new IOException($"record qemu: could not run '{name}' ({error.Message}); install qemu-system-x86 (see the README's Real guests section)", error);
        }
    }

    private static string LastLine(Task<string> text)
    {
        string[] lines = text.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return lines.Length == 0 ? "(nothing on standard error)" : lines[^1];
    }

    private static string Inv(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
