using PcieSim.ConfigSpace.Registers;
using PcieSim.Functions;
using PcieSim.Interrupts;

namespace PcieSim.Topology;

/// <summary>Why a hot-add or hot-remove was refused.</summary>
public enum HotplugError
{
    UnknownPort,
    NotHotplugCapable,
    PortOccupied,
    PortEmpty,
    UnknownEndpoint,
    EndpointAlreadyPlugged,
    WrongEndpoint,
}

/// <summary>A refused hot-add or hot-remove, with OpenVMM's wording where it has one.</summary>
public sealed class HotplugException(HotplugError error, string message) : Exception(message)
{
    public HotplugError Error { get; } = error;
}

/// <summary>
/// Native PCIe hot-plug (PCIe Base Spec §6.7; reference 4): hot-add and hot-remove on any hot-plug capable root or
/// downstream switch port, presence and change latches in one step, and the hot-plug message rule of each profile.
/// </summary>
public sealed partial class PcieModel
{
    /// <summary>
    /// Hot-adds <paramref name="endpointName"/> (from the pool of unplugged endpoints, in its reset state) to
    /// <paramref name="portName"/>: links it, sets presence (PDS, DLLLA) and latches PDC and DLLSC.
    /// </summary>
    /// <exception cref="HotplugException">The port or endpoint is unknown, the port is not hot-plug capable or occupied, or the endpoint is plugged.</exception>
    public void HotAdd(string portName, string endpointName)
    {
        var port = HotplugPort(portName);
        if (port.Child is { } child)
        {
            throw new HotplugException(HotplugError.PortOccupied, $"port '{port.Name}' is already occupied by '{child.UpstreamFunction.Name}'");
        }

        var endpoint = FindEndpoint(endpointName) ?? throw new HotplugException(HotplugError.UnknownEndpoint, $"unknown endpoint '{endpointName}'");
        if (endpoint.Port is { } current)
        {
            throw new HotplugException(HotplugError.EndpointAlreadyPlugged, $"endpoint '{endpoint.Name}' is already plugged into '{current.Name}'");
        }

        endpoint.PowerOn();
        endpoint.Port = port;
        MemoryDecodeChanged(endpoint);
        port.Link(endpoint);
        events.Add(new HotplugEvent(port, endpoint, Added: true));
        if (port.SetPresence(true, latchEvents: true))
        {
            HotplugEventOccurred(port);
        }
    }

    /// <summary>
    /// Hot-removes the endpoint in <paramref name="portName"/> (naming it in <paramref name="endpointName"/> is
    /// optional): unlinks it, clears presence and latches PDC and DLLSC. The endpoint returns to the pool.
    /// </summary>
    public void HotRemove(string portName, string? endpointName = null)
    {
        var port = HotplugPort(portName);
        if (port.Child is null)
        {
            throw new HotplugException(HotplugError.PortEmpty, $"port '{port.Name}' is empty");
        }

        if (port.Child is not Endpoint endpoint)
        {
            throw new HotplugException(HotplugError.WrongEndpoint, $"port '{port.Name}' holds switch '{port.Child.UpstreamFunction.Name}', not an endpoint");
        }

        if (endpointName is not null && !string.Equals(endpointName, endpoint.Name, StringComparison.Ordinal))
        {
            throw new HotplugException(HotplugError.WrongEndpoint, $"port '{port.Name}' holds '{endpoint.Name}', not '{endpointName}'");
        }

        port.Unlink();
        endpoint.Port = null;
        MemoryDecodeChanged(endpoint);
        events.Add(new HotplugEvent(port, endpoint, Added: false));
        if (port.SetPresence(false, latchEvents: true))
        {
            HotplugEventOccurred(port);
        }
    }

    /// <summary>
    /// The §6.7.3.4 interrupt condition: HPIE, and some Slot Status event bit set with its enable, and MSI enabled,
    /// and the vector unmasked (ports have no per-vector masking). Counting MSI Enable is our modelling choice.
    /// </summary>
    public static bool HotplugInterruptCondition(DownstreamPort port)
    {
        ArgumentNullException.ThrowIfNull(port);
        var control = port.SlotControl;
        var status = port.SlotStatus;
        bool msiEnabled = (port.ReadDword(port.Msi.Offset) & 0x1_0000) != 0;
        // Bit tests rather than Enum.HasFlag, which boxes until the JIT has optimized the caller.
        bool enabledEvent =
            (Has(status, SlotStatus.PresenceDetectChanged) && Has(control, SlotControl.PresenceDetectChangedEnable))
            || (Has(status, SlotStatus.DataLinkLayerStateChanged) && Has(control, SlotControl.DataLinkLayerStateChangedEnable))
            || (Has(status, SlotStatus.CommandCompleted) && Has(control, SlotControl.CommandCompletedInterruptEnable))
            || (Has(status, SlotStatus.AttentionButtonPressed) && Has(control, SlotControl.AttentionButtonPressedEnable))
            || (Has(status, SlotStatus.PowerFaultDetected) && Has(control, SlotControl.PowerFaultDetectedEnable))
            || (Has(status, SlotStatus.MrlSensorChanged) && Has(control, SlotControl.MrlSensorChangedEnable));
        return Has(control, SlotControl.HotPlugInterruptEnable) && enabledEvent && msiEnabled;
    }

    private static bool Has(SlotStatus status, SlotStatus bit) => (status & bit) != 0;

    private static bool Has(SlotControl control, SlotControl bit) => (control & bit) != 0;

    private DownstreamPort HotplugPort(string portName)
    {
        var port = FindPort(portName) ?? throw new HotplugException(HotplugError.UnknownPort, $"unknown port '{portName}'");
        return port.HotplugCapable ? port : throw new HotplugException(HotplugError.NotHotplugCapable, $"port '{port.Name}' is not hotplug capable");
    }

    /// <summary>
    /// A hot-plug event (presence change, or Command Completed with CCIE). <c>openvmm</c>: the port's MSI fires on
    /// every event while HPIE is set, whatever PDCE and DLLSCE say (latched if MSI is disabled). <c>spec</c>: only on
    /// a false-to-true edge of the §6.7.3.4 condition.
    /// </summary>
    private void HotplugEventOccurred(DownstreamPort port) => EvaluateHotplugCondition(port, hotplugEvent: true);

    private void EvaluateHotplugCondition(DownstreamPort port, bool hotplugEvent)
    {
        bool now = HotplugInterruptCondition(port);
        bool rising = now && !port.HotplugCondition;
        port.HotplugCondition = now;
        if (Options.Profile == BehaviourProfile.Spec)
        {
            if (rising)
            {
                RaiseMsi(port, port.Msi, 0, MessageOrigin.Hotplug);
            }
        }
        else if (hotplugEvent && Has(port.SlotControl, SlotControl.HotPlugInterruptEnable))
        {
            RaiseMsi(port, port.Msi, 0, MessageOrigin.Hotplug);
        }
    }

    /// <summary>What the §6.7 rules can observe of a port now.</summary>
    public static Rules.PortObservation Observe(DownstreamPort port)
    {
        ArgumentNullException.ThrowIfNull(port);
        int cap = port.Pcie.Offset;
        return new Rules.PortObservation(
            port.Presence,
            (ushort)(port.ReadDword(cap) >> 16),
            port.ReadDword(cap + PciExpressOffsets.LinkCapabilities),
            (ushort)port.LinkStatus,
            port.ReadDword(cap + PciExpressOffsets.SlotCapabilities),
            (ushort)port.SlotControl,
            (ushort)port.SlotStatus,
            (port.ReadDword(port.Msi.Offset) & 0x1_0000) != 0,
            VectorMasked: false);
    }
}
