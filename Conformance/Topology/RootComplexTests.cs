using System.Globalization;
using System.Text;
using PcieSim.Conformance.TestSupport;
using PcieSim.Functions;
using PcieSim.Topology;

namespace PcieSim.Conformance.Topology;

/// <summary>Mirrors OpenVMM <c>vm/devices/pci/pcie/src/root.rs</c> unit tests (reference 10.1, sections 1.3, 6).</summary>
[TestFixture]
public sealed class RootComplexTests
{
    private static string RootPorts(string rc, int count, string options = "")
    {
        var sb = new StringBuilder();
        for (int i = 0; i < count; i++)
        {
            sb.Append(CultureInfo.InvariantCulture, $" --pcie-root-port {rc}:rp{i}{options}");
        }

        return sb.ToString();
    }

    [TestCase(0, 255, 1)]
    [TestCase(0, 255, 4)]
    [TestCase(0, 255, 32)]
    [TestCase(0, 63, 64)]
    [TestCase(16, 31, 256)]
    public void test_create(int startBus, int endBus, int ports)
    {
        var model = Topo.Build(string.Create(CultureInfo.InvariantCulture, $"--pcie-root-complex rc0,start_bus={startBus},end_bus={endBus}") + RootPorts("rc0", ports));
        var rc = model.RootComplexes[0];
        Assert.Multiple(() =>
        {
            Assert.That(rc.RootPorts, Has.Count.EqualTo(ports));
            Assert.That(model.Ports, Has.Count.EqualTo(ports));
            Assert.That(rc.StartBus, Is.EqualTo(startBus));
            Assert.That(rc.EndBus, Is.EqualTo(endBus));
            Assert.That(rc.RootPorts.Select(p => (int)p.Devfn), Is.EqualTo(Enumerable.Range(0, ports)), "ports pack as functions from devfn 0");
        });
    }

    [Test]
    public void test_too_many_ports_returns_error()
    {
        Assert.Throws<InputException>(() => Topo.Build("--pcie-root-complex rc0" + RootPorts("rc0", 257)));
    }

    [TestCase(0, 0, 0x10_0000UL)]
    [TestCase(0, 1, 0x20_0000UL)]
    [TestCase(0, 255, 0x1000_0000UL)]
    [TestCase(128, 191, 0x400_0000UL)]
    public void test_ecam_size(int startBus, int endBus, ulong size)
    {
        var model = Topo.Build(string.Create(CultureInfo.InvariantCulture, $"--pcie-root-complex rc0,start_bus={startBus},end_bus={endBus}"));
        Assert.That(model.RootComplexes[0].Window.Size, Is.EqualTo(size));
    }

    [Test]
    public void test_probe_ports_via_config_space()
    {
        var model = Topo.Build("--pcie-root-complex rc0" + RootPorts("rc0", 4));
        var rc = model.RootComplexes[0];
        for (int devfn = 0; devfn < 4; devfn++)
        {
            ulong address = rc.Window.AddressOf(0, (byte)devfn, 0);
            Assert.Multiple(() =>
            {
                Assert.That(model.ReadEcam(address, 4).Value, Is.EqualTo(0xC030_1414UL), $"devfn {devfn} 32-bit");
                Assert.That(model.ReadEcam(address, 2).Value, Is.EqualTo(0x1414UL), $"devfn {devfn} vendor");
                Assert.That(model.ReadEcam(address + 2, 2).Value, Is.EqualTo(0xC030UL), $"devfn {devfn} device");
            });
        }

        for (int devfn = 4; devfn <= 9; devfn++)
        {
            ulong address = rc.Window.AddressOf(0, (byte)devfn, 0);
            var r32 = model.ReadEcam(address, 4);
            Assert.Multiple(() =>
            {
                Assert.That(r32.Value, Is.EqualTo(0xFFFF_FFFFUL), $"devfn {devfn} 32-bit");
                Assert.That(r32.Status, Is.EqualTo(AccessStatus.Unroutable));
                Assert.That(r32.Failure, Is.EqualTo(RouteFailure.NoFunctionAtDevfn));
                Assert.That(model.ReadEcam(address, 2).Value, Is.EqualTo(0xFFFFUL), $"devfn {devfn} vendor");
                Assert.That(model.ReadEcam(address + 2, 2).Value, Is.EqualTo(0xFFFFUL), $"devfn {devfn} device");
            });
        }
    }

    [Test]
    public void test_root_port_cfg_forwarding()
    {
        var model = Topo.Build("--pcie-root-complex rc0 --pcie-root-port rc0:rp0 --pcie-endpoint rp0:ep0,template=generic,device=0x1234");
        var rc = model.RootComplexes[0];
        Assert.That(model.Read(rc, 1, 0, 0, 4).Value, Is.EqualTo(0xFFFF_FFFFUL), "bus 1 before bus numbers are assigned");

        Assert.That(model.Read(rc, 0, 0, 0x19, 1).Value, Is.EqualTo(0UL), "secondary bus default");
        Assert.That(model.Read(rc, 0, 0, 0x1A, 1).Value, Is.EqualTo(0UL), "subordinate bus default");
        model.Write(rc, 0, 0, 0x19, 1, 1);
        model.Write(rc, 0, 0, 0x1A, 1, 1);
        Assert.That(model.Read(rc, 0, 0, 0x19, 1).Value, Is.EqualTo(1UL));
        Assert.That(model.Read(rc, 0, 0, 0x1A, 1).Value, Is.EqualTo(1UL));

        var read = model.Read(rc, 1, 0, 0, 4);
        Assert.That(read.Value, Is.EqualTo(0x1234_1414UL), "endpoint on bus 1");
        Assert.That(read.Function, Is.SameAs(model.FindEndpoint("ep0")));

        model.Write(rc, 0, 0, 0x19, 1, 2);
        model.Write(rc, 0, 0, 0x1A, 1, 2);
        Assert.Multiple(() =>
        {
            Assert.That(model.Read(rc, 2, 0, 0, 4).Value, Is.EqualTo(0x1234_1414UL), "endpoint moved to bus 2");
            Assert.That(model.Read(rc, 1, 0, 0, 4).Value, Is.EqualTo(0xFFFF_FFFFUL), "bus 1 no longer claimed");
            Assert.That(model.Read(rc, 1, 0, 0, 4).Failure, Is.EqualTo(RouteFailure.BusNotClaimed));
        });
    }

    [Test]
    public void test_reset()
    {
        var model = Topo.Build("--pcie-root-complex rc0 --pcie-root-port rc0:rp0 --pcie-root-port rc0:rp1");
        var rc = model.RootComplexes[0];
        model.Write(rc, 0, 1, 0x04, 2, 0x0006);
        Assert.That(model.Read(rc, 0, 1, 0x04, 2).Value, Is.EqualTo(0x0006UL));
        model.Reset();
        Assert.That(model.Read(rc, 0, 1, 0x04, 2).Value, Is.EqualTo(0UL), "command cleared by reset");
        model.Write(rc, 0, 1, 0x04, 2, 0x0002);
        Assert.That(model.Read(rc, 0, 1, 0x04, 2).Value, Is.EqualTo(0x0002UL), "command writable again after reset");
    }

    [TestCase("")]
    [TestCase(",hotplug")]
    public void test_root_port_hotplug_options(string options)
    {
        var model = Topo.Build("--pcie-root-complex rc0 --pcie-root-port rc0:rp0" + options);
        Assert.That(model.Read(model.RootComplexes[0], 0, 0, 0, 4).Value, Is.EqualTo(0xC030_1414UL));
    }

    [Test]
    public void test_root_port_invalid_bus_range_handling()
    {
        var model = Topo.Build("--pcie-root-complex rc0 --pcie-root-port rc0:rp0 --pcie-endpoint rp0:ep0,template=generic");
        var rc = model.RootComplexes[0];
        Assert.That(model.RootComplexes[0].RootPorts[0].AssignedBusRange.IsProgrammed, Is.False);
        for (int bus = 1; bus < 256; bus += 37)
        {
            var read = model.Read(rc, (byte)bus, 0, 0, 4);
            var write = model.Write(rc, (byte)bus, 0, 0x04, 2, 0xFFFF);
            Assert.Multiple(() =>
            {
                Assert.That(read.Status, Is.EqualTo(AccessStatus.Unroutable));
                Assert.That(read.Failure, Is.EqualTo(RouteFailure.BusNotClaimed));
                Assert.That(read.Value, Is.EqualTo(0xFFFF_FFFFUL));
                Assert.That(write.Status, Is.EqualTo(AccessStatus.Unroutable));
            });
        }

        Assert.That(model.FindEndpoint("ep0")!.Command, Is.EqualTo(0), "dropped writes never reached the endpoint");
    }

    [Test]
    public void test_bus_range_updated_on_cfg_write()
    {
        var model = Topo.Build("--pcie-root-complex rc0 --pcie-root-port rc0:rp0");
        var rc = model.RootComplexes[0];
        var port = rc.RootPorts[0];
        model.WriteEcam(rc.Window.AddressOf(0, 0, 0x18), 4, 0x000A_0500);
        Assert.That(port.AssignedBusRange, Is.EqualTo(new BusRange(5, 10)));
        model.WriteEcam(rc.Window.AddressOf(0, 0, 0x18), 4, 0x001E_1400);
        Assert.That(port.AssignedBusRange, Is.EqualTo(new BusRange(20, 30)));
        Assert.That(model.ReadEcam(rc.Window.AddressOf(0, 0, 0x18), 4).Value, Is.EqualTo(0x001E_1400UL));
    }

    [Test]
    public void test_rciep_ecam_read_write()
    {
        var model = Topo.Build("--pcie-root-complex rc0 --pcie-root-port rc0:rp0 --amd-iommu rc0");
        var rc = model.RootComplexes[0];
        Assert.That(rc.RootPorts[0].Devfn, Is.EqualTo(8), "root ports start at device 1 when the IOMMU sits at 00.0");
        Assert.Multiple(() =>
        {
            Assert.That(model.ReadEcam(rc.Window.Base, 4).Value, Is.EqualTo(0x1451_1022UL), "RCiEP at devfn 0");
            Assert.That(model.ReadEcam(rc.Window.Base + (8 * 4096), 4).Value, Is.EqualTo(0xC030_1414UL), "root port at devfn 8");
            Assert.That(model.ReadEcam(rc.Window.Base + (16 * 4096), 4).Value, Is.EqualTo(0xFFFF_FFFFUL), "device 2 is empty");
        });

        // The RCiEP takes writes to its writable registers (Command) through ECAM.
        model.WriteEcam(rc.Window.Base + 4, 2, 0x0004);
        Assert.That(model.ReadEcam(rc.Window.Base + 4, 2).Value, Is.EqualTo(0x0004UL));
        Assert.That(rc.Iommu!.Command, Is.EqualTo(0x0004));
    }

    [Test]
    public void test_rciep_function0_fallback()
    {
        var model = Topo.Build("--pcie-root-complex rc0 --pcie-root-port rc0:rp0 --amd-iommu rc0");
        var rc = model.RootComplexes[0];
        for (int devfn = 1; devfn < 8; devfn++)
        {
            var read = model.Read(rc, 0, (byte)devfn, 0, 4);
            Assert.Multiple(() =>
            {
                Assert.That(read.Value, Is.EqualTo(0xFFFF_FFFFUL), $"devfn {devfn}");
                Assert.That(read.Failure, Is.EqualTo(RouteFailure.RciepFunctionNotImplemented));
                Assert.That(read.StoppedAt, Is.SameAs(rc.Iommu));
            });
        }
    }

    [Test]
    public void test_multi_function_header_bit()
    {
        var two = Topo.Build("--pcie-root-complex rc0" + RootPorts("rc0", 2));
        var one = Topo.Build("--pcie-root-complex rc0" + RootPorts("rc0", 1));
        Assert.Multiple(() =>
        {
            Assert.That(Topo.Read32(two, two.RootComplexes[0], 0, 0, 0x0C), Is.EqualTo(0x0081_0000u));
            Assert.That(Topo.Read32(two, two.RootComplexes[0], 0, 1, 0x0C), Is.EqualTo(0x0081_0000u));
            Assert.That(Topo.Read32(one, one.RootComplexes[0], 0, 0, 0x0C), Is.EqualTo(0x0001_0000u));
        });
    }

    [Test]
    public void test_multi_function_bit_is_per_device()
    {
        var model = Topo.Build("--pcie-root-complex rc0 --pcie-root-port rc0:rp0,addr=1 --pcie-root-port rc0:rp1,addr=2");
        var rc = model.RootComplexes[0];
        Assert.Multiple(() =>
        {
            Assert.That(Topo.Read32(model, rc, 0, 8, 0x0C), Is.EqualTo(0x0001_0000u));
            Assert.That(Topo.Read32(model, rc, 0, 16, 0x0C), Is.EqualTo(0x0001_0000u));
        });
    }

    [Test]
    public void test_devfn_auto_allocation()
    {
        var model = Topo.Build("--pcie-root-complex rc0" + RootPorts("rc0", 10));
        var rc = model.RootComplexes[0];
        Assert.That(rc.RootPorts.Select(p => (int)p.Devfn), Is.EqualTo(Enumerable.Range(0, 10)));
        for (int devfn = 0; devfn < 10; devfn++)
        {
            Assert.That(Topo.Read32(model, rc, 0, devfn, 0), Is.EqualTo(0xC030_1414u), $"devfn {devfn}");
            Assert.That(Topo.Read32(model, rc, 0, devfn, 0x0C), Is.EqualTo(0x0081_0000u), $"devfn {devfn}: devices 0 and 1 both host several ports");
        }

        Assert.That(model.Read(rc, 0, 10, 0, 4).Value, Is.EqualTo(0xFFFF_FFFFUL));
    }

    [Test]
    public void test_devfn_auto_allocation_respects_first_device()
    {
        var model = Topo.Build("--pcie-root-complex rc0 --amd-iommu rc0" + RootPorts("rc0", 3));
        Assert.That(model.RootComplexes[0].RootPorts.Select(p => (int)p.Devfn), Is.EqualTo(new[] { 8, 9, 10 }));
    }

    [Test]
    public void test_devfn_auto_allocation_explicit_and_auto_mix()
    {
        var model = Topo.Build("--pcie-root-complex rc0 --pcie-root-port rc0:rp0,addr=3 --pcie-root-port rc0:rp1 --pcie-root-port rc0:rp2");
        var byName = model.RootComplexes[0].RootPorts.ToDictionary(p => p.Name, p => (int)p.Devfn, StringComparer.Ordinal);
        Assert.Multiple(() =>
        {
            Assert.That(byName["rp0"], Is.EqualTo(24));
            Assert.That(byName["rp1"], Is.EqualTo(0));
            Assert.That(byName["rp2"], Is.EqualTo(1));
        });
    }

    [Test]
    public void test_devfn_auto_allocation_explicit_duplicate_conflicts()
    {
        Assert.Throws<InputException>(() => Topo.Build("--pcie-root-complex rc0 --pcie-root-port rc0:rp0,addr=3 --pcie-root-port rc0:rp1,addr=3"));
    }

    [Test]
    public void test_devfn_auto_allocation_nonzero_function_without_function_zero_fails()
    {
        Assert.Throws<InputException>(() => Topo.Build("--pcie-root-complex rc0 --pcie-root-port rc0:rp0,addr=3.1"));
    }

    [Test]
    public void test_devfn_auto_allocation_function_zero_present_allows_higher_functions()
    {
        var model = Topo.Build("--pcie-root-complex rc0 --pcie-root-port rc0:rp0,addr=3.0 --pcie-root-port rc0:rp1,addr=3.1");
        var rc = model.RootComplexes[0];
        Assert.Multiple(() =>
        {
            Assert.That(Topo.Read32(model, rc, 0, 25, 0), Is.EqualTo(0xC030_1414u));
            Assert.That(Topo.Read32(model, rc, 0, 24, 0x0C), Is.EqualTo(0x0081_0000u));
        });
    }
}
