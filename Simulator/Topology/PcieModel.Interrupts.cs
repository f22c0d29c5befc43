using PcieSim.Functions;

namespace PcieSim.Topology;

/// <summary>Interrupt side effects of register writes (completed by the hotplug and MSI work).</summary>
public sealed partial class PcieModel
{
    private void ResetInterrupts()
    {
    }

    void IFunctionHost.MessageStateChanged(PcieFunction function)
    {
    }

    void IFunctionHost.SlotWritten(DownstreamPort port, uint oldDword, uint data, uint lanes)
    {
    }
}
