using System.Globalization;

namespace PcieSim.Topology.Language;

public static partial class TopologyParser
{
    internal const string RootComplexFlag = "--pcie-root-complex";
    internal const string RootPortFlag = "--pcie-root-port";
    internal const string SwitchFlag = "--pcie-switch";
    internal const string EndpointFlag = "--pcie-endpoint";
    internal const string AmdIommuFlag = "--amd-iommu";
    internal const string GicMsiFlag = "--gic-msi";
    internal const string EcamBelow4GbFlag = "--pcie-ecam-below-4gb";

    /// <summary>Every flag the language accepts, in the order error messages list them.</summary>
    internal static readonly IReadOnlyDictionary<string, FlagSchema> FlagSchemas = BuildSchemas();

    private static Dictionary<string, FlagSchema> BuildSchemas()
    {
        var schemas = new FlagSchema[]
        {
            new(
                RootComplexFlag,
                "NAME[,segment=S][,start_bus=B][,end_bus=E][,ecam_base=A][,low_mmio=SIZE][,high_mmio=SIZE]"
                    + "[,low_mmio_base=A][,high_mmio_base=A][,preserve_bars][,hdm=SIZE][,hdm_window_restrictions=N][,node=N]",
                [
                    ("segment", true), ("start_bus", true), ("end_bus", true), ("ecam_base", true),
                    ("low_mmio", true), ("high_mmio", true), ("low_mmio_base", true), ("high_mmio_base", true),
                    ("preserve_bars", false), ("hdm", true), ("hdm_window_restrictions", true), ("node", true),
                ]),
            new(
                RootPortFlag,
                "RC:NAME[,addr=D[.F]][,hotplug][,cc][,acs=N][,pasid]",
                [("addr", true), ("hotplug", false), ("cc", false), ("acs", true), ("pasid", false)]),
            new(
                SwitchFlag,
                "PARENT_PORT:NAME[,num_downstream_ports=N][,hotplug][,cc][,acs=N][,pasid]",
                [("num_downstream_ports", true), ("hotplug", false), ("cc", false), ("acs", true), ("pasid", false)]),
            new(
                EndpointFlag,
                "[PORT:]NAME,template=nvme|generic[,vendor=V][,device=D][,class=C][,subsystem=V:D]"
                    + "[,bar0=SIZE][,bar2=SIZE][,bar4=SIZE][,msi=N][,msix=N[@barI]]",
                [
                    ("template", true), ("vendor", true), ("device", true), ("class", true), ("subsystem", true),
                    ("bar0", true), ("bar2", true), ("bar4", true), ("msi", true), ("msix", true),
                ]),
            new(AmdIommuFlag, "RC", []),
            new(
                GicMsiFlag,
                "its[,translater=A] or v2m[,frame=A][,spi_base=N][,spi_count=N]",
                [("translater", true), ("frame", true), ("spi_base", true), ("spi_count", true)]),
            new(EcamBelow4GbFlag, string.Empty, [], TakesValue: false),
        };
        var result = new Dictionary<string, FlagSchema>(StringComparer.Ordinal);
        foreach (FlagSchema schema in schemas)
        {
            result.Add(schema.Name, schema);
        }

        return result;
    }

    internal static string Hex(ulong value) => "0x" + value.ToString("x", CultureInfo.InvariantCulture);

    internal static string Dec(ulong value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>Parses a decimal or 0x-prefixed hexadecimal number; false on anything else or on overflow.</summary>
    internal static bool TryParseNumber(string text, out ulong value)
    {
        value = 0;
        if (text.Length == 0)
        {
            return false;
        }

        if (text.StartsWith("0x", StringComparison.Ordinal) || text.StartsWith("0X", StringComparison.Ordinal))
        {
            string digits = text[2..];
            return digits.Length > 0
                && digits.All(char.IsAsciiHexDigit)
                && ulong.TryParse(digits, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
        }

        return text.All(char.IsAsciiDigit)
            && ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);
    }

    /// <summary>Parses a size: a number with an optional K, M or G suffix (binary multiples).</summary>
    internal static bool TryParseSize(string text, out ulong value)
    {
        value = 0;
        if (text.Length == 0)
        {
            return false;
        }

        int shift = char.ToUpperInvariant(text[^1]) switch
        {
            'K' => 10,
            'M' => 20,
            'G' => 30,
            _ => 0,
        };
        if (shift != 0)
        {
            // K, M and G are not hex digits, so the suffix is unambiguous even after 0x.
            text = text[..^1];
        }

        if (!TryParseNumber(text, out ulong number))
        {
            return false;
        }

        if (shift != 0 && number > (ulong.MaxValue >> shift))
        {
            return false;
        }

        value = number << shift;
        return true;
    }
}

/// <summary>What a flag accepts: its value's usage line and its options (key, takes a value).</summary>
internal sealed record FlagSchema(
    string Name,
    string Usage,
    IReadOnlyList<(string Key, bool HasValue)> Options,
    bool TakesValue = true)
{
    /// <summary>What the value's first part is, e.g. <c>RC:NAME</c>.</summary>
    public string Head => Name == TopologyParser.GicMsiFlag ? "mode (its or v2m)" : Usage.Split(',')[0].TrimEnd('[');

    public string AllowedList =>
        Options.Count == 0
            ? "none"
            : string.Join(", ", Options.Select(o => o.HasValue ? o.Key + "=" : o.Key));
}

/// <summary>One <c>key=value</c> or bare <c>key</c> option of a flag's value, with where it starts.</summary>
internal sealed record FlagOption(string Key, string? Value, Pos KeyPos, Pos ValuePos)
{
    public string Text => Value is null ? Key : Key + "=" + Value;
}

/// <summary>A flag and its value split into the positional part and the options (syntax checked).</summary>
internal sealed class FlagValue
{
    private FlagValue(string flag, Pos flagPos, string raw, Pos rawPos, IReadOnlyList<FlagOption> options)
    {
        Flag = flag;
        FlagPos = flagPos;
        Raw = raw;
        RawPos = rawPos;
        Options = options;
    }

    public string Flag { get; }

    public Pos FlagPos { get; }

    /// <summary>The whole value token (empty for a flag without value).</summary>
    public string Raw { get; }

    public Pos RawPos { get; }

    /// <summary>The first comma-separated part, which starts at <see cref="RawPos"/>.</summary>
    public string Positional => Raw.Split(',')[0];

    public IReadOnlyList<FlagOption> Options { get; }

    /// <summary>The flag as written, the prefix of every message about it.</summary>
    public string Display => Raw.Length == 0 ? Flag : Flag + " " + Raw;

    public FlagOption? Find(string key) => Options.FirstOrDefault(o => string.Equals(o.Key, key, StringComparison.Ordinal));

    public InputException Error(Pos pos, string message) => TopologyParser.Error(pos, Display + ": " + message);

    public static FlagValue WithoutValue(string flag, Pos pos) => new(flag, pos, string.Empty, pos, []);

    public static FlagValue Split(string flag, Pos flagPos, Token value, FlagSchema schema)
    {
        var options = new List<FlagOption>();
        var result = new FlagValue(flag, flagPos, value.Text, value.Pos, options);
        string[] parts = value.Text.Split(',');
        if (parts[0].Length == 0)
        {
            throw result.Error(value.Pos, $"missing {schema.Head} before the first comma (usage: {flag} {schema.Usage})");
        }

        int offset = parts[0].Length + 1;
        for (int i = 1; i < parts.Length; i++)
        {
            string part = parts[i];
            Pos keyPos = value.Pos.Advance(offset);
            offset += part.Length + 1;
            if (part.Length == 0)
            {
                throw result.Error(keyPos, $"empty option (stray comma); allowed options: {schema.AllowedList}");
            }

            int eq = part.IndexOf('=', StringComparison.Ordinal);
            string key = eq < 0 ? part : part[..eq];
            string? optionValue = eq < 0 ? null : part[(eq + 1)..];
            Pos valuePos = keyPos.Advance(eq + 1);
            if (key.Length == 0)
            {
                throw result.Error(keyPos, $"option '{part}' has no name; allowed options: {schema.AllowedList}");
            }

            if (string.Equals(key, "cxl", StringComparison.Ordinal) && flag != TopologyParser.EndpointFlag)
            {
                throw result.Error(keyPos, "cxl is not modelled by the simulator");
            }

            int index = -1;
            for (int k = 0; k < schema.Options.Count; k++)
            {
                if (string.Equals(schema.Options[k].Key, key, StringComparison.Ordinal))
                {
                    index = k;
                }
            }

            if (index < 0)
            {
                throw result.Error(keyPos, $"unknown option '{key}' (allowed: {schema.AllowedList})");
            }

            bool hasValue = schema.Options[index].HasValue;
            if (!hasValue && optionValue is not null)
            {
                throw result.Error(keyPos, $"'{key}' is a bare flag and takes no value (found '{part}'; write '{key}')");
            }

            if (hasValue && optionValue is null)
            {
                throw result.Error(keyPos, $"'{key}' needs a value ({key}=...)");
            }

            if (hasValue && optionValue!.Length == 0)
            {
                throw result.Error(keyPos, $"'{key}=' has an empty value");
            }

            if (result.Find(key) is { } earlier)
            {
                throw result.Error(keyPos, $"option '{key}' given twice (first as '{earlier.Text}')");
            }

            options.Add(new FlagOption(key, optionValue, keyPos, valuePos));
        }

        return result;
    }
}
