using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using PcieSim.Snapshot;

namespace PcieSim.Replay;

/// <summary>
/// Writes a replay's final step outcomes to its snapshot writer on a thread of its own, in order, while the replay
/// reads and steps the next records: formatting the text, encoding it and handing it to the operating system costs
/// about as much as reading and stepping, so on two cores the two halves overlap. Outcomes travel in batches through
/// a bounded queue (memory stays flat); the writer sees them exactly in the order they were posted, so the snapshot
/// is byte for byte what writing them in place gives.
/// </summary>
/// <remarks>
/// An outcome is complete when posted, and what a snapshot writer reads of it (the record, the access with its route
/// text made at access time, events, notes, function names and register layouts) does not change afterwards; live
/// model state (the summary's ports) is written only after <see cref="Complete"/>.
/// </remarks>
internal sealed class SnapshotPipeline : IDisposable
{
    private const int BatchSize = 256;

    /// <summary>Batches waiting for the writer at most: a few thousand outcomes in flight.</summary>
    private const int QueuedBatches = 8;

    private readonly ISnapshotWriter writer;
    private readonly BlockingCollection<StepOutcome[]> queue = new(QueuedBatches);
    private readonly ConcurrentBag<StepOutcome[]> spare = [];
    private readonly Thread thread;
    private StepOutcome[] batch = new StepOutcome[BatchSize];
    private int count;
    private volatile ExceptionDispatchInfo? failure;
    private bool completed;

    public SnapshotPipeline(ISnapshotWriter writer)
    {
        this.writer = writer;
        thread = new Thread(Run) { IsBackground = true, Name = "pciesim snapshot" };
        thread.Start();
    }

    /// <summary>Queues <paramref name="outcome"/> for the writer.</summary>
    public void Post(StepOutcome outcome)
    {
        batch[count++] = outcome;
        if (count == BatchSize)
        {
            Hand();
        }
    }

    /// <summary>Writes everything posted and waits for it; rethrows what the writer threw.</summary>
    public void Complete()
    {
        if (completed)
        {
            return;
        }

        completed = true;
        if (count > 0)
        {
            Hand();
        }

        queue.CompleteAdding();
        thread.Join();
        failure?.Throw();
    }

    /// <summary>Stops after writing what was posted (on an error in the replay, so the output is what it was).</summary>
    public void Dispose()
    {
        if (!completed)
        {
            completed = true;
            if (count > 0 && failure is null)
            {
                Hand();
            }

            queue.CompleteAdding();
            thread.Join();
        }

        queue.Dispose();
    }

    private void Hand()
    {
        failure?.Throw();
        if (count < BatchSize)
        {
            Array.Clear(batch, count, BatchSize - count);
        }

        queue.Add(batch);
        batch = spare.TryTake(out var reused) ? reused : new StepOutcome[BatchSize];
        count = 0;
    }

    private void Run()
    {
        try
        {
            foreach (var outcomes in queue.GetConsumingEnumerable())
            {
                foreach (var outcome in outcomes)
                {
                    if (outcome is null)
                    {
                        break;
                    }

                    writer.WriteStep(outcome);
                }

                Array.Clear(outcomes);
                spare.Add(outcomes);
            }
        }
        catch (Exception error)
        {
            failure = ExceptionDispatchInfo.Capture(error);

            // Keep taking batches so that the replay never blocks on a full queue; it rethrows at its next hand-over.
            foreach (var _ in queue.GetConsumingEnumerable())
            {
            }
        }
    }
}
