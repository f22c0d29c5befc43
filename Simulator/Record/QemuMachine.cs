using System.Globalization;
using PcieSim.Topology.Language;

namespace PcieSim.Record;

/// <summary>A hot-add (and the hot-remove after it) the recorder performs: an unplugged endpoint into a port.</summary>
public sealed record HotplugAction(string Port, string Endpoint);

/// <summary>
/// A topology in the topology language as a QEMU 7.2 q35 machine: one <c>pcie-root-port</c> per root port at its
/// devfn, <c>x3130-upstream</c> and <c>xio3130-downstream</c> for a switch (downstream port I at devfn I),
/// <c>nvme</c> for NVMe endpoints; QEMU IDs are the topology's names. What QEMU cannot build is an
/// <see cref="InputException"/>; what it builds differently is listed in <see cref="Differences"/>.
/// </summary>
public sealed class QemuMachine
{
    /// <summary>The q35 MMCONFIG window QEMU's firmware programs into PCIEXBAR: 256 buses at 0xB0000000.</summary>
    public const ulong EcamBase = 0xB000_0000;

    private readonly List<string> devices = [];
    private readonly List<string> differences = [];

    private QemuMachine(TopologySpec spec, IReadOnlyList<string> headerFlags)
    {
        Spec = spec;
        HeaderFlags = headerFlags;
    }

    public TopologySpec Spec { get; }

    /// <summary>The <c>-device</c> arguments, each the value after <c>-device</c>.</summary>
    public IReadOnlyList<string> Devices => devices;

    /// <summary>How the machine QEMU builds differs from the topology (for the trace's header).</summary>
    public IReadOnlyList<string> Differences => differences;

    /// <summary>The topology flags for the trace's header: the given topology with q35's ECAM window.</summary>
    public IReadOnlyList<string> HeaderFlags { get; }

    /// <summary>Builds the machine for <paramref name="spec"/>, checking each hot-add names a port and an unplugged endpoint.</summary>
    /// <param name="source">The topology file's name, for messages.</param>
    public static QemuMachine Build(TopologySpec spec, IReadOnlyList<HotplugAction> hotplug, string source)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(hotplug);
        if (spec.RootComplexes.Count != 1 || spec.RootComplexes[0] is not { Segment: 0, StartBus: 0 } rc)
        {
            throw Bad(source, "found a topology without exactly one root complex on segment 0 from bus 0, expected one (q35 has one PCIe root complex, pcie.0)");
        }

        if (rc.AmdIommu)
        {
            throw Bad(source, "found --amd-iommu, expected none: the recorder builds no IOMMU");
        }

        if (spec.GicMsi is not null)
        {
            throw Bad(source, "found --gic-msi, expected none: the recorder boots x86 q35, whose MSIs go to the local APIC");
        }

        // The header: q35's ECAM window replaces whatever the root complex line said.
        var flags = spec.NormalisedFlags.Select(f => f.StartsWith("--pcie-root-complex ", StringComparison.Ordinal)
            ? Inv($"--pcie-root-complex {rc.Name},segment=0,start_bus=0,end_bus=255,ecam_base=0x{EcamBase:x}")
            : f).ToList();
        var machine = new QemuMachine(spec, flags);
        machine.AddPorts(rc, source);
        machine.AddSwitches(source);
        machine.AddEndpoints(hotplug, source);
        return machine;
    }

    /// <summary>QMP <c>device_add</c> arguments for a hot-added endpoint.</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> DeviceAdd(HotplugAction action)
    {
        ArgumentNullException.ThrowIfNull(action);
        return [new("driver", "nvme"), new("id", action.Endpoint), new("bus", action.Port), new("serial", action.Endpoint)];
    }

    private void AddPorts(RootComplexSpec rc, string source)
    {
        foreach (var port in rc.Ports)
        {
            int device = port.Devfn >> 3;
            if (device == 0 || device == 0x1F)
            {
                throw Bad(source, Inv($"found root port '{port.Name}' at {port.Devfn >> 3:x2}.{port.Devfn & 7}, expected a device other than 00 (q35's host bridge) and 1f (its LPC, SATA and SMBus functions): give it addr="));
            }

            bool multi = port.MultiFunction && (port.Devfn & 7) == 0;
            devices.Add(Inv($"pcie-root-port,id={port.Name},bus=pcie.0,addr=0x{device:x2}.{port.Devfn & 7}{(multi ? ",multifunction=on" : "")},chassis=1,slot={port.SlotNumber},hotplug={OnOff(port.Options.Hotplug)}"));
            Options(port.Name, port.Options);
        }
    }

    private void AddSwitches(string source)
    {
        for (int s = 0; s < Spec.Switches.Count; s++)
        {
            var sw = Spec.Switches[s];
            devices.Add(Inv($"x3130-upstream,id={sw.Name},bus={sw.ParentPort}"));
            foreach (var port in sw.DownstreamPorts)
            {
                if (s + 2 > 255)
                {
                    throw Bad(source, "found more switches than QEMU's chassis numbers allow (253)");
                }

                bool multi = port.MultiFunction && (port.Devfn & 7) == 0;
                devices.Add(Inv($"xio3130-downstream,id={port.Name},bus={sw.Name},addr=0x{port.Devfn >> 3:x2}.{port.Devfn & 7}{(multi ? ",multifunction=on" : "")},chassis={s + 2},slot={port.SlotNumber},hotplug={OnOff(sw.Options.Hotplug)}"));
            }

            Options(sw.Name + "'s downstream ports", sw.Options);
        }
    }

    private void AddEndpoints(IReadOnlyList<HotplugAction> hotplug, string source)
    {
        var ports = Spec.RootComplexes.SelectMany(r => r.Ports).Select(p => (p.Name, p.Options.Hotplug))
            .Concat(Spec.Switches.SelectMany(sw => sw.DownstreamPorts.Select(p => (p.Name, sw.Options.Hotplug))))
            .ToDictionary(p => p.Name, p => p.Hotplug, StringComparer.Ordinal);
        foreach (var endpoint in Spec.Endpoints)
        {
            if (endpoint.Template != EndpointTemplate.Nvme)
            {
                throw Bad(source, $"found endpoint '{endpoint.Name}' with template=generic, expected template=nvme (QEMU's nvme device; QEMU has no generic endpoint)");
            }

            if (endpoint.Port is not null)
            {
                devices.Add($"nvme,id={endpoint.Name},bus={endpoint.Port},serial={endpoint.Name}");
            }
        }

        if (Spec.Endpoints.Count > 0)
        {
            differences.Add("template=nvme endpoints are QEMU's nvme device (1b36:0010), not OpenVMM's NVMe (1414:c03e)");
        }

        foreach (var action in hotplug)
        {
            if (!ports.TryGetValue(action.Port, out bool hotplugCapable))
            {
                throw Bad(source, $"found --hotplug {action.Port}:{action.Endpoint}, but the topology has no port '{action.Port}'; expected a root or downstream port name");
            }

            if (!hotplugCapable)
            {
                throw Bad(source, $"found --hotplug {action.Port}:{action.Endpoint}, but port '{action.Port}' has no 'hotplug' option; expected a hotplug-capable port");
            }

            if (!Spec.Endpoints.Any(e => string.Equals(e.Name, action.Endpoint, StringComparison.Ordinal) && e.Port is null))
            {
                throw Bad(source, $"found --hotplug {action.Port}:{action.Endpoint}, expected an endpoint the topology declares without a port (one that waits for a hot-add)");
            }
        }
    }

    private void Options(string what, PortOptions options)
    {
        if (options.Hotplug && !options.CommandCompleted)
        {
            differences.Add(what + ": QEMU's hotplug slots always support Command Completed (NCCS=0), as the 'cc' option would give");
        }

        if (options.Pasid)
        {
            differences.Add(what + ": 'pasid' has no QEMU counterpart (Device Capabilities 2 as QEMU sets it)");
        }

        if (options.AcsMask != 0x005F)
        {
            differences.Add(Inv($"{what}: acs=0x{options.AcsMask:x4} has no QEMU counterpart (QEMU's own ACS capability)"));
        }
    }

    private static string OnOff(bool value) => value ? "on" : "off";

    private static InputException Bad(string source, string message) => new(source, 0, 0, message);

    private static string Inv(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
