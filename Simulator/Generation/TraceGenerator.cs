using PcieSim.AddressDecode;
using PcieSim.ConfigSpace.Registers;
using PcieSim.Functions;
using PcieSim.Interrupts;
using PcieSim.Replay;
using PcieSim.Topology;
using PcieSim.Topology.Language;

namespace PcieSim.Generation;

/// <summary>
/// Generates large, realistic traces for benchmarks and tests: a guest's first enumeration (Linux style depth-first
/// scan through ECAM, bus-number programming per PCI-to-PCI Bridge r1.2 §3.2.5.3, capability walks, BAR sizing),
/// the pciehp probe of every hot-plug slot (PCIe Base Spec r6.0 §6.7: stale events cleared, MSI programmed, HPIE,
/// PDCE, DLLSCE and CCIE set), MSI and MSI-X set-up of endpoints, then a steady state of register polls, Command
/// writes, BAR re-sizing, interrupts, probes of empty devfns, hot-plug storms with the interrupt routine's
/// read/clear loop and the scan of each new device, and the occasional VM reset followed by a new enumeration.
/// </summary>
/// <remarks>
/// The generator drives its own model (OpenVMM profile) and records what the model answers: every read carries
/// the model's value and every accepted message its <c>msi</c> row, so replaying the trace under the OpenVMM profile
/// compares every value and finds no mismatch. The same topology, record count and seed always give the same trace
/// (<see cref="SplitMix64"/>, no other source of randomness).
/// </remarks>
public sealed class TraceGenerator
{
    private const ushort CommandMemoryBus = (ushort)(CommandRegister.MemorySpaceEnable | CommandRegister.BusMasterEnable);

    /// <summary>Where BARs are placed: above 4 GiB, as a 64-bit prefetchable window.</summary>
    private const ulong MmioBase = 0x80_0000_0000;

    private readonly PcieModel model;
    private readonly ReplaySession session;
    private readonly long target;
    private readonly int messageSlack;
    private readonly List<Located> found = [];
    private readonly List<TraceRecord> buffer = [];
    private readonly List<DownstreamPort> slots = [];
    private SplitMix64 random;
    private long produced;
    private ulong nextMmio = MmioBase;
    private string? note;

    private TraceGenerator(TopologySpec spec, long records, ulong seed)
    {
        model = new PcieModel(spec, new ModelOptions { Profile = BehaviourProfile.OpenVmm });
        session = new ReplaySession(model, "generated", interruptComplete: false);
        target = records;
        random = new SplitMix64(seed);
        int maxVectors = 0;
        foreach (var endpoint in model.Endpoints)
        {
            maxVectors = Math.Max(maxVectors, endpoint.Msix?.Vectors ?? 0);
        }

        // The most messages one record can cause (latched MSI and MSI-X vectors delivered at once, plus a hot-plug
        // message): when fewer records than this remain, only reads (which cause none) are generated, so a step's
        // msi rows are never cut off by the end of the trace.
        messageSlack = 32 + maxVectors + 2;
        foreach (var port in model.Ports)
        {
            if (port.HotplugCapable)
            {
                slots.Add(port);
            }
        }
    }

    /// <summary>The header columns of a generated trace.</summary>
    public static IReadOnlyList<string> Columns { get; } = ["seq", "op", "address", "width", "value", "port", "device", "note"];

    /// <summary>Exactly <paramref name="records"/> records (data rows, <c>msi</c> rows included) for <paramref name="spec"/>.</summary>
    public static IEnumerable<TraceRecord> Generate(TopologySpec spec, long records, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentOutOfRangeException.ThrowIfNegative(records);
        return new TraceGenerator(spec, records, seed).Run();
    }

    private long Remaining => target - produced - buffer.Count;

    private IEnumerable<TraceRecord> Run()
    {
        bool stopped = false;
        bool enumerated = false;
        while (produced < target)
        {
            buffer.Clear();
            if (!stopped)
            {
                try
                {
                    if (!enumerated)
                    {
                        Enumerate();
                        enumerated = true;
                    }
                    else
                    {
                        SteadyStep();
                    }
                }
                catch (OutOfRecords)
                {
                    stopped = true;
                }
            }
            else
            {
                Pad();
            }

            foreach (var record in buffer)
            {
                produced++;
                yield return record;
            }
        }
    }

    /// <summary>The last records, when too few remain for anything that may raise a message: reads only.</summary>
    private void Pad()
    {
        while (Remaining > 0)
        {
            if (found.Count > 0)
            {
                var f = found[(int)random.Below((uint)found.Count)];
                Read(f, HeaderOffsets.VendorId, 4);
            }
            else
            {
                var rc = model.RootComplexes[0];
                Read(rc, rc.StartBus, 0, HeaderOffsets.VendorId, 4);
            }
        }
    }

    // ----- enumeration ------------------------------------------------------------------------------------------

    /// <summary>A guest's first enumeration of every root complex, then the slot and interrupt set-up.</summary>
    private void Enumerate()
    {
        found.Clear();
        note = "enumeration";
        foreach (var rc in model.RootComplexes)
        {
            int next = rc.StartBus;
            Scan(rc, rc.StartBus, onlyDeviceZero: false, ref next);
        }

        note = "pciehp probe and interrupt set-up";
        foreach (var port in slots)
        {
            if (Find(port) is { } located)
            {
                ProbeSlot(located, port);
            }
        }

        foreach (var located in found.ToArray())
        {
            if (located.Function is Endpoint endpoint)
            {
                SetUpInterrupts(located, endpoint);
            }
        }
    }

    /// <summary>Scans <paramref name="bus"/> device by device; returns the highest bus number used below it.</summary>
    /// <param name="onlyDeviceZero">Below a root or switch downstream port only device 0 can exist (Linux <c>only_one_child</c>).</param>
    private int Scan(RootComplex rc, int bus, bool onlyDeviceZero, ref int next)
    {
        for (int device = 0; device < (onlyDeviceZero ? 1 : 32); device++)
        {
            for (int function = 0; function < 8; function++)
            {
                byte devfn = Bdf.Devfn(device, function);
                var id = Access(rc, (byte)bus, devfn, HeaderOffsets.VendorId, 4, isWrite: false, 0);
                if (id.Function is null || (id.Value & 0xFFFF) == 0xFFFF)
                {
                    if (function == 0)
                    {
                        break;
                    }

                    continue;
                }

                var located = new Located(rc, (byte)bus, devfn, id.Function);
                found.Add(located);
                uint header = Read(located, HeaderOffsets.HeaderType, 1);
                Read(located, HeaderOffsets.RevisionId, 4);
                WalkCapabilities(located);
                if ((header & 0x7F) == 1)
                {
                    Bridge(located, ref next);
                }
                else
                {
                    SizeAndAssignBars(located);
                }

                if (function == 0 && (header & 0x80) == 0)
                {
                    break;
                }
            }
        }

        return next;
    }

    /// <summary>Bus numbers of a bridge: secondary the next free bus, subordinate the end bus while scanning, then the highest found.</summary>
    private void Bridge(Located bridge, ref int next)
    {
        Read(bridge, HeaderOffsets.PrimaryBusNumber, 4);
        if (next >= bridge.Rc.EndBus)
        {
            return;
        }

        int secondary = ++next;
        Write(bridge, HeaderOffsets.PrimaryBusNumber, 4, (uint)(bridge.Bus | (secondary << 8) | (bridge.Rc.EndBus << 16)));
        int subordinate = Scan(bridge.Rc, secondary, onlyDeviceZero: bridge.Function is DownstreamPort, ref next);
        Write(bridge, HeaderOffsets.SubordinateBusNumber, 1, (uint)subordinate);
    }

    /// <summary>Reads the capability list the way <c>pci_find_capability</c> walks it.</summary>
    private void WalkCapabilities(Located f)
    {
        uint pointer = Read(f, HeaderOffsets.CapabilitiesPointer, 1) & 0xFC;
        for (int guard = 0; pointer >= 0x40 && guard < 48; guard++)
        {
            uint header = Read(f, (int)pointer, 4);
            pointer = (header >> 8) & 0xFC;
        }

        Read(f, 0x100, 4);
    }

    /// <summary>BAR sizing (write all-ones, read back, restore) of each 64-bit pair, then an address for each and MEM | BME.</summary>
    private void SizeAndAssignBars(Located f)
    {
        if (f.Function is not Endpoint)
        {
            return;
        }

        Write(f, HeaderOffsets.Command, 2, 0);
        for (int bar = 0; bar < 6; bar += 2)
        {
            int low = HeaderOffsets.Bar0 + (bar * 4);
            uint original = Read(f, low, 4);
            Write(f, low, 4, 0xFFFF_FFFF);
            uint sizedLow = Read(f, low, 4);
            Write(f, low, 4, original);
            uint originalHigh = Read(f, low + 4, 4);
            Write(f, low + 4, 4, 0xFFFF_FFFF);
            uint sizedHigh = Read(f, low + 4, 4);
            Write(f, low + 4, 4, originalHigh);
            ulong mask = ((ulong)sizedHigh << 32) | (sizedLow & ~0xFu);
            if (mask == 0)
            {
                continue;
            }

            ulong size = ~mask + 1;
            ulong address = (nextMmio + size - 1) & ~(size - 1);
            nextMmio = address + size;
            Write(f, low, 4, (uint)address);
            Write(f, low + 4, 4, (uint)(address >> 32));
        }

        Write(f, HeaderOffsets.Command, 2, CommandMemoryBus);
    }

    /// <summary>The pciehp probe of one slot: capabilities, stale events cleared, MSI, then the notification enables.</summary>
    private void ProbeSlot(Located f, DownstreamPort port)
    {
        int pcie = port.Pcie.Offset;
        Read(f, pcie + PciExpressOffsets.SlotCapabilities, 4);
        Read(f, pcie + PciExpressOffsets.SlotStatus, 2);
        Write(f, pcie + PciExpressOffsets.SlotStatus, 2, port.Pcie.SlotStatusRw1cMask);
        ProgramMsi(f, port.Msi, (uint)found.IndexOf(f));
        Read(f, pcie + PciExpressOffsets.SlotControl, 2);
        Write(f, pcie + PciExpressOffsets.SlotControl, 2, port.Pcie.SlotControlWriteMask);
        ServiceSlot(f, port);
    }

    /// <summary>MSI (address for the platform, data, enable) or, without MSI, MSI-X through the table in the BAR.</summary>
    private void SetUpInterrupts(Located f, Endpoint endpoint)
    {
        if (endpoint.Msi is { } msi)
        {
            ProgramMsi(f, msi, (uint)found.IndexOf(f));
        }
        else if (endpoint.Msix is { } msix && endpoint.BarSize(msix.Bar) != 0 && endpoint.MemorySpaceEnabled)
        {
            ulong table = endpoint.BarBase(msix.Bar);
            var (address, data) = MessageTarget((uint)found.IndexOf(f));
            for (int vector = 0; vector < Math.Min(msix.Vectors, 4); vector++)
            {
                ulong entry = table + ((ulong)vector * 16);
                Mmio(entry, 4, (uint)address);
                Mmio(entry + 4, 4, (uint)(address >> 32));
                Mmio(entry + 8, 4, data + (uint)vector);
                Mmio(entry + 12, 4, 0);
            }

            Write(f, msix.Offset + 2, 2, 0x8000);
        }
    }

    private void ProgramMsi(Located f, ConfigSpace.Capabilities.MsiCapability msi, uint index)
    {
        var (address, data) = MessageTarget(index);
        Write(f, msi.Offset + 4, 4, (uint)address);
        if (msi.Is64Bit)
        {
            Write(f, msi.Offset + 8, 4, (uint)(address >> 32));
        }

        Write(f, msi.DataOffset, 2, data);
        Write(f, msi.Offset + 2, 2, 1);
    }

    /// <summary>Where the platform wants messages: the ITS translater, the GICv2m doorbell with an SPI, or the x86 window.</summary>
    private (ulong Address, uint Data) MessageTarget(uint index) => model.Spec.GicMsi switch
    {
        { Mode: GicMsiMode.Its } its => (its.TranslaterAddress, 0x20 + (index & 0xFF)),
        { } v2m => (v2m.FrameBase + 0x40, v2m.SpiBase + (index % Math.Max(v2m.SpiCount, 1))),
        null => (0xFEE0_0000, 0x40 + (index & 0x7F)),
    };

    // ----- steady state -----------------------------------------------------------------------------------------

    private void SteadyStep()
    {
        note = null;
        uint dice = random.Below(10_000);
        if (found.Count == 0 || (dice == 0 && random.Chance(1, 20)))
        {
            note = "VM reset";
            Reset();
            Enumerate();
            return;
        }

        // Per step: mostly polls; each storm or BAR re-sizing is tens of records.
        var f = found[(int)random.Below((uint)found.Count)];
        switch (dice)
        {
            case < 8_000:
                Poll(f);
                break;
            case < 8_400:
                if (f.Function is Endpoint)
                {
                    Write(f, HeaderOffsets.Command, 2, CommandMemoryBus);
                }
                else
                {
                    Write(f, HeaderOffsets.MemoryBase, 4, 0xFFF0_0000 & (uint)random.Next());
                }

                break;
            case < 8_450:
                Storm();
                break;
            case < 9_000:
                RaiseSome();
                break;
            case < 9_100:
                if (f.Function is Endpoint)
                {
                    SizeAndAssignBars(f);
                }

                break;
            default:
                // An empty devfn below a port: a scan's all-ones answer.
                Read(f.Rc, f.Bus, (byte)(8 + random.Below(248)), HeaderOffsets.VendorId, 4);
                break;
        }
    }

    /// <summary>A read of a register a driver or the guest's PCI core reads often.</summary>
    private void Poll(Located f)
    {
        switch (random.Below(8))
        {
            case 0:
                Read(f, HeaderOffsets.VendorId, 4);
                break;
            case 1:
                Read(f, HeaderOffsets.Command, 2);
                break;
            case 2:
                Read(f, HeaderOffsets.Status, 2);
                break;
            case 3:
                Read(f, HeaderOffsets.HeaderType, 1);
                break;
            default:
                if (f.Function is DownstreamPort port)
                {
                    int pcie = port.Pcie.Offset;
                    int register = random.Below(3) switch
                    {
                        0 => pcie + PciExpressOffsets.LinkStatus,
                        1 => pcie + PciExpressOffsets.SlotStatus,
                        _ => pcie + PciExpressOffsets.SlotControl,
                    };
                    Read(f, register, 2);
                }
                else
                {
                    Read(f, HeaderOffsets.Bar0 + (4 * (int)random.Below(6)), 4);
                }

                break;
        }
    }

    /// <summary>A hot-plug storm: one to eight hot-adds or hot-removes on random slots, each serviced by the interrupt routine.</summary>
    private void Storm()
    {
        if (slots.Count == 0)
        {
            return;
        }

        note = "hot-plug storm";
        int events = 1 + (int)random.Below(8);
        for (int i = 0; i < events; i++)
        {
            var port = slots[(int)random.Below((uint)slots.Count)];
            if (Find(port) is not { } located || port.SecondaryBus == 0)
            {
                continue;
            }

            if (port.Child is Endpoint plugged)
            {
                Do(Record(TraceOp.HotRemove, TraceAddressKind.None, 0, null, null, port.Name, plugged.Name));
                found.RemoveAll(l => ReferenceEquals(l.Function, plugged));
                ServiceSlot(located, port);
            }
            else if (port.Child is null && Spare() is { } spare)
            {
                Do(Record(TraceOp.HotAdd, TraceAddressKind.None, 0, null, null, port.Name, spare.Name));
                ServiceSlot(located, port);
                int next = port.SecondaryBus;
                Scan(located.Rc, port.SecondaryBus, onlyDeviceZero: true, ref next);
                if (Find(spare) is { } added)
                {
                    SetUpInterrupts(added, spare);
                }
            }
        }
    }

    /// <summary>The pciehp interrupt routine: read Slot Status, write the set event bits back (RW1C), read again, check presence and link.</summary>
    private void ServiceSlot(Located f, DownstreamPort port)
    {
        int pcie = port.Pcie.Offset;
        uint status = Read(f, pcie + PciExpressOffsets.SlotStatus, 2);
        uint events = status & port.Pcie.SlotStatusRw1cMask;
        if (events != 0)
        {
            Write(f, pcie + PciExpressOffsets.SlotStatus, 2, events);
            Read(f, pcie + PciExpressOffsets.SlotStatus, 2);
        }

        Read(f, pcie + PciExpressOffsets.LinkStatus, 2);
    }

    /// <summary>An endpoint with interrupts set up raises one of its first vectors.</summary>
    private void RaiseSome()
    {
        int start = (int)random.Below((uint)found.Count);
        for (int i = 0; i < found.Count; i++)
        {
            if (found[(start + i) % found.Count].Function is Endpoint { Port: not null } endpoint
                && (endpoint.Msi is not null || endpoint.MsixEnabled))
            {
                // MSI: vector 0 (Multiple Message Enable is left at one vector); MSI-X: one of the programmed entries.
                uint vector = endpoint.MsixEnabled ? random.Below((uint)Math.Min(endpoint.Msix!.Vectors, 4)) : 0;
                Do(Record(TraceOp.Raise, TraceAddressKind.None, 0, null, vector, null, endpoint.Name));
                return;
            }
        }
    }

    private void Reset()
    {
        Do(Record(TraceOp.Reset, TraceAddressKind.None, 0, null, null, null, null));
        found.Clear();
        nextMmio = MmioBase;
    }

    // ----- primitives -------------------------------------------------------------------------------------------

    private uint Read(Located f, int register, int width) => (uint)Access(f.Rc, f.Bus, f.Devfn, register, width, isWrite: false, 0).Value;

    private uint Read(RootComplex rc, byte bus, byte devfn, int register, int width) => (uint)Access(rc, bus, devfn, register, width, isWrite: false, 0).Value;

    private void Write(Located f, int register, int width, uint value) => Access(f.Rc, f.Bus, f.Devfn, register, width, isWrite: true, value);

    /// <summary>One configuration access through an ECAM address.</summary>
    private ConfigAccessResult Access(RootComplex rc, byte bus, byte devfn, int register, int width, bool isWrite, uint value)
    {
        ulong address = rc.Window.AddressOf(bus, devfn, register);
        var op = isWrite ? TraceOp.Write : TraceOp.Read;
        return Do(Record(op, TraceAddressKind.Numeric, address, width, isWrite ? value : null, null, null)).Access!.Value;
    }

    private void Mmio(ulong address, int width, uint value) => Do(Record(TraceOp.MmioWrite, TraceAddressKind.Numeric, address, width, value, null, null));

    private static TraceRecord Record(TraceOp op, TraceAddressKind kind, ulong address, int? width, ulong? value, string? port, string? device) =>
        new(0, 0, null, op, kind, address, default, width, value, port, device, null, null);

    /// <summary>
    /// Carries a record out through the replay's own session (so generation and replay cannot disagree), then adds
    /// it, with the value read for a read, and an <c>msi</c> row for every message the platform accepted.
    /// </summary>
    private StepOutcome Do(TraceRecord record)
    {
        // A read causes no message; anything else may, and needs room for its msi rows.
        if (Remaining < (record.Op is TraceOp.Read or TraceOp.MmioRead ? 1 : 1 + messageSlack))
        {
            throw new OutOfRecords();
        }

        var outcome = session.Step(record)[0];
        long seq = produced + buffer.Count + 1;
        buffer.Add(record with
        {
            Row = (int)Math.Min(seq, int.MaxValue),
            Seq = seq,
            Value = record.Op == TraceOp.Read ? outcome.ValueRead : record.Value,
            Note = note,
        });
        note = null;
        foreach (var e in outcome.Events)
        {
            if (e is MessageEvent { Delivery.Accepted: true, Message: var m })
            {
                uint device = model.Spec.GicMsi?.Mode == GicMsiMode.Its ? ((uint)m.Segment << 16) | m.RequesterId : m.RequesterId;
                seq = produced + buffer.Count + 1;
                buffer.Add(new TraceRecord((int)Math.Min(seq, int.MaxValue), 0, seq, TraceOp.Msi, TraceAddressKind.Numeric, m.Address, default, 4, m.Data, null, null, device, null));
            }
        }

        return outcome;
    }

    private Endpoint? Spare()
    {
        var spares = new List<Endpoint>();
        foreach (var endpoint in model.Endpoints)
        {
            if (endpoint.Port is null)
            {
                spares.Add(endpoint);
            }
        }

        return spares.Count == 0 ? null : spares[(int)random.Below((uint)spares.Count)];
    }

    private Located? Find(PcieFunction function)
    {
        foreach (var located in found)
        {
            if (ReferenceEquals(located.Function, function))
            {
                return located;
            }
        }

        return null;
    }

    /// <summary>A function the guest has found, where it found it.</summary>
    private sealed record Located(RootComplex Rc, byte Bus, byte Devfn, PcieFunction Function);

    /// <summary>Too few records remain for the next step.</summary>
    private sealed class OutOfRecords : Exception;
}
