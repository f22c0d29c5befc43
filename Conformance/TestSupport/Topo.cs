using System.Globalization;
using PcieSim.Topology;
using PcieSim.Topology.Language;

namespace PcieSim.Conformance.TestSupport;

/// <summary>Builds models from OpenVMM command lines and snapshots their configuration spaces.</summary>
internal static class Topo
{
    /// <summary>Parses <paramref name="flags"/> and builds a model.</summary>
    public static PcieModel Build(string flags) => new(TopologyParser.Parse(flags, "test"));

    /// <summary>Every DWORD of every function, keyed by function name.</summary>
    public static Dictionary<string, uint[]> Snapshot(PcieModel model)
    {
        var result = new Dictionary<string, uint[]>(StringComparer.Ordinal);
        foreach (var function in model.Functions)
        {
            result.Add(function.Name, function.Config.Save());
        }

        return result;
    }

    /// <summary>Fails naming the first function and DWORD that differs between two snapshots.</summary>
    public static void AssertUnchanged(Dictionary<string, uint[]> before, Dictionary<string, uint[]> after, string what)
    {
        Assert.That(after.Keys, Is.EquivalentTo(before.Keys), what);
        foreach (var (name, dwords) in before)
        {
            var now = after[name];
            for (int i = 0; i < dwords.Length; i++)
            {
                if (dwords[i] != now[i])
                {
                    Assert.Fail(string.Create(CultureInfo.InvariantCulture, $"{what}: {name} DWORD 0x{i * 4:X3} changed 0x{dwords[i]:X8} -> 0x{now[i]:X8}"));
                }
            }
        }
    }

    /// <summary>A 32-bit read that must complete; returns the value.</summary>
    public static uint Read32(PcieModel model, RootComplex rc, int bus, int devfn, int register)
    {
        var result = model.Read(rc, (byte)bus, (byte)devfn, register, 4);
        return (uint)result.Value;
    }

    public static string Hex(ulong value) => string.Create(CultureInfo.InvariantCulture, $"0x{value:X8}");
}
