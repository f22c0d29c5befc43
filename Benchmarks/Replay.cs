using System.Globalization;
using BenchmarkDotNet.Attributes;
using PcieSim.Files;
using PcieSim.Replay;

namespace PcieSim.Benchmarks;

/// <summary>
/// Trace replay end to end inside the process: header, topology, every record through the session, the snapshot
/// streamed out. The trace is generated (<c>pciesim generate</c>'s generator, seed 1) on the 4 × 16 topology; it is
/// read from memory or from a file, and the snapshot goes to a null writer or to a file. The <c>Records/s</c> column
/// is <see cref="Records"/> divided by the mean time of one replay.
/// </summary>
/// <remarks>
/// The record count comes from <c>PCIESIM_BENCH_RECORDS</c> (comma separated; default 1,000,000); CI sets 100,000.
/// Files live in a temporary folder deleted after the run.
/// </remarks>
[MemoryDiagnoser]
[Config(typeof(RecordsPerSecondConfig))]
public class Replay
{
    private string folder = "";
    private string tracePath = "";
    private byte[] traceBytes = [];

    public static IEnumerable<int> RecordCounts()
    {
        string? text = Environment.GetEnvironmentVariable("PCIESIM_BENCH_RECORDS");
        if (string.IsNullOrWhiteSpace(text))
        {
            return [1_000_000];
        }

        var counts = new List<int>();
        foreach (string part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            counts.Add(int.Parse(part, NumberStyles.None, CultureInfo.InvariantCulture));
        }

        return counts;
    }

    [ParamsSource(nameof(RecordCounts))]
    public int Records { get; set; }

    [Params("memory", "file")]
    public string Trace { get; set; } = "";

    [Params("null", "file")]
    public string Snapshot { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        folder = Path.Combine(Path.GetTempPath(), "pciesim-bench-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        tracePath = Path.Combine(folder, "generated.csv");
        BenchTopologies.WriteGeneratedTrace(BenchTopologies.Rc4x16Switch3, Records, tracePath);
        traceBytes = File.ReadAllBytes(tracePath);
    }

    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(folder, recursive: true);

    [Benchmark]
    public long EndToEnd()
    {
        var options = new ReplayOptions();
        ReplayResult result;
        if (Snapshot == "file")
        {
            using var file = AtomicFile.Begin(Path.Combine(folder, "snapshot.txt"));
            result = Run(options, file.Writer);
            file.Commit();
        }
        else
        {
            result = Run(options, TextWriter.Null);
        }

        if (result.Records != Records || result.Mismatches != 0)
        {
            throw new InvalidOperationException($"replayed {result.Records} records with {result.Mismatches} mismatches");
        }

        return result.Records;
    }

    private ReplayResult Run(ReplayOptions options, TextWriter snapshot) => Trace == "file"
        ? TraceReplayer.Replay(tracePath, options, snapshot)
        : TraceReplayer.Replay(traceBytes, "generated.csv", options, snapshot);
}
