using PcieSim.Functions;
using PcieSim.Interrupts;
using PcieSim.Rules;
using PcieSim.Topology;
using PcieSim.Topology.Language;

namespace PcieSim.Conformance.Hotplug;

/// <summary>
/// A model under test with guest-style config accesses addressed by function, and per-step message capture.
/// Shared by the hotplug, interrupt and rule tests.
/// </summary>
internal sealed class Bench
{
    // Root port / downstream port register offsets (PCIe capability at 0x40, MSI at 0x7C).
    public const int LnkSta = 0x52;
    public const int SltCap = 0x54;
    public const int SltCtl = 0x58;
    public const int SltSta = 0x5A;
    public const int DevCtl2 = 0x68;
    public const int SltCap2 = 0x74;
    public const int MsiCtl = 0x7E;
    public const int MsiAddrLo = 0x80;
    public const int MsiAddrHi = 0x84;
    public const int MsiData = 0x88;

    public const ulong ItsTranslater = 0xEFFD_0040;
    public const ulong V2mDoorbell = 0xEFFE_8040;

    public Bench(string topology, BehaviourProfile profile = BehaviourProfile.OpenVmm)
    {
        Model = new PcieModel(TopologyParser.Parse(topology, "test.topo"), new ModelOptions { Profile = profile });
    }

    public PcieModel Model { get; }

    public RootComplex Rc(string name = "rc0") => Model.RootComplexes.Single(rc => rc.Name == name);

    public DownstreamPort Port(string name) => Model.FindPort(name) ?? throw new ArgumentException(name);

    public Endpoint Endpoint(string name) => Model.FindEndpoint(name) ?? throw new ArgumentException(name);

    /// <summary>Where a function answers config accesses now (from the live bus numbers).</summary>
    public static (RootComplex Rc, byte Bus, byte Devfn) Where(PcieFunction function) => function switch
    {
        RootPort rp => (rp.RootComplex, rp.RootComplex.StartBus, rp.Devfn),
        DownstreamSwitchPort dsp => (RcOf(dsp), dsp.Switch.Upstream.SecondaryBus, dsp.Devfn),
        UpstreamSwitchPort usp => (RcOf(usp.Switch.ParentPort), usp.Switch.ParentPort.SecondaryBus, 0),
        Endpoint { Port: { } port } => (RcOf(port), port.SecondaryBus, 0),
        AmdIommu iommu => (iommu.RootComplex, iommu.RootComplex.StartBus, 0),
        _ => throw new ArgumentException($"{function.Name} is not reachable", nameof(function)),
    };

    private static RootComplex RcOf(PcieFunction function) => function switch
    {
        RootPort rp => rp.RootComplex,
        DownstreamSwitchPort dsp => RcOf(dsp.Switch.ParentPort),
        UpstreamSwitchPort usp => RcOf(usp.Switch.ParentPort),
        _ => throw new ArgumentException(function.Name),
    };

    public ConfigAccessResult ReadAt(RootComplex rc, byte bus, byte devfn, int register, int width) => Model.Read(rc, bus, devfn, register, width);

    public uint Read(PcieFunction function, int register, int width)
    {
        var (rc, bus, devfn) = Where(function);
        var result = Model.Read(rc, bus, devfn, register, width);
        Assert.That(result.Status, Is.EqualTo(AccessStatus.Completed), $"read {function.Name} 0x{register:x}");
        Assert.That(result.Function, Is.SameAs(function), $"read {function.Name} 0x{register:x} reached {result.Function}");
        return (uint)result.Value;
    }

    public void Write(PcieFunction function, int register, int width, uint value)
    {
        var (rc, bus, devfn) = Where(function);
        var result = Model.Write(rc, bus, devfn, register, width, value);
        Assert.That(result.Status, Is.EqualTo(AccessStatus.Completed), $"write {function.Name} 0x{register:x}");
        Assert.That(result.Function, Is.SameAs(function), $"write {function.Name} 0x{register:x} reached {result.Function}");
    }

    /// <summary>Programs primary/secondary/subordinate of a bridge with one dword write to 0x18.</summary>
    public void Buses(BridgeFunction bridge, byte primary, byte secondary, byte subordinate) =>
        Write(bridge, 0x18, 4, (uint)(primary | (secondary << 8) | (subordinate << 16)));

    /// <summary>Programs a port's MSI (64-bit address, 16-bit data) and sets MSI Enable.</summary>
    public void EnablePortMsi(DownstreamPort port, ulong address, ushort data)
    {
        Write(port, MsiAddrLo, 4, (uint)address);
        Write(port, MsiAddrHi, 4, (uint)(address >> 32));
        Write(port, MsiData, 2, data);
        Write(port, MsiCtl, 2, 1);
    }

    public IEnumerable<MessageEvent> Messages => Model.Events.OfType<MessageEvent>();

    /// <summary>The hotplug-origin messages <paramref name="port"/> raised among the current events.</summary>
    public List<MessageEvent> HotplugMessages(DownstreamPort port) =>
        [.. Messages.Where(m => m.Message.Origin == MessageOrigin.Hotplug && ReferenceEquals(m.Message.Source, port))];

    /// <summary>Runs one step with fresh events and returns the messages it raised.</summary>
    public List<MessageEvent> Step(Action action)
    {
        Model.ClearEvents();
        action();
        return [.. Messages];
    }

    public static SlotWrite WordWrite(int register, ushort value) => register switch
    {
        SltCtl => new SlotWrite(value, 0x0000_FFFF),
        SltSta => new SlotWrite((uint)value << 16, 0xFFFF_0000),
        _ => throw new ArgumentOutOfRangeException(nameof(register)),
    };
}
