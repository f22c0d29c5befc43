using System.Globalization;
using PcieSim.AddressDecode;
using PcieSim.Conformance.TestSupport;
using PcieSim.Functions;
using PcieSim.Topology;

namespace PcieSim.Conformance.Topology;

/// <summary>
/// Configuration routing across switches, root complexes and segments (reference 1.2, 1.3, 1.4, 7, 11.1 item 15),
/// with buses assigned the way Linux does it: depth first, secondary = next free bus, subordinate = highest below.
/// </summary>
[TestFixture]
public sealed partial class RoutingTests
{
    /// <summary>The VMM test <c>pcie_switches</c> topology plus endpoints: sw0 on rp0, sw1 on rp1, sw2 on sw1-downstream-1.</summary>
    private const string Switches =
        "--pcie-root-complex rc0 --pcie-root-port rc0:rp0 --pcie-root-port rc0:rp1"
        + " --pcie-switch rp0:sw0,num_downstream_ports=2 --pcie-switch rp1:sw1,num_downstream_ports=2"
        + " --pcie-switch sw1-downstream-1:sw2,num_downstream_ports=2"
        + " --pcie-endpoint sw0-downstream-0:nvme0,template=nvme"
        + " --pcie-endpoint sw0-downstream-1:ep2,template=generic,device=0x2222"
        + " --pcie-endpoint sw2-downstream-1:ep1,template=generic,device=0x1111";

    /// <summary>One function found by enumeration.</summary>
    private sealed record Found(byte Bus, byte Devfn, uint Id, string Name);

    /// <summary>Linux-style depth-first enumeration through ECAM; returns every function found.</summary>
    private static List<Found> Enumerate(PcieModel model, RootComplex rc)
    {
        var found = new List<Found>();
        int nextBus = rc.StartBus;
        Scan(rc.StartBus);
        return found;

        int Scan(int bus)
        {
            int highest = bus;
            for (int device = 0; device < 32; device++)
            {
                for (int function = 0; function < 8; function++)
                {
                    byte devfn = (byte)((device << 3) | function);
                    var read = model.ReadEcam(rc.Window.AddressOf((byte)bus, devfn, 0), 4);
                    if ((read.Value & 0xFFFF) == 0xFFFF)
                    {
                        if (function == 0)
                        {
                            break;
                        }

                        continue;
                    }

                    found.Add(new Found((byte)bus, devfn, (uint)read.Value, read.Function!.Name));
                    uint header = (uint)model.ReadEcam(rc.Window.AddressOf((byte)bus, devfn, 0x0E), 1).Value;
                    if ((header & 0x7F) == 1)
                    {
                        int secondary = ++nextBus;
                        ulong busNumbers = rc.Window.AddressOf((byte)bus, devfn, 0x18);
                        model.WriteEcam(busNumbers, 4, (uint)(bus | (secondary << 8) | (rc.EndBus << 16)));
                        int subordinate = Scan(secondary);
                        model.WriteEcam(busNumbers, 4, (uint)(bus | (secondary << 8) | (subordinate << 16)));
                        highest = Math.Max(highest, subordinate);
                    }

                    if (function == 0 && (header & 0x80) == 0)
                    {
                        break;
                    }
                }
            }

            return Math.Max(highest, nextBus);
        }
    }

    private static string Bdf(Found f) => string.Create(CultureInfo.InvariantCulture, $"{f.Bus:x2}:{f.Devfn >> 3:x2}.{f.Devfn & 7} {f.Id:X8} {f.Name}");

    [Test]
    public void multi_level_switches_enumerate_depth_first()
    {
        var model = Topo.Build(Switches);
        var rc = model.RootComplexes[0];
        var found = Enumerate(model, rc).Select(Bdf);
        Assert.That(found, Is.EqualTo(new[]
        {
            "00:00.0 C0301414 rp0",
            "01:00.0 C0311414 sw0",
            "02:00.0 C0321414 sw0-downstream-0",
            "03:00.0 00A91414 nvme0",
            "02:00.1 C0321414 sw0-downstream-1",
            "04:00.0 22221414 ep2",
            "00:00.1 C0301414 rp1",
            "05:00.0 C0311414 sw1",
            "06:00.0 C0321414 sw1-downstream-0",
            "06:00.1 C0321414 sw1-downstream-1",
            "08:00.0 C0311414 sw2",
            "09:00.0 C0321414 sw2-downstream-0",
            "09:00.1 C0321414 sw2-downstream-1",
            "0b:00.0 11111414 ep1",
        }));

        Assert.Multiple(() =>
        {
            Assert.That(model.FindPort("rp0")!.AssignedBusRange, Is.EqualTo(new BusRange(1, 4)));
            Assert.That(model.FindPort("rp1")!.AssignedBusRange, Is.EqualTo(new BusRange(5, 11)));
            Assert.That(model.Switches[1].Upstream.AssignedBusRange, Is.EqualTo(new BusRange(6, 11)));
            Assert.That(model.FindPort("sw1-downstream-0")!.AssignedBusRange, Is.EqualTo(new BusRange(7, 7)));
            Assert.That(model.FindPort("sw1-downstream-1")!.AssignedBusRange, Is.EqualTo(new BusRange(8, 11)));
            Assert.That(model.FindPort("sw2-downstream-1")!.AssignedBusRange, Is.EqualTo(new BusRange(11, 11)));
        });

        // Every function answers at its ECAM address, and the function reached is the one named.
        foreach (var (bus, devfn, id, name) in new (byte, byte, uint, string)[]
        {
            (0, 1, 0xC030_1414, "rp1"), (3, 0, 0x00A9_1414, "nvme0"), (9, 1, 0xC032_1414, "sw2-downstream-1"), (11, 0, 0x1111_1414, "ep1"),
        })
        {
            var read = model.ReadEcam(rc.Window.AddressOf(bus, devfn, 0), 4);
            Assert.That(read.Value, Is.EqualTo((ulong)id), name);
            Assert.That(read.Function!.Name, Is.EqualTo(name));
            Assert.That(model.ReadEcam(rc.Window.AddressOf(bus, devfn, 0x08), 4).Value, Is.EqualTo((ulong)read.Function.ReadDword(0x08)), name);
        }

        // The empty DSP's bus and the buses past the last subordinate read all-ones (BSA p008).
        Assert.Multiple(() =>
        {
            Assert.That(model.Read(rc, 7, 0, 0, 4).Failure, Is.EqualTo(RouteFailure.PortEmpty));
            Assert.That(model.Read(rc, 7, 0, 0, 4).StoppedAt, Is.SameAs(model.FindPort("sw1-downstream-0")));
            Assert.That(model.Read(rc, 10, 0, 0, 4).Failure, Is.EqualTo(RouteFailure.PortEmpty));
            Assert.That(model.Read(rc, 12, 0, 0, 4).Value, Is.EqualTo(0xFFFF_FFFFUL));
            Assert.That(model.Read(rc, 12, 0, 0, 4).Failure, Is.EqualTo(RouteFailure.BusNotClaimed));
        });
    }

    [Test]
    public void pcie_switches()
    {
        var model = Topo.Build(Switches);
        var ids = Enumerate(model, model.RootComplexes[0]).Select(f => f.Id).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(ids.Count(id => id == 0xC031_1414), Is.EqualTo(3));
            Assert.That(ids.Count(id => id == 0xC032_1414), Is.EqualTo(6));
            Assert.That(ids.Count(id => id == 0xC030_1414), Is.EqualTo(2));
        });
    }

    [Test]
    public void pcie_root_emulation_multi_segment()
    {
        // 4 segments x 1 RC x 10 ports: 40 root ports, packed across two device slots per RC.
        string flags = string.Concat(Enumerable.Range(0, 4).Select(s =>
            string.Create(CultureInfo.InvariantCulture, $" --pcie-root-complex s{s}rc0,segment={s}")
            + string.Concat(Enumerable.Range(0, 10).Select(p => string.Create(CultureInfo.InvariantCulture, $" --pcie-root-port s{s}rc0:s{s}rc0rp{p},hotplug,acs=0")))));
        var model = Topo.Build(flags.Trim());
        int ports = 0;
        for (ushort segment = 0; segment < 4; segment++)
        {
            for (int devfn = 0; devfn < 256; devfn++)
            {
                var read = model.Access(segment, 0, (byte)devfn, 0, 4, isWrite: false, 0);
                if (read.Completed)
                {
                    Assert.That(read.Value, Is.EqualTo(0xC030_1414UL));
                    Assert.That(model.Access(segment, 0, (byte)devfn, 0x08, 4, isWrite: false, 0).Value, Is.EqualTo(0x0604_0000UL));
                    Assert.That(((RootPort)read.Function!).RootComplex.Segment, Is.EqualTo(segment));
                    ports++;
                }
            }
        }

        Assert.That(ports, Is.EqualTo(40));
    }

    [Test]
    public void root_complexes_and_segments_with_nonzero_start_bus_and_explicit_ecam_base()
    {
        var model = Topo.Build(
            "--pcie-root-complex rc0,end_bus=127 --pcie-root-port rc0:rp0"
            + " --pcie-root-complex rc1,start_bus=128,end_bus=191,ecam_base=0x40000000 --pcie-root-port rc1:rpa --pcie-root-port rc1:rpb"
            + " --pcie-root-complex rc2,segment=1 --pcie-root-port rc2:rpx"
            + " --pcie-endpoint rpb:ep0,template=generic,device=0xB0B0 --pcie-endpoint rpx:ep1,template=generic,device=0xC1C1");
        var rc1 = model.RootComplexes[1];
        Assert.Multiple(() =>
        {
            Assert.That(rc1.Window.Base, Is.EqualTo(0x4000_0000UL));
            Assert.That(rc1.Window.Size, Is.EqualTo(64UL << 20));
            Assert.That(rc1.StartBus, Is.EqualTo(128));
            Assert.That(model.ReadEcam(0x4000_0000, 4).Value, Is.EqualTo(0xC030_1414UL), "first byte of the window is bus 128");
            Assert.That(model.ReadEcam(0x4000_0000, 4).Function, Is.SameAs(model.FindPort("rpa")));
            Assert.That(model.ReadEcam(0x4000_1000, 4).Function, Is.SameAs(model.FindPort("rpb")));
            Assert.That(model.Access(0, 128, 1, 0, 4, isWrite: false, 0).Function, Is.SameAs(model.FindPort("rpb")));
            Assert.That(model.Access(0, 0, 0, 0, 4, isWrite: false, 0).Function, Is.SameAs(model.FindPort("rp0")));
            Assert.That(model.Access(1, 0, 0, 0, 4, isWrite: false, 0).Function, Is.SameAs(model.FindPort("rpx")));
            Assert.That(model.Access(0, 192, 0, 0, 4, isWrite: false, 0).Status, Is.EqualTo(AccessStatus.NoRootComplex));
            Assert.That(model.Access(0, 192, 0, 0, 4, isWrite: false, 0).Value, Is.EqualTo(0xFFFF_FFFFUL));
            Assert.That(model.Access(2, 0, 0, 0, 2, isWrite: false, 0).Status, Is.EqualTo(AccessStatus.NoRootComplex));
            Assert.That(model.Access(1, 1, 0, 0, 4, isWrite: false, 0).Failure, Is.EqualTo(RouteFailure.BusNotClaimed));
        });

        // Program rpb on bus 128 to forward 129..129; the endpoint appears there and nowhere else.
        model.WriteEcam(rc1.Window.AddressOf(128, 1, 0x18), 4, 0x0081_8180);
        model.Access(1, 0, 0, 0x18, 4, isWrite: true, 0x0005_0500);
        Assert.Multiple(() =>
        {
            Assert.That(model.ReadEcam(rc1.Window.AddressOf(129, 0, 0), 4).Value, Is.EqualTo(0xB0B0_1414UL));
            Assert.That(rc1.Window.AddressOf(129, 0, 0), Is.EqualTo(0x4010_0000UL));
            Assert.That(model.Access(0, 129, 0, 0, 4, isWrite: false, 0).Value, Is.EqualTo(0xB0B0_1414UL));
            Assert.That(model.Access(1, 5, 0, 0, 4, isWrite: false, 0).Value, Is.EqualTo(0xC1C1_1414UL));
            Assert.That(model.Access(0, 5, 0, 0, 4, isWrite: false, 0).Value, Is.EqualTo(0xFFFF_FFFFUL), "segment 0 bus 5 is rc0's, unprogrammed");
        });
    }

    [Test]
    public void ecam_address_decode()
    {
        var model = Topo.Build("--pcie-root-complex rc0,start_bus=16,end_bus=31,ecam_base=0x80000000 --pcie-root-port rc0:rp0");
        var window = model.RootComplexes[0].Window;
        ulong address = 0x8000_0000UL + (3UL << 20) + (0x1DUL << 12) + 0x104;
        Assert.That(window.TryDecode(address, out var decoded), Is.True);
        Assert.Multiple(() =>
        {
            Assert.That(decoded.Bus, Is.EqualTo(19), "bus = start + (offset >> 20)");
            Assert.That(decoded.Devfn, Is.EqualTo(0x1D));
            Assert.That(decoded.Device, Is.EqualTo(3));
            Assert.That(decoded.Function, Is.EqualTo(5));
            Assert.That(decoded.Register, Is.EqualTo(0x104));
            Assert.That(window.AddressOf(19, 0x1D, 0x104), Is.EqualTo(address));
            Assert.That(window.TryDecode(0x8000_0000UL + (16UL << 20), out _), Is.False, "one past the window");
            Assert.That(window.TryDecode(0x7FFF_FFFFUL, out _), Is.False, "below the window");
            Assert.That(window.TryDecode(0x80FF_FFFFUL, out var last), Is.True);
            Assert.That(last, Is.EqualTo(new EcamAddress(31, 0xFF, 0xFFF)));
        });

        var read = model.ReadEcam(0x8000_0000UL + 0x08, 4);
        Assert.Multiple(() =>
        {
            Assert.That(read.Value, Is.EqualTo(0x0604_0000UL));
            Assert.That(read.Address, Is.EqualTo(new EcamAddress(16, 0, 0x08)));
        });
    }

    [TestCase(0x7FFF_F000UL)]
    [TestCase(0x8100_0000UL)]
    [TestCase(0UL)]
    [TestCase(0x10_0000_0000UL)]
    public void address_in_no_window_is_no_root_complex(ulong address)
    {
        var model = Topo.Build("--pcie-root-complex rc0,start_bus=16,end_bus=31,ecam_base=0x80000000 --pcie-root-port rc0:rp0");
        var before = Topo.Snapshot(model);
        var read = model.ReadEcam(address, 4);
        var write = model.WriteEcam(address, 4, 0xFFFF_FFFF);
        Assert.Multiple(() =>
        {
            Assert.That(read.Status, Is.EqualTo(AccessStatus.NoRootComplex));
            Assert.That(read.Value, Is.EqualTo(0xFFFF_FFFFUL));
            Assert.That(model.ReadEcam(address, 1).Value, Is.EqualTo(0xFFUL));
            Assert.That(write.Status, Is.EqualTo(AccessStatus.NoRootComplex));
        });
        Topo.AssertUnchanged(before, Topo.Snapshot(model), "write outside every ECAM window");
    }
}
