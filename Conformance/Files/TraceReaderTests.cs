using System.Text;
using PcieSim.Files;
using PcieSim.Replay;

namespace PcieSim.Conformance.Files;

/// <summary>The trace CSV format: header, records, errors with line and column, and the writer's round trip.</summary>
[TestFixture]
public partial class TraceReaderTests
{
    private const string Source = "test.csv";

    private static TraceReader Reader(string text) => new(new StringReader(text), Source);

    private static TraceReader Reader(byte[] bytes) => TraceReader.Open(new MemoryStream(bytes, writable: false), Source);

    /// <summary>Reads every record of a trace.</summary>
    private static List<TraceRecord> ReadAll(TraceReader reader)
    {
        var records = new List<TraceRecord>();
        while (reader.TryRead(out TraceRecord record))
        {
            records.Add(record);
        }

        return records;
    }

    private static List<TraceRecord> ReadAll(string text)
    {
        using TraceReader reader = Reader(text);
        return ReadAll(reader);
    }

    private static TraceRecord Single(string text)
    {
        List<TraceRecord> records = ReadAll(text);
        Assert.That(records, Has.Count.EqualTo(1));
        return records[0];
    }

    /// <summary>Reads a trace (header and rows) that must fail; checks where, and that the message holds every fragment.</summary>
    private static InputException Fails(string text, int line, int column, params string[] fragments)
        => Check(Assert.Throws<InputException>(() => ReadAll(text))!, line, column, fragments);

    private static InputException Fails(byte[] bytes, int line, int column, params string[] fragments)
        => Check(Assert.Throws<InputException>(() =>
        {
            using TraceReader reader = Reader(bytes);
            ReadAll(reader);
        })!, line, column, fragments);

    private static InputException Check(InputException error, int line, int column, string[] fragments)
    {
        Assert.Multiple(() =>
        {
            Assert.That(error.Source, Is.EqualTo(Source), error.Message);
            Assert.That(error.Line, Is.EqualTo(line), error.Message);
            Assert.That(error.Column, Is.EqualTo(column), error.Message);
            foreach (string fragment in fragments)
            {
                Assert.That(error.Message, Does.Contain(fragment));
            }
        });
        return error;
    }

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);
}
