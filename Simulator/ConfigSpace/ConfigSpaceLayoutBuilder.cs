using System.Globalization;

namespace PcieSim.ConfigSpace;

/// <summary>
/// Assembles a function's register table: header registers, then capabilities packed contiguously from 0x40
/// (standard) and 0x100 (extended) in the order added, with next pointers injected. Validates that no two
/// registers overlap, that every register sits inside one DWORD, and that both capability lists are
/// well formed (aligned, in range, no overlap, no loop).
/// </summary>
public sealed class ConfigSpaceLayoutBuilder
{
    /// <summary>First byte after the common header, where the capability list starts (OpenVMM: COMMON_HEADER_END).</summary>
    public const int CapabilityListStart = 0x40;

    /// <summary>First byte of the extended configuration space.</summary>
    public const int ExtendedSpaceStart = 0x100;

    private readonly List<RegisterDefinition> registers = [];
    private readonly List<Capability> capabilities = [];

    /// <summary>Adds header registers.</summary>
    public ConfigSpaceLayoutBuilder Add(params RegisterDefinition[] definitions)
    {
        registers.AddRange(definitions);
        return this;
    }

    /// <summary>Adds a capability; its offset is assigned by <see cref="Build"/>.</summary>
    public ConfigSpaceLayoutBuilder AddCapability(Capability capability)
    {
        capabilities.Add(capability);
        return this;
    }

    /// <summary>True when at least one standard capability was added (Status.CapabilitiesList, Capabilities Pointer).</summary>
    public bool HasStandardCapabilities => capabilities.Exists(c => !c.Extended);

    public ConfigSpaceLayout Build()
    {
        var all = new List<RegisterDefinition>(registers);
        Place(all, capabilities.FindAll(c => !c.Extended), CapabilityListStart, ExtendedSpaceStart);
        Place(all, capabilities.FindAll(c => c.Extended), ExtendedSpaceStart, ConfigSpaceLayout.Size);
        all.Sort((a, b) => a.Offset.CompareTo(b.Offset));
        Validate(all);
        var layout = new ConfigSpaceLayout(all, [.. capabilities.FindAll(c => !c.Extended), .. capabilities.FindAll(c => c.Extended)]);
        CapabilityChain.Validate(layout);
        return layout;
    }

    private static void Place(List<RegisterDefinition> all, List<Capability> list, int start, int end)
    {
        int offset = start;
        foreach (var capability in list)
        {
            capability.Offset = offset;
            offset += capability.Length;
        }

        if (offset > end)
        {
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"capabilities overflow their region: end 0x{offset:X} > 0x{end:X}"));
        }

        for (int i = 0; i < list.Count; i++)
        {
            int next = i + 1 < list.Count ? list[i + 1].Offset : 0;
            all.AddRange(list[i].Registers(next));
        }
    }

    private static void Validate(List<RegisterDefinition> sorted)
    {
        int end = 0;
        foreach (var register in sorted)
        {
            if (register.Size is not (1 or 2 or 4) || (register.Offset & 3) + register.Size > 4 || register.Offset % register.Size != 0)
            {
                throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"register {register.Name} at 0x{register.Offset:X3} of size {register.Size} is not naturally aligned within one DWORD"));
            }

            if (register.Offset < end)
            {
                throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"register {register.Name} at 0x{register.Offset:X3} overlaps the previous register"));
            }

            uint covered = 0;
            foreach (var field in register.Fields)
            {
                if (field.Bit + field.Width > register.Size * 8 || (covered & field.Mask) != 0)
                {
                    throw new InvalidOperationException($"field {field.Name} of {register.Name} is outside the register or overlaps another field");
                }

                covered |= field.Mask;
            }

            end = register.Offset + register.Size;
        }
    }
}
