using System.Text;
using PcieSim.Files;
using PcieSim.Replay;

namespace PcieSim.Conformance.Files;

public partial class TraceReaderTests
{
    [Test]
    public void empty_file_has_no_header()
    {
        // Reported where the header was expected, so every trace error carries a line and a column.
        Fails("", 1, 1, "found an empty trace", "expected a header row");
        Fails(new byte[] { 0xEF, 0xBB, 0xBF }, 1, 1, "found an empty trace");
    }

    [Test]
    public void comments_only_has_no_header()
    {
        Fails("# topology: --pcie-root-complex rc0\n# just comments\n\n", 3, 1, "found only comments and empty lines", "expected a header row naming the columns (seq,op,address,width,value,port,device,note)");
    }

    [Test]
    public void header_without_op()
    {
        Fails("# c\naddress,width\n", 2, 1, "found no 'op' column", "found address,width");
    }

    [Test]
    public void duplicate_column()
    {
        Fails("op,width,address,width\n", 1, 4, "column 4 of the header: found a second 'width' column (the first is column 2), expected each column once");
    }

    [Test]
    public void unknown_column()
    {
        Fails("op,Width\n", 1, 2, "column 2 of the header: found 'Width', expected one of seq, op, address, width, value, port, device, note");
        Fails("op,\n", 1, 2, "found '', expected one of");
    }

    [Test]
    public void unknown_op()
    {
        Fails("seq,op\n1,reset\n2,Read\n", 3, 2, "column 'op': found 'Read', expected an op (read, write, hot-add, hot-remove, reset, msi, mmio-read, mmio-write, raise, exact lower case)");
        Fails("seq,op\n1,\n", 2, 2, "column 'op': found nothing, expected an op");
    }

    [TestCase("0x")]
    [TestCase("10")]
    [TestCase("x10")]
    [TestCase("0x1g")]
    [TestCase("0x 1")]
    [TestCase(" 0x1")]
    [TestCase("0x10000000000000000")]
    [TestCase("-0x1")]
    public void malformed_hex(string text)
    {
        Fails("op,address,width,value\nmmio-write,0x0,4," + text + "\n", 2, 4, $"column 'value': found '{text}', expected a hex number (0x followed by 1-16 hex digits)");
        Fails("op,address,width,value\nmmio-write," + text + ",4,0x0\n", 2, 2, $"column 'address': found '{text}', expected a hex number");
        Assert.That(TraceFormat.TryParseHex(text, out _), Is.False);
    }

    [TestCase(1, "0x100", "0xff")]
    [TestCase(2, "0x10000", "0xffff")]
    [TestCase(3, "0x1000000", "0xffffff")]
    [TestCase(4, "0x100000000", "0xffffffff")]
    public void value_wider_than_its_width(int width, string value, string max)
    {
        Fails($"op,address,width,value\nwrite,0x0,{width},{value}\n", 2, 4, $"column 'value': found '{value}', expected a value that fits in the width of {width} bytes (at most {max})");
    }

    [TestCase("x4")]
    [TestCase("4.0")]
    [TestCase("0x4")]
    [TestCase("four")]
    [TestCase("99999999999")]
    public void width_not_a_number(string text)
    {
        Fails("op,address,width\nread,0x0," + text + "\n", 2, 3, $"column 'width': found '{text}', expected a decimal integer");
    }

    [TestCase("mmio-read", "2", "4 or 8 for op 'mmio-read'")]
    [TestCase("mmio-write", "1", "4 or 8 for op 'mmio-write'")]
    [TestCase("msi", "8", "2 or 4 for op 'msi'")]
    public void width_the_op_does_not_take(string op, string width, string expected)
    {
        Fails($"op,address,width,value\n{op},0xf0000000,{width},0x1\n", 2, 3, $"column 'width': found '{width}', expected {expected}");
    }

    [TestCase("0:1f.0@0x0", "a bus of two hex digits")]
    [TestCase("00:1f.0@0x0:", "a register 0x followed by 1-3 hex digits")]
    [TestCase("00:20.0@0x0", "a device 00-1f")]
    [TestCase("00:1f.8@0x0", "a function of one digit 0-7")]
    [TestCase("00:1f.a@0x0", "a function of one digit 0-7")]
    [TestCase("00:1f.0@0x1000", "a register 0x0-0xfff (1-3 hex digits)")]
    [TestCase("00:1f.0@0x", "a register 0x followed by 1-3 hex digits")]
    [TestCase("00:1f.0@10", "a register 0x followed by 1-3 hex digits")]
    [TestCase("00:1f.0", "one '@' before the register")]
    [TestCase("00:1f.0@0x0@0x0", "one '@' before the register")]
    [TestCase("00:1f@0x0", "one '.' between device and function")]
    [TestCase("00:1.0@0x0", "a device of two hex digits")]
    [TestCase("12345:00:1f.0@0x0", "a segment of 1-4 hex digits")]
    [TestCase(":00:1f.0@0x0", "a segment of 1-4 hex digits")]
    [TestCase("0:0:00:1f.0@0x0", "at most two colons")]
    [TestCase("001f.0@0x0", "a colon after the bus")]
    public void malformed_configuration_address(string text, string expected)
    {
        Fails("op,address,width\nread," + text + ",4\n", 2, 2, $"column 'address': found '{text}', expected ", expected);
        Assert.That(TraceFormat.TryParseConfigurationAddress(text, out _), Is.False);
    }

    [Test]
    public void configuration_address_only_for_config_space_ops()
    {
        Fails("op,address,width\nmmio-read,00:00.0@0x0,4\n", 2, 2, "column 'address': found '00:00.0@0x0', expected a hex number (0x followed by 1-16 hex digits) for op 'mmio-read'");
    }

    [Test]
    public void topology_line_after_the_header_is_reported_after_the_rows_before_it()
    {
        using TraceReader reader = Reader("op\nreset\n# topology: --pcie-root-complex rc1\nreset\n");
        Assert.That(reader.TryRead(out TraceRecord first), Is.True);
        Assert.That(first.Line, Is.EqualTo(2));
        InputException error = Assert.Throws<InputException>(() => reader.TryRead(out _))!;
        Check(error, 3, 1, ["found a '# topology:' line after the header row (line 1), expected topology lines before the header row"]);
    }

    [Test]
    public void truncated_last_line_with_an_unterminated_quote()
    {
        Fails("op,note\nreset,fine\nreset,\"cut mid-fie", 3, 1, "found malformed CSV (a quoted field that is never closed", "expected RFC 4180 fields");
    }

    [Test]
    public void line_break_inside_quotes_is_malformed()
    {
        Fails("op,note\nreset,\"two\nlines\"\n", 2, 1, "found malformed CSV (a line break inside a quoted field), expected RFC 4180 fields, each record on one line");
        Fails("# c\nop,\"note\n", 2, 1, "found malformed CSV (a line break inside a quoted field)");
    }

    [Test]
    public void stray_quote_is_malformed()
    {
        Fails("op,note\nreset,a\"b\n", 2, 1, "found malformed CSV (a quote inside an unquoted field)");
        Fails("op,note\n\"reset\"x,b\n", 2, 1, "found malformed CSV (text after the closing quote of a quoted field)");
    }

    [Test]
    public void more_fields_than_header_columns()
    {
        Fails("op,note\nreset,a,b\n", 2, 3, "row 1: found 3 fields, expected at most 2 (one per header column)");
    }

    [Test]
    public void record_over_64_kib_is_reported_without_reading_the_rest()
    {
        const int Limit = 64 * 1024;
        var text = new StringBuilder("op,note\nreset,ok\nreset,");
        text.Append('n', Limit - "reset,".Length + 1);
        text.Append('\n');
        string head = text.ToString();
        var input = new TailReader(head, tailChars: 50 * 1024 * 1024);
        using var reader = new TraceReader(input, Source);
        Assert.That(reader.TryRead(out _), Is.True);
        InputException error = Assert.Throws<InputException>(() => reader.TryRead(out _))!;
        Check(error, 3, 1, ["found a line longer than the maximum record size, expected at most 65536 bytes (64 KiB)"]);
        Assert.That(input.CharsRead, Is.LessThan(head.Length + (64 * 1024)), "the reader read on past the long line");
    }

    [Test]
    public void record_of_exactly_64_kib_is_accepted()
    {
        string note = new('n', (64 * 1024) - "reset,".Length);
        TraceRecord record = Single("op,note\nreset," + note + "\n");
        Assert.That(record.Note, Has.Length.EqualTo(note.Length));
    }

    [Test]
    public void multi_byte_characters_count_as_their_utf8_bytes()
    {
        // 'é' is two bytes of UTF-8: 32,768 of them (plus the op) are over 64 KiB although fewer chars.
        Fails("op,note\nreset," + new string('é', 32 * 1024) + "\n", 2, 1, "longer than the maximum record size");
    }

    [Test]
    public void nul_bytes_are_binary_garbage()
    {
        Fails(Utf8("op,note\nreset,ok\nreset,a\0b\n"), 3, 1, "found control character U+0000 at character 8 (binary data?), expected UTF-8 text");
    }

    [Test]
    public void binary_garbage_in_a_line_that_runs_on_into_the_next_block()
    {
        // The reader takes text in 64 K-character blocks: this line starts about 45 K characters in, has its control
        // character in the first block and its line break in the second.
        string longRow = "reset," + new string('n', 44_985) + "\n";
        string badRow = "reset,a\u0001" + new string('b', 40_000) + "\n";
        Fails("op,note\n" + longRow + badRow, 3, 1, "found control character U+0001 at character 8 (binary data?), expected UTF-8 text");
    }

    [Test]
    public void invalid_utf8_is_binary_garbage()
    {
        Fails([.. Utf8("op,note\nreset,"), 0xC3, 0x28, .. Utf8("\n")], 2, 1, "found invalid UTF-8 (U+FFFD) at character 7, expected UTF-8 text");
        Fails([0xFF, 0xFE, 0x00, 0x01], 1, 1, "expected UTF-8 text");
    }

    [Test]
    public void binary_garbage_before_the_header()
    {
        Fails([.. Utf8("# c\n"), 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], 2, 1, "expected UTF-8 text");
    }

    [TestCase("note,op", "x,read", 2, "read", "address")]
    [TestCase("op,address", "read,0x0", 1, "read", "width")]
    [TestCase("address,op,width", "0x0,write,4", 2, "write", "value")]
    [TestCase("op,port", "hot-add,rp0", 1, "hot-add", "device")]
    [TestCase("op,device", "hot-remove,nvme0", 1, "hot-remove", "port")]
    [TestCase("op,value", "msi,0x1", 1, "msi", "address")]
    [TestCase("op,address,value", "mmio-read,0x0,0x1", 1, "mmio-read", "width")]
    [TestCase("op,address,width", "mmio-write,0x0,4", 1, "mmio-write", "value")]
    [TestCase("op,value", "raise,0x1", 1, "raise", "device")]
    public void missing_required_column_for_the_op(string header, string row, int opColumn, string op, string missing)
    {
        Fails($"{header}\n{row}\n", 2, opColumn, $"row 1: found op '{op}', which requires column '{missing}', but the header has no '{missing}' column");
    }

    [TestCase("read,,4,,,,", 3, "column 'address': found nothing, expected an address for op 'read'")]
    [TestCase("read,0x0,,,,,", 4, "column 'width': found nothing, expected a width for op 'read'")]
    [TestCase("write,0x0,4,,,,", 5, "column 'value': found nothing, expected a value for op 'write'")]
    [TestCase("hot-add,,,,rp0,,", 7, "column 'device': found nothing, expected a device name for op 'hot-add'")]
    [TestCase("hot-add,,,,,nvme0,", 6, "column 'port': found nothing, expected a port name for op 'hot-add'")]
    [TestCase("hot-remove,,,,,,", 6, "column 'port': found nothing, expected a port name for op 'hot-remove'")]
    [TestCase("msi,0xfee00000,,,,,", 5, "column 'value': found nothing, expected a value for op 'msi'")]
    [TestCase("msi,,,0x1,,,", 3, "column 'address': found nothing, expected an address for op 'msi'")]
    [TestCase("mmio-read,0x0,,,,,", 4, "column 'width': found nothing, expected a width for op 'mmio-read'")]
    [TestCase("mmio-write,0x0,4,,,,", 5, "column 'value': found nothing, expected a value for op 'mmio-write'")]
    [TestCase("raise,,,0x1,,,", 7, "column 'device': found nothing, expected a device name for op 'raise'")]
    [TestCase("raise,,,,,nvme0,", 5, "column 'value': found nothing, expected a value for op 'raise'")]
    public void missing_required_field_for_the_op(string row, int column, string message)
    {
        Fails("seq,op,address,width,value,port,device,note\n1," + row + "\n", 2, column, message);
    }

    [TestCase("hot-add,0x0,,,rp0,nvme0,", 3, "column 'address': found '0x0', expected an empty field: op 'hot-add' takes no 'address'")]
    [TestCase("reset,,4,,,,", 4, "column 'width': found '4', expected an empty field: op 'reset' takes no 'width'")]
    [TestCase("raise,,,0x1,rp0,nvme0,", 6, "column 'port': found 'rp0', expected an empty field: op 'raise' takes no 'port'")]
    [TestCase("read,0x0,4,,,nvme0,", 7, "column 'device': found 'nvme0', expected an empty field: op 'read' takes no 'device'")]
    public void field_the_op_does_not_take(string row, int column, string message)
    {
        Fails("seq,op,address,width,value,port,device,note\n1," + row + "\n", 2, column, message);
    }

    [TestCase("hot-add,,,,rp 0,nvme0,", 6, "column 'port': found 'rp 0', expected a name without whitespace")]
    [TestCase("raise,,,0x1,,\tnvme0,", 7, "column 'device': found '\\tnvme0', expected a name without whitespace")]
    [TestCase("msi,0xfee00000,,0x1,,nvme0,", 7, "column 'device': found 'nvme0', expected a hex number (0x followed by 1-16 hex digits) for op 'msi'")]
    [TestCase("x,reset,,,,,,", 1, "column 'seq': found 'x', expected a decimal integer")]
    public void malformed_names_and_seq(string row, int column, string message)
    {
        string text = "seq,op,address,width,value,port,device,note\n" + (row.StartsWith("x,", StringComparison.Ordinal) ? row : "1," + row) + "\n";
        Fails(text, 2, column, message);
    }

    /// <summary>Some text, then as much filler as asked for, counting what was read.</summary>
    private sealed class TailReader(string head, long tailChars) : TextReader
    {
        private long position;

        public long CharsRead => position;

        public override int Read(Span<char> buffer)
        {
            long total = head.Length + tailChars;
            int n = (int)Math.Min(buffer.Length, total - position);
            for (int i = 0; i < n; i++, position++)
            {
                buffer[i] = position < head.Length ? head[(int)position] : (position % 80 == 79 ? '\n' : 'r');
            }

            return n;
        }

        public override int Read(char[] buffer, int index, int count) => Read(buffer.AsSpan(index, count));
    }
}
