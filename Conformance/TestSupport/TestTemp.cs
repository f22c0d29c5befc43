using System.Globalization;

namespace PcieSim.Conformance.TestSupport;

/// <summary>
/// A folder of temporary files with fresh sub-folders handed out one per request. Each sub-folder is named after what
/// it holds plus a counter, so two requests never get the same folder, even from different threads, and a file keeps
/// the name a test gives it (snapshots and error messages name trace, topology and state files).
/// </summary>
internal sealed class TempRoot(string root)
{
    private long made;

    /// <summary>The folder itself; every sub-folder handed out is below it.</summary>
    public string Root { get; } = root;

    /// <summary>A new, empty folder <c>ROOT/name-N</c>.</summary>
    public string NewFolder(string name)
    {
        long n = Interlocked.Increment(ref made);
        return Directory.CreateDirectory(Path.Combine(Root, name + "-" + n.ToString(CultureInfo.InvariantCulture))).FullName;
    }

    /// <summary>The path of <paramref name="fileName"/> in a new folder of its own: nothing exists there yet.</summary>
    public string NewFilePath(string fileName) => Path.Combine(NewFolder(Path.GetFileNameWithoutExtension(fileName)), fileName);

    /// <summary>Writes <paramref name="text"/> (UTF-8, no byte-order mark) to <see cref="NewFilePath"/>; returns its path.</summary>
    public string WriteFile(string fileName, string text)
    {
        string path = NewFilePath(fileName);
        File.WriteAllText(path, text);
        return path;
    }

    /// <summary>Deletes the folder and everything below it; a folder already gone is not an error.</summary>
    public void Delete()
    {
        if (Directory.Exists(Root))
        {
            Directory.Delete(Root, recursive: true);
        }
    }
}

/// <summary>
/// The temporary files of the test run: one folder under the system temporary folder, named by the OS
/// (<see cref="Directory.CreateTempSubdirectory(string?)"/>, prefix <c>pciesim-tests-</c>) when a test first asks,
/// and deleted with everything in it by <see cref="TestRunTeardown"/> when the run ends. Every test that needs a
/// temporary file or folder takes it from here; tests that delete their own files when done still do.
/// </summary>
internal static class TestTemp
{
    /// <summary>The prefix of the run's folder in the system temporary folder.</summary>
    public const string Prefix = "pciesim-tests-";

    private static readonly Lazy<TempRoot> Run =
        new(() => new TempRoot(Directory.CreateTempSubdirectory(Prefix).FullName), LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The run's folder (made on first use).</summary>
    public static string Root => Run.Value.Root;

    /// <inheritdoc cref="TempRoot.NewFolder"/>
    public static string NewFolder(string name) => Run.Value.NewFolder(name);

    /// <inheritdoc cref="TempRoot.NewFilePath"/>
    public static string NewFilePath(string fileName) => Run.Value.NewFilePath(fileName);

    /// <inheritdoc cref="TempRoot.WriteFile"/>
    public static string WriteFile(string fileName, string text) => Run.Value.WriteFile(fileName, text);

    /// <summary>Deletes the run's folder if a test made it; called once, after the last test.</summary>
    internal static void DeleteRun()
    {
        if (Run.IsValueCreated)
        {
            Run.Value.Delete();
        }
    }
}
