namespace PcieSim.ConfigSpace;

/// <summary>
/// Register field attributes (PCIe Base Spec r6.0 §7.4, Table 7-2 "Register and Register Bit-Field Types").
/// They drive both the emulation (write mask, RW1C mask) and the attribute conformance tests.
/// </summary>
public enum RegisterAttribute : byte
{
    /// <summary>Read-only: writes have no effect. Hardware may change the value (see <see cref="FieldDefinition.HardwareDriven"/>).</summary>
    RO,

    /// <summary>Read-write: software sets the value.</summary>
    RW,

    /// <summary>Read, write 1 to clear: writing 1 clears the bit, writing 0 leaves it.</summary>
    RW1C,

    /// <summary>Hardware-initialised: fixed by the implementation; read-only to software.</summary>
    HwInit,

    /// <summary>Reserved and preserved: reads 0 here; writes are ignored.</summary>
    RsvdP,

    /// <summary>Reserved and zero: reads 0; software must write 0; writes are ignored.</summary>
    RsvdZ,
}
