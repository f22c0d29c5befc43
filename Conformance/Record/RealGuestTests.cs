using System.Diagnostics;
using System.Runtime.CompilerServices;
using PcieSim.Conformance.TestSupport;
using PcieSim.Files;
using PcieSim.Replay;

namespace PcieSim.Conformance.Record;

/// <summary>
/// End to end: <c>pciesim record qemu</c> boots a real Linux guest under QEMU and writes its trace. Needs
/// qemu-system-x86, busybox-static and a Debian kernel (PCIESIM_KERNEL, or fetched as the README's Real guests section
/// does, through the linux-image-amd64 metapackage's dependency); about half a minute under TCG. Category RealGuest:
/// excluded from the README's test command and from CI. Checks the trace's shape, not its bytes.
/// </summary>
[Category("RealGuest")]
public class RealGuestTests
{
    private static string RealTraces([CallerFilePath] string source = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(source)!, "..", "..", "traces", "real"));

    [Test]
    public void a_recorded_guest_gives_a_trace_with_its_topology_accesses_and_hotplug_rows()
    {
        string kernel = Kernel();
        string directory = TestTemp.NewFolder("realguest");
        try
        {
            string trace = Path.Combine(directory, "guest.csv");
            var stdout = new StringWriter();
            var stderr = new StringWriter();
            int exit = PcieSim.Cli.PcieSimCommand.Run(
                ["record", "qemu", "--topology", Path.Combine(RealTraces(), "q35-root-ports.topo"), "--hotplug", "rp2:hp2", "--kernel", kernel, "--out", trace],
                stdout,
                stderr);
            Assert.That(exit, Is.Zero, stderr.ToString());
            Assert.That(File.ReadAllLines(Path.Combine(directory, "guest.events")).Skip(1).Select(l => string.Join(' ', l.Split(' ')[1..])),
                Is.EqualTo(new[] { "hot-add rp2 hp2 0000:00:04.0", "hot-remove rp2 hp2 0000:00:04.0" }));

            using var reader = TraceReader.Open(trace);
            Assert.That(reader.Header.TopologyLines.Select(l => l.Text.Trim()), Has.Some.StartsWith("--pcie-root-complex pcie.0,segment=0,start_bus=0,end_bus=255,ecam_base=0xb0000000"));
            Assert.That(reader.Header.Comments, Has.Some.StartsWith("recorded with: pciesim record qemu --topology q35-root-ports.topo --hotplug rp2:hp2"));
            var rows = new List<TraceRecord>();
            while (reader.TryRead(out var record))
            {
                rows.Add(record);
            }

            var kinds = rows.Select(r => r.Op).Distinct().ToList();
            Assert.That(kinds, Is.SupersetOf(new[] { TraceOp.Read, TraceOp.Write, TraceOp.HotAdd, TraceOp.HotRemove }));
            Assert.That(rows.Where(r => r.Op is TraceOp.HotAdd or TraceOp.HotRemove).Select(r => (r.Op, r.Port, r.Device)),
                Is.EqualTo(new[] { (TraceOp.HotAdd, "rp2", "hp2"), (TraceOp.HotRemove, "rp2", "hp2") }));
            int add = rows.FindIndex(r => r.Op == TraceOp.HotAdd);
            Assert.That(rows.Skip(add).Any(r => r.Op == TraceOp.Read && r.Configuration is { Bus: 0, Devfn: 0x20, Register: 0x6E } && r.Value is ulong v && (v & 0x8) != 0),
                "after the hot-add, pciehp reads Presence Detect Changed on rp2 (00:04.0)");
            Assert.That(PcieSim.Cli.PcieSimCommand.Run(["lint", trace], stdout, stderr), Is.AnyOf(0, 3), "the recording lints (no bad input)");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>PCIESIM_KERNEL, or the kernel of linux-image-amd64's dependency, downloaded and unpacked once.</summary>
    private static string Kernel()
    {
        if (Environment.GetEnvironmentVariable("PCIESIM_KERNEL") is { Length: > 0 } given)
        {
            return given;
        }

        // A cache kept from run to run (the download is tens of megabytes), so not in TestTemp's folder, which each run deletes.
        string cache = Path.Combine(Path.GetTempPath(), "pciesim-kernel");
        string? found = Directory.Exists(cache) ? Directory.GetFiles(cache, "vmlinuz-*", SearchOption.AllDirectories).FirstOrDefault() : null;
        if (found is not null)
        {
            return found;
        }

        Directory.CreateDirectory(cache);
        string depends = Run("apt-cache", "depends linux-image-amd64", cache);
        string package = depends.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith("Depends: linux-image-", StringComparison.Ordinal))?["Depends: ".Length..]
            ?? throw new IgnoreException("linux-image-amd64 has no linux-image dependency here; set PCIESIM_KERNEL");
        Run("apt-get", "download " + package, cache);
        string deb = Directory.GetFiles(cache, "*.deb").Single();
        Run("dpkg-deb", "-x " + deb + " " + Path.Combine(cache, "root"), cache);
        return Directory.GetFiles(Path.Combine(cache, "root", "boot"), "vmlinuz-*").Single();
    }

    private static string Run(string program, string arguments, string directory)
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo(program, arguments) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true })!;
            string output = process.StandardOutput.ReadToEnd();
            string error = process.StandardError.ReadToEnd();
            process.WaitForExit();
            return process.ExitCode == 0 ? output : throw new IgnoreException($"{program} {arguments} failed ({process.ExitCode}): {error}; set PCIESIM_KERNEL");
        }
        catch (System.ComponentModel.Win32Exception error)
        {
            throw new IgnoreException($"{program} is not available ({error.Message}); set PCIESIM_KERNEL");
        }
    }
}
