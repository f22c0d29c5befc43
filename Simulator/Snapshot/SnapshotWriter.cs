using System.Globalization;
using System.Text;
using PcieSim.AddressDecode;
using PcieSim.Functions;
using PcieSim.Interrupts;
using PcieSim.Replay;
using PcieSim.Rules;
using PcieSim.Topology;

namespace PcieSim.Snapshot;

/// <summary>
/// The replay snapshot as deterministic, diff-friendly text: a header (format version, trace file name, profile,
/// topology one flag per line), one line per record with its decoded meaning, event / mismatch / note / violation
/// lines under the record that caused them, and a summary. Invariant culture; LF; no wall-clock anything.
/// </summary>
public sealed class SnapshotWriter(TextWriter output)
{
    /// <summary>Snapshot format version, in the header of every snapshot.</summary>
    public const int FormatVersion = 1;

    private static readonly string[] OpNames = [.. Enum.GetValues<TraceOp>().Select(OpName)];

    /// <summary>The record being written: one buffer, reused, so a record costs no strings of its own.</summary>
    private readonly CharBuffer text = new(512);

    /// <summary>Tails of completed accesses (see <see cref="CompletedTail"/>), with the endpoint port each was made for.</summary>
    private readonly Dictionary<(PcieFunction Function, int RegisterAndWidth), (string Tail, DownstreamPort? Port, RootComplex? Rc)> tails = [];

    public void WriteHeader(string traceName, BehaviourProfile profile, PcieModel model, IReadOnlyList<Violation> initialViolations)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(initialViolations);
        Line(Inv($"pciesim snapshot v{FormatVersion}"));
        Line("trace: " + traceName);
        Line("profile: " + ProfileName(profile));
        Line("topology:");
        foreach (string flag in model.Spec.NormalisedFlags)
        {
            Line("  " + flag);
        }

        foreach (var violation in initialViolations)
        {
            Line("  violation: " + Describe(violation));
        }

        Line("records:");
    }

    /// <summary>Writes one record's lines (built in a reused buffer and written in one call: no per-record strings).</summary>
    public void WriteStep(StepOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        var record = outcome.Record;
        var line = text;
        line.Clear();
        line.Append('#').AppendDecimal(record.Row);
        if (record.Seq is { } seq)
        {
            line.Append(" seq=").AppendDecimal(seq);
        }

        line.Append(' ').Append(OpNames[(int)record.Op]).Append(' ');
        switch (record.Op)
        {
            case TraceOp.Read:
            case TraceOp.Write:
                AppendConfig(line, record, outcome.Access!.Value);
                break;
            case TraceOp.HotAdd:
                line.Append(record.Device).Append(" -> ").Append(record.Port);
                break;
            case TraceOp.HotRemove:
                line.Append(record.Device ?? "(endpoint)").Append(" <- ").Append(record.Port);
                break;
            case TraceOp.Reset:
                line.Append("(presence and links kept)");
                break;
            case TraceOp.MmioRead:
            case TraceOp.MmioWrite:
                line.Append("0x").AppendHex(record.Address).Append(" w").AppendDecimal(record.Width ?? 4).Append(' ');
                if (record.Op == TraceOp.MmioRead)
                {
                    line.Append("-> 0x").AppendHex(outcome.ValueRead ?? 0);
                }
                else
                {
                    line.Append("= 0x").AppendHex(record.Value ?? 0);
                }

                line.Append("  ").Append(outcome.MmioTarget);
                break;
            case TraceOp.Raise:
                line.Append(record.Device).Append(" vector ").AppendDecimal((long)(record.Value ?? 0));
                break;
            case TraceOp.Msi:
                line.Append("0x").AppendHex(record.Address).Append(" data 0x").AppendHex(record.Value ?? 0);
                if (record.DeviceValue is { } device)
                {
                    line.Append(" device 0x").AppendHex(device);
                }

                break;
        }

        line.Append('\n');
        if (outcome.Access is { Completed: true, IsWrite: true } write)
        {
            line.Append("    ");
            AppendChanges(line, write);
            line.Append('\n');
        }

        foreach (var e in outcome.EventSpan)
        {
            line.Append("    event: ").Append(Describe(e)).Append('\n');
        }

        foreach (string mismatch in outcome.MismatchSpan)
        {
            line.Append("    MISMATCH: ").Append(mismatch).Append('\n');
        }

        foreach (string note in outcome.NoteSpan)
        {
            line.Append("    note: ").Append(note).Append('\n');
        }

        if (!string.IsNullOrEmpty(record.Note))
        {
            line.Append("    trace note: ").Append(record.Note).Append('\n');
        }

        foreach (var violation in outcome.ViolationSpan)
        {
            line.Append("    violation: ").Append(Describe(violation)).Append('\n');
        }

        line.WriteTo(output);
    }

    public void WriteSummary(ReplaySession session)
    {
        ArgumentNullException.ThrowIfNull(session);
        var c = session.Counters;
        Line("summary:");
        Line(Inv($"  records: {c.Records} (read {c.ByOp(TraceOp.Read)}, write {c.ByOp(TraceOp.Write)}, hot-add {c.ByOp(TraceOp.HotAdd)}, hot-remove {c.ByOp(TraceOp.HotRemove)}, reset {c.ByOp(TraceOp.Reset)}, mmio {c.ByOp(TraceOp.MmioRead) + c.ByOp(TraceOp.MmioWrite)}, raise {c.ByOp(TraceOp.Raise)}, msi {c.ByOp(TraceOp.Msi)})"));
        Line(Inv($"  unroutable accesses: {c.Unroutable}; marked accesses: {c.Marked}"));
        Line(Inv($"  messages: {c.MessagesAccepted} accepted, {c.MessagesDropped} dropped"));
        Line(Inv($"  mismatches: {c.Mismatches}"));
        Line(Inv($"  violations: {c.Violations + session.InitialViolations.Count}"));
        Line("  final topology:");
        foreach (var port in session.Model.Ports)
        {
            var range = port.AssignedBusRange;
            string child = port.Child?.UpstreamFunction.Name ?? "empty";
            string slot = port.HotplugCapable ? Inv($" slot {port.SlotNumber}: control 0x{(ushort)port.SlotControl:x4} status 0x{(ushort)port.SlotStatus:x4}") : "";
            Line(Inv($"    {port.Name}: buses {port.SecondaryBus:x2}-{port.SubordinateBus:x2}{(range.IsProgrammed ? "" : " (unprogrammed)")}, {child}, link 0x{(ushort)port.LinkStatus:x4}{slot}"));
        }

        foreach (var endpoint in session.Model.Endpoints)
        {
            if (endpoint.Port is null)
            {
                Line("    " + endpoint.Name + ": unplugged");
            }
        }
    }

    /// <summary>What a completed write changed, field by field in the registers it touched.</summary>
    public static string Changes(in ConfigAccessResult write)
    {
        var changes = new CharBuffer(64);
        AppendChanges(changes, write);
        return changes.ToString();
    }

    /// <summary>
    /// <c>unchanged</c>, or <c>changed: </c> then, for each register starting in the DWORD whose value changed,
    /// <c>Name 0xOLD-&gt;0xNEW</c> and its changed fields (<c>+Bit</c>, <c>-Bit</c>, <c>Field=0xO-&gt;0xN</c>), joined with <c>; </c>.
    /// </summary>
    private static void AppendChanges(CharBuffer text, in ConfigAccessResult write)
    {
        var function = write.Function!;
        uint diff = write.Before ^ write.After;
        if (diff == 0)
        {
            text.Append("unchanged");
            return;
        }

        text.Append("changed: ");
        bool first = true;
        int dwordBase = write.Address.Register & ~3;
        for (int b = 0; b < 4; b++)
        {
            var register = function.Layout.RegisterAt(dwordBase + b);
            if (register is null || register.Offset != dwordBase + b)
            {
                continue;
            }

            int shift = b * 8;
            uint mask = register.Size >= 4 ? uint.MaxValue : (1u << (register.Size * 8)) - 1;
            uint oldValue = (write.Before >> shift) & mask;
            uint newValue = (write.After >> shift) & mask;
            if (oldValue == newValue)
            {
                continue;
            }

            if (!first)
            {
                text.Append("; ");
            }

            first = false;
            text.Append(register.Name).Append(" 0x").AppendHex(oldValue).Append("->0x").AppendHex(newValue).Append(' ');
            var fields = register.Fields;
            for (int f = 0; f < fields.Count; f++)
            {
                var field = fields[f];
                uint o = (oldValue & field.Mask) >> field.Bit;
                uint n = (newValue & field.Mask) >> field.Bit;
                if (o != n && !(fields.Count == 1 && field.Mask == mask))
                {
                    if (field.Width == 1)
                    {
                        text.Append(n == 1 ? '+' : '-').Append(field.Name);
                    }
                    else
                    {
                        text.Append(field.Name).Append("=0x").AppendHex(o).Append("->0x").AppendHex(n);
                    }

                    text.Append(' ');
                }
            }

            // As the joined text was trimmed: no space after the last field (or after the values when none changed).
            text.TrimEnd();
        }
    }

    public static string Describe(ModelEvent e) => e switch
    {
        HotplugEvent h => Inv($"{(h.Added ? "hot-add" : "hot-remove")} {h.Endpoint.Name} {(h.Added ? "into" : "from")} {h.Port.Name}"),
        CommandCompletedEvent cc => "command completed on " + cc.Port.Name,
        MessageLatchedEvent l => Inv($"{OriginName(l.Origin)} vector {l.Vector} of {l.Source.Name} latched ({l.Reason})"),
        MessageEvent m => DescribeMessage(m),
        _ => e.ToString(),
    };

    public static string Describe(Violation violation)
    {
        ArgumentNullException.ThrowIfNull(violation);
        return Inv($"{violation.Rule.Id} {violation.Port}: {violation.Evidence} [{violation.Rule.Clause}]");
    }

    public static string ProfileName(BehaviourProfile profile) => profile == BehaviourProfile.Spec ? "spec" : "openvmm";

    public static string OpName(TraceOp op) => op switch
    {
        TraceOp.HotAdd => "hot-add",
        TraceOp.HotRemove => "hot-remove",
        TraceOp.MmioRead => "mmio-read",
        TraceOp.MmioWrite => "mmio-write",
        _ => op.ToString().ToLowerInvariant(),
    };

    private static string DescribeMessage(MessageEvent m)
    {
        var msg = m.Message;
        var text = new StringBuilder(Inv($"{OriginName(msg.Origin)} from {msg.Source.Name} vector {msg.Vector}: rid {Bdf.Format((byte)(msg.RequesterId >> 8), (byte)msg.RequesterId)} segment {msg.Segment:x4} address 0x{msg.Address:x} data 0x{msg.Data:x} -> "));
        var d = m.Delivery;
        text.Append(!d.Accepted ? "dropped: " + d.Reason
            : d.DeviceId is { } device ? Inv($"ITS DeviceID 0x{device:x} EventID 0x{d.EventId:x}")
            : d.Intid is { } intid ? Inv($"GICv2m SPI INTID {intid}")
            : "accepted (no platform)");
        if (m.Note is not null)
        {
            text.Append(" (").Append(m.Note).Append(')');
        }

        return text.ToString();
    }

    private static string OriginName(MessageOrigin origin) => origin switch
    {
        MessageOrigin.Hotplug => "hotplug MSI",
        MessageOrigin.Msix => "MSI-X",
        _ => "MSI",
    };

    private void AppendConfig(CharBuffer line, TraceRecord record, in ConfigAccessResult access)
    {
        var a = access.Address;
        ushort segment = access.RootComplex?.Segment ?? record.Configuration.Segment;
        if (record.AddressKind == TraceAddressKind.Numeric)
        {
            line.Append("0x").AppendHex(record.Address).Append('=');
        }

        line.AppendHex(segment, 4).Append(':').AppendHex(a.Bus, 2).Append(':').AppendHex((uint)a.Devfn >> 3, 2).Append('.').AppendDecimal(a.Devfn & 7);
        line.Append("@0x").AppendHex(a.Register, 3).Append(" w").AppendDecimal(access.Width).Append(' ');
        line.Append(access.IsWrite ? "= 0x" : "-> 0x").AppendHex(access.Value);
        if (access.Function is { } function)
        {
            line.Append(CompletedTail(function, access));
            return;
        }

        line.Append("  [");
        RoutePath.AppendTo(line, access);
        line.Append(']');
    }

    /// <summary>
    /// <c>  Register  [path]</c> of a completed access: the same for every access to one register of one function
    /// while its chain of bridges is the same. Only an endpoint's chain can change (hot-add and hot-remove move it
    /// between ports; switches and ports never move), so an entry is kept per (function, register, width) with the
    /// endpoint's port and the root complex it was made for (an unplugged endpoint's path is the root complex the
    /// access came through and its name), and remade when either differs.
    /// </summary>
    private string CompletedTail(PcieFunction function, in ConfigAccessResult access)
    {
        var port = (function as Endpoint)?.Port;
        var key = (function, access.Address.Register | (access.Width << 12));
        if (tails.TryGetValue(key, out var cached) && ReferenceEquals(cached.Port, port) && ReferenceEquals(cached.Rc, access.RootComplex))
        {
            return cached.Tail;
        }

        var text = new CharBuffer(128);
        text.Append("  ").Append(function.Layout.QualifiedAccessName(access.Address.Register, access.Width)).Append("  [");
        RoutePath.AppendTo(text, access);
        string tail = text.Append(']').ToString();
        tails[key] = (tail, port, access.RootComplex);
        return tail;
    }

    private void Line(string text)
    {
        output.Write(text);
        output.Write('\n');
    }

    private static string Inv(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
