using System.Text;
using PcieSim.Files;
using PcieSim.Generation;
using PcieSim.Replay;
using PcieSim.Topology.Language;

namespace PcieSim.Conformance.Files;

/// <summary>
/// The replay's first pass (<see cref="MsiRowScan.HasMsiRows"/>): a byte scan that must say what reading every record
/// says, whether a data row's op is <c>msi</c>, whatever the comments, notes, quoting, line breaks and chunking.
/// </summary>
public class MsiRowScanTests
{
    private const string Header = "# topology: --pcie-root-complex rc0 --gic-msi its\nseq,op,address,width,value,port,device,note\n";

    private static bool Scan(string text) => MsiRowScan.HasMsiRows(new MemoryStream(Encoding.UTF8.GetBytes(text)));

    /// <summary>The definition: some record the reader reads has the op msi.</summary>
    private static bool ByReader(string text)
    {
        using var reader = new TraceReader(new StringReader(text), "scan.csv");
        while (reader.TryRead(out var record))
        {
            if (record.Op == TraceOp.Msi)
            {
                return true;
            }
        }

        return false;
    }

    private static IEnumerable<TestCaseData> Cases()
    {
        yield return new TestCaseData(Header + "1,read,0x1000000000,4,,,,\n", false).SetArgDisplayNames("no msi row");
        yield return new TestCaseData(Header + "1,read,0x1000000000,4,,,,\n2,msi,0xeffd0040,4,0x21,,0x0,\n", true).SetArgDisplayNames("msi row");
        yield return new TestCaseData(Header + "1,read,0x1000000000,4,,,,msi in a note\n", false).SetArgDisplayNames("msi in a note");
        yield return new TestCaseData(Header + "1,read,0x1000000000,4,,,,\"msi\"\n", false).SetArgDisplayNames("quoted msi note");
        yield return new TestCaseData(Header + "# msi,msi,msi\n1,read,0x1000000000,4,,,,\n", false).SetArgDisplayNames("msi in a comment after the header");
        yield return new TestCaseData("# msi rows follow\n# topology: --pcie-root-complex rc0 --gic-msi its\nseq,op,note\n1,read,msi\n", false).SetArgDisplayNames("msi before the header");
        yield return new TestCaseData(Header + "1,\"msi\",0xeffd0040,4,0x21,,,\n", true).SetArgDisplayNames("quoted op");
        yield return new TestCaseData(Header + "1,\"ms\"\"i\",0xeffd0040,4,0x21,,,\n", false).SetArgDisplayNames("escaped quote in op").SetDescription("the reader rejects the op");
        yield return new TestCaseData("note,address,op,value\n\"a, \"\"quoted\"\", note\",0xeffd0040,msi,0x21\n", true).SetArgDisplayNames("op third after a quoted note with comma");
        yield return new TestCaseData("note,\"op\",address,value\n\"msi\",reset,,\n", false).SetArgDisplayNames("quoted header, msi in another column");
        yield return new TestCaseData("\uFEFFop,address,value\r\nreset,,\r\nmsi,0xeffd0040,0x21\r\n", true).SetArgDisplayNames("BOM and CRLF");
        yield return new TestCaseData("op,address,value\rreset,,\rmsi,0xeffd0040,0x21", true).SetArgDisplayNames("lone CR, no final line break");
        yield return new TestCaseData("op,address,value\n\nreset,,\n\n", false).SetArgDisplayNames("empty lines");
        yield return new TestCaseData("msi,op\nmsi,reset\n", false).SetArgDisplayNames("op second, msi first");
    }

    [TestCaseSource(nameof(Cases))]
    public void scan_agrees_with_the_reader(string text, bool expected)
    {
        bool byReader;
        try
        {
            byReader = ByReader(text);
        }
        catch (InputException)
        {
            // The reader rejects the trace: the replay fails in its own pass whatever the scan said.
            Assert.That(Scan(text), Is.EqualTo(expected));
            return;
        }

        Assert.That(byReader, Is.EqualTo(expected), "the case's own expectation");
        Assert.That(Scan(text), Is.EqualTo(expected));
    }

    [Test]
    public void msi_row_across_the_scan_chunk_boundary_is_found()
    {
        // Enough padding rows that the msi row straddles the 1 MiB chunk at every offset near it.
        var text = new StringBuilder(Header);
        string padding = "1,read,0x1000000000,4,0xffffffff,,,padding note\n";
        while (text.Length < (1 << 20) - 30)
        {
            text.Append(padding);
        }

        string prefix = text.ToString();
        for (int shift = 0; shift < 40; shift++)
        {
            string trace = prefix + new string('x', shift).Insert(0, "1,read,0x1000000000,4,,,,") + "\n2,msi,0xeffd0040,4,0x21,,0x0,\n";
            Assert.That(Scan(trace), Is.True, $"shift {shift}");
            Assert.That(Scan(trace.Replace("2,msi,", "2,reset,", StringComparison.Ordinal).Replace(",0xeffd0040,4,0x21,,0x0,", ",,,,,,", StringComparison.Ordinal)), Is.False, $"shift {shift} without it");
        }
    }

    [TestCase(" --gic-msi its")]
    [TestCase("")]
    public void scan_agrees_with_the_reader_on_generated_traces(string gic)
    {
        var spec = TopologyParser.Parse("--pcie-root-complex rc0 --pcie-root-port rc0:rp0,hotplug --pcie-endpoint rp0:ep0,template=generic,msi=1 --pcie-endpoint spare,template=nvme" + gic, "scan.topo");
        foreach (int records in new[] { 10, 300, 20_000 })
        {
            var text = new StringWriter(System.Globalization.CultureInfo.InvariantCulture);
            using (var writer = new TraceWriter(text, spec.NormalisedFlags, [], TraceGenerator.Columns, leaveOpen: true))
            {
                foreach (var record in TraceGenerator.Generate(spec, records, 3))
                {
                    writer.Write(record);
                }
            }

            Assert.That(Scan(text.ToString()), Is.EqualTo(ByReader(text.ToString())), $"{records} records");
        }
    }
}
