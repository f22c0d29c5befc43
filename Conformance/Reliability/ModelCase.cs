using System.Globalization;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using PcieSim.Topology;

namespace PcieSim.Conformance.Reliability;

/// <summary>Options of a root port or of every downstream port of a switch.</summary>
/// <param name="Acs">0: the default ACS mask; 1: <c>acs=0</c> (no ACS capability); 2: <c>acs=0xff</c>.</param>
internal sealed record PortPlan(bool Hotplug, bool CommandCompleted, int Acs, bool Pasid)
{
    public string Options()
    {
        var text = new StringBuilder();
        text.Append(Hotplug ? ",hotplug" : "").Append(Hotplug && CommandCompleted ? ",cc" : "");
        text.Append(Acs switch { 1 => ",acs=0", 2 => ",acs=0xff", _ => "" });
        text.Append(Pasid ? ",pasid" : "");
        return text.ToString();
    }
}

/// <param name="Parent">Picks the parent among the ports still free when the switch is placed.</param>
internal sealed record SwitchPlan(int Parent, int DownstreamPorts, PortPlan Options);

/// <param name="Placement">Picks a free port to cold-plug into; negative: the endpoint waits unplugged.</param>
/// <param name="Bar0">0: none; else a size in KiB.</param>
/// <param name="Msi">MSI vectors (0: no MSI capability).</param>
/// <param name="Msix">MSI-X vectors (0: no MSI-X capability).</param>
internal sealed record EndpointPlan(int Placement, bool Nvme, int Bar0, bool Bar2, int Msi, int Msix);

/// <summary>
/// A random topology, valid by construction: one or two root complexes (the second on its own segment or sharing
/// segment 0 with a disjoint bus range), an optional AMD IOMMU, root ports, switches hung below free ports (so
/// switches nest), endpoints cold-plugged into free ports or waiting in the pool, and an optional GIC MSI controller.
/// </summary>
internal sealed record TopologyPlan(int RootComplexes, bool SharedSegment, bool Iommu, PortPlan[] RootPorts, SwitchPlan[] Switches, EndpointPlan[] Endpoints, int Gic)
{
    public string Flags()
    {
        var flags = new List<string> { RootComplexes == 2 && SharedSegment ? "--pcie-root-complex rc0,end_bus=0x7f" : "--pcie-root-complex rc0" };
        if (RootComplexes == 2)
        {
            flags.Add(SharedSegment ? "--pcie-root-complex rc1,start_bus=0x80,end_bus=0xbf" : "--pcie-root-complex rc1,segment=1");
        }

        if (Iommu)
        {
            flags.Add("--amd-iommu rc0");
        }

        var free = new List<string>();
        for (int i = 0; i < RootPorts.Length; i++)
        {
            string name = Inv($"rp{i}");
            flags.Add(Inv($"--pcie-root-port rc{i % RootComplexes}:{name}{RootPorts[i].Options()}"));
            free.Add(name);
        }

        for (int k = 0; k < Switches.Length && free.Count > 0; k++)
        {
            var plan = Switches[k];
            string parent = Take(free, plan.Parent);
            flags.Add(Inv($"--pcie-switch {parent}:sw{k},num_downstream_ports={plan.DownstreamPorts}{plan.Options.Options()}"));
            for (int i = 0; i < plan.DownstreamPorts; i++)
            {
                free.Add(Inv($"sw{k}-downstream-{i}"));
            }
        }

        for (int j = 0; j < Endpoints.Length; j++)
        {
            var plan = Endpoints[j];
            string port = plan.Placement >= 0 && free.Count > 0 ? Take(free, plan.Placement) + ":" : "";
            string template = plan.Nvme
                ? "template=nvme"
                : "template=generic" + (plan.Bar0 > 0 ? Inv($",bar0={plan.Bar0}K") : "") + (plan.Bar2 ? ",bar2=1M" : "")
                  + (plan.Msi > 0 ? Inv($",msi={plan.Msi}") : "") + (plan.Msix > 0 ? Inv($",msix={plan.Msix}") : "");
            flags.Add(Inv($"--pcie-endpoint {port}ep{j},{template}"));
        }

        if (Gic > 0)
        {
            flags.Add(Gic == 1 ? "--gic-msi its" : "--gic-msi v2m");
        }

        return string.Join(' ', flags);
    }

    private static string Take(List<string> free, int pick)
    {
        int index = pick % free.Count;
        string name = free[index];
        free.RemoveAt(index);
        return name;
    }

    private static string Inv(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

/// <summary>
/// One step of a random access sequence, resolved against the live model when it runs (so a hot-add names a real
/// port and an access can follow the bus numbers the sequence itself programmed). Indices pick modulo the count.
/// </summary>
internal abstract record Step;

/// <param name="Function">Picks a function of the model (its current address), or, when <paramref name="Raw"/>, ignored.</param>
/// <param name="Raw">Address <paramref name="RootComplex"/>, <paramref name="Bus"/> (relative to the start bus), <paramref name="Devfn"/> directly.</param>
/// <param name="RegisterPick">
/// Picks a register of the function's table: one in three among the DWORDs with side effects or RW1C bits (slot,
/// MSI, command, bus numbers, BARs, device control), where the rules live; negative: <paramref name="Register"/> as is.
/// </param>
/// <param name="Lane">Negative: align the register to the width; else force this byte lane (may be an invalid lane).</param>
/// <param name="Ecam">Write the address as an ECAM address rather than <c>SSSS:BB:DD.F@0xR</c>.</param>
internal sealed record ConfigStep(bool Write, int Function, bool Raw, int RootComplex, int Bus, int Devfn, int RegisterPick, int Register, int Width, int Lane, uint Value, bool Ecam) : Step;

/// <summary>Programs every bridge's bus numbers depth-first, as an enumerating guest does (a run of config writes).</summary>
internal sealed record EnumerateStep : Step;

/// <param name="Valid">Pick among the hot-plug ports that are empty and the endpoints in the pool (when there are any), else among all.</param>
internal sealed record HotAddStep(int Port, int Endpoint, bool Valid) : Step;

/// <param name="Named">Name an endpoint in the <c>device</c> column (the one in the port, or <paramref name="Other"/>'s pick).</param>
/// <param name="Valid">Pick among the ports holding an endpoint (when there are any), else among all.</param>
internal sealed record HotRemoveStep(int Port, bool Named, int Other, bool Valid) : Step;

internal sealed record ResetStep : Step;

/// <param name="Valid">Pick among plugged endpoints with MSI or MSI-X, and a vector they have (when there are any).</param>
internal sealed record RaiseStep(int Endpoint, int Vector, bool Valid) : Step;

/// <param name="Bar">0, 2 or 4: an address in that BAR of the endpoint as currently programmed.</param>
internal sealed record MmioStep(bool Write, int Endpoint, int Bar, int Offset, int Width, uint Value) : Step;

/// <summary>A topology, a profile and an access sequence: what the model properties are checked on.</summary>
internal sealed record ModelCase(TopologyPlan Topology, BehaviourProfile Profile, Step[] Steps)
{
    public override string ToString()
    {
        var text = new StringBuilder();
        text.Append("profile ").Append(Profile).Append('\n').Append(Topology.Flags()).Append('\n');
        foreach (var step in Steps)
        {
            text.Append("  ").Append(step).Append('\n');
        }

        return text.ToString();
    }
}

/// <summary>FsCheck generators for <see cref="ModelCase"/>: sequences grow with FsCheck's size.</summary>
internal static class ModelGen
{
    private static readonly Gen<bool> Bool = Gen.Elements(true, false);

    /// <summary>True three times in four: most hot-plug and raise records are ones the model accepts.</summary>
    private static readonly Gen<bool> Mostly = Gen.Frequency((3, Gen.Constant(true)), (1, Gen.Constant(false)));

    private static readonly Gen<uint> Word = Gen.Frequency(
        (2, Gen.Constant(uint.MaxValue)),
        (1, Gen.Constant(0u)),
        (5, Gen.Choose(int.MinValue, int.MaxValue).Select(i => unchecked((uint)i))));

    private static readonly Gen<PortPlan> Port =
        from hotplug in Gen.Frequency((2, Gen.Constant(true)), (1, Gen.Constant(false)))
        from cc in Bool
        from acs in Gen.Choose(0, 2)
        from pasid in Gen.Frequency((1, Gen.Constant(true)), (4, Gen.Constant(false)))
        select new PortPlan(hotplug, cc, acs, pasid);

    private static readonly Gen<SwitchPlan> Switch =
        from parent in Gen.Choose(0, 63)
        from ports in Gen.Choose(1, 3)
        from options in Port
        select new SwitchPlan(parent, ports, options);

    private static readonly Gen<EndpointPlan> Endpoint =
        from placement in Gen.Frequency((2, Gen.Choose(0, 63)), (1, Gen.Constant(-1)))
        from nvme in Gen.Frequency((1, Gen.Constant(true)), (2, Gen.Constant(false)))
        from bar0 in Gen.Elements(0, 4, 16)
        from bar2 in Bool
        from msi in Gen.Elements(0, 1, 4, 32)
        from msix in Gen.Elements(0, 0, 1, 8)
        select new EndpointPlan(placement, nvme, bar0, bar2, msi, msix);

    public static readonly Gen<TopologyPlan> Topology =
        from rcs in Gen.Frequency((3, Gen.Constant(1)), (1, Gen.Constant(2)))
        from shared in Bool
        from iommu in Gen.Frequency((1, Gen.Constant(true)), (3, Gen.Constant(false)))
        from rootPorts in Gen.Choose(1, 3).SelectMany(n => Port.ArrayOf(n))
        from switches in Gen.Choose(0, 2).SelectMany(n => Switch.ArrayOf(n))
        from endpoints in Gen.Choose(0, 4).SelectMany(n => Endpoint.ArrayOf(n))
        from gic in Gen.Choose(0, 2)
        select new TopologyPlan(rcs, shared, iommu, rootPorts, switches, endpoints, gic);

    private static readonly Gen<int> Width = Gen.Frequency(
        (5, Gen.Constant(4)), (4, Gen.Constant(2)), (4, Gen.Constant(1)), (1, Gen.Elements(0, 3, 8)));

    private static readonly Gen<Step> Config =
        from write in Gen.Frequency((3, Gen.Constant(true)), (2, Gen.Constant(false)))
        from function in Gen.Choose(0, 255)
        from raw in Gen.Frequency((1, Gen.Constant(true)), (5, Gen.Constant(false)))
        from rc in Gen.Choose(0, 1)
        from bus in Gen.Frequency((4, Gen.Choose(0, 4)), (1, Gen.Choose(0, 255)))
        from devfn in Gen.Frequency((4, Gen.Choose(0, 24)), (1, Gen.Choose(0, 255)))
        from pick in Gen.Frequency((3, Gen.Choose(0, 1 << 16)), (1, Gen.Constant(-1)))
        from register in Gen.Choose(0, 0xFFF)
        from width in Width
        from lane in Gen.Frequency((6, Gen.Constant(-1)), (1, Gen.Choose(0, 3)))
        from value in Word
        from ecam in Bool
        select (Step)new ConfigStep(write, function, raw, rc, bus, devfn, pick, register, width, lane, value, ecam);

    private static readonly Gen<Step> Mmio =
        from write in Bool
        from endpoint in Gen.Choose(0, 63)
        from bar in Gen.Elements(0, 2, 4)
        from offset in Gen.Frequency((3, Gen.Choose(0, 0x40).Select(o => o * 4)), (1, Gen.Choose(0, 0x2000)))
        from width in Gen.Elements(4, 8)
        from value in Word
        select (Step)new MmioStep(write, endpoint, bar, offset, width, value);

    private static readonly Gen<Step> AnyStep = Gen.Frequency(
        (40, Config),
        (2, Gen.Constant<Step>(new EnumerateStep())),
        (4, from port in Gen.Choose(0, 63) from endpoint in Gen.Choose(0, 63) from valid in Mostly select (Step)new HotAddStep(port, endpoint, valid)),
        (3, from port in Gen.Choose(0, 63) from named in Bool from other in Gen.Choose(0, 63) from valid in Mostly select (Step)new HotRemoveStep(port, named, other, valid)),
        (1, Gen.Constant<Step>(new ResetStep())),
        (3, from endpoint in Gen.Choose(0, 63) from vector in Gen.Frequency((4, Gen.Choose(0, 7)), (1, Gen.Choose(0, 40))) from valid in Mostly select (Step)new RaiseStep(endpoint, vector, valid)),
        (5, Mmio));

    /// <summary>Up to FsCheck's size in steps, usually after an enumeration so accesses reach below the root ports.</summary>
    public static readonly Gen<Step[]> Steps = Gen.Sized(size =>
        from enumerate in Gen.Frequency((4, Gen.Constant(true)), (1, Gen.Constant(false)))
        from count in Gen.Choose(0, Math.Max(size, 1))
        from steps in AnyStep.ArrayOf(count)
        select enumerate ? [new EnumerateStep(), .. steps] : steps);

    public static readonly Gen<ModelCase> Cases =
        from topology in Topology
        from profile in Gen.Elements(BehaviourProfile.OpenVmm, BehaviourProfile.Spec)
        from steps in Steps
        select new ModelCase(topology, profile, steps);

    /// <summary>The cases, shrinking by dropping steps (first halves, then single steps) so a failure comes back short.</summary>
    public static Arbitrary<ModelCase> Arbitrary() => Arb.From(Cases, Shrink);

    private static IEnumerable<ModelCase> Shrink(ModelCase c)
    {
        var steps = c.Steps;
        if (steps.Length > 1)
        {
            yield return c with { Steps = steps[..(steps.Length / 2)] };
            yield return c with { Steps = steps[(steps.Length / 2)..] };
        }

        for (int i = steps.Length - 1; i >= 0; i--)
        {
            yield return c with { Steps = [.. steps[..i], .. steps[(i + 1)..]] };
        }
    }
}
