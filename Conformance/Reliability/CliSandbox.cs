using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using PcieSim.Cli;
using PcieSim.Conformance.TestSupport;

namespace PcieSim.Conformance.Reliability;

/// <summary>
/// A temporary folder for end-to-end runs of <c>pciesim</c> through <see cref="PcieSimCommand.Run"/>: input files,
/// an output file that already exists with known content, and a fingerprint of every file in the folder, so a test
/// can check that a failed run changed no file and left no temporary file behind.
/// </summary>
internal sealed class CliSandbox : IDisposable
{
    /// <summary>What <see cref="OutPath"/> holds before a run: a failed run must leave it as it is.</summary>
    public const string PreviousOutput = "previous snapshot: a failed run must leave this file as it is\n";

    private static readonly UTF8Encoding Utf8NoBom = new(encoderShouldEmitUTF8Identifier: false);

    public CliSandbox()
    {
        Folder = TestTemp.NewFolder("reliability");
        OutPath = Write("out.txt", PreviousOutput);
    }

    public string Folder { get; }

    /// <summary>An existing output file (<c>--out</c> target).</summary>
    public string OutPath { get; }

    /// <summary>Writes a UTF-8 (no byte-order mark) file in the sandbox; returns its full path.</summary>
    public string Write(string name, string text) => Write(name, Utf8NoBom.GetBytes(text));

    public string Write(string name, byte[] bytes)
    {
        string path = System.IO.Path.Combine(Folder, name);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    public string Path(string name) => System.IO.Path.Combine(Folder, name);

    /// <summary>Every file below the folder (relative path, size and SHA-256), in ordinal order.</summary>
    public IReadOnlyList<string> Fingerprint()
    {
        var files = Directory.GetFiles(Folder, "*", SearchOption.AllDirectories)
            .Select(f => string.Create(CultureInfo.InvariantCulture, $"{System.IO.Path.GetRelativePath(Folder, f)} {new FileInfo(f).Length} {Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f)))}"))
            .ToList();
        files.Sort(StringComparer.Ordinal);
        return files;
    }

    /// <summary>Runs the console front in-process; standard output and error use LF.</summary>
    public static (int Exit, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter(CultureInfo.InvariantCulture) { NewLine = "\n" };
        var stderr = new StringWriter(CultureInfo.InvariantCulture) { NewLine = "\n" };
        int exit = PcieSimCommand.Run(args, stdout, stderr);
        return (exit, stdout.ToString(), stderr.ToString());
    }

    /// <summary>
    /// Runs <paramref name="args"/>, which must be rejected as bad input: exit code 2, nothing on standard output,
    /// one line <c>pciesim: LOCATION: message</c> on standard error holding every fragment and no stack trace,
    /// and every file in the sandbox exactly as it was. A <paramref name="location"/> ending in <c>:</c> (a file
    /// name only) stands for that file at any line and column.
    /// </summary>
    public string Rejected(string[] args, string location, params string[] fragments)
    {
        var before = Fingerprint();
        var (exit, output, error) = Run(args);
        Assert.Multiple(() =>
        {
            Assert.That(exit, Is.EqualTo(2), error);
            Assert.That(output, Is.Empty, "nothing is written to standard output");
            Assert.That(error, location.EndsWith(':')
                ? Does.Match("^pciesim: " + System.Text.RegularExpressions.Regex.Escape(location) + @"[1-9][0-9]*:[1-9][0-9]*: ")
                : Does.StartWith("pciesim: " + location + ": "));
            Assert.That(error, Does.EndWith("\n"));
            Assert.That(error.TrimEnd('\n'), Does.Not.Contain("\n"), "one line on standard error");
            Assert.That(error, Does.Not.Contain("   at ").And.Not.Contain("Exception"), "no stack trace");
            foreach (string fragment in fragments)
            {
                Assert.That(error, Does.Contain(fragment));
            }

            Assert.That(Fingerprint(), Is.EqualTo(before), "a failed run changes no file and leaves no temporary file");
        });
        return error;
    }

    public void Dispose()
    {
        if (Directory.Exists(Folder))
        {
            Directory.Delete(Folder, recursive: true);
        }
    }
}
