using System.Runtime.ExceptionServices;

namespace PcieSim.Replay;

/// <summary>
/// Items handed from one thread to another in order, in batches (a lock and a wake-up per batch, not per item),
/// through a bounded queue: the producer blocks while <see cref="QueuedBatches"/> batches wait, so memory stays flat
/// whatever the number of items. Either side can end the run: the producer with <see cref="Complete"/> (optionally
/// with the error that stopped it, rethrown to the consumer after the items before it), the consumer with
/// <see cref="Abandon"/> (the producer's next <see cref="Add"/> returns false).
/// </summary>
/// <remarks>
/// A plain monitor: a waiting side blocks at once instead of spinning (on two cores a spinning thread would take
/// the core that the other side, the JIT's and the GC's background threads need).
/// </remarks>
internal sealed class BatchChannel<T>
    where T : class
{
    /// <summary>
    /// Items per batch. Small on purpose: what is in flight survives the garbage collections that happen meanwhile,
    /// and at 1,024 items and 4 batches a 10 M-record replay ran 188 gen-1 collections (every gen-0 one promoted the
    /// queues); at 256 and 2 it ran 1 or 2, for the same number of gen-0 collections.
    /// </summary>
    public const int BatchSize = 256;

    /// <summary>Batches waiting at most: at most about a thousand items in flight per channel.</summary>
    public const int QueuedBatches = 2;

    private readonly object gate = new();
    private readonly Queue<(T[] Items, int Count)> queue = new();
    private readonly Stack<T[]> spare = new();
    private bool completed;
    private bool abandoned;
    private ExceptionDispatchInfo? producerFailure;

    // Producer side: the batch being filled.
    private T[] filling = new T[BatchSize];
    private int filled;

    // Consumer side: the batch being drained.
    private T[]? draining;
    private int drainCount;
    private int drainAt;

    /// <summary>Adds an item (producer); false when the consumer has abandoned the channel.</summary>
    public bool Add(T item)
    {
        filling[filled++] = item;
        return filled < BatchSize || Hand();
    }

    /// <summary>
    /// Ends adding (producer): the consumer takes what was added, then sees the end, or <paramref name="failure"/>
    /// rethrown where it happened.
    /// </summary>
    public void Complete(ExceptionDispatchInfo? failure = null)
    {
        if (filled > 0)
        {
            Hand();
        }

        lock (gate)
        {
            completed = true;
            producerFailure = failure;
            Monitor.PulseAll(gate);
        }
    }

    /// <summary>Stops the run from the consumer's side: the producer stops at its next hand-over.</summary>
    public void Abandon()
    {
        lock (gate)
        {
            abandoned = true;
            queue.Clear();
            Monitor.PulseAll(gate);
        }
    }

    /// <summary>The next item (consumer); false at the end. Rethrows the producer's failure once the items before it are taken.</summary>
    public bool TryTake(out T item)
    {
        if (draining is null || drainAt == drainCount)
        {
            if (!NextBatch())
            {
                item = null!;
                return false;
            }
        }

        item = draining![drainAt];
        draining[drainAt++] = null!;
        return true;
    }

    /// <summary>Queues the filled batch, waiting while the queue is full; false when abandoned.</summary>
    private bool Hand()
    {
        lock (gate)
        {
            while (queue.Count >= QueuedBatches && !abandoned)
            {
                Monitor.Wait(gate);
            }

            if (abandoned)
            {
                filled = 0;
                return false;
            }

            queue.Enqueue((filling, filled));
            Monitor.PulseAll(gate);
            filling = spare.Count > 0 ? spare.Pop() : new T[BatchSize];
        }

        filled = 0;
        return true;
    }

    private bool NextBatch()
    {
        lock (gate)
        {
            if (draining is not null)
            {
                spare.Push(draining);
                draining = null;
            }

            while (queue.Count == 0 && !completed && !abandoned)
            {
                Monitor.Wait(gate);
            }

            if (queue.Count == 0)
            {
                producerFailure?.Throw();
                return false;
            }

            (draining, drainCount) = queue.Dequeue();
            drainAt = 0;
            Monitor.PulseAll(gate);
            return true;
        }
    }
}
