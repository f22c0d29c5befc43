using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using PcieSim.Conformance.TestSupport;
using PcieSim.Files;
using PcieSim.Replay;
using PcieSim.Snapshot;
using PcieSim.Topology;

namespace PcieSim.Conformance.Reliability;

/// <summary>
/// Issue 6 determinism: the whole corpus (<c>traces/*.csv</c>, plus the fuzz seed trace that uses every op), both
/// profiles, text and JSON, replayed under <c>tr-TR</c>, <c>de-DE</c> and <c>ar-SA</c> (current culture and UI
/// culture of the replaying thread), from another working directory, and in parallel, gives byte-identical
/// snapshots; so does <c>pciesim replay --out</c> and <c>pciesim verify</c> against the golden files.
/// </summary>
[TestFixture]
public sealed class DeterminismTests
{
    private static readonly string[] Cultures = ["tr-TR", "de-DE", "ar-SA"];

    private string folder = null!;

    /// <summary>Every trace to replay: the corpus, and the seed trace copied into the scratch folder.</summary>
    private List<string> traces = null!;

    private static string CorpusDirectory() => TestCorpus.Directory;

    private static IEnumerable<(BehaviourProfile Profile, SnapshotFormat Format)> Variants()
    {
        foreach (var profile in new[] { BehaviourProfile.OpenVmm, BehaviourProfile.Spec })
        {
            foreach (var format in new[] { SnapshotFormat.Text, SnapshotFormat.Json })
            {
                yield return (profile, format);
            }
        }
    }

    [SetUp]
    public void SetUp()
    {
        folder = TestTemp.NewFolder("determinism");
        traces = [.. TestCorpus.Traces().Select(name => Path.Combine(CorpusDirectory(), name))];
        string seed = Path.Combine(folder, "seed-all-ops.csv");
        File.WriteAllText(seed, ReplayFuzzTests.SeedTrace);
        traces.Add(seed);
    }

    [TearDown]
    public void TearDown() => Directory.Delete(folder, recursive: true);

    /// <summary>Replays every trace and variant on the calling thread: key <c>name|profile|format</c>, snapshot bytes.</summary>
    private Dictionary<string, byte[]> ReplayAll(Func<string, string>? pathOf = null)
    {
        var snapshots = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (string trace in traces)
        {
            foreach (var (profile, format) in Variants())
            {
                snapshots.Add(Key(trace, profile, format), Replay(pathOf?.Invoke(trace) ?? trace, profile, format));
            }
        }

        return snapshots;
    }

    private static string Key(string trace, BehaviourProfile profile, SnapshotFormat format) =>
        Path.GetFileName(trace) + "|" + SnapshotWriter.ProfileName(profile) + "|" + format;

    private static byte[] Replay(string path, BehaviourProfile profile, SnapshotFormat format)
    {
        var text = new StringWriter(CultureInfo.InvariantCulture);
        TraceReplayer.Replay(path, new ReplayOptions { Profile = profile, Format = format }, text);
        return AtomicFile.Utf8NoBom.GetBytes(text.ToString());
    }

    /// <summary>Runs <paramref name="body"/> with the thread's culture and UI culture set to <paramref name="culture"/>.</summary>
    private static T InCulture<T>(string culture, Func<T> body)
    {
        var (current, ui) = (CultureInfo.CurrentCulture, CultureInfo.CurrentUICulture);
        try
        {
            CultureInfo.CurrentCulture = CultureInfo.CurrentUICulture = CultureInfo.GetCultureInfo(culture);
            return body();
        }
        finally
        {
            (CultureInfo.CurrentCulture, CultureInfo.CurrentUICulture) = (current, ui);
        }
    }

    private static void AssertSame(Dictionary<string, byte[]> expected, Dictionary<string, byte[]> actual, string what)
    {
        Assert.That(actual.Keys, Is.EquivalentTo(expected.Keys), what);
        foreach (var (key, bytes) in expected)
        {
            if (!bytes.AsSpan().SequenceEqual(actual[key]))
            {
                Assert.Fail($"{what}: {key} differs\n--- expected\n{Encoding.UTF8.GetString(bytes)}\n--- actual\n{Encoding.UTF8.GetString(actual[key])}");
            }
        }
    }

    [Test]
    public void the_cultures_really_differ_from_the_invariant_one()
    {
        // Guards the tests below against a runtime in invariant-globalization mode, where every culture is the same.
        Assert.Multiple(() =>
        {
            Assert.That("i".ToUpper(CultureInfo.GetCultureInfo("tr-TR")), Is.EqualTo("\u0130"), "Turkish dotted capital I");
            Assert.That(1.5.ToString(CultureInfo.GetCultureInfo("de-DE")), Is.EqualTo("1,5"), "German decimal comma");
            Assert.That(CultureInfo.GetCultureInfo("ar-SA").TextInfo.IsRightToLeft, Is.True, "Arabic is right to left");
            Assert.That(CultureInfo.GetCultureInfo("ar-SA").Calendar, Is.Not.InstanceOf<GregorianCalendar>(), "Saudi calendar");
        });
    }

    [Test]
    public void corpus_replays_byte_identical_under_tr_de_and_ar_cultures()
    {
        var baseline = InCulture("", () => ReplayAll());
        Assert.That(baseline, Has.Count.GreaterThanOrEqualTo(8));
        foreach (string culture in Cultures)
        {
            AssertSame(baseline, InCulture(culture, () => ReplayAll()), "under " + culture);
        }
    }

    [Test]
    public void corpus_text_snapshots_under_every_culture_equal_their_golden_files()
    {
        foreach (string culture in Cultures)
        {
            foreach (string trace in traces.Where(t => t.StartsWith(CorpusDirectory(), StringComparison.Ordinal)))
            {
                foreach (var profile in new[] { BehaviourProfile.OpenVmm, BehaviourProfile.Spec })
                {
                    string golden = Path.Combine(CorpusDirectory(), $"{Path.GetFileNameWithoutExtension(trace)}.{SnapshotWriter.ProfileName(profile)}.verified.txt");
                    string snapshot = InCulture(culture, () => Encoding.UTF8.GetString(Replay(trace, profile, SnapshotFormat.Text)));
                    Assert.That(GoldenFile.Normalise(snapshot), Is.EqualTo(File.ReadAllText(golden)), $"{Path.GetFileName(trace)} [{SnapshotWriter.ProfileName(profile)}] under {culture}");
                }
            }
        }
    }

    [Test]
    public void corpus_replays_byte_identical_from_another_working_directory()
    {
        var baseline = ReplayAll();
        string original = Environment.CurrentDirectory;
        try
        {
            // Relative paths from each trace's own folder, then absolute paths from an unrelated folder.
            var relative = new Dictionary<string, byte[]>(StringComparer.Ordinal);
            foreach (string trace in traces)
            {
                Environment.CurrentDirectory = Path.GetDirectoryName(trace)!;
                foreach (var (profile, format) in Variants())
                {
                    relative.Add(Key(trace, profile, format), Replay(Path.GetFileName(trace), profile, format));
                }
            }

            AssertSame(baseline, relative, "relative paths");
            Environment.CurrentDirectory = Directory.CreateDirectory(Path.Combine(folder, "elsewhere")).FullName;
            AssertSame(baseline, ReplayAll(), "from another working directory");
        }
        finally
        {
            Environment.CurrentDirectory = original;
        }
    }

    [Test]
    public void corpus_replayed_in_parallel_gives_the_snapshots_of_one_at_a_time()
    {
        var sequential = ReplayAll();
        var jobs = new List<(string Trace, BehaviourProfile Profile, SnapshotFormat Format, string Culture)>();
        for (int round = 0; round < 4; round++)
        {
            foreach (string trace in traces)
            {
                foreach (var (profile, format) in Variants())
                {
                    jobs.Add((trace, profile, format, Cultures[(round + jobs.Count) % Cultures.Length]));
                }
            }
        }

        var parallel = new ConcurrentBag<(string Key, byte[] Bytes)>();
        Parallel.ForEach(jobs, new ParallelOptions { MaxDegreeOfParallelism = 8 }, job =>
            parallel.Add((Key(job.Trace, job.Profile, job.Format), InCulture(job.Culture, () => Replay(job.Trace, job.Profile, job.Format)))));

        Assert.That(parallel, Has.Count.EqualTo(jobs.Count));
        foreach (var (key, bytes) in parallel)
        {
            Assert.That(bytes, Is.EqualTo(sequential[key]), key + " replayed in parallel");
        }
    }

    [Test]
    public void cli_replay_out_is_byte_identical_under_another_culture_and_working_directory()
    {
        string original = Environment.CurrentDirectory;
        try
        {
            foreach (string trace in traces)
            {
                foreach (string profile in new[] { "openvmm", "spec", "both" })
                {
                    string invariantOut = Path.Combine(folder, "invariant.txt");
                    var a = InCulture("", () => CliSandbox.Run("replay", trace, "--profile", profile, "--out", invariantOut));
                    Environment.CurrentDirectory = Directory.CreateDirectory(Path.Combine(folder, "cwd")).FullName;
                    var b = InCulture("ar-SA", () => CliSandbox.Run("replay", Path.GetRelativePath(Environment.CurrentDirectory, trace), "--profile", profile, "--out", "cwd-out.txt"));
                    var c = InCulture("tr-TR", () => CliSandbox.Run("replay", trace, "--profile", profile, "--format", "json"));
                    var d = InCulture("", () => CliSandbox.Run("replay", trace, "--profile", profile, "--format", "json"));
                    Environment.CurrentDirectory = original;
                    Assert.That((a.Exit, b.Exit, c.Exit), Is.EqualTo((d.Exit, d.Exit, d.Exit)), trace);
                    Assert.That(File.ReadAllBytes(Path.Combine(folder, "cwd", "cwd-out.txt")), Is.EqualTo(File.ReadAllBytes(invariantOut)), $"{trace} --profile {profile} --out");
                    Assert.That(c.Out, Is.EqualTo(d.Out), $"{trace} --profile {profile} --format json");
                }
            }
        }
        finally
        {
            Environment.CurrentDirectory = original;
        }
    }

    [Test]
    public void cli_verify_of_the_corpus_is_equal_under_every_culture()
    {
        // A copy of the corpus and its golden files, so nothing is ever written into traces/.
        string copy = Directory.CreateDirectory(Path.Combine(folder, "corpus")).FullName;
        foreach (string file in Directory.GetFiles(CorpusDirectory()))
        {
            File.Copy(file, Path.Combine(copy, Path.GetFileName(file)));
        }

        foreach (string culture in Cultures)
        {
            var (exit, output, error) = InCulture(culture, () => CliSandbox.Run("verify", copy));
            Assert.That((exit, error), Is.EqualTo((0, "")), culture + ": " + output);
            int count = Directory.GetFiles(copy, "*.csv").Length;
            Assert.That(output, Does.EndWith(Inv($"verify: {count} traces, {2 * count} equal or accepted, 0 new or different, 0 failed\n")), culture);
        }
    }

    private static string Inv(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
