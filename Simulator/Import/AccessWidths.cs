using PcieSim.Lint;

namespace PcieSim.Import;

/// <summary>
/// Access widths for a configuration log that records none (QEMU's <c>pci_cfg_read</c>/<c>pci_cfg_write</c>): which
/// widths an access could have had, and the width guests use for the register at an offset. Accesses are taken to be
/// naturally aligned (PCIe Base Spec r6.0 §7.2.2: a configuration request addresses one DWORD with byte enables;
/// firmware and Linux use aligned 1, 2 and 4-byte accesses).
/// </summary>
public static class AccessWidths
{
    /// <summary>Register widths of the Type 0 and Type 1 headers (§7.5.1.2, §7.5.1.3), as guests access them.</summary>
    private static readonly (int Offset, int Type0, int Type1)[] Header =
    [
        (0x00, 2, 2), (0x02, 2, 2), (0x04, 2, 2), (0x06, 2, 2),
        // Linux reads Revision ID and Class Code as one DWORD (PCI_CLASS_REVISION); firmware reads the class word.
        (0x08, 4, 4), (0x09, 1, 1), (0x0A, 2, 2), (0x0B, 1, 1),
        (0x0C, 1, 1), (0x0D, 1, 1), (0x0E, 1, 1), (0x0F, 1, 1),
        (0x10, 4, 4), (0x14, 4, 4),
        // Type 1: Primary/Secondary/Subordinate Bus Numbers and Secondary Latency Timer, read as one DWORD by Linux.
        (0x18, 4, 4), (0x19, 0, 1), (0x1A, 0, 1), (0x1B, 0, 1),
        (0x1C, 4, 1), (0x1D, 0, 1), (0x1E, 0, 2),
        (0x20, 4, 2), (0x22, 0, 2), (0x24, 4, 2), (0x26, 0, 2),
        (0x28, 4, 4), (0x2C, 2, 4), (0x2E, 2, 0),
        (0x30, 4, 2), (0x32, 0, 2), (0x34, 1, 1), (0x38, 0, 4),
        (0x3C, 1, 1), (0x3D, 1, 1), (0x3E, 1, 2), (0x3F, 1, 0),
    ];

    /// <summary>PCI Express Capability registers (§7.5.3), offsets relative to the capability.</summary>
    private static readonly (int Offset, int Width)[] PciExpress =
    [
        (0x00, 2), (0x02, 2), (0x04, 4), (0x08, 2), (0x0A, 2), (0x0C, 4), (0x10, 2), (0x12, 2),
        (0x14, 4), (0x18, 2), (0x1A, 2), (0x1C, 2), (0x1E, 2), (0x20, 4), (0x24, 4), (0x28, 2), (0x2A, 2),
        (0x2C, 4), (0x30, 2), (0x32, 2), (0x34, 4), (0x38, 2), (0x3A, 2),
    ];

    /// <summary>MSI-X Capability (§7.7.2): header, Message Control, Table and PBA offsets.</summary>
    private static readonly (int Offset, int Width)[] Msix = [(0x00, 2), (0x02, 2), (0x04, 4), (0x08, 4)];

    /// <summary>Power Management Capability (PCI PM 1.2 §3.2): header, PMC, PMCSR, bridge extensions, data.</summary>
    private static readonly (int Offset, int Width)[] PowerManagement = [(0x00, 2), (0x02, 2), (0x04, 2), (0x06, 1), (0x07, 1)];

    /// <summary>Bridge Subsystem Vendor ID capability: header, Subsystem Vendor ID, Subsystem ID.</summary>
    private static readonly (int Offset, int Width)[] BridgeSubsystem = [(0x00, 2), (0x04, 2), (0x06, 2)];

    /// <summary>
    /// The widths an access at <paramref name="offset"/> with <paramref name="value"/> could have had: naturally
    /// aligned, wide enough for the value, and (for a read) agreeing with the read-only bytes already read.
    /// </summary>
    public static IReadOnlyList<int> Possible(RecordedFunction function, int offset, ulong value, bool isWrite)
    {
        ArgumentNullException.ThrowIfNull(function);
        var widths = new List<int>(3);
        foreach (int width in (int[])[1, 2, 4])
        {
            if (offset % width != 0 || (width < 8 && value >> (8 * width) != 0))
            {
                continue;
            }

            if (!isWrite && !function.ConsistentRead(offset, width, value))
            {
                continue;
            }

            widths.Add(width);
        }

        return widths;
    }

    /// <summary>The width guests use for the register at <paramref name="offset"/>, where the layout is known; else null.</summary>
    public static int? Natural(RecordedFunction function, int offset)
    {
        ArgumentNullException.ThrowIfNull(function);
        if (offset < 0x40)
        {
            foreach (var (at, type0, type1) in Header)
            {
                if (at != offset)
                {
                    continue;
                }

                int? width = function.HeaderLayout switch
                {
                    0 => type0,
                    1 => type1,
                    _ => type0 == type1 ? type0 : null,
                };
                return width is > 0 ? width : null;
            }

            return null;
        }

        if (function.PointsToCapability(offset) && !function.Capabilities.ContainsKey(offset))
        {
            // A capability header not read yet: ID and Next Capability Pointer as a word; an extended header, a DWORD.
            return offset >= 0x100 ? 4 : 2;
        }

        foreach (var (cap, id) in function.Capabilities)
        {
            int rel = offset - cap;
            if (rel < 0 || rel >= 0x40)
            {
                continue;
            }

            var table = id switch
            {
                RecordedFunction.PciExpressId => PciExpress,
                RecordedFunction.MsixId => Msix,
                RecordedFunction.PowerManagementId => PowerManagement,
                RecordedFunction.BridgeSubsystemId => BridgeSubsystem,
                RecordedFunction.MsiId => MsiLayout(function, cap),
                _ => [(0x00, 2)],
            };
            foreach (var (at, width) in table)
            {
                if (at == rel)
                {
                    return width;
                }
            }
        }

        // Extended capabilities (§7.6) are DWORD registers as Linux reads them.
        return offset >= 0x100 && offset % 4 == 0 ? 4 : null;
    }

    /// <summary>MSI Capability (§7.7.1): the layout depends on 64-bit Address Capable (bit 7) and Per-Vector Masking (bit 8).</summary>
    private static (int Offset, int Width)[] MsiLayout(RecordedFunction function, int cap)
    {
        uint control = function.Get(cap + 2, 2) ?? 0;
        return (control & 0x80) != 0
            ? [(0x00, 2), (0x02, 2), (0x04, 4), (0x08, 4), (0x0C, 2), (0x10, 4), (0x14, 4)]
            : [(0x00, 2), (0x02, 2), (0x04, 4), (0x08, 2), (0x0C, 4), (0x10, 4)];
    }
}
