using PcieSim.ConfigSpace;
using static PcieSim.ConfigSpace.FieldDefinition;

namespace PcieSim.Functions;

/// <summary>
/// The common configuration header for Type 0 (endpoints) and Type 1 (bridges) functions
/// (PCIe Base Spec r6.0 §7.5.1) with OpenVMM's values and masks (<c>pci_core/src/cfg_space_emu.rs</c>).
/// </summary>
public static class HeaderRegisters
{
    /// <summary>Command bits OpenVMM keeps: 0-6, 8, 9, 10.</summary>
    public const ushort CommandWriteMask = 0x077F;

    private static IEnumerable<RegisterDefinition> Common(ushort vendorId, ushort deviceId, byte revision, uint classCode, bool hasCapabilities)
    {
        yield return new("VendorId", 0x00, 2, [RO("VendorId", 0, 16, vendorId)]);
        yield return new("DeviceId", 0x02, 2, [RO("DeviceId", 0, 16, deviceId)]);
        yield return new("Command", 0x04, 2,
        [
            RW("IoSpaceEnable", 0, 1),
            RW("MemorySpaceEnable", 1, 1),
            RW("BusMasterEnable", 2, 1),
            RW("SpecialCycleEnable", 3, 1),
            RW("MemoryWriteAndInvalidate", 4, 1),
            RW("VgaPaletteSnoop", 5, 1),
            RW("ParityErrorResponse", 6, 1),
            RO("IdselStepping", 7, 1),
            RW("SerrEnable", 8, 1),
            RW("FastBackToBackEnable", 9, 1),
            RW("InterruptDisable", 10, 1),
        ], RegisterHook.Command);
        yield return new("Status", 0x06, 2, [RO("InterruptStatus", 3, 1), RO("CapabilitiesList", 4, 1, hasCapabilities ? 1u : 0)]);
        yield return new("RevisionId", 0x08, 1, [RO("RevisionId", 0, 8, revision)]);
        yield return new("ProgrammingInterface", 0x09, 1, [RO("ProgrammingInterface", 0, 8, classCode & 0xFF)]);
        yield return new("SubClass", 0x0A, 1, [RO("SubClass", 0, 8, (classCode >> 8) & 0xFF)]);
        yield return new("BaseClass", 0x0B, 1, [RO("BaseClass", 0, 8, (classCode >> 16) & 0xFF)]);
        yield return new("CacheLineSize", 0x0C, 1, [RO("CacheLineSize", 0, 8)]);
        yield return new("CapabilitiesPointer", 0x34, 1, [RO("CapabilitiesPointer", 0, 8, hasCapabilities ? 0x40u : 0)]);
    }

    private static RegisterDefinition HeaderType(int type, bool multiFunction) =>
        new("HeaderType", 0x0E, 1, [RO("HeaderLayout", 0, 7, (uint)type), RO("MultiFunctionDevice", 7, 1, multiFunction ? 1u : 0)]);

    /// <summary>Type 1 header of a root, upstream or downstream port: no BARs, no I/O window, bus numbers and memory windows RW.</summary>
    public static IEnumerable<RegisterDefinition> Type1(ushort vendorId, ushort deviceId, uint classCode, bool multiFunction, bool hasCapabilities)
    {
        foreach (var register in Common(vendorId, deviceId, 0, classCode, hasCapabilities))
        {
            yield return register;
        }

        yield return new("LatencyTimer", 0x0D, 1, [RO("LatencyTimer", 0, 8)]);
        yield return HeaderType(1, multiFunction);
        yield return new("Bist", 0x0F, 1, [RO("Bist", 0, 8)]);
        yield return new("BaseAddress0", 0x10, 4, []);
        yield return new("BaseAddress1", 0x14, 4, []);
        yield return new("PrimaryBusNumber", 0x18, 1, [RW("PrimaryBusNumber", 0, 8)], RegisterHook.BusNumbers);
        yield return new("SecondaryBusNumber", 0x19, 1, [RW("SecondaryBusNumber", 0, 8)], RegisterHook.BusNumbers);
        yield return new("SubordinateBusNumber", 0x1A, 1, [RW("SubordinateBusNumber", 0, 8)], RegisterHook.BusNumbers);
        yield return new("SecondaryLatencyTimer", 0x1B, 1, [RO("SecondaryLatencyTimer", 0, 8)], RegisterHook.BusNumbers);
        yield return new("IoBase", 0x1C, 1, [RO("IoBase", 0, 8)]);
        yield return new("IoLimit", 0x1D, 1, [RO("IoLimit", 0, 8)]);
        yield return new("SecondaryStatus", 0x1E, 2, [RO("SecondaryStatus", 0, 16)]);
        yield return new("MemoryBase", 0x20, 2, [RO("MemoryBaseReserved", 0, 4), RW("MemoryBaseAddress", 4, 12)]);
        yield return new("MemoryLimit", 0x22, 2, [RO("MemoryLimitReserved", 0, 4), RW("MemoryLimitAddress", 4, 12)]);
        yield return new("PrefetchableMemoryBase", 0x24, 2, [RO("Addressing64Bit", 0, 4, 1), RW("PrefetchableBaseAddress", 4, 12)]);
        yield return new("PrefetchableMemoryLimit", 0x26, 2, [RO("Addressing64Bit", 0, 4, 1), RW("PrefetchableLimitAddress", 4, 12)]);
        yield return new("PrefetchableBaseUpper32", 0x28, 4, [RW("PrefetchableBaseUpper32", 0, 32)]);
        yield return new("PrefetchableLimitUpper32", 0x2C, 4, [RW("PrefetchableLimitUpper32", 0, 32)]);
        yield return new("IoBaseUpper16", 0x30, 2, [RO("IoBaseUpper16", 0, 16)]);
        yield return new("IoLimitUpper16", 0x32, 2, [RO("IoLimitUpper16", 0, 16)]);
        yield return new("ExpansionRomBaseAddress", 0x38, 4, [RO("ExpansionRomBaseAddress", 0, 32)]);
        yield return new("InterruptLine", 0x3C, 1, [RW("InterruptLine", 0, 8)]);
        yield return new("InterruptPin", 0x3D, 1, [RO("InterruptPin", 0, 8)]);
        yield return new("BridgeControl", 0x3E, 2, [RW("BridgeControl", 0, 16)]);
    }

    /// <summary>
    /// Type 0 header of an endpoint: six BAR registers whose masks come from the declared 64-bit BAR sizes,
    /// subsystem IDs, and OpenVMM's latency-timer quirk (byte 0x3E is RW and shows at 0x0D).
    /// </summary>
    public static IEnumerable<RegisterDefinition> Type0(ushort vendorId, ushort deviceId, byte revision, uint classCode, ushort subsystemVendorId, ushort subsystemId, bool multiFunction, bool hasCapabilities, IReadOnlyList<ulong> barSizes)
    {
        foreach (var register in Common(vendorId, deviceId, revision, classCode, hasCapabilities))
        {
            yield return register;
        }

        yield return new("LatencyTimer", 0x0D, 1, [Status("LatencyTimer", 0, 8)]);
        yield return HeaderType(0, multiFunction);
        yield return new("Bist", 0x0F, 1, [RO("Bist", 0, 8)]);
        for (int bar = 0; bar < 6; bar++)
        {
            yield return BaseAddressRegister(bar, barSizes);
        }

        yield return new("CardbusCisPointer", 0x28, 4, [RO("CardbusCisPointer", 0, 32)]);
        yield return new("SubsystemVendorId", 0x2C, 2, [RO("SubsystemVendorId", 0, 16, subsystemVendorId)]);
        yield return new("SubsystemId", 0x2E, 2, [RO("SubsystemId", 0, 16, subsystemId)]);
        yield return new("ExpansionRomBaseAddress", 0x30, 4, [RO("ExpansionRomBaseAddress", 0, 32)]);
        yield return new("InterruptLine", 0x3C, 1, [RW("InterruptLine", 0, 8)], RegisterHook.InterruptAndLatency);
        yield return new("InterruptPin", 0x3D, 1, [RO("InterruptPin", 0, 8)]);
        yield return new("MinGnt", 0x3E, 1, [RW("LatencyTimerShadow", 0, 8)]);
        yield return new("MaxLat", 0x3F, 1, [RO("MaxLat", 0, 8)]);
    }

    /// <summary>Rounded size of a declared BAR: next power of two, at least 4 KiB (OpenVMM).</summary>
    public static ulong RoundBarSize(ulong length) => length == 0 ? 0 : Math.Max(4096UL, System.Numerics.BitOperations.RoundUpToPowerOf2(length));

    private static RegisterDefinition BaseAddressRegister(int bar, IReadOnlyList<ulong> barSizes)
    {
        string name = "BaseAddress" + (char)('0' + bar);
        int offset = 0x10 + (bar * 4);
        bool isLow = bar % 2 == 0;
        ulong size = RoundBarSize(barSizes[isLow ? bar : bar - 1]);
        if (size == 0)
        {
            return new(name, offset, 4, [], RegisterHook.BaseAddress);
        }

        ulong addressMask = ~(size - 1);
        if (isLow)
        {
            // Attribute nibble (64-bit, prefetchable) reads 0 until the first write, then 0xC: OpenVMM's quirk.
            // BARs of 4 GiB or more have no writable address bits in the low DWORD (OpenVMM: low 32 bits of !(size-1)).
            int lowBit = System.Numerics.BitOperations.TrailingZeroCount(size);
            return lowBit >= 32
                ? new(name, offset, 4, [Status("MemoryType", 0, 4)], RegisterHook.BaseAddress)
                : new(name, offset, 4,
                [
                    Status("MemoryType", 0, 4),
                    RW("BaseAddress", lowBit, 32 - lowBit),
                ], RegisterHook.BaseAddress);
        }

        uint upper = (uint)(addressMask >> 32);
        int upperLow = upper == 0 ? 32 : System.Numerics.BitOperations.TrailingZeroCount(upper);
        return upperLow >= 32
            ? new(name, offset, 4, [], RegisterHook.BaseAddress)
            : new(name, offset, 4, [RW("BaseAddressUpper", upperLow, 32 - upperLow)], RegisterHook.BaseAddress);
    }
}
