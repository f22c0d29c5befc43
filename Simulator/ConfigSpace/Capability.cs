namespace PcieSim.ConfigSpace;

/// <summary>
/// A capability structure to be placed in a function's configuration space. Standard capabilities are packed
/// from 0x40 with 8-bit next pointers (PCI Local Bus 3.0 §6.7); extended capabilities from 0x100 with 12-bit
/// next pointers in bits 31:20 of their header (PCIe Base Spec r6.0 §7.6). Offsets are assigned when the
/// layout is built, in the order the capabilities were added, as OpenVMM packs them.
/// </summary>
public abstract class Capability
{
    /// <summary>Capability ID (8-bit for standard, 16-bit for extended).</summary>
    public abstract ushort Id { get; }

    /// <summary>Length in bytes, a multiple of 4.</summary>
    public abstract int Length { get; }

    /// <summary>True for a PCI Express extended capability (0x100..0xFFF).</summary>
    public virtual bool Extended => false;

    /// <summary>Short name used in register names and outcomes, e.g. <c>PCIe</c>, <c>MSI</c>.</summary>
    public abstract string Label { get; }

    /// <summary>Offset assigned by the layout builder.</summary>
    public int Offset { get; internal set; } = -1;

    /// <summary>The capability's registers at <see cref="Offset"/>, its header carrying <paramref name="next"/>.</summary>
    public abstract IEnumerable<RegisterDefinition> Registers(int next);

    /// <summary>Standard capability header: ID (byte 0) and next pointer (byte 1), both read-only.</summary>
    protected RegisterDefinition StandardHeader(int next) =>
        new("CapabilityHeader", Offset, 2, [FieldDefinition.RO("CapabilityId", 0, 8, Id), FieldDefinition.RO("NextCapabilityPointer", 8, 8, (uint)next)]);

    /// <summary>Extended capability header: ID (15:0), version (19:16), next offset (31:20).</summary>
    protected RegisterDefinition ExtendedHeader(int version, int next) =>
        new("ExtendedCapabilityHeader", Offset, 4,
        [
            FieldDefinition.RO("CapabilityId", 0, 16, Id),
            FieldDefinition.RO("CapabilityVersion", 16, 4, (uint)version),
            FieldDefinition.RO("NextCapabilityOffset", 20, 12, (uint)next),
        ]);
}
