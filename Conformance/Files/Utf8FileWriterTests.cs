using System.Text;
using PcieSim.Conformance.TestSupport;
using PcieSim.Files;

namespace PcieSim.Conformance.Files;

/// <summary>
/// <see cref="Utf8FileWriter"/> writes the bytes UTF-8 encodes its text to (no byte order mark), whatever the sizes
/// of the writes, with surrogate pairs split between writes or across its internal chunks, and refuses unpaired
/// surrogates as <see cref="AtomicFile.Utf8NoBom"/> does.
/// </summary>
public class Utf8FileWriterTests
{
    /// <summary>ASCII, two-byte, three-byte and four-byte (surrogate pair) characters, repeated past several chunks and buffers.</summary>
    private static string MixedText(int repeats)
    {
        var text = new StringBuilder();
        for (int i = 0; i < repeats; i++)
        {
            text.Append("#").Append(i).Append(" read é ");
            // A pair lands on every alignment relative to the writer's chunks as the prefix grows.
            text.Append(new string('x', i % 5)).Append("\U0001F600 00:01.0 \u4e2d\n");
        }

        return text.ToString();
    }

    [TestCase(1)]
    [TestCase(3)]
    [TestCase(1023)]
    [TestCase(1024)]
    [TestCase(1025)]
    [TestCase(70_001)]
    public void Writes_the_bytes_utf8_encodes_its_text_to(int chunk)
    {
        string text = MixedText(20_000);
        string path = TestTemp.NewFilePath("utf8.txt");
        using (var writer = new Utf8FileWriter(new UncachedFileStream(path, 4096, tryDirect: true)))
        {
            // Writes of changing sizes from the given start: many split a surrogate pair between two writes.
            int offset = 0;
            while (offset < text.Length)
            {
                int n = Math.Min(chunk, text.Length - offset);
                writer.Write(text.AsSpan(offset, n));
                offset += n;
                chunk = chunk * 7 % 4099 + 1;
            }
        }

        Assert.That(File.ReadAllBytes(path), Is.EqualTo(new UTF8Encoding(false).GetBytes(text)));
    }

    [Test]
    public void Characters_strings_and_arrays_write_the_same_text()
    {
        string path = TestTemp.NewFilePath("overloads.txt");
        using (var writer = new Utf8FileWriter(new UncachedFileStream(path)))
        {
            writer.Write('a');
            writer.Write("\ud83d");
            writer.Write('\ude00');
            writer.Write((string?)null);
            writer.Write(['b', 'é', 'c'], 1, 2);
            writer.WriteLine(42);
        }

        Assert.That(File.ReadAllText(path), Is.EqualTo("a\U0001F600éc42\n"));
    }

    /// <summary>Texts with an unpaired surrogate (built in code: an attribute's strings are stored as UTF-8, which has no lone surrogates).</summary>
    private static IEnumerable<TestCaseData> Unpaired()
    {
        yield return new TestCaseData("a" + (char)0xDC00 + "b").SetName("Utf8FileWriter_refuses_a_lone_low_surrogate");
        yield return new TestCaseData("a" + (char)0xD800 + "b").SetName("Utf8FileWriter_refuses_a_high_surrogate_before_a_letter");
        yield return new TestCaseData("a" + (char)0xD800).SetName("Utf8FileWriter_refuses_a_high_surrogate_at_the_end");
    }

    [TestCaseSource(nameof(Unpaired))]
    public void An_unpaired_surrogate_throws_as_the_strict_encoding_does(string text)
    {
        string path = TestTemp.NewFilePath("unpaired.txt");
        var writer = new Utf8FileWriter(new UncachedFileStream(path));
        Assert.That(() =>
        {
            writer.Write(text);
            writer.Dispose();
        }, Throws.InstanceOf<EncoderFallbackException>());
        Assert.That(() => AtomicFile.Utf8NoBom.GetBytes(text), Throws.InstanceOf<EncoderFallbackException>(), "the encoding it stands for refuses it too");
        writer.Dispose();
    }
}
