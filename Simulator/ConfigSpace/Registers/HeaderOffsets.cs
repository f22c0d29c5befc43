namespace PcieSim.ConfigSpace.Registers;

/// <summary>Byte offsets of the common configuration header (PCIe Base Spec r6.0 §7.5.1).</summary>
public static class HeaderOffsets
{
    public const int VendorId = 0x00;
    public const int DeviceId = 0x02;
    public const int Command = 0x04;
    public const int Status = 0x06;
    public const int RevisionId = 0x08;
    public const int HeaderType = 0x0E;
    public const int Bar0 = 0x10;
    public const int PrimaryBusNumber = 0x18;
    public const int SecondaryBusNumber = 0x19;
    public const int SubordinateBusNumber = 0x1A;
    public const int MemoryBase = 0x20;
    public const int PrefetchableMemoryBase = 0x24;
    public const int SubsystemVendorId = 0x2C;
    public const int CapabilitiesPointer = 0x34;
    public const int InterruptLine = 0x3C;
}

/// <summary>Offsets within the PCI Express Capability structure (PCIe Base Spec r6.0 §7.5.3), relative to its start.</summary>
public static class PciExpressOffsets
{
    public const int Capabilities = 0x02;
    public const int DeviceCapabilities = 0x04;
    public const int DeviceControl = 0x08;
    public const int DeviceStatus = 0x0A;
    public const int LinkCapabilities = 0x0C;
    public const int LinkControl = 0x10;
    public const int LinkStatus = 0x12;
    public const int SlotCapabilities = 0x14;
    public const int SlotControl = 0x18;
    public const int SlotStatus = 0x1A;
    public const int RootControl = 0x1C;
    public const int RootStatus = 0x20;
    public const int DeviceCapabilities2 = 0x24;
    public const int DeviceControl2 = 0x28;
    public const int LinkCapabilities2 = 0x2C;
    public const int LinkControl2 = 0x30;
    public const int SlotCapabilities2 = 0x34;
    public const int SlotControl2 = 0x38;
}
