using System.Globalization;
using System.Text;
using PcieSim.Conformance.Golden;
using PcieSim.Conformance.TestSupport;
using PcieSim.Files;
using PcieSim.Lint;
using PcieSim.Replay;
using PcieSim.Snapshot;
using PcieSim.Topology;
using PcieSim.Topology.Language;

namespace PcieSim.Conformance.Lint;

/// <summary>
/// <c>pciesim lint</c> on whole traces: the real QEMU recordings (their reports are golden files beside them), the
/// corpus as recorded (OpenVMM's values; reports pinned), the corpus and pciehp scenarios as the model emits them
/// under the <c>spec</c> profile (no finding, ever), and the openvmm profile's divergence found from the trace alone.
/// </summary>
public class LintCorpusTests
{
    private static string Traces() => TestCorpus.Directory;

    private static LintResult LintFile(string path)
    {
        using var reader = TraceReader.Open(path);
        return TraceLinter.Lint(reader);
    }

    private static LintResult LintText(string text, string name)
    {
        using var reader = new TraceReader(new StringReader(text), name);
        return TraceLinter.Lint(reader);
    }

    public static IEnumerable<TestCaseData> RealTraces() =>
        Directory.GetFiles(Path.Combine(Traces(), "real"), "*.csv").Select(Path.GetFileName).Order(StringComparer.Ordinal)
            .Select(t => new TestCaseData(t).SetName($"lint real({t})"));

    public static IEnumerable<TestCaseData> CorpusTraces() =>
        TestCorpus.Traces().Select(t => new TestCaseData(t).SetName($"lint corpus({t})"));

    /// <summary>The lint report of a real QEMU 7.2 recording, golden beside it: traces/real/NAME.lint.verified.txt.</summary>
    [TestCaseSource(nameof(RealTraces))]
    public Task real_recording_lint_report(string trace)
    {
        string path = Path.Combine(Traces(), "real", trace);
        string verified = Path.Combine(Traces(), "real", Path.GetFileNameWithoutExtension(trace) + ".lint.verified.txt");
        return Verifier.VerifyFile(verified, TraceLinter.Report(LintFile(path)));
    }

    /// <summary>The deviations qemu-as-peer §2 documents, found wherever the real recordings show them.</summary>
    [Test]
    public void the_documented_qemu_deviations_are_found_in_the_real_recordings()
    {
        var rootPorts = LintFile(Path.Combine(Traces(), "real", "q35-root-ports.csv")).Findings;
        Assert.That(rootPorts.Where(f => f.Rule.Id == "HP-DLLLARC" && f.Evidence.StartsWith("DLLSCE written 1", StringComparison.Ordinal)).Select(f => f.Port.ToString()),
            Is.EquivalentTo(new[] { "0000:00:02.0", "0000:00:03.0", "0000:00:04.0" }), "1. DLLSCE does not stick although LnkCap reports DLLLARC");
        Assert.That(rootPorts.Any(f => f.Rule.Id == "HP-DLLLARC" && f.Evidence.StartsWith("DLL Link Active changed", StringComparison.Ordinal)),
            "1. DLLLA toggles on plug and unplug with no DLLSC");
        Assert.That(rootPorts.Any(f => f.Rule.Id == "HP-RW1C" && f.Evidence.Contains("the write of 0x011f", StringComparison.Ordinal) && f.Evidence.Contains("did not clear ABP|PDC", StringComparison.Ordinal)),
            "3. a Slot Status write with a 1 in a clear bit clears nothing (pciehp's probe of the slot hot-added before boot)");
        var dsp = LintFile(Path.Combine(Traces(), "real", "q35-switch.csv")).Findings;
        Assert.That(dsp.Where(f => f.Evidence.StartsWith("Slot Capabilities", StringComparison.Ordinal)).Select(f => (f.Rule.Id, f.Port.ToString())),
            Is.EquivalentTo(new[] { ("HP-DLLLARC", "0000:03:00.0"), ("HP-DLLLARC", "0000:03:00.1") }), "xio3130 downstream ports: HPC without DLLLARC");
    }

    /// <summary>The corpus as recorded (every read OpenVMM's value): its lint report pinned as a golden file.</summary>
    [TestCaseSource(nameof(CorpusTraces))]
    public Task corpus_trace_lint_report(string trace) =>
        Verifier.Verify(TraceLinter.Report(LintFile(Path.Combine(Traces(), trace))));

    /// <summary>No false alarm: the corpus as the model emits it under the spec profile lints clean.</summary>
    [TestCaseSource(nameof(CorpusTraces))]
    public void corpus_trace_emitted_under_spec_lints_clean(string trace)
    {
        var emitted = new StringWriter(CultureInfo.InvariantCulture);
        TraceReplayer.Replay(Path.Combine(Traces(), trace), new ReplayOptions { Profile = BehaviourProfile.Spec, EmitTrace = emitted }, TextWriter.Null);
        var result = LintText(emitted.ToString(), trace);
        Assert.That(result.Findings, Is.Empty, string.Join("\n", result.Findings));
    }

    public static IEnumerable<TestCaseData> Scenarios()
    {
        foreach (string slot in (string[])["root-port", "switch"])
        {
            foreach (string gic in (string[])["its", "v2m"])
            {
                foreach (bool cc in (bool[])[false, true])
                {
                    yield return new TestCaseData(slot, gic, cc).SetName($"lint emitted pciehp({slot},{gic},{(cc ? "cc" : "nccs")})");
                }
            }
        }
    }

    /// <summary>
    /// Linux pciehp against the model, as a guest would drive it (capability walk, bus numbers, MSI, probe, hot-add and
    /// the interrupt routine's loop, scan, hot-remove), with every value the model's: clean under both profiles
    /// (the sequence never gives them a reason to part), and judged, not skipped (ports found, messages judged).
    /// </summary>
    [TestCaseSource(nameof(Scenarios))]
    public void pciehp_emitted_by_the_model_lints_clean(string slot, string gic, bool cc)
    {
        foreach (var profile in new[] { BehaviourProfile.Spec, BehaviourProfile.OpenVmm })
        {
            var result = LintText(Emit(Skeleton(slot, gic, cc, doubleEvent: false), profile), "emitted.csv");
            Assert.That(result.Findings, Is.Empty, SnapshotWriter.ProfileName(profile) + ":\n" + string.Join("\n", result.Findings));
            Assert.That(result.Ports, Is.Not.Empty);
            Assert.That(result.MessagesJudged, Is.EqualTo(cc ? 3 : 2), "the hot-add and the hot-remove messages, and with Command Completed the enabling command's");
        }
    }

    /// <summary>
    /// A hot-remove before the guest cleared the hot-add's events: the spec profile raises no second message (clean);
    /// OpenVMM raises one while the condition is still true, and the trace alone shows it (HP-EDGE).
    /// </summary>
    [TestCaseSource(nameof(Scenarios))]
    public void a_second_event_before_the_first_is_cleared_parts_the_profiles(string slot, string gic, bool cc)
    {
        var spec = LintText(Emit(Skeleton(slot, gic, cc, doubleEvent: true), BehaviourProfile.Spec), "spec.csv");
        Assert.That(spec.Findings, Is.Empty, string.Join("\n", spec.Findings));
        var openvmm = LintText(Emit(Skeleton(slot, gic, cc, doubleEvent: true), BehaviourProfile.OpenVmm), "openvmm.csv");
        Assert.That(openvmm.Findings.Select(f => f.Rule.Id), Is.EqualTo(new[] { "HP-EDGE" }), string.Join("\n", openvmm.Findings));
        Assert.That(openvmm.Findings[0].Evidence, Does.Contain("while the condition was already true"));
    }

    private static string Emit(string skeleton, BehaviourProfile profile)
    {
        string path = TestTemp.WriteFile("skeleton.csv", skeleton);
        try
        {
            var emitted = new StringWriter(CultureInfo.InvariantCulture);
            TraceReplayer.Replay(path, new ReplayOptions { Profile = profile, EmitTrace = emitted }, TextWriter.Null);
            return emitted.ToString();
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>
    /// The guest's side of a pciehp session, reads without values (the model answers them when the trace is emitted).
    /// The guest knows where capabilities are by walking the list, as Linux does; the walk's offsets are the model's.
    /// </summary>
    private static string Skeleton(string slot, string gic, bool cc, bool doubleEvent)
    {
        string options = cc ? ",hotplug,cc" : ",hotplug";
        string topology = "--pcie-root-complex rc0 --pcie-root-port rc0:rp0" + (slot == "root-port" ? options : string.Empty)
            + (slot == "switch" ? " --pcie-switch rp0:sw0,num_downstream_ports=2" + options : string.Empty)
            + " --pcie-endpoint ep0,template=nvme --gic-msi " + gic;
        var model = new PcieModel(TopologyParser.Parse(topology, "skeleton"));
        var text = new StringBuilder("# topology: " + topology + "\nop,address,width,value,port,device\n");
        void Read(string bdf, int register, int width) => text.Append(CultureInfo.InvariantCulture, $"read,{bdf}@0x{register:x3},{width},\n");
        void Write(string bdf, int register, int width, uint value) => text.Append(CultureInfo.InvariantCulture, $"write,{bdf}@0x{register:x3},{width},0x{value:x}\n");

        var port = slot == "root-port" ? model.FindPort("rp0")! : model.Switches[0].DownstreamPorts[1];
        string at;
        int secondary;
        if (slot == "root-port")
        {
            at = "00:00.0";
            secondary = 1;
            Write(at, 0x18, 4, 0x0001_0100);
        }
        else
        {
            Write("00:00.0", 0x18, 4, 0x0004_0100);
            Write("01:00.0", 0x18, 4, 0x0004_0201);
            Write("02:00.0", 0x18, 4, 0x0003_0302);
            Write("02:00.1", 0x18, 4, 0x0004_0402);
            at = "02:00.1";
            secondary = 4;
        }

        // Enumeration: IDs, header type, the capability list.
        Read(at, 0x00, 4);
        Read(at, 0x0E, 1);
        Read(at, 0x34, 1);
        for (int cap = (int)(port.Read(0x34, 1) & 0xFC); cap >= 0x40; cap = (int)(port.Read(cap + 1, 1) & 0xFC))
        {
            Read(at, cap, 2);
        }

        int pcie = port.Pcie.Offset;
        Read(at, pcie + 0x02, 2);
        Read(at, pcie + 0x0C, 4);
        Read(at, pcie + 0x14, 4);
        Read(at, port.Msi.Offset + 2, 2);

        // MSI: the platform's doorbell, one vector.
        var g = model.Spec.GicMsi!;
        uint address = gic == "its" ? (uint)g.TranslaterAddress : (uint)(g.FrameBase + 0x40);
        uint data = gic == "its" ? 0x21u : g.SpiBase;
        Write(at, port.Msi.Offset + 4, 4, address);
        if (port.Msi.Is64Bit)
        {
            Write(at, port.Msi.Offset + 8, 4, 0);
        }

        Write(at, port.Msi.DataOffset, 2, data);
        Write(at, port.Msi.Offset + 2, 2, 1);

        // pciehp probe: status, control, clear stale events, enable notifications, presence.
        int control = pcie + 0x18, status = pcie + 0x1A, link = pcie + 0x12;
        Read(at, status, 2);
        Read(at, control, 2);
        Write(at, status, 2, 0x011F);
        Read(at, control, 2);
        Write(at, control, 2, cc ? 0x1038u : 0x1028u);
        Read(at, control, 2);
        Read(at, status, 2);
        if (cc)
        {
            Write(at, status, 2, 0x0010);
            Read(at, status, 2);
        }

        Read(at, link, 2);
        text.Append(CultureInfo.InvariantCulture, $"hot-add,,,,{port.Name},ep0\n");
        Read(at, status, 2);
        if (!doubleEvent)
        {
            Write(at, status, 2, 0x011B);
            Read(at, status, 2);
            Read(at, link, 2);
            Read(string.Create(CultureInfo.InvariantCulture, $"{secondary:x2}:00.0"), 0x00, 4);
        }

        text.Append(CultureInfo.InvariantCulture, $"hot-remove,,,,{port.Name},ep0\n");
        Read(at, status, 2);
        Write(at, status, 2, 0x011B);
        Read(at, status, 2);
        Read(at, link, 2);
        Read(string.Create(CultureInfo.InvariantCulture, $"{secondary:x2}:00.0"), 0x00, 4);
        return text.ToString();
    }
}
