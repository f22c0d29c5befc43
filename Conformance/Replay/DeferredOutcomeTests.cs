using PcieSim.Conformance.TestSupport;
using PcieSim.Replay;
using PcieSim.Snapshot;

namespace PcieSim.Conformance.Replay;

/// <summary>
/// In an interrupt-complete trace an outcome is written only when the next row comes (its msi rows are compared
/// with it first). What it prints must be what happened at its own row, not after the next one.
/// </summary>
public class DeferredOutcomeTests
{
    private const string Trace = """
        # topology: --pcie-root-complex rc0 --pcie-root-port rc0:rp0,hotplug --pcie-endpoint ep0,template=generic --gic-msi its
        seq,op,address,width,value,port,device,note
        1,write,00:00.0@0x018,4,0x00010100,,,
        2,hot-add,,,,rp0,ep0,
        3,read,01:00.0@0x000,4,,,,read the endpoint below rp0
        4,hot-remove,,,,rp0,ep0,unlinks it before row 3 is written
        5,msi,0xeffd0040,4,0x0,,,makes the trace interrupt-complete
        """;

    [TestCase(SnapshotFormat.Text, "[rc0 > rp0 (T1) > ep0 (T0)]")]
    [TestCase(SnapshotFormat.Json, "\"route\": \"rc0 > rp0 (T1) > ep0 (T0)\"")]
    public void the_route_of_a_row_is_the_one_it_took_even_if_the_next_row_unlinks_the_target(SnapshotFormat format, string route)
    {
        string path = TestTemp.WriteFile("deferred.csv", Trace.ReplaceLineEndings("\n") + "\n");
        var (snapshot, _) = TraceReplayer.ReplayToText(path, new ReplayOptions { Format = format });
        Assert.That(snapshot, Does.Contain(route));
        Assert.That(snapshot, Does.Not.Contain("rc0 > ep0 (T0)"));
    }
}
