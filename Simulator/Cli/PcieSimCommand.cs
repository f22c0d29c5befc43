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
        var root = new RootCommand("pciesim: a deterministic functional simulator of OpenVMM's PCIe topology, for conformance testing of PCIe emulation.");
        root.Subcommands.Add(TopologyCommand(stdout, stderr));
        root.Subcommands.Add(DecodeCommand(stdout, stderr));

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
}
