using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using PcieSim.AddressDecode;

namespace PcieSim.Topology;

/// <summary>
/// ECAM decode for the whole model (PCIe Base Spec r6.0 §7.2.2): which root complex's window holds an address, and
/// the bus, devfn and register it names. Every window is 1 MiB aligned and 1 MiB per bus, so one table entry per MiB
/// of the span from the lowest window to the highest names the root complex and the bus; devfn and register are
/// then the address's own bits 19:12 and 11:0. One subtraction, one compare and one table load, whatever the number
/// of root complexes, and no branch that depends on which window an address falls in.
/// </summary>
/// <remarks>
/// The table holds at most <see cref="MaxChunks"/> entries (64 GiB of span, 1 MiB of table). Windows spread wider
/// or not 1 MiB aligned (a spec built by hand) fall back to a scan of the windows sorted by base, done in place (a
/// call, even one never taken, would make the JIT spill a caller's loop registers). A struct held in the model: no
/// extra indirection.
/// </remarks>
internal readonly struct EcamMap
{
    /// <summary>Entries of the MiB table at most: 64 GiB of address span.</summary>
    public const int MaxChunks = 1 << 16;


    private readonly RootComplex[] byBase;
    private readonly ulong[] bases;
    private readonly ulong low;
    private readonly ulong span;
    private readonly bool disjoint = true;

    /// <summary>Per MiB from <see cref="low"/>: the root complex and bus (no root complex where no window is).</summary>
    private readonly Chunk[] chunks = [];

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
        chunks = new Chunk[count];
        for (int i = byBase.Length - 1; i >= 0; i--)
        {
            var window = byBase[i].Window;
            int chunk = (int)((window.Base - first) >> 20);
            for (int bus = window.StartBus; bus <= window.EndBus; bus++)
            {
                chunks[chunk++] = new Chunk(byBase[i], (byte)bus);
            }
        }

        low = first;
        span = count << 20;
    }

    /// <summary>Decodes <paramref name="address"/>; false when no window holds it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryDecode(ulong address, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out RootComplex? rc, out EcamAddress decoded)
    {
        ulong offset = address - low;
        if (offset < span)
        {
            // In range: the index is below chunks.Length (span = chunks.Length MiB), so the bounds check can go.
            ref readonly var chunk = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(chunks), (nint)(offset >> 20));
            rc = chunk.Rc;
            decoded = new EcamAddress(chunk.Bus, (byte)(address >> 12), (ushort)(address & 0xFFF));
            return rc is not null;
        }

        // Outside the table: no window, unless there is no table. Then the windows by base: a short loop here, not a
        // call, so that a caller's loop keeps its registers (a call in it, even never taken, makes the JIT spill them).
        rc = null;
        for (int i = chunks.Length == 0 ? byBase.Length - 1 : -1; i >= 0; i--)
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

    /// <summary>One MiB of ECAM: the bus of a root complex whose configuration space it is.</summary>
    private readonly record struct Chunk(RootComplex? Rc, byte Bus);
}
