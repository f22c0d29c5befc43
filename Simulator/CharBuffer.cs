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
        if (Length + digits > chars.Length)
        {
            Grow(digits);
        }

        for (int i = Length + digits - 1; i >= Length; i--)
        {
            chars[i] = "0123456789abcdef"[(int)(value & 0xF)];
            value >>= 4;
        }

        Length += digits;
        return this;
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
        // At most 20 digits; the runtime's formatting writes two digits a step.
        if (Length + 20 > chars.Length)
        {
            Grow(20);
        }

        value.TryFormat(chars.AsSpan(Length), out int written, default, System.Globalization.CultureInfo.InvariantCulture);
        Length += written;
        return this;
    }

    private void Grow(int more) => Array.Resize(ref chars, Math.Max(chars.Length * 2, Length + more));
}
