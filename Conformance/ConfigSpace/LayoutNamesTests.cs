using PcieSim.ConfigSpace;
using PcieSim.Conformance.TestSupport;
using PcieSim.Functions;

namespace PcieSim.Conformance.ConfigSpace;

/// <summary>
/// Register names shared by a model's functions of one shape (<see cref="LayoutNames"/>): a function named through the
/// shared names reads exactly as through its own layout.
/// </summary>
[TestFixture]
public sealed class LayoutNamesTests
{
    // Root ports with and without hot-plug, ACS and PASID, switch ports, several endpoint templates, the IOMMU.
    private const string Varied =
        "--gic-msi its --pcie-root-complex rc0 --amd-iommu rc0 " +
        "--pcie-root-port rc0:rp0,hotplug --pcie-root-port rc0:rp1,hotplug --pcie-root-port rc0:rp2 " +
        "--pcie-root-port rc0:rp3,hotplug,acs=0 --pcie-root-port rc0:rp4,hotplug,pasid " +
        "--pcie-switch rp2:sw0,num_downstream_ports=2,hotplug --pcie-switch sw0-downstream-1:sw1,num_downstream_ports=2 " +
        "--pcie-endpoint rp0:ep0,template=generic,bar0=16K,msix=4 --pcie-endpoint rp1:ep1,template=generic,bar0=16K,msix=4 " +
        "--pcie-endpoint rp3:ep2,template=generic,msi=4 --pcie-endpoint rp4:nvme0,template=nvme " +
        "--pcie-endpoint sw0-downstream-0:nvme1,template=nvme --pcie-endpoint sw1-downstream-0:ep3,template=generic,msi=1,msix=8";

    [Test]
    public void functions_of_one_shape_share_names_and_others_do_not()
    {
        var model = Topo.Build(Varied);
        PcieFunction F(string name) => model.Functions.Single(f => f.Name == name);

        // Slot numbers differ (reset values), names do not.
        Assert.That(((DownstreamPort)F("rp0")).SlotNumber, Is.Not.EqualTo(((DownstreamPort)F("rp1")).SlotNumber));
        Assert.That(F("rp1").Names, Is.SameAs(F("rp0").Names));
        Assert.That(F("ep1").Names, Is.SameAs(F("ep0").Names));
        Assert.That(F("nvme1").Names, Is.SameAs(F("nvme0").Names));
        Assert.That(F("sw1-downstream-0").Names, Is.SameAs(F("sw0-downstream-0").Names));

        // Another capability list (no ACS), another device: names of their own.
        Assert.That(F("rp3").Names, Is.Not.SameAs(F("rp0").Names));
        Assert.That(F("ep2").Names, Is.Not.SameAs(F("ep0").Names));
        Assert.That(F("ep3").Names, Is.Not.SameAs(F("ep0").Names));
        Assert.That(F("nvme0").Names, Is.Not.SameAs(F("ep0").Names));
        Assert.That(F("rc0-iommu").Names, Is.Not.SameAs(F("ep0").Names));
    }

    [Test]
    public void a_function_alone_has_its_layout_s_names()
    {
        var endpoint = new Endpoint(Topo.Build("--pcie-root-complex rc0 --pcie-root-port rc0:rp0 --pcie-endpoint rp0:ep0,template=nvme").Spec.Endpoints[0]);
        Assert.That(endpoint.Names, Is.SameAs(endpoint.Layout.Names));
    }

    [TestCase(Varied)]
    [TestCase("--pcie-root-complex rc0,start_bus=0,end_bus=63 --pcie-root-port rc0:rc0-rp0,hotplug --pcie-root-port rc0:rc0-rp1,hotplug --pcie-switch rc0-rp1:sw,num_downstream_ports=4,hotplug --pcie-endpoint rc0-rp0:ep,template=generic,bar0=16K,msix=4 --pcie-endpoint sw-downstream-3:deep,template=nvme")]
    public void shared_names_name_every_access_and_register_as_the_function_s_own_layout(string flags)
    {
        var model = Topo.Build(flags);
        foreach (var function in model.Functions)
        {
            var own = function.Layout.Names;
            for (int offset = 0; offset < ConfigSpaceLayout.Size; offset++)
            {
                foreach (int width in new[] { 1, 2, 4 })
                {
                    if (offset % width == 0)
                    {
                        Assert.That(function.Names.QualifiedAccessName(offset, width), Is.EqualTo(own.QualifiedAccessName(offset, width)), $"{function.Name} 0x{offset:x3} w{width}");
                    }
                }

                var shared = function.Names.RegisterAt(offset);
                var mine = own.RegisterAt(offset);
                Assert.That(Describe(shared), Is.EqualTo(Describe(mine)), $"{function.Name} register at 0x{offset:x3}");
            }
        }
    }

    [Test]
    public void shape_leaves_out_reset_values_only()
    {
        var model = Topo.Build(Varied);
        var rp0 = model.Functions.Single(f => f.Name == "rp0");
        var rp1 = model.Functions.Single(f => f.Name == "rp1");
        Assert.That(LayoutNames.ByShape.Equals(rp1.Layout.Names, rp0.Layout.Names), Is.True);
        Assert.That(LayoutNames.ByShape.GetHashCode(rp1.Layout.Names), Is.EqualTo(LayoutNames.ByShape.GetHashCode(rp0.Layout.Names)));
        Assert.That(rp1.Layout.Registers.Select(r => r.ResetValue), Is.Not.EqualTo(rp0.Layout.Registers.Select(r => r.ResetValue)));
    }

    /// <summary>Each thing a name depends on, changed alone in a copy of a layout, makes another shape.</summary>
    [TestCase("register name")]
    [TestCase("register size")]
    [TestCase("field name")]
    [TestCase("field bit")]
    [TestCase("field width")]
    [TestCase("register left out")]
    [TestCase("capability left out")]
    public void shape_tells_apart_every_part_of_a_name(string change)
    {
        var model = Topo.Build(Varied);
        var layout = model.Functions.Single(f => f.Name == "rp0").Layout;
        var registers = layout.Registers.ToList();
        var capabilities = layout.Capabilities.ToList();
        int i = registers.FindIndex(r => r.Fields.Count > 1);
        var r = registers[i];
        var f0 = r.Fields[0];
        switch (change)
        {
            case "register name": registers[i] = r with { Name = r.Name + "X" }; break;
            case "register size": registers[i] = r with { Size = r.Size == 4 ? 2 : 4 }; break;
            case "field name": registers[i] = r with { Fields = [f0 with { Name = f0.Name + "X" }, .. r.Fields.Skip(1)] }; break;
            case "field bit": registers[i] = r with { Fields = [f0 with { Bit = f0.Bit + 1 }, .. r.Fields.Skip(1)] }; break;
            case "field width": registers[i] = r with { Fields = [f0 with { Width = f0.Width + 1 }, .. r.Fields.Skip(1)] }; break;
            case "register left out": registers.RemoveAt(registers.Count - 1); break;
            case "capability left out": capabilities.RemoveAt(capabilities.Count - 1); break;
        }

        var same = new ConfigSpaceLayout(layout.Registers, layout.Capabilities);
        var changed = new ConfigSpaceLayout(registers, capabilities);
        Assert.That(LayoutNames.ByShape.Equals(same.Names, layout.Names), Is.True, "an unchanged copy");
        Assert.That(LayoutNames.ByShape.Equals(changed.Names, layout.Names), Is.False, change);
        Assert.That(LayoutNames.ByShape.Equals(layout.Names, changed.Names), Is.False, change);
    }

    /// <summary>What a snapshot uses of a register: name, offset, size and fields.</summary>
    private static string? Describe(RegisterDefinition? register) =>
        register is null ? null : $"{register.Name}@{register.Offset}+{register.Size}: " + string.Join(' ', register.Fields.Select(f => $"{f.Name}@{f.Bit}+{f.Width}"));
}
