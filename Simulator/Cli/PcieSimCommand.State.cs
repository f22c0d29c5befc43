using System.CommandLine;
using PcieSim.Files;
using PcieSim.Replay;
using PcieSim.Topology;

namespace PcieSim.Cli;

/// <summary><c>pciesim replay --save-at N --state FILE</c> and <c>--restore FILE</c> (issue 6, save and restore).</summary>
public static partial class PcieSimCommand
{
    private static (Option<long?> SaveAt, Option<string?> State, Option<string?> Restore) StateOptions() =>
    (
        new Option<long?>("--save-at") { Description = "Save the model and replay state after row N into --state FILE: N is the seq column's value when the trace has one, the data row number otherwise. The row must not be followed by msi rows." },
        new Option<string?>("--state") { Description = "The state file --save-at writes (versioned JSON, written atomically after a completed replay)." },
        new Option<string?>("--restore") { Description = "Start from a state file saved by --save-at (same topology and profile) and replay the rows after its row." }
    );

    /// <summary>The save and restore options of one <c>replay</c>, checked; the restored state is read before anything runs.</summary>
    private sealed record StateRequest(long? SaveAt, string? StatePath, ReplayState? Restore)
    {
        public static StateRequest From(ParseResult parse, Option<long?> saveAt, Option<string?> state, Option<string?> restore, BehaviourProfile[] profiles, bool emitting)
        {
            long? at = parse.GetValue(saveAt);
            string? path = parse.GetValue(state);
            string? restorePath = parse.GetValue(restore);
            if (at is not null && path is null)
            {
                throw new InputException("command line", 0, 0, "--save-at needs --state FILE (where to save)");
            }

            if (path is not null && at is null)
            {
                throw new InputException("command line", 0, 0, "--state FILE needs --save-at N (the row to save after)");
            }

            if ((at is not null || restorePath is not null) && profiles.Length != 1)
            {
                throw new InputException("command line", 0, 0, "--save-at and --restore work on one profile: use --profile openvmm or --profile spec");
            }

            if (restorePath is not null && emitting)
            {
                // An emitted trace replays on its own from reset; one that starts mid-trace would not.
                throw new InputException("command line", 0, 0, "--emit-trace writes a whole trace: it cannot start from --restore");
            }

            return new StateRequest(at, path, restorePath is null ? null : StateFile.Read(restorePath));
        }

        /// <summary>Writes the saved state (the replay completed, so it reached the save point).</summary>
        public void WriteSaved(IReadOnlyList<ReplayResult> results)
        {
            if (StatePath is not null)
            {
                StateFile.Write(StatePath, results[0].Saved!);
            }
        }
    }
}
