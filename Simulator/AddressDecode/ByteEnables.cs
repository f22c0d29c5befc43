using System.Runtime.CompilerServices;

namespace PcieSim.AddressDecode;

/// <summary>Why a configuration access of a given width at a given byte lane cannot be carried out.</summary>
public enum AccessFault : byte
{
    /// <summary>The access is valid.</summary>
    None,

    /// <summary>Width 2 at lane 1 or 3, or width 4 at a lane other than 0 (OpenVMM's <c>UnalignedAccess</c>).</summary>
    UnalignedAccess,

    /// <summary>A width other than 1, 2 or 4, such as 3 or 8 (OpenVMM's <c>InvalidAccessSize</c>).</summary>
    InvalidAccessSize,
}

/// <summary>
/// Byte enables of a configuration DWORD access (PCIe Base Spec r6.0 §2.2.5, First DW Byte Enables).
/// A write changes only the enabled lanes: there is never a read-modify-write of the whole DWORD.
/// </summary>
public static class ByteEnables
{
    /// <summary>
    /// The byte-enable nibble for an access of <paramref name="width"/> bytes at register offset
    /// <paramref name="register"/>: width 1 at any lane, 2 at lane 0 or 2, 4 at lane 0.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static AccessFault TryGet(int register, int width, out byte enables)
    {
        int lane = register & 3;
        switch (width)
        {
            case 1:
                enables = (byte)(1 << lane);
                return AccessFault.None;
            case 2 when (lane & 1) == 0:
                enables = (byte)(0b11 << lane);
                return AccessFault.None;
            case 4 when lane == 0:
                enables = 0b1111;
                return AccessFault.None;
            case 2:
            case 4:
                enables = 0;
                return AccessFault.UnalignedAccess;
            default:
                enables = 0;
                return AccessFault.InvalidAccessSize;
        }
    }

    /// <summary>Expands a byte-enable nibble to a 32-bit mask with 0xFF in each enabled lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint LaneMask(byte enables)
    {
        uint mask = 0;
        if ((enables & 1) != 0) mask |= 0x0000_00FF;
        if ((enables & 2) != 0) mask |= 0x0000_FF00;
        if ((enables & 4) != 0) mask |= 0x00FF_0000;
        if ((enables & 8) != 0) mask |= 0xFF00_0000;
        return mask;
    }

    /// <summary>All-ones of <paramref name="width"/> bytes (what an unroutable or invalid read returns), for widths up to 8.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong AllOnes(int width) => width >= 8 ? ulong.MaxValue : width <= 0 ? 0 : (1UL << (width * 8)) - 1;
}
