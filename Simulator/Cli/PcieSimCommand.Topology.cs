using System.CommandLine;
using System.Globalization;
using PcieSim.AddressDecode;
using PcieSim.Files;
using PcieSim.Snapshot;
using PcieSim.Topology;

namespace PcieSim.Cli;

/// <summary><c>pciesim topology</c> and <c>pciesim decode</c>.</summary>
public static partial class PcieSimCommand
{
    private static Command TopologyCommand(TextWriter stdout, TextWriter stderr)
    {
        var file = new Argument<string>("FILE") { Description = "Topology file: OpenVMM flags (--pcie-root-complex, --pcie-root-port, --pcie-switch, --amd-iommu, --gic-msi, --pcie-endpoint), # comments." };
        var dot = new Option<bool>("--dot") { Description = "Write a Graphviz drawing instead of the tree." };
        var command = new Command("topology", "Print a topology as a tree of functions with segment:bus:device.function, IDs, kind, slot number and names.") { file, dot };
        command.SetAction(parse => Guard(stderr, () =>
        {
            var model = new PcieModel(TopologyFile.Read(parse.GetValue(file)!));
            stdout.Write(parse.GetValue(dot) ? TopologyText.Dot(model) : TopologyText.Tree(model));
            return Success;
        }));
        return command;
    }

    private static Command DecodeCommand(TextWriter stdout, TextWriter stderr)
    {
        var address = new Argument<string>("ADDRESS") { Description = "An ECAM address, 0x-prefixed hex." };
        var topology = new Option<string>("--topology") { Description = "Topology file.", Required = true };
        var command = new Command("decode", "Decode an ECAM address: root complex, BDF, register, and the path it routes along in the reset state.") { address, topology };
        command.SetAction(parse => Guard(stderr, () =>
        {
            var model = new PcieModel(TopologyFile.Read(parse.GetValue(topology)!));
            string text = parse.GetValue(address)!;
            if (!text.StartsWith("0x", StringComparison.OrdinalIgnoreCase) || text.Length is < 3 or > 18
                || !ulong.TryParse(text.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong value))
            {
                throw new InputException("command line", 0, 0, $"ADDRESS: found '{text}', expected 0x followed by 1 to 16 hex digits");
            }

            stdout.Write(Decode(model, value));
            return Success;
        }));
        return command;
    }

    /// <summary>The decode report for one ECAM address in the model's current (reset) state.</summary>
    public static string Decode(PcieModel model, ulong address)
    {
        ArgumentNullException.ThrowIfNull(model);
        var lines = new List<string> { Inv($"address       0x{address:x}") };
        var rc = model.FindRootComplex(address);
        if (rc is null || !rc.Window.TryDecode(address, out var decoded))
        {
            lines.Add("unroutable    no root complex's ECAM window holds this address");
            return string.Join('\n', lines) + "\n";
        }

        lines.Add(Inv($"root complex  {rc.Name} (segment {rc.Segment:x4}, buses {rc.StartBus:x2}-{rc.EndBus:x2}, ECAM 0x{rc.Window.Base:x})"));
        lines.Add(Inv($"bdf           {Bdf.Format(rc.Segment, (byte)decoded.Bus, (byte)decoded.Devfn)} (device {decoded.Device}, function {decoded.Function})"));
        var result = model.Read(rc, (byte)decoded.Bus, (byte)decoded.Devfn, decoded.Register & ~3, 4);
        string register = result.Function is { } function
            ? Inv($"0x{decoded.Register:x3} {RegisterName(function, decoded.Register)}")
            : Inv($"0x{decoded.Register:x3}");
        lines.Add("register      " + register);
        if (result.Function is { } reached)
        {
            lines.Add("function      " + TopologyText.Describe(reached));
            lines.Add("path          " + RoutePath.Describe(result));
        }
        else
        {
            lines.Add("unroutable    " + RoutePath.Reason(result));
            lines.Add("path          " + RoutePath.Describe(result));
        }

        return string.Join('\n', lines) + "\n";
    }

    private static string RegisterName(PcieSim.Functions.PcieFunction function, int offset)
    {
        string name = function.Layout.DescribeAccess(offset, 1);
        return function.Layout.CapabilityAt(offset) is { } capability ? capability.Label + " " + name : name;
    }

    private static string Inv(FormattableString value) => value.ToString(CultureInfo.InvariantCulture);
}
