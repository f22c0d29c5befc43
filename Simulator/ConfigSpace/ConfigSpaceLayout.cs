using System.Globalization;
using System.Text;

namespace PcieSim.ConfigSpace;

/// <summary>
/// The compiled register table of one function: reset image, write mask, RW1C mask and side-effect hook per
/// DWORD, plus the register definitions they came from (for names and attribute tests). Immutable.
/// </summary>
public sealed class ConfigSpaceLayout
{
    /// <summary>Configuration space per function: 4 KiB (PCIe Base Spec r6.0 §7.2.2).</summary>
    public const int Size = 4096;

    /// <summary>DWORDs per function.</summary>
    public const int DwordCount = Size / 4;

    private readonly short[] registerAtByte;

    internal ConfigSpaceLayout(IReadOnlyList<RegisterDefinition> registers, IReadOnlyList<Capability> capabilities)
    {
        Registers = registers;
        Capabilities = capabilities;
        ResetImage = new uint[DwordCount];
        PowerOnImage = new uint[DwordCount];
        WriteMask = new uint[DwordCount];
        Rw1cMask = new uint[DwordCount];
        Hooks = new RegisterHook[DwordCount];
        registerAtByte = new short[Size];
        Array.Fill(registerAtByte, (short)-1);
        Names = new LayoutNames(this);

        for (int index = 0; index < registers.Count; index++)
        {
            var register = registers[index];
            int dword = register.Offset >> 2;
            int shift = (register.Offset & 3) * 8;
            ResetImage[dword] |= register.ResetValue << shift;
            PowerOnImage[dword] |= register.PowerOnValue << shift;
            WriteMask[dword] |= register.WriteMask << shift;
            Rw1cMask[dword] |= register.Rw1cMask << shift;
            if (register.Hook != RegisterHook.None)
            {
                Hooks[dword] = register.Hook;
            }

            for (int b = 0; b < register.Size; b++)
            {
                registerAtByte[register.Offset + b] = (short)index;
            }
        }
    }

    /// <summary>Registers sorted by offset.</summary>
    public IReadOnlyList<RegisterDefinition> Registers { get; }

    /// <summary>Capabilities with their assigned offsets, standard then extended, in list order.</summary>
    public IReadOnlyList<Capability> Capabilities { get; }

    internal uint[] ResetImage { get; }

    /// <summary>A newly created function's DWORDs: the reset image except fields with a <see cref="FieldDefinition.PowerOn"/> value.</summary>
    internal uint[] PowerOnImage { get; }

    internal uint[] WriteMask { get; }

    internal uint[] Rw1cMask { get; }

    internal RegisterHook[] Hooks { get; }

    /// <summary>Reset value of the DWORD at <paramref name="dwordIndex"/>.</summary>
    public uint ResetDword(int dwordIndex) => ResetImage[dwordIndex];

    /// <summary>The register holding byte <paramref name="offset"/>, or null for an undefined byte (reads 0).</summary>
    public RegisterDefinition? RegisterAt(int offset) =>
        (uint)offset < Size && registerAtByte[offset] >= 0 ? Registers[registerAtByte[offset]] : null;

    /// <summary>The capability covering <paramref name="offset"/>, if any.</summary>
    public Capability? CapabilityAt(int offset)
    {
        foreach (var capability in Capabilities)
        {
            if (offset >= capability.Offset && offset < capability.Offset + capability.Length)
            {
                return capability;
            }
        }

        return null;
    }

    /// <summary>
    /// <see cref="DescribeAccess"/> prefixed with the label of the capability holding <paramref name="offset"/>
    /// (<c>PCIe.SlotControl</c>, <c>MSI.MsiMessageControl</c>), as the snapshot names a register. Memoized for the
    /// accesses a function can complete (width 1 at any lane, 2 at lane 0 or 2, 4 at lane 0): the layout is immutable.
    /// </summary>
    public string QualifiedAccessName(int offset, int width) => Names.QualifiedAccessName(offset, width);

    /// <summary>This layout's names (<see cref="QualifiedAccessName"/>, register lookup), which functions of one shape share.</summary>
    internal LayoutNames Names { get; }

    /// <summary>
    /// Names of the registers an access of <paramref name="width"/> bytes at <paramref name="offset"/> touches,
    /// joined with <c>+</c>; undefined bytes show as their hex offset.
    /// </summary>
    public string DescribeAccess(int offset, int width)
    {
        var builder = new StringBuilder();
        RegisterDefinition? last = null;
        bool lastWasUndefined = false;
        for (int b = offset; b < offset + Math.Max(width, 1) && b < Size; b++)
        {
            var register = RegisterAt(b);
            if (register is null)
            {
                if (!lastWasUndefined)
                {
                    Append(builder, string.Create(CultureInfo.InvariantCulture, $"0x{b:X3}"));
                }

                lastWasUndefined = true;
                last = null;
                continue;
            }

            lastWasUndefined = false;
            if (!ReferenceEquals(register, last))
            {
                Append(builder, register.Name);
                last = register;
            }
        }

        return builder.ToString();

        static void Append(StringBuilder builder, string name)
        {
            if (builder.Length > 0)
            {
                builder.Append('+');
            }

            builder.Append(name);
        }
    }
}
