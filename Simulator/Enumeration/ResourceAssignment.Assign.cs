namespace PcieSim.Enumeration;

/// <summary>One resource demand at one level of the tree: a BAR, a bridge's child window, or an SR-IOV VF BAR range.</summary>
internal sealed record Demand(DemandKind Kind, int DeviceIndex, int BarIndex, ulong Size, ulong Alignment, bool IsMem64);

internal enum DemandKind
{
    Bar,
    BridgeSubtree,
    SriovVfBars,
}

/// <summary>A subtree's requirement per pool (OpenVMM <c>SubtreeSizing</c> without pinned BARs) and its sorted demands.</summary>
internal sealed record SubtreeSizing(ulong Mem32, ulong Mem64, ulong Align32, ulong Align64, IReadOnlyList<Demand> Demands);

/// <summary>Phase 2 of OpenVMM's resource assignment (<c>assign.rs</c>): sizing, allocation and programming.</summary>
internal static partial class ResourceAssignment
{
    /// <summary>Bridge memory windows have 1 MiB granularity (PCIe Base Spec r6.0 §7.5.1.3, Memory Base/Limit: address bits 31:20).</summary>
    internal const ulong BridgeWindowAlignment = 1UL << 20;

    /// <summary>The 16-bit Memory Base/Limit address bits (31:20 of the address, in bits 15:4).</summary>
    private const uint MemoryBaseLimitAddressMask = 0xFFF0;

    private const ushort IoBaseLimitSecondaryStatus = 0x1C;
    private const ushort MemoryBaseLimit = 0x20;
    private const ushort PrefetchableBaseLimit = 0x24;
    private const ushort PrefetchableBaseUpper = 0x28;
    private const ushort PrefetchableLimitUpper = 0x2C;

    /// <summary>
    /// Assigns addresses from the apertures: mem32 (every BAR but the 64-bit prefetchable ones, and the
    /// non-prefetchable windows) from <c>low_mmio</c> only; mem64 (64-bit prefetchable BARs, prefetchable windows)
    /// from <c>high_mmio</c>, or from <c>low_mmio</c> after the mem32 allocation when there is no high aperture.
    /// </summary>
    internal static AssignmentFailure? AssignAddresses(List<DiscoveredDevice> devices, AssignmentParameters parameters)
    {
        var root = ComputeSizing(devices);
        ulong? mem32End = null;
        if (root.Mem32 > 0)
        {
            // 32-bit BARs and non-prefetchable windows must stay below 4 GiB: no fallback to high_mmio.
            var failure = AllocatePool(devices, root.Demands, root.Align32, root.Mem32, parameters.LowMmio, isMem64: false, after: null, out ulong poolBase);
            if (failure is not null)
            {
                return failure;
            }

            mem32End = poolBase + root.Mem32;
        }

        if (root.Mem64 > 0)
        {
            ulong? after = parameters.HighMmio is null ? mem32End : null;
            var failure = AllocatePool(devices, root.Demands, root.Align64, root.Mem64, parameters.HighMmio ?? parameters.LowMmio, isMem64: true, after, out _);
            if (failure is not null)
            {
                return failure;
            }
        }

        return null;
    }

    /// <summary>
    /// Bottom-up: the demands of one level (BARs, VF BAR ranges, each child bridge's requirement rounded up to
    /// 1 MiB), stably sorted by alignment, largest first, and summed per pool with alignment padding.
    /// </summary>
    private static SubtreeSizing ComputeSizing(List<DiscoveredDevice> devices)
    {
        var demands = new List<Demand>();
        for (int i = 0; i < devices.Count; i++)
        {
            var dev = devices[i];
            foreach (var bar in dev.Bars)
            {
                demands.Add(new Demand(DemandKind.Bar, i, bar.Index, bar.Size, bar.Size, bar.IsMem64));
            }

            if (dev.Sriov is { } sriov)
            {
                foreach (var bar in sriov.VfBars)
                {
                    ulong total = bar.Size > ulong.MaxValue / sriov.TotalVfs ? ulong.MaxValue : bar.Size * sriov.TotalVfs;
                    demands.Add(new Demand(DemandKind.SriovVfBars, i, bar.Index, total, bar.Size, bar.IsMem64));
                }
            }

            if (dev.IsBridge)
            {
                var child = ComputeSizing(dev.Children);
                if (child.Mem32 > 0)
                {
                    demands.Add(new Demand(DemandKind.BridgeSubtree, i, -1, AlignUp(child.Mem32, BridgeWindowAlignment), child.Align32, IsMem64: false));
                }

                if (child.Mem64 > 0)
                {
                    demands.Add(new Demand(DemandKind.BridgeSubtree, i, -1, AlignUp(child.Mem64, BridgeWindowAlignment), child.Align64, IsMem64: true));
                }

                dev.Sizing = child;
            }
        }

        // The most alignment-demanding first wastes the least padding; OrderByDescending is stable, like Rust's sort.
        var sorted = demands.OrderByDescending(d => d.Alignment).ToList();
        ulong mem32 = 0, mem64 = 0, align32 = BridgeWindowAlignment, align64 = BridgeWindowAlignment;
        foreach (var d in sorted)
        {
            if (d.IsMem64)
            {
                align64 = Math.Max(align64, d.Alignment);
                mem64 = AlignUp(mem64, d.Alignment) + d.Size;
            }
            else
            {
                align32 = Math.Max(align32, d.Alignment);
                mem32 = AlignUp(mem32, d.Alignment) + d.Size;
            }
        }

        return new SubtreeSizing(mem32, mem64, align32, align64, sorted);
    }

    /// <summary>Places one pool of the root level in its aperture, or fails with OpenVMM's MMIO exhaustion error.</summary>
    private static AssignmentFailure? AllocatePool(List<DiscoveredDevice> devices, IReadOnlyList<Demand> demands, ulong alignment, ulong required, MmioAperture? aperture, bool isMem64, ulong? after, out ulong poolBase)
    {
        poolBase = 0;
        string name = isMem64 ? "high_mmio" : "low_mmio";
        if (aperture is not { } a)
        {
            return MmioExhaustion(name, required, 0);
        }

        poolBase = AlignUp(after ?? a.Base, alignment);
        ulong available = a.End > poolBase ? a.End - poolBase : 0;
        if (poolBase < a.Base || required > available)
        {
            return MmioExhaustion(name, required, available);
        }

        var gaps = new List<(ulong Start, ulong End)> { (poolBase, a.End) };
        AssignSubtree(devices, demands, gaps, isMem64);
        return null;
    }

    private static AssignmentFailure MmioExhaustion(string aperture, ulong required, ulong available) =>
        new(EnumerationErrorKind.MmioExhaustion, Inv($"{aperture} MMIO exhaustion: need 0x{required:x} bytes, have 0x{available:x}"));

    /// <summary>
    /// Top-down: places this level's demands of one pool, in sorted order, first fit in the free gaps; a bridge's
    /// window is the range it gets, and its children are placed inside it.
    /// </summary>
    private static void AssignSubtree(List<DiscoveredDevice> devices, IReadOnlyList<Demand> demands, List<(ulong Start, ulong End)> gaps, bool mem64)
    {
        foreach (var demand in demands)
        {
            if (demand.IsMem64 != mem64)
            {
                continue;
            }

            ulong address = AllocateFromGaps(gaps, demand.Size, demand.Alignment)
                ?? throw new InvalidOperationException("resource sizing left no room for a demand (OpenVMM's sizing guarantees it)");
            var dev = devices[demand.DeviceIndex];
            switch (demand.Kind)
            {
                case DemandKind.Bar:
                    dev.Bars.Find(b => b.Index == demand.BarIndex)!.Address = address;
                    break;
                case DemandKind.SriovVfBars:
                    dev.Sriov!.VfBars.Find(b => b.Index == demand.BarIndex)!.Address = address;
                    break;
                case DemandKind.BridgeSubtree:
                    var window = (address, address + demand.Size - 1);
                    if (mem64)
                    {
                        dev.PrefetchableWindow = window;
                    }
                    else
                    {
                        dev.MemoryWindow = window;
                    }

                    AssignSubtree(dev.Children, dev.Sizing!.Demands, [(address, address + demand.Size)], mem64);
                    break;
            }
        }
    }

    /// <summary>First fit: the first gap holding <paramref name="size"/> bytes at <paramref name="alignment"/>; the gap is split.</summary>
    private static ulong? AllocateFromGaps(List<(ulong Start, ulong End)> gaps, ulong size, ulong alignment)
    {
        int index = gaps.FindIndex(g => AlignUp(g.Start, alignment) + size <= g.End);
        if (index < 0)
        {
            return null;
        }

        var (start, end) = gaps[index];
        ulong address = AlignUp(start, alignment);
        ulong allocationEnd = address + size;
        gaps.RemoveAt(index);
        if (start < address)
        {
            gaps.Insert(index++, (start, address));
        }

        if (allocationEnd < end)
        {
            gaps.Insert(index, (allocationEnd, end));
        }

        return address;
    }

    /// <summary>
    /// Writes every assignment, depth first in scan order: BARs (low DWORD with its flag bits 0, then the upper
    /// DWORD of a 64-bit BAR), SR-IOV VF BARs, then for a bridge 0x1C = 0xF0 (I/O window disabled, Secondary
    /// Status written 0), 0x20, 0x2C, 0x24, 0x28; a window without resources is written disabled (base above
    /// limit). The Command register is not touched: Memory Space stays disabled (OpenVMM).
    /// </summary>
    internal static void Program(IConfigAccess cfg, List<DiscoveredDevice> devices)
    {
        foreach (var dev in devices)
        {
            byte devfn = dev.Devfn;
            foreach (var bar in dev.Bars)
            {
                WriteBar(cfg, dev.Bus, devfn, (ushort)(Bar0 + (bar.Index * 4)), bar);
            }

            if (dev.Sriov is { } sriov)
            {
                foreach (var bar in sriov.VfBars)
                {
                    WriteBar(cfg, dev.Bus, devfn, (ushort)(sriov.CapabilityOffset + SriovVfBar0 + (bar.Index * 4)), bar);
                }
            }

            if (dev.IsBridge)
            {
                cfg.Write(dev.Bus, devfn, IoBaseLimitSecondaryStatus, 0x0000_00F0);
                uint memory = dev.MemoryWindow is { } mw
                    ? WindowField(mw.Base) | (WindowField(mw.Limit) << 16)
                    : 0x0000_FFF0;
                cfg.Write(dev.Bus, devfn, MemoryBaseLimit, memory);

                (uint range, uint baseUpper, uint limitUpper) = dev.PrefetchableWindow is { } pw
                    ? (WindowField(pw.Base) | 1 | ((WindowField(pw.Limit) | 1) << 16), (uint)(pw.Base >> 32), (uint)(pw.Limit >> 32))
                    : (0x0000_FFF0u, 0xFFFF_FFFFu, 0u);
                cfg.Write(dev.Bus, devfn, PrefetchableLimitUpper, limitUpper);
                cfg.Write(dev.Bus, devfn, PrefetchableBaseLimit, range);
                cfg.Write(dev.Bus, devfn, PrefetchableBaseUpper, baseUpper);
            }

            Program(cfg, dev.Children);
        }
    }

    private static void WriteBar(IConfigAccess cfg, byte bus, byte devfn, ushort offset, DiscoveredBar bar)
    {
        ulong address = bar.Address!.Value;
        cfg.Write(bus, devfn, offset, (uint)address);
        if (bar.Is64Bit)
        {
            cfg.Write(bus, devfn, (ushort)(offset + 4), (uint)(address >> 32));
        }
    }

    private static uint WindowField(ulong address) => (uint)(address >> 16) & MemoryBaseLimitAddressMask;

    private static ulong AlignUp(ulong value, ulong alignment) => (value + alignment - 1) & ~(alignment - 1);
}
