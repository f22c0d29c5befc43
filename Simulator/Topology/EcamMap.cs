using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using PcieSim.AddressDecode;

namespace PcieSim.Topology;

/// <summary>
/// ECAM decode for the whole model (PCIe Base Spec r6.0 §7.2.2): which root complex's window holds an address, and
/// the bus, devfn and register it names. Every window is 1 MiB aligned and 1 MiB per bus, so one table entry per MiB
/// of the span from the lowest window to the highest names the root complex and the bus; devfn and register are
/// then the address's own bits 19:12 and 11:0. One subtraction, one compare with the table's length, the entry's load
/// and two loads through it, whatever the number of root complexes, and no branch that depends on which window an
/// address falls in.
/// </summary>
/// <remarks>
/// The table holds at most <see cref="MaxChunks"/> entries (64 GiB of span, 512 KiB of table), and one
/// <see cref="Entry"/> per bus of every window. Windows spread wider or not 1 MiB aligned (a spec built by hand) leave
/// the table empty and fall back to a scan of the windows sorted by base (<see cref="TryDecodeOutsideTable"/>). The
/// table lookup itself is <see cref="PcieModel.TryDecodeEcam"/>, which reads <see cref="Table"/> and
/// <see cref="Low"/> straight from the model: a struct held in the model, no extra indirection.
/// </remarks>
internal readonly struct EcamMap
{
    /// <summary>Entries of the MiB table at most: 64 GiB of address span.</summary>
    public const int MaxChunks = 1 << 16;

    /// <summary>
    /// Per MiB from <see cref="Low"/>: the root complex and bus whose configuration space it is, null where no window
    /// is. Empty when the windows do not fit a table.
    /// </summary>
    internal readonly Entry?[] Table = [];

    /// <summary>Address of the first MiB of <see cref="Table"/> (the lowest window's base).</summary>
    internal readonly ulong Low;

    private readonly RootComplex[] byBase;
    private readonly ulong[] bases;
    private readonly bool disjoint = true;

    public EcamMap(RootComplex[] rootComplexes)
    {
        byBase = [.. rootComplexes];
        Array.Sort(byBase, (a, b) => a.Window.Base.CompareTo(b.Window.Base));
        bases = new ulong[byBase.Length];
        for (int i = 0; i < byBase.Length; i++)
        {
            bases[i] = byBase[i].Window.Base;
            // Distances, not ends: a window may end at the top of the address space, where its end is 2^64.
            disjoint &= i == 0 || bases[i] - bases[i - 1] >= byBase[i - 1].Window.Size;
        }

        if (byBase.Length == 0)
        {
            return;
        }

        // The span's last byte as an offset from the lowest base: a window's end would not fit 64 bits when the
        // window ends at the top of the address space.
        ulong first = byBase[0].Window.Base;
        ulong lastByte = 0;
        foreach (var rc in byBase)
        {
            if ((rc.Window.Base & 0xF_FFFF) != 0)
            {
                return;
            }

            lastByte = Math.Max(lastByte, rc.Window.Base - first + (rc.Window.Size - 1));
        }

        ulong count = (lastByte >> 20) + 1;
        if (count > MaxChunks)
        {
            return;
        }

        // Lowest base first wins where hand-built windows overlap, as a scan in base order would find it.
        Table = new Entry?[count];
        for (int i = byBase.Length - 1; i >= 0; i--)
        {
            var window = byBase[i].Window;
            int chunk = (int)((window.Base - first) >> 20);
            for (int bus = window.StartBus; bus <= window.EndBus; bus++)
            {
                Table[chunk++] = new Entry(byBase[i], (byte)bus);
            }
        }

        Low = first;
    }

    /// <summary>
    /// Decodes an address the table does not cover: with a table, no window holds it; without one, the windows by
    /// base. A short loop here, inlined, rather than a call: a call in a caller's loop, even never taken, makes the
    /// JIT keep that loop's index and address on the stack.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryDecodeOutsideTable(ulong address, [NotNullWhen(true)] out RootComplex? rc, out EcamAddress decoded)
    {
        rc = null;
        for (int i = Table.Length == 0 ? byBase.Length - 1 : -1; i >= 0; i--)
        {
            // Disjoint windows: only the last base at or below the address can hold it; overlapping ones (built by
            // hand): the first in base order that holds it.
            if (byBase[i].Window.Contains(address))
            {
                rc = byBase[i];
            }
            else if (disjoint && bases[i] <= address)
            {
                break;
            }
        }

        if (rc is null)
        {
            decoded = default;
            return false;
        }

        rc.Window.TryDecode(address, out decoded);
        return true;
    }

    /// <summary>
    /// One MiB of ECAM: the bus of a root complex whose configuration space it is. An object, so that a table entry
    /// is one 8-byte reference, indexed by a scaled load (a 16-byte struct of reference and bus costs a shift and an
    /// add more per decode).
    /// </summary>
    internal sealed class Entry(RootComplex rootComplex, byte bus)
    {
        public RootComplex RootComplex { get; } = rootComplex;

        public byte Bus { get; } = bus;
    }
}
