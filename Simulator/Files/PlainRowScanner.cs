using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using PcieSim.Replay;

namespace PcieSim.Files;

/// <summary>
/// The plain rows of a trace (<c>SEQ,OP,0xADDRESS,WIDTH,[0xVALUE]</c> and empty fields after them), found and parsed
/// straight from the reader's characters: 64 characters go through vector compares once, which give as bit masks where
/// the line ends, where its commas are and which characters are digits, and the numbers are then put together eight
/// digits at a time. It reads the rows <see cref="TraceReader"/>'s one-pass path reads; for any other line, or a
/// line that does not end within the 64 characters, it answers false, having changed nothing, and the line takes the
/// character-by-character paths. A differential test holds every path to the general one.
/// </summary>
/// <remarks>
/// Why: reading is about a third of the replay thread's time. <c>ReplayStages.Read</c> (1 M rows): 51.5 and 51.9 ms
/// character by character, 39.5 ms with the scanner.
/// </remarks>
internal sealed class PlainRowScanner
{
    /// <summary>Characters examined at once: a line must end (LF or CR LF) within them.</summary>
    public const int Window = 64;

    /// <summary>Bytes of padding before the line in <see cref="bytes"/>: an eight-byte load that ends at a field's end may start before the line.</summary>
    private const int Pad = 8;

    // The ops' names (their first eight bytes) as the little-endian words they load as.
    private static readonly ulong Read = Word("read"u8);
    private static readonly ulong Write = Word("write"u8);
    private static readonly ulong Msi = Word("msi"u8);
    private static readonly ulong MmioRea = Word("mmio-rea"u8);
    private static readonly ulong MmioWri = Word("mmio-wri"u8);

    /// <summary>The window's characters as bytes (ASCII where it matters), after <see cref="Pad"/> bytes of '0'.</summary>
    private readonly byte[] bytes = new byte[Pad + Window + Pad];

    private readonly bool wideVectors;

    /// <param name="wideVectors">Classify the 64 characters with 512-bit vectors (true) or 128-bit ones (false); tests run both.</param>
    public PlainRowScanner(bool wideVectors)
    {
        this.wideVectors = wideVectors && Vector512.IsHardwareAccelerated;
        bytes.AsSpan(0, Pad).Fill((byte)'0');
    }

    /// <summary>Whether this machine has the vectors the scanner needs (else every row takes the other paths).</summary>
    public static bool IsSupported => Vector128.IsHardwareAccelerated;

    /// <summary>A plain row as the scanner read it.</summary>
    public struct Row
    {
        public long Seq;
        public ulong Address;
        public ulong Value;
        public int Width;
        public bool HasValue;
        public TraceOp Op;

        /// <summary>Characters the line takes, its line break included.</summary>
        public int Consumed;

        /// <summary>An msi row's device column: where its text starts in the window (0: the row has none), its length and value.</summary>
        public int DeviceStart;
        public int DeviceLength;
        public ulong DeviceValue;
    }

    /// <summary>Bit masks over the window's 64 characters (bit i: character i).</summary>
    private struct Classes
    {
        /// <summary>Anything but printable ASCII (the line break, or a character only the exact checks may judge).</summary>
        public ulong Unusual;
        public ulong Commas;
        public ulong Digits;
        public ulong HexDigits;
    }

    /// <summary>
    /// Reads the line at the start of <paramref name="window"/> (at least <see cref="Window"/> characters) when it is
    /// a plain row with at most <paramref name="fieldLimit"/> fields.
    /// </summary>
    public bool TryScan(ReadOnlySpan<char> window, int fieldLimit, out Row row)
    {
        Unsafe.SkipInit(out row);
        if (window.Length < Window || !IsSupported)
        {
            return false;
        }

        ref ushort chars = ref Unsafe.As<char, ushort>(ref MemoryMarshal.GetReference(window));
        ref byte text = ref MemoryMarshal.GetArrayDataReference(bytes);
        var classes = wideVectors ? Classify512(ref chars, ref text) : Classify128(ref chars, ref text);

        // The line: printable ASCII up to LF or CR LF, not empty, not a comment.
        int stop = BitOperations.TrailingZeroCount(classes.Unusual);
        if (stop is 0 or >= Window - 1 || Unsafe.Add(ref text, Pad) == '#')
        {
            return false;
        }

        // The characters themselves: a byte of the window is only a character's low byte, exact before the stop alone.
        char end = window[stop];
        if (end == '\n')
        {
            row.Consumed = stop + 1;
        }
        else if (end == '\r' && window[stop + 1] == '\n')
        {
            row.Consumed = stop + 2;
        }
        else
        {
            return false;
        }

        ulong commas = classes.Commas & ((1UL << stop) - 1);

        // seq: 1 to 18 decimal digits.
        int seqEnd = BitOperations.TrailingZeroCount(commas);
        if (seqEnd is 0 or > 18 || !AllSet(classes.Digits, 0, seqEnd))
        {
            return false;
        }

        row.Seq = Decimal(ref text, seqEnd);
        commas &= commas - 1;
        int opEnd = BitOperations.TrailingZeroCount(commas);
        commas &= commas - 1;
        int addressEnd = BitOperations.TrailingZeroCount(commas);
        commas &= commas - 1;
        int widthEnd = BitOperations.TrailingZeroCount(commas);
        if (widthEnd >= stop || widthEnd != addressEnd + 2)
        {
            return false;
        }

        if (!TryOp(ref text, seqEnd + 1, opEnd - seqEnd - 1, out row.Op)
            || !TryHex(ref text, classes.HexDigits, opEnd + 1, addressEnd, out row.Address))
        {
            return false;
        }

        row.Width = Unsafe.Add(ref text, Pad + addressEnd + 1) - '0';
        if (!TraceReader.PlainWidth(row.Op, row.Width))
        {
            return false;
        }

        // The value, up to the next comma or the line's end; then only commas.
        commas &= commas - 1;
        int valueEnd = commas == 0 ? stop : BitOperations.TrailingZeroCount(commas);
        row.HasValue = valueEnd > widthEnd + 1;
        if (row.HasValue)
        {
            if (!TryHex(ref text, classes.HexDigits, widthEnd + 1, valueEnd, out row.Value)
                || !TraceReader.FitsWidth(row.Value, row.Width))
            {
                return false;
            }
        }
        else
        {
            row.Value = 0;
            if (row.Op is not (TraceOp.Read or TraceOp.MmioRead))
            {
                return false;
            }
        }

        // An msi row's device column (its DeviceID or requester ID) after an empty port column.
        int fields = 5;
        row.DeviceStart = 0;
        row.DeviceValue = 0;
        if (row.Op == TraceOp.Msi && stop - valueEnd > 2 && Unsafe.Add(ref text, Pad + valueEnd + 1) == ',' && Unsafe.Add(ref text, Pad + valueEnd + 2) != ',')
        {
            commas &= commas - 1;
            commas &= commas - 1;
            int deviceEnd = commas == 0 ? stop : BitOperations.TrailingZeroCount(commas);
            if (!TryHex(ref text, classes.HexDigits, valueEnd + 2, deviceEnd, out row.DeviceValue))
            {
                return false;
            }

            row.DeviceStart = valueEnd + 2;
            row.DeviceLength = deviceEnd - row.DeviceStart;
            valueEnd = deviceEnd;
            fields = 7;
        }

        int trailing = stop - valueEnd;
        return (commas >> valueEnd) == (1UL << trailing) - 1 && fields + trailing <= fieldLimit;
    }

    /// <summary>The 1 to 18 decimal digits before <paramref name="end"/> (the line's start is padded with '0').</summary>
    private static long Decimal(ref byte text, int end)
    {
        if (end > 16)
        {
            long seq = 0;
            for (int i = 0; i < end; i++)
            {
                seq = (seq * 10) + (Unsafe.Add(ref text, Pad + i) - '0');
            }

            return seq;
        }

        long low = EightDigits(ref text, end);
        return end <= 8 ? low : (EightDigits(ref text, end - 8) * 100_000_000) + low;
    }

    /// <summary>The eight decimal digits before <paramref name="end"/> as a number, in a few multiplications (the SWAR method).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long EightDigits(ref byte text, int end)
    {
        // Loaded little-endian, the first (most significant) digit is the lowest byte.
        ulong word = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref text, Pad + end - 8)) - 0x3030_3030_3030_3030;
        word = (word * 10) + (word >> 8);
        word = (((word & 0x0000_00FF_0000_00FF) * (100 + (1_000_000UL << 32))) + (((word >> 16) & 0x0000_00FF_0000_00FF) * (1 + (10_000UL << 32)))) >> 32;
        return (long)word;
    }

    /// <summary>The classes of 64 characters in two 512-bit vectors of 32; their low bytes go to <paramref name="text"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Classes Classify512(ref ushort chars, ref byte text)
    {
        var first = Vector512.LoadUnsafe(ref chars);
        var second = Vector512.LoadUnsafe(ref chars, 32);
        Vector512.Narrow(first, second).StoreUnsafe(ref text, Pad);
        var space = Vector512.Create((ushort)' ');
        var printable = Vector512.Create((ushort)('~' - ' '));
        var comma = Vector512.Create((ushort)',');
        var zero = Vector512.Create((ushort)'0');
        var ten = Vector512.Create((ushort)10);
        var lower = Vector512.Create((ushort)0x20);
        var a = Vector512.Create((ushort)'a');
        var six = Vector512.Create((ushort)6);
        Classes classes;
        classes.Unusual = Mask(Vector512.GreaterThan(first - space, printable), Vector512.GreaterThan(second - space, printable));
        classes.Commas = Mask(Vector512.Equals(first, comma), Vector512.Equals(second, comma));
        classes.Digits = Mask(Vector512.LessThan(first - zero, ten), Vector512.LessThan(second - zero, ten));
        classes.HexDigits = classes.Digits | Mask(Vector512.LessThan((first | lower) - a, six), Vector512.LessThan((second | lower) - a, six));
        return classes;
    }

    /// <summary>The same classes in 128-bit vectors of 8 characters (what every vector unit has).</summary>
    private static Classes Classify128(ref ushort chars, ref byte text)
    {
        var space = Vector128.Create((ushort)' ');
        var printable = Vector128.Create((ushort)('~' - ' '));
        var comma = Vector128.Create((ushort)',');
        var zero = Vector128.Create((ushort)'0');
        var ten = Vector128.Create((ushort)10);
        var lower = Vector128.Create((ushort)0x20);
        var a = Vector128.Create((ushort)'a');
        var six = Vector128.Create((ushort)6);
        Classes classes = default;
        for (int k = 0; k < Window; k += 16)
        {
            var first = Vector128.LoadUnsafe(ref chars, (nuint)k);
            var second = Vector128.LoadUnsafe(ref chars, (nuint)(k + 8));
            Vector128.Narrow(first, second).StoreUnsafe(ref text, (nuint)(Pad + k));
            classes.Unusual |= Mask(Vector128.GreaterThan(first - space, printable), Vector128.GreaterThan(second - space, printable)) << k;
            classes.Commas |= Mask(Vector128.Equals(first, comma), Vector128.Equals(second, comma)) << k;
            ulong digits = Mask(Vector128.LessThan(first - zero, ten), Vector128.LessThan(second - zero, ten));
            classes.Digits |= digits << k;
            classes.HexDigits |= (digits | Mask(Vector128.LessThan((first | lower) - a, six), Vector128.LessThan((second | lower) - a, six))) << k;
        }

        return classes;
    }

    /// <summary>Two vectors' compare results as one mask, the first's in the low bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Mask(Vector512<ushort> first, Vector512<ushort> second) =>
        first.ExtractMostSignificantBits() | ((ulong)second.ExtractMostSignificantBits() << 32);

    /// <inheritdoc cref="Mask(Vector512{ushort}, Vector512{ushort})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Mask(Vector128<ushort> first, Vector128<ushort> second) =>
        first.ExtractMostSignificantBits() | ((ulong)second.ExtractMostSignificantBits() << 8);

    /// <summary>Whether bits [from, to) of <paramref name="mask"/> are all set.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool AllSet(ulong mask, int from, int to)
    {
        ulong want = ((1UL << (to - from)) - 1) << from;
        return (mask & want) == want;
    }

    /// <summary>The ops of plain rows, by the field's length and its first eight bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool TryOp(ref byte text, int start, int length, out TraceOp op)
    {
        ulong word = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref text, Pad + start));
        (op, bool known) = length switch
        {
            4 => (TraceOp.Read, (word & 0xFFFF_FFFF) == Read),
            5 => (TraceOp.Write, (word & 0xFF_FFFF_FFFF) == Write),
            3 => (TraceOp.Msi, (word & 0xFF_FFFF) == Msi),
            9 => (TraceOp.MmioRead, word == MmioRea && Unsafe.Add(ref text, Pad + start + 8) == 'd'),
            10 => (TraceOp.MmioWrite, word == MmioWri && (Unsafe.ReadUnaligned<ushort>(ref Unsafe.Add(ref text, Pad + start + 8)) == ('t' | ('e' << 8)))),
            _ => (default, false),
        };
        return known;
    }

    private static ulong Word(ReadOnlySpan<byte> ascii)
    {
        Span<byte> word = stackalloc byte[8];
        word.Clear();
        ascii.CopyTo(word);
        return BinaryPrimitives.ReadUInt64LittleEndian(word);
    }

    /// <summary><c>0x</c> (or <c>0X</c>) and 1 to 16 hex digits filling [start, end).</summary>
    private static bool TryHex(ref byte text, ulong hexDigits, int start, int end, out ulong value)
    {
        value = 0;
        int count = end - start - 2;
        if (count is < 1 or > 16 || Unsafe.Add(ref text, Pad + start) != '0' || (Unsafe.Add(ref text, Pad + start + 1) | 0x20) != 'x'
            || !AllSet(hexDigits, start + 2, end))
        {
            return false;
        }

        value = EightNibbles(ref text, end, Math.Min(count, 8));
        if (count > 8)
        {
            value |= EightNibbles(ref text, end - 8, count - 8) << 32;
        }

        return true;
    }

    /// <summary>The last <paramref name="count"/> (1 to 8) hex digit values before <paramref name="end"/> as a number.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong EightNibbles(ref byte text, int end, int count)
    {
        // Loaded little-endian, the last digit is the highest byte: reversed, byte i holds the digit of weight 16^i.
        // A digit's value is its low four bits, plus 9 for a letter (bit 6 set: 'a' is 0x61, 'A' 0x41).
        ulong word = BinaryPrimitives.ReverseEndianness(Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref text, Pad + end - 8)));
        word = (word & 0x0F0F_0F0F_0F0F_0F0F) + (((word >> 6) & 0x0101_0101_0101_0101) * 9);
        word &= ulong.MaxValue >> (8 * (8 - count));
        if (Bmi2.X64.IsSupported)
        {
            return Bmi2.X64.ParallelBitExtract(word, 0x0F0F_0F0F_0F0F_0F0F);
        }

        word = (word | (word >> 4)) & 0x00FF_00FF_00FF_00FF;
        word = (word | (word >> 8)) & 0x0000_FFFF_0000_FFFF;
        return (word | (word >> 16)) & 0xFFFF_FFFF;
    }
}
