using System.Diagnostics.CodeAnalysis;
using PcieSim.Functions;

namespace PcieSim.Topology;

/// <summary>
/// Memory requests to endpoint BARs (PCIe Base Spec r6.0 §7.5.1.2.1): the endpoint and BAR that claim an address.
/// A sorted table of every decoding BAR, rebuilt when a BAR, Memory Space Enable, a reset or a hot-plug changes what
/// decodes: a lookup is a binary search, whatever the number of endpoints.
/// </summary>
public sealed partial class PcieModel
{
    private long memoryGeneration;
    private long barTableGeneration = -1;
    private BarRange[] barTable = [];
    private int barCount;
    private bool barsOverlap;

    /// <summary>
    /// The BAR claiming memory <paramref name="address"/>: the first plugged endpoint in topology order with Memory Space
    /// Enable set whose BAR 0, 2 or 4 (each a 64-bit pair) holds it, and the offset into that BAR.
    /// </summary>
    public bool TryFindBar(ulong address, [NotNullWhen(true)] out Endpoint? endpoint, out int bar, out ulong offset)
    {
        if (barTableGeneration != memoryGeneration)
        {
            BuildBarTable();
        }

        if (!barsOverlap)
        {
            // Disjoint ranges: only the last one starting at or below the address can hold it.
            int lo = 0;
            int hi = barCount - 1;
            while (lo <= hi)
            {
                int mid = (lo + hi) >>> 1;
                if (barTable[mid].Base <= address)
                {
                    lo = mid + 1;
                }
                else
                {
                    hi = mid - 1;
                }
            }

            if (hi >= 0 && address - barTable[hi].Base < barTable[hi].Size)
            {
                var range = barTable[hi];
                (endpoint, bar, offset) = (range.Endpoint, range.Bar, address - range.Base);
                return true;
            }

            (endpoint, bar, offset) = (null, 0, 0);
            return false;
        }

        return TryFindBarByScan(address, out endpoint, out bar, out offset);
    }

    /// <summary>The definition (and the lookup when a guest made BARs overlap): every endpoint and BAR in order.</summary>
    internal bool TryFindBarByScan(ulong address, [NotNullWhen(true)] out Endpoint? endpoint, out int bar, out ulong offset)
    {
        foreach (var candidate in Endpoints)
        {
            if (candidate.Port is null || !candidate.MemorySpaceEnabled)
            {
                continue;
            }

            for (int b = 0; b < 6; b += 2)
            {
                ulong size = candidate.BarSize(b);
                ulong start = candidate.BarBase(b);
                if (size != 0 && address - start < size)
                {
                    (endpoint, bar, offset) = (candidate, b, address - start);
                    return true;
                }
            }
        }

        (endpoint, bar, offset) = (null, 0, 0);
        return false;
    }

    internal void MemoryDecodeChanged() => memoryGeneration++;

    void IFunctionHost.MemoryDecodeChanged() => MemoryDecodeChanged();

    private void BuildBarTable()
    {
        barCount = 0;
        foreach (var candidate in Endpoints)
        {
            if (candidate.Port is null || !candidate.MemorySpaceEnabled)
            {
                continue;
            }

            for (int b = 0; b < 6; b += 2)
            {
                ulong size = candidate.BarSize(b);
                if (size != 0)
                {
                    if (barCount == barTable.Length)
                    {
                        Array.Resize(ref barTable, Math.Max(8, barCount * 2));
                    }

                    barTable[barCount++] = new BarRange(candidate.BarBase(b), size, candidate, b);
                }
            }
        }

        Array.Sort(barTable, 0, barCount, BarRange.ByBase);
        barsOverlap = false;
        for (int i = 1; i < barCount; i++)
        {
            // A BAR's base is aligned to its size, so base + size − 1 does not overflow.
            barsOverlap |= barTable[i].Base <= barTable[i - 1].Base + (barTable[i - 1].Size - 1);
        }

        barTableGeneration = memoryGeneration;
    }

    /// <summary>One decoding BAR: [Base, Base + Size) of BAR <see cref="Bar"/> of <see cref="Endpoint"/>.</summary>
    private readonly record struct BarRange(ulong Base, ulong Size, Endpoint Endpoint, int Bar)
    {
        public static readonly IComparer<BarRange> ByBase = Comparer<BarRange>.Create((a, b) => a.Base.CompareTo(b.Base));
    }
}
