using PcieSim.Functions;

namespace PcieSim.Topology;

/// <summary>
/// A switch (OpenVMM <c>pcie/src/switch.rs</c>): one upstream port (Type 0 devfn 0 below its parent port) and
/// downstream ports on the upstream port's secondary (internal) bus, port I at devfn I.
/// </summary>
public sealed class PcieSwitch : IPortChild
{
    private readonly DownstreamSwitchPort?[] internalBus = new DownstreamSwitchPort?[256];

    internal PcieSwitch(string name, UpstreamSwitchPort upstream, DownstreamSwitchPort[] ports)
    {
        Name = name;
        Upstream = upstream;
        upstream.Switch = this;
        Array.Sort(ports, (a, b) => a.Devfn.CompareTo(b.Devfn));
        DownstreamPorts = ports;
        foreach (var port in ports)
        {
            port.Switch = this;
            internalBus[port.Devfn] = port;
        }
    }

    public string Name { get; }

    public UpstreamSwitchPort Upstream { get; }

    /// <summary>Downstream ports in devfn order.</summary>
    public IReadOnlyList<DownstreamSwitchPort> DownstreamPorts { get; }

    /// <summary>The port this switch is linked below.</summary>
    public DownstreamPort ParentPort { get; internal set; } = null!;

    PcieFunction IPortChild.UpstreamFunction => Upstream;

    /// <summary>The downstream port at exactly <paramref name="devfn"/> on the internal bus.</summary>
    public DownstreamSwitchPort? PortAt(byte devfn) => internalBus[devfn];
}
