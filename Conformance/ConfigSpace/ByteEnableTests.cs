using System.Globalization;
using PcieSim.AddressDecode;
using PcieSim.Conformance.TestSupport;
using PcieSim.Functions;
using PcieSim.Topology;

namespace PcieSim.Conformance.ConfigSpace;

/// <summary>
/// Byte-enable rules (reference 1.2; PCIe Base Spec r6.0 §2.2.5; Arm BSA p011): a write changes only its own lanes,
/// invalid width/lane combinations read all-ones of their width and change nothing.
/// </summary>
[TestFixture]
public sealed class ByteEnableTests
{
    private const string Flags =
        "--pcie-root-complex rc0 --pcie-root-port rc0:rp0,hotplug,cc --pcie-endpoint rp0:ep0,template=generic,bar0=16K,msi=4,msix=8";

    /// <summary>The model, the target function and its (bus, devfn) once the root port forwards bus 1.</summary>
    private static (PcieModel Model, RootComplex Rc, PcieFunction Target, byte Bus) Setup(string target)
    {
        var model = Topo.Build(Flags);
        var rc = model.RootComplexes[0];
        model.Write(rc, 0, 0, 0x18, 4, 0x0001_0100);
        if (target == "RootPort")
        {
            return (model, rc, rc.RootPorts[0], 0);
        }

        var ep = model.FindEndpoint("ep0")!;
        for (int bar = 0x10; bar <= 0x24; bar += 4)
        {
            // The first BAR write sets the attribute nibble; do it up front so it is not mistaken for a lane leak.
            model.Write(rc, 1, 0, bar, 4, 0);
        }

        return (model, rc, ep, 1);
    }

    [TestCase("RootPort")]
    [TestCase("Endpoint")]
    public void writes_change_only_their_own_lanes(string target)
    {
        var (model, rc, function, bus) = Setup(target);
        int checkedAccesses = 0;
        for (int offset = 0; offset < 0x1000; offset++)
        {
            foreach (int width in new[] { 1, 2, 4 })
            {
                if (ByteEnables.TryGet(offset, width, out byte enables) != AccessFault.None)
                {
                    continue;
                }

                uint others = ~ByteEnables.LaneMask(enables) & ~CommandCompletedSetByCommand(function, offset, enables);
                uint before = function.ReadDword(offset);
                foreach (ulong value in new[] { ByteEnables.AllOnes(width), 0UL })
                {
                    var result = model.Write(rc, bus, 0, offset, width, value);
                    uint after = function.ReadDword(offset);
                    if (!result.Completed || (after & others) != (before & others))
                    {
                        Assert.Fail(string.Create(CultureInfo.InvariantCulture,
                            $"{target}: {width}-byte write of 0x{value:X} at 0x{offset:X3} ({function.Layout.DescribeAccess(offset, width)}): {result.Status}, DWORD 0x{before:X8} -> 0x{after:X8}, other lanes must not change"));
                    }

                    checkedAccesses++;
                }
            }
        }

        Assert.That(checkedAccesses, Is.EqualTo(2 * (4096 + 2048 + 1024)));
    }

    [TestCase("RootPort")]
    [TestCase("Endpoint")]
    public void invalid_width_or_lane_reads_all_ones_and_changes_nothing(string target)
    {
        var (model, rc, function, bus) = Setup(target);
        var before = Topo.Snapshot(model);
        (int Width, int Lane, AccessStatus Status)[] invalid =
        [
            (2, 1, AccessStatus.UnalignedAccess), (2, 3, AccessStatus.UnalignedAccess),
            (4, 1, AccessStatus.UnalignedAccess), (4, 2, AccessStatus.UnalignedAccess), (4, 3, AccessStatus.UnalignedAccess),
            (3, 0, AccessStatus.InvalidAccessSize), (3, 1, AccessStatus.InvalidAccessSize),
            (8, 0, AccessStatus.InvalidAccessSize), (0, 0, AccessStatus.InvalidAccessSize), (16, 0, AccessStatus.InvalidAccessSize),
        ];
        for (int dword = 0; dword < 0x1000; dword += 4)
        {
            foreach (var (width, lane, status) in invalid)
            {
                int offset = dword + lane;
                var read = model.Read(rc, bus, 0, offset, width);
                var write = model.Write(rc, bus, 0, offset, width, ulong.MaxValue);
                if (read.Status != status || write.Status != status || read.Value != ByteEnables.AllOnes(width) || read.Function is not null || write.Function is not null)
                {
                    Assert.Fail(string.Create(CultureInfo.InvariantCulture,
                        $"{target}: width {width} at 0x{offset:X3}: read {read.Status} 0x{read.Value:X}, write {write.Status}; expected {status} and all-ones"));
                }
            }
        }

        Topo.AssertUnchanged(before, Topo.Snapshot(model), $"{target}: invalid accesses");
        Assert.That(function.ReadDword(0), Is.Not.Zero);
    }

    [Test]
    public void invalid_ecam_width_reads_all_ones()
    {
        var (model, rc, _, _) = Setup("RootPort");
        ulong address = rc.Window.AddressOf(0, 0, 0);
        Assert.Multiple(() =>
        {
            Assert.That(model.ReadEcam(address, 8).Value, Is.EqualTo(ulong.MaxValue), "8-byte ECAM read");
            Assert.That(model.ReadEcam(address, 8).Status, Is.EqualTo(AccessStatus.InvalidAccessSize));
            Assert.That(model.ReadEcam(address + 1, 2).Value, Is.EqualTo(0xFFFFUL));
            Assert.That(model.ReadEcam(address + 2, 4).Status, Is.EqualTo(AccessStatus.UnalignedAccess));
        });
    }

    [Test]
    public void slot_control_and_slot_status_writes_do_not_touch_each_other()
    {
        var model = Topo.Build("--pcie-root-complex rc0 --pcie-root-port rc0:rp0,hotplug --pcie-endpoint rp0:ep0,template=generic");
        var rc = model.RootComplexes[0];
        var port = rc.RootPorts[0];
        Assert.That(port.ReadDword(0x58), Is.EqualTo(0x0040_0000u));

        model.Write(rc, 0, 0, 0x58, 2, 0xFFFF);
        Assert.That(port.ReadDword(0x58), Is.EqualTo(0x0040_1028u), "16-bit Slot Control write leaves Slot Status alone");

        model.Write(rc, 0, 0, 0x5A, 2, 0xFFFF);
        Assert.That(port.ReadDword(0x58), Is.EqualTo(0x0040_1028u), "16-bit Slot Status write leaves Slot Control alone");

        model.Write(rc, 0, 0, 0x5A, 2, 0x0000);
        Assert.That(port.ReadDword(0x58), Is.EqualTo(0x0040_1028u));
        model.Write(rc, 0, 0, 0x58, 2, 0x0000);
        Assert.That(port.ReadDword(0x58), Is.EqualTo(0x0040_0000u));
    }

    [Test]
    public void bsa_p011_root_port_byte_enable_rules()
    {
        var model = Topo.Build("--pcie-root-complex rc0 --pcie-root-port rc0:rp0");
        var rc = model.RootComplexes[0];
        model.Write(rc, 0, 0, 0x18, 4, 0x0012_3400);
        ulong dword = model.Read(rc, 0, 0, 0x18, 4).Value;
        ulong bytes = 0;
        ulong halves = 0;
        for (int i = 0; i < 4; i++)
        {
            bytes |= model.Read(rc, 0, 0, 0x18 + i, 1).Value << (i * 8);
        }

        for (int i = 0; i < 2; i++)
        {
            halves |= model.Read(rc, 0, 0, 0x18 + (i * 2), 2).Value << (i * 16);
        }

        Assert.Multiple(() =>
        {
            Assert.That(dword, Is.EqualTo(0x0012_3400UL));
            Assert.That(bytes, Is.EqualTo(dword), "four 8-bit reads");
            Assert.That(halves, Is.EqualTo(dword), "two 16-bit reads");
        });

        // 8-bit and 16-bit read-write-read affect only their lanes.
        model.Write(rc, 0, 0, 0x19, 1, 0x56);
        Assert.That(model.Read(rc, 0, 0, 0x18, 4).Value, Is.EqualTo(0x0012_5600UL));
        model.Write(rc, 0, 0, 0x1A, 2, 0xFF78);
        Assert.That(model.Read(rc, 0, 0, 0x18, 4).Value, Is.EqualTo(0x0078_5600UL), "byte 0x1B (secondary latency) stays 0");
        model.Write(rc, 0, 0, 0x18, 2, 0x0201);
        Assert.That(model.Read(rc, 0, 0, 0x18, 4).Value, Is.EqualTo(0x0078_0201UL));
    }

    /// <summary>
    /// On a slot with Command Completed support, a write with enables in Slot Control's bytes is a command and sets
    /// Slot Status CC in the other half of the DWORD (§6.7.3.2); that one bit is the only allowed cross-lane effect.
    /// </summary>
    internal static uint CommandCompletedSetByCommand(PcieSim.Functions.PcieFunction function, int offset, byte enables) =>
        function is PcieSim.Functions.DownstreamPort { Pcie.CommandCompleted: true } port
        && offset >> 2 == (port.Pcie.Offset + 0x18) >> 2 && (enables & 0b0011) != 0
            ? 1u << 20
            : 0;
}
