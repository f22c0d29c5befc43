using System.Runtime.CompilerServices;
using PcieSim.Functions;

namespace PcieSim.Topology;

/// <summary>Configuration routing (reference 1.3, 1.4 and 7; PCIe Base Spec r6.0 §7.3.3).</summary>
public sealed partial class PcieModel
{
    private long routingGeneration;

    /// <summary>Counts routing changes (bus numbers, ARI forwarding, links) anywhere in the model.</summary>
    public long RoutingGeneration => routingGeneration;

    /// <summary>Routing may have changed everywhere (a build, a reset, a restored state).</summary>
    internal void RoutingChanged()
    {
        routingGeneration++;
        foreach (var rc in rootComplexes)
        {
            rc.RoutingGeneration++;
        }
    }

    /// <summary>Routing changed at <paramref name="bridge"/>: only its root complex's tables and route texts go stale.</summary>
    void IFunctionHost.RoutingChanged(BridgeFunction bridge)
    {
        if (bridge.Hierarchy is { } rc)
        {
            routingGeneration++;
            rc.RoutingGeneration++;
        }
        else
        {
            RoutingChanged();
        }
    }

    /// <summary>The link below <paramref name="port"/> changed (hot-add, hot-remove): its root complex's routing follows, its table only for the port's buses.</summary>
    void IFunctionHost.LinkChanged(DownstreamPort port)
    {
        if (port.Hierarchy is { } rc)
        {
            routingGeneration++;
            long previous = rc.RoutingGeneration++;
            rc.Routing.LinkChanged(port, previous, rc.RoutingGeneration);
        }
        else
        {
            RoutingChanged();
        }
    }

    /// <summary>
    /// Finds the function a configuration request for (bus, devfn) on <paramref name="rc"/> reaches, or why none does:
    /// the start bus by devfn, any other bus through the root complex's <see cref="RoutingTable"/> (rebuilt first if
    /// routing changed since it was built), then the devfn rules of the bus it ends on.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal PcieFunction? Route(RootComplex rc, byte bus, byte devfn, out RouteFailure failure, out PcieFunction? stoppedAt)
    {
        if (bus == rc.StartBus)
        {
            return RouteStartBus(rc, devfn, out failure, out stoppedAt);
        }

        var table = rc.Routing;
        if (table.Generation != rc.RoutingGeneration)
        {
            table.Refresh(rc);
        }

        ref readonly var route = ref table.Routes[bus];
        if (route.Kind == BusRouteKind.PortSecondary)
        {
            if (devfn == 0)
            {
                failure = RouteFailure.None;
                stoppedAt = null;
                return route.Target;
            }

            return PortSecondaryNonZero(route, devfn, out failure, out stoppedAt);
        }

        if (route.Kind == BusRouteKind.SwitchInternal)
        {
            stoppedAt = route.Switch!.Upstream;
            var port = route.Switch.PortAt(devfn);
            failure = port is null ? RouteFailure.NoDownstreamPortAtDevfn : RouteFailure.None;
            return port;
        }

        failure = route.Failure;
        stoppedAt = route.StoppedAt;
        return null;
    }

    /// <summary>A Type 0 below a port to a devfn other than 0 (reference 1.4; ARI, PR #3967).</summary>
    private static PcieFunction? PortSecondaryNonZero(in BusRoute route, byte devfn, out RouteFailure failure, out PcieFunction? stoppedAt)
    {
        if ((devfn >> 3) != 0 && !route.Port!.AriForwardingEnabled)
        {
            stoppedAt = route.Port;
            failure = RouteFailure.DeviceNotZeroWithoutAri;
            return null;
        }

        stoppedAt = route.Target;
        failure = route.TargetIsSwitch ? RouteFailure.SwitchDevfnNotZero : RouteFailure.EndpointFunctionNotImplemented;
        return null;
    }

    /// <summary>The start bus: the root port or RCiEP at exactly the devfn, else the RCiEP function-0 fallback.</summary>
    private static PcieFunction? RouteStartBus(RootComplex rc, byte devfn, out RouteFailure failure, out PcieFunction? stoppedAt)
    {
        stoppedAt = null;
        var exact = rc.FunctionAt(devfn);
        if (exact is not null)
        {
            failure = RouteFailure.None;
            return exact;
        }

        // Function-0 fallback: an RCiEP at function 0 of the device gets the access and answers only function 0.
        if (rc.FunctionAt((byte)(devfn & 0xF8)) is AmdIommu rciep)
        {
            stoppedAt = rciep;
            failure = RouteFailure.RciepFunctionNotImplemented;
            return null;
        }

        failure = RouteFailure.NoFunctionAtDevfn;
        return null;
    }

    /// <summary>
    /// The same routing by walking the tree from the root complex (reference 1.3, 1.4 and 7): the definition the
    /// <see cref="RoutingTable"/> is checked against. Cost grows with the number of ports and the depth.
    /// </summary>
    internal static PcieFunction? RouteByWalk(RootComplex rc, byte bus, byte devfn, out RouteFailure failure, out PcieFunction? stoppedAt)
    {
        if (bus == rc.StartBus)
        {
            return RouteStartBus(rc, devfn, out failure, out stoppedAt);
        }

        stoppedAt = null;
        return ThroughClaimingPort(rc.RootPorts, bus, devfn, RouteFailure.BusNotClaimed, out failure, ref stoppedAt);
    }

    /// <summary>
    /// Forwarding through the one of <paramref name="ports"/> whose programmed range holds the bus (reference 1.4 and
    /// 7), else <paramref name="unclaimed"/> with <paramref name="stoppedAt"/> left where the request got to.
    /// </summary>
    private static PcieFunction? ThroughClaimingPort(IReadOnlyList<DownstreamPort> ports, byte bus, byte devfn, RouteFailure unclaimed, out RouteFailure failure, ref PcieFunction? stoppedAt)
    {
        for (int i = 0; i < ports.Count; i++)
        {
            var range = ports[i].AssignedBusRange;
            if (range.IsProgrammed && range.Contains(bus))
            {
                return ThroughPort(ports[i], range, bus, devfn, out failure, out stoppedAt);
            }
        }

        failure = unclaimed;
        return null;
    }

    /// <summary>Forwarding through a root or downstream port whose range holds the bus (reference 1.4).</summary>
    private static PcieFunction? ThroughPort(DownstreamPort port, BusRange range, byte bus, byte devfn, out RouteFailure failure, out PcieFunction? stoppedAt)
    {
        stoppedAt = port;
        var child = port.Child;
        if (child is null)
        {
            failure = RouteFailure.PortEmpty;
            return null;
        }

        if (bus == range.Secondary)
        {
            // Type 1 becomes Type 0 only for device 0, unless ARI Forwarding Enable is set (PR #3967).
            if ((devfn >> 3) != 0 && !port.AriForwardingEnabled)
            {
                failure = RouteFailure.DeviceNotZeroWithoutAri;
                return null;
            }

            return Type0(child, devfn, out failure, ref stoppedAt);
        }

        if (child is PcieSwitch sw)
        {
            return IntoSwitch(sw, bus, devfn, out failure, out stoppedAt);
        }

        failure = RouteFailure.EndpointIgnoresType1;
        return null;
    }

    private static PcieFunction? Type0(IPortChild child, byte devfn, out RouteFailure failure, ref PcieFunction? stoppedAt)
    {
        if (devfn == 0)
        {
            failure = RouteFailure.None;
            return child.UpstreamFunction;
        }

        stoppedAt = child.UpstreamFunction;
        failure = child is PcieSwitch ? RouteFailure.SwitchDevfnNotZero : RouteFailure.EndpointFunctionNotImplemented;
        return null;
    }

    /// <summary>A Type 1 request entering a switch through its upstream port (reference 7).</summary>
    private static PcieFunction? IntoSwitch(PcieSwitch sw, byte bus, byte devfn, out RouteFailure failure, out PcieFunction? stoppedAt)
    {
        stoppedAt = sw.Upstream;
        var range = sw.Upstream.AssignedBusRange;
        if (!range.IsProgrammed)
        {
            failure = RouteFailure.SwitchBusRangeUnprogrammed;
            return null;
        }

        if (!range.Contains(bus))
        {
            failure = RouteFailure.BusOutsideSwitchRange;
            return null;
        }

        if (bus == range.Secondary)
        {
            var port = sw.PortAt(devfn);
            failure = port is null ? RouteFailure.NoDownstreamPortAtDevfn : RouteFailure.None;
            return port;
        }

        return ThroughClaimingPort(sw.DownstreamPorts, bus, devfn, RouteFailure.NoDownstreamPortClaimsBus, out failure, ref stoppedAt);
    }
}
