using System.Globalization;
using System.Text;
using PcieSim.Conformance.TestSupport;
using PcieSim.Files;
using PcieSim.Replay;

namespace PcieSim.Conformance.Reliability;

/// <summary>
/// Issue 6, large input: replay streams. A generated 1-million-record trace is read, and replayed end to end, while
/// the live GC heap (after a forced full collection) is measured at record 100,000 and at record 1,000,000: it may
/// grow by no more than 5 MB in between. Growth, not time: nothing here is timed (speed belongs to the benchmarks).
/// </summary>
[TestFixture]
public sealed class StreamingMemoryTests
{
    private const int Records = 1_000_000;
    private const int FirstMark = 100_000;
    private const long AllowedGrowth = 5L * 1024 * 1024;

    private const string Head =
        "# topology: --pcie-root-complex rc0 --pcie-root-port rc0:rp0,hotplug --pcie-root-port rc0:rp1\n" +
        "# topology: --pcie-endpoint nvme0,template=nvme --pcie-endpoint rp1:ep1,template=generic,msi=4,msix=8 --gic-msi its\n" +
        "seq,op,address,width,value,port,device,note\n";

    /// <summary>
    /// Row <paramref name="seq"/> (1-based) of the generated trace: bus numbering first, then a repeating mix of reads,
    /// writes in both address forms, hot-add and hot-remove, raise, MMIO and notes, every value different.
    /// </summary>
    private static string Row(long seq)
    {
        if (seq == 1)
        {
            return "1,write,00:00.0@0x018,4,0x00010100,,,rp0 buses";
        }

        if (seq == 2)
        {
            return "2,write,00:01.0@0x018,4,0x00020200,,,rp1 buses";
        }

        long n = seq % 16;
        string s = seq.ToString(CultureInfo.InvariantCulture);
        string hex = (seq & 0xFFFF).ToString("x", CultureInfo.InvariantCulture);
        return n switch
        {
            0 => s + ",hot-remove,,,,rp0,,",
            1 => s + ",read,00:00.0@0x05a,2,,,,",
            2 => s + ",write,00:00.0@0x05a,2,0x0108,,,",
            3 => s + ",raise,,,0x" + (seq % 4).ToString(CultureInfo.InvariantCulture) + ",,ep1,",
            4 => s + ",read,02:00.0@0x000,4,,,,",
            5 => s + ",write,02:00.0@0x03c,1,0x" + (seq & 0xFF).ToString("x", CultureInfo.InvariantCulture) + ",,,note " + s,
            6 => s + ",read,0x1000200000,4,,,,",
            7 => s + ",mmio-read,0x" + (0xE000_0000 + (seq & 0xFF0)).ToString("x", CultureInfo.InvariantCulture) + ",4,,,,",
            8 => s + ",hot-add,,,,rp0,nvme0,",
            9 => s + ",write,00:00.0@0x058,2,0x" + hex + ",,,",
            10 => s + ",read,01:00.0@0x000,4,,,,",
            _ => s + ",read,00:0" + (seq % 2).ToString(CultureInfo.InvariantCulture) + ".0@0x" + ((seq * 4) & 0xFFC).ToString("x3", CultureInfo.InvariantCulture) + ",4,,,,",
        };
    }

    /// <summary>A generated trace as a stream of text: never held whole in memory.</summary>
    private sealed class GeneratedTrace(int records) : TextReader
    {
        private long next = 1;
        private string pending = Head;
        private int offset;

        public override int Read(Span<char> buffer)
        {
            int written = 0;
            while (written < buffer.Length)
            {
                if (offset == pending.Length)
                {
                    if (next > records)
                    {
                        break;
                    }

                    pending = Row(next++) + "\n";
                    offset = 0;
                }

                int n = Math.Min(buffer.Length - written, pending.Length - offset);
                pending.AsSpan(offset, n).CopyTo(buffer[written..]);
                offset += n;
                written += n;
            }

            return written;
        }

        public override int Read(char[] buffer, int index, int count) => Read(buffer.AsSpan(index, count));
    }

    /// <summary>Swallows the snapshot, counting what it was given.</summary>
    private sealed class CountingWriter : TextWriter
    {
        public long Chars { get; private set; }

        public override Encoding Encoding => Encoding.UTF8;

        public override void Write(char value) => Chars++;

        public override void Write(ReadOnlySpan<char> buffer) => Chars += buffer.Length;

        public override void Write(string? value) => Chars += value?.Length ?? 0;
    }

    private static long LiveHeap()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    [Test]
    public void the_reader_does_not_retain_records()
    {
        using var reader = new TraceReader(new GeneratedTrace(Records), "generated.csv");
        long atFirstMark = 0;
        long count = 0;
        while (reader.TryRead(out var record))
        {
            count++;
            Assert.That(record.Seq, Is.EqualTo(count));
            if (count == FirstMark)
            {
                atFirstMark = LiveHeap();
            }
        }

        long atEnd = LiveHeap();
        TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"live heap: {atFirstMark} bytes at record {FirstMark}, {atEnd} at record {Records}"));
        Assert.That(count, Is.EqualTo(Records));
        Assert.That(atEnd - atFirstMark, Is.LessThanOrEqualTo(AllowedGrowth), $"live heap grew from {atFirstMark} to {atEnd} bytes between record {FirstMark} and {Records}");
    }

    [Test]
    public void a_one_million_record_replay_runs_in_bounded_memory()
    {
        string path = TestTemp.NewFilePath("million.csv");
        try
        {
            using (var file = new StreamWriter(path, append: false, AtomicFile.Utf8NoBom, 1 << 16))
            {
                var source = new GeneratedTrace(Records);
                var buffer = new char[1 << 16];
                int read;
                while ((read = source.Read(buffer, 0, buffer.Length)) > 0)
                {
                    file.Write(buffer, 0, read);
                }
            }

            long atFirstMark = 0;
            long atEnd = 0;
            long outcomes = 0;
            var snapshot = new CountingWriter();
            var result = TraceReplayer.Replay(path, new ReplayOptions
            {
                OnOutcome = outcome =>
                {
                    outcomes++;
                    if (outcomes == FirstMark)
                    {
                        atFirstMark = LiveHeap();
                    }
                    else if (outcomes == Records)
                    {
                        atEnd = LiveHeap();
                    }
                },
            }, snapshot);

            TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"live heap: {atFirstMark} bytes at record {FirstMark}, {atEnd} at record {Records}"));
            Assert.Multiple(() =>
            {
                Assert.That(result.Records, Is.EqualTo(Records));
                Assert.That(outcomes, Is.EqualTo(Records));
                Assert.That(result.Mismatches, Is.Zero, "no read in the generated trace records a value");
                Assert.That(snapshot.Chars, Is.GreaterThan(Records * 20L), "the snapshot was written as it went");
                Assert.That(atEnd - atFirstMark, Is.LessThanOrEqualTo(AllowedGrowth), $"live heap grew from {atFirstMark} to {atEnd} bytes between record {FirstMark} and {Records}");
            });
        }
        finally
        {
            File.Delete(path);
        }
    }
}
