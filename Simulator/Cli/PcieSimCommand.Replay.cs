using System.CommandLine;
using PcieSim.Files;
using PcieSim.Replay;
using PcieSim.Snapshot;
using PcieSim.Topology;

namespace PcieSim.Cli;

/// <summary><c>pciesim replay</c> and <c>pciesim verify</c>.</summary>
public static partial class PcieSimCommand
{
    private static Command ReplayCommand(TextWriter stdout, TextWriter stderr)
    {
        var trace = new Argument<string>("TRACE") { Description = "Trace CSV file." };
        var topology = new Option<string?>("--topology") { Description = "Topology file replacing the trace's '# topology:' lines." };
        var profile = ProfileOption("openvmm");
        var output = new Option<string?>("--out") { Description = "Write the snapshot to this file (atomically) instead of standard output." };
        var format = new Option<string>("--format") { Description = "Snapshot form: text or json (schema in the README).", DefaultValueFactory = _ => "text" };
        format.AcceptOnlyFromAmong("text", "json");
        var emitTrace = new Option<string?>("--emit-trace") { Description = "Write the trace back with every read's value and every accepted message taken from the model (the openvmm run's with --profile both)." };
        var vmmEnumerate = new Option<bool>("--vmm-enumerate") { Description = "Start from OpenVMM's pre-boot enumeration (bus numbers, BARs, windows) and run it again after every reset." };
        var (saveAt, stateFile, restore) = StateOptions();
        var command = new Command("replay", "Replay a trace against the model and print its snapshot. Exit 0 clean, 1 mismatch, 2 bad input, 3 §6.7 violations.")
        {
            trace, topology, profile, output, format, emitTrace, vmmEnumerate, saveAt, stateFile, restore,
        };
        command.SetAction(parse => Guard(stderr, () =>
        {
            string tracePath = parse.GetValue(trace)!;
            CheckOutputPath("--out", parse.GetValue(output));
            CheckOutputPath("--emit-trace", parse.GetValue(emitTrace));
            var options = new ReplayOptions
            {
                Topology = parse.GetValue(topology) is { } path ? TopologyFile.Read(path) : null,
                Format = parse.GetValue(format) == "json" ? SnapshotFormat.Json : SnapshotFormat.Text,
                VmmEnumerate = parse.GetValue(vmmEnumerate),
            };
            var profiles = Profiles(parse.GetValue(profile)!);
            string? outPath = parse.GetValue(output);
            string? emitPath = parse.GetValue(emitTrace);
            var state = StateRequest.From(parse, saveAt, stateFile, restore, profiles, emitPath is not null);
            options = options with { SaveAt = state.SaveAt, Restore = state.Restore };

            // Everything goes to temporary files first: bad input at any row leaves every destination untouched.
            using var snapshot = outPath is null ? null : AtomicFile.Begin(outPath);
            using var emitted = emitPath is null ? null : AtomicFile.Begin(emitPath);
            using var spool = outPath is null ? new SpoolFile() : null;
            var destination = snapshot?.Writer ?? spool!.Writer;
            var progress = ShowsProgress(stderr) ? new ReplayProgress(stderr, tracePath) : null;
            var results = new List<ReplayResult>(profiles.Length);
            if (profiles.Length == 1)
            {
                results.Add(TraceReplayer.Replay(tracePath, options with { Profile = profiles[0], EmitTrace = emitted?.Writer, OnOutcome = progress is null ? null : progress.Report }, destination));
            }
            else
            {
                var runs = new List<SpoolFile>(profiles.Length);
                try
                {
                    for (int i = 0; i < profiles.Length; i++)
                    {
                        runs.Add(new SpoolFile());
                        results.Add(TraceReplayer.Replay(tracePath, options with { Profile = profiles[i], EmitTrace = i == 0 ? emitted?.Writer : null, OnOutcome = progress is null ? null : progress.Report }, runs[i].Writer));
                    }

                    ProfileComparison.Write(destination, options.Format, runs[0], runs[1], SnapshotWriter.ProfileName(profiles[0]), SnapshotWriter.ProfileName(profiles[1]));
                }
                finally
                {
                    runs.ForEach(r => r.Dispose());
                }
            }

            progress?.Done();
            state.WriteSaved(results);
            emitted?.Commit();
            snapshot?.Commit();
            if (spool is not null)
            {
                spool.CopyTo(stdout);
            }

            return results.Any(r => r.Mismatches > 0) ? Mismatch : results.Any(r => r.Violations > 0) ? Violations : Success;
        }));
        return command;
    }

    private static Command VerifyCommand(TextWriter stdout, TextWriter stderr)
    {
        var directory = new Argument<string>("DIR") { Description = "Folder of traces (*.csv, not subfolders).", DefaultValueFactory = _ => "traces" };
        var profile = ProfileOption("both");
        var filter = new Option<string?>("--filter") { Description = "Only traces whose file name matches this glob (* and ?)." };
        var accept = new Option<bool>("--accept") { Description = "Replace golden files with the snapshots of runs that completed." };
        var command = new Command("verify", "Replay every trace of DIR and compare with its golden files DIR/<name>.<profile>.verified.txt.") { directory, profile, filter, accept };
        command.SetAction(parse => Guard(stderr, () =>
        {
            string dir = parse.GetValue(directory)!;
            if (!Directory.Exists(dir))
            {
                throw new InputException("command line", 0, 0, $"DIR: found '{dir}', which is not a folder, expected a folder of traces");
            }

            var profiles = Profiles(parse.GetValue(profile)!);
            string? glob = parse.GetValue(filter);
            var traces = Directory.GetFiles(dir, "*.csv").Where(f => glob is null || GlobMatches(glob, Path.GetFileName(f))).ToList();
            traces.Sort(StringComparer.Ordinal);
            int equal = 0, differ = 0, failed = 0;
            foreach (string trace in traces)
            {
                foreach (var p in profiles)
                {
                    string name = Path.GetFileNameWithoutExtension(trace);
                    string verified = Path.Combine(dir, $"{name}.{SnapshotWriter.ProfileName(p)}.verified.txt");
                    string snapshot;
                    try
                    {
                        (snapshot, _) = TraceReplayer.ReplayToText(trace, new ReplayOptions { Profile = p });
                    }
                    catch (InputException error)
                    {
                        stdout.WriteLine(Inv($"failed    {Path.GetFileName(trace)} [{SnapshotWriter.ProfileName(p)}]: {error.Describe()}"));
                        failed++;
                        continue;
                    }

                    GoldenComparison comparison;
                    try
                    {
                        comparison = GoldenFile.Compare(verified, snapshot, parse.GetValue(accept));
                    }
                    catch (InvalidDataException error)
                    {
                        // A golden file with carriage returns is bad input: report it, never replace it.
                        stdout.WriteLine(Inv($"failed    {Path.GetFileName(trace)} [{SnapshotWriter.ProfileName(p)}]: {error.Message}"));
                        failed++;
                        continue;
                    }

                    string state = comparison.Outcome switch { GoldenOutcome.Equal => "equal", GoldenOutcome.New => "new", _ => "different" };
                    stdout.WriteLine(Inv($"{state,-9} {Path.GetFileName(trace)} [{SnapshotWriter.ProfileName(p)}]{(comparison.Accepted ? " (accepted)" : "")}"));
                    if (comparison.Outcome == GoldenOutcome.Equal || comparison.Accepted)
                    {
                        equal++;
                    }
                    else
                    {
                        differ++;
                    }
                }
            }

            stdout.WriteLine(Inv($"verify: {traces.Count} traces, {equal} equal or accepted, {differ} new or different, {failed} failed"));
            return failed > 0 ? BadInput : differ > 0 ? Mismatch : Success;
        }));
        return command;
    }

    /// <summary>Checks before any work that an output path names a file in an existing folder.</summary>
    private static void CheckOutputPath(string option, string? path)
    {
        if (path is null)
        {
            return;
        }

        if (Directory.Exists(path))
        {
            throw new InputException("command line", 0, 0, $"{option}: found '{path}', which is a folder, expected a file path");
        }

        string? folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (folder is not null && !Directory.Exists(folder))
        {
            throw new InputException("command line", 0, 0, $"{option}: found '{path}', whose folder does not exist, expected a file path in an existing folder");
        }
    }

    /// <summary>A progress bar only on the real standard error, and only when it is a terminal.</summary>
    private static bool ShowsProgress(TextWriter stderr) => ReferenceEquals(stderr, Console.Error) && !Console.IsErrorRedirected;

    private static Option<string> ProfileOption(string defaultValue)
    {
        var option = new Option<string>("--profile") { Description = "openvmm, spec or both.", DefaultValueFactory = _ => defaultValue };
        option.AcceptOnlyFromAmong("openvmm", "spec", "both");
        return option;
    }

    private static BehaviourProfile[] Profiles(string value) => value switch
    {
        "spec" => [BehaviourProfile.Spec],
        "both" => [BehaviourProfile.OpenVmm, BehaviourProfile.Spec],
        _ => [BehaviourProfile.OpenVmm],
    };

    /// <summary>Glob with <c>*</c> and <c>?</c>, ordinal.</summary>
    public static bool GlobMatches(string glob, string name)
    {
        ArgumentNullException.ThrowIfNull(glob);
        ArgumentNullException.ThrowIfNull(name);
        return Match(0, 0);

        bool Match(int g, int n)
        {
            if (g == glob.Length)
            {
                return n == name.Length;
            }

            if (glob[g] == '*')
            {
                for (int k = n; k <= name.Length; k++)
                {
                    if (Match(g + 1, k))
                    {
                        return true;
                    }
                }

                return false;
            }

            return n < name.Length && (glob[g] == '?' || glob[g] == name[n]) && Match(g + 1, n + 1);
        }
    }
}
