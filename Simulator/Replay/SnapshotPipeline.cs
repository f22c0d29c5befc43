using System.Runtime.ExceptionServices;
using PcieSim.Snapshot;

namespace PcieSim.Replay;

/// <summary>
/// Writes a replay's final step outcomes to its snapshot writer on a thread of its own, in order, while the replay
/// reads and steps the next records: formatting the text, encoding it and handing it to the operating system costs
/// about as much as reading and stepping, so on two cores the two halves overlap. Outcomes travel through a
/// <see cref="BatchChannel{T}"/> (memory stays flat); the writer sees them exactly in the order they were posted, so
/// the snapshot is byte for byte what writing them in place gives.
/// </summary>
/// <remarks>
/// An outcome is complete when posted, and what a snapshot writer reads of it (the record, the access with its route
/// text made at access time, events, notes, function names and register layouts) does not change afterwards; live
/// model state (the summary's ports) is written only after <see cref="Complete"/>.
/// </remarks>
internal sealed class SnapshotPipeline : IDisposable, IOutcomeRecycler
{
    private readonly ISnapshotWriter writer;
    private readonly BatchChannel<StepOutcome>? channel;
    private readonly Thread? thread;
    private volatile ExceptionDispatchInfo? failure;

    // In place: outcomes written, for reuse.
    private readonly Stack<StepOutcome> written = new();
    private bool completed;

    /// <param name="threaded">False: every outcome is written in place, at once (short traces).</param>
    public SnapshotPipeline(ISnapshotWriter writer, bool threaded)
    {
        this.writer = writer;
        if (threaded)
        {
            channel = new BatchChannel<StepOutcome>();
            thread = new Thread(Run) { IsBackground = true, Name = "pciesim snapshot" };
            thread.Start();
        }
    }

    /// <summary>Queues <paramref name="outcome"/> for the writer (or writes it, when not threaded).</summary>
    public void Post(StepOutcome outcome)
    {
        if (channel is null)
        {
            writer.WriteStep(outcome);
            written.Push(outcome);
        }
        else if (!channel.Add(outcome))
        {
            // The writer failed and abandoned the channel.
            failure!.Throw();
        }
    }

    /// <summary>
    /// An outcome the writer has written and let go of (replay thread only). Threaded, the writer gives back each
    /// batch after writing all of it; in place, an outcome is free once written and the caller's hooks (emitted trace,
    /// <see cref="ReplayOptions.OnOutcome"/>) have seen it, which happens before the next step asks.
    /// </summary>
    public bool TryReuse(out StepOutcome outcome)
    {
        if (channel is null)
        {
            return written.TryPop(out outcome!);
        }

        return channel.TryReuse(out outcome);
    }

    /// <summary>Writes everything posted to the output and waits for it; rethrows what the writer threw.</summary>
    public void Complete()
    {
        Stop();
        failure?.Throw();
    }

    /// <summary>
    /// Stops after writing what was posted to the output (on an error in the replay, so the output holds every step
    /// before it).
    /// </summary>
    public void Dispose()
    {
        Stop();
    }

    private void Stop()
    {
        if (completed)
        {
            return;
        }

        completed = true;
        if (channel is null)
        {
            // In place: the writer may still hold the last steps it gathered.
            writer.Flush();
            return;
        }

        channel.Complete();
        thread!.Join();
    }

    private void Run()
    {
        try
        {
            while (channel!.TryTakeBatch(out var batch))
            {
                for (int i = 0; i < batch.Count; i++)
                {
                    writer.WriteStep(batch[i]);
                }
            }

            // The writer gathers steps into large writes: what it holds goes out before the thread ends.
            writer.Flush();
        }
        catch (Exception error)
        {
            failure = ExceptionDispatchInfo.Capture(error);
            channel!.Abandon();
        }
    }
}
