using System.Globalization;
using PcieSim.AddressDecode;
using PcieSim.ConfigSpace;
using PcieSim.Enumeration;
using PcieSim.Functions;
using PcieSim.Replay;
using PcieSim.Snapshot;
using PcieSim.Topology;
using PcieSim.Topology.Language;
using static PcieSim.Conformance.Reliability.PropertyCheck;

namespace PcieSim.Conformance.Reliability;

/// <summary>Which invariants a <see cref="ModelRun"/> checks after every record (it always checks that nothing but a refusal throws).</summary>
[Flags]
internal enum Invariants
{
    None = 0,

    /// <summary>RO, HwInit and reserved bits (fields not driven by the model, and bits no field covers) keep their reset value.</summary>
    ReadOnlyBits = 1,

    /// <summary>An RW1C bit goes from 1 to 0 only where a completed write wrote 1 to it (or a reset).</summary>
    Rw1c = 2,

    /// <summary>Nothing answers for a function that does not exist: the read returns all-ones of its width.</summary>
    AllOnes = 4,

    /// <summary>A write changes only its byte lanes of its own DWORD (named side effects aside); reads change nothing.</summary>
    ByteLanes = 8,

    /// <summary>A refused record (hot-plug, raise) changes nothing.</summary>
    RefusalChangesNothing = 16,

    /// <summary>
    /// After the prefix (a complete enumeration trace) and every later record, <see cref="EnumerationInvariants"/>
    /// finds nothing; later config writes never touch BARs, bus numbers or windows (0x10-0x2F): they become reads.
    /// </summary>
    Enumeration = 32,
}

/// <summary>
/// Replays a <see cref="ModelCase"/> through a <see cref="ReplaySession"/> (the same path as <c>pciesim replay</c>),
/// record by record, checking the chosen <see cref="Invariants"/> around each one. Returns the snapshot text
/// (outcomes and refusals), so two runs of one case can be compared byte for byte.
/// </summary>
internal sealed class ModelRun
{
    private static readonly Dictionary<ConfigSpaceLayout, uint[]> FixedMasks = new(ReferenceEqualityComparer.Instance);
    private static readonly Dictionary<ConfigSpaceLayout, int[]> Lively = new(ReferenceEqualityComparer.Instance);

    private readonly PcieModel model;
    private readonly ReplaySession session;
    private readonly PcieFunction[] functions;
    private readonly Invariants invariants;
    private readonly StringWriter text = new(CultureInfo.InvariantCulture) { NewLine = "\n" };
    private readonly SnapshotWriter writer;
    private int row;
    private bool afterPrefix;

    private ModelRun(ModelCase c, Invariants invariants)
    {
        var spec = TopologyParser.Parse(c.Topology.Flags(), "generated");
        model = new PcieModel(spec, new ModelOptions { Profile = c.Profile });
        session = new ReplaySession(model, "generated", interruptComplete: false);
        session.UseColumns(new TraceColumns(1, 2, 3, 4, 5, 6, 7, 8));
        functions = [.. model.Functions];
        this.invariants = invariants;
        writer = new SnapshotWriter(text);
        writer.WriteHeader("generated", c.Profile, model, session.InitialViolations);
    }

    /// <summary>Runs the case; throws <see cref="PropertyViolation"/> (or whatever escaped the model) on failure.</summary>
    /// <param name="prefix">Records replayed before the steps (renumbered), e.g. a guest's enumeration trace.</param>
    public static string Execute(ModelCase c, Invariants invariants, IReadOnlyList<TraceRecord>? prefix = null)
    {
        var run = new ModelRun(c, invariants);
        if (invariants.HasFlag(Invariants.ReadOnlyBits))
        {
            run.CheckReadOnlyBits("reset state");
        }

        foreach (var record in prefix ?? [])
        {
            run.Replay(run.Record(record.Op, record.AddressKind, record.Address, record.Configuration, record.Width, record.Value, record.Port, record.Device));
        }

        run.afterPrefix = true;
        run.CheckEnumeration("the enumeration trace");
        foreach (var step in c.Steps)
        {
            foreach (var record in run.Resolve(step))
            {
                run.Replay(record);
            }
        }

        foreach (var outcome in run.session.Finish())
        {
            run.writer.WriteStep(outcome);
        }

        run.writer.WriteSummary(run.session);
        return run.text.ToString();
    }

    private void Replay(TraceRecord record)
    {
        var before = Capture();
        IReadOnlyList<StepOutcome> ready;
        try
        {
            ready = session.Step(record);
        }
        catch (InputException refused) when (record.Op is TraceOp.HotAdd or TraceOp.HotRemove or TraceOp.Raise)
        {
            writer.Flush();
            text.WriteLine(Inv($"#{record.Row} refused: {refused.Describe()}"));
            if (invariants.HasFlag(Invariants.RefusalChangesNothing))
            {
                Require(Capture().SameAs(before, out string difference), () => Inv($"{Describe(record)} was refused ({refused.Message}) but changed {difference}"));
            }

            return;
        }

        foreach (var outcome in ready)
        {
            writer.WriteStep(outcome);
        }

        var after = Capture();
        var outcomeOfRecord = ready.Count > 0 ? ready[^1] : null;
        if (invariants.HasFlag(Invariants.ReadOnlyBits))
        {
            CheckReadOnlyBits(Describe(record));
        }

        if (invariants.HasFlag(Invariants.Rw1c))
        {
            CheckRw1c(record, outcomeOfRecord, before, after);
        }

        if (invariants.HasFlag(Invariants.AllOnes) && outcomeOfRecord is not null)
        {
            CheckAllOnes(record, outcomeOfRecord);
        }

        if (invariants.HasFlag(Invariants.ByteLanes) && outcomeOfRecord is not null)
        {
            CheckByteLanes(record, outcomeOfRecord, before, after);
        }

        if (afterPrefix)
        {
            CheckEnumeration(Describe(record));
        }
    }

    private void CheckEnumeration(string when)
    {
        if (invariants.HasFlag(Invariants.Enumeration))
        {
            var findings = EnumerationInvariants.Check(model);
            Require(findings.Count == 0, () => "after " + when + ": " + string.Join("; ", findings));
        }
    }

    /// <summary>Bits of fields that are RO, HwInit or reserved and not driven by the model, and bits no field covers, per DWORD.</summary>
    private static uint[] FixedMask(ConfigSpaceLayout layout)
    {
        lock (FixedMasks)
        {
            if (FixedMasks.TryGetValue(layout, out uint[]? cached))
            {
                return cached;
            }

            var mask = new uint[ConfigSpaceLayout.DwordCount];
            Array.Fill(mask, uint.MaxValue);
            foreach (var register in layout.Registers)
            {
                int shift = (register.Offset & 3) * 8;
                foreach (var field in register.Fields)
                {
                    if (field.Attribute is RegisterAttribute.RW or RegisterAttribute.RW1C || field.HardwareDriven)
                    {
                        mask[register.Offset >> 2] &= ~(field.Mask << shift);
                    }
                }
            }

            FixedMasks.Add(layout, mask);
            return mask;
        }
    }

    private void CheckReadOnlyBits(string when)
    {
        foreach (var function in functions)
        {
            uint[] mask = FixedMask(function.Layout);
            for (int i = 0; i < ConfigSpaceLayout.DwordCount; i++)
            {
                uint changed = (function.Config.Read(i) ^ function.Layout.ResetDword(i)) & mask[i];
                if (changed != 0)
                {
                    throw new PropertyViolation(Inv($"after {when}: {function.Name} 0x{i * 4:x3} ({function.Layout.DescribeAccess(i * 4, 4)}) read-only bits 0x{changed:x8} differ from reset: 0x{function.Config.Read(i):x8}, reset 0x{function.Layout.ResetDword(i):x8}"));
                }
            }
        }
    }

    private void CheckRw1c(TraceRecord record, StepOutcome? outcome, State before, State after)
    {
        if (record.Op == TraceOp.Reset)
        {
            return;
        }

        var access = outcome?.Access;
        for (int f = 0; f < functions.Length; f++)
        {
            var function = functions[f];
            if (ResetByStep(record, access, function))
            {
                continue;
            }

            for (int i = 0; i < ConfigSpaceLayout.DwordCount; i++)
            {
                uint cleared = before.Dwords[f][i] & ~after.Dwords[f][i] & function.Layout.Rw1cMask[i];
                if (cleared == 0)
                {
                    continue;
                }

                uint allowed = 0;
                if (access is { Completed: true, IsWrite: true } write && ReferenceEquals(write.Function, function) && write.Address.Register >> 2 == i)
                {
                    allowed = Lanes(write) & ((uint)write.Value << ((write.Address.Register & 3) * 8));
                }

                Require((cleared & ~allowed) == 0, () => Inv($"{Describe(record)}: {function.Name} 0x{i * 4:x3} RW1C bits 0x{cleared & ~allowed:x8} cleared without a 1 written to them: 0x{before.Dwords[f][i]:x8} -> 0x{after.Dwords[f][i]:x8}"));
            }
        }
    }

    private void CheckAllOnes(TraceRecord record, StepOutcome outcome)
    {
        if (record.Op == TraceOp.MmioRead && outcome.MmioTarget == "unclaimed")
        {
            Require(outcome.ValueRead == ByteEnables.AllOnes(record.Width ?? 4), () => Inv($"{Describe(record)}: unclaimed MMIO read 0x{outcome.ValueRead:x}, not all-ones"));
        }

        if (record.Op != TraceOp.Read || outcome.Access is not { } access)
        {
            return;
        }

        if (!access.Completed)
        {
            Require(access.Value == ByteEnables.AllOnes(access.Width), () => Inv($"{Describe(record)}: {access.Status} {access.Failure} read 0x{access.Value:x}, not all-ones of width {access.Width}"));
            return;
        }

        var function = access.Function!;
        var rc = access.RootComplex!;
        Require(function is not Endpoint { Port: null }, () => Inv($"{Describe(record)}: unplugged endpoint {function.Name} answered"));
        Require(function is not Endpoint || access.Address.Devfn == 0, () => Inv($"{Describe(record)}: endpoint {function.Name} answered at devfn {access.Address.Devfn:x2} (it implements function 0 only)"));
        if (access.Address.Bus == rc.StartBus)
        {
            bool exists = function switch
            {
                RootPort port => ReferenceEquals(port.RootComplex, rc) && port.Devfn == access.Address.Devfn,
                AmdIommu iommu => ReferenceEquals(iommu.RootComplex, rc) && access.Address.Devfn == 0,
                _ => false,
            };
            Require(exists, () => Inv($"{Describe(record)}: {function.Name} answered on {rc.Name}'s start bus at devfn {access.Address.Devfn:x2}, where no such function sits"));
        }
    }

    private void CheckByteLanes(TraceRecord record, StepOutcome outcome, State before, State after)
    {
        if (record.Op is TraceOp.Read or TraceOp.MmioRead)
        {
            Require(after.SameAs(before, out string difference), () => Inv($"{Describe(record)}: a read changed {difference}"));
            return;
        }

        if (record.Op != TraceOp.Write || outcome.Access is not { } access)
        {
            return;
        }

        if (!access.Completed)
        {
            Require(after.SameAs(before, out string difference), () => Inv($"{Describe(record)}: a {access.Status} write changed {difference}"));
            return;
        }

        var target = access.Function!;
        int index = access.Address.Register >> 2;
        uint lanes = Lanes(access);
        bool flr = target is Endpoint && target.Layout.Hooks[index] == RegisterHook.DeviceControl && ((uint)access.Value << ((access.Address.Register & 3) * 8) & lanes & 0x8000) != 0;
        for (int f = 0; f < functions.Length; f++)
        {
            var function = functions[f];
            for (int i = 0; i < ConfigSpaceLayout.DwordCount; i++)
            {
                uint was = before.Dwords[f][i];
                uint now = after.Dwords[f][i];
                if (was == now || (flr && ReferenceEquals(function, target)))
                {
                    continue;
                }

                uint allowed = ReferenceEquals(function, target) ? SideEffects(target, index, i, lanes) : 0;
                Require(((was ^ now) & ~allowed) == 0, () => Inv($"{Describe(record)} (lanes 0x{lanes:x8} of {target.Name} 0x{index * 4:x3}) changed {function.Name} 0x{i * 4:x3} ({function.Layout.DescribeAccess(i * 4, 4)}) bits 0x{(was ^ now) & ~allowed:x8}: 0x{was:x8} -> 0x{now:x8}"));
            }
        }
    }

    /// <summary>
    /// The bits of DWORD <paramref name="i"/> a write to the lanes <paramref name="lanes"/> of DWORD <paramref name="index"/>
    /// may change: its own lanes, plus the side effects the reference names.
    /// </summary>
    private static uint SideEffects(PcieFunction target, int index, int i, uint lanes)
    {
        uint allowed = i == index ? lanes : 0;
        var hook = target.Layout.Hooks[index];
        if (i == index && target is DownstreamPort { Pcie.CommandCompleted: true } && hook == RegisterHook.SlotControlStatus && (lanes & 0xFFFF) != 0)
        {
            allowed |= 1u << 20; // Slot Status Command Completed, set by a command (§6.7.3.2).
        }

        if (i == index && target is Endpoint && hook == RegisterHook.BaseAddress)
        {
            allowed |= 0xF; // OpenVMM forces the low BAR's attribute nibble on any write (reference 3.2).
        }

        if (i == 0x0C >> 2 && target is Endpoint && hook == RegisterHook.InterruptAndLatency)
        {
            allowed |= 0xFF00; // Byte 0x3E is OpenVMM's latency timer, shown at 0x0D (reference 3.1).
        }

        if (MsiOf(target) is { PerVectorMasking: true } msi && i == msi.PendingOffset >> 2 && hook is RegisterHook.MsiControl or RegisterHook.MsiMessage or RegisterHook.Command)
        {
            allowed = uint.MaxValue; // Latched vectors delivered when MSI becomes deliverable: Pending Bits follow.
        }

        return allowed;
    }

    private static PcieSim.ConfigSpace.Capabilities.MsiCapability? MsiOf(PcieFunction function) => function switch
    {
        DownstreamPort port => port.Msi,
        Endpoint endpoint => endpoint.Msi,
        AmdIommu iommu => iommu.Msi,
        _ => null,
    };

    /// <summary>A function returned to its reset values by this record: an endpoint hot-added or reset by FLR.</summary>
    private static bool ResetByStep(TraceRecord record, ConfigAccessResult? access, PcieFunction function)
    {
        if (record.Op == TraceOp.HotAdd && function is Endpoint e && string.Equals(e.Name, record.Device, StringComparison.Ordinal))
        {
            return true;
        }

        return access is { Completed: true, IsWrite: true } write && ReferenceEquals(write.Function, function) && function is Endpoint
            && function.Layout.Hooks[write.Address.Register >> 2] == RegisterHook.DeviceControl
            && ((uint)write.Value << ((write.Address.Register & 3) * 8) & Lanes(write) & 0x8000) != 0;
    }

    private static uint Lanes(ConfigAccessResult access) =>
        ByteEnables.TryGet(access.Address.Register, access.Width, out byte enables) == AccessFault.None ? ByteEnables.LaneMask(enables) : 0;

    /// <summary>Everything a record can change that the invariants look at: registers, presence, links, latches.</summary>
    private sealed record State(uint[][] Dwords, string Links, uint[] Latches)
    {
        public bool SameAs(State other, out string difference)
        {
            difference = "";
            if (!string.Equals(Links, other.Links, StringComparison.Ordinal))
            {
                difference = "links: " + other.Links + " -> " + Links;
                return false;
            }

            for (int f = 0; f < Dwords.Length; f++)
            {
                if (Latches[f] != other.Latches[f])
                {
                    difference = Inv($"function {f}'s MSI latch 0x{other.Latches[f]:x} -> 0x{Latches[f]:x}");
                    return false;
                }

                for (int i = 0; i < Dwords[f].Length; i++)
                {
                    if (Dwords[f][i] != other.Dwords[f][i])
                    {
                        difference = Inv($"function {f} DWORD 0x{i * 4:x3}: 0x{other.Dwords[f][i]:x8} -> 0x{Dwords[f][i]:x8}");
                        return false;
                    }
                }
            }

            return true;
        }
    }

    private State Capture()
    {
        var dwords = new uint[functions.Length][];
        var latches = new uint[functions.Length];
        for (int f = 0; f < functions.Length; f++)
        {
            dwords[f] = functions[f].Config.Save();
            latches[f] = functions[f].MsiLatch;
        }

        string links = string.Join(' ', model.Ports.Select(p => p.Name + (p.Presence ? "+" : "-") + (p.Child?.UpstreamFunction.Name ?? "")))
            + " | " + string.Join(' ', model.Endpoints.Select(e => e.Name + "@" + (e.Port?.Name ?? "pool")));
        return new State(dwords, links, latches);
    }

    /// <summary>Turns a step into trace records against the model as it is now.</summary>
    private List<TraceRecord> Resolve(Step step)
    {
        var records = new List<TraceRecord>();
        switch (step)
        {
            case ConfigStep c:
                records.Add(ResolveConfig(c));
                break;
            case EnumerateStep:
                records.AddRange(GuestEnumeration.BusNumbers(model).Select(w => Record(w.Op, w.AddressKind, 0, w.Configuration, w.Width, w.Value)));
                break;
            case HotAddStep h:
                var emptySlots = model.Ports.Where(p => p.HotplugCapable && p.Child is null).ToList();
                var pool = model.Endpoints.Where(e => e.Port is null).ToList();
                records.Add(h.Valid && emptySlots.Count > 0 && pool.Count > 0
                    ? Record(TraceOp.HotAdd, port: emptySlots[h.Port % emptySlots.Count].Name, device: pool[h.Endpoint % pool.Count].Name)
                    : Record(TraceOp.HotAdd, port: PortName(h.Port), device: EndpointName(h.Endpoint)));
                break;
            case HotRemoveStep h:
                var occupied = model.Ports.Where(p => p.HotplugCapable && p.Child is Endpoint).ToList();
                string port = h.Valid && occupied.Count > 0 ? occupied[h.Port % occupied.Count].Name : PortName(h.Port);
                string? device = !h.Named ? null : model.FindPort(port)?.Child is Endpoint inside && (h.Valid || h.Other % 2 == 0) ? inside.Name : EndpointName(h.Other);
                records.Add(Record(TraceOp.HotRemove, port: port, device: device));
                break;
            case ResetStep:
                records.Add(Record(TraceOp.Reset));
                break;
            case RaiseStep r:
                var raisers = model.Endpoints.Where(e => e.Port is not null && PcieModel.RaiseTarget(e).Vectors > 0).ToList();
                records.Add(r.Valid && raisers.Count > 0
                    ? Record(TraceOp.Raise, value: (ulong)(r.Vector % PcieModel.RaiseTarget(raisers[r.Endpoint % raisers.Count]).Vectors), device: raisers[r.Endpoint % raisers.Count].Name)
                    : Record(TraceOp.Raise, value: (ulong)r.Vector, device: EndpointName(r.Endpoint)));
                break;
            case MmioStep m:
                ulong address = model.Endpoints.Count == 0 ? (ulong)m.Offset : model.Endpoints[m.Endpoint % model.Endpoints.Count].BarBase(m.Bar) + (ulong)m.Offset;
                records.Add(Record(m.Write ? TraceOp.MmioWrite : TraceOp.MmioRead, TraceAddressKind.Numeric, address, width: m.Width, value: m.Write ? m.Value : null));
                break;
        }

        return records;
    }

    private TraceRecord ResolveConfig(ConfigStep c)
    {
        ushort segment;
        byte bus;
        byte devfn;
        RootComplex rc;
        PcieFunction? function = null;
        if (c.Raw)
        {
            rc = model.RootComplexes[c.RootComplex % model.RootComplexes.Count];
            segment = rc.Segment;
            bus = (byte)(rc.StartBus + c.Bus);
            devfn = (byte)c.Devfn;
        }
        else
        {
            function = functions[c.Function % functions.Length];
            (rc, bus, devfn) = AddressOf(function);
            segment = rc.Segment;
        }

        int width = c.Width;
        int register = c.Register;
        if (c.RegisterPick >= 0 && function is not null)
        {
            var layout = function.Layout;
            var lively = LivelyDwords(layout);
            register = c.RegisterPick % 3 == 0 && lively.Length > 0
                ? (lively[c.RegisterPick / 3 % lively.Length] * 4) + (c.Register & 3)
                : layout.Registers[c.RegisterPick % layout.Registers.Count].Offset;
        }

        register = c.Lane >= 0 ? (register & ~3) | c.Lane : width is 2 or 4 ? register & ~(width - 1) : register;
        bool write = c.Write && !(invariants.HasFlag(Invariants.Enumeration) && register >> 2 is >= 0x10 >> 2 and <= 0x2F >> 2);
        ulong? value = write ? c.Value & ByteEnables.AllOnes(width) : null;
        var op = write ? TraceOp.Write : TraceOp.Read;
        if (c.Ecam && bus >= rc.StartBus && bus <= rc.EndBus)
        {
            return Record(op, TraceAddressKind.Numeric, rc.Window.AddressOf(bus, devfn, register), width: width, value: value);
        }

        return Record(op, TraceAddressKind.Configuration, 0, new ConfigurationAddress(segment, bus, devfn, (ushort)register), width, value);
    }

    /// <summary>DWORDs with a side-effect hook or RW1C bits, where most rules live.</summary>
    private static int[] LivelyDwords(ConfigSpaceLayout layout)
    {
        lock (Lively)
        {
            if (!Lively.TryGetValue(layout, out int[]? dwords))
            {
                dwords = [.. Enumerable.Range(0, ConfigSpaceLayout.DwordCount).Where(i => layout.Hooks[i] != RegisterHook.None || layout.Rw1cMask[i] != 0)];
                Lively.Add(layout, dwords);
            }

            return dwords;
        }
    }

    /// <summary>Where a function sits now: its root complex, the bus its parent's secondary bus number says, and its devfn.</summary>
    private (RootComplex Rc, byte Bus, byte Devfn) AddressOf(PcieFunction function)
    {
        var rc = RootComplexOf(function) ?? model.RootComplexes[0];
        return function switch
        {
            RootPort port => (rc, rc.StartBus, port.Devfn),
            AmdIommu => (rc, rc.StartBus, 0),
            UpstreamSwitchPort up => (rc, up.Switch.ParentPort.SecondaryBus, 0),
            DownstreamSwitchPort down => (rc, down.Switch.Upstream.SecondaryBus, down.Devfn),
            Endpoint { Port: { } port } => (rc, port.SecondaryBus, 0),
            _ => (rc, (byte)(rc.StartBus + 1), 0),
        };
    }

    private RootComplex? RootComplexOf(PcieFunction function)
    {
        for (var f = function; f is not null; f = RoutePath.Upstream(f))
        {
            switch (f)
            {
                case RootPort rp:
                    return rp.RootComplex;
                case AmdIommu iommu:
                    return iommu.RootComplex;
            }
        }

        return null;
    }

    private TraceRecord Record(TraceOp op, TraceAddressKind kind = TraceAddressKind.None, ulong address = 0, ConfigurationAddress configuration = default, int? width = null, ulong? value = null, string? port = null, string? device = null)
    {
        row++;
        return new TraceRecord(row, row + 1, row, op, kind, address, configuration, width, value, port, device, null, null);
    }

    private string PortName(int pick) => model.Ports.Count == 0 ? "no-port" : model.Ports[pick % model.Ports.Count].Name;

    private string EndpointName(int pick) => model.Endpoints.Count == 0 ? "no-endpoint" : model.Endpoints[pick % model.Endpoints.Count].Name;

    private static string Describe(TraceRecord record) => Inv($"record #{record.Row} {record.Op} {record.Configuration} 0x{record.Address:x} w{record.Width} v0x{record.Value ?? 0:x} {record.Port} {record.Device}");

    private static string Inv(FormattableString value) => value.ToString(CultureInfo.InvariantCulture);
}
