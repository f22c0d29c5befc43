using System.Globalization;
using PcieSim.Generation;

namespace PcieSim.Conformance.Snapshot;

/// <summary>
/// The snapshot's digit-by-digit number formatting (<see cref="CharBuffer"/>) against the runtime's invariant
/// formatting it stands in for: every power-of-two and power-of-ten edge, and 100,000 SplitMix64 values spread over
/// all magnitudes.
/// </summary>
public class CharBufferTests
{
    private static IEnumerable<ulong> Values()
    {
        yield return 0;
        yield return ulong.MaxValue;
        for (int bit = 0; bit < 64; bit++)
        {
            ulong power = 1UL << bit;
            yield return power - 1;
            yield return power;
            yield return power + 1;
        }

        ulong ten = 1;
        for (int digits = 1; digits < 20; digits++)
        {
            yield return ten - 1;
            yield return ten;
            ten *= 10;
        }

        var random = new SplitMix64(2026);
        for (int i = 0; i < 100_000; i++)
        {
            // Shifted right by 0..63 bits: every magnitude, not only 20-digit numbers.
            yield return random.Next() >> (int)(random.Next() % 64);
        }
    }

    [Test]
    public void hex_is_what_the_x_format_gives()
    {
        var buffer = new CharBuffer(4);
        foreach (ulong value in Values())
        {
            foreach (int minDigits in (int[])[1, 2, 3, 4, 8])
            {
                buffer.Clear();
                buffer.Append('>').AppendHex(value, minDigits).Append('<');
                string expected = ">" + value.ToString("x" + minDigits.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture) + "<";
                if (!buffer.AsSpan().SequenceEqual(expected))
                {
                    Assert.Fail($"AppendHex(0x{value:x}, {minDigits}) gave '{buffer}', expected '{expected}'");
                }
            }
        }
    }

    [Test]
    public void decimal_is_what_invariant_formatting_gives()
    {
        var buffer = new CharBuffer(4);
        foreach (ulong value in Values())
        {
            foreach (long signed in (long[])[(long)value, -(long)value, (long)(value >> 1)])
            {
                buffer.Clear();
                buffer.Append('>').AppendDecimal(signed).Append('<');
                string expected = ">" + signed.ToString(CultureInfo.InvariantCulture) + "<";
                if (!buffer.AsSpan().SequenceEqual(expected))
                {
                    Assert.Fail($"AppendDecimal({signed.ToString(CultureInfo.InvariantCulture)}) gave '{buffer}', expected '{expected}'");
                }
            }
        }

        buffer.Clear();
        Assert.That(buffer.AppendDecimal(long.MinValue).ToString(), Is.EqualTo("-9223372036854775808"));
    }

    [Test]
    public void a_configuration_address_is_what_lspci_style_formatting_gives()
    {
        var buffer = new CharBuffer(4);
        var random = new SplitMix64(7);
        for (int i = 0; i < 20_000; i++)
        {
            ulong bits = random.Next();
            ushort segment = i < 2 ? (ushort)(i * 0xFFFF) : (ushort)bits;
            byte bus = (byte)(bits >> 16), devfn = (byte)(bits >> 24);
            int register = i < 2 ? i * 0xFFF : (int)((bits >> 32) & 0xFFF);
            buffer.Clear();
            buffer.Append('>').AppendConfigurationAddress(segment, bus, devfn, register).Append('<');
            string expected = string.Create(CultureInfo.InvariantCulture, $">{segment:x4}:{bus:x2}:{devfn >> 3:x2}.{devfn & 7}@0x{register:x3}<");
            if (!buffer.AsSpan().SequenceEqual(expected))
            {
                Assert.Fail($"gave '{buffer}', expected '{expected}'");
            }
        }

        Assert.Throws<ArgumentOutOfRangeException>(() => buffer.AppendConfigurationAddress(0, 0, 0, 0x1000));
    }
}
