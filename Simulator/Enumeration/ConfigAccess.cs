using PcieSim.Topology;

namespace PcieSim.Enumeration;

/// <summary>
/// DWORD configuration access on one root complex, the only way the resource assignment touches a function
/// (OpenVMM <c>PciConfigAccess</c>: <c>read_u32</c> / <c>write_u32</c> of (bus, devfn, offset)).
/// </summary>
internal interface IConfigAccess
{
    uint Read(byte bus, byte devfn, ushort offset);

    void Write(byte bus, byte devfn, ushort offset, uint value);
}

/// <summary>
/// The VMM's ECAM path into the model: every access is a 4-byte <see cref="PcieModel.Read"/> or
/// <see cref="PcieModel.Write"/> (byte enables 1111), routed and masked like a guest's, and logged.
/// </summary>
internal sealed class ModelConfigAccess(PcieModel model, RootComplex rootComplex, List<EnumerationAccess> log) : IConfigAccess
{
    public uint Read(byte bus, byte devfn, ushort offset)
    {
        uint value = (uint)model.Read(rootComplex, bus, devfn, offset, 4).Value;
        log.Add(new EnumerationAccess(rootComplex, bus, devfn, offset, IsWrite: false, value));
        return value;
    }

    public void Write(byte bus, byte devfn, ushort offset, uint value)
    {
        model.Write(rootComplex, bus, devfn, offset, 4, value);
        log.Add(new EnumerationAccess(rootComplex, bus, devfn, offset, IsWrite: true, value));
    }
}
