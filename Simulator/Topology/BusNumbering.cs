using PcieSim.Functions;

namespace PcieSim.Topology;

/// <summary>
/// Bus numbers as a VMM or firmware assigns them on first enumeration: depth first from each root complex's
/// start bus, in devfn order; each bridge's secondary is the next free bus and its subordinate the highest bus
/// used below it (OpenVMM <c>pci_resource_assignment/src/enumerate.rs</c>). Computed from the topology alone:
/// the model's registers are not touched.
/// </summary>
public sealed class BusNumbering
{
    private readonly Dictionary<BridgeFunction, BusRange> ranges = [];
    private readonly Dictionary<PcieFunction, byte> busOf = [];

    public BusNumbering(PcieModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        foreach (var rc in model.RootComplexes)
        {
            int next = rc.StartBus + 1;
            if (rc.Iommu is not null)
            {
                busOf[rc.Iommu] = rc.StartBus;
            }

            foreach (var port in rc.RootPorts)
            {
                busOf[port] = rc.StartBus;
                next = Assign(port, next, rc.EndBus);
            }
        }
    }

    /// <summary>The bus a function sits on after enumeration; null for an unplugged endpoint or when buses ran out.</summary>
    public byte? BusOf(PcieFunction function) => busOf.TryGetValue(function, out byte bus) ? bus : null;

    /// <summary>The secondary..subordinate range a bridge gets; null when buses ran out.</summary>
    public BusRange? RangeOf(BridgeFunction bridge) => ranges.TryGetValue(bridge, out var range) ? range : null;

    private int Assign(DownstreamPort port, int next, int endBus)
    {
        if (next > endBus)
        {
            return next;
        }

        int secondary = next++;
        switch (port.Child)
        {
            case Endpoint endpoint:
                busOf[endpoint] = (byte)secondary;
                break;
            case PcieSwitch sw:
                busOf[sw.Upstream] = (byte)secondary;
                if (next <= endBus)
                {
                    int internalBus = next++;
                    foreach (var downstream in sw.DownstreamPorts)
                    {
                        busOf[downstream] = (byte)internalBus;
                        next = Assign(downstream, next, endBus);
                    }

                    ranges[sw.Upstream] = new BusRange((byte)internalBus, (byte)(next - 1));
                }

                break;
        }

        ranges[port] = new BusRange((byte)secondary, (byte)(next - 1));
        return next;
    }
}
