using System.CommandLine;

namespace PcieSim.Cli;

/// <summary>
/// The <c>pciesim</c> console front: a thin layer that parses arguments, calls the engine and prints.
/// Exit codes for every command: 0 success; 1 a recorded value or golden file differs; 2 bad input or usage;
/// 3 clean replay that violated §6.7 rules, or lint findings.
/// </summary>
public static partial class PcieSimCommand
{
    public const int Success = 0;
    public const int Mismatch = 1;
    public const int BadInput = 2;
    public const int Violations = 3;

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        var root = CreateRoot(stdout, stderr);
        foreach (var option in root.Options)
        {
            if (option is VersionOption version)
            {
                version.Action = new PrintVersion(stdout);
            }
        }

        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var error in parse.Errors)
            {
                stderr.WriteLine("pciesim: " + error.Message);
            }

            stderr.WriteLine("Try 'pciesim --help'.");
            return BadInput;
        }

        return parse.Invoke(new InvocationConfiguration { Output = stdout, Error = stderr });
    }

    /// <summary>The command tree: every command and option <c>pciesim</c> accepts (also read by the script lint test).</summary>
    public static RootCommand CreateRoot(TextWriter stdout, TextWriter stderr)
    {
        var root = new RootCommand("pciesim: a deterministic functional simulator of OpenVMM's PCIe topology, for conformance testing of PCIe emulation.");
        root.Subcommands.Add(TopologyCommand(stdout, stderr));
        root.Subcommands.Add(DecodeCommand(stdout, stderr));
        root.Subcommands.Add(ReplayCommand(stdout, stderr));
        root.Subcommands.Add(VerifyCommand(stdout, stderr));
        root.Subcommands.Add(ImportCommand(stdout, stderr));
        root.Subcommands.Add(LintCommand(stdout, stderr));
        root.Subcommands.Add(RecordCommand(stdout, stderr));
        root.Subcommands.Add(GenerateCommand(stdout, stderr));
        return root;
    }

    /// <summary>The simulator's version (the assembly's, without build metadata).</summary>
    public static string Version
    {
        get
        {
            var attribute = typeof(PcieSimCommand).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false);
            string version = attribute.Length > 0 ? ((System.Reflection.AssemblyInformationalVersionAttribute)attribute[0]).InformationalVersion : "0.0.0";
            int plus = version.IndexOf('+', StringComparison.Ordinal);
            return plus < 0 ? version : version[..plus];
        }
    }

    /// <summary>Runs a command body, turning bad input into one clear line on standard error and exit code 2.</summary>
    private static int Guard(TextWriter stderr, Func<int> body)
    {
        try
        {
            return body();
        }
        catch (InputException error)
        {
            stderr.WriteLine("pciesim: " + error.Describe());
            return BadInput;
        }
        catch (IOException error)
        {
            stderr.WriteLine("pciesim: " + error.Message);
            return BadInput;
        }
        catch (UnauthorizedAccessException error)
        {
            stderr.WriteLine("pciesim: " + error.Message);
            return BadInput;
        }
    }

    private sealed class PrintVersion(TextWriter stdout) : System.CommandLine.Invocation.SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            stdout.WriteLine(Version);
            return Success;
        }
    }
}
