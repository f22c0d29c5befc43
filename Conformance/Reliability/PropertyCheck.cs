using System.Globalization;
using FsCheck;
using FsCheck.Fluent;
using Microsoft.FSharp.Core;

namespace PcieSim.Conformance.Reliability;

/// <summary>
/// Runs FsCheck properties with a fixed seed, so CI is deterministic, and names the seed of any failure so it can
/// be replayed: <c>PCIESIM_SEED=SEED,GAMMA[,SIZE] dotnet test --filter Name~TEST</c> (FsCheck's own report adds the
/// seed and size of the failing case itself; giving its size with <c>PCIESIM_MAX_TEST=1</c> replays just that case).
/// </summary>
internal static class PropertyCheck
{
    /// <summary>The seed CI uses (any 64-bit value).</summary>
    public const ulong Seed = 0x0006_2026_0611_5EED;

    /// <summary>The gamma CI uses: FsCheck's golden gamma (it must be odd).</summary>
    public const ulong Gamma = 0x9E37_79B9_7F4A_7C15;

    /// <summary>
    /// Checks <paramref name="body"/> for <paramref name="maxTest"/> generated values. The body throws on failure
    /// (<see cref="Require"/>), never calls NUnit's asserts: FsCheck re-runs failing cases while it shrinks them,
    /// and NUnit would record every one of those runs.
    /// </summary>
    public static void ForAll<T>(string name, Arbitrary<T> arbitrary, Action<T> body, int maxTest)
    {
        var (seed, gamma, size) = Replay();
        string? maxOverride = Environment.GetEnvironmentVariable("PCIESIM_MAX_TEST");
        int tests = maxOverride is not null && int.TryParse(maxOverride, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n > 0 ? n : maxTest;
        var config = Config.QuickThrowOnFailure
            .WithMaxTest(tests)
            .WithQuietOnSuccess(true)
            .WithReplay(FSharpOption<FsCheck.Replay>.Some(new FsCheck.Replay(new Rnd(seed, gamma), size)));
        try
        {
            Check.One(config, Prop.ForAll(arbitrary, body));
        }
        catch (Exception failure)
        {
            string replay = size is null
                ? string.Create(CultureInfo.InvariantCulture, $"{seed},{gamma}")
                : string.Create(CultureInfo.InvariantCulture, $"{seed},{gamma},{size.Value}");
            Assert.Fail(string.Create(CultureInfo.InvariantCulture,
                $"property '{name}' failed with seed {replay}; replay with PCIESIM_SEED={replay} dotnet test --filter \"Name~{name}\"\n{failure.Message}"));
        }
    }

    /// <summary>The seed from <c>PCIESIM_SEED</c> (<c>SEED,GAMMA[,SIZE]</c>, decimal), else the fixed one.</summary>
    private static (ulong Seed, ulong Gamma, FSharpOption<int>? Size) Replay()
    {
        string? text = Environment.GetEnvironmentVariable("PCIESIM_SEED");
        if (string.IsNullOrWhiteSpace(text))
        {
            return (Seed, Gamma, null);
        }

        string[] parts = text.Trim().Trim('(', ')').Split(',', StringSplitOptions.TrimEntries);
        if (parts.Length is < 2 or > 3
            || !ulong.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out ulong seed)
            || !ulong.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out ulong gamma)
            || (gamma & 1) == 0)
        {
            throw new ArgumentException($"PCIESIM_SEED must be SEED,GAMMA[,SIZE] in decimal with an odd GAMMA; found '{text}'");
        }

        if (parts.Length == 2)
        {
            return (seed, gamma, null);
        }

        return int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out int size)
            ? (seed, gamma, FSharpOption<int>.Some(size))
            : throw new ArgumentException($"PCIESIM_SEED: SIZE must be a decimal integer; found '{parts[2]}'");
    }

    /// <summary>Throws a <see cref="PropertyViolation"/> with <paramref name="message"/> unless <paramref name="condition"/> holds.</summary>
    public static void Require(bool condition, Func<string> message)
    {
        if (!condition)
        {
            throw new PropertyViolation(message());
        }
    }
}

/// <summary>A property did not hold for one generated case.</summary>
internal sealed class PropertyViolation(string message) : Exception(message);
