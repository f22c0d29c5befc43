using System.Globalization;
using System.Text;
using PcieSim.Files;
using PcieSim.Replay;
using PcieSim.Rules;
using PcieSim.Topology.Language;

namespace PcieSim.Lint;

/// <summary>What linting a trace found, and what it could judge.</summary>
public sealed class LintResult
{
    internal LintResult(string source) => Source = source;

    public string Source { get; }

    public long Records { get; internal set; }

    public List<LintFinding> Findings { get; } = [];

    /// <summary>Root and downstream ports found from recorded reads, with what was learnt of them, in address order.</summary>
    public List<string> Ports { get; } = [];

    /// <summary>Functions accessed whose capability list the trace never read (their registers could not be judged).</summary>
    public List<string> NotJudged { get; } = [];

    public long Messages { get; internal set; }

    public long MessagesAttributed { get; internal set; }

    public long MessagesJudged { get; internal set; }
}

/// <summary>
/// <c>pciesim lint</c>: judges a recorded system from its trace alone, with no model. It follows each function's
/// capability list from the recorded reads, tracks what the guest wrote and what the system answered, and applies
/// the §6.7 rules with the checker's IDs (<see cref="HotplugRule"/>) to the recorded values: RW1C event bits that did
/// not clear or cleared with no 1 written (HP-RW1C); Presence Detect State changing with no PDC (HP-PDS); DLL Link
/// Active changing with no DLLSC, or DLLSCE not sticking, on a port that reports DLL Link Active (HP-DLLLARC);
/// enables that do not stick although their capability is advertised; messages with no enabled event, with HPIE clear
/// or without the condition going false first (HP-EDGE, HP-NOHPIE); Command Completed against NCCS (HP-NCCS); a Slot
/// Status write acting as a command (HP-STATUSWRITE); reads below an empty slot (HP-EMPTY); link and presence
/// consistency (HP-DLLLA, HP-LINKUP, HP-NOSLOT). A check that needs a later read waits for it; what the trace does
/// not show is never assumed, so a rule is only broken on evidence.
/// </summary>
public static class TraceLinter
{
    /// <summary>Lints a trace. Bad input (the trace's syntax, a topology header that does not parse, an ECAM address no window decodes) is an <see cref="InputException"/>.</summary>
    public static LintResult Lint(TraceReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var session = new LintSession(reader.Header);
        while (reader.TryRead(out var record))
        {
            session.Take(record);
        }

        return session.Finish();
    }

    /// <summary>The result as text: findings, ports, what was not judged, a summary. Deterministic.</summary>
    public static string Report(LintResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var text = new StringBuilder();
        text.Append("pciesim lint v1\ntrace: ").Append(result.Source).Append('\n');
        text.Append("ports:\n");
        foreach (string port in result.Ports)
        {
            text.Append("  ").Append(port).Append('\n');
        }

        if (result.NotJudged.Count > 0)
        {
            text.Append("not judged (capability list never read):\n");
            foreach (string function in result.NotJudged)
            {
                text.Append("  ").Append(function).Append('\n');
            }
        }

        text.Append("findings:\n");
        foreach (var finding in result.Findings)
        {
            text.Append("  ").Append(finding).Append('\n');
        }

        var byRule = HotplugRule.All.Select(r => (r.Id, Count: result.Findings.Count(f => f.Rule == r))).Where(r => r.Count > 0).ToList();
        text.Append(Inv($"summary: {result.Records} records, {result.Ports.Count} ports, {result.Messages} msi rows ({result.MessagesAttributed} attributed to a port, {result.MessagesJudged} judged), {result.Findings.Count} findings"));
        if (byRule.Count > 0)
        {
            text.Append(" (").Append(string.Join(", ", byRule.Select(r => Inv($"{r.Id} {r.Count}")))).Append(')');
        }

        return text.ToString();
    }

    internal static string Inv(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    /// <summary>One lint run: the functions and ports learnt so far, and the step that caused the messages being read.</summary>
    private sealed class LintSession
    {
        private readonly TraceHeader header;
        private readonly TopologySpec? spec;
        private readonly LintResult result;
        private readonly Dictionary<FunctionAddress, RecordedFunction> functions = [];
        private readonly SortedDictionary<FunctionAddress, LintedPort> ports = [];
        private readonly Dictionary<ulong, uint[]> msixEntries = [];
        private readonly Dictionary<FunctionAddress, long> accesses = [];
        private int hotplugEpoch;
        private int resetEpoch;
        private Cause cause = new(default, CauseKind.Other, null, 0, 0, null);
        private readonly Dictionary<FunctionAddress, int> messagesOfCause = [];

        public LintSession(TraceHeader header)
        {
            this.header = header;
            result = new LintResult(header.Source);
            spec = header.TopologyLines.Count > 0 ? TopologyParser.Parse(header.TopologyLines) : null;
        }

        private enum CauseKind
        {
            Other,
            Hotplug,
            SlotControlWrite,
            SlotStatusWrite,
        }

        /// <summary>The non-msi row the following msi rows belong to, with the port state a slot write found.</summary>
        private readonly record struct Cause(RowRef Row, CauseKind Kind, FunctionAddress? Port, ushort ControlWritten, ushort PendingBefore, ushort? ControlBefore);

        public void Take(TraceRecord record)
        {
            result.Records++;
            var at = new RowRef(record.Row, record.Line, record.Seq);
            if (record.Op == TraceOp.Msi)
            {
                Message(record, at);
                return;
            }

            messagesOfCause.Clear();
            cause = new Cause(at, CauseKind.Other, null, 0, 0, null);
            switch (record.Op)
            {
                case TraceOp.Read:
                case TraceOp.Write:
                    Config(record, at);
                    break;
                case TraceOp.HotAdd:
                case TraceOp.HotRemove:
                    hotplugEpoch++;
                    cause = cause with { Kind = CauseKind.Hotplug };
                    break;
                case TraceOp.Reset:
                    hotplugEpoch++;
                    resetEpoch++;
                    foreach (var port in ports.Values)
                    {
                        ForgetState(port);
                    }

                    break;
                case TraceOp.MmioWrite when record.Value is ulong value && record.Width is int width:
                    MsixWrite(record.Address, width, value);
                    break;
                default:
                    break;
            }
        }

        public LintResult Finish()
        {
            foreach (var port in ports.Values)
            {
                var p = port;
                string kind = p.Function.PortType == 4 ? "root port" : "downstream port";
                string slot = p.SlotImplemented switch { true => "slot", false => "no slot", null => "slot ?" };
                string sltcap = p.SlotCapabilities is uint s ? Inv($"SltCap 0x{s:x8}") : "SltCap not read";
                string lnkcap = p.LinkCapabilities is uint l ? Inv($"LnkCap 0x{l:x8}") : "LnkCap not read";
                result.Ports.Add(Inv($"{p.Address} {kind}, PCIe capability at 0x{p.Cap:x2}, {slot}, {sltcap}, {lnkcap}"));
            }

            foreach (var (address, count) in accesses.OrderBy(kv => kv.Key))
            {
                if (functions.TryGetValue(address, out var f) && !f.CapabilityListRead && f.Capabilities.Count == 0 && f.Responded)
                {
                    result.NotJudged.Add(Inv($"{address} ({count} accesses)"));
                }
            }

            // Some checks report the earlier row that showed the problem: list findings in row order.
            var ordered = result.Findings.OrderBy(f => f.Row).ToList();
            result.Findings.Clear();
            result.Findings.AddRange(ordered);
            return result;
        }

        private void Config(TraceRecord record, RowRef at)
        {
            if (!Decode(record, out var address, out int register))
            {
                return;
            }

            int width = record.Width ?? 0;
            bool write = record.Op == TraceOp.Write;
            if (width is not (1 or 2 or 4) || (register & 3) + width > 4 || record.Value is not ulong value)
            {
                return;
            }

            accesses[address] = accesses.GetValueOrDefault(address) + 1;
            var function = Function(address);
            if (!write)
            {
                function.Read(register, width, value);
                BelowEmptySlot(address, width, value, at);
            }

            if (PortOf(function) is { } port)
            {
                if (write)
                {
                    PortWrite(port, register, width, value, at);
                }
                else
                {
                    PortRead(port, register, width, value, at);
                }
            }

            if (write)
            {
                function.Write(register, width, value);
            }
        }

        private bool Decode(TraceRecord record, out FunctionAddress address, out int register)
        {
            address = default;
            register = 0;
            if (record.AddressKind == TraceAddressKind.Configuration)
            {
                var c = record.Configuration;
                address = new FunctionAddress(c.Segment, c.Bus, c.Devfn);
                register = c.Register;
                return true;
            }

            if (spec is null)
            {
                throw new InputException(header.Source, record.Line, header.Columns.Address, Inv(
                    $"row {record.Row}: found ECAM address 0x{record.Address:x}, but the trace has no '# topology:' lines to say where ECAM windows are; expected a topology header or configuration addresses"));
            }

            foreach (var rc in spec.RootComplexes)
            {
                if (record.Address >= rc.EcamBase && record.Address - rc.EcamBase < rc.EcamSize)
                {
                    ulong offset = record.Address - rc.EcamBase;
                    address = new FunctionAddress(rc.Segment, (byte)(rc.StartBus + (int)(offset >> 20)), (byte)(offset >> 12));
                    register = (int)(offset & 0xFFF);
                    return true;
                }
            }

            throw new InputException(header.Source, record.Line, header.Columns.Address, Inv(
                $"row {record.Row}: found ECAM address 0x{record.Address:x}, which no root complex window of the topology header decodes"));
        }

        private LintedPort? PortOf(RecordedFunction function)
        {
            if (ports.TryGetValue(function.Address, out var port))
            {
                if (function.Capability(RecordedFunction.PciExpressId) == port.Cap)
                {
                    return port;
                }

                ports.Remove(function.Address);
            }

            if (function.Capability(RecordedFunction.PciExpressId) is int cap && function.PortType is 4 or 6)
            {
                port = new LintedPort(function, cap);
                ports[function.Address] = port;
                return port;
            }

            return null;
        }

        /// <summary>The value of the register at <paramref name="at"/> of <paramref name="size"/> bytes if the access covered all of it.</summary>
        private static ushort? Covered(int register, int width, ulong value, int at, int size)
        {
            if (at < register || at + size > register + width)
            {
                return null;
            }

            return (ushort)((value >> (8 * (at - register))) & ((1UL << (8 * size)) - 1));
        }

        private void PortRead(LintedPort port, int register, int width, ulong value, RowRef at)
        {
            int c = port.Cap;
            if (register <= c + 0x14 && register + width >= c + 0x18 || register <= c + 0x0C && register + width >= c + 0x10)
            {
                Capabilities(port, at);
            }

            if (Covered(register, width, value, c + 0x12, 2) is ushort link)
            {
                LinkStatusRead(port, link, at);
            }

            if (Covered(register, width, value, c + 0x18, 2) is ushort control)
            {
                ControlRead(port, control, at);
            }

            if (Covered(register, width, value, c + 0x1A, 2) is ushort status)
            {
                StatusRead(port, status, at);
            }
        }

        private void PortWrite(LintedPort port, int register, int width, ulong value, RowRef at)
        {
            int dword = port.Cap + 0x18;
            if (register >> 2 != dword >> 2 || (dword & 3) != 0)
            {
                return;
            }

            int shift = 8 * (register & 3);
            uint lanes = (uint)(((1UL << (8 * width)) - 1) << shift);
            uint data = (uint)(value << shift) & lanes;
            bool control = (lanes & 0xFFFF) != 0;
            bool status = (lanes & 0xFFFF_0000) != 0;
            ushort? controlBefore = port.Control;
            ushort pendingBefore = port.KnownPending;
            ushort written = (ushort)(((controlBefore ?? 0) & ~lanes) | (data & 0xFFFF));
            if (status)
            {
                ushort ones = (ushort)((data >> 16) & LintedPort.Events);
                StatusWrite(port, ones, at, control);
            }

            if (control)
            {
                ControlWrite(port, written, at);
                cause = new Cause(at, CauseKind.SlotControlWrite, port.Address, written, pendingBefore, controlBefore);
            }
            else
            {
                cause = new Cause(at, CauseKind.SlotStatusWrite, port.Address, 0, pendingBefore, controlBefore);
            }
        }

        private void StatusWrite(LintedPort port, ushort ones, RowRef at, bool alsoControl)
        {
            if (port.Status is ushort before && port.StatusResetEpoch == resetEpoch && (ones & before) != 0)
            {
                port.PendingClear = (at, (ushort)(ones & before & ~port.OnesWrittenSinceStatusRead), ones, before, hotplugEpoch);
            }

            port.OnesWrittenSinceStatusRead |= ones;
            if ((ones & LintedPort.Dllsc) != 0)
            {
                port.DllscSinceLinkRead = true;

                // Cleared before a read showed it: whether the link change was reported cannot be known.
                port.PendingLinkChange = null;
            }

            if (!alsoControl)
            {
                port.PendingStatusOnly = (at, port.Control, port.Status is ushort s && !port.CommandSinceStatusRead ? (s & LintedPort.Cc) != 0 : null);
            }
        }

        private void ControlWrite(LintedPort port, ushort written, RowRef at)
        {
            if (port.PendingCommand is { Completed: false, ClearReads: > 0 } command)
            {
                Find(command.Row, HotplugRule.Nccs, port, Inv(
                    $"the Slot Control write here is a command on a port with Command Completed support (NCCS=0), but {command.ClearReads} Slot Status read(s) after it showed CC clear and CC never set before the next command at row {at.Row}"));
            }

            if (port.NoCommandCompleted == false && port.HotPlugCapable == true)
            {
                port.PendingCommand = (at, 0, false);
            }

            port.PendingEnables = (at, written);
            port.PendingStatusOnly = null;
            port.Control = written;
            port.CommandSinceStatusRead = true;
        }

        private void ControlRead(LintedPort port, ushort value, RowRef at)
        {
            if (port.PendingEnables is { } pending)
            {
                port.PendingEnables = null;
                EnablesStuck(port, pending.Row, pending.Written, value, at);
            }

            if (port.PendingStatusOnly is { ControlBefore: ushort before } statusOnly && before != value)
            {
                Find(at, HotplugRule.StatusWrite, port, Inv(
                    $"Slot Control read 0x{value:x4}, but it was 0x{before:x4} before the Slot Status write at row {statusOnly.Row.Row}, which had no byte enables in Slot Control"));
                port.PendingStatusOnly = statusOnly with { ControlBefore = null };
            }

            if (port.SlotImplemented == false && value != 0 && port.Reported.Add("noslot-control"))
            {
                Find(at, HotplugRule.NoSlot, port, Inv($"no slot implemented (PCIe Capabilities bit 8 clear), yet Slot Control reads 0x{value:x4}"));
            }

            port.Control = value;
        }

        /// <summary>Enables written but read back clear although the capability that makes them writable is advertised.</summary>
        private void EnablesStuck(LintedPort port, RowRef writeRow, ushort written, ushort read, RowRef at)
        {
            int lost = written & ~read;
            uint? sltcap = port.SlotCapabilities;
            if ((lost & 0x1000) != 0 && port.LinkActiveReporting == true && port.SlotImplemented == true)
            {
                Find(at, HotplugRule.Dlllarc, port, Inv(
                    $"DLLSCE written 1 at row {writeRow.Row} (Slot Control 0x{written:x4}) reads back 0 (0x{read:x4}) although Link Capabilities 0x{port.LinkCapabilities:x8} reports DLL Link Active Reporting: DLLSC events cannot be enabled"));
            }

            if ((lost & 0x10) != 0 && port.NoCommandCompleted == false && port.HotPlugCapable == true)
            {
                Find(at, HotplugRule.Nccs, port, Inv(
                    $"CCIE written 1 at row {writeRow.Row} reads back 0 (0x{read:x4}) although Slot Capabilities 0x{sltcap:x8} has NCCS=0 (Command Completed supported)"));
            }

            var gates = new List<string>();
            if ((lost & 0x20) != 0 && port.HotPlugCapable == true)
            {
                gates.Add("HPIE (HPC set)");
            }

            if ((lost & 0x8) != 0 && port.HotPlugCapable == true)
            {
                gates.Add("PDCE (HPC set)");
            }

            if ((lost & 0x1) != 0 && sltcap is uint a && (a & 0x1) != 0)
            {
                gates.Add("ABPE (Attention Button Present)");
            }

            if ((lost & 0x4) != 0 && sltcap is uint m && (m & 0x4) != 0)
            {
                gates.Add("MRLSCE (MRL Sensor Present)");
            }

            if (gates.Count > 0)
            {
                Find(at, HotplugRule.Edge, port, Inv(
                    $"{string.Join(", ", gates)} written 1 at row {writeRow.Row} (0x{written:x4}) reads back 0 (0x{read:x4}): the §6.7.3.4 condition can never hold for that event"));
            }
        }

        private void StatusRead(LintedPort port, ushort value, RowRef at)
        {
            bool sameReset = port.Status is not null && port.StatusResetEpoch == resetEpoch;
            if (port.PendingClear is { } clear)
            {
                port.PendingClear = null;
                int stuck = clear.Bits & value;
                if (port.CommandSinceStatusRead)
                {
                    stuck &= ~LintedPort.Cc;
                }

                if (stuck != 0 && clear.HotplugEpoch == hotplugEpoch && port.StatusResetEpoch == resetEpoch)
                {
                    Find(at, HotplugRule.Rw1c, port, Inv(
                        $"Slot Status read 0x{value:x4}: the write of 0x{clear.Written:x4} at row {clear.Row.Row} (after it read 0x{clear.Before:x4}) did not clear {Bits(stuck)}"));
                }
            }

            if (sameReset && port.Status is ushort before)
            {
                int cleared = before & ~value & LintedPort.Events & ~port.OnesWrittenSinceStatusRead;
                if (cleared != 0)
                {
                    Find(at, HotplugRule.Rw1c, port, Inv(
                        $"Slot Status 0x{before:x4} at row {port.StatusRow.Row} -> 0x{value:x4}: {Bits(cleared)} cleared with no 1 written"));
                }

                if (((before ^ value) & LintedPort.Pds) != 0 && (value & LintedPort.Pdc) == 0 && (port.OnesWrittenSinceStatusRead & LintedPort.Pdc) == 0)
                {
                    Find(at, HotplugRule.Pds, port, Inv(
                        $"Presence Detect State {(before >> 6) & 1} at row {port.StatusRow.Row} -> {(value >> 6) & 1} here (Slot Status 0x{value:x4}) with no Presence Detect Changed set, and none cleared in between"));
                }
            }

            if ((value & LintedPort.Dllsc) != 0)
            {
                port.DllscSinceLinkRead = true;
            }

            if (port.PendingLinkChange is { } change)
            {
                port.PendingLinkChange = null;
                if ((value & LintedPort.Dllsc) == 0)
                {
                    Find(at, HotplugRule.Dlllarc, port, Inv(
                        $"DLL Link Active changed between the Link Status reads at rows {change.From.Row} and {change.To.Row} (Link Capabilities 0x{port.LinkCapabilities:x8} reports DLL Link Active Reporting), but Slot Status reads 0x{value:x4}: no DLLSC, and none cleared since"));
                }
            }

            if (port.PendingLinkWithoutPresence is { } linkUp)
            {
                port.PendingLinkWithoutPresence = null;
                if ((value & LintedPort.Pds) == 0 && linkUp.HotplugEpoch == hotplugEpoch)
                {
                    Find(linkUp.Row, HotplugRule.Dllla, port, Inv(
                        $"Link Status 0x{linkUp.LinkStatus:x4} has DLL Link Active while Slot Status reads an empty slot before (row {port.StatusRow.Row}) and after (row {at.Row})"));
                }
            }

            if (port.PendingMessageEvent is { } message)
            {
                port.PendingMessageEvent = null;
                ushort control = port.Control ?? 0;
                if (message.HotplugEpoch == hotplugEpoch && port.Control is not null && LintedPort.Enabled(value, control) == 0)
                {
                    Find(message.Message, HotplugRule.Edge, port, Inv(
                        $"a hotplug message after row {message.Cause.Row}, but the next Slot Status read (row {at.Row}) shows 0x{value:x4}: no event enabled by Slot Control 0x{control:x4}"));
                }
            }

            if ((value & LintedPort.Cc) != 0 && port.NoCommandCompleted == true)
            {
                Find(at, HotplugRule.Nccs, port, Inv($"Slot Status 0x{value:x4} has CC although Slot Capabilities 0x{port.SlotCapabilities:x8} has NCCS=1"));
            }

            if (port.PendingCommand is { Completed: false } command)
            {
                port.PendingCommand = (value & LintedPort.Cc) != 0 ? command with { Completed = true } : command with { ClearReads = command.ClearReads + 1 };
            }

            if (port.PendingStatusOnly is { CcBefore: false } statusOnly && (value & LintedPort.Cc) != 0 && !port.CommandSinceStatusRead)
            {
                Find(at, HotplugRule.StatusWrite, port, Inv(
                    $"Slot Status read 0x{value:x4}: CC set by the Slot Status write at row {statusOnly.Row.Row}, which had no byte enables in Slot Control"));
            }

            port.PendingStatusOnly = null;
            if (port.SlotImplemented == false && value != LintedPort.Pds && port.Reported.Add("noslot-status"))
            {
                Find(at, HotplugRule.NoSlot, port, Inv($"no slot implemented (PCIe Capabilities bit 8 clear), yet Slot Status reads 0x{value:x4}, not 0x0040"));
            }

            port.Status = value;
            port.StatusRow = at;
            port.StatusResetEpoch = resetEpoch;
            port.StatusHotplugEpoch = hotplugEpoch;
            port.OnesWrittenSinceStatusRead = 0;
            port.CommandSinceStatusRead = false;
        }

        private void LinkStatusRead(LintedPort port, ushort value, RowRef at)
        {
            bool dllla = (value & LintedPort.Dllla) != 0;
            int width = (value >> 4) & 0x3F;
            if (dllla && (width == 0 || (value & 0x800) != 0))
            {
                Find(at, HotplugRule.LinkUp, port, Inv($"Link Status 0x{value:x4}: DLL Link Active with Negotiated Link Width {width} and Link Training {(value >> 11) & 1}"));
            }

            // The change happened between the two Link Status reads; DLLSC must show in a Slot Status read after it,
            // unless a read or a write between the two link reads already saw it or cleared it.
            if (port.LinkStatus is ushort before && port.LinkResetEpoch == resetEpoch && ((before ^ value) & LintedPort.Dllla) != 0
                && port.LinkActiveReporting == true && port.SlotImplemented == true && !port.DllscSinceLinkRead)
            {
                port.PendingLinkChange = (port.LinkRow, at);
            }

            port.DllscSinceLinkRead = false;

            if (dllla && port.Status is ushort status && (status & LintedPort.Pds) == 0 && port.SlotImplemented == true
                && port.StatusHotplugEpoch == hotplugEpoch)
            {
                port.PendingLinkWithoutPresence = (at, value, hotplugEpoch);
            }

            port.LinkStatus = value;
            port.LinkRow = at;
            port.LinkResetEpoch = resetEpoch;
        }

        /// <summary>HP-DLLLARC: every port with Hot-Plug Capable reports DLL Link Active (checked once both are read).</summary>
        private void Capabilities(LintedPort port, RowRef at)
        {
            if (port.HotPlugCapable == true && port.LinkActiveReporting == false && port.Reported.Add("dlllarc"))
            {
                Find(at, HotplugRule.Dlllarc, port, Inv(
                    $"Slot Capabilities 0x{port.SlotCapabilities:x8} has Hot-Plug Capable, Link Capabilities 0x{port.LinkCapabilities:x8} lacks DLL Link Active Reporting Capable"));
            }
        }

        /// <summary>HP-EMPTY: a read of a function on the secondary bus of a port whose slot last read empty.</summary>
        private void BelowEmptySlot(FunctionAddress address, int width, ulong value, RowRef at)
        {
            ulong ones = (1UL << (8 * width)) - 1;
            if (value == ones || address.Bus == 0)
            {
                return;
            }

            foreach (var port in ports.Values)
            {
                if (port.Address.Segment == address.Segment && port.Function.SecondaryBus == address.Bus && port.SlotImplemented == true
                    && port.Status is ushort status && (status & LintedPort.Pds) == 0 && port.StatusHotplugEpoch == hotplugEpoch)
                {
                    Find(at, HotplugRule.Empty, port, Inv(
                        $"a read of {address} below the slot, which read empty (Slot Status 0x{status:x4} at row {port.StatusRow.Row}), returned 0x{value:x}"));
                }
            }
        }

        private void Message(TraceRecord record, RowRef at)
        {
            result.Messages++;
            if (Attribute(record) is not { } port)
            {
                return;
            }

            result.MessagesAttributed++;
            int count = messagesOfCause.GetValueOrDefault(port.Address) + 1;
            messagesOfCause[port.Address] = count;
            bool slotCause = cause.Port == port.Address && cause.Kind is CauseKind.SlotControlWrite or CauseKind.SlotStatusWrite;
            if (cause.Kind != CauseKind.Hotplug && !slotCause)
            {
                // A port's vector is shared by hotplug, PME, AER and bandwidth notification: only messages a slot event caused are judged.
                return;
            }

            result.MessagesJudged++;
            if (count > 1)
            {
                Find(at, HotplugRule.Edge, port, Inv($"message {count} of the step at row {cause.Row.Row}: at most one per rising edge"));
                return;
            }

            ushort pending = cause.Kind == CauseKind.Hotplug ? port.KnownPending : cause.PendingBefore;
            ushort? controlBefore = cause.Kind == CauseKind.Hotplug ? port.Control : cause.ControlBefore;
            bool conditionBefore = controlBefore is ushort cb && (cb & LintedPort.Hpie) != 0 && LintedPort.Enabled(pending, cb) != 0 && MsiEnabled(port.Function) != false;
            switch (cause.Kind)
            {
                case CauseKind.SlotStatusWrite:
                    Find(at, HotplugRule.Edge, port, Inv($"a message raised by the Slot Status write at row {cause.Row.Row} (clearing events never raises one)"));
                    return;
                case CauseKind.SlotControlWrite:
                {
                    ushort control = cause.ControlWritten;
                    if ((control & LintedPort.Hpie) == 0)
                    {
                        Find(at, HotplugRule.NoHpie, port, Inv($"a message raised by the Slot Control write 0x{control:x4} at row {cause.Row.Row}, which leaves HPIE clear"));
                        return;
                    }

                    ushort afterEvents = (ushort)(pending | (port.NoCommandCompleted == false ? LintedPort.Cc : 0));
                    if (LintedPort.Enabled(afterEvents, control) == 0)
                    {
                        Find(at, HotplugRule.Edge, port, Inv($"a message raised by the Slot Control write 0x{control:x4} at row {cause.Row.Row} with no enabled event (known pending events 0x{pending:x4})"));
                    }
                    else if (conditionBefore)
                    {
                        Find(at, HotplugRule.Edge, port, Inv($"a message raised by the Slot Control write at row {cause.Row.Row} while the condition was already true (Slot Control 0x{controlBefore:x4}, pending events 0x{pending:x4} not cleared since row {port.StatusRow.Row})"));
                    }

                    return;
                }

                default:
                    if (port.Control is ushort now && (now & LintedPort.Hpie) == 0)
                    {
                        Find(at, HotplugRule.NoHpie, port, Inv($"a hotplug message after row {cause.Row.Row} while Slot Control is 0x{now:x4} (HPIE clear)"));
                        return;
                    }

                    if (conditionBefore)
                    {
                        Find(at, HotplugRule.Edge, port, Inv($"a hotplug message after row {cause.Row.Row} while the condition was already true: events 0x{pending:x4} read at row {port.StatusRow.Row} are still pending (Slot Control 0x{controlBefore:x4})"));
                    }

                    port.PendingMessageEvent = (at, cause.Row, hotplugEpoch);
                    return;
            }
        }

        /// <summary>The port that sent an msi row: by its <c>device</c> column (requester ID or ITS DeviceID), else by the programmed message.</summary>
        private LintedPort? Attribute(TraceRecord record)
        {
            var candidates = new List<RecordedFunction>();
            if (record.DeviceValue is ulong device)
            {
                bool its = spec?.GicMsi?.Mode == GicMsiMode.Its;
                ushort rid = (ushort)device;
                candidates.AddRange(functions.Values.Where(f => f.Address.RequesterId == rid && (!its || f.Address.Segment == (ushort)(device >> 16))));
            }
            else
            {
                uint data = (uint)(record.Value ?? 0);
                candidates.AddRange(functions.Values.Where(f => Programs(f, record.Address, data)));
            }

            if (candidates.Count != 1)
            {
                return null;
            }

            return PortOf(candidates[0]);
        }

        /// <summary>Whether the function's MSI capability or one of its MSI-X table entries holds this message (PCIe Base Spec r6.0 §7.7.1, §7.7.2).</summary>
        private bool Programs(RecordedFunction f, ulong address, uint data)
        {
            if (f.Capability(RecordedFunction.MsiId) is int msi && f.Get(msi + 2, 2) is uint control)
            {
                bool wide = (control & 0x80) != 0;
                ulong low = f.Get(msi + 4, 4) ?? 0;
                ulong high = wide ? f.Get(msi + 8, 4) ?? 0 : 0;
                int vectors = 1 << (int)((control >> 4) & 7);
                if (((high << 32) | low) == address && f.Get(msi + (wide ? 0xC : 0x8), 2) is uint d && (data & ~(uint)(vectors - 1)) == d)
                {
                    return true;
                }
            }

            if (f.Capability(RecordedFunction.MsixId) is int msix && f.Get(msix + 2, 2) is uint msixControl && f.Get(msix + 4, 4) is uint table
                && Bar(f, (int)(table & 7)) is ulong bar)
            {
                ulong start = bar + (table & ~7u);
                ulong end = start + (ulong)((msixControl & 0x7FF) + 1) * 16;
                foreach (var (entry, dwords) in msixEntries)
                {
                    if (entry >= start && entry < end && ((ulong)dwords[1] << 32 | dwords[0]) == address && dwords[2] == data)
                    {
                        return true;
                    }
                }
            }

            return false;
        }

        /// <summary>A memory BAR's base as last written (§7.5.1.2.1), or null.</summary>
        private static ulong? Bar(RecordedFunction f, int index)
        {
            if (index > 5 || f.Get(0x10 + (4 * index), 4) is not uint low || (low & 1) != 0)
            {
                return null;
            }

            ulong high = ((low >> 1) & 3) == 2 && index < 5 ? f.Get(0x14 + (4 * index), 4) ?? 0 : 0;
            return ((high << 32) | low) & ~0xFUL;
        }

        /// <summary>MSI Enable or MSI-X Enable as last known; null when the function has neither capability known.</summary>
        private static bool? MsiEnabled(RecordedFunction f)
        {
            if (f.Capability(RecordedFunction.MsiId) is int msi && f.Get(msi + 2, 2) is uint control && (control & 1) != 0)
            {
                return true;
            }

            if (f.Capability(RecordedFunction.MsixId) is int msix && f.Get(msix + 2, 2) is uint msixControl && (msixControl & 0x8000) != 0)
            {
                return true;
            }

            return f.Capability(RecordedFunction.MsiId) is null && f.Capability(RecordedFunction.MsixId) is null ? null : false;
        }

        private void MsixWrite(ulong address, int width, ulong value)
        {
            for (int k = 0; k < width / 4; k++)
            {
                ulong at = address + (ulong)(4 * k);
                ulong entry = at & ~0xFUL;
                if (!msixEntries.TryGetValue(entry, out var dwords))
                {
                    msixEntries[entry] = dwords = new uint[4];
                }

                dwords[(int)(at >> 2) & 3] = (uint)(value >> (32 * k));
            }
        }

        private static void ForgetState(LintedPort port)
        {
            port.Status = null;
            port.Control = null;
            port.LinkStatus = null;
            port.OnesWrittenSinceStatusRead = 0;
            port.PendingClear = null;
            port.PendingEnables = null;
            port.PendingCommand = null;
            port.PendingStatusOnly = null;
            port.PendingLinkChange = null;
            port.PendingLinkWithoutPresence = null;
            port.PendingMessageEvent = null;
        }

        private RecordedFunction Function(FunctionAddress address)
        {
            if (!functions.TryGetValue(address, out var function))
            {
                functions[address] = function = new RecordedFunction(address);
            }

            return function;
        }

        private void Find(RowRef at, HotplugRule rule, LintedPort port, string evidence) =>
            result.Findings.Add(new LintFinding(at.Row, at.Line, at.Seq, rule, port.Address, evidence));

        /// <summary>Slot Status event bits by name.</summary>
        private static string Bits(int bits)
        {
            var names = new List<string>();
            string[] labels = ["ABP", "PFD", "MRLSC", "PDC", "CC"];
            for (int i = 0; i < labels.Length; i++)
            {
                if ((bits & (1 << i)) != 0)
                {
                    names.Add(labels[i]);
                }
            }

            if ((bits & LintedPort.Dllsc) != 0)
            {
                names.Add("DLLSC");
            }

            return Inv($"{string.Join("|", names)} (0x{bits:x4})");
        }
    }
}
