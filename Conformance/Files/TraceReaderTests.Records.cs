using PcieSim.Files;
using PcieSim.Replay;

namespace PcieSim.Conformance.Files;

public partial class TraceReaderTests
{
    private const string AllColumns = "seq,op,address,width,value,port,device,note\n";

    /// <summary>
    /// A line without quotes is split sixteen characters at a time: commas at every offset within and across those
    /// blocks (the seq field padded with 0 to 40 leading zeros moves every later comma), empty fields, a trailing
    /// empty field and a line shorter than one block all split as RFC 4180 says.
    /// </summary>
    [Test]
    public void commas_at_every_position_split_the_same()
    {
        for (int pad = 0; pad <= 40; pad++)
        {
            string seq = new string('0', pad) + "7";
            foreach (string note in (string[])["", "x", "a longer note spanning blocks"])
            {
                string line = seq + ",write,0x1000000018,4,0xff00,,," + note;
                var record = Single(AllColumns + line + "\n");
                Assert.That(record, Is.EqualTo(new TraceRecord(1, 2, 7, TraceOp.Write, TraceAddressKind.Numeric, 0x1000000018, default, 4, 0xff00, null, null, null, note.Length == 0 ? null : note)), line);
            }
        }

        Assert.That(Single("op,address,width\nread,0x0,4\n").Width, Is.EqualTo(4), "a line shorter than a block");
    }

    /// <summary>
    /// Port, device and note texts are kept and handed out again when a later row has the same text: 300 distinct
    /// names (more than the reader keeps, so entries collide and are replaced) each come back exactly as written, and
    /// the names of a row read again on the next row are the strings read before.
    /// </summary>
    [Test]
    public void names_read_again_are_the_same_text_whatever_the_collisions()
    {
        var text = new System.Text.StringBuilder(AllColumns);
        int row = 0;
        for (int round = 0; round < 3; round++)
        {
            for (int i = 0; i < 300; i++)
            {
                row++;
                text.Append(System.Globalization.CultureInfo.InvariantCulture, $"{row},hot-add,,,,rp{i},ep{i % 7},note {i % 5}\n");
            }
        }

        var records = ReadAll(text.ToString());
        Assert.That(records, Has.Count.EqualTo(900));
        for (int k = 0; k < records.Count; k++)
        {
            int i = k % 300;
            Assert.That((records[k].Port, records[k].Device, records[k].Note), Is.EqualTo(($"rp{i}", $"ep{i % 7}", $"note {i % 5}")), $"row {k + 1}");
        }

        var again = ReadAll(AllColumns + "1,hot-add,,,,rp0,nvme0,storm\n2,hot-remove,,,,rp0,nvme0,storm\n");
        Assert.Multiple(() =>
        {
            Assert.That(again[1].Port, Is.SameAs(again[0].Port));
            Assert.That(again[1].Device, Is.SameAs(again[0].Device));
            Assert.That(again[1].Note, Is.SameAs(again[0].Note));
        });
    }

    [Test]
    public void every_op_is_read_with_its_fields()
    {
        string text = AllColumns +
            "1,read,0xE0000000,4,,,,first\n" +
            "2,write,0000:00:1f.7@0x04,2,0xFFFF,,,\n" +
            "3,hot-add,,,,rp0,nvme0,\n" +
            "4,hot-remove,,,,rp0,,\n" +
            "5,reset,,,,,,\n" +
            "6,msi,0xfee00000,4,0x4021,,0x0100,\n" +
            "7,mmio-read,0xf0000000,8,0x1,,,\n" +
            "8,mmio-write,0xf0000004,4,0xdeadbeef,,,\n" +
            "9,raise,,,0x3,,nvme0,vector 3\n";
        List<TraceRecord> r = ReadAll(text);
        Assert.That(r, Has.Count.EqualTo(9));
        Assert.Multiple(() =>
        {
            Assert.That(r[0], Is.EqualTo(new TraceRecord(1, 2, 1, TraceOp.Read, TraceAddressKind.Numeric, 0xE0000000, default, 4, null, null, null, null, "first")));
            Assert.That(r[1], Is.EqualTo(new TraceRecord(2, 3, 2, TraceOp.Write, TraceAddressKind.Configuration, 0, new ConfigurationAddress(0, 0, (0x1f << 3) | 7, 4), 2, 0xffff, null, null, null, null)));
            Assert.That(r[2], Is.EqualTo(new TraceRecord(3, 4, 3, TraceOp.HotAdd, TraceAddressKind.None, 0, default, null, null, "rp0", "nvme0", null, null)));
            Assert.That(r[3], Is.EqualTo(new TraceRecord(4, 5, 4, TraceOp.HotRemove, TraceAddressKind.None, 0, default, null, null, "rp0", null, null, null)));
            Assert.That(r[4], Is.EqualTo(new TraceRecord(5, 6, 5, TraceOp.Reset, TraceAddressKind.None, 0, default, null, null, null, null, null, null)));
            Assert.That(r[5], Is.EqualTo(new TraceRecord(6, 7, 6, TraceOp.Msi, TraceAddressKind.Numeric, 0xfee00000, default, 4, 0x4021, null, "0x0100", 0x100, null)));
            Assert.That(r[6], Is.EqualTo(new TraceRecord(7, 8, 7, TraceOp.MmioRead, TraceAddressKind.Numeric, 0xf0000000, default, 8, 1, null, null, null, null)));
            Assert.That(r[7], Is.EqualTo(new TraceRecord(8, 9, 8, TraceOp.MmioWrite, TraceAddressKind.Numeric, 0xf0000004, default, 4, 0xdeadbeef, null, null, null, null)));
            Assert.That(r[8], Is.EqualTo(new TraceRecord(9, 10, 9, TraceOp.Raise, TraceAddressKind.None, 0, default, null, 3, null, "nvme0", null, "vector 3")));
        });
    }

    [TestCase("00:00.0@0x0", 0, 0, 0, 0)]
    [TestCase("0:00:00.0@0x0", 0, 0, 0, 0)]
    [TestCase("1:02:03.4@0x10", 1, 2, (3 << 3) | 4, 0x10)]
    [TestCase("ffff:FF:1F.7@0xFFF", 0xffff, 0xff, 0xff, 0xfff)]
    [TestCase("00a0:0b:1e.2@0X1aB", 0xa0, 0x0b, (0x1e << 3) | 2, 0x1ab)]
    public void configuration_addresses_with_and_without_segment(string text, int segment, int bus, int devfn, int register)
    {
        TraceRecord record = Single("op,address,width\nread," + text + ",4\n");
        Assert.Multiple(() =>
        {
            Assert.That(record.AddressKind, Is.EqualTo(TraceAddressKind.Configuration));
            Assert.That(record.Configuration, Is.EqualTo(new ConfigurationAddress((ushort)segment, (byte)bus, (byte)devfn, (ushort)register)));
            Assert.That(TraceFormat.TryParseConfigurationAddress(text, out ConfigurationAddress parsed), Is.True);
            Assert.That(parsed, Is.EqualTo(record.Configuration));
        });
    }

    [TestCase("0x0", 0UL)]
    [TestCase("0XaBcD", 0xabcdUL)]
    [TestCase("0xFFFFFFFFFFFFFFFF", ulong.MaxValue)]
    [TestCase("0x0000000000000001", 1UL)]
    public void hex_of_either_case(string text, ulong value)
    {
        TraceRecord record = Single("op,address,width,value\nmmio-write," + text + ",8," + text + "\n");
        Assert.Multiple(() =>
        {
            Assert.That(record.Address, Is.EqualTo(value));
            Assert.That(record.Value, Is.EqualTo(value));
        });
    }

    [Test]
    public void comments_between_rows_and_a_last_line_without_newline()
    {
        List<TraceRecord> records = ReadAll("op,address,width\n# a comment\nread,0x0,4\n\n#another\nread,0x4,3\n# last\nread,0x8,8");
        Assert.That(records.Select(r => (r.Row, r.Line, r.Width)), Is.EqualTo(new (int, int, int?)[] { (1, 3, 4), (2, 6, 3), (3, 8, 8) }));
    }

    [Test]
    public void quoted_notes_hold_commas_and_quotes()
    {
        TraceRecord record = Single("op,note\nreset,\"a, \"\"quoted\"\" note\"\n");
        Assert.That(record.Note, Is.EqualTo("a, \"quoted\" note"));
    }

    [Test]
    public void any_integer_width_is_syntax_the_model_judges()
    {
        List<TraceRecord> records = ReadAll("op,address,width,value\nread,0x0,3,0xffffff\nread,0x0,8,0xffffffffffffffff\nread,0x0,16,0x1\nread,0x0,-1,\n");
        Assert.That(records.Select(r => r.Width), Is.EqualTo(new int?[] { 3, 8, 16, -1 }));
    }

    [Test]
    public void rows_may_have_fewer_fields_than_the_header()
    {
        TraceRecord record = Single("op,port,device,note\nhot-remove,rp0\n");
        Assert.Multiple(() =>
        {
            Assert.That(record.Port, Is.EqualTo("rp0"));
            Assert.That(record.Device, Is.Null);
        });
    }

    [Test]
    public void rows_stream_without_growing_memory()
    {
        // 300,000 rows generated as they are read: live memory after them is what it was after the first ones.
        const int Rows = 300_000;
        using var reader = new TraceReader(new GeneratedTrace(Rows), Source);
        int count = 0;
        long early = 0;
        while (reader.TryRead(out TraceRecord record))
        {
            count++;
            if (count == 10_000)
            {
                early = GC.GetTotalMemory(forceFullCollection: true);
            }

            if (record.Seq != count)
            {
                Assert.Fail($"row {count} has seq {record.Seq}");
            }
        }

        long late = GC.GetTotalMemory(forceFullCollection: true);
        Assert.Multiple(() =>
        {
            Assert.That(count, Is.EqualTo(Rows));
            Assert.That(late - early, Is.LessThan(1024 * 1024), "live memory grew with the trace");
        });
    }

    /// <summary>A trace of <c>rows</c> read rows, generated as it is read.</summary>
    private sealed class GeneratedTrace(int rows) : TextReader
    {
        private string pending = "seq,op,address,width\n";
        private int position;
        private int next = 1;

        public override int Read(Span<char> buffer)
        {
            if (position == pending.Length)
            {
                if (next > rows)
                {
                    return 0;
                }

                pending = $"{next},read,0x{next * 4:x},4\n";
                next++;
                position = 0;
            }

            int n = Math.Min(buffer.Length, pending.Length - position);
            pending.AsSpan(position, n).CopyTo(buffer);
            position += n;
            return n;
        }

        public override int Read(char[] buffer, int index, int count) => Read(buffer.AsSpan(index, count));
    }
}
