using System.Diagnostics;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;

namespace PcieSim.Replay;

/// <summary>
/// Items handed from one thread to another in order, in batches (a lock and a wake-up per batch, not per item),
/// through a bounded queue: the producer blocks while <see cref="QueuedBatches"/> batches wait, so memory stays flat
/// whatever the number of items. Either side can end the run: the producer with <see cref="Complete"/> (optionally
/// with the error that stopped it, rethrown to the consumer after the items before it), the consumer with
/// <see cref="Abandon"/> (the producer's next <see cref="Add"/> returns false).
/// </summary>
/// <remarks>
/// <para>
/// A monitor. A producer that finds the queue full blocks at once. A consumer that runs dry first watches the queue
/// for <see cref="SpinMicroseconds"/> (if its last wait was that short), yielding its core to any thread that wants
/// it (the producer, the JIT's and the GC's background threads), and only then blocks: a blocked consumer must be
/// woken, which costs the producer far more than the consumer's watching costs anyone.
/// </para>
/// <para>
/// The batch arrays go round: the consumer gives each drained array back and the producer fills it again, so the
/// channel allocates nothing once running. The items in a given-back array are the ones the consumer has finished
/// with; <see cref="TryReuse"/> offers them to the producer (the replay's step outcomes are reused this way).
/// </para>
/// </remarks>
internal sealed class BatchChannel<T>
    where T : class
{
    /// <summary>
    /// Items per batch. At every hand-over the waiting side is woken, which on a virtual machine costs microseconds
    /// of system time (an interrupt to the other virtual CPU): at 256 items a 10 M-record replay spent about 1.2 s of
    /// system time on them, at 4,096 about 0.4 s. But what is in flight must stay in the caches: 4,096 items in 4
    /// batches (several megabytes of step outcomes) made the replay slower than 256 in 2; 1,024 in 4 was fastest
    /// (2 M records to a null writer: 0.67 to 0.82 s, against 0.97 to 1.01 s at 256 in 2 and 0.95 to 1.26 s at 2,048 in 4).
    /// Batches this large only pay because nothing in them is garbage: step outcomes are reused (with an object per
    /// item, everything in flight survived each gen-0 collection).
    /// </summary>
    public const int BatchSize = 1024;

    /// <summary>Batches waiting at most.</summary>
    public const int QueuedBatches = 4;

    /// <summary>
    /// How long a consumer that ran dry watches for the next batch before it blocks. Waking a blocked consumer costs
    /// the producer a system call and, on a virtual machine, an interrupt to the other virtual CPU: 4% of the replay
    /// thread's time at one wake per batch. A replay's snapshot thread drains a batch in about 140 us and the next
    /// comes about 110 us later, so 300 us covers the gap (10 M records, 16 alternating pairs: the wall time a
    /// median 0.95 of blocking at once, faster in 13; 150 and 800 us were no different from 300). A consumer whose
    /// last wait was longer than this blocks at once next time: while the producer runs its first, unoptimized
    /// records, watching only took CPU from it and the JIT (16 pairs against watching every time: 0.92, faster in 14,
    /// the slowest run 2.99 s against 3.99 s). The clock decides only when the consumer sleeps, never what it writes.
    /// </summary>
    public const int SpinMicroseconds = 300;

    private static readonly long SpinTicks = Stopwatch.Frequency * SpinMicroseconds / 1_000_000;

    private readonly object gate = new();
    private readonly Queue<(Slot[] Items, int Count)> queue = new();
    private readonly Stack<Slot[]> spare = new();
    private readonly int batchSize;

    // Producer side: items of given-back batches, for TryReuse (a stack in slots, as the batches are).
    private Slot[] reusable;
    private int reusableCount;
    private bool completed;

    // The queue's length, or int.MaxValue once the run ended: what a consumer that ran dry watches without the lock.
    // On a cache line of its own: next to the producer's per-item fill count, the consumer's watching would pull that
    // line to the other core on every item.
    private PaddedCount queuedOrEnded;
    private bool abandoned;
    private ExceptionDispatchInfo? producerFailure;

    // Producer side: the batch being filled.
    private Slot[] filling;
    private int filled;

    // Consumer side: the batch being drained, given back at the next take. Only the consumer's calls per batch touch
    // this object: a cursor per item here would share a cache line with the producer's per-item fill count, and the
    // line would go back and forth between the two cores for every item.
    private Slot[]? draining;

    // Consumer side: whether to watch for the next batch when the queue runs dry (the last wait was short).
    private bool spinWhenDry = true;

    /// <param name="batchSize">Items per batch (tests use small ones to cross many batch boundaries).</param>
    public BatchChannel(int batchSize = BatchSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        this.batchSize = batchSize;
        filling = new Slot[batchSize];
        reusable = new Slot[batchSize];
    }

    /// <summary>Adds an item (producer); false when the consumer has abandoned the channel.</summary>
    public bool Add(T item)
    {
        filling[filled++].Item = item;
        return filled < batchSize || Hand();
    }

    /// <summary>
    /// An item the consumer has finished with (producer side; never one still queued or being drained): one of a
    /// batch the consumer gave back. False when there is none yet.
    /// </summary>
    public bool TryReuse(out T item)
    {
        if (reusableCount == 0)
        {
            item = null!;
            return false;
        }

        ref var slot = ref reusable[--reusableCount];
        item = slot.Item!;
        slot.Item = null;
        return true;
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
            queuedOrEnded.Value = int.MaxValue;
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
            queuedOrEnded.Value = int.MaxValue;
            queue.Clear();
            Monitor.PulseAll(gate);
        }
    }

    /// <summary>
    /// The next batch of items, in order (consumer); false at the end. The batch is the consumer's until its next call,
    /// which gives it back. Rethrows the producer's failure once the items before it are taken.
    /// </summary>
    public bool TryTakeBatch(out Batch batch)
    {
        if (!NextBatch(out int count))
        {
            batch = default;
            return false;
        }

        // Left in place: the array goes back to the producer, who may reuse the items (TryReuse).
        batch = new Batch(draining!, count);
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
            PublishQueueLength();

            Monitor.PulseAll(gate);
            filling = spare.Count > 0 ? spare.Pop() : new Slot[batchSize];
        }

        // Every slot of a given-back array held an item the consumer took and is done with.
        if (filling[0].Item is null)
        {
            filled = 0;
            return true;
        }

        for (int i = 0; i < filling.Length && filling[i].Item is { } used; i++)
        {
            if (reusableCount == reusable.Length)
            {
                Array.Resize(ref reusable, reusable.Length * 2);
            }

            reusable[reusableCount++].Item = used;
        }

        Array.Clear(filling);
        filled = 0;
        return true;
    }

    private bool NextBatch(out int count)
    {
        count = 0;
        long dry = 0;
        if (queuedOrEnded.Value == 0)
        {
            dry = Stopwatch.GetTimestamp();
            if (spinWhenDry)
            {
                SpinForBatch(dry);
            }
        }

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

            if (dry != 0)
            {
                // Watch next time only if this wait was short enough for watching to have caught it: while the
                // producer is slow (its first, unoptimized records) a watching consumer would only take CPU from it.
                spinWhenDry = Stopwatch.GetTimestamp() - dry < SpinTicks;
            }

            if (queue.Count == 0)
            {
                producerFailure?.Throw();
                return false;
            }

            (draining, count) = queue.Dequeue();
            PublishQueueLength();

            Monitor.PulseAll(gate);
            return true;
        }
    }

    /// <summary>Updates the count a dry consumer watches (under the lock), unless the run has ended.</summary>
    private void PublishQueueLength()
    {
        if (queuedOrEnded.Value != int.MaxValue)
        {
            queuedOrEnded.Value = queue.Count;
        }
    }

    /// <summary>
    /// Waits up to <see cref="SpinMicroseconds"/> for a batch without the lock, yielding the core to any other thread
    /// that wants it (<see cref="SpinWait"/> without Sleep(1)).
    /// </summary>
    private void SpinForBatch(long from)
    {
        long until = from + SpinTicks;
        var spinner = default(SpinWait);
        while (queuedOrEnded.Value == 0 && Stopwatch.GetTimestamp() < until)
        {
            spinner.SpinOnce(sleep1Threshold: -1);
        }
    }

    /// <summary>
    /// A batch array's element: the item in a struct. A store into a <c>T[]</c> of a reference type checks the array's
    /// element type (arrays are covariant), which generic code shared between reference types does through a helper
    /// call on every store; a store into a struct's field does not (about 2% of the replay thread's samples went there).
    /// </summary>
    public struct Slot
    {
        public T? Item;
    }

    /// <summary>The items of one taken batch, in order.</summary>
    public readonly struct Batch(Slot[] items, int count)
    {
        public int Count => count;

        public T this[int index] => (uint)index < (uint)count ? items[index].Item! : throw new ArgumentOutOfRangeException(nameof(index));
    }
}

/// <summary>A count alone in its cache line (with a line of padding before and after it, whatever the object's layout).</summary>
[StructLayout(LayoutKind.Explicit, Size = 192)]
internal struct PaddedCount
{
    [FieldOffset(64)]
    private volatile int value;

    public int Value
    {
        readonly get => value;
        set => this.value = value;
    }
}
