using System.Text.RegularExpressions;
using PcieSim.Cli;

namespace PcieSim.Conformance.Cli;

/// <summary>
/// run-conformance.ps1 cannot run here (PowerShell is not installable on the build machines), so it is read as
/// text: it must stay a thin wrapper that calls only documented commands and options, stops at the first non-zero
/// exit code, and matches the shell commands the README gives.
/// </summary>
public partial class ConformanceScriptTests
{
    private static string Repository([System.Runtime.CompilerServices.CallerFilePath] string source = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(source)!, "..", ".."));

    private static List<string> Statements() =>
        File.ReadAllLines(Path.Combine(Repository(), "run-conformance.ps1"))
            .Select(l => l.Trim())
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .ToList();

    /// <summary>The dotnet commands, in order, with <c>@accept</c> and <c>$Filter</c> left as written.</summary>
    private static List<string[]> DotnetCommands() =>
        Statements().Where(l => l.StartsWith("dotnet ", StringComparison.Ordinal)).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToList();

    [Test]
    public void the_script_is_short_and_has_no_logic_of_its_own()
    {
        var statements = Statements();
        Assert.That(statements, Has.Count.LessThanOrEqualTo(15));
        var allowed = new[]
        {
            ParamLine(), AcceptArgumentsLine(), DotnetLine(), StopOnFailureLine(), ExitLine(),
        };
        foreach (string statement in statements)
        {
            Assert.That(allowed.Any(r => r.IsMatch(statement)), $"not a documented command or the exit-code plumbing: {statement}");
        }
    }

    [Test]
    public void it_builds_then_verifies_then_tests_and_stops_at_the_first_failure()
    {
        var statements = Statements();
        var commands = DotnetCommands();
        Assert.That(commands.Select(c => c[1]), Is.EqualTo(new[] { "build", "run", "test" }));
        for (int i = 0; i < statements.Count; i++)
        {
            if (statements[i].StartsWith("dotnet ", StringComparison.Ordinal))
            {
                Assert.That(i + 1, Is.LessThan(statements.Count));
                Assert.That(StopOnFailureLine().IsMatch(statements[i + 1]) || ExitLine().IsMatch(statements[i + 1]), $"after '{statements[i]}' the script must exit on a non-zero exit code");
            }
        }

        Assert.That(statements[^1], Is.EqualTo("exit $LASTEXITCODE"));
    }

    [Test]
    public void every_pciesim_command_and_option_it_calls_exists_and_is_documented()
    {
        var root = PcieSimCommand.CreateRoot(TextWriter.Null, TextWriter.Null);
        string readme = File.ReadAllText(Path.Combine(Repository(), "README.md"));
        foreach (string[] command in DotnetCommands().Where(c => c[1] == "run"))
        {
            int separator = Array.IndexOf(command, "--");
            Assert.That(separator, Is.GreaterThan(0), "dotnet run passes pciesim's arguments after --");
            Assert.That(command[2..separator], Is.EqualTo(new[] { "--project", "Simulator", "-c", "Release", "--no-build" }));
            var sub = root.Subcommands.SingleOrDefault(s => s.Name == command[separator + 1]);
            Assert.That(sub, Is.Not.Null, $"pciesim has no command '{command[separator + 1]}'");
            Assert.That(readme, Does.Contain("pciesim " + sub!.Name), "the README documents the command");
            foreach (string argument in command[(separator + 2)..])
            {
                string option = argument == "@accept" ? AcceptedOption() : argument;
                if (!option.StartsWith("--", StringComparison.Ordinal))
                {
                    continue;
                }

                Assert.That(sub.Options.Any(o => o.Name == option), $"'pciesim {sub.Name}' has no option {option}");
                Assert.That(readme, Does.Contain(option), $"the README documents {option}");
            }
        }
    }

    [Test]
    public void the_readme_gives_the_equivalent_shell_commands()
    {
        string readme = File.ReadAllText(Path.Combine(Repository(), "README.md"));
        foreach (string[] command in DotnetCommands())
        {
            string shell = string.Join(' ', command.Where(a => a != "@accept")).Replace("$Filter", "'*'", StringComparison.Ordinal);
            Assert.That(readme, Does.Contain(shell), "README's shell equivalent of run-conformance.ps1");
        }
    }

    [Test]
    public void the_build_and_test_commands_are_the_ones_ci_runs()
    {
        string ci = File.ReadAllText(Path.Combine(Repository(), ".ci", "run"));
        foreach (string[] command in DotnetCommands().Where(c => c[1] is "build" or "test"))
        {
            Assert.That(ci, Does.Contain(string.Join(' ', command)));
        }
    }

    private static string AcceptedOption()
    {
        var match = AcceptArgumentsLine().Match(Statements().Single(s => AcceptArgumentsLine().IsMatch(s)));
        return match.Groups[1].Value;
    }

    [GeneratedRegex("""^param\(\[string\]\$Filter = "\*", \[switch\]\$Accept\)$""")]
    private static partial Regex ParamLine();

    [GeneratedRegex("""^\$accept = if \(\$Accept\) \{ @\("(--[a-z-]+)"\) \} else \{ @\(\) \}$""")]
    private static partial Regex AcceptArgumentsLine();

    // '!' and '=' for the test filter that leaves out the RealGuest category (TestCategory!=RealGuest).
    [GeneratedRegex("""^dotnet [A-Za-z0-9 .\-'"*$@!=]+$""")]
    private static partial Regex DotnetLine();

    [GeneratedRegex("""^if \(\$LASTEXITCODE -ne 0\) \{ exit \$LASTEXITCODE \}$""")]
    private static partial Regex StopOnFailureLine();

    [GeneratedRegex("""^exit \$LASTEXITCODE$""")]
    private static partial Regex ExitLine();
}
