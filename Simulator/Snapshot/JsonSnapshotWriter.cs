using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using PcieSim.AddressDecode;
using PcieSim.Enumeration;
using PcieSim.Interrupts;
using PcieSim.Replay;
using PcieSim.Rules;
using PcieSim.Topology;

namespace PcieSim.Snapshot;

/// <summary>
/// The replay snapshot as one JSON document (<c>--format json</c>): the same content as the text snapshot under a
/// documented schema (README, "JSON snapshot schema") whose <c>version</c> is <see cref="SnapshotWriter.FormatVersion"/>.
/// Addresses, register values and data are hexadecimal strings (<c>"0x1f"</c>) so 64-bit values survive every JSON
/// reader; counts are numbers. Properties come in a fixed order; indented with LF; streamed record by record.
/// </summary>
public sealed class JsonSnapshotWriter : ISnapshotWriter
{
    /// <summary>The <c>format</c> property of every JSON snapshot.</summary>
    public const string FormatName = "pciesim-snapshot";

    private readonly TextWriter output;
    private readonly ArrayBufferWriter<byte> buffer = new(4096);
    private readonly Utf8JsonWriter json;

    public JsonSnapshotWriter(TextWriter output)
    {
        this.output = output ?? throw new ArgumentNullException(nameof(output));
        json = new Utf8JsonWriter(buffer, new JsonWriterOptions
        {
            Indented = true,
            NewLine = "\n",
            // A snapshot is a file, not HTML: keep §, > and quotes of register descriptions readable.
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        });
    }

    public void WriteHeader(string traceName, BehaviourProfile profile, PcieModel model, IReadOnlyList<Violation> initialViolations, EnumerationResult? enumeration = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(initialViolations);
        json.WriteStartObject();
        json.WriteString("format", FormatName);
        json.WriteNumber("version", SnapshotWriter.FormatVersion);
        json.WriteString("trace", traceName);
        json.WriteString("profile", SnapshotWriter.ProfileName(profile));
        json.WriteStartArray("topology");
        foreach (string flag in model.Spec.NormalisedFlags)
        {
            json.WriteStringValue(flag);
        }

        json.WriteEndArray();
        if (enumeration is not null)
        {
            WriteEnumeration(enumeration);
        }

        WriteViolations("initialViolations", initialViolations);
        json.WriteStartArray("records");
        Flush();
    }

    public void WriteStep(StepOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        ref readonly var record = ref outcome.Record;
        json.WriteStartObject();
        json.WriteNumber("row", record.Row);
        if (record.Seq is { } seq)
        {
            json.WriteNumber("seq", seq);
        }

        json.WriteString("op", SnapshotWriter.OpName(record.Op));
        switch (record.Op)
        {
            case TraceOp.Read:
            case TraceOp.Write:
                WriteConfigAccess(record, outcome.AccessRef, outcome.Route);
                break;
            case TraceOp.HotAdd:
            case TraceOp.HotRemove:
                json.WriteString("port", record.Port);
                json.WriteString("device", record.Device);
                break;
            case TraceOp.MmioRead:
            case TraceOp.MmioWrite:
                json.WriteString("address", Hex(record.Address));
                json.WriteNumber("width", record.Width ?? 4);
                json.WriteString("value", Hex(record.Op == TraceOp.MmioRead ? outcome.ValueRead ?? 0 : record.Value ?? 0));
                json.WriteString("target", outcome.MmioTarget);
                break;
            case TraceOp.Raise:
                json.WriteString("device", record.Device);
                json.WriteNumber("vector", record.Value ?? 0);
                break;
            case TraceOp.Msi:
                json.WriteString("address", Hex(record.Address));
                json.WriteString("data", Hex(record.Value ?? 0));
                if (record.DeviceValue is { } device)
                {
                    json.WriteString("device", Hex(device));
                }

                break;
        }

        if (outcome.Enumeration is { } enumeration)
        {
            WriteEnumeration(enumeration);
        }

        json.WriteStartArray("events");
        foreach (var e in outcome.Events)
        {
            WriteEvent(e);
        }

        json.WriteEndArray();
        WriteStrings("mismatches", outcome.Mismatches);
        WriteStrings("notes", outcome.Notes);
        if (!string.IsNullOrEmpty(record.Note))
        {
            json.WriteString("traceNote", record.Note);
        }

        WriteViolations("violations", outcome.Violations);
        json.WriteEndObject();
        Flush();
    }

    public void WriteSummary(ReplaySession session)
    {
        ArgumentNullException.ThrowIfNull(session);
        var c = session.Counters;
        json.WriteEndArray();
        json.WriteStartObject("summary");
        json.WriteNumber("records", c.Records);
        json.WriteStartObject("byOp");
        foreach (var op in Enum.GetValues<TraceOp>())
        {
            json.WriteNumber(SnapshotWriter.OpName(op), c.ByOp(op));
        }

        json.WriteEndObject();
        json.WriteNumber("unroutableAccesses", c.Unroutable);
        json.WriteNumber("markedAccesses", c.Marked);
        json.WriteNumber("messagesAccepted", c.MessagesAccepted);
        json.WriteNumber("messagesDropped", c.MessagesDropped);
        json.WriteNumber("mismatches", c.Mismatches);
        json.WriteNumber("violations", c.Violations + session.InitialViolations.Count);
        json.WriteStartArray("ports");
        foreach (var port in session.Model.Ports)
        {
            json.WriteStartObject();
            json.WriteString("name", port.Name);
            json.WriteNumber("secondaryBus", port.SecondaryBus);
            json.WriteNumber("subordinateBus", port.SubordinateBus);
            json.WriteBoolean("busRangeProgrammed", port.AssignedBusRange.IsProgrammed);
            if (port.Child is { } child)
            {
                json.WriteString("child", child.UpstreamFunction.Name);
            }
            else
            {
                json.WriteNull("child");
            }

            json.WriteString("linkStatus", Hex((ushort)port.LinkStatus, 4));
            if (port.HotplugCapable)
            {
                json.WriteStartObject("slot");
                json.WriteNumber("number", port.SlotNumber);
                json.WriteString("control", Hex((ushort)port.SlotControl, 4));
                json.WriteString("status", Hex((ushort)port.SlotStatus, 4));
                json.WriteEndObject();
            }

            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteStartArray("unpluggedEndpoints");
        foreach (var endpoint in session.Model.Endpoints)
        {
            if (endpoint.Port is null)
            {
                json.WriteStringValue(endpoint.Name);
            }
        }

        json.WriteEndArray();
        json.WriteEndObject();
        json.WriteEndObject();
        Flush();
        output.Write('\n');
    }

    private void WriteConfigAccess(in TraceRecord record, in ConfigAccessResult access, string? route)
    {
        var a = access.Address;
        if (record.AddressKind == TraceAddressKind.Numeric)
        {
            json.WriteString("ecamAddress", Hex(record.Address));
        }

        json.WriteString("bdf", Bdf.Format(access.RootComplex?.Segment ?? record.Configuration.Segment, (byte)a.Bus, (byte)a.Devfn));
        json.WriteString("register", Hex((uint)a.Register, 3));
        json.WriteNumber("width", access.Width);
        json.WriteString("value", Hex(access.Value));
        json.WriteString("status", StatusName(access.Status));
        json.WriteString("route", route ?? RoutePath.Describe(access));
        if (access.Function is { } function)
        {
            json.WriteString("function", function.Name);
            json.WriteString("registerName", function.Names.QualifiedAccessName(a.Register, access.Width));
        }

        if (access is { Completed: true, IsWrite: true })
        {
            json.WriteStartArray("changes");
            foreach (var change in SnapshotWriter.ChangedRegisters(access))
            {
                json.WriteStartObject();
                json.WriteString("register", change.Register);
                json.WriteString("before", Hex(change.Before));
                json.WriteString("after", Hex(change.After));
                WriteStrings("fields", change.Fields);
                json.WriteEndObject();
            }

            json.WriteEndArray();
        }
    }

    private void WriteEvent(ModelEvent e)
    {
        json.WriteStartObject();
        switch (e)
        {
            case HotplugEvent h:
                json.WriteString("kind", h.Added ? "hot-add" : "hot-remove");
                json.WriteString("port", h.Port.Name);
                json.WriteString("endpoint", h.Endpoint.Name);
                break;
            case CommandCompletedEvent cc:
                json.WriteString("kind", "command-completed");
                json.WriteString("port", cc.Port.Name);
                break;
            case MessageLatchedEvent l:
                json.WriteString("kind", "message-latched");
                json.WriteString("origin", SnapshotWriter.OriginName(l.Origin));
                json.WriteString("source", l.Source.Name);
                json.WriteNumber("vector", l.Vector);
                json.WriteString("reason", l.Reason);
                break;
            case MessageEvent m:
                WriteMessage(m);
                break;
        }

        json.WriteString("text", SnapshotWriter.Describe(e));
        json.WriteEndObject();
    }

    private void WriteMessage(MessageEvent m)
    {
        var msg = m.Message;
        json.WriteString("kind", "message");
        json.WriteString("origin", SnapshotWriter.OriginName(msg.Origin));
        json.WriteString("source", msg.Source.Name);
        json.WriteNumber("vector", msg.Vector);
        json.WriteString("requesterId", Bdf.Format((byte)(msg.RequesterId >> 8), (byte)msg.RequesterId));
        json.WriteString("segment", Hex(msg.Segment, 4));
        json.WriteString("address", Hex(msg.Address));
        json.WriteString("data", Hex(msg.Data));
        var d = m.Delivery;
        json.WriteBoolean("accepted", d.Accepted);
        if (d.DeviceId is { } deviceId)
        {
            json.WriteString("itsDeviceId", Hex(deviceId));
            json.WriteString("itsEventId", Hex(d.EventId ?? 0));
        }

        if (d.Intid is { } intid)
        {
            json.WriteNumber("spiIntid", intid);
        }

        if (d.Reason is not null)
        {
            json.WriteString("reason", d.Reason);
        }

        if (m.Note is not null)
        {
            json.WriteString("note", m.Note);
        }
    }

    /// <summary>What OpenVMM's enumeration assigned: per root complex its apertures and its tree of functions.</summary>
    private void WriteEnumeration(EnumerationResult enumeration)
    {
        json.WriteStartObject("enumeration");
        json.WriteStartArray("rootComplexes");
        foreach (var rc in enumeration.RootComplexes)
        {
            json.WriteStartObject();
            json.WriteString("name", rc.RootComplex.Name);
            WriteRange("lowMmio", rc.LowMmio is { } low ? (low.Base, low.Limit) : null);
            WriteRange("highMmio", rc.HighMmio is { } high ? (high.Base, high.Limit) : null);
            json.WriteBoolean("enumerated", rc.Enumerated);
            if (rc.Error is { } error)
            {
                json.WriteString("error", error.Message);
            }

            WriteFunctions(rc.Functions);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    private void WriteFunctions(IReadOnlyList<FunctionAssignment> functions)
    {
        json.WriteStartArray("functions");
        foreach (var f in functions)
        {
            json.WriteStartObject();
            json.WriteString("bdf", f.Bdf);
            json.WriteString("name", f.Target?.Name);
            json.WriteBoolean("bridge", f.IsBridge);
            if (f.Buses is { } buses)
            {
                json.WriteNumber("secondaryBus", buses.Secondary);
                json.WriteNumber("subordinateBus", buses.Subordinate);
            }

            if (f.IsBridge)
            {
                WriteRange("memoryWindow", f.MemoryWindow is { } m ? (m.Base, m.Limit) : null);
                WriteRange("prefetchableWindow", f.PrefetchableWindow is { } p ? (p.Base, p.Limit) : null);
                json.WriteBoolean("ariForwardingEnabled", f.AriForwardingEnabled);
            }

            WriteBars("bars", f.Bars);
            if (f.VfBars.Count > 0)
            {
                json.WriteNumber("totalVfs", f.TotalVfs);
                WriteBars("vfBars", f.VfBars);
            }

            json.WriteString("text", EnumerationText.Describe(f));
            WriteFunctions(f.Children);
            json.WriteEndObject();
        }

        json.WriteEndArray();
    }

    private void WriteBars(string name, IReadOnlyList<BarAssignment> bars)
    {
        json.WriteStartArray(name);
        foreach (var bar in bars)
        {
            json.WriteStartObject();
            json.WriteNumber("index", bar.Index);
            json.WriteString("address", Hex(bar.Address));
            json.WriteString("size", Hex(bar.Size));
            json.WriteBoolean("is64Bit", bar.Is64Bit);
            json.WriteBoolean("prefetchable", bar.Prefetchable);
            json.WriteEndObject();
        }

        json.WriteEndArray();
    }

    /// <summary>An inclusive range as <c>{base, limit}</c>, or null (no aperture, window disabled).</summary>
    private void WriteRange(string name, (ulong Base, ulong Limit)? range)
    {
        if (range is not { } r)
        {
            json.WriteNull(name);
            return;
        }

        json.WriteStartObject(name);
        json.WriteString("base", Hex(r.Base));
        json.WriteString("limit", Hex(r.Limit));
        json.WriteEndObject();
    }

    private void WriteViolations(string name, IReadOnlyList<Violation> violations)
    {
        json.WriteStartArray(name);
        foreach (var v in violations)
        {
            json.WriteStartObject();
            json.WriteString("rule", v.Rule.Id);
            json.WriteString("port", v.Port);
            json.WriteString("evidence", v.Evidence);
            json.WriteString("clause", v.Rule.Clause);
            json.WriteEndObject();
        }

        json.WriteEndArray();
    }

    private void WriteStrings(string name, IReadOnlyList<string> values)
    {
        json.WriteStartArray(name);
        foreach (string value in values)
        {
            json.WriteStringValue(value);
        }

        json.WriteEndArray();
    }

    /// <summary>Moves what the JSON writer buffered to the output, so memory stays flat.</summary>
    public void Flush()
    {
        json.Flush();
        output.Write(Encoding.UTF8.GetString(buffer.WrittenSpan));
        buffer.ResetWrittenCount();
    }

    private static string StatusName(AccessStatus status) => status switch
    {
        AccessStatus.Completed => "completed",
        AccessStatus.Unroutable => "unroutable",
        AccessStatus.UnalignedAccess => "unaligned-access",
        AccessStatus.InvalidAccessSize => "invalid-access-size",
        _ => "no-root-complex",
    };

    private static string Hex(ulong value) => "0x" + value.ToString("x", CultureInfo.InvariantCulture);

    private static string Hex(uint value, int digits) => "0x" + value.ToString("x" + digits.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
}
