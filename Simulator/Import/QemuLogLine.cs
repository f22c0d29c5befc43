using System.Globalization;
using System.Text.RegularExpressions;

namespace PcieSim.Import;

/// <summary>What one line of a QEMU trace log is.</summary>
public enum QemuLineKind
{
    /// <summary>An empty line.</summary>
    Blank,

    /// <summary><c>pci_cfg_read DEV BB:DD.F @0xR -&gt; 0xV</c>: a configuration read some function decoded.</summary>
    PciCfgRead,

    /// <summary><c>pci_cfg_write DEV BB:DD.F @0xR &lt;- 0xV</c>.</summary>
    PciCfgWrite,

    /// <summary><c>memory_region_ops_read cpu N mr 0xP addr 0xA value 0xV size S name 'R'</c>.</summary>
    MemoryRead,

    /// <summary><c>memory_region_ops_write ...</c>, same fields.</summary>
    MemoryWrite,

    /// <summary><c>gicv3_its_translation_write GICv3 ITS TRANSLATER write: offset 0xO data 0xD size S requester_id 0xR</c>: an MSI at the ITS.</summary>
    ItsTranslationWrite,

    /// <summary>An event the importer knows and deliberately converts into no row (it repeats what other events show).</summary>
    KnownNoRow,

    /// <summary>An event of another name, or text that is no trace event (a QEMU warning, say).</summary>
    Unknown,

    /// <summary>A line of a known event whose fields do not parse.</summary>
    Malformed,
}

/// <summary>
/// One parsed line of a QEMU trace log written by the <c>log</c> trace backend (QEMU 7.2): <c>EVENT FIELDS</c>, with
/// the <c>PID@SECONDS.MICROSECONDS:</c> prefix that <c>-msg timestamp=on</c> adds, or without it.
/// </summary>
/// <param name="Event">The event name, or null for text that is no trace event.</param>
/// <param name="Device">pci_cfg_*: QEMU's device model name (may contain spaces, e.g. <c>ICH9 SMB</c>).</param>
/// <param name="Address">memory_region_ops_*: the absolute address; ITS: the offset in the translation frame.</param>
/// <param name="Register">pci_cfg_*: the configuration register offset.</param>
/// <param name="Size">memory_region_ops_* and ITS: the access size in bytes.</param>
/// <param name="Cpu">memory_region_ops_*: the vCPU index, -1 when no CPU made the access (a device's DMA, an MSI).</param>
/// <param name="Region">memory_region_ops_*: the memory region's name.</param>
/// <param name="RequesterId">ITS: the requester ID QEMU passed with the write.</param>
public sealed partial record QemuLogLine(
    QemuLineKind Kind,
    string? Event,
    string? Device,
    byte Bus,
    byte Devfn,
    uint Register,
    ulong Value,
    ulong Address,
    int Size,
    int Cpu,
    string? Region,
    uint RequesterId)
{
    /// <summary>Events that carry nothing a row needs: each repeats what a configuration write already records.</summary>
    public static IReadOnlyList<string> NoRowEvents { get; } = ["msix_write_config", "pci_update_mappings_add", "pci_update_mappings_del"];

    private static readonly QemuLogLine BlankLine = new(QemuLineKind.Blank, null, null, 0, 0, 0, 0, 0, 0, 0, null, 0);

    /// <summary>Parses one line (without its line break).</summary>
    public static QemuLogLine Parse(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        if (line.Length == 0)
        {
            return BlankLine;
        }

        var prefix = Prefix().Match(line);
        string text = prefix.Success ? line[prefix.Length..] : line;
        var head = EventName().Match(text);
        if (!head.Success)
        {
            return Other(QemuLineKind.Unknown, null);
        }

        string name = head.Groups[1].Value;
        switch (name)
        {
            case "pci_cfg_read":
            case "pci_cfg_write":
            {
                var m = PciCfg().Match(text);
                bool write = name == "pci_cfg_write";
                if (!m.Success || (m.Groups["dir"].Value == "<-") != write
                    || !TryHex(m.Groups["bus"].Value, out ulong bus) || !TryHex(m.Groups["slot"].Value, out ulong slot) || slot > 0x1F
                    || !TryHex(m.Groups["reg"].Value, out ulong reg) || reg > 0xFFF || !TryHex(m.Groups["value"].Value, out ulong value) || value > uint.MaxValue)
                {
                    return Other(QemuLineKind.Malformed, name);
                }

                return new QemuLogLine(write ? QemuLineKind.PciCfgWrite : QemuLineKind.PciCfgRead, name, m.Groups["dev"].Value, (byte)bus,
                    (byte)((slot << 3) | (uint)(m.Groups["fn"].Value[0] - '0')), (uint)reg, value, 0, 0, 0, null, 0);
            }

            case "memory_region_ops_read":
            case "memory_region_ops_write":
            {
                var m = MemoryOps().Match(text);
                if (!m.Success || !int.TryParse(m.Groups["cpu"].Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int cpu)
                    || !TryHex(m.Groups["addr"].Value, out ulong address) || !TryHex(m.Groups["value"].Value, out ulong value)
                    || !int.TryParse(m.Groups["size"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out int size) || size is < 1 or > 8)
                {
                    return Other(QemuLineKind.Malformed, name);
                }

                return new QemuLogLine(name.EndsWith("write", StringComparison.Ordinal) ? QemuLineKind.MemoryWrite : QemuLineKind.MemoryRead,
                    name, null, 0, 0, 0, value, address, size, cpu, m.Groups["name"].Value, 0);
            }

            case "gicv3_its_translation_write":
            {
                var m = ItsTranslation().Match(text);
                if (!m.Success || !TryHex(m.Groups["offset"].Value, out ulong offset) || !TryHex(m.Groups["data"].Value, out ulong data)
                    || !int.TryParse(m.Groups["size"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out int size) || size is < 1 or > 8
                    || !TryHex(m.Groups["rid"].Value, out ulong rid) || rid > uint.MaxValue)
                {
                    return Other(QemuLineKind.Malformed, name);
                }

                return new QemuLogLine(QemuLineKind.ItsTranslationWrite, name, null, 0, 0, 0, data, offset, size, -1, null, (uint)rid);
            }

            default:
                return Other(NoRowEvents.Contains(name) ? QemuLineKind.KnownNoRow : QemuLineKind.Unknown, name);
        }
    }

    private static QemuLogLine Other(QemuLineKind kind, string? name) => new(kind, name, null, 0, 0, 0, 0, 0, 0, 0, null, 0);

    private static bool TryHex(string digits, out ulong value) =>
        ulong.TryParse(digits, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value) && digits.Length <= 16;

    /// <summary><c>-msg timestamp=on</c>: the thread ID, <c>@</c>, seconds and microseconds since the epoch, a colon.</summary>
    [GeneratedRegex(@"^\d+@\d+\.\d+:")]
    private static partial Regex Prefix();

    /// <summary>A trace event name (a C identifier in lower case) followed by a space or the end of the line.</summary>
    [GeneratedRegex(@"^([a-z][a-z0-9_]*)(?: |$)")]
    private static partial Regex EventName();

    [GeneratedRegex(@"^pci_cfg_(?:read|write) (?<dev>.+) (?<bus>[0-9a-f]{2}):(?<slot>[0-9a-f]{2})\.(?<fn>[0-7]) @0x(?<reg>[0-9a-f]{1,8}) (?<dir>->|<-) 0x(?<value>[0-9a-f]{1,16})$")]
    private static partial Regex PciCfg();

    [GeneratedRegex(@"^memory_region_ops_(?:read|write) cpu (?<cpu>-?\d{1,9}) mr 0x[0-9a-f]{1,16} addr 0x(?<addr>[0-9a-f]{1,16}) value 0x(?<value>[0-9a-f]{1,16}) size (?<size>\d{1,2}) name '(?<name>[^']*)'$")]
    private static partial Regex MemoryOps();

    [GeneratedRegex(@"^gicv3_its_translation_write GICv3 ITS TRANSLATER write: offset 0x(?<offset>[0-9a-f]{1,16}) data 0x(?<data>[0-9a-f]{1,16}) size (?<size>\d{1,2}) requester_id 0x(?<rid>[0-9a-f]{1,8})$")]
    private static partial Regex ItsTranslation();
}
