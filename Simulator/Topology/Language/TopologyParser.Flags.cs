namespace PcieSim.Topology.Language;

/// <summary>Per-flag checks: each flag's value becomes a declaration whose fields are individually valid.</summary>
internal static class FlagReader
{
    public const ulong DefaultLowMmio = 64UL << 20;
    public const ulong DefaultHighMmio = 1UL << 30;
    public const ushort DefaultAcsMask = 0x005F;
    public const int DefaultDownstreamPorts = 4;
    public const ulong DefaultTranslater = 0xEFFD_0040;
    public const ulong DefaultV2mFrame = 0xEFFE_8000;
    public const uint DefaultSpiBase = 928;
    public const uint DefaultSpiCount = 64;
    public const int NvmeMsixVectors = 64;

    public static Decl Read(FlagValue f) => f.Flag switch
    {
        TopologyParser.RootComplexFlag => ReadRootComplex(f),
        TopologyParser.RootPortFlag => ReadRootPort(f),
        TopologyParser.SwitchFlag => ReadSwitch(f),
        TopologyParser.EndpointFlag => ReadEndpoint(f),
        TopologyParser.AmdIommuFlag => new IommuDecl(f, Name(f, f.Positional, f.RawPos, "root complex")),
        TopologyParser.GicMsiFlag => ReadGicMsi(f),
        _ => new EcamBelowDecl(f),
    };

    private static RcDecl ReadRootComplex(FlagValue f)
    {
        string name = Name(f, f.Positional, f.RawPos, "root complex");
        ushort segment = (ushort)Number(f, "segment", 0, 0xFFFF, "0..0xffff", 0);
        byte startBus = (byte)Number(f, "start_bus", 0, 255, "0..255", 0);
        byte endBus = (byte)Number(f, "end_bus", 0, 255, "0..255", 255);
        if (startBus > endBus)
        {
            FlagOption at = f.Find("end_bus") ?? f.Find("start_bus")!;
            throw f.Error(
                at.KeyPos,
                $"start_bus={startBus} is greater than end_bus={endBus} (start_bus must not exceed end_bus)");
        }

        ulong? ecamBase = null;
        if (f.Find("ecam_base") is { } ecam)
        {
            ulong value = ParseNumber(f, ecam, 0, ulong.MaxValue, "a 64-bit address");
            ulong size = (ulong)(endBus - startBus + 1) << 20;
            if ((value & 0xF_FFFF) != 0)
            {
                throw f.Error(ecam.ValuePos, $"ecam_base={ecam.Value} is not a multiple of 1 MiB (0x100000)");
            }

            if (value > ulong.MaxValue - size + 1)
            {
                throw f.Error(ecam.ValuePos, $"ecam_base={ecam.Value}: the {size >> 20} MiB ECAM window runs past the top of the address space");
            }

            ecamBase = value;
        }

        ulong lowMmio = Size(f, "low_mmio", 0xFFFF_FFFF, "at most 0xffffffff: the low MMIO window must fit 32 bits", DefaultLowMmio);
        ulong highMmio = Size(f, "high_mmio", ulong.MaxValue, "a 64-bit size", DefaultHighMmio);
        ulong? lowBase = f.Find("low_mmio_base") is { } lb ? ParseNumber(f, lb, 0, 0xFFFF_FFFF, "a 32-bit address") : null;
        ulong? highBase = f.Find("high_mmio_base") is { } hb ? ParseNumber(f, hb, 0, ulong.MaxValue, "a 64-bit address") : null;
        if (f.Find("hdm") is { } hdm)
        {
            ParseSize(f, hdm, ulong.MaxValue, "a size");
        }

        if (f.Find("hdm_window_restrictions") is { } hwr)
        {
            ParseNumber(f, hwr, 0, 0xFFFF, "0..0xffff");
        }

        if (f.Find("node") is { } node)
        {
            ParseNumber(f, node, 0, uint.MaxValue, "0..0xffffffff");
        }

        var ignored = new List<IgnoredOption>();
        foreach (FlagOption option in f.Options)
        {
            // The apertures are used by --vmm-enumerate; the rest is accepted for OpenVMM compatibility and ignored.
            if (option.Key is not ("segment" or "start_bus" or "end_bus" or "ecam_base" or "low_mmio" or "high_mmio" or "low_mmio_base" or "high_mmio_base"))
            {
                ignored.Add(new IgnoredOption(TopologyParser.RootComplexFlag + " " + name, option.Text));
            }
        }

        return new RcDecl(f, name, segment, startBus, endBus, ecamBase, lowMmio, highMmio, lowBase, highBase, ignored);
    }

    private static RpDecl ReadRootPort(FlagValue f)
    {
        (string rc, Pos rcPos, string name, Pos namePos) = Pair(f, "RC:NAME", "root complex", "root port");
        byte? devfn = null;
        Pos addrPos = f.RawPos;
        if (f.Find("addr") is { } addr)
        {
            addrPos = addr.KeyPos;
            devfn = ParseAddr(f, addr);
        }

        return new RpDecl(f, rc, rcPos, name, namePos, devfn, addrPos, Options(f));
    }

    private static SwDecl ReadSwitch(FlagValue f)
    {
        (string parent, Pos parentPos, string name, Pos namePos) = Pair(f, "PARENT_PORT:NAME", "parent port", "switch");
        int count = (int)Number(f, "num_downstream_ports", 1, 255, "1..255", DefaultDownstreamPorts);
        return new SwDecl(f, parent, parentPos, name, namePos, count, Options(f));
    }

    private static GicDecl ReadGicMsi(FlagValue f)
    {
        string mode = f.Positional;
        string[] allowed;
        GicMsiMode parsed;
        switch (mode)
        {
            case "its":
                parsed = GicMsiMode.Its;
                allowed = ["translater"];
                break;
            case "v2m":
                parsed = GicMsiMode.V2m;
                allowed = ["frame", "spi_base", "spi_count"];
                break;
            case "auto":
                throw f.Error(
                    f.RawPos,
                    "mode 'auto' is not supported: a simulator has no hypervisor to ask; choose 'its' or 'v2m'");
            default:
                throw f.Error(f.RawPos, $"unknown mode '{mode}' (allowed: its, v2m)");
        }

        foreach (FlagOption option in f.Options)
        {
            if (!allowed.Contains(option.Key, StringComparer.Ordinal))
            {
                throw f.Error(
                    option.KeyPos,
                    $"option '{option.Key}' does not apply to mode '{mode}' (allowed with {mode}: {string.Join(", ", allowed.Select(a => a + "="))})");
            }
        }

        ulong translater = Number(f, "translater", 0, ulong.MaxValue, "a 64-bit address", DefaultTranslater);
        ulong frame = Number(f, "frame", 0, ulong.MaxValue - 0xFFF, "a 4 KiB-aligned 64-bit address", DefaultV2mFrame);
        if ((frame & 0xFFF) != 0)
        {
            throw f.Error(f.Find("frame")!.ValuePos, $"frame={f.Find("frame")!.Value} is not 4 KiB aligned (the v2m frame is one 0x1000-byte page)");
        }

        uint spiBase = (uint)Number(f, "spi_base", 32, 1019, "32..1019", DefaultSpiBase);
        uint spiCount = (uint)Number(f, "spi_count", 1, 988, "1..988", DefaultSpiCount);
        if (spiBase + spiCount - 1 > 1019)
        {
            FlagOption at = f.Find("spi_count") ?? f.Find("spi_base")!;
            throw f.Error(
                at.KeyPos,
                $"SPI pool {spiBase}..{spiBase + spiCount - 1} does not lie within SPIs 32..1019");
        }

        return new GicDecl(f, new GicMsiSpec(parsed, translater, frame, spiBase, spiCount));
    }

    private static EpDecl ReadEndpoint(FlagValue f)
    {
        string positional = f.Positional;
        string? port = null;
        Pos portPos = f.RawPos;
        string name;
        Pos namePos;
        int colon = positional.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0)
        {
            name = Name(f, positional, f.RawPos, "endpoint");
            namePos = f.RawPos;
        }
        else
        {
            (port, portPos, name, namePos) = Pair(f, "[PORT:]NAME", "port", "endpoint");
        }

        FlagOption template = f.Find("template")
            ?? throw f.Error(f.RawPos, "template= is required (allowed: template=nvme, template=generic)");
        var bars = new ulong[6];
        if (string.Equals(template.Value, "nvme", StringComparison.Ordinal))
        {
            foreach (FlagOption option in f.Options)
            {
                if (option.Key != "template")
                {
                    throw f.Error(
                        option.KeyPos,
                        $"option '{option.Key}' is not allowed with template=nvme (the NVMe template takes only [PORT:]NAME and template=)");
                }
            }

            bars[0] = 64 * 1024;
            bars[4] = MsixBarSize(NvmeMsixVectors);
            var nvme = new EndpointSpec(name, port, EndpointTemplate.Nvme, 0x1414, 0x00A9, 0, 0x010802, 0, 0, bars, 0, NvmeMsixVectors, 4);
            return new EpDecl(f, port, portPos, name, namePos, nvme);
        }

        if (!string.Equals(template.Value, "generic", StringComparison.Ordinal))
        {
            throw f.Error(template.ValuePos, $"unknown template '{template.Value}' (allowed: nvme, generic)");
        }

        ushort vendor = (ushort)Number(f, "vendor", 0, 0xFFFF, "0..0xffff", 0x1414);
        ushort device = (ushort)Number(f, "device", 0, 0xFFFF, "0..0xffff", 0);
        uint classCode = (uint)Number(f, "class", 0, 0xFF_FFFF, "a 24-bit class code 0..0xffffff", 0xFF_0000);
        ushort subsystemVendor = 0x1414;
        ushort subsystemId = 0x2000;
        if (f.Find("subsystem") is { } subsystem)
        {
            string[] halves = subsystem.Value!.Split(':');
            if (halves.Length != 2
                || !TopologyParser.TryParseNumber(halves[0], out ulong sv)
                || !TopologyParser.TryParseNumber(halves[1], out ulong sd)
                || sv > 0xFFFF
                || sd > 0xFFFF)
            {
                throw f.Error(
                    subsystem.ValuePos,
                    $"subsystem={subsystem.Value}: expected VENDOR:DEVICE, two 16-bit numbers (e.g. subsystem=0x1414:0x2000)");
            }

            subsystemVendor = (ushort)sv;
            subsystemId = (ushort)sd;
        }

        foreach (int bar in new[] { 0, 2, 4 })
        {
            if (f.Find("bar" + TopologyParser.Dec((ulong)bar)) is { } option)
            {
                ulong size = ParseSize(f, option, 1UL << 63, "a power of two from 16 bytes");
                if (size < 16 || (size & (size - 1)) != 0)
                {
                    throw f.Error(option.ValuePos, $"{option.Text}: a BAR size must be a power of two of at least 16 bytes");
                }

                bars[bar] = size;
            }
        }

        int msi = 0;
        if (f.Find("msi") is { } msiOption)
        {
            ulong n = ParseNumber(f, msiOption, 1, 32, "1, 2, 4, 8, 16 or 32");
            if ((n & (n - 1)) != 0)
            {
                throw f.Error(msiOption.ValuePos, $"{msiOption.Text}: MSI vector count must be 1, 2, 4, 8, 16 or 32");
            }

            msi = (int)n;
        }

        int msix = 0;
        int msixBar = 0;
        if (f.Find("msix") is { } msixOption)
        {
            (msix, msixBar) = ParseMsix(f, msixOption, bars);
            bars[msixBar] = MsixBarSize(msix);
        }

        var generic = new EndpointSpec(
            name, port, EndpointTemplate.Generic, vendor, device, 0, classCode, subsystemVendor, subsystemId, bars, msi, msix, msixBar);
        return new EpDecl(f, port, portPos, name, namePos, generic);
    }

    /// <summary>Bytes the MSI-X BAR needs: a 16-byte table entry per vector, then the PBA (one QWORD per 64 vectors).</summary>
    public static ulong MsixBarSize(int vectors) => ((ulong)vectors * 16) + ((((ulong)vectors + 63) / 64) * 8);

    private static (int Vectors, int Bar) ParseMsix(FlagValue f, FlagOption option, ulong[] bars)
    {
        string text = option.Value!;
        int at = text.IndexOf('@', StringComparison.Ordinal);
        string count = at < 0 ? text : text[..at];
        if (!TopologyParser.TryParseNumber(count, out ulong n) || n < 1 || n > 2048)
        {
            throw f.Error(option.ValuePos, $"msix={text}: vector count must be a number 1..2048 (msix=N[@barI])");
        }

        int bar;
        if (at >= 0)
        {
            string which = text[(at + 1)..];
            bar = which switch
            {
                "bar0" => 0,
                "bar2" => 2,
                "bar4" => 4,
                _ => throw f.Error(
                    option.ValuePos.Advance(at + 1),
                    $"msix={text}: '{which}' is not an MSI-X BAR (allowed: bar0, bar2, bar4)"),
            };
            if (bars[bar] != 0)
            {
                throw f.Error(
                    option.ValuePos.Advance(at + 1),
                    $"msix={text}: {which} is already declared by {which}=; the MSI-X table needs a BAR of its own");
            }
        }
        else
        {
            bar = bars[0] == 0 ? 0 : bars[2] == 0 ? 2 : bars[4] == 0 ? 4 : -1;
            if (bar < 0)
            {
                throw f.Error(option.KeyPos, $"msix={text}: no even BAR is free for the MSI-X table (bar0, bar2 and bar4 are all declared)");
            }
        }

        return ((int)n, bar);
    }

    private static PortOptions Options(FlagValue f)
    {
        bool hotplug = f.Find("hotplug") is not null;
        if (f.Find("cc") is { } cc && !hotplug)
        {
            throw f.Error(cc.KeyPos, "'cc' (command completed) needs 'hotplug': only a hotplug slot has command completion");
        }

        ushort acs = (ushort)Number(f, "acs", 0, 0xFFFF, "0..0xffff", FlagReader.DefaultAcsMask);
        return new PortOptions(hotplug, f.Find("cc") is not null, acs, f.Find("pasid") is not null);
    }

    private static byte ParseAddr(FlagValue f, FlagOption addr)
    {
        string text = addr.Value!;
        int dot = text.IndexOf('.', StringComparison.Ordinal);
        string devicePart = dot < 0 ? text : text[..dot];
        if (!TopologyParser.TryParseNumber(devicePart, out ulong device))
        {
            throw f.Error(addr.ValuePos, $"addr={text}: expected D or D.F (device 0..31, function 0..7; decimal or 0x hex)");
        }

        if (device > 31)
        {
            throw f.Error(addr.ValuePos, $"addr={text}: device {devicePart} is out of range (allowed 0..31)");
        }

        ulong function = 0;
        if (dot >= 0)
        {
            string functionPart = text[(dot + 1)..];
            if (!TopologyParser.TryParseNumber(functionPart, out function))
            {
                throw f.Error(addr.ValuePos.Advance(dot + 1), $"addr={text}: expected D or D.F (device 0..31, function 0..7; decimal or 0x hex)");
            }

            if (function > 7)
            {
                throw f.Error(addr.ValuePos.Advance(dot + 1), $"addr={text}: function {functionPart} is out of range (allowed 0..7)");
            }
        }

        return (byte)((device << 3) | function);
    }

    private static (string First, Pos FirstPos, string Second, Pos SecondPos) Pair(
        FlagValue f, string usage, string firstWhat, string secondWhat)
    {
        string positional = f.Positional;
        string[] halves = positional.Split(':');
        if (halves.Length != 2)
        {
            throw f.Error(f.RawPos, $"expected {usage}, found '{positional}'");
        }

        Pos secondPos = f.RawPos.Advance(halves[0].Length + 1);
        return (Name(f, halves[0], f.RawPos, firstWhat), f.RawPos, Name(f, halves[1], secondPos, secondWhat), secondPos);
    }

    private static string Name(FlagValue f, string name, Pos pos, string what)
    {
        if (name.Length == 0)
        {
            throw f.Error(pos, $"missing {what} name");
        }

        foreach (char c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.'))
            {
                throw f.Error(pos, $"invalid {what} name '{name}' (use ASCII letters, digits, '_', '-' and '.')");
            }
        }

        return name;
    }

    private static ulong Number(FlagValue f, string key, ulong min, ulong max, string allowed, ulong fallback) =>
        f.Find(key) is { } option ? ParseNumber(f, option, min, max, allowed) : fallback;

    private static ulong Size(FlagValue f, string key, ulong max, string allowed, ulong fallback) =>
        f.Find(key) is { } option ? ParseSize(f, option, max, allowed) : fallback;

    private static ulong ParseNumber(FlagValue f, FlagOption option, ulong min, ulong max, string allowed)
    {
        if (!TopologyParser.TryParseNumber(option.Value!, out ulong value))
        {
            throw f.Error(option.ValuePos, $"{option.Text}: expected a number, decimal or 0x hex ({allowed})");
        }

        if (value < min || value > max)
        {
            throw f.Error(option.ValuePos, $"{option.Text} is out of range (allowed {allowed})");
        }

        return value;
    }

    private static ulong ParseSize(FlagValue f, FlagOption option, ulong max, string allowed)
    {
        if (!TopologyParser.TryParseSize(option.Value!, out ulong value))
        {
            throw f.Error(option.ValuePos, $"{option.Text}: expected a size, a number with optional K, M or G suffix ({allowed})");
        }

        if (value > max)
        {
            throw f.Error(option.ValuePos, $"{option.Text} is out of range ({allowed})");
        }

        return value;
    }
}

/// <summary>One flag after its own checks, before cross-references are resolved.</summary>
internal abstract record Decl(FlagValue F);

internal sealed record RcDecl(
    FlagValue F,
    string Name,
    ushort Segment,
    byte StartBus,
    byte EndBus,
    ulong? EcamBase,
    ulong LowMmio,
    ulong HighMmio,
    ulong? LowMmioBase,
    ulong? HighMmioBase,
    IReadOnlyList<IgnoredOption> Ignored) : Decl(F);

internal sealed record RpDecl(
    FlagValue F, string RootComplex, Pos RootComplexPos, string Name, Pos NamePos, byte? Devfn, Pos AddrPos, PortOptions Options)
    : Decl(F);

internal sealed record SwDecl(
    FlagValue F, string Parent, Pos ParentPos, string Name, Pos NamePos, int Count, PortOptions Options) : Decl(F);

internal sealed record EpDecl(FlagValue F, string? Port, Pos PortPos, string Name, Pos NamePos, EndpointSpec Spec) : Decl(F);

internal sealed record IommuDecl(FlagValue F, string RootComplex) : Decl(F);

internal sealed record GicDecl(FlagValue F, GicMsiSpec Spec) : Decl(F);

internal sealed record EcamBelowDecl(FlagValue F) : Decl(F);
