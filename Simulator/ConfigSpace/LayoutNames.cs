using System.Globalization;
using System.Text;

namespace PcieSim.ConfigSpace;

/// <summary>
/// What a snapshot reads of a <see cref="ConfigSpaceLayout"/> to name an access and the fields a write changed:
/// register names, offsets, sizes and fields, and capability labels and extents. Reset values play no part, so
/// layouts that differ only in them (root ports with different slot numbers) have the same names: a model lets its
/// functions of one shape share one instance (<see cref="PcieSim.Topology.PcieModel"/>), a handful of tables that
/// stay in the snapshot thread's cache instead of one per function, each reached through four objects.
/// </summary>
internal sealed class LayoutNames
{
    private readonly ConfigSpaceLayout layout;
    private string?[]?[]? qualifiedNames;
    private string? shape;

    public LayoutNames(ConfigSpaceLayout layout) => this.layout = layout;

    /// <summary>
    /// Everything the names depend on, as text: two layouts with the same shape name every access and field alike.
    /// </summary>
    public string Shape => shape ??= DescribeShape(layout);

    /// <summary>The register holding byte <paramref name="offset"/> (of this shape: its name, offset, size and fields), or null.</summary>
    public RegisterDefinition? RegisterAt(int offset) => layout.RegisterAt(offset);

    /// <summary>See <see cref="ConfigSpaceLayout.QualifiedAccessName"/>.</summary>
    public string QualifiedAccessName(int offset, int width)
    {
        int slot = (offset & 3, width) switch
        {
            (var lane, 1) => lane,
            (0, 2) => 4,
            (2, 2) => 5,
            (0, 4) => 6,
            _ => -1,
        };
        if (slot < 0 || (uint)offset >= ConfigSpaceLayout.Size)
        {
            return ComputeQualifiedAccessName(offset, width);
        }

        // Benign race: two threads may compute the same immutable string; either result is correct. Elements are
        // read before they are written (no `??=` on an array element: that takes its address through a type check).
        var names = qualifiedNames ??= new string?[ConfigSpaceLayout.DwordCount][];
        var dword = names[offset >> 2];
        if (dword is null)
        {
            names[offset >> 2] = dword = new string?[7];
        }

        var name = dword[slot];
        if (name is null)
        {
            dword[slot] = name = ComputeQualifiedAccessName(offset, width);
        }

        return name;
    }

    private string ComputeQualifiedAccessName(int offset, int width)
    {
        string name = layout.DescribeAccess(offset, width);
        return layout.CapabilityAt(offset) is { } capability ? capability.Label + "." + name : name;
    }

    private static string DescribeShape(ConfigSpaceLayout layout)
    {
        var text = new StringBuilder();
        foreach (var register in layout.Registers)
        {
            text.Append(CultureInfo.InvariantCulture, $"{register.Offset:x}+{register.Size} {register.Name}:");
            foreach (var field in register.Fields)
            {
                text.Append(CultureInfo.InvariantCulture, $" {field.Name}@{field.Bit}+{field.Width}");
            }

            text.Append('\n');
        }

        foreach (var capability in layout.Capabilities)
        {
            text.Append(CultureInfo.InvariantCulture, $"{capability.Label}@{capability.Offset:x}+{capability.Length:x}\n");
        }

        return text.ToString();
    }
}
