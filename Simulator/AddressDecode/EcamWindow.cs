using System.Runtime.CompilerServices;

namespace PcieSim.AddressDecode;

/// <summary>
/// One root complex's ECAM window (PCIe Base Spec r6.0 §7.2.2). Following OpenVMM, <see cref="Base"/> is the
/// guest-physical address of the first byte of <see cref="StartBus"/>'s configuration space (not the MCFG bus-0
/// base); the window is (end − start + 1) MiB and decodes by pure arithmetic.
/// </summary>
public readonly struct EcamWindow
{
    public EcamWindow(ulong @base, byte startBus, byte endBus)
    {
        if (endBus < startBus)
        {
            throw new ArgumentOutOfRangeException(nameof(endBus), "end bus below start bus");
        }

        Base = @base;
        StartBus = startBus;
        EndBus = endBus;
        Size = (ulong)(endBus - startBus + 1) << 20;
    }

    public ulong Base { get; }

    public byte StartBus { get; }

    public byte EndBus { get; }

    /// <summary>Window length in bytes: 1 MiB per bus, 4 KiB per function.</summary>
    public ulong Size { get; }

    /// <summary>Whether <paramref name="address"/> falls inside the window.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Contains(ulong address) => address - Base < Size;

    /// <summary>
    /// Decodes <paramref name="address"/>: offset = address − base; bus = start + (offset &gt;&gt; 20),
    /// devfn = (offset &gt;&gt; 12) &amp; 0xFF, register = offset &amp; 0xFFF.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryDecode(ulong address, out EcamAddress decoded)
    {
        ulong offset = address - Base;
        if (offset >= Size)
        {
            decoded = default;
            return false;
        }

        decoded = new EcamAddress((byte)(StartBus + (int)(offset >> 20)), (byte)(offset >> 12), (ushort)(offset & 0xFFF));
        return true;
    }

    /// <summary>The ECAM address of (bus, devfn, register) in this window.</summary>
    public ulong AddressOf(byte bus, byte devfn, int register) =>
        Base + ((ulong)(bus - StartBus) << 20) + ((ulong)devfn << 12) + (ulong)register;
}
