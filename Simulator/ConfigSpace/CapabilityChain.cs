using System.Globalization;

namespace PcieSim.ConfigSpace;

/// <summary>
/// Walks and validates capability lists in a reset image: the standard list from the Capabilities Pointer
/// (0x34) with DWORD-aligned pointers in 0x40..0xFC, and the extended list from 0x100 with 12-bit next offsets;
/// no overlap, no loop, every capability inside its region.
/// </summary>
public static class CapabilityChain
{
    /// <summary>One capability found by a walk.</summary>
    public readonly record struct Entry(int Offset, ushort Id, bool Extended);

    /// <summary>Walks both lists through <paramref name="readDword"/> (DWORD index to value).</summary>
    /// <exception cref="InvalidOperationException">The lists are malformed.</exception>
    public static List<Entry> Walk(Func<int, uint> readDword, bool hasExtendedSpace)
    {
        ArgumentNullException.ThrowIfNull(readDword);
        var entries = new List<Entry>();
        var visited = new bool[ConfigSpaceLayout.Size / 4];
        bool capabilitiesList = ((readDword(1) >> 16) & 0x10) != 0;
        int pointer = capabilitiesList ? (int)(readDword(0x34 >> 2) & 0xFF) : 0;
        while (pointer != 0)
        {
            if ((pointer & 3) != 0 || pointer < 0x40 || pointer > 0xFC)
            {
                throw Malformed($"standard capability pointer 0x{pointer:X2} is not DWORD-aligned within 0x40..0xFC");
            }

            if (visited[pointer >> 2])
            {
                throw Malformed($"standard capability list loops at 0x{pointer:X2}");
            }

            visited[pointer >> 2] = true;
            uint header = readDword(pointer >> 2);
            entries.Add(new Entry(pointer, (ushort)(header & 0xFF), false));
            pointer = (int)((header >> 8) & 0xFF);
        }

        if (!hasExtendedSpace)
        {
            return entries;
        }

        int offset = 0x100;
        uint first = readDword(offset >> 2);
        if (first == 0)
        {
            return entries;
        }

        while (offset != 0)
        {
            if ((offset & 3) != 0 || offset < 0x100 || offset > 0xFFC)
            {
                throw Malformed($"extended capability offset 0x{offset:X3} is not DWORD-aligned within 0x100..0xFFC");
            }

            if (visited[offset >> 2])
            {
                throw Malformed($"extended capability list loops at 0x{offset:X3}");
            }

            visited[offset >> 2] = true;
            uint header = readDword(offset >> 2);
            entries.Add(new Entry(offset, (ushort)(header & 0xFFFF), true));
            offset = (int)(header >> 20);
        }

        return entries;
    }

    /// <summary>Validates a layout's reset image against its capability table.</summary>
    internal static void Validate(ConfigSpaceLayout layout)
    {
        var found = Walk(i => layout.ResetImage[i], layout.Capabilities.Any(c => c.Extended) || layout.ResetImage[0x100 >> 2] != 0);
        if (found.Count != layout.Capabilities.Count)
        {
            throw Malformed($"walk found {found.Count} capabilities, the layout declares {layout.Capabilities.Count}");
        }

        for (int i = 0; i < found.Count; i++)
        {
            var capability = layout.Capabilities[i];
            if (found[i].Offset != capability.Offset || found[i].Id != capability.Id)
            {
                throw Malformed($"capability {capability.Label} expected at 0x{capability.Offset:X3}, walk found ID 0x{found[i].Id:X} at 0x{found[i].Offset:X3}");
            }

            for (int j = 0; j < i; j++)
            {
                var other = layout.Capabilities[j];
                if (capability.Offset < other.Offset + other.Length && other.Offset < capability.Offset + capability.Length)
                {
                    throw Malformed($"capability {capability.Label} overlaps {other.Label}");
                }
            }
        }
    }

    private static InvalidOperationException Malformed(FormattableString message) =>
        new(message.ToString(CultureInfo.InvariantCulture));
}
