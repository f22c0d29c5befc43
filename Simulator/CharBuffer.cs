using System.Runtime.CompilerServices;

namespace PcieSim;

/// <summary>
/// A growable, reusable character buffer for deterministic text (snapshots, paths): invariant decimal and lower-case
/// hex written digit by digit, no culture, no boxing, no intermediate strings. Reused line after line it allocates
/// nothing once it has grown to the longest line.
/// </summary>
internal sealed class CharBuffer(int capacity = 256)
{
    private char[] chars = new char[Math.Max(capacity, 16)];

    public int Length { get; private set; }

    public ReadOnlySpan<char> AsSpan() => chars.AsSpan(0, Length);

    public void Clear() => Length = 0;

    public override string ToString() => new(chars, 0, Length);

    /// <summary>Writes the text to <paramref name="output"/> in one call.</summary>
    public void WriteTo(TextWriter output) => output.Write(chars, 0, Length);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public CharBuffer Append(char c)
    {
        if (Length == chars.Length)
        {
            Grow(1);
        }

        chars[Length++] = c;
        return this;
    }

    public CharBuffer Append(string? text) => text is null ? this : Append(text.AsSpan());

    public CharBuffer Append(ReadOnlySpan<char> text)
    {
        if (Length + text.Length > chars.Length)
        {
            Grow(text.Length);
        }

        text.CopyTo(chars.AsSpan(Length));
        Length += text.Length;
        return this;
    }

    /// <summary>Lower-case hex without leading zeros (as <c>{value:x}</c> formats it).</summary>
    public CharBuffer AppendHex(ulong value) => AppendHex(value, 1);

    /// <summary>Lower-case hex, at least <paramref name="minDigits"/> digits (as <c>{value:xN}</c> formats it).</summary>
    public CharBuffer AppendHex(ulong value, int minDigits)
    {
        int digits = Math.Max(minDigits, value == 0 ? 1 : (67 - System.Numerics.BitOperations.LeadingZeroCount(value)) >> 2);

        // Last digit first, into the span of exactly the digits (one bounds check, not one per digit).
        var span = Reserve(digits);
        for (int i = span.Length - 1; i >= 0; i--)
        {
            span[i] = (char)HexDigits[(int)(value & 0xF)];
            value >>= 4;
        }

        return this;
    }

    /// <summary>
    /// <c>SSSS:BB:DD.F@0xRRR</c>, a configuration address as the snapshot prints one (lower-case hex, fixed width):
    /// one reservation and eighteen stores, since every config record line has one.
    /// </summary>
    public CharBuffer AppendConfigurationAddress(ushort segment, byte bus, byte devfn, int register)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)register, 0xFFFu, nameof(register));
        var d = Reserve(18);
        var hex = HexDigits;
        d[0] = (char)hex[(segment >> 12) & 0xF];
        d[1] = (char)hex[(segment >> 8) & 0xF];
        d[2] = (char)hex[(segment >> 4) & 0xF];
        d[3] = (char)hex[segment & 0xF];
        d[4] = ':';
        WriteBdf(d.Slice(5, 7), bus, devfn);
        d[12] = '@';
        d[13] = '0';
        d[14] = 'x';
        d[15] = (char)hex[(register >> 8) & 0xF];
        d[16] = (char)hex[(register >> 4) & 0xF];
        d[17] = (char)hex[register & 0xF];
        return this;
    }

    /// <summary><c>BB:DD.F</c>, as lspci prints a bus, device and function (a requester ID).</summary>
    public CharBuffer AppendBdf(byte bus, byte devfn)
    {
        WriteBdf(Reserve(7), bus, devfn);
        return this;
    }

    private static void WriteBdf(Span<char> d, byte bus, byte devfn)
    {
        var hex = HexDigits;
        d[6] = (char)('0' + (devfn & 7));
        d[5] = '.';
        d[4] = (char)hex[(devfn >> 3) & 0xF];
        d[3] = (char)hex[devfn >> 7];
        d[2] = ':';
        d[1] = (char)hex[bus & 0xF];
        d[0] = (char)hex[bus >> 4];
    }

    /// <summary>The next <paramref name="count"/> characters, counted as written (the caller fills every one).</summary>
    private Span<char> Reserve(int count)
    {
        if (Length + count > chars.Length)
        {
            Grow(count);
        }

        var span = chars.AsSpan(Length, count);
        Length += count;
        return span;
    }

    /// <summary>Invariant decimal (as <c>{value}</c> formats a long in the invariant culture).</summary>
    public CharBuffer AppendDecimal(long value)
    {
        if (value < 0)
        {
            Append('-');
            return AppendUnsigned(value == long.MinValue ? (ulong)long.MaxValue + 1 : (ulong)-value);
        }

        return AppendUnsigned((ulong)value);
    }

    /// <summary>Removes trailing white space (as <see cref="string.TrimEnd()"/> does).</summary>
    public void TrimEnd()
    {
        while (Length > 0 && char.IsWhiteSpace(chars[Length - 1]))
        {
            Length--;
        }
    }

    private CharBuffer AppendUnsigned(ulong value)
    {
        var span = Reserve(DecimalDigits(value));
        for (int i = span.Length - 1; i >= 0; i--)
        {
            ulong quotient = value / 10;
            span[i] = (char)('0' + (int)(value - (quotient * 10)));
            value = quotient;
        }

        return this;
    }

    private static int DecimalDigits(ulong value)
    {
        int digits = 1;
        while (value >= 10)
        {
            value /= 10;
            digits++;
        }

        return digits;
    }

    private static ReadOnlySpan<byte> HexDigits => "0123456789abcdef"u8;

    private void Grow(int more) => Array.Resize(ref chars, Math.Max(chars.Length * 2, Length + more));
}
