using PcieSim.Conformance.TestSupport;
using PcieSim.Files;

namespace PcieSim.Conformance.Files;

/// <summary>
/// <see cref="UncachedFileStream"/> writes exactly the bytes it was given, in order, whatever the chunking, whether
/// whole blocks bypass the page cache or not, and across flushes that leave a partial block behind.
/// </summary>
public class UncachedFileStreamTests
{
    private static readonly int[] Lengths = [0, 1, 4095, 4096, 4097, 8191, 65536, 65537, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, (3 << 20) + 123];

    [TestCaseSource(nameof(Cases))]
    public void Writes_exactly_what_it_was_given(int length, bool tryDirect)
    {
        byte[] data = Pattern(length);
        string path = TestTemp.NewFilePath("uncached.bin");
        using (var stream = new UncachedFileStream(path, 1 << 16, tryDirect))
        {
            // Chunks of changing sizes, some crossing blocks and the buffer's end.
            int offset = 0;
            int chunk = 1;
            while (offset < length)
            {
                int n = Math.Min(chunk, length - offset);
                stream.Write(data, offset, n);
                offset += n;
                chunk = chunk * 7 % 70001 + 1;
            }

            Assert.That(stream.Length, Is.EqualTo(length));
        }

        Assert.That(File.ReadAllBytes(path), Is.EqualTo(data));
    }

    [TestCase(true)]
    [TestCase(false)]
    public void A_flush_that_leaves_a_partial_block_loses_nothing(bool tryDirect)
    {
        byte[] data = Pattern(20_000);
        string path = TestTemp.NewFilePath("flushed.bin");
        using (var stream = new UncachedFileStream(path, 4096, tryDirect))
        {
            stream.Write(data, 0, 5000);
            stream.Flush();
            stream.Write(data, 5000, 3);
            stream.Flush();
            stream.Flush();
            stream.Write(data, 5003, data.Length - 5003);
            stream.Flush();
        }

        Assert.That(File.ReadAllBytes(path), Is.EqualTo(data));
    }

    /// <summary>Bytes encoded into <see cref="UncachedFileStream.GetSpan"/> and counted by Advance, mixed with plain writes.</summary>
    [TestCase(true)]
    [TestCase(false)]
    public void Bytes_filled_in_place_are_written_like_written_bytes(bool tryDirect)
    {
        byte[] data = Pattern((3 << 16) + 777);
        string path = TestTemp.NewFilePath("in-place.bin");
        using (var stream = new UncachedFileStream(path, 1 << 14, tryDirect))
        {
            int offset = 0;
            int chunk = 1;
            bool inPlace = true;
            while (offset < data.Length)
            {
                int n = Math.Min(chunk, data.Length - offset);
                if (inPlace)
                {
                    var span = stream.GetSpan(n);
                    Assert.That(span.Length, Is.GreaterThanOrEqualTo(n));
                    data.AsSpan(offset, n).CopyTo(span);
                    stream.Advance(n);
                }
                else
                {
                    stream.Write(data, offset, n);
                }

                offset += n;
                inPlace = !inPlace;
                chunk = chunk * 5 % 12_289 + 1;
            }

            Assert.That(stream.Length, Is.EqualTo(data.Length));
        }

        Assert.That(File.ReadAllBytes(path), Is.EqualTo(data));
    }

    [Test]
    public void Advancing_past_the_span_or_hinting_past_the_buffer_throws_and_counts_nothing()
    {
        string path = TestTemp.NewFilePath("advance.bin");
        using (var stream = new UncachedFileStream(path, 8192))
        {
            stream.Write([1, 2, 3]);
            int free = stream.GetSpan().Length;
            Assert.Multiple(() =>
            {
                Assert.That(() => stream.Advance(free + 1), Throws.TypeOf<ArgumentOutOfRangeException>());
                Assert.That(() => stream.Advance(-1), Throws.TypeOf<ArgumentOutOfRangeException>());
                Assert.That(() => stream.GetSpan(8192 - 4096 + 2), Throws.TypeOf<ArgumentOutOfRangeException>(), "more than a buffer less a block");
                Assert.That(stream.GetSpan(8192 - 4096 + 1).Length, Is.GreaterThanOrEqualTo(8192 - 4096 + 1));
                Assert.That(stream.Length, Is.EqualTo(3));
            });
        }

        Assert.That(File.ReadAllBytes(path), Is.EqualTo(new byte[] { 1, 2, 3 }));
    }

    [Test]
    public void Text_through_a_stream_writer_is_the_same_as_through_a_file_stream()
    {
        string expected = string.Concat(Enumerable.Range(0, 50_000).Select(i => "#" + i.ToString(System.Globalization.CultureInfo.InvariantCulture) + " read é\n"));
        string path = TestTemp.NewFilePath("text.txt");
        using (var writer = new StreamWriter(new UncachedFileStream(path), AtomicFile.Utf8NoBom, 1 << 16))
        {
            writer.Write(expected);
        }

        Assert.That(File.ReadAllText(path), Is.EqualTo(expected));
    }

    [Test]
    public void Writing_after_disposal_throws_and_the_file_keeps_what_was_written()
    {
        string path = TestTemp.NewFilePath("disposed.bin");
        var stream = new UncachedFileStream(path);
        stream.Write([1, 2, 3]);
        stream.Dispose();
        stream.Dispose();

        Assert.Multiple(() =>
        {
            Assert.That(() => stream.Write([4]), Throws.TypeOf<ObjectDisposedException>());
            Assert.That(stream.CanWrite, Is.False);
            Assert.That(File.ReadAllBytes(path), Is.EqualTo(new byte[] { 1, 2, 3 }));
        });
    }

    [Test]
    public void A_write_that_fails_on_the_writer_thread_is_thrown_by_the_next_call()
    {
        // /dev/full refuses every write with ENOSPC: the first full buffer fails on the writer thread.
        Assume.That(File.Exists("/dev/full"), "needs /dev/full (Linux)");
        var stream = new UncachedFileStream("/dev/full", 4096);
        stream.Write(new byte[4096]);
        Assert.That(() =>
        {
            for (int i = 0; i < 4; i++)
            {
                stream.Write(new byte[4096]);
            }
        }, Throws.InstanceOf<IOException>());
        Assert.That(() => stream.Flush(), Throws.InstanceOf<IOException>(), "a failure stays reported");
        Assert.That(stream.Dispose, Throws.InstanceOf<IOException>());
        Assert.That(stream.CanWrite, Is.False, "disposed even though the last write failed");
    }

    [Test]
    public void Flush_waits_until_the_whole_blocks_are_in_the_file()
    {
        byte[] data = Pattern(3 * 4096 + 100);
        string path = TestTemp.NewFilePath("flush-waits.bin");
        using (var stream = new UncachedFileStream(path, 4096))
        {
            stream.Write(data);
            stream.Flush();
            // The stream holds the file's lock, so only its length can be looked at before disposal.
            Assert.That(new FileInfo(path).Length, Is.EqualTo(3 * 4096));
        }

        Assert.That(File.ReadAllBytes(path), Is.EqualTo(data));
    }

    [Test]
    public void It_neither_reads_nor_seeks()
    {
        using var stream = new UncachedFileStream(TestTemp.NewFilePath("write-only.bin"));
        Assert.Multiple(() =>
        {
            Assert.That(stream.CanRead, Is.False);
            Assert.That(stream.CanSeek, Is.False);
            Assert.That(() => stream.Seek(0, SeekOrigin.Begin), Throws.TypeOf<NotSupportedException>());
            Assert.That(() => stream.ReadByte(), Throws.TypeOf<NotSupportedException>());
        });
    }

    private static IEnumerable<TestCaseData> Cases()
    {
        foreach (int length in Lengths)
        {
            yield return new TestCaseData(length, true);
            yield return new TestCaseData(length, false);
        }
    }

    private static byte[] Pattern(int length)
    {
        var data = new byte[length];
        uint x = 0x9e3779b9;
        for (int i = 0; i < length; i++)
        {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            data[i] = (byte)x;
        }

        return data;
    }
}
