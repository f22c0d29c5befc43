using System.Globalization;
using System.Text;
using PcieSim.AddressDecode;
using PcieSim.Functions;
using PcieSim.Topology;

namespace PcieSim.Snapshot;

/// <summary>
/// Renders a model as a tree in the spirit of <c>lspci -tv</c>: every function with its
/// segment:bus:device.function, IDs, kind, slot number and name; and as a Graphviz drawing. Pure text, invariant
/// culture, LF line endings.
/// </summary>
public static class TopologyText
{
    /// <summary>The tree with the bus numbers a VMM assigns on first enumeration.</summary>
    public static string Tree(PcieModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var numbering = new BusNumbering(model);
        var text = new StringBuilder();
        text.Append("# bus numbers as the VMM assigns them on first enumeration\n");
        foreach (var rc in model.RootComplexes)
        {
            text.Append(Inv($"{rc.Name}: segment {rc.Segment:x4}, buses {rc.StartBus:x2}-{rc.EndBus:x2}, ECAM 0x{rc.Window.Base:x} size 0x{rc.Window.Size:x}\n"));
            var children = new List<PcieFunction>();
            if (rc.Iommu is not null)
            {
                children.Add(rc.Iommu);
            }

            children.AddRange(rc.RootPorts);
            WriteChildren(text, numbering, rc.Segment, children, "");
        }

        var unplugged = model.Endpoints.Where(e => e.Port is null).ToList();
        if (unplugged.Count > 0)
        {
            text.Append("unplugged endpoints (waiting for a hot-add):\n");
            foreach (var endpoint in unplugged)
            {
                text.Append("  ").Append(Describe(endpoint)).Append('\n');
            }
        }

        if (model.Spec.GicMsi is { } gic)
        {
            text.Append(gic.Mode == Topology.Language.GicMsiMode.Its
                ? Inv($"platform MSI: GICv3 ITS, GITS_TRANSLATER 0x{gic.TranslaterAddress:x}, DeviceID = (segment << 16) | requester ID\n")
                : Inv($"platform MSI: GICv2m frame 0x{gic.FrameBase:x}, SETSPI_NS 0x{gic.FrameBase + 0x40:x}, SPIs {gic.SpiBase}..{gic.SpiBase + gic.SpiCount - 1}\n"));
        }

        if (model.Spec.IgnoredOptions.Count > 0)
        {
            text.Append("ignored options (accepted, no effect on config space):\n");
            foreach (var ignored in model.Spec.IgnoredOptions)
            {
                text.Append("  ").Append(ignored.Flag).Append(": ").Append(ignored.Option).Append('\n');
            }
        }

        return text.ToString();
    }

    /// <summary>A Graphviz digraph of the topology.</summary>
    public static string Dot(PcieModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var numbering = new BusNumbering(model);
        var text = new StringBuilder("digraph pcie {\n  rankdir=TB;\n  node [shape=box, fontname=\"monospace\"];\n");
        foreach (var rc in model.RootComplexes)
        {
            text.Append(Inv($"  \"{rc.Name}\" [shape=box3d, label=\"{rc.Name}\\nsegment {rc.Segment:x4} buses {rc.StartBus:x2}-{rc.EndBus:x2}\"];\n"));
        }

        foreach (var function in model.Functions)
        {
            string address = numbering.BusOf(function) is byte bus ? Bdf.Format(PcieModel.SegmentOf(function), bus, DevfnOf(function)) : "unplugged";
            text.Append(Inv($"  \"{function.Name}\" [label=\"{function.Name}\\n{address} {Ids(function)}\\n{KindName(function)}{Slot(function)}\"];\n"));
            string? parent = function switch
            {
                RootPort rp => rp.RootComplex.Name,
                AmdIommu iommu => iommu.RootComplex.Name,
                _ => RoutePath.Upstream(function)?.Name,
            };
            if (parent is not null)
            {
                text.Append(Inv($"  \"{parent}\" -> \"{function.Name}\";\n"));
            }
        }

        text.Append("}\n");
        return text.ToString();
    }

    /// <summary>One line describing a function: IDs, class, kind, name, slot.</summary>
    public static string Describe(PcieFunction function)
    {
        ArgumentNullException.ThrowIfNull(function);
        return Inv($"[{Ids(function)}] {KindName(function)} {function.Name}{Slot(function)}");
    }

    /// <summary>Human name of a function's kind.</summary>
    public static string KindName(PcieFunction function) => function switch
    {
        RootPort => "root port",
        UpstreamSwitchPort => "switch upstream port",
        DownstreamSwitchPort => "switch downstream port",
        AmdIommu => "RCiEP (AMD IOMMU)",
        Endpoint ep => Inv($"endpoint ({(ep.Spec.Template == Topology.Language.EndpointTemplate.Nvme ? "nvme" : "generic")}, class {ep.Spec.ClassCode:x6})"),
        _ => function.Kind.ToString(),
    };

    private static void WriteChildren(StringBuilder text, BusNumbering numbering, ushort segment, IReadOnlyList<PcieFunction> children, string indent)
    {
        for (int i = 0; i < children.Count; i++)
        {
            bool last = i == children.Count - 1;
            var function = children[i];
            string address = numbering.BusOf(function) is byte bus ? Bdf.Format(segment, bus, DevfnOf(function)) : "(no bus left)";
            text.Append(indent).Append(last ? "\\-" : "+-").Append(address).Append(' ').Append(Describe(function));
            if (function is BridgeFunction bridge && numbering.RangeOf(bridge) is { } range)
            {
                text.Append(Inv($" [bus {range.Secondary:x2}-{range.Subordinate:x2}]"));
            }

            if (function is DownstreamPort { Child: null })
            {
                text.Append(" (empty)");
            }

            text.Append('\n');
            var below = Below(function);
            if (below.Count > 0)
            {
                WriteChildren(text, numbering, segment, below, indent + (last ? "  " : "| "));
            }
        }
    }

    private static List<PcieFunction> Below(PcieFunction function) => function switch
    {
        DownstreamPort { Child: PcieSwitch sw } => [sw.Upstream],
        DownstreamPort { Child: Endpoint ep } => [ep],
        UpstreamSwitchPort usp => [.. usp.Switch.DownstreamPorts],
        _ => [],
    };

    private static byte DevfnOf(PcieFunction function) => function switch
    {
        DownstreamPort port => port.Devfn,
        _ => 0,
    };

    private static string Ids(PcieFunction function)
    {
        uint ids = function.ReadDword(0);
        return Inv($"{ids & 0xFFFF:x4}:{ids >> 16:x4}");
    }

    private static string Slot(PcieFunction function) => function is DownstreamPort { HotplugCapable: true } port
        ? Inv($", slot {port.SlotNumber}, hotplug{(port.Pcie.CommandCompleted ? ", cc" : "")}")
        : "";

    private static string Inv(FormattableString value) => value.ToString(CultureInfo.InvariantCulture);
}
