using System.Globalization;
using PcieSim.ConfigSpace;
using PcieSim.Enumeration;
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
public sealed class SnapshotWriter(TextWriter output) : ISnapshotWriter
{
    /// <summary>Snapshot format version, in the header of every snapshot.</summary>
    public const int FormatVersion = 1;

    private static readonly string[] OpNames = [.. Enum.GetValues<TraceOp>().Select(OpName)];

    /// <summary>
    /// Characters of record lines gathered before they go to the output in one write: a write per record costs the
    /// writer's call and encoding set-up every hundred characters, while 4 KiB of gathered text stays in the first-level
    /// cache (measured: 2 K characters formatted and wrote faster than one record or 16 K characters at a time).
    /// </summary>
    private const int WriteAtChars = 2 * 1024;

    /// <summary>Record lines not yet written: one buffer, reused, so a record costs no strings of its own.</summary>
    private readonly CharBuffer text = new(WriteAtChars + 512);

    /// <param name="enumeration">When the replay starts from OpenVMM's pre-boot enumeration (<c>--vmm-enumerate</c>): what it assigned.</param>
    public void WriteHeader(string traceName, BehaviourProfile profile, PcieModel model, IReadOnlyList<Violation> initialViolations, EnumerationResult? enumeration = null)
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

        if (enumeration is not null)
        {
            Line("initial state: vmm-enumerate (OpenVMM's pre-boot enumeration and resource assignment; Command.MEM left clear)");
            foreach (string line in EnumerationText.Lines(enumeration))
            {
                Line("  " + line);
            }
        }

        foreach (var violation in initialViolations)
        {
            Line("  violation: " + Describe(violation));
        }

        Line("records:");
    }

    /// <summary>
    /// Writes one record's lines: built in a reused buffer with the records before it, which goes to the output once it
    /// holds <see cref="WriteAtChars"/> characters, or at <see cref="Flush"/> or the summary (no per-record strings).
    /// </summary>
    public void WriteStep(StepOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        ref readonly var record = ref outcome.Record;
        var line = text;
        line.Append('#').AppendDecimal(record.Row);
        if (record.Seq is { } seq && seq != record.Row)
        {
            line.Append(" seq=").AppendDecimal(seq);
        }

        line.Append(' ').Append(OpNames[(int)record.Op]).Append(' ');
        switch (record.Op)
        {
            case TraceOp.Read:
            case TraceOp.Write:
                AppendConfig(line, record, outcome.AccessRef, outcome.RouteText?.Short);
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

                line.Append("  ");
                outcome.Mmio?.AppendTo(line);
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
        ref readonly var access = ref outcome.AccessRef;
        if (outcome.HasAccess && access.Completed && access.IsWrite)
        {
            line.Append("    ");
            AppendChanges(line, access);
            line.Append('\n');
        }

        if (outcome.Enumeration is { } enumeration)
        {
            line.Append("    vmm-enumerate: OpenVMM's enumeration runs again after the reset\n");
            foreach (string enumerationLine in EnumerationText.Lines(enumeration))
            {
                line.Append("      ").Append(enumerationLine).Append('\n');
            }
        }

        foreach (var e in outcome.EventSpan)
        {
            line.Append("    event: ");
            AppendEvent(line, e);
            line.Append('\n');
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

        if (line.Length >= WriteAtChars)
        {
            WritePending();
        }
    }

    /// <summary>Writes the record lines gathered so far, then flushes the output.</summary>
    public void Flush()
    {
        WritePending();
        output.Flush();
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
    /// <c>unchanged</c>, or <c>changed: </c> then each of <see cref="ChangedRegisters"/> as <c>Name 0xOLD-&gt;0xNEW</c>
    /// and its fields, joined with <c>; </c>: the same text, written straight into the buffer (no lists, no strings).
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
        for (int b = 0; b < 4; b++)
        {
            if (!ChangedRegisterAt(write, b, out var register, out uint mask, out uint oldValue, out uint newValue))
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

            // As each part was trimmed: no space after the last field (or after the values when none changed).
            text.TrimEnd();
        }
    }

    /// <summary>
    /// Whether the register starting at byte <paramref name="lane"/> of the written DWORD changed, with its value mask
    /// and its old and new values (shifted down): the one walk both the text and the structured changes make.
    /// </summary>
    private static bool ChangedRegisterAt(in ConfigAccessResult write, int lane, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out RegisterDefinition? register, out uint mask, out uint oldValue, out uint newValue)
    {
        int offset = (write.Address.Register & ~3) + lane;
        register = write.Function!.Names.RegisterAt(offset);
        mask = oldValue = newValue = 0;
        if (register is null || register.Offset != offset)
        {
            return false;
        }

        int shift = lane * 8;
        mask = register.Size >= 4 ? uint.MaxValue : (1u << (register.Size * 8)) - 1;
        oldValue = (write.Before >> shift) & mask;
        newValue = (write.After >> shift) & mask;
        return oldValue != newValue;
    }

    /// <summary>
    /// The registers a completed write changed, in offset order, each with its named fields that changed
    /// (<c>+Bit</c>/<c>-Bit</c> for one-bit fields, <c>Field=0xold-&gt;0xnew</c> otherwise).
    /// </summary>
    public static IReadOnlyList<RegisterChange> ChangedRegisters(in ConfigAccessResult write)
    {
        var function = write.Function!;
        uint diff = write.Before ^ write.After;
        if (diff == 0)
        {
            return [];
        }

        var changes = new List<RegisterChange>();
        for (int b = 0; b < 4; b++)
        {
            if (!ChangedRegisterAt(write, b, out var register, out uint mask, out uint oldValue, out uint newValue))
            {
                continue;
            }

            var fields = new List<string>();
            foreach (var field in register.Fields)
            {
                uint o = (oldValue & field.Mask) >> field.Bit;
                uint n = (newValue & field.Mask) >> field.Bit;
                if (o != n && !(register.Fields.Count == 1 && field.Mask == mask))
                {
                    fields.Add(field.Width == 1 ? (n == 1 ? "+" : "-") + field.Name : Inv($"{field.Name}=0x{o:x}->0x{n:x}"));
                }
            }

            changes.Add(new RegisterChange(register.Name, oldValue, newValue, fields));
        }

        return changes;
    }

    /// <summary>An event's line in the snapshot (after <c>event: </c>).</summary>
    public static string Describe(ModelEvent e)
    {
        var text = new CharBuffer(128);
        AppendEvent(text, e);
        return text.ToString();
    }

    /// <summary>Appends what <see cref="Describe(ModelEvent)"/> returns, digit by digit (no composite formatting).</summary>
    private static void AppendEvent(CharBuffer text, ModelEvent e)
    {
        switch (e)
        {
            case HotplugEvent h:
                text.Append(h.Added ? "hot-add " : "hot-remove ").Append(h.Endpoint.Name).Append(h.Added ? " into " : " from ").Append(h.Port.Name);
                break;
            case CommandCompletedEvent cc:
                text.Append("command completed on ").Append(cc.Port.Name);
                break;
            case MessageLatchedEvent l:
                text.Append(OriginName(l.Origin)).Append(" vector ").AppendDecimal(l.Vector).Append(" of ").Append(l.Source.Name)
                    .Append(" latched (").Append(l.Reason).Append(')');
                break;
            case MessageEvent m:
                AppendMessage(text, m);
                break;
            default:
                text.Append(e.ToString());
                break;
        }
    }

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

    private static void AppendMessage(CharBuffer text, MessageEvent m)
    {
        var msg = m.Message;
        text.Append(OriginName(msg.Origin)).Append(" from ").Append(msg.Source.Name).Append(" vector ").AppendDecimal(msg.Vector)
            .Append(": rid ").AppendBdf((byte)(msg.RequesterId >> 8), (byte)msg.RequesterId)
            .Append(" segment ").AppendHex(msg.Segment, 4).Append(" address 0x").AppendHex(msg.Address).Append(" data 0x").AppendHex(msg.Data).Append(" -> ");
        var d = m.Delivery;
        if (!d.Accepted)
        {
            text.Append("dropped: ").Append(d.Reason);
        }
        else if (d.DeviceId is { } device)
        {
            text.Append("ITS DeviceID 0x").AppendHex(device).Append(" EventID 0x").AppendHex(d.EventId ?? 0);
        }
        else if (d.Intid is { } intid)
        {
            text.Append("GICv2m SPI INTID ").AppendDecimal(intid);
        }
        else
        {
            text.Append("accepted (no platform)");
        }

        if (m.Note is not null)
        {
            text.Append(" (").Append(m.Note).Append(')');
        }
    }

    public static string OriginName(MessageOrigin origin) => origin switch
    {
        MessageOrigin.Hotplug => "hotplug MSI",
        MessageOrigin.Msix => "MSI-X",
        _ => "MSI",
    };

    private static void AppendConfig(CharBuffer line, in TraceRecord record, in ConfigAccessResult access, string? route)
    {
        var a = access.Address;
        ushort segment = access.RootComplex?.Segment ?? record.Configuration.Segment;
        if (record.AddressKind == TraceAddressKind.Numeric)
        {
            line.Append("0x").AppendHex(record.Address).Append('=');
        }

        line.AppendConfigurationAddress(segment, (byte)a.Bus, (byte)a.Devfn, a.Register).Append(" w").AppendDecimal(access.Width).Append(' ');
        line.Append(access.IsWrite ? "= 0x" : "-> 0x").AppendHex(access.Value);
        if (access.Function is { } function)
        {
            line.Append("  ").Append(function.Names.QualifiedAccessName(a.Register, access.Width));
        }

        line.Append("  [");
        if (route is not null)
        {
            line.Append(route);
        }
        else
        {
            RoutePath.AppendShortTo(line, access);
        }

        line.Append(']');
    }

    /// <summary>A header or summary line, after the record lines gathered before it.</summary>
    private void Line(string line)
    {
        WritePending();
        output.Write(line);
        output.Write('\n');
    }

    private void WritePending()
    {
        if (text.Length > 0)
        {
            text.WriteTo(output);
            text.Clear();
        }
    }

    private static string Inv(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

/// <summary>One register a write changed: its name, old and new value, and the named fields that moved.</summary>
public sealed record RegisterChange(string Register, uint Before, uint After, IReadOnlyList<string> Fields);
