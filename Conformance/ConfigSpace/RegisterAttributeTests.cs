using System.Globalization;
using PcieSim.Conformance.TestSupport;
using PcieSim.ConfigSpace;
using PcieSim.Functions;
using PcieSim.Topology;

namespace PcieSim.Conformance.ConfigSpace;

/// <summary>
/// The Arm BSA ACS register-attribute algorithm (anchors 4b, <c>val_pcie_bitfield_check</c>) driven by the engine's
/// own register tables: for every function kind and every register, read, write back, check each field's reset
/// value, then write the field's complement (other bits unchanged) and check the attribute. Accesses use the
/// register's own width and offset, so a Slot Status check never writes Slot Control.
/// </summary>
[TestFixture]
public sealed class RegisterAttributeTests
{
    private const string Rc = "--pcie-root-complex rc0 --pcie-root-port rc0:rp0";

    /// <summary>Function kinds: a label, the topology, and how to find the function in the built model.</summary>
    private static readonly (string Kind, string Flags, Func<PcieModel, PcieFunction> Find)[] Kinds =
    [
        ("RootPort", Rc, m => m.FindPort("rp0")!),
        ("RootPortNoAcs", Rc + ",acs=0", m => m.FindPort("rp0")!),
        ("RootPortHotplug", Rc + ",hotplug", m => m.FindPort("rp0")!),
        ("RootPortHotplugCc", Rc + ",hotplug,cc", m => m.FindPort("rp0")!),
        ("RootPortHotplugPresent", Rc + ",hotplug --pcie-endpoint rp0:ep0,template=generic", m => m.FindPort("rp0")!),
        ("RootPortPasid", Rc + ",pasid,acs=0xff", m => m.FindPort("rp0")!),
        ("DownstreamSwitchPort", Rc + " --pcie-switch rp0:sw0,num_downstream_ports=2", m => m.FindPort("sw0-downstream-1")!),
        ("DownstreamSwitchPortHotplug", Rc + " --pcie-switch rp0:sw0,num_downstream_ports=2,hotplug", m => m.FindPort("sw0-downstream-1")!),
        ("UpstreamSwitchPort", Rc + " --pcie-switch rp0:sw0,num_downstream_ports=2", m => m.Switches[0].Upstream),
        ("NvmeEndpoint", Rc + " --pcie-endpoint rp0:nvme0,template=nvme", m => m.FindEndpoint("nvme0")!),
        ("GenericEndpointMsi", Rc + " --pcie-endpoint rp0:ep0,template=generic,bar0=16K,bar2=1M,msi=4", m => m.FindEndpoint("ep0")!),
        ("GenericEndpointMsix", Rc + " --pcie-endpoint rp0:ep0,template=generic,msi=1,msix=8@bar4", m => m.FindEndpoint("ep0")!),
        ("AmdIommu", Rc + " --amd-iommu rc0", m => m.RootComplexes[0].Iommu!),
    ];

    private static IEnumerable<TestCaseData> Registers()
    {
        foreach (var (kind, flags, find) in Kinds)
        {
            var function = find(Topo.Build(flags));
            foreach (var register in function.Layout.Registers)
            {
                string offset = string.Create(CultureInfo.InvariantCulture, $"0x{register.Offset:X3}");
                yield return new TestCaseData(kind, register.Name, register.Offset).SetArgDisplayNames(kind, register.Name, offset);
            }
        }
    }

    [TestCaseSource(nameof(Registers))]
    public void register_fields_follow_their_attributes(string kind, string registerName, int offset)
    {
        var (_, flags, find) = Kinds.Single(k => k.Kind == kind);
        var function = find(Topo.Build(flags));
        var register = function.Layout.RegisterAt(offset)!;
        Assert.That(register.Name, Is.EqualTo(registerName));

        int width = register.Size;
        uint all = (uint)(width == 4 ? uint.MaxValue : (1u << (width * 8)) - 1);
        int shift = (offset & 3) * 8;
        uint otherLanes = ~(all << shift) & ~ByteEnableTests.CommandCompletedSetByCommand(function, offset, (byte)(((1 << width) - 1) << (offset & 3)));

        // Step 1-2: read, write back, read again.
        uint dword0 = function.ReadDword(offset);
        function.Write(offset, width, function.Read(offset, width));
        uint written = function.Read(offset, width);
        Assert.That(function.ReadDword(offset) & otherLanes, Is.EqualTo(dword0 & otherLanes), "write-back changed bytes outside the register");

        var failures = new List<string>();
        uint covered = 0;
        foreach (var field in register.Fields)
        {
            covered |= field.Mask;
            uint value = (written & field.Mask) >> field.Bit;

            // Step 3: the value of a newly created function (the reset value unless the field has a power-on value).
            if (!field.HardwareDriven && value != (field.Initial & (field.Mask >> field.Bit)))
            {
                failures.Add(Describe(field, $"reads 0x{value:X} after write-back, initial value is 0x{field.Initial:X}"));
            }

            // Step 4: write the complement of the field, everything else as read.
            uint complement = written ^ field.Mask;
            function.Write(offset, width, complement);
            uint after = function.Read(offset, width);
            uint got = (after & field.Mask) >> field.Bit;
            uint expected = field.Attribute switch
            {
                RegisterAttribute.RW => ExpectedRw(function, register, field, (complement & field.Mask) >> field.Bit),
                RegisterAttribute.RW1C => value & ~((complement & field.Mask) >> field.Bit),
                _ => value,
            };
            if (got != expected)
            {
                failures.Add(Describe(field, $"{field.Attribute}: wrote complement 0x{(complement & field.Mask) >> field.Bit:X}, read 0x{got:X}, expected 0x{expected:X}"));
            }

            if ((after & ~field.Mask) != (written & ~field.Mask))
            {
                failures.Add(Describe(field, $"writing it changed other bits: 0x{written:X8} -> 0x{after:X8}"));
            }

            if (field.Attribute == RegisterAttribute.RW1C)
            {
                // Writing 0s leaves RW1C bits alone.
                function.Write(offset, width, written & ~field.Mask);
                uint zeros = (function.Read(offset, width) & field.Mask) >> field.Bit;
                if (zeros != expected)
                {
                    failures.Add(Describe(field, $"RW1C: writing 0 changed it to 0x{zeros:X}"));
                }
            }

            // Restore.
            function.Write(offset, width, written);
        }

        // Bits no field covers are reserved: read 0 and ignore writes.
        uint uncovered = all & ~covered;
        if (uncovered != 0)
        {
            function.Write(offset, width, written | uncovered);
            uint after = function.Read(offset, width);
            if ((after & uncovered) != 0 || (written & uncovered) != 0)
            {
                failures.Add(string.Create(CultureInfo.InvariantCulture, $"uncovered bits 0x{uncovered:X} are not reserved-zero: 0x{after & uncovered:X}"));
            }
        }

        Assert.That(failures, Is.Empty, string.Join(Environment.NewLine, failures));
    }

    /// <summary>What an RW field reads after a write: the value, except MSI Multiple Message Enable, clamped to MMC.</summary>
    private static uint ExpectedRw(PcieFunction function, RegisterDefinition register, FieldDefinition field, uint value)
    {
        if (register.Hook == RegisterHook.MsiControl && field.Name == "MultipleMessageEnable")
        {
            uint mmc = (function.Read(register.Offset, 2) >> 1) & 7;
            return Math.Min(value, mmc);
        }

        return value;
    }

    private static string Describe(FieldDefinition field, string message) =>
        string.Create(CultureInfo.InvariantCulture, $"{field.Name} (bits {field.Bit + field.Width - 1}:{field.Bit}): {message}");
}
