using System.Text;
using System.Text.Json;
using PcieSim.Replay;
using PcieSim.Snapshot;
using PcieSim.Conformance.TestSupport;

namespace PcieSim.Conformance.Snapshot;

/// <summary>
/// The text snapshot's record line: <c>seq=</c> only where the trace's seq differs from the data row, and the route
/// in its short form (root complex, root port, <c>...</c>, the bridge above the target, the target) for completed
/// accesses five functions deep or deeper, whole otherwise; the JSON snapshot always gives the whole route.
/// </summary>
public class RecordLineTests
{
    private static string TracesDirectory() => TestCorpus.Directory;

    public static IEnumerable<string> CorpusTraces() => TestCorpus.Traces();

    private static string Replay(string csv, SnapshotFormat format)
    {
        var text = new StringWriter { NewLine = "\n" };
        TraceReplayer.Replay(Encoding.UTF8.GetBytes(csv), "t.csv", new ReplayOptions { Format = format }, text);
        return text.ToString();
    }

    private static string[] RecordLines(string snapshot) =>
        [.. snapshot.Split('\n').SkipWhile(l => l != "records:").Skip(1).TakeWhile(l => l != "summary:").Where(l => l.StartsWith('#'))];

    private const string Topology =
        "# topology: --pcie-root-complex rc0 --pcie-root-port rc0:rp0\n" +
        "# topology: --pcie-switch rp0:sw0,num_downstream_ports=2 --pcie-switch sw0-downstream-0:sw1,num_downstream_ports=2\n" +
        "# topology: --pcie-endpoint sw1-downstream-1:ep0,template=generic\n";

    /// <summary>Bus numbers down to ep0: rp0 → 1 (sw0), sw0-downstream-0 → 3 (sw1), sw1-downstream-1 → 5 (ep0).</summary>
    private const string BusNumbers =
        "write,00:00.0@0x018,4,0x000a0100\n" +
        "write,01:00.0@0x018,4,0x000a0201\n" +
        "write,02:00.0@0x018,4,0x000a0302\n" +
        "write,03:00.0@0x018,4,0x000a0403\n" +
        "write,04:00.1@0x018,4,0x00050504\n";

    [Test]
    public void seq_is_shown_only_where_it_differs_from_the_data_row()
    {
        string snapshot = Replay(
            "# topology: --pcie-root-complex rc0 --pcie-root-port rc0:rp0\nseq,op,address,width\n1,read,00:00.0@0x000,4\n7,read,00:00.0@0x008,4\n3,read,00:00.0@0x00c,4\n",
            SnapshotFormat.Text);
        Assert.That(RecordLines(snapshot).Select(l => l[..l.IndexOf(" read", StringComparison.Ordinal)]), Is.EqualTo(new[] { "#1", "#2 seq=7", "#3" }));
    }

    [Test]
    public void a_deep_completed_access_shows_the_root_port_and_the_last_two_hops()
    {
        string snapshot = Replay(Topology + "op,address,width,value\n" + BusNumbers + "read,05:00.0@0x000,4\nread,04:00.1@0x000,4\nread,03:00.0@0x000,4\n", SnapshotFormat.Text);
        var lines = RecordLines(snapshot);
        Assert.That(lines[5], Does.EndWith("[rc0 > rp0 (T1) > ... > sw1-downstream-1 (T1) > ep0 (T0)]"), "ep0: six functions deep");
        Assert.That(lines[6], Does.EndWith("[rc0 > rp0 (T1) > ... > sw1 (T1) > sw1-downstream-1 (T0)]"), "sw1-downstream-1: five");
        Assert.That(lines[7], Does.EndWith("[rc0 > rp0 (T1) > sw0 (T1) > sw0-downstream-0 (T1) > sw1 (T0)]"), "sw1: four, whole");
    }

    [Test]
    public void an_access_that_stops_shows_its_whole_route()
    {
        // Device 1 on ep0's bus: sw1-downstream-1 has no ARI forwarding, so the request stops there.
        string snapshot = Replay(Topology + "op,address,width,value\n" + BusNumbers + "read,05:01.0@0x000,4\n", SnapshotFormat.Text);
        Assert.That(RecordLines(snapshot)[5], Does.EndWith(
            "[rc0 > rp0 (T1) > sw0 (T1) > sw0-downstream-0 (T1) > sw1 (T1) > sw1-downstream-1 (T1) x device != 0 on the secondary bus without ARI forwarding]"));
    }

    [Test]
    public void json_gives_the_whole_route_of_a_deep_access()
    {
        string json = Replay(Topology + "op,address,width,value\n" + BusNumbers + "read,05:00.0@0x000,4\n", SnapshotFormat.Json);
        using var document = JsonDocument.Parse(json);
        var records = document.RootElement.GetProperty("records");
        Assert.That(records[5].GetProperty("route").GetString(), Is.EqualTo("rc0 > rp0 (T1) > sw0 (T1) > sw0-downstream-0 (T1) > sw1 (T1) > sw1-downstream-1 (T1) > ep0 (T0)"));
    }

    /// <summary>
    /// Every config record of every corpus trace: the text line's route is the JSON record's whole route, or its short
    /// form when the access completed five functions deep (the whole route's first two and last two hops).
    /// </summary>
    [TestCaseSource(nameof(CorpusTraces))]
    public void the_text_route_is_the_whole_route_or_its_short_form(string trace)
    {
        string csv = File.ReadAllText(Path.Combine(TracesDirectory(), trace));
        var lines = RecordLines(Replay(csv, SnapshotFormat.Text));
        using var document = JsonDocument.Parse(Replay(csv, SnapshotFormat.Json));
        var records = document.RootElement.GetProperty("records");
        Assert.That(lines, Has.Length.EqualTo(records.GetArrayLength()));
        int shortened = 0;
        for (int i = 0; i < lines.Length; i++)
        {
            if (!records[i].TryGetProperty("route", out var route))
            {
                continue;
            }

            string whole = route.GetString()!;
            string[] hops = whole.Split(" > ");
            bool deep = records[i].GetProperty("status").GetString() == "completed" && hops.Length >= 6;
            string expected = deep ? string.Join(" > ", hops[0], hops[1], "...", hops[^2], hops[^1]) : whole;
            shortened += deep ? 1 : 0;
            Assert.That(lines[i], Does.EndWith("  [" + expected + "]"), $"record {i + 1}");
        }

        if (trace.StartsWith("03-", StringComparison.Ordinal))
        {
            Assert.That(shortened, Is.Positive, "the nested-switch trace reaches functions five deep");
        }
    }
}
