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
        var command = new Command("replay", "Replay a trace against the model and print its snapshot. Exit 0 clean, 1 mismatch, 2 bad input, 3 §6.7 violations.") { trace, topology, profile, output };
        command.SetAction(parse => Guard(stderr, () =>
        {
            if (parse.GetValue(output) is { } target)
            {
                CheckOutputPath("--out", target);
            }

            var spec = parse.GetValue(topology) is { } path ? TopologyFile.Read(path) : null;
            var profiles = Profiles(parse.GetValue(profile)!);
            var runs = profiles.Select(p => TraceReplayer.ReplayToText(parse.GetValue(trace)!, new ReplayOptions { Profile = p, Topology = spec })).ToList();
            var results = runs.Select(r => r.Result).ToList();
            string text = string.Concat(runs.Select(r => r.Snapshot));
            if (parse.GetValue(output) is { } outPath)
            {
                WriteOutputFile("--out", outPath, text);
            }
            else
            {
                stdout.Write(text);
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

    /// <summary>
    /// Writes an output file atomically (temporary file and rename); a path that cannot be written is bad usage,
    /// reported with the option that named it, and leaves nothing behind.
    /// </summary>
    private static void WriteOutputFile(string option, string path, string text)
    {
        CheckOutputPath(option, path);
        try
        {
            AtomicFile.WriteAllText(path, text);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InputException("command line", 0, 0, $"{option}: cannot write '{path}' ({e.Message}), expected a writable file path");
        }
    }

    /// <summary>Checks before any work that an output path names a file in an existing folder.</summary>
    private static void CheckOutputPath(string option, string path)
    {
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
