using PcieSim.Files;
using PcieSim.Functions;
using PcieSim.Generation;
using PcieSim.Topology;
using PcieSim.Topology.Language;

namespace PcieSim.Benchmarks;

/// <summary>
/// The three topologies of issue 5 (<c>Benchmarks/topologies/*.topo</c>), and a model with every bridge's bus
/// numbers programmed the way a VMM's first enumeration leaves them (<see cref="BusNumbering"/>), so that every
/// function is reachable.
/// </summary>
internal static class BenchTopologies
{
    /// <summary>Topology names, as benchmark parameters spell them.</summary>
    public const string Rc1x4 = "1x4";

    public const string Rc4x16Switch3 = "4x16-sw3";

    public const string Rc1x256 = "1x256";

    /// <summary>The topology file of <paramref name="topology"/> (copied beside the benchmark assembly).</summary>
    public static string PathOf(string topology) => Path.Combine(AppContext.BaseDirectory, "topologies", topology + ".topo");

    public static TopologySpec Spec(string topology) => TopologyFile.Read(PathOf(topology));

    /// <summary>
    /// Writes <c>pciesim generate</c>'s trace of <paramref name="records"/> records on <paramref name="topology"/>
    /// (seed 1, as the README's commands) to <paramref name="path"/>.
    /// </summary>
    public static void WriteGeneratedTrace(string topology, int records, string path)
    {
        var spec = Spec(topology);
        using var file = AtomicFile.Begin(path);
        using (var trace = new TraceWriter(file.Writer, spec.NormalisedFlags, [], TraceGenerator.Columns, leaveOpen: true))
        {
            foreach (var record in TraceGenerator.Generate(spec, records, seed: 1))
            {
                trace.Write(record);
            }
        }

        file.Commit();
    }

    /// <summary>Builds the model and programs every bridge's bus numbers through configuration writes.</summary>
    public static PcieModel Enumerated(string topology)
    {
        var model = new PcieModel(Spec(topology));
        var numbering = new BusNumbering(model);

        // Parents before children: root ports, then switches in flag order (a switch's parent is declared first).
        foreach (var function in model.Functions)
        {
            if (function is BridgeFunction bridge && numbering.RangeOf(bridge) is { } range && numbering.BusOf(bridge) is { } bus)
            {
                var (rc, devfn) = Locate(model, bridge);
                var result = model.Write(rc, bus, devfn, 0x18, 4, bus | ((uint)range.Secondary << 8) | ((uint)range.Subordinate << 16));
                if (!result.Completed)
                {
                    throw new InvalidOperationException($"programming the bus numbers of {bridge.Name} did not complete: {RoutePath.Describe(result)}");
                }
            }
        }

        return model;
    }

    /// <summary>The ECAM address of <paramref name="register"/> of <paramref name="function"/> in the enumerated model.</summary>
    public static ulong EcamAddressOf(PcieModel model, PcieFunction function, int register)
    {
        var numbering = new BusNumbering(model);
        byte bus = numbering.BusOf(function) ?? throw new ArgumentException(function.Name + " has no bus", nameof(function));
        var (rc, devfn) = Locate(model, function);
        return rc.Window.AddressOf(bus, devfn, register);
    }

    /// <summary>A function by name.</summary>
    public static PcieFunction Function(PcieModel model, string name)
    {
        foreach (var function in model.Functions)
        {
            if (string.Equals(function.Name, name, StringComparison.Ordinal))
            {
                return function;
            }
        }

        throw new ArgumentException("no function " + name, nameof(name));
    }

    private static (RootComplex Rc, byte Devfn) Locate(PcieModel model, PcieFunction function)
    {
        byte devfn = function is DownstreamPort port ? port.Devfn : (byte)0;
        for (PcieFunction? f = function; f is not null; f = RoutePath.Upstream(f))
        {
            if (f is RootPort rp)
            {
                return (rp.RootComplex, devfn);
            }
        }

        return (model.RootComplexes[0], devfn);
    }

}
