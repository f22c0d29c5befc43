using PcieSim.AddressDecode;
using PcieSim.ConfigSpace;
using PcieSim.Functions;
using PcieSim.Topology.Language;

namespace PcieSim.Topology;

/// <summary>
/// The whole simulated PCIe topology: root complexes with their ECAM windows, switches, endpoints (plugged or in
/// the pool of unplugged ones) and the platform MSI controller. Deterministic: the same topology and the same
/// accesses always give the same outcomes. Split by concern: building (this file), routing, accesses, hotplug
/// and interrupts.
/// </summary>
public sealed partial class PcieModel : IFunctionHost
{
    /// <summary>Base of the AMD IOMMU's 16 KiB register block for the first root complex that has one (ours; OpenVMM takes it from its memory layout).</summary>
    public const ulong AmdIommuMmioBase = 0xFD00_0000;

    private readonly RootComplex[] rootComplexes;
    private readonly EcamMap ecamMap;
    private readonly Dictionary<string, DownstreamPort> portsByName = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Endpoint> endpointsByName = new(StringComparer.Ordinal);
    private readonly List<DownstreamPort> allPorts = [];

    public PcieModel(TopologySpec spec, ModelOptions? options = null)
    {
        Spec = spec ?? throw new ArgumentNullException(nameof(spec));
        Options = options ?? new ModelOptions();

        int iommuIndex = 0;
        var complexes = new List<RootComplex>();
        foreach (var rcSpec in spec.RootComplexes)
        {
            var ports = new RootPort[rcSpec.Ports.Count];
            for (int i = 0; i < ports.Length; i++)
            {
                var p = rcSpec.Ports[i];
                ports[i] = new RootPort(p.Name, p.Devfn, p.MultiFunction, p.SlotNumber, p.Options.Hotplug, p.Options.CommandCompleted, p.Options.AcsMask, p.Options.Pasid);
            }

            var iommu = rcSpec.AmdIommu ? new AmdIommu(rcSpec.Name + "-iommu", AmdIommuMmioBase + ((ulong)iommuIndex++ * 0x4000)) : null;
            var rc = new RootComplex(rcSpec.Name, rcSpec.Segment, new EcamWindow(rcSpec.EcamBase, rcSpec.StartBus, rcSpec.EndBus), ports, iommu);
            complexes.Add(rc);
            foreach (var port in ports)
            {
                Register(port);
            }

            if (iommu is not null)
            {
                iommu.Host = this;
            }
        }

        rootComplexes = [.. complexes];
        ecamMap = new EcamMap(rootComplexes);

        var switches = new List<PcieSwitch>();
        foreach (var swSpec in spec.Switches)
        {
            var upstream = new UpstreamSwitchPort(swSpec.Name, swSpec.Options.Pasid) { Host = this };
            var downstream = new DownstreamSwitchPort[swSpec.DownstreamPorts.Count];
            for (int i = 0; i < downstream.Length; i++)
            {
                var d = swSpec.DownstreamPorts[i];
                downstream[i] = new DownstreamSwitchPort(d.Name, d.Index, d.Devfn, d.MultiFunction, d.SlotNumber, swSpec.Options.Hotplug, swSpec.Options.CommandCompleted, swSpec.Options.AcsMask, swSpec.Options.Pasid);
            }

            switches.Add(new PcieSwitch(swSpec.Name, upstream, downstream));
            foreach (var port in downstream)
            {
                Register(port);
            }
        }

        Switches = switches;
        for (int i = 0; i < switches.Count; i++)
        {
            var parent = portsByName[spec.Switches[i].ParentPort];
            switches[i].ParentPort = parent;
            parent.Link(switches[i]);
            parent.SetPresence(true, latchEvents: false);
        }

        foreach (var rc in rootComplexes)
        {
            foreach (var port in rc.RootPorts)
            {
                SetHierarchy(port, rc);
            }
        }

        var endpoints = new List<Endpoint>();
        foreach (var epSpec in spec.Endpoints)
        {
            var endpoint = new Endpoint(epSpec) { Host = this };
            endpoints.Add(endpoint);
            endpointsByName.Add(endpoint.Name, endpoint);
            if (epSpec.Port is { } portName)
            {
                var port = portsByName[portName];
                endpoint.Port = port;
                port.Link(endpoint);
                port.SetPresence(true, latchEvents: false);
            }
        }

        Endpoints = endpoints;
        var shapes = new HashSet<LayoutNames>(LayoutNames.ByShape);
        foreach (var function in Functions)
        {
            function.ShareNames(shapes);
        }

        RoutingChanged();
    }

    public TopologySpec Spec { get; }

    public ModelOptions Options { get; }

    /// <summary>Root complexes in topology order.</summary>
    public IReadOnlyList<RootComplex> RootComplexes => rootComplexes;

    /// <summary>Switches in topology order.</summary>
    public IReadOnlyList<PcieSwitch> Switches { get; }

    /// <summary>Every endpoint in topology order, plugged or not.</summary>
    public IReadOnlyList<Endpoint> Endpoints { get; }

    /// <summary>Root ports and switch downstream ports, in topology order (root complexes' ports first, in flag order).</summary>
    public IReadOnlyList<DownstreamPort> Ports => allPorts;

    /// <summary>Every function in topology order: per root complex its RCiEP and root ports, then switches, then endpoints.</summary>
    public IEnumerable<PcieFunction> Functions
    {
        get
        {
            foreach (var rc in rootComplexes)
            {
                if (rc.Iommu is not null)
                {
                    yield return rc.Iommu;
                }

                foreach (var port in rc.RootPorts)
                {
                    yield return port;
                }
            }

            foreach (var sw in Switches)
            {
                yield return sw.Upstream;
                foreach (var port in sw.DownstreamPorts)
                {
                    yield return port;
                }
            }

            foreach (var endpoint in Endpoints)
            {
                yield return endpoint;
            }
        }
    }

    /// <summary>The root or downstream port named <paramref name="name"/>.</summary>
    public DownstreamPort? FindPort(string name) => portsByName.GetValueOrDefault(name);

    public Endpoint? FindEndpoint(string name) => endpointsByName.GetValueOrDefault(name);

    /// <summary>
    /// A VM reset: every function returns to its reset values (reference 2.8, 3); presence and every link are kept.
    /// </summary>
    public void Reset()
    {
        foreach (var function in Functions)
        {
            function.Reset();
        }

        ResetInterrupts();
        RoutingChanged();
        MemoryDecodeChanged();
    }

    /// <summary>Marks <paramref name="port"/> and every switch port below it as in <paramref name="rc"/>'s hierarchy.</summary>
    private static void SetHierarchy(DownstreamPort port, RootComplex rc)
    {
        port.Hierarchy = rc;
        if (port.Child is PcieSwitch below)
        {
            below.Upstream.Hierarchy = rc;
            foreach (var downstream in below.DownstreamPorts)
            {
                SetHierarchy(downstream, rc);
            }
        }
    }

    private void Register(DownstreamPort port)
    {
        port.Host = this;
        portsByName.Add(port.Name, port);
        allPorts.Add(port);
    }
}

/// <summary>Settings that change behaviour without changing the topology.</summary>
public sealed record ModelOptions
{
    /// <summary>Which behaviour profile decides hotplug messages and MSI masking.</summary>
    public BehaviourProfile Profile { get; init; } = BehaviourProfile.OpenVmm;
}

/// <summary>
/// The two behaviour profiles. They differ only in when a port raises its hotplug message and in whether MSI
/// per-vector mask bits are applied; every register value, mask, routing rule and reset is the same.
/// </summary>
public enum BehaviourProfile
{
    /// <summary>Faithful to OpenVMM: a message on every hotplug event while HPIE is set; MSI mask bits stored, not applied.</summary>
    OpenVmm,

    /// <summary>PCIe Base Spec §6.7.3.4: a message on a false-to-true edge of the enabled-event condition; mask bits applied.</summary>
    Spec,
}
