using System.Text;
using PcieSim.Files;
using PcieSim.Replay;

namespace PcieSim.Conformance.Files;

/// <summary>
/// The reader's fast paths for plain rows (configuration and mmio reads and writes, msi rows), the one-pass path that
/// reads a row character by character and the scanner that reads it from vector compares, must read every row exactly
/// as the general path does: the same record, or the same error at the same line and column. Rows are drawn around the
/// shape the paths take (and just outside it) under both headers they serve, with each line break a trace may have and
/// now and then a character only the general path may judge, and each is read every way.
/// </summary>
public partial class TraceReaderTests
{
    private const string PlainHeader = "seq,op,address,width,value,port,device";

    /// <summary>A comment after the row, so that the scanner's 64 characters lie in the trace.</summary>
    private static readonly string Filler = "# " + new string('.', PlainRowScanner.Window);

    [TestCase(PlainHeader)]
    [TestCase(PlainHeader + ",note")]
    public void the_fast_paths_read_every_row_as_the_general_path_does(string header)
    {
        const int Seed = 20261121;
        var random = new Random(Seed);
        long onePassRows = 0, scanned = 0, scanned128 = 0;
        long msiWithDevice = 0, scannedMsiWithDevice = 0;
        for (int iteration = 0; iteration < 20_000; iteration++)
        {
            string row = PlainishRow(random);
            string lineBreak = random.Next(8) switch { 0 => "\r\n", 1 => "\r", _ => "\n" };
            string trace = "# topology: --pcie-root-complex rc0\n" + header + "\n" + row + lineBreak + Filler + "\n";
            var general = ReadEveryWay(trace, PlainRowPaths.None, out _);
            foreach (var paths in new[] { PlainRowPaths.OnePass, PlainRowPaths.Scanner128, PlainRowPaths.Scanner })
            {
                var fast = ReadEveryWay(trace, paths, out var counts);
                if (general != fast)
                {
                    Assert.Fail($"seed {Seed}, iteration {iteration}, row '{row}', line break {(int)lineBreak[0]}, {paths}:\n  general: {general}\n  {paths}: {fast}");
                }

                switch (paths)
                {
                    case PlainRowPaths.OnePass:
                        onePassRows += counts.PlainAccess;
                        msiWithDevice += counts.PlainAccess > 0 && fast.Contains("Op = Msi", StringComparison.Ordinal) && fast.Contains("Device = 0", StringComparison.Ordinal) ? 1 : 0;
                        break;
                    case PlainRowPaths.Scanner128:
                        scanned128 += counts.Scanned;
                        scannedMsiWithDevice += counts.Scanned > 0 && fast.Contains("Op = Msi", StringComparison.Ordinal) && fast.Contains("Device = 0", StringComparison.Ordinal) ? 1 : 0;
                        break;
                    default:
                        scanned += counts.Scanned;
                        break;
                }
            }
        }

        Assert.Multiple(() =>
        {
            Assert.That(onePassRows, Is.GreaterThan(1_000), "the one-pass path itself read a good share of the rows");
            Assert.That(msiWithDevice, Is.GreaterThan(20), "the one-pass path read msi rows with a device");
            if (PlainRowScanner.IsSupported)
            {
                Assert.That(scanned128, Is.GreaterThan(1_000), "the scanner (128-bit vectors) read a good share of the rows");
                Assert.That(scanned, Is.EqualTo(scanned128), "the scanner read the same rows whatever its vectors");
                Assert.That(scannedMsiWithDevice, Is.GreaterThan(20), "the scanner read msi rows with a device");
            }
        });
    }

    [Test]
    public void rows_the_pass_declines_are_read_by_the_general_path()
    {
        // A configuration address, a note, no seq, an eight-byte width, a row that stops after its width: each valid,
        // each declined by the pass and read by the general path.
        const string Trace = "# topology: --pcie-root-complex rc0\n" + PlainHeader + ",note\n"
            + "1,read,0000:00:01.0@0x000,4,,,,\n"
            + "2,write,0x10000004,2,0x6,,,why\n"
            + ",read,0x1000000a,1,0xff,,,\n"
            + "4,read,0x10000000,8,,,,\n"
            + "5,read,0x10000000,4\n";
        using var reader = Reader(Trace);
        var records = ReadAll(reader);
        Assert.Multiple(() =>
        {
            Assert.That(reader.PlainAccessRows, Is.Zero);
            Assert.That(records.Select(r => r.Row), Is.EqualTo(new[] { 1, 2, 3, 4, 5 }));
            Assert.That(records[2].Seq, Is.Null);
            Assert.That(records[0].AddressKind, Is.EqualTo(TraceAddressKind.Configuration));
            Assert.That(records[1].Note, Is.EqualTo("why"));
            Assert.That((records[2].Address, records[2].Value), Is.EqualTo((0x1000000AUL, (ulong?)0xFF)));
            Assert.That(records[3].Width, Is.EqualTo(8));
            Assert.That((records[4].Width, records[4].Value), Is.EqualTo(((int?)4, (ulong?)null)));
        });
    }

    /// <summary>What reading a one-row trace gives, as text (the record, or the error with its position), and the rows the fast paths read.</summary>
    private static string ReadEveryWay(string trace, PlainRowPaths paths, out (long PlainAccess, long Scanned) counts)
    {
        counts = default;
        TraceReader? reader = null;
        try
        {
            reader = new TraceReader(new StringReader(trace), Source, paths);
            var records = ReadAll(reader);
            return "record " + string.Join("; ", records.Select(r => r.ToString()));
        }
        catch (InputException e)
        {
            return $"error {e.Line}:{e.Column}: {e.Message}";
        }
        finally
        {
            counts = (reader?.PlainAccessRows ?? 0, reader?.ScannedRows ?? 0);
            reader?.Dispose();
        }
    }

    /// <summary>
    /// A row near a plain row's shape: each field usually right, sometimes just wrong, and now and then with a character
    /// that is not printable ASCII, among them characters whose low byte is a digit, a comma or a line feed.
    /// </summary>
    private static string PlainishRow(Random random)
    {
        string row = PlainishFields(random);
        if (random.Next(16) != 0 || row.Length == 0)
        {
            return row;
        }

        string[] unusual = ["\t", "\u00e9", "\u0130", "\u012c", "\u010a", "\u007f", "\u0000"];
        return row.Insert(random.Next(row.Length + 1), unusual[random.Next(unusual.Length)]);
    }

    private static string PlainishFields(Random random)
    {
        var row = new StringBuilder();
        row.Append(Pick(random, () => Digits(random, random.Next(1, random.Next(2) == 0 ? 5 : 17)), () => Digits(random, random.Next(17, 21)), () => "", () => "-" + Digits(random, 2), () => "+7", () => " 1"));
        string[] ops = ["read", "write", "mmio-read", "mmio-write", "msi"];
        row.Append(',').Append(Pick(random, () => ops[random.Next(ops.Length)], () => "Read", () => "reads", () => "mmio", () => "msi-", () => "hot-add", () => ""));
        row.Append(',').Append(Pick(random, () => Hex(random, random.Next(1, 17)), () => Hex(random, 17), () => "0x", () => "0X" + Hex(random, 8)[2..].ToUpperInvariant(), () => "0000:00:00.0@0x0", () => "", () => "x10", () => "0x1g"));
        row.Append(',').Append(Pick(random, () => "12448"[random.Next(5)].ToString(), () => "8", () => "3", () => "04", () => "", () => "-1", () => "44", () => "a"));
        if (random.Next(8) == 0)
        {
            return row.ToString();
        }

        row.Append(',').Append(Pick(random, () => random.Next(3) == 0 ? "" : Hex(random, random.Next(1, 9)), () => Hex(random, random.Next(9, 18)), () => "0x", () => "1", () => "0xFFFFFFFF", () => "0x100000000"));
        int more = random.Next(4);
        for (int i = 0; i < more; i++)
        {
            // The second field after the value is the device column: an msi row's DeviceID or requester ID.
            string device = Pick(random, () => Hex(random, random.Next(1, 5)), () => Hex(random, 17), () => "0x", () => "0x1g", () => "rc0-ep0");
            row.Append(',').Append(random.Next(6) == 0 ? Pick(random, () => "rp0", () => "n", () => "\"q\"", () => " ", () => "p0x12") : i == 1 && random.Next(4) != 0 ? device : "");
        }

        return row.ToString();
    }

    /// <summary>Mostly the first choice (a valid plain field), any of them one time in four.</summary>
    private static string Pick(Random random, params Func<string>[] choices) =>
        choices[random.Next(4) != 0 ? 0 : random.Next(choices.Length)]();

    private static string Digits(Random random, int count)
    {
        var digits = new char[count];
        for (int i = 0; i < count; i++)
        {
            digits[i] = (char)('0' + random.Next(i == 0 && count > 1 ? 1 : 0, 10));
        }

        return new string(digits);
    }

    private static string Hex(Random random, int digits)
    {
        var text = new StringBuilder("0x");
        for (int i = 0; i < digits; i++)
        {
            text.Append("0123456789abcdefABCDEF"[random.Next(random.Next(4) == 0 ? 22 : 16)]);
        }

        return text.ToString();
    }
}
