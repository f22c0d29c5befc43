using PcieSim.Interrupts;
using PcieSim.Replay;
using PcieSim.Snapshot;
using PcieSim.Topology;

namespace PcieSim.Files;

/// <summary>
/// <c>replay --emit-trace</c>: writes the replayed trace back with every read's value and every accepted message
/// taken from the model. Reads (<c>read</c>, <c>mmio-read</c>) carry the model's value; the recorded <c>msi</c> rows
/// are replaced by one row per message the model's platform accepted, after the row that caused it (the
/// <c>device</c> column holds the ITS DeviceID under <c>--gic-msi its</c>, the requester ID otherwise). The result is
/// an interrupt-complete trace that replays with no mismatch under the same profile.
/// </summary>
public sealed class TraceEmitter : IDisposable
{
    private readonly TraceWriter writer;
    private readonly bool its;
    private readonly Queue<TraceRecord> messages = new();

    /// <param name="output">Where the trace goes.</param>
    /// <param name="header">The replayed trace's header (its comments are kept).</param>
    /// <param name="model">The model replaying it: its topology becomes the emitted <c># topology:</c> lines.</param>
    /// <param name="profile">Named in the first comment.</param>
    /// <param name="vmmEnumerate">The replay started from OpenVMM's enumeration: the emitted trace says so in a <c># replay:</c> line.</param>
    public TraceEmitter(TextWriter output, TraceHeader header, PcieModel model, BehaviourProfile profile, bool vmmEnumerate = false)
    {
        ArgumentNullException.ThrowIfNull(header);
        ArgumentNullException.ThrowIfNull(model);
        its = model.Spec.GicMsi?.Mode == Topology.Language.GicMsiMode.Its;
        var comments = new List<string>(header.Comments.Count + 1)
        {
            "emitted by pciesim replay --emit-trace from " + header.Source + " (profile " + SnapshotWriter.ProfileName(profile) + "): read values and msi rows are the model's",
        };
        comments.AddRange(header.Comments);
        writer = new TraceWriter(output, model.Spec.NormalisedFlags, comments, TraceFormat.ColumnNames, leaveOpen: true, vmmEnumerate);
    }

    /// <summary>
    /// Writes the record of a final outcome and queues the messages it caused; the recorded <c>msi</c> rows that follow
    /// lend their <c>seq</c> and <c>note</c> to those messages, one to one, and are otherwise dropped.
    /// </summary>
    public void Write(StepOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        ref readonly var record = ref outcome.Record;
        if (record.Op == TraceOp.Msi)
        {
            if (messages.TryDequeue(out var message))
            {
                writer.Write(message with { Seq = record.Seq, Note = record.Note });
            }

            return;
        }

        WritePendingMessages();
        writer.Write(record.Op switch
        {
            TraceOp.Read when outcome.Access is { } access => record with { Value = access.Value },
            TraceOp.MmioRead when outcome.ValueRead is { } value => record with { Value = value },
            _ => record,
        });
        foreach (var e in outcome.Events)
        {
            if (e is MessageEvent { Delivery.Accepted: true } m)
            {
                uint device = its ? m.Delivery.DeviceId ?? 0 : m.Message.RequesterId;
                messages.Enqueue(new TraceRecord(0, 0, null, TraceOp.Msi, TraceAddressKind.Numeric, m.Message.Address, default, null, m.Message.Data, null, null, device, null));
            }
        }
    }

    /// <summary>Writes what is buffered.</summary>
    public void Flush()
    {
        WritePendingMessages();
        writer.Flush();
    }

    public void Dispose() => writer.Dispose();

    private void WritePendingMessages()
    {
        while (messages.TryDequeue(out var message))
        {
            writer.Write(message);
        }
    }
}
