namespace PcieSim.Generation;

/// <summary>
/// SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014): our own
/// seeded generator, so that a generated trace depends only on its seed and never on the runtime's
/// <see cref="System.Random"/> algorithm, which may change between .NET versions.
/// </summary>
public struct SplitMix64
{
    private ulong state;

    public SplitMix64(ulong seed) => state = seed;

    /// <summary>The next 64 random bits.</summary>
    public ulong Next()
    {
        ulong z = state += 0x9E37_79B9_7F4A_7C15;
        z = (z ^ (z >> 30)) * 0xBF58_476D_1CE4_E5B9;
        z = (z ^ (z >> 27)) * 0x94D0_49BB_1331_11EB;
        return z ^ (z >> 31);
    }

    /// <summary>A number in 0..<paramref name="bound"/>−1 (Lemire's multiply-shift; the bias is below 2^-32 for bounds under 2^32).</summary>
    public uint Below(uint bound)
    {
        ArgumentOutOfRangeException.ThrowIfZero(bound);
        return (uint)(((Next() >> 32) * bound) >> 32);
    }

    /// <summary>True with probability <paramref name="numerator"/>/<paramref name="denominator"/>.</summary>
    public bool Chance(uint numerator, uint denominator) => Below(denominator) < numerator;
}
