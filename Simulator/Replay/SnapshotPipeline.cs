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
    private const int BatchSize = 1024;

    /// <summary>Batches waiting for the writer at most: a few thousand outcomes in flight.</summary>
    private const int QueuedBatches = 4;

    private readonly ISnapshotWriter writer;

    // A plain monitor-guarded queue: a waiting side blocks at once instead of spinning (on two cores a spinning
    // writer would take the core the JIT's and the GC's background threads need).
    private readonly object gate = new();
    private readonly Queue<StepOutcome[]> queue = new();
    private readonly Stack<StepOutcome[]> spare = new();
    private readonly Thread? thread;
    private bool addingCompleted;
    private StepOutcome[] batch = [];
    private int count;
    private volatile ExceptionDispatchInfo? failure;
    private bool completed;

    /// <param name="threaded">False: every outcome is written in place, at once (short traces).</param>
    public SnapshotPipeline(ISnapshotWriter writer, bool threaded)
    {
        this.writer = writer;
        if (threaded)
        {
            batch = new StepOutcome[BatchSize];
            thread = new Thread(Run) { IsBackground = true, Name = "pciesim snapshot" };
            thread.Start();
        }
        else
        {
            completed = true;
        }
    }

    /// <summary>Queues <paramref name="outcome"/> for the writer (or writes it, when not threaded).</summary>
    public void Post(StepOutcome outcome)
    {
        if (thread is null)
        {
            writer.WriteStep(outcome);
            return;
        }

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

        Finish();
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

            Finish();
        }
    }

    private void Finish()
    {
        lock (gate)
        {
            addingCompleted = true;
            Monitor.PulseAll(gate);
        }

        thread!.Join();
    }

    private void Hand()
    {
        failure?.Throw();
        if (count < BatchSize)
        {
            Array.Clear(batch, count, BatchSize - count);
        }

        lock (gate)
        {
            while (queue.Count >= QueuedBatches)
            {
                Monitor.Wait(gate);
            }

            queue.Enqueue(batch);
            Monitor.PulseAll(gate);
            batch = spare.Count > 0 ? spare.Pop() : new StepOutcome[BatchSize];
        }

        count = 0;
    }

    /// <summary>The next batch, or null when adding is complete and nothing is left.</summary>
    private StepOutcome[]? Take(StepOutcome[]? done)
    {
        lock (gate)
        {
            if (done is not null)
            {
                spare.Push(done);
            }

            while (queue.Count == 0 && !addingCompleted)
            {
                Monitor.Wait(gate);
            }

            if (queue.Count == 0)
            {
                return null;
            }

            var next = queue.Dequeue();
            Monitor.PulseAll(gate);
            return next;
        }
    }

    private void Run()
    {
        StepOutcome[]? outcomes = null;
        try
        {
            while ((outcomes = Take(outcomes)) is not null)
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
            }
        }
        catch (Exception error)
        {
            failure = ExceptionDispatchInfo.Capture(error);

            // Keep taking batches so that the replay never blocks on a full queue; it rethrows at its next hand-over.
            while ((outcomes = Take(null)) is not null)
            {
            }
        }
    }
}
