using System.Diagnostics.CodeAnalysis;
using System.Runtime.ExceptionServices;
using PcieSim.Files;

namespace PcieSim.Replay;

/// <summary>
/// Reads and parses a trace's records on a thread of its own, a few batches ahead of the replay, which takes them
/// in order with <see cref="TryRead"/> exactly as it would from the <see cref="TraceReader"/>: the same records, and
/// the reader's error (bad input) raised after the records before it. With the snapshot on a thread of its own
/// (<see cref="SnapshotPipeline"/>), reading, stepping and writing are three threads that the operating system
/// spreads over the cores, so no core waits while another has work.
/// </summary>
internal sealed class RecordPrefetcher : IDisposable
{
    private readonly BatchChannel<TraceRecord> channel = new();
    private readonly Thread thread;

    /// <param name="reader">Read only by the prefetching thread from now until <see cref="Dispose"/>.</param>
    public RecordPrefetcher(TraceReader reader)
    {
        thread = new Thread(() => Run(reader)) { IsBackground = true, Name = "pciesim reader" };
        thread.Start();
    }

    /// <summary>The next record; false at the end of the trace.</summary>
    /// <exception cref="InputException">The row after the last record returned is invalid.</exception>
    public bool TryRead([NotNullWhen(true)] out TraceRecord? record)
    {
        if (channel.TryTake(out var next))
        {
            record = next;
            return true;
        }

        record = null;
        return false;
    }

    /// <summary>Stops the reading thread (whether or not the trace was read to its end) and waits for it.</summary>
    public void Dispose()
    {
        channel.Abandon();
        thread.Join();
    }

    private void Run(TraceReader reader)
    {
        try
        {
            while (reader.TryRead(out var record))
            {
                if (!channel.Add(record))
                {
                    return;
                }
            }

            channel.Complete();
        }
        catch (Exception error)
        {
            channel.Complete(ExceptionDispatchInfo.Capture(error));
        }
    }
}
