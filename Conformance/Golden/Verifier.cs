using System.Runtime.CompilerServices;
using System.Text;
using PcieSim.Files;

namespace PcieSim.Conformance.Golden;

/// <summary>Raised when a received text differs from its golden file; the message follows Verify's shape.</summary>
public sealed class VerifyException(string message) : Exception(message);

/// <summary>
/// Our small golden-file helper in Verify.NUnit's conventions: <c>{Class}.{Method}_{parameters}.verified.txt</c>
/// beside the test source, received twin on a difference, <c>PCIESIM_ACCEPT=1</c> to accept (ours, not Verify's).
/// </summary>
public static class Verifier
{
    private static readonly HashSet<string> UsedPrefixes = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Whether tests accept received text into golden files (<c>PCIESIM_ACCEPT=1</c>).</summary>
    public static bool AcceptAll => Environment.GetEnvironmentVariable("PCIESIM_ACCEPT") == "1";

    public static Task Verify(string text, string? methodName = null, [CallerFilePath] string sourceFile = "")
    {
        var test = TestContext.CurrentContext.Test;
        string className = (test.ClassName ?? "Unknown").Split('.')[^1].Replace('+', '.');
        var name = new StringBuilder(className).Append('.').Append(methodName ?? test.MethodName);
        if (methodName is null && test.Arguments.Length > 0)
        {
            var parameters = test.MethodInfo!.GetParameters().ToArray();
            for (int i = 0; i < test.Arguments.Length; i++)
            {
                name.Append('_').Append(parameters[i].Name).Append('=').Append(Clean(Convert.ToString(test.Arguments[i], System.Globalization.CultureInfo.InvariantCulture) ?? "null"));
            }
        }

        string prefix = Path.Combine(Path.GetDirectoryName(sourceFile)!, name.ToString());
        lock (UsedPrefixes)
        {
            if (!UsedPrefixes.Add(prefix))
            {
                throw new InvalidOperationException($"golden file prefix used twice in one run: {prefix}");
            }
        }

        return VerifyFile(prefix + ".verified.txt", text);
    }

    /// <summary>Compares <paramref name="text"/> with an explicit verified path (corpus golden files).</summary>
    public static Task VerifyFile(string verifiedPath, string text)
    {
        var comparison = GoldenFile.Compare(verifiedPath, text, AcceptAll);
        if (comparison.Outcome != GoldenOutcome.Equal && !comparison.Accepted)
        {
            if (File.Exists(comparison.ReceivedPath))
            {
                TestContext.AddTestAttachment(comparison.ReceivedPath);
            }

            throw new VerifyException(GoldenFile.FailureMessage(comparison));
        }

        return Task.CompletedTask;
    }

    /// <summary>Verify's file-name cleaning: invalid characters and <c>#</c> become <c>-</c>.</summary>
    private static string Clean(string value)
    {
        var builder = new StringBuilder(value.Length);
        foreach (char c in value)
        {
            builder.Append(c is '"' or '\\' or '<' or '>' or '|' or ':' or '*' or '?' or '/' or '#' || char.IsControl(c) ? '-' : c);
        }

        return builder.ToString();
    }
}
