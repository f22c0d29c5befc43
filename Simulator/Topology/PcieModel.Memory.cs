using System.Diagnostics.CodeAnalysis;
using PcieSim.Functions;

namespace PcieSim.Topology;

/// <summary>
/// Memory requests to endpoint BARs (PCIe Base Spec r6.0 §7.5.1.2.1): the endpoint and BAR that claim an address.
/// A table of every decoding BAR sorted by base: a lookup is a binary search, whatever the number of endpoints. When
/// an endpoint's decode changes (a BAR, Memory Space Enable, a reset, a hot-plug) only its entries are taken out and
/// put back; a model-wide change (reset, restore) rebuilds the table.
/// </summary>
public sealed partial class PcieModel
{
    private readonly List<Endpoint> decodeChanged = [];
    private bool decodeRebuild = true;
    private BarRange[] barTable = [];
    private ulong[] barBases = [];
    private int barCount;
    private bool barsOverlap;

    /// <summary>
    /// The BAR claiming memory <paramref name="address"/>: the first plugged endpoint in topology order with Memory Space
    /// Enable set whose BAR 0, 2 or 4 (each a 64-bit pair) holds it, and the offset into that BAR.
    /// </summary>
    public bool TryFindBar(ulong address, [NotNullWhen(true)] out Endpoint? endpoint, out int bar, out ulong offset)
    {
        if (decodeRebuild || decodeChanged.Count > 0)
        {
            RefreshBarTable();
        }

        if (!barsOverlap)
        {
            // Disjoint ranges: only the last one starting at or below the address can hold it.
            int hi = UpperBound(address) - 1;
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

    /// <summary>Every endpoint's decode may have changed (reset, restore): the table is rebuilt at the next lookup.</summary>
    internal void MemoryDecodeChanged() => decodeRebuild = true;

    /// <summary>One endpoint's decode may have changed: its entries are renewed at the next lookup.</summary>
    internal void MemoryDecodeChanged(Endpoint endpoint)
    {
        if (!endpoint.DecodeChanged)
        {
            endpoint.DecodeChanged = true;
            decodeChanged.Add(endpoint);
        }
    }

    void IFunctionHost.MemoryDecodeChanged(Endpoint endpoint) => MemoryDecodeChanged(endpoint);

    private void RefreshBarTable()
    {
        if (decodeRebuild)
        {
            barCount = 0;
            foreach (var endpoint in Endpoints)
            {
                endpoint.DecodeChanged = false;
                AddDecodingBars(endpoint, sorted: false);
            }

            Array.Sort(barBases, barTable, 0, barCount);
            decodeRebuild = false;
        }
        else
        {
            foreach (var endpoint in decodeChanged)
            {
                endpoint.DecodeChanged = false;
                RemoveBars(endpoint);
                AddDecodingBars(endpoint, sorted: true);
            }
        }

        decodeChanged.Clear();

        // In a local and a span, stopping at the first overlap: the loop runs over the whole table at every refresh,
        // and the field written at each step made every step wait for the last one's store.
        var table = barTable.AsSpan(0, barCount);
        bool overlap = false;
        for (int i = 1; i < table.Length && !overlap; i++)
        {
            // A BAR's base is aligned to its size, so base + size − 1 does not overflow.
            overlap = table[i].Base <= table[i - 1].Base + (table[i - 1].Size - 1);
        }

        barsOverlap = overlap;
    }

    /// <summary>
    /// Takes the endpoint's entries out of the table, the others keeping their order. Entries before the first of
    /// them stay where they are: each entry holds a reference, so moving one costs a write barrier, and an endpoint
    /// that decoded nothing (most often, after a BAR sizing with Memory Space Enable clear) moves none.
    /// </summary>
    private void RemoveBars(Endpoint endpoint)
    {
        int kept = 0;
        while (kept < barCount && !ReferenceEquals(barTable[kept].Endpoint, endpoint))
        {
            kept++;
        }

        for (int i = kept + 1; i < barCount; i++)
        {
            if (!ReferenceEquals(barTable[i].Endpoint, endpoint))
            {
                barTable[kept] = barTable[i];
                barBases[kept++] = barBases[i];
            }
        }

        barCount = kept;
    }

    /// <summary>Adds the endpoint's decoding BARs: appended (sorted later) or inserted in base order.</summary>
    private void AddDecodingBars(Endpoint endpoint, bool sorted)
    {
        if (endpoint.Port is null || !endpoint.MemorySpaceEnabled)
        {
            return;
        }

        for (int b = 0; b < 6; b += 2)
        {
            ulong size = endpoint.BarSize(b);
            if (size == 0)
            {
                continue;
            }

            if (barCount == barTable.Length)
            {
                Array.Resize(ref barTable, Math.Max(8, barCount * 2));
                Array.Resize(ref barBases, barTable.Length);
            }

            ulong start = endpoint.BarBase(b);
            int at = sorted ? UpperBound(start) : barCount;
            Array.Copy(barTable, at, barTable, at + 1, barCount - at);
            Array.Copy(barBases, at, barBases, at + 1, barCount - at);
            barTable[at] = new BarRange(start, size, endpoint, b);
            barBases[at] = start;
            barCount++;
        }
    }

    /// <summary>How many table entries start at or below <paramref name="address"/>.</summary>
    private int UpperBound(ulong address)
    {
        int lo = 0;
        int hi = barCount;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (barBases[mid] <= address)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    /// <summary>One decoding BAR: [Base, Base + Size) of BAR <see cref="Bar"/> of <see cref="Endpoint"/>.</summary>
    private readonly record struct BarRange(ulong Base, ulong Size, Endpoint Endpoint, int Bar);
}
