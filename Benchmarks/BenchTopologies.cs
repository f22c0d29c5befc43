using System.Globalization;
using System.Text;
using PcieSim.Functions;
using PcieSim.Topology;
using PcieSim.Topology.Language;

namespace PcieSim.Benchmarks;

/// <summary>
/// The three topologies of issue 5, and a model with every bridge's bus numbers programmed the way a VMM's first
/// enumeration leaves them (<see cref="BusNumbering"/>), so that every function is reachable.
/// </summary>
internal static class BenchTopologies
{
    /// <summary>Topology names, as benchmark parameters spell them.</summary>
    public const string Rc1x4 = "1x4";

    public const string Rc4x16Switch3 = "4x16-sw3";

    public const string Rc1x256 = "1x256";

    /// <summary>
    /// One root complex, four hot-plug root ports (with Command Completed), a generic endpoint in each, a GICv3 ITS
    /// and one endpoint waiting unplugged for a hot-add.
    /// </summary>
    public static string OneByFour()
    {
        var flags = new StringBuilder("--pcie-root-complex rc0 --gic-msi its");
        for (int i = 0; i < 4; i++)
        {
            Append(flags, $" --pcie-root-port rc0:rp{i},hotplug,cc");
        }

        for (int i = 0; i < 4; i++)
        {
            Append(flags, $" --pcie-endpoint rp{i}:ep{i},template=generic,bar0=16K,msix=4");
        }

        flags.Append(" --pcie-endpoint spare0,template=nvme");
        return flags.ToString();
    }

    /// <summary>
    /// Four root complexes of 64 buses each on segment 0 (contiguous ECAM windows), sixteen hot-plug root ports each
    /// (64 ports); below the last root port of each, three switches chained through their last downstream port
    /// (three levels deep) with an endpoint at the bottom; an endpoint below every other root port.
    /// </summary>
    public static string FourBySixteenWithSwitches()
    {
        var flags = new StringBuilder("--gic-msi its");
        for (int r = 0; r < 4; r++)
        {
            Append(flags, $" --pcie-root-complex rc{r},start_bus={r * 64},end_bus={(r * 64) + 63}");
            for (int p = 0; p < 16; p++)
            {
                Append(flags, $" --pcie-root-port rc{r}:rc{r}-rp{p},hotplug");
            }

            Append(flags, $" --pcie-switch rc{r}-rp15:rc{r}-swa,num_downstream_ports=4,hotplug");
            Append(flags, $" --pcie-switch rc{r}-swa-downstream-3:rc{r}-swb,num_downstream_ports=4,hotplug");
            Append(flags, $" --pcie-switch rc{r}-swb-downstream-3:rc{r}-swc,num_downstream_ports=4,hotplug");
            Append(flags, $" --pcie-endpoint rc{r}-swc-downstream-3:rc{r}-deep,template=nvme");
            for (int p = 0; p < 15; p++)
            {
                Append(flags, $" --pcie-endpoint rc{r}-rp{p}:rc{r}-ep{p},template=generic,bar0=16K,msix=4");
            }
        }

        return flags.ToString();
    }

    /// <summary>
    /// 256 root ports on one root complex (every devfn of its start bus). Buses 1-255 go to the first 255 ports;
    /// the last port gets none. An endpoint below the first and below the last port that has a bus.
    /// </summary>
    public static string OneBy256()
    {
        var flags = new StringBuilder("--pcie-root-complex rc0 --gic-msi its");
        for (int p = 0; p < 256; p++)
        {
            Append(flags, $" --pcie-root-port rc0:rp{p}");
        }

        flags.Append(" --pcie-endpoint rp0:ep0,template=nvme --pcie-endpoint rp254:ep254,template=nvme");
        return flags.ToString();
    }

    public static string Flags(string topology) => topology switch
    {
        Rc1x4 => OneByFour(),
        Rc4x16Switch3 => FourBySixteenWithSwitches(),
        Rc1x256 => OneBy256(),
        _ => throw new ArgumentException("unknown benchmark topology " + topology, nameof(topology)),
    };

    /// <summary>Builds the model and programs every bridge's bus numbers through configuration writes.</summary>
    public static PcieModel Enumerated(string topology)
    {
        var model = new PcieModel(TopologyParser.Parse(Flags(topology), topology + ".topo"));
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

    private static void Append(StringBuilder builder, FormattableString text) => builder.Append(text.ToString(CultureInfo.InvariantCulture));
}
