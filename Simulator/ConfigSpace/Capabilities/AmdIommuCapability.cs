using static PcieSim.ConfigSpace.FieldDefinition;

namespace PcieSim.ConfigSpace.Capabilities;

/// <summary>
/// The AMD IOMMU capability block (ID 0x0F, 20 bytes; AMD I/O Virtualization Technology spec §3.2.1) with the
/// contents OpenVMM gives it (<c>vm/devices/iommu/amd_iommu/src/lib.rs</c>, <c>spec/registers.rs</c>):
/// capability type 3, revision 1, EFR supported; base address pre-enabled; range valid for bus 0 devices
/// 0x00..0xFF; PA and VA size 48. Every byte is read-only (OpenVMM ignores all writes to it).
/// </summary>
public sealed class AmdIommuCapability : Capability
{
    public AmdIommuCapability(ulong mmioBase) => MmioBase = mmioBase;

    /// <summary>Guest-physical base of the IOMMU's 16 KiB register block.</summary>
    public ulong MmioBase { get; }

    public override ushort Id => 0x0F;

    public override int Length => 20;

    public override string Label => "IOMMU";

    public override IEnumerable<RegisterDefinition> Registers(int next)
    {
        yield return StandardHeader(next);
        yield return new("IommuCapabilityInfo", Offset + 2, 2,
        [
            RO("CapType", 0, 3, 0b011),
            RO("CapRev", 3, 5, 0b00001),
            RO("IotlbSup", 8, 1),
            RO("HtTunnel", 9, 1),
            RO("NpCache", 10, 1),
            RO("EfrSup", 11, 1, 1),
            RO("CapExt", 12, 1),
        ]);
        yield return new("IommuBaseAddressLow", Offset + 4, 4, [RO("Enable", 0, 1, 1), RO("BaseAddressLow", 14, 18, (uint)(MmioBase >> 14) & 0x3FFFF)]);
        yield return new("IommuBaseAddressHigh", Offset + 8, 4, [RO("BaseAddressHigh", 0, 32, (uint)(MmioBase >> 32))]);
        yield return new("IommuRange", Offset + 12, 4,
        [
            RO("UnitId", 0, 5),
            RO("RngValid", 7, 1, 1),
            RO("BusNumber", 8, 8),
            RO("FirstDevice", 16, 8, 0x00),
            RO("LastDevice", 24, 8, 0xFF),
        ]);
        yield return new("IommuMiscInformation0", Offset + 16, 4,
        [
            RO("MsiNum", 0, 5),
            RO("GvaSize", 5, 3),
            RO("PaSize", 8, 7, 48),
            RO("VaSize", 15, 7, 48),
            RO("HtAtsResv", 22, 1),
            RO("MsiNumPpr", 27, 5),
        ]);
    }
}
