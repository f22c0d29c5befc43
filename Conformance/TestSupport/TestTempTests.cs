using System.Collections.Concurrent;

namespace PcieSim.Conformance.TestSupport;

/// <summary>
/// The temporary files helper: distinct folders under concurrent requests, files that keep their names, and a delete
/// that removes everything below the root. Each test works in a root of its own inside the run's folder, so it never
/// touches what other tests are using; the run's folder itself is deleted by <see cref="TestRunTeardown"/>.
/// </summary>
public class TestTempTests
{
    [Test]
    public void the_run_folder_is_made_by_the_os_in_the_system_temporary_folder()
    {
        string root = TestTemp.Root;
        Assert.Multiple(() =>
        {
            Assert.That(Path.GetDirectoryName(root), Is.EqualTo(Path.TrimEndingDirectorySeparator(Path.GetFullPath(Path.GetTempPath()))));
            Assert.That(Path.GetFileName(root), Does.StartWith(TestTemp.Prefix));
            Assert.That(Directory.Exists(root), Is.True);
            Assert.That(Path.GetDirectoryName(TestTemp.NewFolder("check")), Is.EqualTo(root));
        });
    }

    [Test]
    public void folders_asked_for_from_many_threads_at_once_are_distinct_new_and_empty()
    {
        var temp = new TempRoot(TestTemp.NewFolder("concurrent"));
        var folders = new ConcurrentBag<string>();
        Parallel.For(0, 400, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
            folders.Add(i % 2 == 0 ? temp.NewFolder("same") : Path.GetDirectoryName(temp.NewFilePath("same.csv"))!));

        Assert.That(folders, Has.Count.EqualTo(400));
        Assert.That(folders.Distinct(StringComparer.Ordinal).Count(), Is.EqualTo(400), "no two requests share a folder");
        Assert.That(Directory.GetDirectories(temp.Root), Has.Length.EqualTo(400));
        Assert.That(folders.Where(f => Directory.EnumerateFileSystemEntries(f).Any()), Is.Empty, "a new folder is empty");
    }

    [Test]
    public void a_file_keeps_its_name_in_a_folder_of_its_own()
    {
        var temp = new TempRoot(TestTemp.NewFolder("names"));
        string first = temp.WriteFile("trace.csv", "op\nreset\n");
        string second = temp.NewFilePath("trace.csv");
        Assert.Multiple(() =>
        {
            Assert.That(Path.GetFileName(first), Is.EqualTo("trace.csv"));
            Assert.That(Path.GetFileName(second), Is.EqualTo("trace.csv"));
            Assert.That(Path.GetDirectoryName(second), Is.Not.EqualTo(Path.GetDirectoryName(first)));
            Assert.That(File.ReadAllBytes(first), Is.EqualTo("op\nreset\n"u8.ToArray()), "UTF-8 without a byte-order mark");
            Assert.That(File.Exists(second), Is.False, "a path only: nothing is written there");
        });
    }

    [Test]
    public void delete_removes_the_root_and_everything_below_it_and_nothing_else()
    {
        string parent = TestTemp.NewFolder("delete");
        string neighbour = Directory.CreateDirectory(Path.Combine(parent, "neighbour")).FullName;
        var temp = new TempRoot(Directory.CreateDirectory(Path.Combine(parent, "root")).FullName);
        temp.WriteFile("state.json", "{}");
        string deep = Directory.CreateDirectory(Path.Combine(temp.NewFolder("nested"), "a", "b")).FullName;
        File.WriteAllText(Path.Combine(deep, "out.txt"), "x");
        temp.NewFilePath("never-written.csv");

        temp.Delete();

        Assert.That(Directory.Exists(temp.Root), Is.False);
        Assert.That(Directory.GetFileSystemEntries(parent), Is.EqualTo(new[] { neighbour }));
        Assert.DoesNotThrow(temp.Delete, "a root already gone is not an error");
    }
}
