using System.Runtime.CompilerServices;

namespace PcieSim.Conformance.TestSupport;

/// <summary>The repository's trace corpus (<c>traces/</c>), found from this source file's place in the tree.</summary>
internal static class TestCorpus
{
    /// <summary>The full path of <c>traces/</c>.</summary>
    public static string Directory { get; } = Find();

    /// <summary>The corpus traces' file names (<c>*.csv</c>), in ordinal order.</summary>
    public static IEnumerable<string> Traces() =>
        System.IO.Directory.GetFiles(Directory, "*.csv").Select(p => Path.GetFileName(p)).Order(StringComparer.Ordinal);

    private static string Find([CallerFilePath] string source = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(source)!, "..", "..", "traces"));
}
