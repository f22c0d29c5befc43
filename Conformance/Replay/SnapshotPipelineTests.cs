using System.Globalization;
using System.Text;
using PcieSim.Replay;

namespace PcieSim.Conformance.Replay;

/// <summary>
/// The snapshot is written on a second thread while the replay steps (SnapshotPipeline): the text must be what
/// writing in place gives, a bad row must leave exactly the rows before it written, and a failing writer must fail
/// the replay rather than hang it.
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
    public void a_failing_snapshot_writer_fails_the_replay()
    {
        Assert.Throws<IOException>(() => TraceReplayer.Replay(ReadRows(20_000), "fine.csv", new ReplayOptions { SnapshotThread = true }, new FailingWriter(500)));
    }

    [Test]
    public void the_snapshot_is_the_same_however_it_is_cut_into_batches()
    {
        // Row counts around the batch size, and a long run: every row once, in order, then the summary; the same
        // text as writing in place.
        foreach (int rows in new[] { 0, 1, 1023, 1024, 1025, 4097, 20_000 })
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
