using System.Globalization;
using System.IO.Compression;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json.Nodes;
using PcieSim.Import;
using PcieSim.Lint;
using PcieSim.Record;
using PcieSim.Topology.Language;

namespace PcieSim.Conformance.Record;

/// <summary>
/// The parts of <c>pciesim record qemu</c> that run without QEMU: the machine a topology becomes, the initramfs, the
/// QMP <c>query-pci</c> answer (a real one, Fixtures/query-pci.json, from QEMU 7.2 with a switch), the event log.
/// </summary>
public class RecorderTests
{
    private static QemuMachine Build(string topology, params HotplugAction[] hotplug) =>
        QemuMachine.Build(TopologyParser.Parse(topology, "t.topo"), hotplug, "t.topo");

    [Test]
    public void a_topology_becomes_qemu_devices_named_after_it()
    {
        var machine = Build(
            "--pcie-root-complex rc0 --pcie-root-port rc0:rp0,addr=2,hotplug,cc --pcie-root-port rc0:rp1,addr=3,hotplug "
            + "--pcie-switch rp1:sw0,num_downstream_ports=2,hotplug --pcie-endpoint rp0:nvme0,template=nvme --pcie-endpoint hp0,template=nvme",
            new HotplugAction("sw0-downstream-1", "hp0"));
        Assert.That(machine.Devices, Is.EqualTo(new[]
        {
            "pcie-root-port,id=rp0,bus=pcie.0,addr=0x02.0,chassis=1,slot=1,hotplug=on",
            "pcie-root-port,id=rp1,bus=pcie.0,addr=0x03.0,chassis=1,slot=2,hotplug=on",
            "x3130-upstream,id=sw0,bus=rp1",
            "xio3130-downstream,id=sw0-downstream-0,bus=sw0,addr=0x00.0,multifunction=on,chassis=2,slot=1,hotplug=on",
            "xio3130-downstream,id=sw0-downstream-1,bus=sw0,addr=0x00.1,chassis=2,slot=2,hotplug=on",
            "nvme,id=nvme0,bus=rp0,serial=nvme0",
        }));
        Assert.That(machine.HeaderFlags[0], Is.EqualTo("--pcie-root-complex rc0,segment=0,start_bus=0,end_bus=255,ecam_base=0xb0000000"), "q35's MMCONFIG window");
        Assert.That(machine.Differences, Has.Some.Contains("rp1: QEMU's hotplug slots always support Command Completed (NCCS=0)"));
        Assert.That(machine.Differences, Has.Some.Contains("QEMU's nvme device (1b36:0010)"));
        Assert.That(QemuMachine.DeviceAdd(new HotplugAction("rp1", "hp0")).Select(kv => kv.Key + "=" + kv.Value), Is.EqualTo(new[] { "driver=nvme", "id=hp0", "bus=rp1", "serial=hp0" }));
    }

    [TestCase("--pcie-root-complex a --pcie-root-complex b,segment=1", "exactly one root complex on segment 0 from bus 0")]
    [TestCase("--pcie-root-complex a --amd-iommu a", "--amd-iommu")]
    [TestCase("--pcie-root-complex a --gic-msi its", "--gic-msi")]
    [TestCase("--pcie-root-complex a --pcie-root-port a:rp0", "root port 'rp0' at 00.0")]
    [TestCase("--pcie-root-complex a --pcie-root-port a:rp0,addr=0x1f", "root port 'rp0' at 1f.0")]
    [TestCase("--pcie-root-complex a --pcie-root-port a:rp0,addr=2 --pcie-endpoint rp0:e,template=generic", "template=generic")]
    public void what_qemu_cannot_build_is_bad_input(string topology, string message)
    {
        var error = Assert.Throws<InputException>(() => Build(topology))!;
        Assert.That(error.Message, Does.Contain(message));
    }

    [TestCase("rp9", "hp0", "has no port 'rp9'")]
    [TestCase("rp1", "hp0", "port 'rp1' has no 'hotplug' option")]
    [TestCase("rp0", "nvme0", "expected an endpoint the topology declares without a port")]
    public void a_hotplug_needs_a_hotplug_port_and_an_unplugged_endpoint(string port, string endpoint, string message)
    {
        const string topology = "--pcie-root-complex a --pcie-root-port a:rp0,addr=2,hotplug --pcie-root-port a:rp1,addr=3 --pcie-endpoint rp1:nvme0,template=nvme --pcie-endpoint hp0,template=nvme";
        Assert.That(Assert.Throws<InputException>(() => Build(topology, new HotplugAction(port, endpoint)))!.Message, Does.Contain(message));
    }

    [Test]
    public void the_recording_command_line_is_native_hotplug_under_tcg_with_pci_cfg_tracing()
    {
        var machine = Build("--pcie-root-complex a --pcie-root-port a:rp0,addr=2,hotplug --pcie-endpoint hp0,template=nvme", new HotplugAction("rp0", "hp0"));
        var options = new QemuRecordOptions { Machine = machine, Kernel = "vmlinuz", WorkDirectory = "w", Hotplug = [new("rp0", "hp0")], HotplugAtBoot = [new("rp0", "hp0")] };
        string line = string.Join(' ', QemuRecorder.Arguments(options, "initrd.gz", "trace.log", "/tmp/q.sock"));
        Assert.That(line, Does.StartWith("-M q35 -accel tcg -m 512 -smp 1 -nodefaults -display none -no-reboot -global ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off"));
        Assert.That(line, Does.Contain("-append console=ttyS0 panic=-1 pciesim.changes=3").And.Contain("-qmp unix:/tmp/q.sock,server=on,wait=off")
            .And.Contain("-trace pci_cfg_read -trace pci_cfg_write -D trace.log -S").And.EndWith("-device pcie-root-port,id=rp0,bus=pcie.0,addr=0x02.0,chassis=1,slot=1,hotplug=on"));
        Assert.That(line, Does.Not.Contain("memory_region_ops"));
        Assert.That(line, Does.Not.Contain("-netdev"), "the guest has no network");
        Assert.That(string.Join(' ', QemuRecorder.Arguments(options with { MemoryTrace = true, HotplugAtBoot = [] }, "i", "l", "s")),
            Does.Contain("-trace memory_region_ops_read -trace memory_region_ops_write -D l").And.Not.Contain(" -S"));
    }

    [Test]
    public void the_initramfs_is_a_newc_archive_with_busybox_init_and_a_console()
    {
        byte[] busybox = Encoding.ASCII.GetBytes("not really busybox");
        var archive = new MemoryStream();
        Initramfs.Write(archive, busybox);
        var second = new MemoryStream();
        Initramfs.Write(second, busybox);
        Assert.That(second.ToArray(), Is.EqualTo(archive.ToArray()), "the same input gives the same bytes");

        archive.Position = 0;
        var cpio = new MemoryStream();
        using (var gzip = new GZipStream(archive, CompressionMode.Decompress))
        {
            gzip.CopyTo(cpio);
        }

        var entries = ReadNewc(cpio.ToArray());
        Assert.That(entries.Select(e => (e.Name, e.Mode)), Is.EqualTo(new[]
        {
            ("bin", 0x41ED), ("dev", 0x41ED), ("proc", 0x41ED), ("sys", 0x41ED), ("dev/console", 0x2180), ("bin/busybox", 0x81ED), ("init", 0x81ED), ("TRAILER!!!", 0),
        }));
        Assert.That(entries.Single(e => e.Name == "dev/console").Rdev, Is.EqualTo((5, 1)));
        Assert.That(entries.Single(e => e.Name == "bin/busybox").Data, Is.EqualTo(busybox));
        string init = Encoding.ASCII.GetString(entries.Single(e => e.Name == "init").Data);
        Assert.That(init, Does.StartWith("#!/bin/busybox sh\n").And.Contain(Initramfs.ReadyMarker).And.Contain(Initramfs.ChangeMarker).And.Contain("poweroff -f"));
    }

    /// <summary>A newc reader: the 110-byte header's 13 hex fields, the name, the data, each padded to 4 bytes.</summary>
    private static List<(string Name, int Mode, (int, int) Rdev, byte[] Data)> ReadNewc(byte[] bytes)
    {
        var entries = new List<(string, int, (int, int), byte[])>();
        int at = 0;
        while (at < bytes.Length)
        {
            string header = Encoding.ASCII.GetString(bytes, at, 110);
            Assert.That(header[..6], Is.EqualTo("070701"));
            int Field(int i) => int.Parse(header.AsSpan(6 + (8 * i), 8), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            int nameSize = Field(11);
            string name = Encoding.ASCII.GetString(bytes, at + 110, nameSize - 1);
            at += (110 + nameSize + 3) & ~3;
            int size = Field(6);
            entries.Add((name, Field(1), (Field(9), Field(10)), bytes[at..(at + size)]));
            at += (size + 3) & ~3;
            if (name == "TRAILER!!!")
            {
                break;
            }
        }

        return entries;
    }

    [Test]
    public void query_pci_finds_a_port_where_the_guest_numbered_it()
    {
        var answer = JsonNode.Parse(File.ReadAllText(Fixture("query-pci.json")))!["return"];
        Assert.That(QmpClient.FindDevice(answer, "rp2"), Is.EqualTo((0, 4, 0)));
        Assert.That(QmpClient.FindDevice(answer, "sw0-downstream-1"), Is.EqualTo((3, 0, 1)));
        Assert.That(QmpClient.FindDevice(answer, "hp0"), Is.EqualTo((6, 0, 0)));
        Assert.That(QmpClient.FindDevice(answer, "nope"), Is.Null);
    }

    private static string Fixture(string name, [CallerFilePath] string source = "") => Path.Combine(Path.GetDirectoryName(source)!, "Fixtures", name);

    [Test]
    public void the_event_log_round_trips()
    {
        var events = new[]
        {
            new QmpEvent(2, 1, QmpAction.HotAdd, "rp1", "hp1", new FunctionAddress(0, 0, 0x18)),
            new QmpEvent(3, 141999, QmpAction.HotRemove, "rp1", "hp1", null),
        };
        string text = QmpEventLog.Header + "\n" + string.Join('\n', events.Select(QmpEventLog.Format)) + "\n";
        Assert.That(text, Does.EndWith("1 hot-add rp1 hp1 0000:00:03.0\n141999 hot-remove rp1 hp1\n"));
        Assert.That(QmpEventLog.Read(new StringReader(text), "e"), Is.EqualTo(events));
    }

    [TestCase("12 hot-add rp1", "e:1:1: found 3 fields, expected LINES ACTION PORT DEVICE [PORT_ADDRESS]")]
    [TestCase("x hot-add rp1 hp1", "e:1:1: found 'x', expected a count of trace-log lines (a decimal number)")]
    [TestCase("12 plug rp1 hp1", "e:1:4: found action 'plug', expected hot-add or hot-remove")]
    [TestCase("12 hot-add rp1 hp1 00:3.0", "e:1:20: found '00:3.0', expected the port's address [SSSS:]BB:DD.F")]
    [TestCase("12 hot-add rp1 hp1\n11 hot-remove rp1 hp1", "e:2:1: found 11 lines before this action, fewer than the 12 of the action before it")]
    public void a_bad_event_log_line_is_bad_input_with_its_position(string text, string message) =>
        Assert.That(Assert.Throws<InputException>(() => QmpEventLog.Read(new StringReader(text), "e"))!.Describe(), Does.StartWith(message));
}
