using PcieSim.Functions;
using PcieSim.Topology;

namespace PcieSim.Enumeration;

/// <summary>
/// OpenVMM's pre-boot enumeration of every root complex, before boot and again after each reset
/// (<c>openvmm_core</c> <c>assign_pci_resources_for_root_complexes</c>, reference 11.1 item 20): root complexes in
/// topology order, each through its own ECAM window with its <see cref="MmioApertures"/>, stopping at the first error.
/// Every access is a real configuration access of the model, judged by its masks and routing like a guest's.
/// Errors (bus or MMIO exhaustion, no aperture) are returned in the result, never thrown.
/// </summary>
public static class VmmEnumerator
{
    public static EnumerationResult Run(PcieModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var accesses = new List<EnumerationAccess>();
        var rootComplexes = new List<RootComplexAssignment>(model.RootComplexes.Count);
        bool stopped = false;
        for (int i = 0; i < model.RootComplexes.Count; i++)
        {
            var rc = model.RootComplexes[i];
            var (low, high) = MmioApertures.For(model.Spec.RootComplexes[i], i);
            if (stopped)
            {
                rootComplexes.Add(new RootComplexAssignment(rc, low, high, enumerated: false, [], null));
                continue;
            }

            var cfg = new ModelConfigAccess(model, rc, accesses);
            var parameters = new AssignmentParameters(rc.StartBus, rc.EndBus, low, high);
            var devices = ResourceAssignment.Enumerate(cfg, parameters, out var failure);
            if (devices is not null)
            {
                failure = ResourceAssignment.AssignAddresses(devices, parameters);
                if (failure is null)
                {
                    ResourceAssignment.Program(cfg, devices);
                }
            }

            if (failure is not null)
            {
                stopped = true;
                rootComplexes.Add(new RootComplexAssignment(rc, low, high, enumerated: true, [], new EnumerationError(failure.Kind, rc.Name, failure.Message)));
                continue;
            }

            rootComplexes.Add(new RootComplexAssignment(rc, low, high, enumerated: true, Describe(rc, devices!), null));
        }

        return new EnumerationResult(rootComplexes, accesses);
    }

    private static List<FunctionAssignment> Describe(RootComplex rc, List<DiscoveredDevice> devices) =>
        devices.ConvertAll(dev =>
        {
            var target = PcieModel.RouteByWalk(rc, dev.Bus, dev.Devfn, out _, out _);
            return new FunctionAssignment(rc.Segment, dev.Bus, dev.Device, dev.Function, target, dev.IsBridge)
            {
                Buses = dev.SecondaryBus is { } secondary ? new BusRange(secondary, dev.SubordinateBus!.Value) : null,
                Bars = dev.Bars.ConvertAll(Bar),
                VfBars = dev.Sriov?.VfBars.ConvertAll(Bar) ?? [],
                TotalVfs = dev.Sriov?.TotalVfs ?? 0,
                MemoryWindow = dev.MemoryWindow is { } m ? new AddressWindow(m.Base, m.Limit) : null,
                PrefetchableWindow = dev.PrefetchableWindow is { } p ? new AddressWindow(p.Base, p.Limit) : null,
                AriForwardingEnabled = dev.AriForwardingEnabled,
                Children = Describe(rc, dev.Children),
            };
        });

    private static BarAssignment Bar(DiscoveredBar bar) => new(bar.Index, bar.Address!.Value, bar.Size, bar.Is64Bit, bar.Prefetchable);
}
