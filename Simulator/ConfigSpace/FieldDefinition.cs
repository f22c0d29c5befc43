namespace PcieSim.ConfigSpace;

/// <summary>
/// One bit field of a register: name (the spec's own, e.g. <c>PresenceDetectChanged</c>), position within the
/// register, attribute and reset value.
/// </summary>
/// <param name="Bit">Lowest bit of the field, relative to the register's first byte.</param>
/// <param name="Width">Number of bits.</param>
/// <param name="Reset">Reset value of the field, not shifted.</param>
/// <param name="HardwareDriven">The value follows model state (presence, link, a latch), so its reset value is not checked by attribute tests.</param>
/// <param name="PowerOn">
/// The value of a newly created function where it differs from <paramref name="Reset"/> (OpenVMM constructors that set
/// more than their reset does); null when the two agree.
/// </param>
public sealed record FieldDefinition(string Name, int Bit, int Width, RegisterAttribute Attribute, uint Reset = 0, bool HardwareDriven = false, uint? PowerOn = null)
{
    /// <summary>The value of a newly created function, not shifted.</summary>
    public uint Initial => PowerOn ?? Reset;

    /// <summary>Mask of the field's bits within the register.</summary>
    public uint Mask => (Width >= 32 ? uint.MaxValue : (1u << Width) - 1) << Bit;

    public static FieldDefinition RO(string name, int bit, int width, uint reset = 0) => new(name, bit, width, RegisterAttribute.RO, reset);

    public static FieldDefinition HwInit(string name, int bit, int width, uint reset = 0) => new(name, bit, width, RegisterAttribute.HwInit, reset);

    public static FieldDefinition RW(string name, int bit, int width, uint reset = 0) => new(name, bit, width, RegisterAttribute.RW, reset);

    public static FieldDefinition RW1C(string name, int bit, int width = 1) => new(name, bit, width, RegisterAttribute.RW1C, 0, HardwareDriven: true);

    /// <summary>A read-only bit whose value the model drives (presence, link state).</summary>
    public static FieldDefinition Status(string name, int bit, int width = 1, uint reset = 0) => new(name, bit, width, RegisterAttribute.RO, reset, HardwareDriven: true);

    public static FieldDefinition RsvdP(int bit, int width) => new("Reserved", bit, width, RegisterAttribute.RsvdP);
}

/// <summary>
/// A register: a named run of 1, 2 or 4 bytes within one DWORD, made of fields. Bits no field covers read 0 and
/// ignore writes (RsvdP).
/// </summary>
/// <param name="Hook">Side effect attached to the register's DWORD (most registers have none).</param>
public sealed record RegisterDefinition(string Name, int Offset, int Size, IReadOnlyList<FieldDefinition> Fields, RegisterHook Hook = RegisterHook.None)
{
    /// <summary>Reset value of the whole register, fields placed.</summary>
    public uint ResetValue => Place(static f => f.Reset);

    /// <summary>The value of a newly created function, fields placed (differs from <see cref="ResetValue"/> only where a field says so).</summary>
    public uint PowerOnValue => Place(static f => f.Initial);

    /// <summary>Bits software can set (RW fields).</summary>
    public uint WriteMask => MaskOf(RegisterAttribute.RW);

    /// <summary>Bits software clears by writing 1 (RW1C fields).</summary>
    public uint Rw1cMask => MaskOf(RegisterAttribute.RW1C);

    private uint Place(Func<FieldDefinition, uint> valueOf)
    {
        uint value = 0;
        foreach (var f in Fields)
        {
            value |= (valueOf(f) << f.Bit) & f.Mask;
        }

        return value;
    }

    /// <summary>The field holding bit <paramref name="bit"/>, if any.</summary>
    public FieldDefinition? FieldAt(int bit)
    {
        foreach (var field in Fields)
        {
            if (bit >= field.Bit && bit < field.Bit + field.Width)
            {
                return field;
            }
        }

        return null;
    }

    private uint MaskOf(RegisterAttribute attribute)
    {
        uint mask = 0;
        foreach (var field in Fields)
        {
            if (field.Attribute == attribute)
            {
                mask |= field.Mask;
            }
        }

        return mask;
    }
}

/// <summary>
/// The few register DWORDs whose writes have side effects beyond the masks. Dispatch is an array index
/// per DWORD (O(1)); every other DWORD is handled by the masks alone.
/// </summary>
public enum RegisterHook : byte
{
    None,

    /// <summary>Command: MEM gates BAR writes and BAR decode.</summary>
    Command,

    /// <summary>A Type 0 Base Address Register: written only while MEM is clear; attribute nibble set on write.</summary>
    BaseAddress,

    /// <summary>Type 1 bus numbers: routing and requester IDs follow.</summary>
    BusNumbers,

    /// <summary>Type 0 0x3C: byte 2 is OpenVMM's "latency timer", mirrored at 0x0D.</summary>
    InterruptAndLatency,

    /// <summary>Device Control / Status: Initiate Function Level Reset.</summary>
    DeviceControl,

    /// <summary>Device Control 2: ARI Forwarding Enable changes routing.</summary>
    DeviceControl2,

    /// <summary>Slot Control / Slot Status: commands, Command Completed, hotplug message rule.</summary>
    SlotControlStatus,

    /// <summary>MSI Message Control: enable (delivers latched messages), MME clamped to MMC.</summary>
    MsiControl,

    /// <summary>MSI address, data or mask: a latched message may become deliverable.</summary>
    MsiMessage,

    /// <summary>MSI-X Message Control: enable.</summary>
    MsixControl,
}
