using PcieSim.Functions;

namespace PcieSim.Topology;

/// <summary>What a Type 1 request for one bus meets at the end of its walk, before its devfn matters.</summary>
internal enum BusRouteKind : byte
{
    /// <summary>The walk stops before the bus is reached (<see cref="BusRoute.Failure"/> at <see cref="BusRoute.StoppedAt"/>).</summary>
    Failed,

    /// <summary>The bus is the secondary bus of a root or downstream port with something linked below: Type 0 there.</summary>
    PortSecondary,

    /// <summary>The bus is a switch's internal bus: its downstream ports answer by devfn.</summary>
    SwitchInternal,
}

/// <summary>One bus's entry of a <see cref="RoutingTable"/>.</summary>
/// <param name="StoppedAt">Failed: the last bridge that saw the request (null: the root complex).</param>
/// <param name="Port">PortSecondary: the port converting the request to Type 0.</param>
/// <param name="Target">PortSecondary: the function at devfn 0 below the port (the endpoint or the switch's upstream port).</param>
/// <param name="Switch">SwitchInternal: the switch.</param>
/// <param name="TargetIsSwitch">PortSecondary: the port's child is a switch (which answers devfn 0 only).</param>
internal readonly record struct BusRoute(
    BusRouteKind Kind,
    RouteFailure Failure,
    bool TargetIsSwitch,
    PcieFunction? StoppedAt,
    DownstreamPort? Port,
    PcieFunction? Target,
    PcieSwitch? Switch)
{
    public static BusRoute Fail(RouteFailure failure, PcieFunction? stoppedAt) => new(BusRouteKind.Failed, failure, false, stoppedAt, null, null, null);
}

/// <summary>
/// A root complex's configuration routing as a table: for every bus other than the start bus, where a Type 1
/// request for it ends (reference 1.3, 1.4, 7; PCIe Base Spec r6.0 §7.3.3, PCI-to-PCI Bridge r1.2 §3.2.5.3). Built
/// from the live bus numbers and links, and refreshed when its root complex's <see cref="RootComplex.RoutingGeneration"/>
/// moves on: wholly after bus-number and ARI writes or a reset, only the port's buses after a hot-add or hot-remove.
/// An access is then one table load and a devfn check, whatever the depth of the tree and the number of ports.
/// </summary>
/// <remarks>
/// It gives exactly what the walk gives (<see cref="PcieModel.RouteByWalk"/>): a port claims the buses of its
/// programmed secondary..subordinate range, the first port in devfn order winning where ranges overlap (ports are
/// filled last to first, so the first one's entries are written last); inside a claimed range the secondary bus is
/// the port's own, and below a switch the upstream port's range, its internal bus and its downstream ports decide.
/// </remarks>
internal sealed class RoutingTable
{
    private readonly BusRoute[] routes = new BusRoute[256];

    /// <summary>The routing generation the table was built at; −1 before the first build.</summary>
    public long Generation { get; private set; } = -1;

    public BusRoute this[byte bus] => routes[bus];

    /// <summary>The entries, for the hot path (indexed by bus, 256 of them).</summary>
    public BusRoute[] Routes => routes;

    // Links changed since the last refresh and nothing else did: only the buses patchLo..patchHi (the ranges of the
    // ports whose links changed) can differ from the live tree, so bringing the table up to patchGeneration refills
    // those alone. A hot-plug storm then costs the port's few buses per event, not the whole table.
    private long patchGeneration = -1;
    private int patchLo;
    private int patchHi;

    /// <summary>
    /// Brings the table up to <paramref name="rc"/>'s routing generation from the live bus numbers and links of its
    /// tree: the patched buses if only links changed since the last refresh, else every bus.
    /// </summary>
    public void Refresh(RootComplex rc)
    {
        if (patchGeneration == rc.RoutingGeneration)
        {
            Fill(rc, patchLo, patchHi);
        }
        else
        {
            Fill(rc, 0, 255);
        }

        Generation = rc.RoutingGeneration;
    }

    /// <summary>
    /// The link below <paramref name="port"/> changed, which moved its root complex's routing generation from
    /// <paramref name="previous"/> to <paramref name="generation"/>. A link is only read for the buses of the port's own
    /// range, so if the table was exact at <paramref name="previous"/> (or only awaited other links' patches) those
    /// buses are all that is stale; any other change in between leaves the whole table stale.
    /// </summary>
    public void LinkChanged(DownstreamPort port, long previous, long generation)
    {
        if (Generation == previous)
        {
            (patchLo, patchHi) = (256, -1);
        }
        else if (patchGeneration != previous)
        {
            return;
        }

        var range = port.AssignedBusRange;
        if (range.IsProgrammed)
        {
            patchLo = Math.Min(patchLo, range.Secondary);
            patchHi = Math.Max(patchHi, range.Subordinate);
        }

        patchGeneration = generation;
    }

    /// <summary>
    /// Rebuilds the entries of buses <paramref name="lo"/>..<paramref name="hi"/>. Every fill below is clamped to
    /// lo..hi, so each entry comes out as a build of the whole table makes it.
    /// </summary>
    private void Fill(RootComplex rc, int lo, int hi)
    {
        if (lo > hi)
        {
            return;
        }

        Fill(lo, hi, BusRoute.Fail(RouteFailure.BusNotClaimed, null));
        var ports = rc.RootPorts;
        for (int i = ports.Count - 1; i >= 0; i--)
        {
            FillPort(ports[i], lo, hi);
        }
    }

    /// <summary>The buses of <paramref name="port"/>'s range within lo..hi (those the walk sends through it).</summary>
    private void FillPort(DownstreamPort port, int lo, int hi)
    {
        var range = port.AssignedBusRange;
        if (!range.IsProgrammed)
        {
            return;
        }

        lo = Math.Max(lo, range.Secondary);
        hi = Math.Min(hi, range.Subordinate);
        if (lo > hi)
        {
            return;
        }

        switch (port.Child)
        {
            case null:
                Fill(lo, hi, BusRoute.Fail(RouteFailure.PortEmpty, port));
                return;
            case PcieSwitch sw:
                FillSwitch(sw, lo, hi);
                break;
            default:
                Fill(lo, hi, BusRoute.Fail(RouteFailure.EndpointIgnoresType1, port));
                break;
        }

        if (range.Secondary >= lo && range.Secondary <= hi)
        {
            var child = port.Child;
            routes[range.Secondary] = new BusRoute(BusRouteKind.PortSecondary, RouteFailure.None, child is PcieSwitch, null, port, child.UpstreamFunction, null);
        }
    }

    /// <summary>Buses lo..hi entering <paramref name="sw"/> through its upstream port (reference 7).</summary>
    private void FillSwitch(PcieSwitch sw, int lo, int hi)
    {
        var upstream = sw.Upstream;
        var range = upstream.AssignedBusRange;
        if (!range.IsProgrammed)
        {
            Fill(lo, hi, BusRoute.Fail(RouteFailure.SwitchBusRangeUnprogrammed, upstream));
            return;
        }

        Fill(lo, hi, BusRoute.Fail(RouteFailure.BusOutsideSwitchRange, upstream));
        int inLo = Math.Max(lo, range.Secondary);
        int inHi = Math.Min(hi, range.Subordinate);
        if (inLo > inHi)
        {
            return;
        }

        Fill(inLo, inHi, BusRoute.Fail(RouteFailure.NoDownstreamPortClaimsBus, upstream));
        var ports = sw.DownstreamPorts;
        for (int i = ports.Count - 1; i >= 0; i--)
        {
            FillPort(ports[i], inLo, inHi);
        }

        if (range.Secondary >= inLo && range.Secondary <= inHi)
        {
            routes[range.Secondary] = new BusRoute(BusRouteKind.SwitchInternal, RouteFailure.None, false, upstream, null, null, sw);
        }
    }

    private void Fill(int lo, int hi, BusRoute route) => routes.AsSpan(lo, hi - lo + 1).Fill(route);
}
