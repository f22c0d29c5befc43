using System.Runtime.InteropServices;
using System.Text;
using PcieSim.Conformance.TestSupport;
using PcieSim.Files;

namespace PcieSim.Conformance.Files;

/// <summary>
/// <see cref="AtomicFile"/> replaces a regular file through a temporary file and a rename, and writes a device, FIFO or
/// socket in place: renaming over <c>/dev/null</c> would replace the device node (as root it did: a 10 M-record
/// replay with <c>--out /dev/null</c> turned <c>/dev/null</c> into a 1.3 GB file held in memory).
/// </summary>
public class AtomicFileTests
{
    [Test]
    public void A_regular_file_is_replaced_whole_and_no_temporary_file_is_left()
    {
        string path = TestTemp.WriteFile("snapshot.txt", "old text, longer than the new one\n");

        AtomicFile.WriteAllText(path, "new\n");

        Assert.That(File.ReadAllText(path), Is.EqualTo("new\n"));
        Assert.That(Directory.GetFiles(Path.GetDirectoryName(path)!), Is.EqualTo(new[] { path }));
        Assert.That(FileKinds.Of(path), Is.EqualTo(FileKind.Regular));
    }

    [Test]
    public void An_uncommitted_write_leaves_the_old_file_and_no_temporary_file()
    {
        string path = TestTemp.WriteFile("snapshot.txt", "old\n");

        using (var pending = AtomicFile.Begin(path))
        {
            pending.Writer.Write("half of the new text");
        }

        Assert.That(File.ReadAllText(path), Is.EqualTo("old\n"));
        Assert.That(Directory.GetFiles(Path.GetDirectoryName(path)!), Is.EqualTo(new[] { path }));
    }

    [Test]
    public void Kinds_of_paths()
    {
        string file = TestTemp.WriteFile("file.txt", "x");
        string folder = Path.GetDirectoryName(file)!;

        Assert.That(FileKinds.Of(file), Is.EqualTo(FileKind.Regular));
        Assert.That(FileKinds.Of(Path.Combine(folder, "missing.txt")), Is.EqualTo(FileKind.Missing));
        Assert.That(FileKinds.Of(folder), Is.EqualTo(FileKind.Regular), "a directory: the rename onto it reports the error");
        if (!OperatingSystem.IsWindows())
        {
            Assert.That(FileKinds.Of(MakeFifo()), Is.EqualTo(FileKind.Special));
        }
    }

    [Test]
    public void A_link_is_followed_to_what_it_names()
    {
        Assume.That(!OperatingSystem.IsWindows(), "links and FIFOs as on Unix");
        string fifo = MakeFifo();
        string file = TestTemp.WriteFile("file.txt", "x");
        string toFifo = Path.Combine(Path.GetDirectoryName(fifo)!, "to-fifo");
        string toFile = Path.Combine(Path.GetDirectoryName(file)!, "to-file");
        File.CreateSymbolicLink(toFifo, fifo);
        File.CreateSymbolicLink(toFile, file);

        Assert.That(FileKinds.Of(toFifo), Is.EqualTo(FileKind.Special));
        Assert.That(FileKinds.Of(toFile), Is.EqualTo(FileKind.Regular));
    }

    [Test]
    public void A_fifo_is_written_in_place_and_stays_a_fifo()
    {
        Assume.That(!OperatingSystem.IsWindows(), "FIFOs as on Unix");
        string fifo = MakeFifo();
        // More than the stream's buffer, so whole halves go through its writer thread too.
        string text = string.Concat(Enumerable.Range(0, 200_000).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture) + "\n"));

        var read = Task.Run(() => ReadAll(fifo));
        AtomicFile.WriteAllText(fifo, text);

        Assert.That(read.Wait(TimeSpan.FromSeconds(60)), Is.True, "the reader saw the end of the text");
        Assert.That(read.Result, Is.EqualTo(text));
        Assert.That(FileKinds.Of(fifo), Is.EqualTo(FileKind.Special));
        Assert.That(Directory.GetFileSystemEntries(Path.GetDirectoryName(fifo)!), Is.EqualTo(new[] { fifo }), "no temporary file beside it");
    }

    [Test]
    public void An_uncommitted_write_to_a_fifo_leaves_the_fifo()
    {
        Assume.That(!OperatingSystem.IsWindows(), "FIFOs as on Unix");
        string fifo = MakeFifo();

        var read = Task.Run(() => ReadAll(fifo));
        using (var pending = AtomicFile.Begin(fifo))
        {
            pending.Writer.Write("what was written before the failure\n");
        }

        Assert.That(read.Wait(TimeSpan.FromSeconds(60)), Is.True);
        Assert.That(read.Result, Is.EqualTo("what was written before the failure\n"), "a stream cannot take back what it was sent");
        Assert.That(FileKinds.Of(fifo), Is.EqualTo(FileKind.Special));
    }

    [Test]
    public void Dev_null_stays_a_device()
    {
        Assume.That(FileKinds.Of("/dev/null"), Is.EqualTo(FileKind.Special), "a Unix /dev/null");

        AtomicFile.WriteAllText("/dev/null", new string('x', 3 << 20));

        Assert.That(FileKinds.Of("/dev/null"), Is.EqualTo(FileKind.Special));
        Assert.That(new FileInfo("/dev/null").Length, Is.Zero);
    }

    private static string ReadAll(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    private static string MakeFifo()
    {
        string path = TestTemp.NewFilePath("fifo");
        Assert.That(MkFifo(path, Convert.ToUInt32("600", 8)), Is.Zero, "mkfifo " + path);
        return path;
    }

    [DllImport("libc", EntryPoint = "mkfifo", SetLastError = true)]
    private static extern int MkFifo([MarshalAs(UnmanagedType.LPUTF8Str)] string path, uint mode);
}
