using BenchmarkDotNet.Attributes;
using PcieSim.Topology;

namespace PcieSim.Benchmarks;

/// <summary>
/// ECAM decode alone (address → root complex, bus, devfn, register; PCIe Base Spec r6.0 §7.2.2): sequential DWORD
/// addresses in one window, and random addresses across the four windows of the 4 × 16 topology. Each invocation
/// decodes <see cref="Batch"/> precomputed addresses; the table's time is per address.
/// </summary>
[MemoryDiagnoser]
public class EcamDecode
{
    private const int Batch = 4096;

    private readonly ulong[] sequential = new ulong[Batch];
    private readonly ulong[] random = new ulong[Batch];
    private PcieModel model = null!;

    [GlobalSetup]
    public void Setup()
    {
        model = BenchTopologies.Enumerated(BenchTopologies.Rc4x16Switch3);
        var first = model.RootComplexes[0].Window;
        for (int i = 0; i < Batch; i++)
        {
            sequential[i] = first.Base + ((ulong)i * 4);
        }

        var rng = new PcieSim.Generation.SplitMix64(5);
        for (int i = 0; i < Batch; i++)
        {
            var window = model.RootComplexes[(int)rng.Below(4)].Window;
            random[i] = window.Base + (rng.Next() % window.Size);
        }
    }

    [Benchmark(OperationsPerInvoke = Batch)]
    public int Sequential() => DecodeAll(sequential);

    [Benchmark(OperationsPerInvoke = Batch)]
    public int Random4RootComplexes() => DecodeAll(random);

    /// <summary>The last root complex decoded: keeps the reference alive without timing a load through it.</summary>
    public RootComplex? LastRootComplex { get; private set; }

    /// <summary>
    /// Decodes every address and consumes all four results: the root complex (the last one is kept) and bus, devfn and
    /// register (summed). The decoder is held in a local, as a caller decoding many addresses holds it, and each field
    /// has its own sum, so that the loop times the decode rather than a reload through the model per address or a
    /// chain of three dependent additions.
    /// </summary>
    private int DecodeAll(ulong[] addresses)
    {
        var decoder = model.Ecam;
        int buses = 0, devfns = 0, registers = 0;
        RootComplex? last = null;
        foreach (ulong address in addresses.AsSpan())
        {
            if (decoder.TryDecode(address, out var rc, out var decoded))
            {
                last = rc;
                buses += decoded.Bus;
                devfns += decoded.Devfn;
                registers += decoded.Register;
            }
        }

        LastRootComplex = last;
        return buses + devfns + registers;
    }
}
