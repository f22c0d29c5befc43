using static PcieSim.ConfigSpace.FieldDefinition;

namespace PcieSim.ConfigSpace.Capabilities;

/// <summary>
/// The MSI capability (ID 0x05; PCIe Base Spec r6.0 §7.7.1, PCI LB 3.0 §6.8.1) as OpenVMM lays it out
/// (<c>pci_core/src/capabilities/msi_cap.rs</c>): Message Control with enable, MMC (read-only), MME (clamped to
/// MMC), 64-bit and per-vector-masking flags; 16-bit data; mask and pending bits only when 64-bit with PVM.
/// </summary>
public sealed class MsiCapability : Capability
{
    public MsiCapability(int vectors, bool is64Bit, bool perVectorMasking)
    {
        if (vectors is not (1 or 2 or 4 or 8 or 16 or 32))
        {
            throw new ArgumentOutOfRangeException(nameof(vectors), "MSI vectors must be 1, 2, 4, 8, 16 or 32");
        }

        if (perVectorMasking && !is64Bit)
        {
            throw new ArgumentException("per-vector masking is modelled only with 64-bit addresses", nameof(perVectorMasking));
        }

        MultipleMessageCapable = System.Numerics.BitOperations.Log2((uint)vectors);
        Is64Bit = is64Bit;
        PerVectorMasking = perVectorMasking;
    }

    /// <summary>log2 of the vectors the function can request (MMC).</summary>
    public int MultipleMessageCapable { get; }

    public bool Is64Bit { get; }

    public bool PerVectorMasking { get; }

    public override ushort Id => 0x05;

    public override int Length => (8 + (Is64Bit ? 4 : 0) + 2 + (PerVectorMasking ? 8 : 0) + 3) & ~3;

    public override string Label => "MSI";

    /// <summary>Offset of Message Data.</summary>
    public int DataOffset => Offset + (Is64Bit ? 0x0C : 0x08);

    /// <summary>Offset of the Mask Bits register (64-bit with PVM only).</summary>
    public int MaskOffset => Offset + 0x10;

    public int PendingOffset => Offset + 0x14;

    public override IEnumerable<RegisterDefinition> Registers(int next)
    {
        yield return StandardHeader(next);
        yield return new("MsiMessageControl", Offset + 2, 2,
        [
            RW("MsiEnable", 0, 1),
            RO("MultipleMessageCapable", 1, 3, (uint)MultipleMessageCapable),
            RW("MultipleMessageEnable", 4, 3),
            RO("Address64BitCapable", 7, 1, Is64Bit ? 1u : 0),
            RO("PerVectorMaskingCapable", 8, 1, PerVectorMasking ? 1u : 0),
        ], RegisterHook.MsiControl);
        yield return new("MsiMessageAddress", Offset + 4, 4, [RW("MessageAddress", 0, 32)], RegisterHook.MsiMessage);
        if (Is64Bit)
        {
            yield return new("MsiMessageUpperAddress", Offset + 8, 4, [RW("MessageUpperAddress", 0, 32)], RegisterHook.MsiMessage);
        }

        yield return new("MsiMessageData", DataOffset, 2, [RW("MessageData", 0, 16)], RegisterHook.MsiMessage);
        if (PerVectorMasking)
        {
            // OpenVMM (msi_cap.rs) stores all 32 bits, not one per capable vector, constructs them all-ones and
            // resets them to 0.
            yield return new("MsiMaskBits", MaskOffset, 4, [RW("MaskBits", 0, 32) with { PowerOn = uint.MaxValue }], RegisterHook.MsiMessage);
            // OpenVMM keeps a latched message inside its interrupt object: the Pending Bits register reads 0 whatever is
            // latched (only restore would set it). Register values are the same in both profiles, so it is RO 0 in both.
            yield return new("MsiPendingBits", PendingOffset, 4, [RO("PendingBits", 0, 1 << MultipleMessageCapable)]);
        }
    }
}
