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

    public LayoutNames(ConfigSpaceLayout layout) => this.layout = layout;

    /// <summary>
    /// Compares names by the shape of their layouts: equal when the registers (offset, size, name, and each field's
    /// name, bit and width) and the capabilities (label, offset, length) are, which is everything the names depend on.
    /// A model looks its functions up in a set with this comparer, so that functions of one shape share one instance.
    /// </summary>
    public static IEqualityComparer<LayoutNames> ByShape { get; } = new ShapeComparer();

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

    /// <summary>Structural, field by field: no text is built (a model compares each of its functions once).</summary>
    private sealed class ShapeComparer : IEqualityComparer<LayoutNames>
    {
        public bool Equals(LayoutNames? x, LayoutNames? y) =>
            ReferenceEquals(x, y) || (x is not null && y is not null && SameShape(x.layout, y.layout));

        public int GetHashCode(LayoutNames names)
        {
            // Deterministic and cheap: the extents of the registers and capabilities (names rarely tell shapes apart
            // where the extents do not, and Equals decides).
            var layout = names.layout;
            int hash = (layout.Registers.Count * 397) ^ layout.Capabilities.Count;
            foreach (var register in layout.Registers)
            {
                hash = (hash * 31) + ((register.Offset << 3) | register.Size);
            }

            foreach (var capability in layout.Capabilities)
            {
                hash = (hash * 31) + ((capability.Offset << 12) ^ capability.Length);
            }

            return hash;
        }

        private static bool SameShape(ConfigSpaceLayout a, ConfigSpaceLayout b)
        {
            if (a.Registers.Count != b.Registers.Count || a.Capabilities.Count != b.Capabilities.Count)
            {
                return false;
            }

            for (int i = 0; i < a.Registers.Count; i++)
            {
                var ra = a.Registers[i];
                var rb = b.Registers[i];
                if (ra.Offset != rb.Offset || ra.Size != rb.Size || ra.Fields.Count != rb.Fields.Count || !string.Equals(ra.Name, rb.Name, StringComparison.Ordinal))
                {
                    return false;
                }

                for (int f = 0; f < ra.Fields.Count; f++)
                {
                    var fa = ra.Fields[f];
                    var fb = rb.Fields[f];
                    if (fa.Bit != fb.Bit || fa.Width != fb.Width || !string.Equals(fa.Name, fb.Name, StringComparison.Ordinal))
                    {
                        return false;
                    }
                }
            }

            for (int i = 0; i < a.Capabilities.Count; i++)
            {
                var ca = a.Capabilities[i];
                var cb = b.Capabilities[i];
                if (ca.Offset != cb.Offset || ca.Length != cb.Length || !string.Equals(ca.Label, cb.Label, StringComparison.Ordinal))
                {
                    return false;
                }
            }

            return true;
        }
    }
}
