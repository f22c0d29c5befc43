using System.Globalization;
using System.Runtime.CompilerServices;
using PcieSim.Replay;

namespace PcieSim.Files;

/// <summary>
/// The trace format's own syntax, shared by the reader, the writer and the console: hex numbers
/// (<c>0x</c> and 1–16 hex digits), configuration addresses (<c>[SSSS:]BB:DD.F@0xR</c>, as lspci prints
/// a BDF, plus a register) and op names. CSV splitting and quoting are CsvHelper's.
/// </summary>
public static class TraceFormat
{
    /// <summary>The largest physical line (record) a trace may have, in bytes of UTF-8.</summary>
    public const int MaxRecordBytes = 64 * 1024;

    /// <summary>The prefix of a line that adds topology flags; the flags follow the colon.</summary>
    public const string TopologyPrefix = "# topology:";

    /// <summary>
    /// The prefix of a line (ours) holding replay options that belong to the trace, before the header row:
    /// <c># replay: --vmm-enumerate</c> is the only one.
    /// </summary>
    public const string ReplayPrefix = "# replay:";

    /// <summary>The replay option a <c># replay:</c> line may carry: start from OpenVMM's pre-boot enumeration.</summary>
    public const string VmmEnumerateOption = "--vmm-enumerate";

    /// <summary>The column names a header may have, in their canonical order.</summary>
    public static IReadOnlyList<string> ColumnNames { get; } = ["seq", "op", "address", "width", "value", "port", "device", "note"];

    /// <summary>What a configuration address looks like, for messages.</summary>
    public const string ConfigurationAddressShape = "[SSSS:]BB:DD.F@0xR";

    private static readonly string[] OpNames = ["read", "write", "hot-add", "hot-remove", "reset", "msi", "mmio-read", "mmio-write", "raise"];

    /// <summary>Parses <c>0x</c> (or <c>0X</c>) followed by 1–16 hex digits of either case; nothing else.</summary>
    public static bool TryParseHex(ReadOnlySpan<char> text, out ulong value)
    {
        value = 0;
        if (text.Length < 3 || text.Length > 18 || text[0] != '0' || (text[1] != 'x' && text[1] != 'X'))
        {
            return false;
        }

        return TryParseHexDigits(text[2..], out value);
    }

    /// <summary>Parses a configuration address <c>[SSSS:]BB:DD.F@0xR</c>; see <see cref="DescribeConfigurationAddressError"/> for why one fails.</summary>
    public static bool TryParseConfigurationAddress(ReadOnlySpan<char> text, out ConfigurationAddress address)
        => DescribeConfigurationAddressError(text, out address) is null;

    /// <summary>
    /// Parses a configuration address; returns null on success, else what was expected (for an error message).
    /// SSSS is 1–4 hex digits (segment, default 0), BB two hex digits, DD two hex digits 00–1f, F one digit 0–7,
    /// and R <c>0x</c> with 1–3 hex digits.
    /// </summary>
    public static string? DescribeConfigurationAddressError(ReadOnlySpan<char> text, out ConfigurationAddress address)
    {
        address = default;
        int at = text.IndexOf('@');
        if (at < 0 || text[(at + 1)..].Contains('@'))
        {
            return $"a configuration address {ConfigurationAddressShape} (one '@' before the register)";
        }

        ReadOnlySpan<char> bdf = text[..at];
        ReadOnlySpan<char> register = text[(at + 1)..];

        ushort segment = 0;
        int firstColon = bdf.IndexOf(':');
        int lastColon = bdf.LastIndexOf(':');
        if (firstColon < 0)
        {
            return $"a configuration address {ConfigurationAddressShape} (BB:DD.F, a colon after the bus)";
        }

        ReadOnlySpan<char> rest;
        if (firstColon != lastColon)
        {
            ReadOnlySpan<char> segmentText = bdf[..firstColon];
            if (segmentText.Length is < 1 or > 4 || !TryParseHexDigits(segmentText, out ulong s))
            {
                return $"a segment of 1-4 hex digits in {ConfigurationAddressShape}";
            }

            segment = (ushort)s;
            rest = bdf[(firstColon + 1)..];
            if (rest.IndexOf(':') != rest.LastIndexOf(':'))
            {
                return $"a configuration address {ConfigurationAddressShape} (at most two colons)";
            }
        }
        else
        {
            rest = bdf;
        }

        int colon = rest.IndexOf(':');
        ReadOnlySpan<char> busText = rest[..colon];
        if (busText.Length != 2 || !TryParseHexDigits(busText, out ulong bus))
        {
            return $"a bus of two hex digits in {ConfigurationAddressShape}";
        }

        ReadOnlySpan<char> devfn = rest[(colon + 1)..];
        int dot = devfn.IndexOf('.');
        if (dot < 0 || devfn[(dot + 1)..].Contains('.'))
        {
            return $"a configuration address {ConfigurationAddressShape} (DD.F, one '.' between device and function)";
        }

        ReadOnlySpan<char> deviceText = devfn[..dot];
        if (deviceText.Length != 2 || !TryParseHexDigits(deviceText, out ulong device))
        {
            return $"a device of two hex digits in {ConfigurationAddressShape}";
        }

        if (device > 0x1f)
        {
            return $"a device 00-1f in {ConfigurationAddressShape}";
        }

        ReadOnlySpan<char> functionText = devfn[(dot + 1)..];
        if (functionText.Length != 1 || functionText[0] is < '0' or > '7')
        {
            return $"a function of one digit 0-7 in {ConfigurationAddressShape}";
        }

        if (register.Length < 3 || register[0] != '0' || (register[1] != 'x' && register[1] != 'X')
            || !TryParseHexDigits(register[2..], out ulong reg))
        {
            return $"a register 0x followed by 1-3 hex digits after '@' in {ConfigurationAddressShape}";
        }

        if (register.Length > 5)
        {
            return $"a register 0x0-0xfff (1-3 hex digits) after '@' in {ConfigurationAddressShape}";
        }

        address = new ConfigurationAddress(segment, (byte)bus, (byte)((device << 3) | (uint)(functionText[0] - '0')), (ushort)reg);
        return null;
    }

    /// <summary><c>0x</c> and lower-case hex digits, no padding: 0x0, 0x1f, 0xfee00000.</summary>
    public static string FormatHex(ulong value) => "0x" + value.ToString("x", CultureInfo.InvariantCulture);

    /// <summary><c>SSSS:BB:DD.F@0xRRR</c>, lower case, every part at full width.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The register is above 0xfff.</exception>
    public static string FormatConfigurationAddress(ConfigurationAddress a)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(a.Register, (ushort)0xfff, nameof(a));
        return string.Create(
            CultureInfo.InvariantCulture,
            $"{a.Segment:x4}:{a.Bus:x2}:{a.Devfn >> 3:x2}.{a.Devfn & 7}@0x{a.Register:x3}");
    }

    /// <summary>The op as a trace writes it: <c>read</c>, <c>hot-add</c>, <c>mmio-write</c>...</summary>
    public static string FormatOp(TraceOp op) => (uint)op < (uint)OpNames.Length
        ? OpNames[(int)op]
        : throw new ArgumentOutOfRangeException(nameof(op), op, "unknown trace op");

    /// <summary>Parses an op name, exact lower case.</summary>
    public static bool TryParseOp(ReadOnlySpan<char> text, out TraceOp op)
    {
        for (int i = 0; i < OpNames.Length; i++)
        {
            if (text.SequenceEqual(OpNames[i]))
            {
                op = (TraceOp)i;
                return true;
            }
        }

        op = default;
        return false;
    }

    /// <summary>All op names, comma separated, for messages.</summary>
    internal static string OpList => string.Join(", ", OpNames);

    private static bool TryParseHexDigits(ReadOnlySpan<char> digits, out ulong value)
    {
        value = 0;
        if (digits.IsEmpty || digits.Length > 16)
        {
            return false;
        }

        foreach (char c in digits)
        {
            uint d = HexDigit(c);
            if (d > 15)
            {
                return false;
            }

            value = (value << 4) | d;
        }

        return true;
    }

    /// <summary>The value of a hex digit (<c>0-9</c>, <c>a-f</c>, <c>A-F</c>); 16 or more for any other character.</summary>
    /// <remarks>
    /// A table, not comparisons: which of digits and letters comes next in an address or value is random, and a
    /// branch on it is mispredicted about as often as a letter comes (a load from a 128-byte table is not).
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static uint HexDigit(char c) => c < (uint)HexDigitValues.Length ? HexDigitValues[c] : 16u;

    /// <summary>Hex digit values by ASCII code (0xFF: not a hex digit).</summary>
    private static ReadOnlySpan<byte> HexDigitValues =>
    [
        0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        0xFF, 10, 11, 12, 13, 14, 15, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        0xFF, 10, 11, 12, 13, 14, 15, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    ];
}
