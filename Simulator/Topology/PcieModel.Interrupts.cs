using System.Globalization;
using PcieSim.ConfigSpace.Capabilities;
using PcieSim.ConfigSpace.Registers;
using PcieSim.Functions;
using PcieSim.Interrupts;

namespace PcieSim.Topology;

/// <summary>
/// MSI and MSI-X delivery (reference 3.4, 3.5; PCIe Base Spec r6.0 §6.1.4), requester-ID resolution from live bus
/// numbers (reference 5.1) and the platform MSI controller (reference 5.3, 5.4).
/// </summary>
public sealed partial class PcieModel
{
    private readonly List<ModelEvent> events = [];
    private PlatformMsiController? platform;

    /// <summary>The platform MSI controller from <c>--gic-msi</c> (or none).</summary>
    public PlatformMsiController Platform => platform ??= PlatformMsiController.Create(Spec.GicMsi);

    /// <summary>Events since the last <see cref="ClearEvents"/>, in the order they happened.</summary>
    public IReadOnlyList<ModelEvent> Events => events;

    /// <summary>Forgets the events collected so far (the replay calls it before each step).</summary>
    public void ClearEvents() => events.Clear();

    /// <summary>
    /// The capability <see cref="Raise"/> signals through now and how many vectors it accepts: MSI-X when it is
    /// enabled or the endpoint has no MSI, else MSI (2^Multiple Message Capable vectors), else none (0 vectors).
    /// </summary>
    public static (MessageOrigin Origin, int Vectors) RaiseTarget(Endpoint endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        if (endpoint.Msix is { } msix && (endpoint.MsixEnabled || endpoint.Msi is null))
        {
            return (MessageOrigin.Msix, msix.Vectors);
        }

        return endpoint.Msi is { } msi ? (MessageOrigin.Msi, 1 << msi.MultipleMessageCapable) : (MessageOrigin.Msi, 0);
    }

    /// <summary>
    /// An endpoint signals <paramref name="vector"/>: through MSI-X when enabled, else MSI; latched when it cannot
    /// be delivered now (function disabled, vector masked).
    /// </summary>
    /// <exception cref="ArgumentException">The endpoint has no interrupt capability, or the vector is out of range (see <see cref="RaiseTarget"/>).</exception>
    public void Raise(Endpoint endpoint, int vector)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        var (origin, vectors) = RaiseTarget(endpoint);
        if (vectors == 0)
        {
            throw new ArgumentException($"'{endpoint.Name}' has no MSI or MSI-X capability", nameof(endpoint));
        }

        if ((uint)vector >= (uint)vectors)
        {
            throw new ArgumentException($"vector {vector} out of range: '{endpoint.Name}' has {vectors} {(origin == MessageOrigin.Msix ? "MSI-X" : "MSI")} vectors", nameof(vector));
        }

        if (origin == MessageOrigin.Msix)
        {
            RaiseMsix(endpoint, vector);
        }
        else
        {
            RaiseMsi(endpoint, endpoint.Msi!, vector, MessageOrigin.Msi);
        }
    }

    /// <summary>
    /// MSI signalling: delivered when MSI is enabled (and, in the <c>spec</c> profile, the vector unmasked);
    /// otherwise latched as pending and delivered when that changes. Bus Master Enable does not gate delivery
    /// (OpenVMM does not; reference 11.1 item 5).
    /// </summary>
    internal void RaiseMsi(PcieFunction function, MsiCapability msi, int vector, MessageOrigin origin)
    {
        uint control = function.ReadDword(msi.Offset) >> 16;
        string? hold = (control & 1) == 0 ? "MSI disabled"
            : Options.Profile == BehaviourProfile.Spec && msi.PerVectorMasking && (function.ReadDword(msi.MaskOffset) & (1u << vector)) != 0 ? "vector masked"
            : null;
        if (hold is not null)
        {
            function.MsiLatch |= 1u << vector;
            events.Add(new MessageLatchedEvent(function, origin, vector, hold));
            return;
        }

        Send(function, origin, vector, MsiAddress(function, msi), MsiData(function, msi, control, vector));
    }

    /// <summary>MSI-X signalling: delivered when MSI-X is enabled and the vector unmasked, else its PBA bit is set.</summary>
    internal void RaiseMsix(Endpoint endpoint, int vector)
    {
        if (!endpoint.MsixEnabled || endpoint.MsixVectorMasked(vector))
        {
            endpoint.SetMsixPending(vector, true);
            events.Add(new MessageLatchedEvent(endpoint, MessageOrigin.Msix, vector, endpoint.MsixEnabled ? "vector masked" : "MSI-X disabled"));
            return;
        }

        Send(endpoint, MessageOrigin.Msix, vector, endpoint.MsixAddress(vector), endpoint.MsixData(vector));
    }

    /// <summary>Delivers latched MSI and MSI-X messages that have become deliverable.</summary>
    internal void DeliverLatched(PcieFunction function)
    {
        var msi = MsiOf(function);
        if (msi is not null && function.MsiLatch != 0)
        {
            uint control = function.ReadDword(msi.Offset) >> 16;
            if ((control & 1) != 0)
            {
                for (int vector = 0; vector < 32; vector++)
                {
                    uint bit = 1u << vector;
                    if ((function.MsiLatch & bit) == 0
                        || (Options.Profile == BehaviourProfile.Spec && msi.PerVectorMasking && (function.ReadDword(msi.MaskOffset) & bit) != 0))
                    {
                        continue;
                    }

                    function.MsiLatch &= ~bit;
                            Send(function, function is DownstreamPort ? MessageOrigin.Hotplug : MessageOrigin.Msi, vector, MsiAddress(function, msi), MsiData(function, msi, control, vector));
                }
            }
        }

        if (function is Endpoint { Msix: { } msix } endpoint && endpoint.MsixEnabled)
        {
            for (int vector = 0; vector < msix.Vectors; vector++)
            {
                if (endpoint.MsixPending(vector) && !endpoint.MsixVectorMasked(vector))
                {
                    endpoint.SetMsixPending(vector, false);
                    Send(endpoint, MessageOrigin.Msix, vector, endpoint.MsixAddress(vector), endpoint.MsixData(vector));
                }
            }
        }
    }

    /// <summary>
    /// The requester ID a function's messages carry, from the live bus numbers (reference 5.1): root port and
    /// RCiEP <c>start_bus &lt;&lt; 8 | devfn</c>; downstream switch port <c>upstream secondary &lt;&lt; 8 | devfn</c>;
    /// endpoint <c>port secondary &lt;&lt; 8 | 0</c>. Only the upper bound can be violated.
    /// </summary>
    /// <returns>False when the requester bus lies above the parent's subordinate bus (the message is dropped).</returns>
    public static bool TryResolveRequesterId(PcieFunction function, out ushort segment, out ushort requesterId, out string? note)
    {
        ArgumentNullException.ThrowIfNull(function);
        note = null;
        segment = SegmentOf(function);
        BridgeFunction? parent = function switch
        {
            DownstreamSwitchPort dsp => dsp.Switch.Upstream,
            Endpoint { Port: { } port } => port,
            _ => null,
        };
        if (parent is null)
        {
            var rc = function switch { RootPort rp => rp.RootComplex, AmdIommu iommu => iommu.RootComplex, _ => null };
            byte devfn = function is DownstreamPort p ? p.Devfn : (byte)0;
            requesterId = (ushort)(((rc?.StartBus ?? 0) << 8) | devfn);
            return true;
        }

        byte secondary = parent.SecondaryBus;
        byte subordinate = parent.SubordinateBus;
        byte offset = function is DownstreamSwitchPort d ? d.Devfn : (byte)0;
        requesterId = (ushort)((secondary << 8) | offset);
        if (secondary == 0 && subordinate == 0)
        {
            note = "unprogrammed bus range";
        }
        else if (secondary > subordinate)
        {
            note = string.Create(CultureInfo.InvariantCulture, $"requester bus {secondary:x2} above subordinate bus {subordinate:x2} of {parent.Name}");
            return false;
        }

        return true;
    }

    /// <summary>The segment of the root complex a function hangs below.</summary>
    public static ushort SegmentOf(PcieFunction function)
    {
        for (var f = function; f is not null; f = RoutePath.Upstream(f))
        {
            switch (f)
            {
                case RootPort rp:
                    return rp.RootComplex.Segment;
                case AmdIommu iommu:
                    return iommu.RootComplex.Segment;
            }
        }

        return 0;
    }

    private static MsiCapability? MsiOf(PcieFunction function) => function switch
    {
        DownstreamPort port => port.Msi,
        AmdIommu iommu => iommu.Msi,
        Endpoint endpoint => endpoint.Msi,
        _ => null,
    };

    private static ulong MsiAddress(PcieFunction function, MsiCapability msi) =>
        function.ReadDword(msi.Offset + 4) | (msi.Is64Bit ? (ulong)function.ReadDword(msi.Offset + 8) << 32 : 0);

    /// <summary>Message Data with the vector in its low MME bits (PCIe Base Spec r6.0 §7.7.1.5).</summary>
    private static uint MsiData(PcieFunction function, MsiCapability msi, uint control, int vector)
    {
        uint data = function.ReadDword(msi.DataOffset) & 0xFFFF;
        uint enabledVectors = 1u << (int)((control >> 4) & 7);
        return (data & ~(enabledVectors - 1)) | ((uint)vector & (enabledVectors - 1));
    }

    private void Send(PcieFunction function, MessageOrigin origin, int vector, ulong address, uint data)
    {
        bool resolved = TryResolveRequesterId(function, out ushort segment, out ushort requesterId, out string? note);
        var message = new InterruptMessage(function, origin, vector, segment, requesterId, address, data);
        var delivery = resolved ? Platform.Deliver(message) : Delivery.Dropped(note!);
        events.Add(new MessageEvent(message, delivery, resolved ? note : null));
    }

    private void ResetInterrupts()
    {
        events.Clear();
        foreach (var port in allPorts)
        {
            port.HotplugCondition = false;
        }
    }

    void IFunctionHost.MessageStateChanged(PcieFunction function)
    {
        DeliverLatched(function);
        if (function is DownstreamPort port)
        {
            EvaluateHotplugCondition(port, hotplugEvent: false);
        }
    }

    void IFunctionHost.SlotWritten(DownstreamPort port, uint oldDword, uint data, uint lanes)
    {
        bool ccEvent = false;
        if (port.Pcie.CommandCompleted && (lanes & 0xFFFF) != 0)
        {
            // Any enable in bytes 0-1 is a Slot Control command; it completes at once. Enables only in the status
            // half are not a command (the interrupt-storm trap OpenVMM's comment describes).
            port.SetCommandCompleted();
            events.Add(new CommandCompletedEvent(port));
            ccEvent = (port.SlotControl & SlotControl.CommandCompletedInterruptEnable) != 0;
        }

        EvaluateHotplugCondition(port, hotplugEvent: ccEvent);
    }
}
