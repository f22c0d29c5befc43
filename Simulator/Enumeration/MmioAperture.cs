using PcieSim.Topology.Language;

namespace PcieSim.Enumeration;

/// <summary>
/// An MMIO aperture a root complex hands to the VMM's resource assignment (OpenVMM
/// <c>pci_resource_assignment</c> <c>AssignmentParams.low_mmio</c> / <c>high_mmio</c>): <c>[Base, Base + Length)</c>.
/// </summary>
public readonly record struct MmioAperture(ulong Base, ulong Length)
{
    /// <summary>The first byte after the aperture.</summary>
    public ulong End => Base + Length;

    /// <summary>The last byte of the aperture.</summary>
    public ulong Limit => Base + Length - 1;
}

/// <summary>
/// Where each root complex's low and high MMIO apertures lie. Sizes are the <c>low_mmio</c> / <c>high_mmio</c>
/// options (OpenVMM's defaults 64 MiB and 1 GiB), rounded up to a multiple of 1 MiB as OpenVMM's command line does
/// (reference 9); a size of 0 means no aperture. Bases are <c>low_mmio_base</c> / <c>high_mmio_base</c> when given;
/// otherwise (our choice, since OpenVMM takes them from its memory layout) the n-th root complex in topology order
/// gets the low aperture at <c>0xC000_0000 + n × 64 MiB</c> and the high one at <c>0x80_0000_0000 + n × 1 GiB</c>.
/// </summary>
public static class MmioApertures
{
    /// <summary>Base of the first root complex's low aperture when <c>low_mmio_base</c> is not given (ours).</summary>
    public const ulong DefaultLowBase = 0xC000_0000;

    /// <summary>Distance between consecutive root complexes' default low bases (ours).</summary>
    public const ulong DefaultLowStride = 64UL << 20;

    /// <summary>Base of the first root complex's high aperture when <c>high_mmio_base</c> is not given (ours).</summary>
    public const ulong DefaultHighBase = 0x80_0000_0000;

    /// <summary>Distance between consecutive root complexes' default high bases (ours).</summary>
    public const ulong DefaultHighStride = 1UL << 30;

    /// <summary>OpenVMM rounds MMIO window sizes up to this granularity.</summary>
    public const ulong SizeGranularity = 1UL << 20;

    /// <summary>The apertures of <paramref name="rootComplex"/>, the <paramref name="index"/>-th root complex in topology order.</summary>
    public static (MmioAperture? Low, MmioAperture? High) For(RootComplexSpec rootComplex, int index)
    {
        ArgumentNullException.ThrowIfNull(rootComplex);
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ulong n = (ulong)index;
        return (Make(rootComplex.LowMmioBase ?? DefaultLowBase + (n * DefaultLowStride), rootComplex.LowMmioSize),
                Make(rootComplex.HighMmioBase ?? DefaultHighBase + (n * DefaultHighStride), rootComplex.HighMmioSize));
    }

    private static MmioAperture? Make(ulong baseAddress, ulong size)
    {
        if (size == 0)
        {
            return null;
        }

        ulong rounded = size > ulong.MaxValue - (SizeGranularity - 1) ? ulong.MaxValue & ~(SizeGranularity - 1) : (size + SizeGranularity - 1) & ~(SizeGranularity - 1);
        return new MmioAperture(baseAddress, Math.Min(rounded, ulong.MaxValue - baseAddress));
    }
}
