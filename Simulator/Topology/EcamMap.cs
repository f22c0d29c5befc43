using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
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
/// The windows of a model never change, so the map is immutable and a copy decodes like the original: a caller that
/// decodes many addresses holds it in a local (<see cref="PcieModel.Ecam"/>), where its table and base stay in
/// registers instead of being reloaded through the model for every address. The table holds at most
/// <see cref="MaxChunks"/> entries (64 GiB of span, 512 KiB of table), and one <see cref="Entry"/> per bus of every
/// window. Windows spread wider or not 1 MiB aligned (a spec built by hand) leave the table empty and fall back to a
/// scan of the windows sorted by base (<see cref="WindowScan"/>). As with <see cref="System.Collections.Immutable.ImmutableArray{T}"/>,
/// <c>default(EcamMap)</c> is no decoder: take one from <see cref="PcieModel.Ecam"/>.
/// </remarks>
public readonly struct EcamMap
{
    /// <summary>Entries of the MiB table at most: 64 GiB of address span.</summary>
    public const int MaxChunks = 1 << 16;

    /// <summary>
    /// Per MiB from <see cref="low"/>: the root complex and bus whose configuration space it is, null where no window
    /// is. Empty when the windows do not fit a table.
    /// </summary>
    private readonly Entry?[] table;

    /// <summary>Address of the first MiB of <see cref="table"/> (the lowest window's base).</summary>
    private readonly ulong low;

    /// <summary>The windows by base, for addresses the table does not cover.</summary>
    private readonly WindowScan scan;

    /// <summary>Entries of the MiB table: 0 when the windows do not fit one and every decode scans.</summary>
    internal int TableLength => table.Length;

    internal EcamMap(RootComplex[] rootComplexes)
    {
        scan = new WindowScan(rootComplexes);
        table = [];
        var byBase = scan.ByBase;
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
        table = new Entry?[count];
        for (int i = byBase.Length - 1; i >= 0; i--)
        {
            var window = byBase[i].Window;
            int chunk = (int)((window.Base - first) >> 20);
            for (int bus = window.StartBus; bus <= window.EndBus; bus++)
            {
                table[chunk++] = new Entry(byBase[i], (byte)bus);
            }
        }

        low = first;
    }

    /// <summary>
    /// Decodes <paramref name="address"/>: the root complex whose window holds it and the (bus, devfn, register) it
    /// names, the bus from the MiB table, devfn and register from the address's bits 19:12 and 11:0.
    /// </summary>
    /// <returns>False when no window holds the address.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryDecode(ulong address, [NotNullWhen(true)] out RootComplex? rc, out EcamAddress decoded)
    {
        // Both paths end in a root complex, its bus and the address's offset in a 1 MiB aligned frame whose bits 19:0
        // are devfn and register; the decoded address is built once, after they meet. (In the table, the frame is the
        // lowest window, every window being 1 MiB aligned.)
        var entries = table;
        ulong offset = address - low;
        ulong chunk = offset >> 20;
        byte bus; // a byte as loaded: an int here would be narrowed again for the decoded address
        if (chunk < (ulong)entries.Length)
        {
            // Below the length (whose load was the null check): the entry needs no bounds check.
            var entry = Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(entries), (nint)chunk);
            if (entry is null)
            {
                rc = null;
                decoded = default;
                return false;
            }

            rc = entry.RootComplex;
            bus = entry.Bus;
        }
        else if (!scan.TryFind(address, tableCovers: entries.Length != 0, out rc, out bus, out offset))
        {
            decoded = default;
            return false;
        }

        decoded = new EcamAddress(bus, (byte)(offset >> 12), (ushort)(offset & 0xFFF));
        return true;
    }

    /// <summary>
    /// The windows sorted by base, for addresses outside the table: with a table, no window holds them; without one,
    /// the scan decides.
    /// </summary>
    private sealed class WindowScan
    {
        private readonly ulong[] bases;
        private readonly bool disjoint = true;

        public WindowScan(RootComplex[] rootComplexes)
        {
            ByBase = [.. rootComplexes];
            Array.Sort(ByBase, (a, b) => a.Window.Base.CompareTo(b.Window.Base));
            bases = new ulong[ByBase.Length];
            for (int i = 0; i < ByBase.Length; i++)
            {
                bases[i] = ByBase[i].Window.Base;
                // Distances, not ends: a window may end at the top of the address space, where its end is 2^64.
                disjoint &= i == 0 || bases[i] - bases[i - 1] >= ByBase[i - 1].Window.Size;
            }
        }

        public RootComplex[] ByBase { get; }

        /// <summary>
        /// Finds the window of an address the table does not cover: its root complex, the address's bus and its
        /// offset in that bus's MiB. A short loop, inlined, rather than a call: a call in a caller's loop, even never
        /// taken, makes the JIT keep that loop's index and address on the stack.
        /// </summary>
        /// <param name="tableCovers">Whether a MiB table covers every window, so that an address outside it is in none.</param>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool TryFind(ulong address, bool tableCovers, [NotNullWhen(true)] out RootComplex? rc, out byte bus, out ulong offset)
        {
            rc = null;
            for (int i = tableCovers ? -1 : ByBase.Length - 1; i >= 0; i--)
            {
                // Disjoint windows: only the last base at or below the address can hold it; overlapping ones (built by
                // hand): the first in base order that holds it.
                if (ByBase[i].Window.Contains(address))
                {
                    rc = ByBase[i];
                }
                else if (disjoint && bases[i] <= address)
                {
                    break;
                }
            }

            if (rc is null)
            {
                bus = 0;
                offset = 0;
                return false;
            }

            offset = address - rc.Window.Base;
            bus = (byte)(rc.Window.StartBus + (int)(offset >> 20));
            return true;
        }
    }

    /// <summary>
    /// One MiB of ECAM: the bus of a root complex whose configuration space it is. An object, so that a table entry
    /// is one 8-byte reference, indexed by a scaled load (a 16-byte struct of reference and bus costs a shift and an
    /// add more per decode).
    /// </summary>
    private sealed class Entry(RootComplex rootComplex, byte bus)
    {
        public RootComplex RootComplex { get; } = rootComplex;

        public byte Bus { get; } = bus;
    }
}
