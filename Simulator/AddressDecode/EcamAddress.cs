using System.Globalization;

namespace PcieSim.AddressDecode;

/// <summary>A decoded configuration address: bus, device/function (devfn) and register offset (PCIe Base Spec r6.0 §7.2.2, ECAM).</summary>
public readonly record struct EcamAddress(byte Bus, byte Devfn, ushort Register)
{
    /// <summary>Device number, bits 7:3 of the devfn.</summary>
    public int Device => Devfn >> 3;

    /// <summary>Function number, bits 2:0 of the devfn.</summary>
    public int Function => Devfn & 7;

    /// <summary>The BDF the way lspci prints it: <c>BB:DD.F</c>.</summary>
    public string FormatBdf() => Bdf.Format(Bus, Devfn);
}

/// <summary>Formatting of bus/device/function triples, segment-qualified where needed.</summary>
public static class Bdf
{
    /// <summary><c>BB:DD.F</c>, as lspci prints it.</summary>
    public static string Format(byte bus, byte devfn) =>
        string.Create(CultureInfo.InvariantCulture, $"{bus:x2}:{devfn >> 3:x2}.{devfn & 7}");

    /// <summary><c>SSSS:BB:DD.F</c>, as lspci -D prints it.</summary>
    public static string Format(ushort segment, byte bus, byte devfn) =>
        string.Create(CultureInfo.InvariantCulture, $"{segment:x4}:{bus:x2}:{devfn >> 3:x2}.{devfn & 7}");

    /// <summary>Devfn of device <paramref name="device"/>, function <paramref name="function"/>.</summary>
    public static byte Devfn(int device, int function) => (byte)((device << 3) | function);
}
