using System.Runtime.CompilerServices;

namespace PcieSim.ConfigSpace;

/// <summary>
/// One function's live configuration space: 1024 DWORDs driven by a <see cref="ConfigSpaceLayout"/>.
/// A guest write merges only its enabled lanes through the write mask and clears RW1C bits where it writes 1;
/// hardware updates (presence, latches) bypass the masks.
/// </summary>
public sealed class ConfigRegisterFile
{
    // On the pinned object heap, away from the small objects allocated around this one: a guest's Command or BAR
    // write dirties the array's first cache line, which would otherwise also hold this object's fields (or its
    // function's), read by the snapshot's thread for every record of the function.
    private readonly uint[] dwords = GC.AllocateArray<uint>(ConfigSpaceLayout.DwordCount, pinned: true);

    // The layout's masks, held here too: a write reaches them through this object instead of through the layout
    // (one object fewer, one cache line fewer to wait for when a trace moves between functions).
    private readonly uint[] writeMask;
    private readonly uint[] rw1cMask;

    public ConfigRegisterFile(ConfigSpaceLayout layout)
    {
        Layout = layout ?? throw new ArgumentNullException(nameof(layout));
        writeMask = layout.WriteMask;
        rw1cMask = layout.Rw1cMask;
        PowerOn();
    }

    public ConfigSpaceLayout Layout { get; }

    /// <summary>The DWORDs themselves, for the owning function's accesses (see <see cref="Functions.PcieFunction"/>).</summary>
    internal uint[] Dwords => dwords;

    /// <summary>The DWORD at <paramref name="index"/> (0..1023).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint Read(int index) => dwords[index];

    /// <summary>
    /// A guest write of <paramref name="data"/> (already in lane position) to the lanes in <paramref name="laneMask"/>:
    /// RW bits take the data, RW1C bits clear where the data has 1, everything else is unchanged.
    /// </summary>
    /// <returns>The DWORD before the write.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint WriteMasked(int index, uint data, uint laneMask)
    {
        uint old = dwords[index];
        uint writable = writeMask[index] & laneMask;
        uint clear = rw1cMask[index] & laneMask & data;
        dwords[index] = ((old & ~writable) | (data & writable)) & ~clear;
        return old;
    }

    /// <summary>A hardware-side update: sets the bits of <paramref name="mask"/> to those of <paramref name="value"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Set(int index, uint value, uint mask) => dwords[index] = (dwords[index] & ~mask) | (value & mask);

    /// <summary>Returns every DWORD to its reset value.</summary>
    public void Reset() => Array.Copy(Layout.ResetImage, dwords, dwords.Length);

    /// <summary>The values of a newly created function (the reset values unless a field has its own power-on value).</summary>
    public void PowerOn() => Array.Copy(Layout.PowerOnImage, dwords, dwords.Length);

    /// <summary>Copies the DWORDs out (save state).</summary>
    public uint[] Save() => (uint[])dwords.Clone();

    /// <summary>Restores DWORDs saved by <see cref="Save"/>.</summary>
    public void Restore(ReadOnlySpan<uint> saved)
    {
        if (saved.Length != dwords.Length)
        {
            throw new ArgumentException("saved configuration space must hold 1024 DWORDs", nameof(saved));
        }

        saved.CopyTo(dwords);
    }
}
