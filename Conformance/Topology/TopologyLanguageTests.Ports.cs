using PcieSim.Topology.Language;

namespace PcieSim.Conformance.Topology;

public partial class TopologyLanguageTests
{
    /// <summary>One root complex (with an AMD IOMMU when <paramref name="firstDevice"/> is 1) and ports written as NAME[,addr=...].</summary>
    private static string PortsText(int firstDevice, params string[] ports) =>
        "--pcie-root-complex rc0,segment=1" + (firstDevice == 1 ? " --amd-iommu rc0" : string.Empty)
        + string.Concat(ports.Select(p => " --pcie-root-port rc0:" + p));

    private static IReadOnlyList<RootPortSpec> Ports(int firstDevice, params string[] ports) =>
        Parse(PortsText(firstDevice, ports)).RootComplexes.Single().Ports;

    private static InputException PortsFail(int firstDevice, params string[] ports) =>
        Assert.Throws<InputException>(() => Parse(PortsText(firstDevice, ports)))!;

    [Test]
    public void test_devfn_auto_allocation()
    {
        Assert.That(Ports(0, "a", "b", "c").Select(p => (p.Name, p.Devfn)), Is.EqualTo(new[] { ("a", (byte)0), ("b", (byte)1), ("c", (byte)2) }));
    }

    [Test]
    public void test_devfn_auto_allocation_packs_functions_then_devices()
    {
        IReadOnlyList<RootPortSpec> ports = Ports(0, Enumerable.Range(0, 10).Select(i => "p" + i).ToArray());
        Assert.That(ports.Select(p => (int)p.Devfn), Is.EqualTo(Enumerable.Range(0, 10)));
    }

    [Test]
    public void test_devfn_auto_allocation_respects_first_device()
    {
        Assert.That(Ports(1, "a", "b").Select(p => (p.Name, p.Devfn)), Is.EqualTo(new[] { ("a", (byte)8), ("b", (byte)9) }));
    }

    [Test]
    public void test_devfn_explicit_and_auto_mix()
    {
        IReadOnlyList<RootPortSpec> ports = Ports(0, "a,addr=0", "b", "c,addr=2");
        Assert.Multiple(() =>
        {
            Assert.That(ports.Select(p => (p.Name, p.Devfn)), Is.EqualTo(new[] { ("a", (byte)0), ("b", (byte)1), ("c", (byte)16) }));
            Assert.That(ports.Select(p => p.ExplicitAddress), Is.EqualTo(new[] { true, false, true }));
        });
    }

    [Test]
    public void test_devfn_none_then_explicit_zero_conflicts()
    {
        InputException error = PortsFail(0, "a", "b,addr=0");
        Assert.Multiple(() =>
        {
            Assert.That(error.Message, Does.Contain("devfn 00.0 of root complex 'rc0' is already taken by port 'a'"));
            Assert.That(error.Message, Does.Contain("ports 'a' and 'b' conflict"));
            // "--pcie-root-complex rc0,segment=1 --pcie-root-port rc0:a --pcie-root-port " is 74 characters, then "rc0:b,".
            Assert.That(error.Column, Is.EqualTo(81));
        });
    }

    [Test]
    public void test_devfn_explicit_duplicate_conflicts()
    {
        InputException error = PortsFail(0, "z,addr=0", "a,addr=0.5", "b,addr=0.5");
        Assert.That(error.Message, Does.Contain("--pcie-root-port rc0:b,addr=0.5: devfn 00.5 of root complex 'rc0' is already taken by port 'a'"));
    }

    [Test]
    public void test_devfn_nonzero_function_without_function_zero_fails()
    {
        InputException error = PortsFail(0, "a,addr=5.1");
        Assert.Multiple(() =>
        {
            Assert.That(error.Message, Does.Contain("port 'a' at 05.1 has no port at function 0 of device 5"));
            Assert.That(error.Message, Does.Contain("undiscoverable"));
        });
    }

    [Test]
    public void test_devfn_function_zero_present_allows_higher_functions()
    {
        IReadOnlyList<RootPortSpec> ports = Ports(0, "b,addr=5.1", "a,addr=5");
        Assert.Multiple(() =>
        {
            Assert.That(ports.Select(p => p.Devfn), Is.EqualTo(new byte[] { 0x29, 0x28 }));
            Assert.That(ports.Select(p => p.MultiFunction), Is.EqualTo(new[] { true, true }));
        });
    }

    [Test]
    public void test_too_many_ports_returns_error()
    {
        Assert.That(Ports(0, Enumerable.Range(0, 256).Select(i => "p" + i).ToArray()).Last().Devfn, Is.EqualTo(0xFF));
        InputException error = PortsFail(0, Enumerable.Range(0, 257).Select(i => "p" + i).ToArray());
        Assert.That(error.Message, Does.Contain("too many root ports on root complex 'rc0': 257 given, at most 256 fit"));
    }

    [Test]
    public void test_too_many_ports_with_first_device_1()
    {
        InputException error = Assert.Throws<InputException>(() => Parse(
            "--pcie-root-complex rc0,segment=1 --amd-iommu rc0"
            + string.Concat(Enumerable.Range(0, 249).Select(i => $" --pcie-root-port rc0:p{i}"))))!;
        Assert.That(error.Message, Does.Contain("--pcie-root-port rc0:p248: too many root ports on root complex 'rc0': 249 given, at most 248 fit"));
    }

    [TestCase(1, 4)]
    [TestCase(4, 4)]
    [TestCase(32, 4)]
    [TestCase(64, 4)]
    [TestCase(256, 8)]
    public void test_create(int count, int devicesToCheck)
    {
        IReadOnlyList<RootPortSpec> ports = Ports(0, Enumerable.Range(0, count).Select(i => "p" + i).ToArray());
        Assert.Multiple(() =>
        {
            Assert.That(ports, Has.Count.EqualTo(count));
            Assert.That(ports.Select(p => (int)p.SlotNumber), Is.EqualTo(Enumerable.Range(1, count)));
            Assert.That(ports.Take(devicesToCheck).Select(p => p.MultiFunction), Has.All.EqualTo(count > 1));
        });
    }

    [Test]
    public void test_multi_function_header_bit()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Ports(0, "a", "b").Select(p => p.MultiFunction), Is.EqualTo(new[] { true, true }));
            Assert.That(Ports(0, "a").Single().MultiFunction, Is.False);
        });
    }

    [Test]
    public void test_multi_function_bit_is_per_device()
    {
        IReadOnlyList<RootPortSpec> ports = Ports(0, "a,addr=1", "b,addr=2", "c,addr=3", "d,addr=3.1");
        Assert.Multiple(() =>
        {
            Assert.That(ports.Select(p => p.Devfn), Is.EqualTo(new byte[] { 8, 16, 24, 25 }));
            Assert.That(ports.Select(p => p.MultiFunction), Is.EqualTo(new[] { false, false, true, true }));
        });
    }

    [Test]
    public void slot_numbers_follow_flag_order_per_root_complex_whatever_the_address()
    {
        TopologySpec spec = Parse(
            "--pcie-root-complex rc0,end_bus=127 --pcie-root-complex rc1,start_bus=128 --pcie-root-port rc0:a,addr=7 "
            + "--pcie-root-port rc1:x --pcie-root-port rc0:b,hotplug --pcie-root-port rc0:c,addr=1 --pcie-root-port rc1:y");
        Assert.Multiple(() =>
        {
            Assert.That(Rc(spec, "rc0").Ports.Select(p => (p.Name, p.SlotNumber, p.Devfn)),
                Is.EqualTo(new[] { ("a", (ushort)1, (byte)56), ("b", (ushort)2, (byte)0), ("c", (ushort)3, (byte)8) }));
            Assert.That(Rc(spec, "rc1").Ports.Select(p => (p.Name, p.SlotNumber, p.Devfn)),
                Is.EqualTo(new[] { ("x", (ushort)1, (byte)0), ("y", (ushort)2, (byte)1) }));
        });
    }

    [Test]
    public void test_pcie_root_port_from_str()
    {
        TopologySpec spec = Parse("""
            --pcie-root-complex rc0,end_bus=99 --pcie-root-complex my_rc,start_bus=100
            --pcie-root-port rc0:rc0rp0
            --pcie-root-port my_rc:port2,hotplug
            --pcie-root-port rc0:rc0rp2,addr=5
            --pcie-root-port rc0:rc0rp3,addr=5.1,acs=0x1F,pasid
            --pcie-root-port rc0:last,addr=0x1f.7,hotplug,cc,acs=0
            --pcie-root-port rc0:fn0,addr=0x1F
            """);
        Assert.Multiple(() =>
        {
            Assert.That(Port(spec, "rc0rp0").Options, Is.EqualTo(new PortOptions(false, false, 0x005F, false)));
            Assert.That(Port(spec, "port2").RootComplex, Is.EqualTo("my_rc"));
            Assert.That(Port(spec, "port2").Options.Hotplug, Is.True);
            Assert.That(Port(spec, "rc0rp2").Devfn, Is.EqualTo(0x28));
            Assert.That(Port(spec, "rc0rp3").Devfn, Is.EqualTo(0x29));
            Assert.That(Port(spec, "rc0rp3").Options, Is.EqualTo(new PortOptions(false, false, 0x1F, true)));
            Assert.That(Port(spec, "last").Devfn, Is.EqualTo(0xFF));
            Assert.That(Port(spec, "last").Options, Is.EqualTo(new PortOptions(true, true, 0, false)));
            Assert.That(Port(spec, "fn0").Devfn, Is.EqualTo(0xF8));
        });
    }

    // "--pcie-root-complex rc0" on line 1; the port flag's value starts at column 18 of line 2.
    [TestCase("rp0", 18, "expected RC:NAME, found 'rp0'")]
    [TestCase("rp0,opt", 22, "unknown option 'opt' (allowed: addr=, hotplug, cc, acs=, pasid)")]
    [TestCase("rc0:rp0:rp3", 18, "expected RC:NAME, found 'rc0:rp0:rp3'")]
    [TestCase("rc0:rp0,invalid_option", 26, "unknown option 'invalid_option'")]
    [TestCase("rc0:p,addr=32", 29, "addr=32: device 32 is out of range (allowed 0..31)")]
    [TestCase("rc0:p,addr=0.8", 31, "addr=0.8: function 8 is out of range (allowed 0..7)")]
    [TestCase("rc0:p,addr=x", 29, "addr=x: expected D or D.F")]
    [TestCase("rc0:p,addr=1.", 31, "addr=1.: expected D or D.F")]
    [TestCase("rc0:p,cc", 24, "'cc' (command completed) needs 'hotplug'")]
    [TestCase("rc0:p,acs=0x10000", 28, "acs=0x10000 is out of range (allowed 0..0xffff)")]
    [TestCase("rc0:p,hotplug=1", 24, "'hotplug' is a bare flag and takes no value")]
    [TestCase("rc0:,hotplug", 22, "missing root port name")]
    [TestCase(":p", 18, "missing root complex name")]
    [TestCase("rc0:p,cxl", 24, "cxl is not modelled")]
    [TestCase("rc0:p,,hotplug", 24, "empty option (stray comma)")]
    [TestCase(",hotplug", 18, "missing RC:NAME before the first comma")]
    public void test_pcie_root_port_from_str_errors(string value, int column, string fragment)
    {
        Fails("--pcie-root-complex rc0\n--pcie-root-port " + value, 2, column, "--pcie-root-port " + value + ": ", fragment);
    }

    [Test]
    public void root_port_on_unknown_root_complex_is_rejected()
    {
        InputException error = Fails(
            "--pcie-root-complex rc0\n--pcie-root-complex rc1,segment=1\n--pcie-root-port rc9:p0", 3, 18);
        Assert.That(error.Message, Is.EqualTo("--pcie-root-port rc9:p0: unknown root complex 'rc9' (known: rc0, rc1)"));
    }

    [Test]
    public void root_port_may_precede_its_root_complex()
    {
        TopologySpec spec = Parse("--pcie-root-port rc0:p0 --pcie-root-port rc0:p1\n--pcie-root-complex rc0");
        Assert.That(spec.RootComplexes.Single().Ports.Select(p => (p.Name, p.Devfn)), Is.EqualTo(new[] { ("p0", (byte)0), ("p1", (byte)1) }));
    }

    private const string SwitchPrefix =
        "--pcie-root-complex rc0 --pcie-root-port rc0:rp0 --pcie-root-port rc0:port1 --pcie-root-port rc0:rp2 "
        + "--pcie-root-port rc0:rp9 --pcie-switch rp9:switch0 ";

    [TestCase("rp0:switch0a", "rp0", "switch0a", 4, false)]
    [TestCase("port1:my_switch,num_downstream_ports=4", "port1", "my_switch", 4, false)]
    [TestCase("rp2:sw,num_downstream_ports=8", "rp2", "sw", 8, false)]
    [TestCase("switch0-downstream-1:child_switch", "switch0-downstream-1", "child_switch", 4, false)]
    [TestCase("rp0:switch0a,hotplug", "rp0", "switch0a", 4, true)]
    [TestCase("rp0:switch0a,num_downstream_ports=8,hotplug", "rp0", "switch0a", 8, true)]
    [TestCase("rp0:big,num_downstream_ports=255", "rp0", "big", 255, false)]
    public void test_pcie_switch_from_str(string value, string parent, string name, int ports, bool hotplug)
    {
        SwitchSpec sw = Parse(SwitchPrefix + "--pcie-switch " + value).Switches.Single(s => s.Name == name);
        Assert.Multiple(() =>
        {
            Assert.That(sw.ParentPort, Is.EqualTo(parent));
            Assert.That(sw.DownstreamPorts, Has.Count.EqualTo(ports));
            Assert.That(sw.Options, Is.EqualTo(new PortOptions(hotplug, false, 0x005F, false)));
            Assert.That(sw.DownstreamPorts[^1].Name, Is.EqualTo($"{name}-downstream-{ports - 1}"));
        });
    }

    // Line 2 is "--pcie-switch VALUE"; the value starts at column 15.
    [TestCase("switch0", 15, "expected PARENT_PORT:NAME, found 'switch0'")]
    [TestCase("rp0:switch0:extra", 15, "expected PARENT_PORT:NAME")]
    [TestCase("rp0:s,invalid_opt=value", 21, "unknown option 'invalid_opt' (allowed: num_downstream_ports=, hotplug, cc, acs=, pasid)")]
    [TestCase("rp0:s,num_downstream_ports=bad", 42, "num_downstream_ports=bad: expected a number")]
    [TestCase("rp0:s,num_downstream_ports=", 21, "'num_downstream_ports=' has an empty value")]
    [TestCase("rp0:s,invalid_flag", 21, "unknown option 'invalid_flag'")]
    [TestCase("rp0:s,num_downstream_ports=0", 42, "num_downstream_ports=0 is out of range (allowed 1..255)")]
    [TestCase("rp0:s,num_downstream_ports=256", 42, "num_downstream_ports=256 is out of range (allowed 1..255)")]
    [TestCase("rp0:s,cc", 21, "'cc' (command completed) needs 'hotplug'")]
    [TestCase("rp0:s,cxl", 21, "cxl is not modelled")]
    [TestCase("rp0:s,acs=0x1ffff", 25, "acs=0x1ffff is out of range (allowed 0..0xffff)")]
    public void test_pcie_switch_from_str_errors(string value, int column, string fragment)
    {
        Fails(SwitchPrefix + "\n--pcie-switch " + value, 2, column, "--pcie-switch " + value + ": ", fragment);
    }

    [Test]
    public void switch_downstream_ports_are_packed_with_slot_numbers_and_per_device_multi_function()
    {
        TopologySpec spec = Parse(
            "--pcie-root-complex rc0 --pcie-root-port rc0:rp0 --pcie-root-port rc0:rp1 --pcie-root-port rc0:rp2 "
            + "--pcie-switch rp0:ten,num_downstream_ports=10,hotplug,cc,acs=0x1f,pasid "
            + "--pcie-switch rp1:nine,num_downstream_ports=9 --pcie-switch rp2:one,num_downstream_ports=1");
        SwitchSpec ten = spec.Switches[0];
        Assert.Multiple(() =>
        {
            Assert.That(ten.Options, Is.EqualTo(new PortOptions(true, true, 0x1F, true)));
            Assert.That(ten.DownstreamPorts.Select(p => p.Index), Is.EqualTo(Enumerable.Range(0, 10)));
            Assert.That(ten.DownstreamPorts.Select(p => (int)p.Devfn), Is.EqualTo(Enumerable.Range(0, 10)));
            Assert.That(ten.DownstreamPorts.Select(p => (int)p.SlotNumber), Is.EqualTo(Enumerable.Range(1, 10)));
            Assert.That(ten.DownstreamPorts[9].Name, Is.EqualTo("ten-downstream-9"));
            Assert.That(ten.DownstreamPorts.Select(p => p.MultiFunction), Has.All.True);
            Assert.That(spec.Switches[1].DownstreamPorts[7].MultiFunction, Is.True);
            Assert.That(spec.Switches[1].DownstreamPorts[8].MultiFunction, Is.False, "nine-downstream-8 is alone on device 1");
            Assert.That(spec.Switches[2].DownstreamPorts.Single().MultiFunction, Is.False);
        });
    }

    [Test]
    public void switch_may_precede_its_parent()
    {
        TopologySpec spec = Parse(
            "--pcie-switch sw0-downstream-3:sw1 --pcie-switch rp:sw0 --pcie-root-port rc:rp --pcie-root-complex rc");
        Assert.That(spec.Switches.Select(s => (s.Name, s.ParentPort)), Is.EqualTo(new[] { ("sw1", "sw0-downstream-3"), ("sw0", "rp") }));
    }

    [Test]
    public void switch_errors_after_resolution()
    {
        const string Rc = "--pcie-root-complex rc0 --pcie-root-port rc0:rp0\n";
        Fails(Rc + "--pcie-switch nope:s", 2, 15, "--pcie-switch nope:s: unknown port 'nope' (known ports: rp0, s-downstream-0");
        Fails(Rc + "--pcie-switch rc0:s", 2, 15, "'rc0' is a root complex", "not a port");
        Fails(Rc + "--pcie-switch rp0:a --pcie-switch a:b", 2, 35, "'a' is a switch", "not a port");
        Fails(
            Rc + "--pcie-switch rp0:a --pcie-switch rp0:b",
            2,
            35,
            "port 'rp0' already holds switch 'a' ('--pcie-switch rp0:a' at test.topo:2:1)",
            "switch 'b' cannot attach there too");
        Fails(
            Rc + "--pcie-endpoint rp0:e,template=nvme --pcie-switch rp0:b",
            2,
            51,
            "port 'rp0' already holds endpoint 'e'");
        Fails(
            Rc + "--pcie-switch a-downstream-0:b --pcie-switch b-downstream-1:a",
            2,
            15,
            "switch 'b' has no path to a root port: its parent ports form a cycle (b -> a -> b)");
        Fails(Rc + "--pcie-switch s-downstream-0:s", 2, 15, "switch 's' has no path to a root port", "(s -> s)");
    }

    [Test]
    public void names_must_be_unique_across_everything()
    {
        Fails(
            "--pcie-root-complex rc0 --pcie-root-port rc0:rc0",
            1,
            46,
            "name 'rc0' is used twice: by the root complex of '--pcie-root-complex rc0' at test.topo:1:1 and by the root port here");
        Fails(
            "--pcie-root-complex rc0 --pcie-root-port rc0:p --pcie-root-port rc0:sw-downstream-1\n--pcie-switch p:sw",
            2,
            17,
            "name 'sw-downstream-1' is used twice",
            "by the root port of '--pcie-root-port rc0:sw-downstream-1'",
            "by the downstream port 1 of switch 'sw' here");
        Fails(
            "--pcie-endpoint e,template=nvme\n--pcie-endpoint e,template=generic",
            2,
            17,
            "name 'e' is used twice: by the endpoint of '--pcie-endpoint e,template=nvme' at test.topo:1:1");
        Fails("--pcie-root-complex x\n--pcie-root-complex x,segment=1", 2, 21, "name 'x' is used twice");
    }
}
