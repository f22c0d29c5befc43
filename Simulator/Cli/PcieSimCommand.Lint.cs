using System.CommandLine;
using PcieSim.Files;
using PcieSim.Lint;

namespace PcieSim.Cli;

/// <summary><c>pciesim lint</c>.</summary>
public static partial class PcieSimCommand
{
    private static Command LintCommand(TextWriter stdout, TextWriter stderr)
    {
        var trace = new Argument<string>("TRACE") { Description = "Trace CSV file of a recorded system (values as the system returned them)." };
        var output = new Option<string?>("--out") { Description = "Write the report to this file (atomically) instead of standard output." };
        var command = new Command("lint", "Judge a recorded system from its trace alone, with no model, against the §6.7 rules. Exit 0 clean, 3 findings, 2 bad input.")
        {
            trace, output,
        };
        command.SetAction(parse => Guard(stderr, () =>
        {
            CheckOutputPath("--out", parse.GetValue(output));
            LintResult result;
            using (var reader = TraceReader.Open(parse.GetValue(trace)!))
            {
                result = TraceLinter.Lint(reader);
            }

            string report = TraceLinter.Report(result) + "\n";
            if (parse.GetValue(output) is { } path)
            {
                AtomicFile.WriteAllText(path, report);
            }
            else
            {
                stdout.Write(report);
            }

            return result.Findings.Count > 0 ? Violations : Success;
        }));
        return command;
    }
}
