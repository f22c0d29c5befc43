using System.Runtime.CompilerServices;
using System.Text;
using PcieSim.Files;
using PcieSim.Replay;

namespace PcieSim.Conformance.Replay;

/// <summary>
/// <see cref="TraceRecord"/> is stored compactly (optional numbers as a value and a presence bit, the texts in one
/// object) and written in place by the reader: what it hands out must be what it was given, whatever it held before.
/// </summary>
public class TraceRecordTests
{
    private const string AllColumns = "seq,op,address,width,value,port,device,note\n";

    /// <summary>Every row is written into a step outcome read on the snapshot's core: one cache line, not two.</summary>
    [Test]
    public void a_record_fits_in_one_cache_line()
    {
        Assert.That(Unsafe.SizeOf<TraceRecord>(), Is.LessThanOrEqualTo(64));
    }

    [Test]
    public void an_empty_column_stays_distinct_from_zero()
    {
        var empty = new TraceRecord(1, 2, null, TraceOp.Read, TraceAddressKind.Numeric, 0, default, null, null, null, null, null, null);
        var zeros = new TraceRecord(1, 2, 0, TraceOp.Read, TraceAddressKind.Numeric, 0, default, 0, 0, null, null, 0, null);
        Assert.Multiple(() =>
        {
            Assert.That(new object?[] { empty.Seq, empty.Width, empty.Value, empty.DeviceValue }, Is.All.Null);
            Assert.That(zeros.Seq, Is.EqualTo(0));
            Assert.That(zeros.Width, Is.EqualTo(0));
            Assert.That(zeros.Value, Is.EqualTo(0));
            Assert.That(zeros.DeviceValue, Is.EqualTo(0));
            Assert.That(zeros, Is.Not.EqualTo(empty));
        });
    }

    [Test]
    public void every_field_reads_back_as_given()
    {
        var configuration = new ConfigurationAddress(0x10, 0x20, 0x31, 0x44);
        var record = new TraceRecord(7, 9, long.MaxValue, TraceOp.Msi, TraceAddressKind.Configuration, ulong.MaxValue, configuration, -3, 0x8000_0000_0000_0001, "rp1", "0x0100", 0x100, "a note");
        Assert.Multiple(() =>
        {
            Assert.That(record.Row, Is.EqualTo(7));
            Assert.That(record.Line, Is.EqualTo(9));
            Assert.That(record.Seq, Is.EqualTo(long.MaxValue));
            Assert.That(record.Op, Is.EqualTo(TraceOp.Msi));
            Assert.That(record.AddressKind, Is.EqualTo(TraceAddressKind.Configuration));
            Assert.That(record.Address, Is.EqualTo(ulong.MaxValue));
            Assert.That(record.Configuration, Is.EqualTo(configuration));
            Assert.That(record.Width, Is.EqualTo(-3));
            Assert.That(record.Value, Is.EqualTo(0x8000_0000_0000_0001));
            Assert.That(record.Port, Is.EqualTo("rp1"));
            Assert.That(record.Device, Is.EqualTo("0x0100"));
            Assert.That(record.DeviceValue, Is.EqualTo(0x100));
            Assert.That(record.Note, Is.EqualTo("a note"));
        });
    }

    [Test]
    public void with_changes_one_column_and_keeps_the_others()
    {
        var row = new TraceRecord(3, 4, 5, TraceOp.HotAdd, TraceAddressKind.None, 0, default, null, null, "rp0", "nvme0", null, "storm");
        Assert.Multiple(() =>
        {
            Assert.That(row with { Note = "calm" }, Is.EqualTo(new TraceRecord(3, 4, 5, TraceOp.HotAdd, TraceAddressKind.None, 0, default, null, null, "rp0", "nvme0", null, "calm")));
            Assert.That(row with { Port = null }, Is.EqualTo(new TraceRecord(3, 4, 5, TraceOp.HotAdd, TraceAddressKind.None, 0, default, null, null, null, "nvme0", null, "storm")));
            Assert.That(row with { Device = "nvme1" }, Is.EqualTo(new TraceRecord(3, 4, 5, TraceOp.HotAdd, TraceAddressKind.None, 0, default, null, null, "rp0", "nvme1", null, "storm")));
            Assert.That(row with { Seq = null, Value = 6, Width = 2 }, Is.EqualTo(new TraceRecord(3, 4, null, TraceOp.HotAdd, TraceAddressKind.None, 0, default, 2, 6, "rp0", "nvme0", null, "storm")));
            Assert.That(row with { Port = null, Device = null, Note = null }, Is.EqualTo(new TraceRecord(3, 4, 5, TraceOp.HotAdd, TraceAddressKind.None, 0, default, null, null, null, null, null, null)));
            Assert.That(row.Note, Is.EqualTo("storm"), "the original is unchanged");
        });
    }

    [Test]
    public void records_compare_by_their_texts_not_by_the_objects_holding_them()
    {
        var a = new TraceRecord(1, 2, 3, TraceOp.Raise, TraceAddressKind.None, 0, default, null, 1, null, "nvme0", null, "vector 1");
        var b = new TraceRecord(1, 2, 3, TraceOp.Raise, TraceAddressKind.None, 0, default, null, 1, null, new string("nvme0".AsSpan()), null, new string("vector 1".AsSpan()));
        Assert.Multiple(() =>
        {
            Assert.That(b, Is.EqualTo(a));
            Assert.That(b.GetHashCode(), Is.EqualTo(a.GetHashCode()));
            Assert.That(b with { Note = "vector 2" }, Is.Not.EqualTo(a));
        });
    }

    /// <summary>
    /// The reader writes a row over whatever its destination held (a reused step outcome's record) without clearing
    /// it first: rows read into one record one after the other are each exactly the row, whichever of the reader's
    /// two paths (the one-pass path for plain accesses and msi rows, the general one) read the row before.
    /// </summary>
    [Test]
    public void a_row_read_over_another_keeps_nothing_of_it()
    {
        string trace = AllColumns +
            "1,hot-add,,,,rp0,nvme0,storm 1\n" +
            "2,read,0x1000000000,4,,,,\n" +
            "3,write,0001:02:03.4@0x04,2,0x6,,,\n" +
            "4,read,0x1000000004,2,0x1234,,,\n" +
            "5,msi,0xfee00000,4,0x21,,0x0100,\n" +
            "6,mmio-write,0xf0000000,8,0x1,,,\n" +
            "7,raise,,,0x3,,nvme0,vector 3\n" +
            "8,read,0x1000000008,1,,,,\n";
        TraceRecord[] expected =
        [
            new(1, 2, 1, TraceOp.HotAdd, TraceAddressKind.None, 0, default, null, null, "rp0", "nvme0", null, "storm 1"),
            new(2, 3, 2, TraceOp.Read, TraceAddressKind.Numeric, 0x1000000000, default, 4, null, null, null, null, null),
            new(3, 4, 3, TraceOp.Write, TraceAddressKind.Configuration, 0, new ConfigurationAddress(1, 2, (3 << 3) | 4, 4), 2, 6, null, null, null, null),
            new(4, 5, 4, TraceOp.Read, TraceAddressKind.Numeric, 0x1000000004, default, 2, 0x1234, null, null, null, null),
            new(5, 6, 5, TraceOp.Msi, TraceAddressKind.Numeric, 0xfee00000, default, 4, 0x21, null, "0x0100", 0x100, null),
            new(6, 7, 6, TraceOp.MmioWrite, TraceAddressKind.Numeric, 0xf0000000, default, 8, 1, null, null, null, null),
            new(7, 8, 7, TraceOp.Raise, TraceAddressKind.None, 0, default, null, 3, null, "nvme0", null, "vector 3"),
            new(8, 9, 8, TraceOp.Read, TraceAddressKind.Numeric, 0x1000000008, default, 1, null, null, null, null, null),
        ];
        var read = new List<TraceRecord>();
        var outcome = new StepOutcome(default);
        using (var reader = Open(trace))
        {
            while (reader.TryRead(out outcome.RecordToRead))
            {
                read.Add(outcome.Record);
            }

            Assert.That(reader.PlainAccessRows, Is.EqualTo(5), "rows 2, 4, 5, 6 and 8 take the one-pass path");
        }

        Assert.That(read, Is.EqualTo(expected));
    }

    private static TraceReader Open(string text) => TraceReader.Open(new MemoryStream(Encoding.UTF8.GetBytes(text)), "records.csv");
}
