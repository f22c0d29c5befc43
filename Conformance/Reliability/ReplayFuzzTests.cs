using System.Globalization;
using System.Text;
using PcieSim.Conformance.TestSupport;
using PcieSim.Files;
using PcieSim.Lint;
using PcieSim.Replay;
using PcieSim.Snapshot;
using PcieSim.Topology;

namespace PcieSim.Conformance.Reliability;

/// <summary>
/// Issue 6 fuzzing: random bytes and mutated traces (the corpus <c>traces/*.csv</c> and a seed trace using every op)
/// fed to the trace reader, to the linter, and to the whole replay (topology, model, session, text and JSON snapshot
/// writers, trace emitter). Only clean <see cref="InputException"/>s may come out: with the file name, a line and a column, and a
/// one-line message. Fixed seeds; a failure names the seed, the iteration and the input.
/// </summary>
[TestFixture]
public sealed class ReplayFuzzTests
{
    private const string Source = "fuzz.csv";

    /// <summary>A trace that replays cleanly and uses every op: enumeration, BAR sizing, MSI-X, hot-plug, raise, msi rows, reset.</summary>
    internal const string SeedTrace =
        "# seed trace for mutation\n" +
        "# topology: --pcie-root-complex rc0 --pcie-root-port rc0:rp0,hotplug,cc --pcie-root-port rc0:rp1\n" +
        "# topology: --pcie-switch rp1:sw0,num_downstream_ports=2,hotplug --pcie-endpoint nvme0,template=nvme\n" +
        "# topology: --pcie-endpoint sw0-downstream-0:ep0,template=generic,bar0=16K,msi=4,msix=8 --gic-msi its\n" +
        "seq,op,address,width,value,port,device,note\n" +
        "1,write,00:00.0@0x018,4,0x00010100,,,rp0 buses\n" +
        "2,write,00:01.0@0x018,4,0x00050200,,,rp1 buses\n" +
        "3,write,02:00.0@0x018,4,0x00050302,,,sw0 upstream buses\n" +
        "4,write,03:00.0@0x018,4,0x00040403,,,downstream-0 buses\n" +
        "5,read,04:00.0@0x000,4,,,,ep0 IDs\n" +
        "6,write,04:00.0@0x010,4,0xffffffff,,,size BAR0\n" +
        "7,read,04:00.0@0x010,4,,,,\n" +
        "8,write,04:00.0@0x010,4,0xe0000000,,,\n" +
        "9,write,04:00.0@0x018,4,0xe0100000,,,BAR2 (MSI-X)\n" +
        "10,write,04:00.0@0x004,2,0x0006,,,MEM BME\n" +
        "11,mmio-write,0xe0100000,4,0xfee00000,,,MSI-X vector 0 address\n" +
        "12,mmio-write,0xe010000c,4,0x0,,,unmask\n" +
        "13,write,0x1004000000,4,0x0,,,ECAM form\n" +
        "14,write,00:00.0@0x058,2,0x1028,,,PDCE HPIE DLLSCE\n" +
        "15,write,00:00.0@0x07e,2,0x0001,,,MSI enable\n" +
        "16,hot-add,,,,rp0,nvme0,\n" +
        "17,msi,0x0,4,0x0,,0x0,\n" +
        "18,read,00:00.0@0x05a,2,,,,\n" +
        "19,write,00:00.0@0x05a,2,0x0108,,,\n" +
        "20,raise,,,0x0,,ep0,\n" +
        "21,mmio-read,0xe0102000,8,,,,PBA\n" +
        "22,hot-remove,,,,rp0,nvme0,\n" +
        "23,read,01:00.0@0x000,4,0xffffffff,,,empty slot\n" +
        "24,reset,,,,,,\n" +
        "25,read,0000:00:00.0@0x000,4,0xc0301414,,,\n";

    private static readonly string[] Dictionary =
    [
        "", "read", "write", "hot-add", "hot-remove", "reset", "msi", "mmio-read", "mmio-write", "raise", "READ",
        "0x0", "0x1", "0xffffffff", "0xffffffffffffffff", "0x10000000000000000", "0x1000000000", "0x10fffffffc", "0x2000000000",
        "00:00.0@0xfff", "ff:1f.7@0x0", "ffff:ff:1f.7@0xffc", "0001:00:00.0@0x0", "00:00.0@0x058", "00:00.0", "0:0.0@0",
        "0", "1", "2", "3", "4", "8", "16", "-1", "2147483648", "99999999999",
        "rp0", "rp1", "sw0", "sw0-downstream-0", "sw0-downstream-1", "nvme0", "ep0", "rc0", "nope", "rp 0",
        "\"quoted, with comma\"", "a\"b", "\"", "\u00e9", "# topology: --gic-msi v2m", "#",
    ];

    private static readonly string[] TopologyPieces =
    [
        "--pcie-root-complex", "--pcie-root-port", "--pcie-switch", "--pcie-endpoint", "--gic-msi", "--amd-iommu", "--bogus",
        "rc0", "rc1", "rc0:rp2,hotplug", "rp0:sw1", "sw0-downstream-1:ep1,template=generic,msix=2", "nvme1,template=nvme",
        "its", "v2m", "rc0,segment=1", "rc1,start_bus=0x80", ",cxl", ",acs=0", "rp0:x", "",
    ];

    private static string CorpusDirectory() => TestCorpus.Directory;

    /// <summary>The seed trace and every corpus trace: what mutations start from.</summary>
    private static List<(string Name, byte[] Bytes)> Seeds()
    {
        var seeds = new List<(string, byte[])> { ("seed", Encoding.UTF8.GetBytes(SeedTrace)) };
        seeds.AddRange(TestCorpus.Traces().Select(name => (name, File.ReadAllBytes(Path.Combine(CorpusDirectory(), name)))));
        return seeds;
    }

    private string folder = null!;

    [SetUp]
    public void SetUp() => folder = TestTemp.NewFolder("fuzz");

    [TearDown]
    public void TearDown() => Directory.Delete(folder, recursive: true);

    [Test]
    public void seeds_replay_cleanly()
    {
        foreach (var (name, bytes) in Seeds())
        {
            Assert.That(Replay(bytes, BehaviourProfile.OpenVmm, SnapshotFormat.Text, emit: true), Is.Null, name + " must replay without an input error");
        }
    }

    [Test]
    public void random_bytes_through_the_reader_and_the_whole_replay()
    {
        int seed = FuzzSeed(61);
        var random = new Random(seed);
        for (int iteration = 0; iteration < Iterations(400); iteration++)
        {
            var bytes = new byte[random.Next(0, 600)];
            random.NextBytes(bytes);
            if (iteration % 2 == 1)
            {
                // Bytes drawn from what traces are made of, behind a valid topology and header half of the time.
                const string Alphabet = "0123456789abcdefx,.:@#\n\r\" -readwitholsmpy";
                for (int i = 0; i < bytes.Length; i++)
                {
                    bytes[i] = (byte)Alphabet[bytes[i] % Alphabet.Length];
                }

                if (iteration % 4 == 1)
                {
                    bytes = [.. Encoding.UTF8.GetBytes(SeedTrace.AsSpan(0, SeedTrace.IndexOf("1,write", StringComparison.Ordinal)).ToString()), .. bytes];
                }
            }

            OnlyCleanInputErrors(bytes, random, Inv($"PCIESIM_FUZZ_SEED={seed}, iteration {iteration}"));
        }
    }

    [Test]
    public void mutated_corpus_traces_through_the_reader_and_the_whole_replay()
    {
        int seed = FuzzSeed(6_2026);
        var random = new Random(seed);
        var seeds = Seeds();
        int replayed = 0;
        int iterations = Iterations(1500);
        for (int iteration = 0; iteration < iterations; iteration++)
        {
            var (name, original) = seeds[iteration % seeds.Count];
            byte[] bytes = Mutate(original, random);
            if (OnlyCleanInputErrors(bytes, random, Inv($"PCIESIM_FUZZ_SEED={seed}, iteration {iteration}, from {name}")))
            {
                replayed++;
            }
        }

        // Not degenerate: many mutants still replay to the end, so the model behind the reader is exercised.
        Assert.That(replayed, Is.GreaterThan(iterations / 10), "mutants that replayed to the end");
    }

    /// <summary>The fixed seed, or <c>PCIESIM_FUZZ_SEED</c> to replay a failure or explore.</summary>
    private static int FuzzSeed(int fixedSeed) =>
        int.TryParse(Environment.GetEnvironmentVariable("PCIESIM_FUZZ_SEED"), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int seed) ? seed : fixedSeed;

    /// <summary>The CI iteration count, times <c>PCIESIM_FUZZ_SCALE</c> for a longer local run.</summary>
    private static int Iterations(int ci) =>
        int.TryParse(Environment.GetEnvironmentVariable("PCIESIM_FUZZ_SCALE"), NumberStyles.None, CultureInfo.InvariantCulture, out int scale) && scale > 0 ? ci * scale : ci;

    /// <summary>One to three mutations: bytes, whole lines, one CSV field, or one topology token.</summary>
    private static byte[] Mutate(byte[] original, Random random)
    {
        byte[] bytes = original;
        int count = random.Next(1, 4);
        for (int m = 0; m < count; m++)
        {
            bytes = random.Next(6) switch
            {
                0 => MutateByte(bytes, random),
                1 => MutateLines(bytes, random),
                2 => bytes.Length == 0 ? bytes : bytes[..random.Next(bytes.Length)],
                3 => MutateTopology(bytes, random),
                _ => MutateField(bytes, random),
            };
        }

        return bytes;
    }

    private static byte[] MutateByte(byte[] bytes, Random random)
    {
        byte[] interesting = [0x00, 0x09, 0x0A, 0x0D, (byte)'"', (byte)',', (byte)'#', (byte)'x', (byte)'0', (byte)'f', (byte)'@', (byte)':', (byte)'.', 0x7F, 0xC3, 0xA9, 0xEF, 0xFF];
        var list = bytes.ToList();
        int at = list.Count == 0 ? 0 : random.Next(list.Count);
        byte value = random.Next(2) == 0 ? interesting[random.Next(interesting.Length)] : (byte)random.Next(256);
        switch (random.Next(3))
        {
            case 0 when list.Count > 0:
                list[at] = value;
                break;
            case 1 when list.Count > 0:
                list.RemoveAt(at);
                break;
            default:
                list.Insert(at, value);
                break;
        }

        return [.. list];
    }

    private static byte[] MutateLines(byte[] bytes, Random random)
    {
        var lines = Encoding.UTF8.GetString(bytes).Split('\n').ToList();
        int a = random.Next(lines.Count);
        int b = random.Next(lines.Count);
        switch (random.Next(4))
        {
            case 0:
                lines.RemoveAt(a);
                break;
            case 1:
                lines.Insert(b, lines[a]);
                break;
            case 2:
                (lines[a], lines[b]) = (lines[b], lines[a]);
                break;
            default:
                string moved = lines[a];
                lines.RemoveAt(a);
                lines.Insert(Math.Min(b, lines.Count), moved);
                break;
        }

        return Encoding.UTF8.GetBytes(string.Join('\n', lines));
    }

    private static byte[] MutateField(byte[] bytes, Random random)
    {
        var lines = Encoding.UTF8.GetString(bytes).Split('\n');
        var data = Enumerable.Range(0, lines.Length).Where(i => lines[i].Contains(',', StringComparison.Ordinal) && !lines[i].StartsWith('#')).ToList();
        if (data.Count == 0)
        {
            return bytes;
        }

        int line = data[random.Next(data.Count)];
        var fields = lines[line].Split(',').ToList();
        int field = random.Next(fields.Count + 1);
        string value = Dictionary[random.Next(Dictionary.Length)];
        if (field == fields.Count)
        {
            fields.Add(value);
        }
        else
        {
            fields[field] = value;
        }

        lines[line] = string.Join(',', fields);
        return Encoding.UTF8.GetBytes(string.Join('\n', lines));
    }

    private static byte[] MutateTopology(byte[] bytes, Random random)
    {
        var lines = Encoding.UTF8.GetString(bytes).Split('\n');
        var topology = Enumerable.Range(0, lines.Length).Where(i => lines[i].StartsWith("# topology:", StringComparison.Ordinal)).ToList();
        if (topology.Count == 0)
        {
            return bytes;
        }

        int line = topology[random.Next(topology.Count)];
        var tokens = lines[line]["# topology:".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries).ToList();
        string piece = TopologyPieces[random.Next(TopologyPieces.Length)];
        int at = random.Next(tokens.Count + 1);
        if (random.Next(2) == 0 && at < tokens.Count)
        {
            tokens[at] = piece;
        }
        else
        {
            tokens.Insert(at, piece);
        }

        lines[line] = "# topology: " + string.Join(' ', tokens);
        return Encoding.UTF8.GetBytes(string.Join('\n', lines));
    }

    /// <summary>Feeds the bytes to the reader, then to the whole replay; true when the replay reached the end.</summary>
    private bool OnlyCleanInputErrors(byte[] bytes, Random random, string what)
    {
        Exception? readerError = null;
        try
        {
            using var reader = TraceReader.Open(new MemoryStream(bytes, writable: false), Source);
            while (reader.TryRead(out _))
            {
            }
        }
        catch (Exception e)
        {
            readerError = e;
        }

        Exception? lintError = null;
        try
        {
            using var reader = TraceReader.Open(new MemoryStream(bytes, writable: false), Source);
            _ = TraceLinter.Report(TraceLinter.Lint(reader));
        }
        catch (Exception e)
        {
            lintError = e;
        }

        var profile = random.Next(2) == 0 ? BehaviourProfile.OpenVmm : BehaviourProfile.Spec;
        var format = random.Next(3) == 0 ? SnapshotFormat.Json : SnapshotFormat.Text;
        Exception? replayError = Replay(bytes, profile, format, emit: random.Next(2) == 0);
        foreach (var error in new[] { readerError, lintError, replayError })
        {
            if (error is null)
            {
                continue;
            }

            if (error is not InputException input)
            {
                Assert.Fail($"{what}: {error.GetType().Name} escaped: {error}\ninput ({profile}, {format}):\n{Printable(bytes)}");
                return false;
            }

            if (input.Source != Source || input.Line < 1 || input.Column < 1 || string.IsNullOrEmpty(input.Message)
                || input.Message.Any(c => char.IsControl(c)))
            {
                Assert.Fail($"{what}: unclean input error '{input.Describe()}' (line {input.Line}, column {input.Column})\ninput:\n{Printable(bytes)}");
            }
        }

        // The reader alone accepts what the replay reads: a reader error is a replay error too.
        if (readerError is InputException readFailure && replayError is null)
        {
            Assert.Fail($"{what}: the reader rejected the input ({readFailure.Describe()}) but the replay did not\ninput:\n{Printable(bytes)}");
        }

        return replayError is null;
    }

    /// <summary>Replays the bytes as a file; null on success, else the exception.</summary>
    private Exception? Replay(byte[] bytes, BehaviourProfile profile, SnapshotFormat format, bool emit)
    {
        string path = Path.Combine(folder, Source);
        File.WriteAllBytes(path, bytes);
        try
        {
            using var emitted = new StringWriter(CultureInfo.InvariantCulture);
            TraceReplayer.Replay(path, new ReplayOptions { Profile = profile, Format = format, EmitTrace = emit ? emitted : null }, new StringWriter(CultureInfo.InvariantCulture));
            return null;
        }
        catch (Exception e)
        {
            return e;
        }
    }

    private static string Printable(byte[] bytes) => Encoding.UTF8.GetString(bytes).Length <= 4000
        ? string.Concat(Encoding.UTF8.GetString(bytes).Select(c => char.IsControl(c) && c != '\n' ? Inv($"\\u{(int)c:x4}") : c.ToString()))
        : Convert.ToHexString(bytes);

    private static string Inv(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
