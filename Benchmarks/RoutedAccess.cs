using BenchmarkDotNet.Attributes;
using PcieSim.Topology;

namespace PcieSim.Benchmarks;

/// <summary>
/// A 32-bit configuration access end to end through the model (ECAM decode, routing, register file, result): a read
/// of the Vendor/Device ID DWORD and a write of the Command DWORD, on the three topologies of issue 5, to a root port
/// on the start bus, to an endpoint behind one root port, and (4 × 16 topology) to the endpoint below three switches.
/// </summary>
[MemoryDiagnoser]
public class RoutedAccess
{
    /// <summary>Topology/target pairs: the start-bus target is the last root port; behind-port the last root port's endpoint that has a bus.</summary>
    public static IEnumerable<string> Cases =>
    [
        "1x4/start-bus", "1x4/behind-port",
        "4x16-sw3/start-bus", "4x16-sw3/behind-port", "4x16-sw3/deepest",
        "1x256/start-bus", "1x256/behind-port",
    ];

    private PcieModel model = null!;
    private ulong readAddress;
    private ulong writeAddress;

    [ParamsSource(nameof(Cases))]
    public string Case { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        string[] parts = Case.Split('/');
        model = BenchTopologies.Enumerated(parts[0]);
        string target = (parts[0], parts[1]) switch
        {
            (BenchTopologies.Rc1x4, "start-bus") => "rp3",
            (BenchTopologies.Rc1x4, "behind-port") => "ep3",
            (BenchTopologies.Rc4x16Switch3, "start-bus") => "rc3-rp15",
            (BenchTopologies.Rc4x16Switch3, "behind-port") => "rc3-ep14",
            (BenchTopologies.Rc4x16Switch3, "deepest") => "rc3-deep",
            (BenchTopologies.Rc1x256, "start-bus") => "rp255",
            (BenchTopologies.Rc1x256, "behind-port") => "ep254",
            _ => throw new ArgumentException("unknown case " + Case),
        };
        var function = BenchTopologies.Function(model, target);
        readAddress = BenchTopologies.EcamAddressOf(model, function, 0x00);
        writeAddress = BenchTopologies.EcamAddressOf(model, function, 0x04);
        var check = model.ReadEcam(readAddress, 4);
        if (!ReferenceEquals(check.Function, function))
        {
            throw new InvalidOperationException($"{Case}: the read reached {check.Function?.Name ?? "nothing"}, not {target}");
        }
    }

    [Benchmark]
    public ulong RoutedRead() => model.ReadEcam(readAddress, 4).Value;

    /// <summary>Command = Memory Space Enable | Bus Master Enable, as a driver's probe writes it.</summary>
    [Benchmark]
    public uint RoutedWrite() => model.WriteEcam(writeAddress, 4, 0x0006).After;
}
