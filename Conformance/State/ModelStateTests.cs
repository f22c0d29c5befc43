using PcieSim.Conformance.TestSupport;
using PcieSim.Files;
using PcieSim.Replay;
using PcieSim.Topology;
using PcieSim.Topology.Language;

namespace PcieSim.Conformance.State;

/// <summary>
/// <see cref="PcieModel.SaveState"/> and <see cref="PcieModel.RestoreState"/>, and the session's state: what is
/// saved, the topology fingerprint, and every refusal leaving the model as it was.
/// </summary>
public class ModelStateTests
{
    private const string Flags =
        "--pcie-root-complex rc0 --amd-iommu rc0 --pcie-root-port rc0:rp0,hotplug --pcie-root-port rc0:rp1 " +
        "--pcie-switch rp1:sw0,num_downstream_ports=2,hotplug,cc --pcie-endpoint sw0-downstream-0:ep0,template=generic,msix=8 " +
        "--pcie-endpoint ep1,template=generic,msi=4 --pcie-endpoint nvme0,template=nvme --pcie-root-port rc0:rp2 " +
        "--pcie-endpoint rp2:cold,template=generic --gic-msi its";

    private static PcieModel Model(BehaviourProfile profile = BehaviourProfile.OpenVmm, string flags = Flags) =>
        new(TopologyParser.Parse(flags, "test"), new ModelOptions { Profile = profile });

    /// <summary>A model in a state far from reset: buses, a hot-add with its latches, MSI latched, MSI-X pending.</summary>
    private static PcieModel Busy(BehaviourProfile profile = BehaviourProfile.OpenVmm)
    {
        var model = Model(profile);
        var rc = model.RootComplexes[0];
        var rp0 = model.FindPort("rp0")!;
        model.Write(rc, 0, rp0.Devfn, 0x18, 4, 0x00010100);
        model.Write(rc, 0, rp0.Devfn, 0x58, 2, 0x1028);
        model.HotAdd("rp0", "ep1");
        model.HotRemove("sw0-downstream-0");
        model.HotAdd("sw0-downstream-1", "ep0");
        model.Raise(model.FindEndpoint("ep1")!, 2);
        model.Raise(model.FindEndpoint("ep0")!, 5);
        return model;
    }

    private static string Json(PcieModel model) =>
        StateFile.Serialize(new ReplayState("t.csv", 1, null, model.SaveState(), new ReplaySession(model, "t.csv", false).SaveState()));

    [Test]
    public void a_busy_model_restores_into_a_fresh_one_exactly()
    {
        var busy = Busy();
        var state = busy.SaveState();
        Assert.That(state.Functions.Single(f => f.Name == "ep1").MsiLatch, Is.EqualTo(1u << 2), "the raise was latched (MSI disabled)");
        Assert.That(state.Functions.Single(f => f.Name == "ep0").Msix![5].Pending, Is.True);
        Assert.That(state.Unplugged, Is.EqualTo(new[] { "nvme0" }));
        Assert.That(state.Ports.Select(p => p.Child), Is.EqualTo(new[] { "ep1", "sw0", "cold", null, "ep0" }));

        var fresh = Model();
        fresh.RestoreState(state, "test");
        Assert.That(Json(fresh), Is.EqualTo(Json(busy)));
        Topo.AssertUnchanged(Topo.Snapshot(busy), Topo.Snapshot(fresh), "every DWORD of every function");
        Assert.That(fresh.FindEndpoint("ep0")!.Port, Is.SameAs(fresh.FindPort("sw0-downstream-1")));
        Assert.That(fresh.FindPort("sw0-downstream-0")!.Child, Is.Null);
        Assert.That(fresh.FindEndpoint("ep0")!.MsixPending(5), Is.True);
    }

    [Test]
    public void restore_overwrites_a_model_that_has_moved_on()
    {
        var busy = Busy();
        var state = busy.SaveState();
        var other = Busy();
        other.Reset();
        other.HotRemove("rp0");
        other.HotAdd("rp0", "nvme0");
        other.RestoreState(state, "test");
        Assert.That(Json(other), Is.EqualTo(Json(busy)));
        Assert.That(other.FindEndpoint("nvme0")!.Port, Is.Null);
    }

    [Test]
    public void restored_routing_reaches_the_restored_links_and_the_generation_moves_on()
    {
        var busy = Busy();
        var fresh = Model();
        long generation = fresh.RoutingGeneration;
        fresh.RestoreState(busy.SaveState(), "test");
        Assert.That(fresh.RoutingGeneration, Is.GreaterThan(generation), "routing caches keyed on the generation go stale");
        var read = fresh.Read(fresh.RootComplexes[0], 1, 0, 0, 4);
        Assert.That(read.Function?.Name, Is.EqualTo("ep1"), "bus 1 below rp0 reaches the hot-added endpoint");
    }

    [Test]
    public void a_different_topology_is_refused_naming_both_fingerprints_and_the_model_is_unchanged()
    {
        var state = Busy().SaveState();
        var other = Model(flags: Flags.Replace("num_downstream_ports=2", "num_downstream_ports=3", StringComparison.Ordinal));
        string before = Json(other);
        var error = Assert.Throws<InputException>(() => other.RestoreState(state, "saved.json"))!;
        Assert.That(error.Source, Is.EqualTo("saved.json"));
        Assert.That(error.Message, Does.Contain("topology fingerprint " + state.Fingerprint).And.Contain("this replay's is " + other.StateFingerprint));
        Assert.That(other.StateFingerprint, Is.Not.EqualTo(state.Fingerprint));
        Assert.That(Json(other), Is.EqualTo(before));
    }

    [Test]
    public void a_different_profile_is_a_different_fingerprint()
    {
        var state = Busy(BehaviourProfile.Spec).SaveState();
        var openvmm = Model();
        var error = Assert.Throws<InputException>(() => openvmm.RestoreState(state, "saved.json"))!;
        Assert.That(error.Message, Does.Contain("(profile spec, ").And.Contain("(profile openvmm, "));
    }

    [Test]
    public void the_fingerprint_is_the_normalised_topology_and_profile()
    {
        // Two spellings of one topology normalise to the same flags, so to the same fingerprint.
        var a = Model(flags: "--pcie-root-complex rc0 --pcie-root-port rc0:rp0,hotplug");
        var b = Model(flags: "--pcie-root-complex rc0,segment=0 --pcie-root-port rc0:rp0,hotplug,acs=0x5f");
        Assert.That(a.StateFingerprint, Is.EqualTo(b.StateFingerprint));
        Assert.That(a.StateFingerprint, Does.Match("^sha256:[0-9a-f]{64}$"));
        Assert.That(PcieModel.Fingerprint(a.Spec.NormalisedFlags, BehaviourProfile.Spec), Is.Not.EqualTo(a.StateFingerprint));
    }

    public static IEnumerable<TestCaseData> Damaged()
    {
        static ModelState Ports(ModelState s, int i, Func<PortState, PortState> change) =>
            s with { Ports = [.. s.Ports.Select((p, k) => k == i ? change(p) : p)] };
        static ModelState Function(ModelState s, string name, Func<FunctionState, FunctionState> change) =>
            s with { Functions = [.. s.Functions.Select(f => f.Name == name ? change(f) : f)] };

        yield return new TestCaseData((Func<ModelState, ModelState>)(s => s with { Ports = s.Ports.Skip(1).ToList() }), "the state has 4 ports, the topology 5").SetName("port_missing");
        yield return new TestCaseData((Func<ModelState, ModelState>)(s => Ports(s, 0, p => p with { Name = "rpX" })), "ports[0] is 'rpX', the topology's port 0 is 'rp0'").SetName("port_renamed");
        yield return new TestCaseData((Func<ModelState, ModelState>)(s => Ports(s, 1, p => p with { Child = null, Presence = false })), "port 'rp1' holds switch 'sw0' in the topology, the state says 'empty'").SetName("switch_unlinked");
        yield return new TestCaseData((Func<ModelState, ModelState>)(s => Ports(s, 2, p => p with { Child = "nvme0" })), "port 'rp2' is not hotplug capable: it holds 'cold' in the topology, the state says 'nvme0'").SetName("cold_plugged_port_changed");
        yield return new TestCaseData((Func<ModelState, ModelState>)(s => Ports(s, 0, p => p with { Child = "nobody" })), "port 'rp0' holds 'nobody', which is not an endpoint of the topology").SetName("unknown_endpoint_linked");
        yield return new TestCaseData((Func<ModelState, ModelState>)(s => Ports(s, 0, p => p with { Child = "ep0" })), "endpoint 'ep0' is linked below more than one port").SetName("endpoint_in_two_ports");
        yield return new TestCaseData((Func<ModelState, ModelState>)(s => Ports(s, 0, p => p with { Presence = false })), "port 'rp0': presence 0 with 'ep1' linked").SetName("presence_without_link");
        yield return new TestCaseData((Func<ModelState, ModelState>)(s => s with { Unplugged = [] }), "endpoint 'nvme0' is neither linked nor in the pool of unplugged endpoints").SetName("endpoint_lost");
        yield return new TestCaseData((Func<ModelState, ModelState>)(s => s with { Unplugged = ["nvme0", "ep1"] }), "endpoint 'ep1' is both linked and unplugged, or unplugged twice").SetName("endpoint_linked_and_unplugged");
        yield return new TestCaseData((Func<ModelState, ModelState>)(s => s with { Functions = s.Functions.SkipLast(1).ToList() }), "the state has 10 functions; 'cold' is missing").SetName("function_missing");
        yield return new TestCaseData((Func<ModelState, ModelState>)(s => s with { Functions = [.. s.Functions, s.Functions[0] with { Name = "extra" }] }), "the state has 12 functions, the topology 11: 'extra' is not in the topology").SetName("function_extra");
        yield return new TestCaseData((Func<ModelState, ModelState>)(s => Function(s, "rp0", f => f with { Config = [new ConfigDword(0x3F0, 1)] })), "function 'rp0': DWORD 0xfc0 = 0x00000001 sets bits 0x00000001 where no register is").SetName("bits_where_no_register_is");
        yield return new TestCaseData((Func<ModelState, ModelState>)(s => Function(s, "rp0", f => f with { Config = [new ConfigDword(1024, 0)] })), "function 'rp0': DWORD index 1024 is out of range or repeated").SetName("dword_out_of_range");
        yield return new TestCaseData((Func<ModelState, ModelState>)(s => Function(s, "ep1", f => f with { MsiLatch = 0x10 })), "function 'ep1': MSI latch 0x00000010 names vectors it does not have (4 MSI vectors)").SetName("latch_beyond_vectors");
        yield return new TestCaseData((Func<ModelState, ModelState>)(s => Function(s, "rc0-iommu", f => f with { Msix = [] })), "function 'rc0-iommu': an MSI-X table is saved, the function has no MSI-X capability").SetName("msix_on_a_function_without");
        yield return new TestCaseData((Func<ModelState, ModelState>)(s => Function(s, "ep0", f => f with { Msix = null })), "function 'ep0': no MSI-X table saved, the function has 8 MSI-X vectors").SetName("msix_missing");
        yield return new TestCaseData((Func<ModelState, ModelState>)(s => Function(s, "ep0", f => f with { Msix = f.Msix!.Take(4).ToList() })), "function 'ep0': 4 MSI-X vectors saved, the function has 8").SetName("msix_vector_count");
    }

    [TestCaseSource(nameof(Damaged))]
    public void a_state_that_does_not_fit_is_refused_and_the_model_is_unchanged(Func<ModelState, ModelState> damage, string message)
    {
        var state = damage(Busy().SaveState());
        var model = Model();
        model.HotAdd("rp0", "nvme0");
        string before = Json(model);
        long generation = model.RoutingGeneration;
        var error = Assert.Throws<InputException>(() => model.RestoreState(state, "saved.json"))!;
        Assert.That(error.Message, Is.EqualTo(message));
        Assert.That(error.Describe(), Does.StartWith("saved.json: "));
        Assert.That(Json(model), Is.EqualTo(before));
        Assert.That(model.RoutingGeneration, Is.EqualTo(generation));
    }

    [Test]
    public void a_session_saves_only_between_steps_and_checks_what_it_restores()
    {
        var model = Model();
        var session = new ReplaySession(model, "t.csv", interruptComplete: true);
        var record = new TraceRecord(1, 7, null, TraceOp.Reset, TraceAddressKind.None, 0, default, null, null, null, null, null, null);
        Assert.That(session.Step(record), Is.Empty, "an interrupt-complete step stays open for its msi rows");
        Assert.Throws<InvalidOperationException>(() => session.SaveState());
        Assert.That(session.Finish(), Has.Count.EqualTo(1));
        var saved = session.SaveState();
        Assert.That(saved.Counters.Records, Is.EqualTo(1));
        Assert.That(saved.EdgeState.Select(e => e.Key), Is.EqualTo(model.Ports.Select(p => p.Name).Order(StringComparer.Ordinal)), "every port judged on a reset, in ordinal order");

        var fresh = new ReplaySession(Model(), "t.csv", interruptComplete: true);
        var wrongSum = saved with { Counters = saved.Counters with { Records = 2 } };
        Assert.That(Assert.Throws<InputException>(() => fresh.RestoreState(wrongSum, "s.json"))!.Message, Does.Contain("the counters do not add up: 2 records, 1 by operation"));
        var unknownPort = saved with { EdgeState = [new("rp9", true)] };
        Assert.That(Assert.Throws<InputException>(() => fresh.RestoreState(unknownPort, "s.json"))!.Message, Is.EqualTo("edge state for port 'rp9', which is not in the topology"));
        var enumerating = new ReplaySession(Model(), "t.csv", interruptComplete: true) { VmmEnumerate = true };
        Assert.That(Assert.Throws<InputException>(() => enumerating.RestoreState(saved, "s.json"))!.Message, Is.EqualTo("the state was saved by a replay without --vmm-enumerate; this replay runs with it"));
        Assert.That(Assert.Throws<InputException>(() => fresh.RestoreState(saved with { VmmEnumerate = true }, "s.json"))!.Message, Does.StartWith("the state was saved by a replay with --vmm-enumerate"));
        Assert.That(fresh.Counters.Records, Is.Zero, "a refused session state changes nothing");
        fresh.RestoreState(saved, "s.json");
        Assert.That(fresh.SaveState().Counters.Records, Is.EqualTo(1));
    }
}
