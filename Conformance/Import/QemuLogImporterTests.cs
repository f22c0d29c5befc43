using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using PcieSim.Conformance.Golden;
using PcieSim.Files;
using PcieSim.Import;
using PcieSim.Replay;
using PcieSim.Topology.Language;

namespace PcieSim.Conformance.Import;

/// <summary>
/// <c>import qemu</c> on real QEMU 7.2 log excerpts (Fixtures/, cut from recordings made with <c>pciesim record qemu</c>
/// and from QEMU runs by hand; see each test): the traces they give as golden files, and the rules behind them.
/// </summary>
public class QemuLogImporterTests
{
    private static string Fixture(string name, [CallerFilePath] string source = "") =>
        Path.Combine(Path.GetDirectoryName(source)!, "Fixtures", name);

    private static string RealTraces([CallerFilePath] string source = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(source)!, "..", "..", "traces", "real"));

    private static (string Trace, QemuImportReport Report) Import(string text, QemuImportOptions? options = null, string source = "test.log")
    {
        var output = new StringWriter(CultureInfo.InvariantCulture);
        var report = QemuLogImporter.Import(() => new StringReader(text), source, options ?? new QemuImportOptions(), output);
        return (output.ToString(), report);
    }

    private static List<TraceRecord> Rows(string trace)
    {
        using var reader = new TraceReader(new StringReader(trace), "imported.csv");
        var rows = new List<TraceRecord>();
        while (reader.TryRead(out var record))
        {
            rows.Add(record);
        }

        return rows;
    }

    private static IReadOnlyList<QmpEvent> Events(string text) => QmpEventLog.Read(new StringReader(text), "test.events");

    /// <summary>
    /// pci-cfg-plain.log: a q35 guest's log without <c>-msg timestamp=on</c> (QEMU run by hand with
    /// <c>-trace pci_cfg_read -trace pci_cfg_write -trace msix_write_config -trace pci_update_mappings_*</c>): Linux
    /// walking 00:04.0's capability list, then pciehp's probe of that port. Widths inferred, notes where not exact.
    /// </summary>
    [Test]
    public Task pci_cfg_log_without_timestamps() => Verifier.Verify(Import(File.ReadAllText(Fixture("pci-cfg-plain.log")), source: "pci-cfg-plain.log").Trace);

    /// <summary>
    /// pci-cfg-timestamps.log: a recording's log (<c>-msg timestamp=on</c>) of pciehp's probe of 00:04.0 and a hot-add
    /// after 73 lines; the event log places the hot-add row there.
    /// </summary>
    [Test]
    public Task pci_cfg_log_with_timestamps_and_events()
    {
        var options = new QemuImportOptions { Events = Events("73 hot-add rp2 hp0 0000:00:04.0\n"), EventsSource = "test.events" };
        return Verifier.Verify(Import(File.ReadAllText(Fixture("pci-cfg-timestamps.log")), options, "pci-cfg-timestamps.log").Trace);
    }

    /// <summary>
    /// memory-ops.log: windows of a recording's <c>--memory-trace</c> log, in time order: SeaBIOS enabling PCIEXBAR
    /// through CF8/CFC, an IOAPIC interrupt write, Linux programming 00:04.0's MSI-X table, and a hot-add: the
    /// hot-add MSI, the ISR's reads through CF8/CFC and ECAM, Slot Control commands and their Command Completed MSIs.
    /// The recorder performed the hot-add after line 84 of this excerpt.
    /// </summary>
    [Test]
    public Task memory_region_ops_log()
    {
        var options = new QemuImportOptions { Events = Events("84 hot-add rp2 hp2 0000:00:04.0\n"), EventsSource = "test.events" };
        return Verifier.Verify(Import(File.ReadAllText(Fixture("memory-ops.log")), options, "memory-ops.log").Trace);
    }

    /// <summary>its.log: qemu-system-aarch64 virt (gic-version=3) under qtest, two writes to GITS_TRANSLATER.</summary>
    [Test]
    public Task its_translation_writes() => Verifier.Verify(Import(File.ReadAllText(Fixture("its.log")), source: "its.log").Trace);

    [Test]
    public void cf8_cfc_pairs_fold_into_configuration_rows_with_their_widths()
    {
        var rows = Rows(Import(File.ReadAllText(Fixture("memory-ops.log"))).Trace);
        var isr = rows.First(r => r.Op == TraceOp.Read && r.AddressKind == TraceAddressKind.Configuration && r.Configuration.Register == 0x6E && r.Value == 0x49);
        Assert.That((isr.Configuration.Bus, isr.Configuration.Devfn, isr.Width, isr.Note), Is.EqualTo(((byte)0, (byte)0x20, (int?)2, (string?)null)));
        var ecam = rows.First(r => r.AddressKind == TraceAddressKind.Numeric && r.Op == TraceOp.Read && r.Address == 0xB002_0130);
        Assert.That((ecam.Address, ecam.Width), Is.EqualTo((0xB002_0130UL, (int?)4)), "the AER read goes through ECAM with its real width");
    }

    [Test]
    public void interrupt_writes_become_msi_rows_only_when_a_programmed_message_explains_them()
    {
        var (trace, report) = Import(File.ReadAllText(Fixture("memory-ops.log")));
        var rows = Rows(trace);
        var messages = rows.Where(r => r.Op == TraceOp.Msi).ToList();
        Assert.That(messages.Select(m => (m.Address, m.Value)), Is.EqualTo(Enumerable.Repeat((0xFEE0_1004UL, (ulong?)0x24), 3)));
        Assert.That(report.Messages, Is.EqualTo(3));
        Assert.That(trace, Does.Contain("interrupt writes no function's MSI or MSI-X message explains (IOAPIC, HPET) 1"));

        // Each Command Completed MSI follows the Slot Control write that caused it.
        int first = rows.IndexOf(messages[1]);
        Assert.That(rows[first - 1], Has.Property(nameof(TraceRecord.Op)).EqualTo(TraceOp.Write).And.Property(nameof(TraceRecord.Value)).EqualTo(0x6F1UL));
    }

    [Test]
    public void an_event_row_goes_after_the_lines_the_recorder_counted_before_the_action()
    {
        string log = string.Join('\n', File.ReadAllLines(Fixture("pci-cfg-timestamps.log"))) + "\n";
        var rows = Rows(Import(log, new QemuImportOptions { Events = Events("73 hot-add rp2 hp0\n90 hot-remove rp2 hp0\n") }).Trace);
        int add = rows.FindIndex(r => r.Op == TraceOp.HotAdd);
        Assert.That((rows[add - 1].Seq, rows[add + 1].Seq, rows[add].Port, rows[add].Device), Is.EqualTo(((long?)73, (long?)74, "rp2", "hp0")));
        int remove = rows.FindIndex(r => r.Op == TraceOp.HotRemove);
        Assert.That((rows[remove - 1].Seq, rows[remove + 1].Seq), Is.EqualTo(((long?)90, (long?)91)));
    }

    [Test]
    public void without_events_no_hotplug_rows_and_the_header_says_so()
    {
        var (trace, _) = Import(File.ReadAllText(Fixture("pci-cfg-timestamps.log")));
        Assert.That(Rows(trace).Any(r => r.Op is TraceOp.HotAdd or TraceOp.HotRemove), Is.False);
        Assert.That(trace, Does.Contain("# no hotplug rows: no --events file was given"));
    }

    [Test]
    public void unknown_and_malformed_lines_are_counted_with_their_line_numbers()
    {
        string[] real = File.ReadAllLines(Fixture("pci-cfg-plain.log"));
        var lines = new List<string>(real[..6])
        {
            "qemu-system-x86_64: terminating on signal 15",
            "apic_deliver_irq dest 0 dest_mode 0 delivery_mode 0 vector 48 trigger_mode 0",
            "apic_deliver_irq dest 0 dest_mode 0 delivery_mode 0 vector 48 trigger_mode 0",
            real[6][..real[6].IndexOf(" @", StringComparison.Ordinal)],
            string.Empty,
        };
        lines.AddRange(real[7..12]);
        lines.Add("apic_deliver_irq dest 0 dest_mode 0 delivery_mode 0 vector 48 trigger_mode 0");
        var (trace, report) = Import(string.Join('\n', lines));
        Assert.That(report.UnknownLines, Is.EqualTo(4));
        Assert.That(report.MalformedLines, Is.EqualTo(1));
        Assert.That(report.Unknown["event 'apic_deliver_irq'"], Is.EqualTo(new long[] { 8, 9, 17 }));
        Assert.That(report.Unknown["text that is no trace event"], Is.EqualTo(new long[] { 7 }));
        Assert.That(report.Malformed["pci_cfg_read"], Is.EqualTo(new long[] { 10 }));
        Assert.That(trace, Does.Contain("# unknown lines: 4: event 'apic_deliver_irq' (3): lines 8-9, 17; text that is no trace event (1): lines 7"));
        Assert.That(trace, Does.Contain("# malformed lines: 1: pci_cfg_read (1): lines 10"));
        Assert.That(report.Describe().First(), Does.EndWith("4 unknown and 1 malformed lines"));
        Assert.That(Rows(trace), Has.Count.EqualTo(11), "every well-formed access is a row");
    }

    [Test]
    public void line_lists_are_ranges_shortened_in_the_header() =>
        Assert.That(QemuImportReport.Ranges([1, 2, 3, 5, 7, 8, 20], 3), Is.EqualTo("1-3, 5, 7-8, ..."));

    [Test]
    public void a_log_with_no_trace_event_is_bad_input()
    {
        var error = Assert.Throws<InputException>(() => Import("qemu-system-x86_64: warning: host doesn't support requested feature\n"))!;
        Assert.That(error.Describe(), Does.StartWith("test.log:1:1: found no QEMU trace event"));
        Assert.That(Assert.Throws<InputException>(() => Import(string.Empty))!.Describe(), Does.StartWith("test.log:1:1: found no QEMU trace event"), "an empty log: where the first event was expected");
    }

    [Test]
    public void an_event_after_the_end_of_the_log_is_bad_input()
    {
        var options = new QemuImportOptions { Events = Events("# header\n99999 hot-add rp2 hp0\n"), EventsSource = "test.events" };
        var error = Assert.Throws<InputException>(() => Import(File.ReadAllText(Fixture("pci-cfg-plain.log")), options))!;
        Assert.That(error.Describe(), Does.StartWith("test.events:2:1: found an action after 99999 log lines, but the log has 109 lines"));
    }

    [Test]
    public void a_given_topology_must_name_the_events_ports_and_unplugged_endpoints()
    {
        var spec = TopologyParser.Parse("--pcie-root-complex pcie.0,ecam_base=0xb0000000 --pcie-root-port pcie.0:rp2,addr=4,hotplug --pcie-endpoint rp2:nvme0,template=nvme --pcie-endpoint hp0,template=nvme", "t.topo");
        string log = File.ReadAllText(Fixture("pci-cfg-timestamps.log"));
        var wrongPort = new QemuImportOptions { Topology = spec, TopologySource = "t.topo", Events = Events("73 hot-add rp9 hp0\n"), EventsSource = "e" };
        Assert.That(Assert.Throws<InputException>(() => Import(log, wrongPort))!.Describe(), Does.StartWith("e:1:1: found port 'rp9', which the topology (t.topo) does not have"));
        var plugged = wrongPort with { Events = Events("73 hot-add rp2 nvme0\n") };
        Assert.That(Assert.Throws<InputException>(() => Import(log, plugged))!.Describe(), Does.StartWith("e:1:1: found device 'nvme0', expected an endpoint the topology (t.topo) declares without a port"));
        var good = wrongPort with { Events = Events("73 hot-add rp2 hp0\n") };
        string trace = Import(log, good).Trace;
        Assert.That(trace, Does.Contain("# topology: --pcie-root-port pcie.0:rp2,addr=0x04.0,hotplug,acs=0x005f").And.Contain("# the topology lines are from t.topo, as given"));
    }

    [Test]
    public void an_ecam_access_outside_a_given_topology_is_bad_input_and_nothing_is_written()
    {
        var spec = TopologyParser.Parse("--pcie-root-complex rc0 --pcie-root-port rc0:rp0,addr=2", "t.topo");
        var output = new StringWriter(CultureInfo.InvariantCulture);
        string log = File.ReadAllText(Fixture("memory-ops.log"));
        var error = Assert.Throws<InputException>(() => QemuLogImporter.Import(() => new StringReader(log), "m.log", new QemuImportOptions { Topology = spec, TopologySource = "t.topo" }, output))!;
        Assert.That(error.Describe(), Does.StartWith("m.log:17:1: found an ECAM access at 0xb0000010, which no root complex of the topology (t.topo) decodes"));
        Assert.That(output.ToString(), Is.Empty);
    }

    [Test]
    public void values_wider_than_the_access_are_cut_to_its_size()
    {
        // QEMU logs an absent function's 0xffffffff for a 2-byte CFC read.
        string log = "memory_region_ops_write cpu 0 mr 0x1 addr 0xcf8 value 0x8003e800 size 4 name 'pci-conf-idx'\n"
            + "memory_region_ops_read cpu 0 mr 0x2 addr 0xcfc value 0xffffffff size 2 name 'pci-conf-data'\n";
        var row = Rows(Import(log).Trace).Single();
        Assert.That((row.Configuration.Bus, row.Configuration.Devfn, row.Width, row.Value), Is.EqualTo(((byte)3, (byte)0xE8, (int?)2, (ulong?)0xFFFF)));
    }

    [TestCase("pci_cfg_read d 00:02.0 @0x0 -> 0x29c08086", 4, false)]
    [TestCase("pci_cfg_read d 00:02.0 @0x6e -> 0x49", 2, true)]
    [TestCase("pci_cfg_write d 00:02.0 @0x6e <- 0x11f", 2, false)]
    [TestCase("pci_cfg_read d 00:02.0 @0x3d -> 0x1", 1, false)]
    [TestCase("pci_cfg_read d 00:02.0 @0x34 -> 0x54", 1, true)]
    [TestCase("pci_cfg_read d 00:02.0 @0x10 -> 0x0", 4, true)]
    public void a_width_is_exact_when_alignment_and_value_leave_one_else_the_register_decides(string line, int width, bool inferred)
    {
        var row = Rows(Import(line).Trace).Single();
        Assert.That((row.Width, row.Note), Is.EqualTo(((int?)width, inferred ? "width-inferred" : null)));
    }

    [Test]
    public void read_only_bytes_already_read_make_a_narrower_width_exact()
    {
        var rows = Rows(Import("pci_cfg_read d 00:02.0 @0x0 -> 0xc1b36\npci_cfg_read d 00:02.0 @0x0 -> 0x1b36\npci_cfg_read d 00:02.0 @0x2 -> 0xc\n").Trace);
        Assert.That(rows.Select(r => (r.Width, r.Note)), Is.EqualTo(new[] { ((int?)4, (string?)null), (2, null), (2, "width-inferred") }),
            "a 4-byte read at 0x0 would have returned Device ID 0x000c in the upper half; 0xc at 0x2 fits one byte or two");
    }

    [Test]
    public void a_capability_register_gets_its_width_from_the_capability_read_before()
    {
        string log = "pci_cfg_read d 00:02.0 @0x34 -> 0x54\npci_cfg_read d 00:02.0 @0x54 -> 0x4810\npci_cfg_read d 00:02.0 @0x48 -> 0x11\n"
            + "pci_cfg_read d 00:02.0 @0x6c -> 0x0\npci_cfg_read d 00:02.0 @0x68 -> 0x0\npci_cfg_read d 00:02.0 @0x4c -> 0x0\n";
        var rows = Rows(Import(log).Trace);
        Assert.That(rows.Select(r => r.Width), Is.EqualTo(new int?[] { 1, 2, 2, 2, 4, 4 }), "0x6c Slot Control, 0x68 Slot Capabilities, 0x4c MSI-X Table Offset/BIR");
    }

    /// <summary>
    /// The committed real trace traces/real/q35-switch.csv was imported from pci_cfg_* lines (its seq is the log line):
    /// written back as such lines and imported without a topology, the inferred topology is the one it was recorded with.
    /// </summary>
    [Test]
    public void the_inferred_topology_of_a_real_recording_is_the_recorded_one()
    {
        string traces = RealTraces();
        var log = new StringBuilder();
        var events = new List<string>();
        using (var reader = TraceReader.Open(Path.Combine(traces, "q35-switch.csv")))
        {
            while (reader.TryRead(out var r))
            {
                if (r.Op is TraceOp.Read or TraceOp.Write)
                {
                    var c = r.Configuration;
                    log.Append(CultureInfo.InvariantCulture, $"pci_cfg_{(r.Op == TraceOp.Read ? "read" : "write")} dev {c.Bus:x2}:{c.Devfn >> 3:x2}.{c.Devfn & 7} @0x{c.Register:x} {(r.Op == TraceOp.Read ? "->" : "<-")} 0x{r.Value:x}\n");
                }
            }
        }

        string eventLog = File.ReadAllText(Path.Combine(traces, "q35-switch.events"));
        var (trace, _) = Import(log.ToString(), new QemuImportOptions { Events = Events(eventLog), EventsSource = "q35-switch.events" });
        using var imported = new TraceReader(new StringReader(trace), "inferred.csv");
        var flags = TopologyParser.Parse(imported.Header.TopologyLines).NormalisedFlags;
        Assert.That(flags, Is.EqualTo(new[]
        {
            "--pcie-root-complex pcie.0,segment=0,start_bus=0,end_bus=255,ecam_base=0xb0000000,low_mmio=0x4000000,high_mmio=0x40000000",
            "--pcie-root-port pcie.0:rp-02.0,addr=0x02.0,hotplug,cc,acs=0x005f",
            "--pcie-endpoint rp-02.0:ep-01-00.0,template=generic,vendor=0x1b36,device=0x0010,class=0x010802,subsystem=0x1af4:0x1100",
            "--pcie-root-port pcie.0:rp-03.0,addr=0x03.0,hotplug,cc,acs=0x005f",
            "--pcie-switch rp-03.0:sw0,num_downstream_ports=2,hotplug,cc,acs=0x005f",
            "--pcie-endpoint hp0,template=generic,vendor=0x1b36,device=0x0010,class=0x010802,subsystem=0x1af4:0x1100",
        }));
    }
}
