using System.Globalization;
using System.Text;
using PcieSim.Conformance.TestSupport;
using PcieSim.Files;
using PcieSim.Lint;

namespace PcieSim.Conformance.Lint;

/// <summary>
/// Each finding kind of <c>pciesim lint</c>: a recorded trace that shows it and one that does not. The port is a root
/// port at 00:01.0 whose capability list the trace reads first: PCI Express Capability at 0x40, MSI at 0x80.
/// </summary>
public class TraceLinterTests
{
    private const uint HotPlugCapable = 0x40;
    private const uint Nccs = 0x4_0000;
    private const uint Dlllarc = 0x10_0000;
    private const string Msi = "write,00:01.0@0x084,4,0xfee00000\nwrite,00:01.0@0x088,2,0x41\nwrite,00:01.0@0x082,2,0x1\n";

    /// <summary>A root port with a slot, HPC and Command Completed (NCCS=0), DLL Link Active Reporting.</summary>
    private static readonly Caps Standard = new(0x0142, HotPlugCapable, Dlllarc);

    private readonly record struct Caps(ushort Flags, uint SlotCapabilities, uint LinkCapabilities);

    private static string Trace(Caps caps, string rows)
    {
        var text = new StringBuilder("op,address,width,value,port,device\n");
        text.Append("read,00:01.0@0x000,4,0xc0301414\nread,00:01.0@0x00e,1,0x1\nread,00:01.0@0x034,1,0x40\nread,00:01.0@0x040,2,0x8010\n");
        text.Append(CultureInfo.InvariantCulture, $"read,00:01.0@0x042,2,0x{caps.Flags:x}\nread,00:01.0@0x080,2,0x5\nread,00:01.0@0x082,2,0x0\n");
        text.Append(CultureInfo.InvariantCulture, $"read,00:01.0@0x04c,4,0x{caps.LinkCapabilities:x}\nread,00:01.0@0x054,4,0x{caps.SlotCapabilities:x}\n");
        return text.Append(rows).ToString();
    }

    private static LintResult Lint(string trace)
    {
        using var reader = new TraceReader(new StringReader(trace), "recorded.csv");
        return TraceLinter.Lint(reader);
    }

    public static IEnumerable<TestCaseData> Cases()
    {
        yield return Case("an event bit written 1 that does not clear", "HP-RW1C", Standard,
            "read,00:01.0@0x05a,2,0x48\nwrite,00:01.0@0x05a,2,0x8\nread,00:01.0@0x05a,2,0x48\n",
            "read,00:01.0@0x05a,2,0x48\nwrite,00:01.0@0x05a,2,0x8\nread,00:01.0@0x05a,2,0x40\n");
        yield return Case("an event bit that clears with no 1 written", "HP-RW1C", Standard,
            "read,00:01.0@0x05a,2,0x48\nwrite,00:01.0@0x058,2,0x28\nread,00:01.0@0x05a,2,0x50\n",
            "read,00:01.0@0x05a,2,0x48\nwrite,00:01.0@0x05a,2,0x8\nread,00:01.0@0x05a,2,0x40\n");
        yield return Case("presence that changes with no PDC", "HP-PDS", Standard,
            "read,00:01.0@0x05a,2,0x0\nhot-add,,,,rp0,ep0\nread,00:01.0@0x05a,2,0x40\n",
            "read,00:01.0@0x05a,2,0x0\nhot-add,,,,rp0,ep0\nread,00:01.0@0x05a,2,0x48\n");
        yield return Case("DLL Link Active that changes with no DLLSC", "HP-DLLLARC", Standard,
            "read,00:01.0@0x052,2,0x11\nread,00:01.0@0x05a,2,0x0\nread,00:01.0@0x052,2,0x2011\nread,00:01.0@0x05a,2,0x48\n",
            "read,00:01.0@0x052,2,0x11\nread,00:01.0@0x05a,2,0x0\nread,00:01.0@0x052,2,0x2011\nread,00:01.0@0x05a,2,0x148\n");
        yield return Case("DLLSCE that does not stick although DLL Link Active Reporting is advertised", "HP-DLLLARC", Standard,
            "write,00:01.0@0x058,2,0x1028\nread,00:01.0@0x058,2,0x28\n",
            "write,00:01.0@0x058,2,0x1028\nread,00:01.0@0x058,2,0x1028\n");
        yield return Case("a hotplug-capable port without DLL Link Active Reporting", "HP-DLLLARC", Standard with { LinkCapabilities = 0 },
            string.Empty, null);
        yield return Case("CC set while NCCS is set", "HP-NCCS", Standard with { SlotCapabilities = HotPlugCapable | Nccs },
            "read,00:01.0@0x05a,2,0x10\n",
            "read,00:01.0@0x05a,2,0x0\n");
        yield return Case("a command that never completes (NCCS=0)", "HP-NCCS", Standard,
            "write,00:01.0@0x058,2,0x28\nread,00:01.0@0x05a,2,0x0\nread,00:01.0@0x05a,2,0x0\nwrite,00:01.0@0x058,2,0x2028\n",
            "write,00:01.0@0x058,2,0x28\nread,00:01.0@0x05a,2,0x0\nread,00:01.0@0x05a,2,0x10\nwrite,00:01.0@0x05a,2,0x10\nwrite,00:01.0@0x058,2,0x2028\n");
        yield return Case("CCIE that does not stick although NCCS=0", "HP-NCCS", Standard,
            "write,00:01.0@0x058,2,0x38\nread,00:01.0@0x058,2,0x28\n",
            "write,00:01.0@0x058,2,0x38\nread,00:01.0@0x058,2,0x38\n");
        yield return Case("HPIE that does not stick on a hotplug-capable port", "HP-EDGE", Standard,
            "write,00:01.0@0x058,2,0x28\nread,00:01.0@0x058,2,0x8\n",
            "write,00:01.0@0x058,2,0x28\nread,00:01.0@0x058,2,0x28\n");
        yield return Case("a Slot Status write that changes Slot Control", "HP-STATUSWRITE", Standard,
            "read,00:01.0@0x058,2,0x28\nwrite,00:01.0@0x05a,2,0x8\nread,00:01.0@0x058,2,0x0\n",
            "read,00:01.0@0x058,2,0x28\nwrite,00:01.0@0x05a,2,0x8\nread,00:01.0@0x058,2,0x28\n");
        yield return Case("a Slot Status write that sets CC", "HP-STATUSWRITE", Standard,
            "read,00:01.0@0x05a,2,0x48\nwrite,00:01.0@0x05a,2,0x8\nread,00:01.0@0x05a,2,0x50\n",
            "read,00:01.0@0x05a,2,0x48\nwrite,00:01.0@0x05a,2,0x8\nread,00:01.0@0x05a,2,0x40\n");
        yield return Case("a read below an empty slot that is not all-ones", "HP-EMPTY", Standard,
            "write,00:01.0@0x018,4,0x20200\nread,00:01.0@0x05a,2,0x0\nread,02:00.0@0x000,4,0xc03e1414\n",
            "write,00:01.0@0x018,4,0x20200\nread,00:01.0@0x05a,2,0x0\nread,02:00.0@0x000,4,0xffffffff\n");
        yield return Case("DLL Link Active with no link width", "HP-LINKUP", Standard,
            "read,00:01.0@0x052,2,0x2001\n",
            "read,00:01.0@0x052,2,0x2011\n");
        yield return Case("Slot Status other than 0x0040 on a port without a slot", "HP-NOSLOT", new Caps(0x0042, 0, Dlllarc),
            "read,00:01.0@0x05a,2,0x0\n",
            "read,00:01.0@0x05a,2,0x40\n");
        yield return Case("DLL Link Active while the slot reads empty before and after", "HP-DLLLA", Standard,
            "read,00:01.0@0x05a,2,0x0\nread,00:01.0@0x052,2,0x2011\nread,00:01.0@0x05a,2,0x0\n",
            "read,00:01.0@0x05a,2,0x0\nread,00:01.0@0x052,2,0x2011\nread,00:01.0@0x05a,2,0x48\n");
        yield return Case("a message from a command that leaves HPIE clear", "HP-NOHPIE", Standard,
            Msi + "write,00:01.0@0x058,2,0x10\nmsi,0xfee00000,4,0x41\n",
            Msi + "write,00:01.0@0x058,2,0x10\n");
        yield return Case("a message from a command with no enabled event (NCCS=1)", "HP-EDGE", Standard with { SlotCapabilities = HotPlugCapable | Nccs },
            Msi + "write,00:01.0@0x058,2,0x28\nmsi,0xfee00000,4,0x41\n",
            Msi + "write,00:01.0@0x058,2,0x28\n");
        yield return Case("a message after a hot-add whose next Slot Status shows no enabled event", "HP-EDGE", Standard,
            Msi + "write,00:01.0@0x058,2,0x28\nread,00:01.0@0x05a,2,0x10\nwrite,00:01.0@0x05a,2,0x10\nread,00:01.0@0x05a,2,0x0\nhot-add,,,,rp0,ep0\nmsi,0xfee00000,4,0x41\nread,00:01.0@0x05a,2,0x0\n",
            Msi + "write,00:01.0@0x058,2,0x28\nread,00:01.0@0x05a,2,0x10\nwrite,00:01.0@0x05a,2,0x10\nread,00:01.0@0x05a,2,0x0\nhot-add,,,,rp0,ep0\nmsi,0xfee00000,4,0x41\nread,00:01.0@0x05a,2,0x48\n");
        yield return Case("a message while the condition was already true", "HP-EDGE", Standard,
            Msi + "write,00:01.0@0x058,2,0x28\nread,00:01.0@0x05a,2,0x58\nwrite,00:01.0@0x05a,2,0x10\nread,00:01.0@0x05a,2,0x48\nhot-remove,,,,rp0,ep0\nmsi,0xfee00000,4,0x41\n",
            Msi + "write,00:01.0@0x058,2,0x28\nread,00:01.0@0x05a,2,0x58\nwrite,00:01.0@0x05a,2,0x18\nread,00:01.0@0x05a,2,0x40\nhot-remove,,,,rp0,ep0\nmsi,0xfee00000,4,0x41\nread,00:01.0@0x05a,2,0x8\n");
        yield return Case("a message raised by a Slot Status write", "HP-EDGE", Standard,
            Msi + "write,00:01.0@0x058,2,0x28\nread,00:01.0@0x05a,2,0x58\nwrite,00:01.0@0x05a,2,0x18\nmsi,0xfee00000,4,0x41\n",
            Msi + "write,00:01.0@0x058,2,0x28\nread,00:01.0@0x05a,2,0x58\nwrite,00:01.0@0x05a,2,0x18\n");
        yield return Case("two messages in one step", "HP-EDGE", Standard,
            Msi + "write,00:01.0@0x058,2,0x28\nread,00:01.0@0x05a,2,0x10\nwrite,00:01.0@0x05a,2,0x10\nhot-add,,,,rp0,ep0\nmsi,0xfee00000,4,0x41\nmsi,0xfee00000,4,0x41\nread,00:01.0@0x05a,2,0x48\n",
            Msi + "write,00:01.0@0x058,2,0x28\nread,00:01.0@0x05a,2,0x10\nwrite,00:01.0@0x05a,2,0x10\nhot-add,,,,rp0,ep0\nmsi,0xfee00000,4,0x41\nread,00:01.0@0x05a,2,0x48\n");

        static TestCaseData Case(string name, string rule, Caps caps, string broken, string? kept) =>
            new TestCaseData(rule, caps, broken, kept).SetName("lint: " + name + " (" + rule + ")");
    }

    [TestCaseSource(nameof(Cases))]
    public void each_finding_kind_is_found_where_the_recording_shows_it_and_only_there(string rule, object caps, string broken, string? kept)
    {
        var found = Lint(Trace((Caps)caps, broken));
        Assert.That(found.Findings.Select(f => f.Rule.Id), Is.EqualTo(new[] { rule }), string.Join("\n", found.Findings));
        Assert.That(found.Findings[0].Port.ToString(), Is.EqualTo("0000:00:01.0"));
        if (kept is not null)
        {
            var clean = Lint(Trace((Caps)caps, kept));
            Assert.That(clean.Findings, Is.Empty, string.Join("\n", clean.Findings));
        }
        else
        {
            var clean = Lint(Trace(Standard, broken));
            Assert.That(clean.Findings, Is.Empty, string.Join("\n", clean.Findings));
        }
    }

    [Test]
    public void a_finding_names_the_record_the_rule_and_the_evidence()
    {
        var found = Lint(Trace(Standard, "read,00:01.0@0x05a,2,0x48\nwrite,00:01.0@0x05a,2,0x11f\nread,00:01.0@0x05a,2,0x48\n")).Findings.Single();
        Assert.That(found.ToString(), Is.EqualTo("row 12 (line 13): HP-RW1C 0000:00:01.0: Slot Status read 0x0048: the write of 0x011f at row 11 (after it read 0x0048) did not clear PDC (0x0008)"));
    }

    [Test]
    public void nothing_is_judged_of_a_function_whose_capability_list_was_never_read()
    {
        var result = Lint("op,address,width,value\nread,00:01.0@0x000,4,0xc0301414\nread,00:01.0@0x05a,2,0x48\nwrite,00:01.0@0x05a,2,0x8\nread,00:01.0@0x05a,2,0x48\n");
        Assert.That(result.Findings, Is.Empty);
        Assert.That(result.Ports, Is.Empty);
        Assert.That(result.NotJudged, Is.EqualTo(new[] { "0000:00:01.0 (4 accesses)" }));
    }

    [Test]
    public void ecam_addresses_decode_through_the_topology_header()
    {
        string trace = "# topology: --pcie-root-complex rc0,ecam_base=0xb0000000 --pcie-root-port rc0:rp0,addr=1\nop,address,width,value\n"
            + "read,0xb0008034,1,0x40\nread,0xb0008040,2,0x10\nread,0xb0008042,2,0x142\nread,0xb000804c,4,0x100000\nread,0xb0008054,4,0x40\nread,0xb0008052,2,0x2000\n";
        Assert.That(Lint(trace).Findings.Select(f => (f.Rule.Id, f.Port.ToString())), Is.EqualTo(new[] { ("HP-LINKUP", "0000:00:01.0") }));
    }

    [Test]
    public void an_ecam_address_without_a_topology_header_is_bad_input()
    {
        var error = Assert.Throws<InputException>(() => Lint("op,address,width,value\nread,0xb0008034,1,0x40\n"))!;
        Assert.That(error.Describe(), Is.EqualTo("recorded.csv:2:2: row 1: found ECAM address 0xb0008034, but the trace has no '# topology:' lines to say where ECAM windows are; expected a topology header or configuration addresses"));
    }

    [Test]
    public void the_console_exits_0_clean_3_findings_2_bad_input()
    {
        string directory = TestTemp.NewFolder("lint");
        try
        {
            string clean = Path.Combine(directory, "clean.csv");
            string broken = Path.Combine(directory, "broken.csv");
            string bad = Path.Combine(directory, "bad.csv");
            File.WriteAllText(clean, Trace(Standard, "read,00:01.0@0x052,2,0x2011\n"));
            File.WriteAllText(broken, Trace(Standard, "read,00:01.0@0x052,2,0x2001\n"));
            File.WriteAllText(bad, "op,address\nread,nowhere\n");
            var stdout = new StringWriter();
            var stderr = new StringWriter();
            Assert.That(PcieSim.Cli.PcieSimCommand.Run(["lint", clean], stdout, stderr), Is.EqualTo(0));
            Assert.That(stdout.ToString(), Does.Contain("summary: 10 records, 1 ports, 0 msi rows (0 attributed to a port, 0 judged), 0 findings"));
            stdout.GetStringBuilder().Clear();
            Assert.That(PcieSim.Cli.PcieSimCommand.Run(["lint", broken, "--out", Path.Combine(directory, "report.txt")], stdout, stderr), Is.EqualTo(3));
            Assert.That(stdout.ToString(), Is.Empty);
            Assert.That(File.ReadAllText(Path.Combine(directory, "report.txt")), Does.Contain("HP-LINKUP 0000:00:01.0: Link Status 0x2001"));
            Assert.That(PcieSim.Cli.PcieSimCommand.Run(["lint", bad, "--out", Path.Combine(directory, "bad.txt")], stdout, stderr), Is.EqualTo(2));
            Assert.That(stderr.ToString(), Does.StartWith("pciesim: bad.csv:2:2: "));
            Assert.That(File.Exists(Path.Combine(directory, "bad.txt")), Is.False, "nothing is written on bad input");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
