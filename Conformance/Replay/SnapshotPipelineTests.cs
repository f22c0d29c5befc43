using System.Globalization;
using System.Text;
using PcieSim.Files;
using PcieSim.Generation;
using PcieSim.Replay;
using PcieSim.Snapshot;
using PcieSim.Topology.Language;

namespace PcieSim.Conformance.Replay;

/// <summary>
/// Long traces are read and stepped on one thread and written on a second (SnapshotPipeline): the text must be what
/// replaying in place gives, a bad row (bad CSV for the reader, or a row the model refuses) must leave exactly the
/// rows before it written with the same error, and a failing writer or a replay that stops early must end the run
/// rather than hang it.
/// </summary>
public class SnapshotPipelineTests
{
    private static byte[] ReadRows(int rows, string? extra = null)
    {
        var text = new StringBuilder("# topology: --pcie-root-complex rc0 --pcie-root-port rc0:rp0,hotplug\nseq,op,address,width,value,port,device\n");
        for (int i = 1; i <= rows; i++)
        {
            text.Append(CultureInfo.InvariantCulture, $"{i},read,0x1000000000,4,0xc0301414,,\n");
        }

        text.Append(extra);
        return Encoding.UTF8.GetBytes(text.ToString());
    }

    [Test]
    public void bad_input_mid_trace_leaves_every_row_before_it_written_in_order()
    {
        var output = new StringWriter(CultureInfo.InvariantCulture);
        var error = Assert.Throws<InputException>(() => TraceReplayer.Replay(ReadRows(3000, "3001,hot-add,,,,rp9,nvme9\n"), "bad.csv", new ReplayOptions { SnapshotThread = true }, output))!;
        Assert.That(error.Line, Is.EqualTo(3003));
        var rows = output.ToString().Split('\n').Where(l => l.StartsWith('#')).Select(l => l[..l.IndexOf(' ', StringComparison.Ordinal)]).ToList();
        Assert.That(rows, Is.EqualTo(Enumerable.Range(1, 3000).Select(i => "#" + i.ToString(CultureInfo.InvariantCulture))));
        Assert.That(output.ToString(), Does.Not.Contain("summary:"));
    }

    [Test]
    public void a_row_the_reader_rejects_mid_trace_gives_the_in_place_error_after_every_row_before_it()
    {
        var threaded = new StringWriter(CultureInfo.InvariantCulture);
        var error = Assert.Throws<InputException>(() => TraceReplayer.Replay(ReadRows(5000, "5001,read,0x10zz,4,,,\n" + "5002,read,0x1000000000,4,,,\n"), "bad.csv", new ReplayOptions { SnapshotThread = true }, threaded))!;
        var inPlace = new StringWriter(CultureInfo.InvariantCulture);
        var expected = Assert.Throws<InputException>(() => TraceReplayer.Replay(ReadRows(5000, "5001,read,0x10zz,4,,,\n" + "5002,read,0x1000000000,4,,,\n"), "bad.csv", new ReplayOptions { SnapshotThread = false }, inPlace))!;
        Assert.That((error.Line, error.Column, error.Message), Is.EqualTo((expected.Line, expected.Column, expected.Message)));
        Assert.That(error.Line, Is.EqualTo(5003));
        Assert.That(threaded.ToString(), Is.EqualTo(inPlace.ToString()));
        Assert.That(threaded.ToString().Split('\n').Count(l => l.StartsWith('#')), Is.EqualTo(5000));
    }

    [Test]
    public void a_replay_that_stops_early_stops_the_snapshot_thread_after_the_rows_before_it()
    {
        // The model refuses row 5 of 200,000: the replay must throw at once, with the four rows before it written by
        // the snapshot thread and nothing after them.
        var output = new StringWriter(CultureInfo.InvariantCulture);
        var trace = new StringBuilder("# topology: --pcie-root-complex rc0 --pcie-root-port rc0:rp0,hotplug\nseq,op,address,width,value,port,device\n");
        trace.Append("1,read,0x1000000000,4,,,\n2,read,0x1000000000,4,,,\n3,read,0x1000000000,4,,,\n4,read,0x1000000000,4,,,\n5,hot-add,,,,rp9,nvme9\n");
        for (int i = 6; i <= 200_000; i++)
        {
            trace.Append(CultureInfo.InvariantCulture, $"{i},read,0x1000000000,4,,,\n");
        }

        var error = Assert.Throws<InputException>(() => TraceReplayer.Replay(Encoding.UTF8.GetBytes(trace.ToString()), "early.csv", new ReplayOptions { SnapshotThread = true }, output))!;
        Assert.That(error.Line, Is.EqualTo(7));
        Assert.That(output.ToString().Split('\n').Count(l => l.StartsWith('#')), Is.EqualTo(4));
    }

    [Test]
    public void a_failing_snapshot_writer_fails_the_replay()
    {
        Assert.Throws<IOException>(() => TraceReplayer.Replay(ReadRows(20_000), "fine.csv", new ReplayOptions { SnapshotThread = true }, new FailingWriter(50)));
    }

    [Test]
    public void the_snapshot_is_the_same_however_it_is_cut_into_batches()
    {
        // Row counts around the batch size (1,024) and its multiples, and a long run: every row once, in order, then the summary; the same
        // text as writing in place.
        foreach (int rows in new[] { 0, 1, 1023, 1024, 1025, 2047, 2048, 2049, 4097, 20_000 })
        {
            var output = new StringWriter(CultureInfo.InvariantCulture);
            var result = TraceReplayer.Replay(ReadRows(rows), "rows.csv", new ReplayOptions { SnapshotThread = true }, output);
            var inPlace = new StringWriter(CultureInfo.InvariantCulture);
            TraceReplayer.Replay(ReadRows(rows), "rows.csv", new ReplayOptions { SnapshotThread = false }, inPlace);
            Assert.That(output.ToString(), Is.EqualTo(inPlace.ToString()), $"{rows} rows");
            Assert.That(result.Records, Is.EqualTo(rows));
            var lines = output.ToString().Split('\n');
            var numbered = lines.Where(l => l.StartsWith('#')).Select(l => l[..l.IndexOf(' ', StringComparison.Ordinal)]);
            Assert.That(numbered, Is.EqualTo(Enumerable.Range(1, rows).Select(i => "#" + i.ToString(CultureInfo.InvariantCulture))), $"{rows} rows");
            Assert.That(lines.Count(l => l == "summary:"), Is.EqualTo(1));
        }
    }

    /// <summary>
    /// A replay reuses each step outcome once it is written (and its lists, emptied), whether the snapshot thread or
    /// the replay's own wrote it: generated traces with hotplug storms, messages, mmio and msi rows, long enough for
    /// outcomes to go round many times, must give the text and JSON of new outcomes every step.
    /// </summary>
    [TestCase("--gic-msi its", SnapshotFormat.Text)]
    [TestCase("--gic-msi its", SnapshotFormat.Json)]
    [TestCase("--gic-msi v2m", SnapshotFormat.Text)]
    public void reused_outcomes_give_the_snapshot_of_new_ones(string gic, SnapshotFormat format)
    {
        var spec = TopologyParser.Parse(
            "--pcie-root-complex rc0 --pcie-root-port rc0:rp0,hotplug --pcie-root-port rc0:rp1,hotplug "
            + "--pcie-switch rp1:sw,num_downstream_ports=2,hotplug --pcie-endpoint rp0:ep0,template=generic,msi=1 "
            + "--pcie-endpoint sw-downstream-0:nvme0,template=nvme --pcie-endpoint spare,template=nvme " + gic, "reuse.topo");
        var text = new StringWriter(CultureInfo.InvariantCulture);
        using (var writer = new TraceWriter(text, spec.NormalisedFlags, [], TraceGenerator.Columns, leaveOpen: true))
        {
            foreach (var record in TraceGenerator.Generate(spec, 40_000, 7))
            {
                writer.Write(record);
            }
        }

        byte[] trace = Encoding.UTF8.GetBytes(text.ToString());
        var fresh = new StringWriter(CultureInfo.InvariantCulture);
        TraceReplayer.Replay(trace, "reuse.csv", new ReplayOptions { SnapshotThread = false, ReuseOutcomes = false, Format = format }, fresh);
        Assert.That(fresh.ToString(), Does.Contain(format == SnapshotFormat.Text ? "event: " : "\"events\""), "the trace has steps with events");
        foreach (bool threaded in new[] { true, false })
        {
            var reused = new StringWriter(CultureInfo.InvariantCulture);
            TraceReplayer.Replay(trace, "reuse.csv", new ReplayOptions { SnapshotThread = threaded, Format = format }, reused);
            Assert.That(reused.ToString(), Is.EqualTo(fresh.ToString()), threaded ? "threaded" : "in place");
        }
    }

    /// <summary>A writer whose disk fills up after some writes.</summary>
    private sealed class FailingWriter(int writes) : TextWriter
    {
        private int left = writes;

        public override Encoding Encoding => Encoding.UTF8;

        public override void Write(char value) => Spend();

        public override void Write(char[] buffer, int index, int count) => Spend();

        public override void Write(string? value) => Spend();

        private void Spend()
        {
            if (--left < 0)
            {
                throw new IOException("No space left on device");
            }
        }
    }
}
