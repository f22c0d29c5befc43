using PcieSim.Functions;

namespace PcieSim.Topology;

/// <summary>
/// The path of a configuration access as text: the root complex, each port crossed with the request type it
/// received (Type 1 while forwarding, Type 0 at the target), and why it stopped when nothing answered.
/// </summary>
public static class RoutePath
{
    /// <summary>E.g. <c>rc0 &gt; rp1 (T1) &gt; sw0 (T1) &gt; sw0-downstream-1 (T0)</c> or <c>rc0 &gt; rp0 (T1) x port empty</c>.</summary>
    public static string Describe(in ConfigAccessResult result)
    {
        var text = new CharBuffer(96);
        AppendTo(text, result);
        return text.ToString();
    }

    /// <summary>Appends what <see cref="Describe"/> returns, without building strings.</summary>
    internal static void AppendTo(CharBuffer text, in ConfigAccessResult result)
    {
        text.Append(result.RootComplex?.Name ?? "(no root complex)");
        var last = result.Function ?? result.StoppedAt;
        if (last is not null)
        {
            AppendChain(text, last, result.Function, StoppedOnType0(result.Failure) ? last : null);
        }

        if (result.Status != AccessStatus.Completed)
        {
            text.Append(" x ").Append(Reason(result));
        }
    }

    /// <summary>
    /// The text snapshot's form of the route, which is on every record line: a completed access whose route holds
    /// five functions or more (a nested switch and below) shows the root complex, the root port, <c>...</c>, the bridge
    /// above the target and the target (<c>rc0 &gt; rp0 (T1) &gt; ... &gt; sw1-downstream-1 (T1) &gt; nvme0 (T0)</c>):
    /// the hops in between follow from the topology (each is the bridge above the next), whatever the bus numbers.
    /// Other accesses show the whole route (<see cref="AppendTo"/>), since where a request stopped is what it tells.
    /// </summary>
    internal static void AppendShortTo(CharBuffer text, in ConfigAccessResult result)
    {
        if (result is { Status: AccessStatus.Completed, Function: { } target } && Upstream(target) is { } above)
        {
            // Walk up to the root port, counting the functions on the way.
            int functions = 2;
            var rootPort = above;
            while (Upstream(rootPort) is { } next)
            {
                rootPort = next;
                functions++;
            }

            if (functions >= 5)
            {
                text.Append(result.RootComplex?.Name ?? "(no root complex)").Append(" > ").Append(rootPort.Name).Append(" (T1) > ...");
                text.Append(" > ").Append(above.Name).Append(" (T1) > ").Append(target.Name).Append(" (T0)");
                return;
            }
        }

        AppendTo(text, result);
    }

    /// <summary>
    /// " &gt; name (T1)" for each bridge from the root complex down to <paramref name="function"/>, " (T0)" at the
    /// target and at a function that stopped a Type 0 request it received (<paramref name="stoppedOnType0"/>).
    /// </summary>
    private static void AppendChain(CharBuffer text, PcieFunction function, PcieFunction? target, PcieFunction? stoppedOnType0)
    {
        var above = Upstream(function);
        if (above is not null)
        {
            AppendChain(text, above, target, stoppedOnType0);
        }

        bool type0 = ReferenceEquals(function, target) || ReferenceEquals(function, stoppedOnType0);
        text.Append(" > ").Append(function.Name).Append(type0 ? " (T0)" : " (T1)");
    }

    /// <summary>Failures where the function that stopped the access received it as a Type 0 request (it was the target).</summary>
    private static bool StoppedOnType0(RouteFailure failure) => failure is
        RouteFailure.SwitchDevfnNotZero or RouteFailure.EndpointFunctionNotImplemented or RouteFailure.RciepFunctionNotImplemented;

    /// <summary>A short reason for an access that did not complete.</summary>
    public static string Reason(in ConfigAccessResult result) => result.Status switch
    {
        AccessStatus.UnalignedAccess => "unaligned access",
        AccessStatus.InvalidAccessSize => "invalid access size",
        AccessStatus.NoRootComplex => "no root complex",
        AccessStatus.Unroutable => result.Failure switch
        {
            RouteFailure.NoFunctionAtDevfn => "no function at this devfn",
            RouteFailure.RciepFunctionNotImplemented => "RCiEP implements function 0 only",
            RouteFailure.BusNotClaimed => "no root port's bus range holds the bus",
            RouteFailure.PortEmpty => "port empty",
            RouteFailure.DeviceNotZeroWithoutAri => "device != 0 on the secondary bus without ARI forwarding",
            RouteFailure.SwitchDevfnNotZero => "switch answers devfn 0 only",
            RouteFailure.SwitchBusRangeUnprogrammed => "switch upstream port bus range unprogrammed",
            RouteFailure.BusOutsideSwitchRange => "bus outside the switch's range",
            RouteFailure.NoDownstreamPortAtDevfn => "no downstream port at this devfn",
            RouteFailure.NoDownstreamPortClaimsBus => "no downstream port's bus range holds the bus",
            RouteFailure.EndpointFunctionNotImplemented => "endpoint implements function 0 only",
            RouteFailure.EndpointIgnoresType1 => "Type 1 request reached an endpoint",
            _ => "unroutable",
        },
        _ => "completed",
    };

    /// <summary>The bridge above <paramref name="function"/>, or null at the root complex.</summary>
    public static PcieFunction? Upstream(PcieFunction function) => function switch
    {
        UpstreamSwitchPort usp => usp.Switch.ParentPort,
        DownstreamSwitchPort dsp => dsp.Switch.Upstream,
        Endpoint ep => ep.Port,
        _ => null,
    };
}

/// <summary>
/// <see cref="RoutePath.Describe"/> for a run of accesses, each text made once: it depends only on the function
/// reached (or the one that stopped the access), the root complex, the status and the failure, and on the links above
/// that function, of which only an endpoint's port can change (hot-add, hot-remove). An entry remembers that port and
/// is remade when it differs. Bounded by the topology (functions × failures × root complexes), whatever the trace length.
/// </summary>
internal sealed class RouteDescriptions
{
    private readonly Dictionary<Key, (RouteText Text, DownstreamPort? Port)> texts = [];
    private readonly CharBuffer scratch = new(128);
    private Key lastKey;
    private DownstreamPort? lastPort;
    private RouteText? lastText;

    /// <param name="generation">The access's <see cref="RootComplex.RoutingGeneration"/>: its links and bus numbers as they are.</param>
    public RouteText Describe(in ConfigAccessResult result, long generation)
    {
        // The usual case, a completed access: the text kept on the function, when made for the same root complex
        // and routing generation (a link, which is all the text depends on, changes the generation).
        if (result.Status == AccessStatus.Completed && result.Function is { } function)
        {
            var last = function.LastRoute as FunctionRoute;
            if (last is not null && ReferenceEquals(last.RootComplex, result.RootComplex))
            {
                if (last.Generation == generation)
                {
                    return last.Text!;
                }

                // The generation moved (hot-plug storms move it often), but the text changes only with an endpoint's port.
                if (ReferenceEquals(last.Port, (function as Endpoint)?.Port))
                {
                    last.Generation = generation;
                    return last.Text!;
                }
            }

            // One holder per function, refilled when its text may have changed.
            last ??= (FunctionRoute)(function.LastRoute = new FunctionRoute());
            last.Text = DescribeByKey(result);
            last.RootComplex = result.RootComplex;
            last.Port = (function as Endpoint)?.Port;
            last.Generation = generation;
            return last.Text;
        }

        return DescribeByKey(result);
    }

    private RouteText DescribeByKey(in ConfigAccessResult result)
    {
        var bottom = result.Function ?? result.StoppedAt;
        var port = (bottom as Endpoint)?.Port;
        var key = new Key(bottom, result.RootComplex, result.Status, result.Failure);

        // Guests touch one function many times in a row (a scan, BAR sizing, a capability walk): the last text first.
        if (key == lastKey && ReferenceEquals(lastPort, port) && lastText is not null)
        {
            return lastText;
        }

        if (!texts.TryGetValue(key, out var known) || !ReferenceEquals(known.Port, port))
        {
            scratch.Clear();
            RoutePath.AppendTo(scratch, result);
            string full = scratch.ToString();
            scratch.Clear();
            RoutePath.AppendShortTo(scratch, result);
            known = (new RouteText(full, scratch.AsSpan().SequenceEqual(full) ? full : scratch.ToString()), port);
            texts[key] = known;
        }

        (lastKey, lastPort, lastText) = (key, port, known.Text);
        return known.Text;
    }

    private readonly record struct Key(PcieFunction? Bottom, RootComplex? RootComplex, AccessStatus Status, RouteFailure Failure);

    /// <summary>What <see cref="PcieFunction.LastRoute"/> holds.</summary>
    private sealed class FunctionRoute
    {
        public RouteText? Text;
        public RootComplex? RootComplex;
        public DownstreamPort? Port;
        public long Generation = -1;
    }
}

/// <summary>A route as text: whole (<see cref="RoutePath.AppendTo"/>) and in the text snapshot's form (<see cref="RoutePath.AppendShortTo"/>).</summary>
internal sealed record RouteText(string Full, string Short);
