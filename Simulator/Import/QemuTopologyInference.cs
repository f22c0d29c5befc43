using System.Globalization;
using PcieSim.Lint;
using PcieSim.Topology.Language;

namespace PcieSim.Import;

/// <summary>The topology lines and comments of an imported trace.</summary>
public sealed record ImportedHeader(IReadOnlyList<string> Flags, IReadOnlyList<string> Comments);

/// <summary>
/// The topology header of an imported QEMU log: what QEMU's devices correspond to in the topology language, inferred
/// from the functions the log shows (their IDs, PCI Express port types (PCIe Base Spec r6.0 §7.5.3.2), Slot
/// Capabilities and the bus numbers the guest programmed), and a comment for what has no counterpart (q35's
/// chipset functions, x86 local APIC messages). A topology given with <c>--topology</c> replaces the inferred one.
/// </summary>
internal sealed class QemuTopologyInference
{
    private const string RootComplex = "pcie.0";

    /// <summary>QEMU 7.2's device models by Vendor ID | Device ID &lt;&lt; 16, with their role.</summary>
    private static readonly Dictionary<uint, (string Model, Role Role)> KnownIds = new()
    {
        [0x000C_1B36] = ("pcie-root-port", Role.RootPort),
        [0x3420_8086] = ("ioh3420", Role.RootPort),
        [0x8232_104C] = ("x3130-upstream", Role.Upstream),
        [0x8233_104C] = ("xio3130-downstream", Role.Downstream),
        [0x29C0_8086] = ("mch", Role.Other),
        [0x2918_8086] = ("ICH9-LPC", Role.Other),
        [0x2922_8086] = ("ich9-ahci", Role.Other),
        [0x2930_8086] = ("ICH9 SMB", Role.Other),
    };

    private readonly Dictionary<FunctionAddress, RecordedFunction> functions;
    private readonly SortedDictionary<FunctionAddress, SortedSet<string>> names;
    private readonly ulong? ecamBase;
    private readonly int ecamBuses;
    private readonly bool its;
    private readonly QemuImportOptions options;
    private readonly List<string> flags = [];
    private readonly List<string> comments = [];
    private readonly HashSet<FunctionAddress> expressed = [];
    private readonly Dictionary<FunctionAddress, string> portNames = [];
    private readonly Dictionary<FunctionAddress, string> hotAdded = [];
    private readonly HashSet<string> declaredPorts = new(StringComparer.Ordinal);

    public QemuTopologyInference(
        Dictionary<FunctionAddress, RecordedFunction> functions,
        SortedDictionary<FunctionAddress, SortedSet<string>> names,
        ulong? ecamBase,
        int ecamBuses,
        bool its,
        QemuImportOptions options)
    {
        this.functions = functions;
        this.names = names;
        this.ecamBase = ecamBase;
        this.ecamBuses = ecamBuses;
        this.its = its;
        this.options = options;
    }

    private enum Role
    {
        RootPort,
        Upstream,
        Downstream,
        Endpoint,
        Other,
    }

    public ImportedHeader Build()
    {
        if (options.Topology is { } given)
        {
            comments.Add("the topology lines are from " + (options.TopologySource ?? "--topology") + ", as given");
            NameEventPorts();
            MarkGivenTopology(given);
            NotExpressible();
            return new ImportedHeader(given.NormalisedFlags, comments);
        }

        comments.Add("the topology lines are inferred from the functions the log shows (QEMU's device models by ID and PCIe port type, the bus numbers the guest programmed); unnamed ports are rp-DD.F, switches sw-BB, endpoints ep-BB-DD.F");
        ulong window = ecamBase ?? (its ? QemuLogImporter.VirtDefaultEcamBase : QemuLogImporter.Q35DefaultEcamBase);
        comments.Add(ecamBase is { } b
            ? Inv($"ECAM window: 0x{b:x}, {ecamBuses} buses, from the q35 MCH's PCIEXBAR as the guest programmed it")
            : its
                ? Inv($"ECAM window: an Arm guest (GICv3 ITS); QEMU virt's high ECAM 0x{window:x} assumed")
                : Inv($"ECAM window: the log never shows PCIEXBAR programmed; QEMU q35's 0x{window:x} assumed"));
        NameEventPorts();
        flags.Add(Inv($"--pcie-root-complex {RootComplex},segment=0,start_bus=0,end_bus={ecamBuses - 1},ecam_base=0x{window:x}"));
        foreach (var port in Present().Where(f => f.Address.Bus == 0 && RoleOf(f) == Role.RootPort))
        {
            string name = PortName(port, Inv($"rp-{port.Address.Devfn >> 3:x2}.{port.Address.Devfn & 7}"));
            declaredPorts.Add(name);
            flags.Add(Inv($"--pcie-root-port {RootComplex}:{name},addr=0x{port.Address.Devfn >> 3:x2}.{port.Address.Devfn & 7}{SlotOptions([port])}"));
            expressed.Add(port.Address);
            Below(port, name);
        }

        HotAddedEndpoints();
        if (its)
        {
            flags.Add(Inv($"--gic-msi its,translater=0x{QemuLogImporter.VirtItsTranslater:x}"));
            comments.Add(Inv($"interrupts: a GICv3 ITS; GITS_TRANSLATER 0x{QemuLogImporter.VirtItsTranslater:x} is QEMU virt's (the ITS trace event gives only the offset)"));
        }

        if (flags.Any(f => f.StartsWith("--pcie-endpoint ", StringComparison.Ordinal)))
        {
            comments.Add("endpoints: template=generic with the recorded IDs, class and subsystem; QEMU's BARs and capabilities are not expressed");
        }
        NotExpressible();
        try
        {
            TopologyParser.Parse(string.Join('\n', flags), "inferred topology");
        }
        catch (InputException error)
        {
            comments.Add("the inferred topology does not parse (" + error.Message + "); its flags follow as comments, give --topology");
            comments.AddRange(flags.Select(f => "inferred: " + f));
            return new ImportedHeader([], comments);
        }

        return new ImportedHeader(flags, comments);
    }

    /// <summary>The functions below a port: a switch (its upstream port at devfn 0) or an endpoint.</summary>
    private void Below(RecordedFunction port, string portName)
    {
        if (port.SecondaryBus is not byte secondary || secondary == 0)
        {
            return;
        }

        var children = Present().Where(f => f.Address.Bus == secondary && f.Address.Segment == port.Address.Segment).ToList();
        foreach (var child in children)
        {
            if (child.Address.Devfn != 0)
            {
                continue;
            }

            switch (RoleOf(child))
            {
                case Role.Upstream:
                    Switch(child, portName);
                    break;
                case Role.Endpoint when !hotAdded.ContainsKey(child.Address):
                    flags.Add(EndpointFlag(portName + ":", EndpointName(child), child));
                    expressed.Add(child.Address);
                    break;
                default:
                    break;
            }
        }
    }

    private void Switch(RecordedFunction upstream, string parentPort)
    {
        if (upstream.SecondaryBus is not byte internalBus || internalBus == 0)
        {
            return;
        }

        var downstream = Present().Where(f => f.Address.Bus == internalBus && RoleOf(f) == Role.Downstream).ToList();
        if (downstream.Count == 0 || downstream.Where((d, i) => d.Address.Devfn != i).Any())
        {
            comments.Add(Inv($"switch at {upstream.Address}: downstream ports at devfns {string.Join(" ", downstream.Select(d => d.Address.Devfn))}, not 0..N-1 as --pcie-switch places them: not expressed"));
            return;
        }

        string name = Inv($"sw-{upstream.Address.Bus:x2}");
        foreach (var d in downstream)
        {
            if (portNames.TryGetValue(d.Address, out string? given) && given.EndsWith(Inv($"-downstream-{d.Address.Devfn}"), StringComparison.Ordinal))
            {
                name = given[..given.LastIndexOf("-downstream-", StringComparison.Ordinal)];
            }
        }

        flags.Add(Inv($"--pcie-switch {parentPort}:{name},num_downstream_ports={downstream.Count}{SlotOptions(downstream)}"));
        expressed.Add(upstream.Address);
        foreach (var d in downstream)
        {
            expressed.Add(d.Address);
            string dspName = Inv($"{name}-downstream-{d.Address.Devfn}");
            if (portNames.TryGetValue(d.Address, out string? given) && !string.Equals(given, dspName, StringComparison.Ordinal))
            {
                comments.Add(Inv($"the event log names port {d.Address} '{given}', but a switch's downstream ports are named SWITCH-downstream-I: it is {dspName} here"));
            }

            portNames[d.Address] = dspName;
            declaredPorts.Add(dspName);
            Below(d, dspName);
        }
    }

    /// <summary>Hotplug options shared by a root port or by all of a switch's downstream ports, from recorded Slot Capabilities.</summary>
    private string SlotOptions(IReadOnlyList<RecordedFunction> ports)
    {
        var caps = ports.Select(p => p.Capability(RecordedFunction.PciExpressId) is int cap ? p.Get(cap + 0x14, 4) : null).ToList();
        if (caps.Any(c => c is null))
        {
            comments.Add("Slot Capabilities of " + string.Join(", ", ports.Where((p, i) => caps[i] is null).Select(p => p.Address.ToString())) + " not read: hotplug not inferred there");
            return string.Empty;
        }

        bool hotplug = caps.All(c => (c!.Value & 0x40) != 0);
        bool cc = hotplug && caps.All(c => (c!.Value & 0x4_0000) == 0);
        if (caps.Distinct().Count() > 1)
        {
            comments.Add("downstream ports " + string.Join(", ", ports.Select(p => p.Address.ToString())) + " differ in Slot Capabilities; one option set is expressed");
        }

        return (hotplug ? ",hotplug" : string.Empty) + (cc ? ",cc" : string.Empty);
    }

    private void HotAddedEndpoints()
    {
        if (options.Events is not { } events)
        {
            return;
        }

        var declared = new HashSet<string>(StringComparer.Ordinal);
        foreach (var e in events.Where(e => e.Action == QmpAction.HotAdd))
        {
            if (!declared.Add(e.Device))
            {
                continue;
            }

            var found = hotAdded.OrderBy(kv => kv.Key).FirstOrDefault(kv => string.Equals(kv.Value, e.Device, StringComparison.Ordinal));
            if (found.Value is not null && functions.TryGetValue(found.Key, out var function))
            {
                flags.Add(EndpointFlag(string.Empty, e.Device, function));
                expressed.Add(found.Key);
            }
            else
            {
                flags.Add("--pcie-endpoint " + e.Device + ",template=generic");
                comments.Add("hot-added " + e.Device + ": no function of it answered a read below its port; declared with the generic template's IDs");
            }

            if (!declaredPorts.Contains(e.Port))
            {
                comments.Add("the event log's port '" + e.Port + "' is not a port of the inferred topology (the log does not show that function as a port, or the event log gives no address for it); give --topology");
            }
        }
    }

    /// <summary>Names ports after the event log (where it gives their addresses) and notes which function each hot-add brought.</summary>
    private void NameEventPorts()
    {
        if (options.Events is not { } events)
        {
            return;
        }

        foreach (var e in events)
        {
            if (e.PortAddress is not { } at)
            {
                continue;
            }

            portNames.TryAdd(at, e.Port);
            if (e.Action == QmpAction.HotAdd && functions.TryGetValue(at, out var port) && port.SecondaryBus is byte secondary)
            {
                hotAdded.TryAdd(new FunctionAddress(at.Segment, secondary, 0), e.Device);
            }
        }
    }

    private void MarkGivenTopology(TopologySpec given)
    {
        foreach (var f in Present())
        {
            if (RoleOf(f) is Role.RootPort or Role.Upstream or Role.Downstream or Role.Endpoint)
            {
                expressed.Add(f.Address);
            }
        }

        if (given.GicMsi is null)
        {
            comments.Add("interrupts: x86 local APIC messages at 0xfee00000 (no --gic-msi counterpart); msi rows carry no device");
        }
    }

    private void NotExpressible()
    {
        var rest = Present().Where(f => !expressed.Contains(f.Address)).Select(f => f.Address + " " + Label(f)).ToList();
        if (options.Topology is null && !its)
        {
            comments.Add("interrupts: x86 local APIC messages at 0xfee00000 (no --gic-msi counterpart); msi rows carry no device");
        }

        if (rest.Count > 0)
        {
            comments.Add("not expressible in the topology language: " + string.Join(", ", rest) + " (q35's chipset functions have no counterpart; their accesses replay as absent functions)");
        }
    }

    private string PortName(RecordedFunction port, string fallback)
    {
        if (!portNames.TryGetValue(port.Address, out string? name))
        {
            portNames[port.Address] = name = fallback;
        }

        return name;
    }

    private string EndpointName(RecordedFunction f) =>
        hotAdded.TryGetValue(f.Address, out string? name) ? name : Inv($"ep-{f.Address.Bus:x2}-{f.Address.Devfn >> 3:x2}.{f.Address.Devfn & 7}");

    private static string EndpointFlag(string portPrefix, string name, RecordedFunction f)
    {
        string ids = f.Ids is uint id ? Inv($",vendor=0x{id & 0xFFFF:x4},device=0x{id >> 16:x4}") : string.Empty;
        string cls = f.ClassCode is uint c ? Inv($",class=0x{c:x6}") : string.Empty;
        string subsystem = f.HeaderLayout == 0 && f.Get(0x2C, 4) is uint s ? Inv($",subsystem=0x{s & 0xFFFF:x4}:0x{s >> 16:x4}") : string.Empty;
        return "--pcie-endpoint " + portPrefix + name + ",template=generic" + ids + cls + subsystem;
    }

    private string Label(RecordedFunction f)
    {
        string model = names.TryGetValue(f.Address, out var set) ? string.Join("/", set)
            : f.Ids is uint id && KnownIds.TryGetValue(id, out var known) ? known.Model : "function";
        return f.Ids is uint ids ? Inv($"{model} [{ids & 0xFFFF:x4}:{ids >> 16:x4}]") : model;
    }

    /// <summary>Functions that answered a read, in address order.</summary>
    private IEnumerable<RecordedFunction> Present() =>
        functions.Values.Where(f => f.Responded && f.Ids is uint id && (id & 0xFFFF) != 0xFFFF).OrderBy(f => f.Address.Segment).ThenBy(f => f.Address.Bus).ThenBy(f => f.Address.Devfn);

    private Role RoleOf(RecordedFunction f)
    {
        switch (f.PortType)
        {
            case 4:
                return Role.RootPort;
            case 5:
                return Role.Upstream;
            case 6:
                return Role.Downstream;
            case 0 or 1 when f.Address.Bus != 0:
                return Role.Endpoint;
            default:
                break;
        }

        if (f.Ids is uint id && KnownIds.TryGetValue(id, out var known))
        {
            return known.Role;
        }

        return f.Address.Bus != 0 && f.HeaderLayout == 0 ? Role.Endpoint : Role.Other;
    }

    private static string Inv(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
