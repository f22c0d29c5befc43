using System.Runtime.CompilerServices;
using PcieSim.Conformance.TestSupport;
using PcieSim.Files;

namespace PcieSim.Conformance.Golden;

/// <summary>Verify's convention check (VerifyChecks.Run) for our golden files, and the helper's own lifecycle.</summary>
public class RepositoryConventionTests
{
    private static string RepositoryRoot([CallerFilePath] string source = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(source)!, "..", ".."));

    [Test]
    public void gitignore_excludes_received_files() =>
        Assert.That(File.ReadAllLines(Path.Combine(RepositoryRoot(), ".gitignore")), Does.Contain("*.received.*"));

    [Test]
    public void gitattributes_keeps_verified_files_lf() =>
        Assert.That(File.ReadAllText(Path.Combine(RepositoryRoot(), ".gitattributes")), Does.Contain("*.verified.txt text eol=lf"));

    [Test]
    public void editorconfig_states_the_no_bom_lf_no_final_newline_rule()
    {
        string text = File.ReadAllText(Path.Combine(RepositoryRoot(), ".editorconfig"));
        int section = text.IndexOf("[*.{received,verified}.{json,txt,xml}]", StringComparison.Ordinal);
        Assert.That(section, Is.GreaterThanOrEqualTo(0));
        string body = text[section..];
        Assert.That(body, Does.Contain("charset = utf-8\n").And.Contain("end_of_line = lf").And.Contain("insert_final_newline = false"));
    }

    [Test]
    public void every_verified_file_is_utf8_without_bom_lf_and_no_trailing_newline()
    {
        var files = Directory.EnumerateFiles(RepositoryRoot(), "*.verified.txt", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                     && !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .ToList();
        Assert.That(files, Is.Not.Empty);
        foreach (string file in files)
        {
            byte[] bytes = File.ReadAllBytes(file);
            Assert.That(bytes.Take(3).SequenceEqual(new byte[] { 0xEF, 0xBB, 0xBF }), Is.False, file + " starts with a BOM");
            Assert.That(bytes, Does.Not.Contain((byte)'\r'), file + " has CR");
            Assert.That(bytes.Length == 0 || bytes[^1] != (byte)'\n', Is.True, file + " ends with a newline");
        }
    }

    [Test]
    public void compare_lifecycle_new_then_equal_then_not_equal()
    {
        string directory = TestTemp.NewFolder("golden");
        try
        {
            string verified = Path.Combine(directory, "T.M.verified.txt");
            string received = GoldenFile.ReceivedPathFor(verified);
            Assert.That(received, Is.EqualTo(Path.Combine(directory, "T.M.received.txt")));

            var first = GoldenFile.Compare(verified, "a\r\nb\n", accept: false);
            Assert.That(first.Outcome, Is.EqualTo(GoldenOutcome.New));
            Assert.That(File.ReadAllText(received), Is.EqualTo("a\nb"));
            Assert.That(File.Exists(verified), Is.False);

            File.Move(received, verified);
            var second = GoldenFile.Compare(verified, "a\nb", accept: false);
            Assert.That(second.Outcome, Is.EqualTo(GoldenOutcome.Equal));
            Assert.That(File.Exists(received), Is.False);

            var third = GoldenFile.Compare(verified, "a\nc", accept: false);
            Assert.That(third.Outcome, Is.EqualTo(GoldenOutcome.NotEqual));
            Assert.That(File.ReadAllText(verified), Is.EqualTo("a\nb"));
            string message = GoldenFile.FailureMessage(third);
            Assert.That(message, Does.StartWith("Directory: " + directory + "\nNotEqual:\n  - Received: T.M.received.txt\n    Verified: T.M.verified.txt\n\nFileContent:\n"));

            var accepted = GoldenFile.Compare(verified, "a\nc", accept: true);
            Assert.That(accepted.Accepted, Is.True);
            Assert.That(File.ReadAllText(verified), Is.EqualTo("a\nc"));

            File.WriteAllText(verified, "x\r\ny");
            Assert.Throws<InvalidDataException>(() => GoldenFile.Compare(verified, "x\ny", accept: false));
            Assert.That(File.Exists(received), Is.True);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
