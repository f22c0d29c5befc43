using PcieSim.AddressDecode;
using PcieSim.Functions;

namespace PcieSim.Topology;

/// <summary>
/// A root complex owning one ECAM window and the bus range start..end of its segment (OpenVMM
/// <c>pcie/src/root.rs</c>): root ports and RCiEPs on the start bus, found by exact devfn in O(1).
/// </summary>
public sealed class RootComplex
{
    private readonly PcieFunction?[] startBusFunctions = new PcieFunction?[256];

    internal RootComplex(string name, ushort segment, EcamWindow window, RootPort[] ports, AmdIommu? iommu)
    {
        Name = name;
        Segment = segment;
        Window = window;
        Array.Sort(ports, (a, b) => a.Devfn.CompareTo(b.Devfn));
        RootPorts = ports;
        Iommu = iommu;
        foreach (var port in ports)
        {
            port.RootComplex = this;
            startBusFunctions[port.Devfn] = port;
        }

        if (iommu is not null)
        {
            iommu.RootComplex = this;
            startBusFunctions[0] = iommu;
        }
    }

    public string Name { get; }

    public ushort Segment { get; }

    public EcamWindow Window { get; }

    public byte StartBus => Window.StartBus;

    public byte EndBus => Window.EndBus;

    /// <summary>Root ports in devfn order (the order routing tries them).</summary>
    public IReadOnlyList<RootPort> RootPorts { get; }

    /// <summary>The AMD IOMMU RCiEP at devfn 0, if configured.</summary>
    public AmdIommu? Iommu { get; }

    /// <summary>The root port or RCiEP at exactly <paramref name="devfn"/> on the start bus.</summary>
    public PcieFunction? FunctionAt(byte devfn) => startBusFunctions[devfn];

    /// <summary>Where a request for each bus other than the start bus ends (built and rebuilt by the model).</summary>
    internal RoutingTable Routing { get; } = new();

    /// <summary>
    /// Counts routing changes in this root complex's hierarchy (bus numbers, ARI forwarding, links): its routing table
    /// and the route texts of its functions are stale when it moves. Other root complexes' changes leave it alone.
    /// </summary>
    internal long RoutingGeneration { get; set; }
}
