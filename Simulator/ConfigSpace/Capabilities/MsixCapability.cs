using static PcieSim.ConfigSpace.FieldDefinition;

namespace PcieSim.ConfigSpace.Capabilities;

/// <summary>
/// The MSI-X capability (ID 0x11, 12 bytes; PCIe Base Spec r6.0 §7.7.2) as OpenVMM builds it
/// (<c>pci_core/src/capabilities/msix.rs</c>): table at offset 0 of one BAR, PBA right after it
/// (vectors × 16), Table Size = vectors − 1, only MSI-X Enable writable (Function Mask not implemented).
/// </summary>
public sealed class MsixCapability : Capability
{
    public MsixCapability(int vectors, int bar)
    {
        if (vectors is < 1 or > 2048)
        {
            throw new ArgumentOutOfRangeException(nameof(vectors), "MSI-X vectors must be 1..2048");
        }

        if (bar is < 0 or > 5)
        {
            throw new ArgumentOutOfRangeException(nameof(bar), "BAR index must be 0..5");
        }

        Vectors = vectors;
        Bar = bar;
    }

    public int Vectors { get; }

    /// <summary>BAR Indicator Register of both the table and the PBA.</summary>
    public int Bar { get; }

    /// <summary>Offset of the PBA in the BAR.</summary>
    public int PbaOffset => Vectors * 16;

    /// <summary>Bytes of BAR the table and PBA need: vectors × 16 + ceil(vectors / 32) × 4.</summary>
    public int BarLength => (Vectors * 16) + (((Vectors + 31) / 32) * 4);

    public override ushort Id => 0x11;

    public override int Length => 12;

    public override string Label => "MSI-X";

    public override IEnumerable<RegisterDefinition> Registers(int next)
    {
        yield return StandardHeader(next);
        yield return new("MsixMessageControl", Offset + 2, 2,
        [
            RO("TableSize", 0, 11, (uint)(Vectors - 1)),
            RO("FunctionMask", 14, 1),
            RW("MsixEnable", 15, 1),
        ], RegisterHook.MsixControl);
        yield return new("MsixTableOffsetBir", Offset + 4, 4, [RO("TableBir", 0, 3, (uint)Bar), RO("TableOffset", 3, 29)]);
        yield return new("MsixPbaOffsetBir", Offset + 8, 4, [RO("PbaBir", 0, 3, (uint)Bar), RO("PbaOffset", 3, 29, (uint)PbaOffset >> 3)]);
    }
}
