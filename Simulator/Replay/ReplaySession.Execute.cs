using PcieSim.AddressDecode;
using PcieSim.ConfigSpace.Registers;
using PcieSim.Enumeration;
using PcieSim.Functions;
using PcieSim.Interrupts;
using PcieSim.Rules;
using PcieSim.Topology;

namespace PcieSim.Replay;

/// <summary>Carrying out one record, and judging it against the §6.7 rules.</summary>
public sealed partial class ReplaySession
{
    private void Execute(in TraceRecord record, StepOutcome outcome)
    {
        switch (record.Op)
        {
            case TraceOp.Read:
            case TraceOp.Write:
                ExecuteConfig(record, outcome);
                break;
            case TraceOp.HotAdd:
            case TraceOp.HotRemove:
                Hotplug(record);
                break;
            case TraceOp.Reset:
                foreach (var function in Model.Functions)
                {
                    if (function.HasLatchedMessages)
                    {
                        outcome.Notes.Add("reset discarded the latched message(s) of " + function.Name);
                    }
                }

                Model.Reset();
                if (VmmEnumerate)
                {
                    outcome.Enumeration = VmmEnumerator.Run(Model);
                    if (outcome.Enumeration.Error is { } error)
                    {
                        throw new InputException(Source, record.Line, Columns.Op, "reset: OpenVMM's enumeration after the reset fails, so OpenVMM would not restart this VM: " + error);
                    }
                }

                break;
            case TraceOp.MmioRead:
            case TraceOp.MmioWrite:
                ExecuteMmio(record, outcome);
                break;
            case TraceOp.Raise:
                ExecuteRaise(record);
                break;
        }
    }

    private void ExecuteRaise(in TraceRecord record)
    {
        var endpoint = Model.FindEndpoint(record.Device!)
            ?? throw Bad(record, Columns.Device, "device", $"'{record.Device}', which is no endpoint of the topology", "a plugged-in endpoint: " + Names(PluggedEndpoints()));
        if (endpoint.Port is null)
        {
            throw Bad(record, Columns.Device, "device", $"'{endpoint.Name}', which is not plugged in (it waits for a hot-add)", "a plugged-in endpoint: " + Names(PluggedEndpoints()));
        }

        var (origin, vectors) = PcieModel.RaiseTarget(endpoint);
        if (vectors == 0)
        {
            throw Bad(record, Columns.Device, "device", $"'{endpoint.Name}', which has no MSI or MSI-X capability", "an endpoint with MSI or MSI-X");
        }

        ulong vector = record.Value ?? 0;
        if (vector >= (ulong)vectors)
        {
            string mechanism = origin == MessageOrigin.Msix ? "MSI-X" : "MSI";
            throw Bad(record, Columns.Value, "value", Inv($"vector {vector}"), Inv($"a vector 0..{vectors - 1}: '{endpoint.Name}' signals through {mechanism} now, with {vectors} vector(s)"));
        }

        Model.Raise(endpoint, (int)vector);
    }

    private IEnumerable<string> PluggedEndpoints() => Model.Endpoints.Where(e => e.Port is not null).Select(e => e.Name);

    private void ExecuteConfig(in TraceRecord record, StepOutcome outcome)
    {
        bool isWrite = record.Op == TraceOp.Write;
        int width = record.Width ?? 4;
        ulong value = record.Value ?? 0;
        ConfigAccessResult result;
        if (record.AddressKind == TraceAddressKind.Configuration)
        {
            var a = record.Configuration;
            if (!Model.HasSegment(a.Segment))
            {
                throw Bad(record, Columns.Address, "address", Inv($"segment {a.Segment:x4}, which has no root complex"),
                    "a segment with a root complex: " + Names(Model.RootComplexes.Select(rc => Inv($"{rc.Segment:x4}")).Distinct(StringComparer.Ordinal)));
            }

            result = Model.Access(a.Segment, a.Bus, a.Devfn, a.Register, width, isWrite, value);
        }
        else
        {
            if (!Model.TryDecodeEcam(record.Address, out var rc, out var decoded))
            {
                throw Bad(record, Columns.Address, "address", Inv($"ECAM address 0x{record.Address:x}, which is in no root complex's ECAM window"),
                    "an address in an ECAM window: " + Names(Model.RootComplexes.Select(w => Inv($"{w.Name} 0x{w.Window.Base:x}-0x{w.Window.Base + w.Window.Size - 1:x}"))));
            }

            result = Model.Access(rc, decoded, width, isWrite, value);
        }

        outcome.SetAccess(result);
        outcome.RouteText = routes.Describe(result, result.RootComplex?.RoutingGeneration ?? Model.RoutingGeneration);
        if (!isWrite)
        {
            outcome.ValueRead = result.Value;
            if (record.Value is { } recorded && recorded != result.Value)
            {
                outcome.Mismatches.Add(Inv($"recorded 0x{recorded:x}, model 0x{result.Value:x}"));
            }
        }
        else if (result.Function is DownstreamPort port && result.Address.Register >> 2 == (port.Pcie.Offset + PciExpressOffsets.LinkControl) >> 2
                 && (value << ((result.Address.Register & 3) * 8) & 0x10) != 0)
        {
            outcome.Notes.Add("Link Disable written: read-only in OpenVMM (an OpenVMM deviation outside §6.7)");
        }
    }

    private void ExecuteMmio(in TraceRecord record, StepOutcome outcome)
    {
        int width = record.Width ?? 4;
        bool isWrite = record.Op == TraceOp.MmioWrite;
        ulong value = record.Value ?? 0;
        if (Model.TryFindBar(record.Address, out var endpoint, out int bar, out ulong offset))
        {
            if (endpoint.Msix is { } msix && msix.Bar == bar)
            {
                outcome.Mmio = MsixAccess(endpoint, msix, bar, offset, width, isWrite, value, outcome);
            }
            else
            {
                outcome.Mmio = new MmioHit(endpoint, bar, MmioHitKind.NotModelled, offset);
                if (!isWrite)
                {
                    outcome.ValueRead = ByteEnables.AllOnes(width);
                }
            }

            CompareMmioRead(record, outcome);
            return;
        }

        outcome.Mmio = new MmioHit(null, 0, MmioHitKind.Unclaimed, 0);
        if (!isWrite)
        {
            outcome.ValueRead = ByteEnables.AllOnes(width);
            CompareMmioRead(record, outcome);
        }
    }

    private MmioHit MsixAccess(Endpoint endpoint, ConfigSpace.Capabilities.MsixCapability msix, int bar, ulong offset, int width, bool isWrite, ulong value, StepOutcome outcome)
    {
        ulong tableEnd = (ulong)msix.Vectors * 16;
        ulong pbaEnd = (ulong)msix.PbaOffset + ((ulong)(msix.Vectors + 31) / 32 * 4);
        if ((offset & 3) != 0 || width is not (4 or 8))
        {
            if (!isWrite)
            {
                outcome.ValueRead = ByteEnables.AllOnes(width);
            }

            return new MmioHit(endpoint, bar, MmioHitKind.Dropped, offset);
        }

        if (offset < tableEnd)
        {
            int vector = (int)(offset / 16);
            int dword = (int)(offset % 16 / 4);
            if (isWrite)
            {
                endpoint.WriteMsixTable(vector, dword, (uint)value, uint.MaxValue);
                if (width == 8 && dword < 3)
                {
                    endpoint.WriteMsixTable(vector, dword + 1, (uint)(value >> 32), uint.MaxValue);
                }

                Model.DeliverLatched(endpoint);
            }
            else
            {
                ulong read = endpoint.ReadMsixTable(vector, dword);
                if (width == 8)
                {
                    read |= (ulong)(dword < 3 ? endpoint.ReadMsixTable(vector, dword + 1) : 0) << 32;
                }

                outcome.ValueRead = read;
            }

            return new MmioHit(endpoint, bar, MmioHitKind.MsixTable, offset);
        }

        if (offset >= (ulong)msix.PbaOffset && offset < pbaEnd)
        {
            int index = (int)((offset - (ulong)msix.PbaOffset) / 4);
            if (!isWrite)
            {
                outcome.ValueRead = endpoint.ReadPba(index) | (width == 8 ? (ulong)endpoint.ReadPba(index + 1) << 32 : 0);
            }

            return new MmioHit(endpoint, bar, isWrite ? MmioHitKind.PbaWrite : MmioHitKind.PbaRead, (ulong)index);
        }

        if (!isWrite)
        {
            outcome.ValueRead = ByteEnables.AllOnes(width);
        }

        return new MmioHit(endpoint, bar, MmioHitKind.NotModelled, offset);
    }

    private static void CompareMmioRead(in TraceRecord record, StepOutcome outcome)
    {
        if (record.Op == TraceOp.MmioRead && record.Value is { } recorded && outcome.ValueRead is { } read && recorded != read)
        {
            outcome.Mismatches.Add(Inv($"recorded 0x{recorded:x}, model 0x{read:x}"));
        }
    }

    private void Hotplug(in TraceRecord record)
    {
        try
        {
            if (record.Op == TraceOp.HotAdd)
            {
                Model.HotAdd(record.Port!, record.Device!);
            }
            else
            {
                Model.HotRemove(record.Port!, record.Device);
            }
        }
        catch (HotplugException error)
        {
            throw HotplugRefused(record, error.Error);
        }
    }

    /// <summary>A refused hot-add or hot-remove as bad input: what the row named, and what it could have named.</summary>
    private InputException HotplugRefused(in TraceRecord record, HotplugError error)
    {
        var port = Model.FindPort(record.Port!);
        string hotplugPorts = "a hot-plug capable port: " + Names(Model.Ports.Where(p => p.HotplugCapable).Select(p => p.Name));
        string occupant = port?.Child?.UpstreamFunction.Name ?? "";
        string pool = "an endpoint waiting unplugged: " + Names(Model.Endpoints.Where(e => e.Port is null).Select(e => e.Name));
        return error switch
        {
            HotplugError.UnknownPort => Bad(record, Columns.Port, "port", $"'{record.Port}', which is no port of the topology", hotplugPorts),
            HotplugError.NotHotplugCapable => Bad(record, Columns.Port, "port", $"'{record.Port}', which is not hot-plug capable", hotplugPorts),
            HotplugError.PortOccupied => Bad(record, Columns.Port, "port", $"'{record.Port}', which already holds '{occupant}'", $"an empty hot-plug port (hot-remove '{occupant}' first)"),
            HotplugError.PortEmpty => Bad(record, Columns.Port, "port", $"'{record.Port}', which is empty", "a port holding an endpoint (hot-add one first)"),
            HotplugError.UnknownEndpoint => Bad(record, Columns.Device, "device", $"'{record.Device}', which is no endpoint of the topology", pool),
            HotplugError.EndpointAlreadyPlugged => Bad(record, Columns.Device, "device", $"'{record.Device}', which is already plugged into '{Model.FindEndpoint(record.Device!)?.Port?.Name}'", pool),
            _ when port?.Child is not Endpoint => Bad(record, Columns.Port, "port", $"'{record.Port}', which holds switch '{occupant}'", "a port holding an endpoint (a switch is not hot-removed)"),
            _ => Bad(record, Columns.Device, "device", $"'{record.Device}', but '{record.Port}' holds '{occupant}'", $"'{occupant}' or an empty field"),
        };
    }

    /// <summary>The ports whose §6.7 state a record can change: every port on a reset, else the one it touches.</summary>
    private List<DownstreamPort> PortsTouched(in TraceRecord record)
    {
        var ports = touchedPorts;
        ports.Clear();
        switch (record.Op)
        {
            case TraceOp.Reset:
                ports.AddRange(Model.Ports);
                break;
            case TraceOp.HotAdd:
            case TraceOp.HotRemove:
                if (record.Port is not null && Model.FindPort(record.Port) is { } port)
                {
                    ports.Add(port);
                }

                break;
            case TraceOp.Write:
                // Resolved after routing; any port may be the target, so observe lazily (see Judge).
                break;
        }

        return ports;
    }

    private void SnapshotBefore(List<DownstreamPort> ports)
    {
        if (before.Count > 0)
        {
            before.Clear();
        }

        foreach (var port in ports)
        {
            before[port] = PcieModel.Observe(port);
        }
    }

    private void Judge(in TraceRecord record, StepOutcome outcome, List<DownstreamPort> touched)
    {
        SlotWrite? slotWrite = null;
        ref readonly var access = ref outcome.AccessRef;
        if (outcome.HasAccess && access.Completed && access.IsWrite && access.Function is DownstreamPort written)
        {
            touched.Add(written);
            // The write already happened: rebuild the "before" observation from the DWORD before the write.
            var now = PcieModel.Observe(written);
            int slotDword = (written.Pcie.Offset + PciExpressOffsets.SlotControl) >> 2;
            if (access.Address.Register >> 2 == slotDword)
            {
                uint lanes = ByteEnables.LaneMask(LaneEnables(access.Address.Register, access.Width));
                slotWrite = new SlotWrite((uint)access.Value << ((access.Address.Register & 3) * 8), lanes);
                before[written] = now with { SlotControl = (ushort)access.Before, SlotStatus = (ushort)(access.Before >> 16) };
            }
            else if (access.Address.Register >> 2 == (written.Msi.Offset >> 2))
            {
                before[written] = now with { MsiEnabled = (access.Before & 0x1_0000) != 0 };
            }
            else
            {
                before[written] = now;
            }
        }

        var messagesByPort = hotplugMessages;
        if (messagesByPort.Count > 0)
        {
            messagesByPort.Clear();
        }

        foreach (var e in outcome.EventSpan)
        {
            if (e is MessageEvent { Message: { Origin: MessageOrigin.Hotplug, Source: DownstreamPort source } } m)
            {
                messagesByPort[source] = messagesByPort.GetValueOrDefault(source) + 1;
                if (!touched.Contains(source))
                {
                    touched.Add(source);
                }
            }

            if (e is MessageEvent { Delivery.Accepted: false } dropped)
            {
                outcome.Notes.Add("message dropped: " + dropped.Delivery.Reason);
            }

            if (e is MessageEvent { Delivery.Accepted: true, Message: { Origin: MessageOrigin.Msi, Source: Endpoint { Msi: { PerVectorMasking: true } msi } masked } delivered }
                && (masked.ReadDword(msi.MaskOffset) & (1u << delivered.Vector)) != 0)
            {
                outcome.Notes.Add($"MSI vector {delivered.Vector} of {masked.Name} sent although masked (OpenVMM stores mask bits without applying them; outside §6.7)");
            }

            if (e is MessageEvent { Message.Source: var from } sent && (from.Command & (ushort)CommandRegister.BusMasterEnable) == 0)
            {
                outcome.Notes.Add(BusMasterNote(from));
            }
        }

        foreach (var port in touched)
        {
            var after = PcieModel.Observe(port);
            var was = before.TryGetValue(port, out var b) ? b : after;
            checker.CheckStep(port.Name, was, after, outcome.HasAccess && ReferenceEquals(port, access.Function) ? slotWrite : null, record.Op == TraceOp.Reset, messagesByPort.GetValueOrDefault(port), outcome.Violations);
            HotplugRuleChecker.CheckState(port.Name, after, outcome.Violations);
        }

        if (outcome.HasAccess && !access.IsWrite && access.Status == AccessStatus.Unroutable && access.Failure == RouteFailure.PortEmpty && access.StoppedAt is DownstreamPort empty)
        {
            HotplugRuleChecker.CheckEmptyRead(empty.Name, access.Value, access.Width, outcome.Violations);
        }
    }

    /// <summary>The note for an MSI sent with Bus Master Enable clear, made once per function (generated storms send thousands).</summary>
    private string BusMasterNote(PcieFunction from)
    {
        if (!busMasterNotes.TryGetValue(from, out string? note))
        {
            note = $"MSI sent by {from.Name} with Bus Master Enable clear (OpenVMM does not gate MSI on it; outside §6.7)";
            busMasterNotes.Add(from, note);
        }

        return note;
    }

    private readonly Dictionary<PcieFunction, string> busMasterNotes = [];

    // Reused from step to step (a replay is one step at a time): the ports a step touched, its hotplug messages per port.
    private readonly List<DownstreamPort> touchedPorts = [];
    private readonly Dictionary<DownstreamPort, int> hotplugMessages = [];

    /// <summary>Route texts, each made once per (function, root complex, status, failure) and endpoint port.</summary>
    private readonly RouteDescriptions routes = new();

    private static byte LaneEnables(int register, int width) => ByteEnables.TryGet(register, width, out byte enables) == AccessFault.None ? enables : (byte)0;

    /// <summary>Bad input in the reader's words: <c>column 'NAME': found ..., expected ...</c>.</summary>
    private InputException Bad(in TraceRecord record, int column, string columnName, string found, string expected) =>
        new(Source, record.Line, column, $"column '{columnName}': found {found}, expected {expected}");

    /// <summary>Names for a message, in topology order: at most eight, then how many more.</summary>
    private static string Names(IEnumerable<string> names)
    {
        var list = names.ToList();
        if (list.Count == 0)
        {
            return "(none)";
        }

        return list.Count <= 8 ? string.Join(", ", list) : string.Join(", ", list.Take(8)) + Inv($", ... ({list.Count - 8} more)");
    }

    private TraceColumns Columns { get; set; }

    /// <summary>Tells the session where the trace's columns are, for error positions.</summary>
    public void UseColumns(TraceColumns columns) => Columns = columns;
}
