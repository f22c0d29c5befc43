using PcieSim.Import;

namespace PcieSim.Conformance.Import;

/// <summary>Every line shape of a QEMU 7.2 log trace backend the importer knows (qemu-as-peer §1-§5), parsed exactly; the rest unknown or malformed.</summary>
public class QemuLogLineTests
{
    [TestCase("pci_cfg_read pcie-root-port 00:04.0 @0x6e -> 0x49")]
    [TestCase("13409@1795240678.323184:pci_cfg_read pcie-root-port 00:04.0 @0x6e -> 0x49")]
    public void pci_cfg_read_with_or_without_the_timestamp_prefix(string text)
    {
        var line = QemuLogLine.Parse(text);
        Assert.That(line.Kind, Is.EqualTo(QemuLineKind.PciCfgRead));
        Assert.That(line.Device, Is.EqualTo("pcie-root-port"));
        Assert.That((line.Bus, line.Devfn, line.Register, line.Value), Is.EqualTo(((byte)0, (byte)0x20, 0x6Eu, 0x49UL)));
    }

    [Test]
    public void pci_cfg_write_with_a_bus_and_function()
    {
        var line = QemuLogLine.Parse("20281@1795244575.808451:pci_cfg_write xio3130-downstream 03:00.1 @0x9a <- 0x11f");
        Assert.That(line.Kind, Is.EqualTo(QemuLineKind.PciCfgWrite));
        Assert.That((line.Device, line.Bus, line.Devfn, line.Register, line.Value), Is.EqualTo(("xio3130-downstream", (byte)3, (byte)1, 0x9Au, 0x11FUL)));
    }

    [Test]
    public void a_device_model_name_may_contain_spaces()
    {
        var line = QemuLogLine.Parse("pci_cfg_read ICH9 SMB 00:1f.3 @0x0 -> 0x29308086");
        Assert.That((line.Kind, line.Device, line.Devfn), Is.EqualTo((QemuLineKind.PciCfgRead, "ICH9 SMB", (byte)0xFB)));
    }

    [Test]
    public void memory_region_ops_read_and_write()
    {
        var read = QemuLogLine.Parse("31427@1795243874.453806:memory_region_ops_read cpu 0 mr 0x558d5374d3a0 addr 0xcfc value 0x8086 size 2 name 'pci-conf-data'");
        Assert.That((read.Kind, read.Cpu, read.Address, read.Value, read.Size, read.Region), Is.EqualTo((QemuLineKind.MemoryRead, 0, 0xCFCUL, 0x8086UL, 2, "pci-conf-data")));
        var write = QemuLogLine.Parse("memory_region_ops_write cpu -1 mr 0x558d536225e0 addr 0xfee01004 value 0x30 size 4 name 'apic-msi'");
        Assert.That((write.Kind, write.Cpu, write.Address, write.Value, write.Size, write.Region), Is.EqualTo((QemuLineKind.MemoryWrite, -1, 0xFEE01004UL, 0x30UL, 4, "apic-msi")));
    }

    [Test]
    public void its_translation_write_carries_the_requester_id()
    {
        var line = QemuLogLine.Parse("gicv3_its_translation_write GICv3 ITS TRANSLATER write: offset 0x40 data 0x5 size 4 requester_id 0x10");
        Assert.That((line.Kind, line.Address, line.Value, line.Size, line.RequesterId), Is.EqualTo((QemuLineKind.ItsTranslationWrite, 0x40UL, 5UL, 4, 0x10u)));
    }

    [TestCase("msix_write_config dev pcie-root-port enabled 1 masked 0")]
    [TestCase("pci_update_mappings_add pcie-root-port 00:02.0 0,0xfe200000+0x1000")]
    [TestCase("pci_update_mappings_del pcie-root-port 00:02.0 0,0xfe200000+0x1000")]
    public void events_that_repeat_a_configuration_write_are_known_and_make_no_row(string text) =>
        Assert.That(QemuLogLine.Parse(text).Kind, Is.EqualTo(QemuLineKind.KnownNoRow));

    [TestCase("gicv3_its_write GICv3 ITS write: offset 0x0 data 0x1 size 4", "gicv3_its_write")]
    [TestCase("28786@1795244932.105636:apic_deliver_irq dest 0 dest_mode 0 delivery_mode 0 vector 48 trigger_mode 0", "apic_deliver_irq")]
    public void other_events_are_unknown_with_their_name(string text, string name)
    {
        var line = QemuLogLine.Parse(text);
        Assert.That((line.Kind, line.Event), Is.EqualTo((QemuLineKind.Unknown, name)));
    }

    [TestCase("2026-11-21T06:52:24.608046Z qemu-system-x86_64: -device x: Can't add chassis slot, error -16")]
    [TestCase("qemu-system-x86_64: terminating on signal 15")]
    [TestCase("   pci_cfg_read pcie-root-port 00:04.0 @0x6e -> 0x49")]
    public void text_that_is_no_trace_event_is_unknown_without_a_name(string text)
    {
        var line = QemuLogLine.Parse(text);
        Assert.That((line.Kind, line.Event), Is.EqualTo((QemuLineKind.Unknown, (string?)null)));
    }

    [TestCase("pci_cfg_read pcie-root-port 00:04.0 @0x6e -> ")]
    [TestCase("pci_cfg_read pcie-root-port 00:04.0 @0x6e <- 0x49")]
    [TestCase("pci_cfg_write pcie-root-port 00:04.0 @0x6e -> 0x49")]
    [TestCase("pci_cfg_read pcie-root-port 00:20.0 @0x0 -> 0x0")]
    [TestCase("pci_cfg_read pcie-root-port 00:04.0 @0x1000 -> 0x0")]
    [TestCase("pci_cfg_read pcie-root-port 00:04.8 @0x0 -> 0x0")]
    [TestCase("pci_cfg_read 00:04.0 @0x0 -> 0x0")]
    [TestCase("memory_region_ops_read cpu 0 mr 0x1 addr 0xcfc value 0x0 size 2")]
    [TestCase("memory_region_ops_write cpu 0 mr 0x1 addr 0xcfc value 0x0 size 0 name 'pci-conf-data'")]
    [TestCase("memory_region_ops_write cpu 0 mr 0x1 addr 0xcfc value 0x0 size 4 name 'pci-conf-da")]
    [TestCase("gicv3_its_translation_write GICv3 ITS TRANSLATER write: offset 0x40 data 0x5 size 4")]
    public void a_known_event_that_does_not_parse_is_malformed(string text) =>
        Assert.That(QemuLogLine.Parse(text).Kind, Is.EqualTo(QemuLineKind.Malformed));

    [Test]
    public void an_empty_line_is_blank() => Assert.That(QemuLogLine.Parse(string.Empty).Kind, Is.EqualTo(QemuLineKind.Blank));
}
