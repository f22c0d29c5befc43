using PcieSim.ConfigSpace;
using PcieSim.Conformance.TestSupport;

namespace PcieSim.Conformance.ConfigSpace;

/// <summary>Capability lists as a guest walks them (reference 2.2, 3.3; anchors 6 item 6; BSA p032).</summary>
[TestFixture]
public sealed class CapabilityChainTests
{
    private const string Rc = "--pcie-root-complex rc0 --pcie-root-port rc0:rp0";

    [TestCase(Rc, "rp0", "40:10 7C:05 100:000D")]
    [TestCase(Rc + ",acs=0", "rp0", "40:10 7C:05")]
    [TestCase(Rc + " --pcie-switch rp0:sw0,num_downstream_ports=1", "sw0", "40:10")]
    [TestCase(Rc + " --pcie-switch rp0:sw0,num_downstream_ports=1", "sw0-downstream-0", "40:10 7C:05 100:000D")]
    [TestCase(Rc + " --pcie-endpoint rp0:nvme0,template=nvme", "nvme0", "40:11 4C:10")]
    [TestCase(Rc + " --pcie-endpoint rp0:ep0,template=generic,msi=4", "ep0", "40:05 58:10")]
    [TestCase(Rc + " --pcie-endpoint rp0:ep0,template=generic,msi=1,msix=8", "ep0", "40:05 58:11 64:10")]
    [TestCase(Rc + " --pcie-endpoint rp0:ep0,template=generic", "ep0", "40:10")]
    [TestCase(Rc + " --amd-iommu rc0", "rc0-iommu", "40:0F 54:05")]
    public void guest_walk_finds_the_declared_capabilities(string flags, string name, string expected)
    {
        var model = Topo.Build(flags);
        var function = model.Functions.Single(f => f.Name == name);
        bool extended = function.Layout.Capabilities.Any(c => c.Id == 0x10 && !c.Extended);
        var walk = CapabilityChain.Walk(i => function.Config.Read(i), extended);
        string text = string.Join(' ', walk.Select(e => e.Extended
            ? e.Offset.ToString("X3", System.Globalization.CultureInfo.InvariantCulture) + ":" + e.Id.ToString("X4", System.Globalization.CultureInfo.InvariantCulture)
            : e.Offset.ToString("X2", System.Globalization.CultureInfo.InvariantCulture) + ":" + e.Id.ToString("X2", System.Globalization.CultureInfo.InvariantCulture)));
        Assert.That(text, Is.EqualTo(expected));
        Assert.That(walk.Select(e => e.Offset), Is.EqualTo(function.Layout.Capabilities.Select(c => c.Offset)));
        uint pointer = function.ReadDword(0x34) & 0xFF;
        Assert.That(pointer, Is.InRange(0x40u, 0xFCu), "BSA p032: capability pointer nonzero, in 0x40..0xFC");
        Assert.That(pointer & 3, Is.Zero);
    }

    [Test]
    public void walk_rejects_a_loop()
    {
        var dwords = new uint[1024];
        dwords[1] = 0x0010_0000;
        dwords[0x34 >> 2] = 0x40;
        dwords[0x40 >> 2] = 0x0000_4405;
        dwords[0x44 >> 2] = 0x0000_4010;
        Assert.Throws<InvalidOperationException>(() => CapabilityChain.Walk(i => dwords[i], hasExtendedSpace: false));
    }

    [Test]
    public void walk_rejects_a_misaligned_pointer()
    {
        var dwords = new uint[1024];
        dwords[1] = 0x0010_0000;
        dwords[0x34 >> 2] = 0x41;
        Assert.Throws<InvalidOperationException>(() => CapabilityChain.Walk(i => dwords[i], hasExtendedSpace: false));
    }
}
