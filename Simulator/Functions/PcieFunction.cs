using System.Runtime.CompilerServices;
using PcieSim.AddressDecode;
using PcieSim.ConfigSpace;

namespace PcieSim.Functions;

/// <summary>
/// One PCI function: a 4 KiB configuration space driven by its register table. Writes go through the masks;
/// the few DWORDs with side effects dispatch to <see cref="OnHookedWrite"/> by an array index (O(1)).
/// </summary>
public abstract class PcieFunction
{
    // The register file's DWORDs and the layout's write hooks, held on the function too: an access reaches them
    // through one object instead of two or three, each a cache line the replay waits for when a trace moves from
    // function to function (the largest blocks of its configuration rows were these loads).
    private readonly uint[] dwords;
    private readonly RegisterHook[] hooks;

    protected PcieFunction(string name, ConfigSpaceLayout layout)
    {
        Name = name;
        Config = new ConfigRegisterFile(layout);
        dwords = Config.Dwords;
        hooks = layout.Hooks;
        Names = layout.Names;
    }

    /// <summary>The name from the topology (unique across the model).</summary>
    public string Name { get; }

    public abstract FunctionKind Kind { get; }

    /// <summary>Live configuration space.</summary>
    public ConfigRegisterFile Config { get; }

    public ConfigSpaceLayout Layout => Config.Layout;

    /// <summary>
    /// Names of this function's registers and accesses, on the function itself and shared with the model's other
    /// functions of the same shape (<see cref="ShareNames"/>): the snapshot names every access through them.
    /// </summary>
    internal LayoutNames Names { get; private set; }

    /// <summary>
    /// Takes the names of an earlier function of the same shape from <paramref name="shapes"/> (a set compared
    /// <see cref="LayoutNames.ByShape"/>), or adds this one's.
    /// </summary>
    internal void ShareNames(HashSet<LayoutNames> shapes)
    {
        if (shapes.TryGetValue(Names, out var shared))
        {
            Names = shared;
        }
        else
        {
            shapes.Add(Names);
        }
    }

    /// <summary>Receives side effects (routing changes, interrupt messages); set when the model is built.</summary>
    internal IFunctionHost? Host { get; set; }

    /// <summary>
    /// The route text of the last completed access that reached this function, with the root complex and routing
    /// generation it was made for (the replay's route cache: one check instead of a dictionary lookup per access).
    /// </summary>
    internal object? LastRoute { get; set; }

    /// <summary>MSI vectors raised while they could not be delivered (bit per vector); delivered when they can be.</summary>
    internal uint MsiLatch { get; set; }

    /// <summary>Whether a message waits in a latch (MSI disabled or masked; an MSI-X vector masked).</summary>
    public virtual bool HasLatchedMessages => MsiLatch != 0;

    /// <summary>Command register (offset 0x04).</summary>
    public ushort Command => (ushort)Config.Read(1);

    /// <summary>Reads the DWORD holding <paramref name="register"/>; reads have no side effects.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint ReadDword(int register) => dwords[register >> 2];

    /// <summary>Reads <paramref name="width"/> (1, 2 or 4) bytes at <paramref name="register"/>, which must be a valid lane for the width.</summary>
    public uint Read(int register, int width)
    {
        uint dword = dwords[register >> 2] >> ((register & 3) * 8);
        return width >= 4 ? dword : dword & (uint)ByteEnables.AllOnes(width);
    }

    /// <summary>
    /// A guest write of <paramref name="data"/> (in lane position) to the DWORD holding <paramref name="register"/>,
    /// changing only the lanes in <paramref name="byteEnables"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteDword(int register, uint data, byte byteEnables)
    {
        int index = register >> 2;
        uint lanes = ByteEnables.LaneMask(byteEnables);
        var hook = hooks[index];
        if (hook == RegisterHook.None)
        {
            Config.WriteMasked(index, data, lanes);
        }
        else
        {
            OnHookedWrite(hook, index, data, lanes);
        }
    }

    /// <summary>Writes <paramref name="width"/> bytes of <paramref name="value"/> at <paramref name="register"/> (a valid lane for the width).</summary>
    public void Write(int register, int width, uint value)
    {
        if (ByteEnables.TryGet(register, width, out byte enables) != AccessFault.None)
        {
            throw new ArgumentException("invalid width for the register offset", nameof(width));
        }

        WriteDword(register, value << ((register & 3) * 8), enables);
    }

    /// <summary>Returns the function to its reset values (PCIe Base Spec r6.0 §7.5; OpenVMM reference 2.8 and 3).</summary>
    public void Reset() => Reset(powerOn: false);

    /// <summary>
    /// Returns the function to the state of a newly created one: its reset state, except the few fields whose
    /// power-on value differs (<see cref="ConfigSpace.FieldDefinition.PowerOn"/>). A hot-added device comes back this way.
    /// </summary>
    public void PowerOn() => Reset(powerOn: true);

    /// <summary>
    /// The reset proper: the DWORDs from the layout's reset or power-on image, then what each kind of function resets
    /// beyond them. One image is copied, not the reset image and then the power-on image over it (4 KiB each, at every
    /// hot-add of a storm).
    /// </summary>
    protected virtual void Reset(bool powerOn)
    {
        if (powerOn)
        {
            Config.PowerOn();
        }
        else
        {
            Config.Reset();
        }

        MsiLatch = 0;
    }

    /// <summary>Side effects of a write to a hooked DWORD. The default applies the masks only.</summary>
    protected virtual void OnHookedWrite(RegisterHook hook, int index, uint data, uint lanes) => Config.WriteMasked(index, data, lanes);

    /// <summary>Applies the masks, then clamps the MSI Multiple Message Enable field to Multiple Message Capable.</summary>
    protected void WriteMsiControl(int index, uint data, uint lanes)
    {
        Config.WriteMasked(index, data, lanes);
        uint dword = Config.Read(index);
        uint mmc = (dword >> 17) & 7;
        uint mme = (dword >> 20) & 7;
        if (mme > mmc)
        {
            Config.Set(index, mmc << 20, 7u << 20);
        }
    }

    public override string ToString() => Name;
}

/// <summary>What a function tells the model it lives in.</summary>
internal interface IFunctionHost
{
    /// <summary>Bus numbers or ARI forwarding of <paramref name="bridge"/> changed, or it was reset: routing must follow.</summary>
    void RoutingChanged(BridgeFunction bridge);

    /// <summary>What is linked below <paramref name="port"/> changed: routing must follow, for the port's buses only.</summary>
    void LinkChanged(DownstreamPort port);

    /// <summary>An MSI-relevant register of <paramref name="function"/> changed (enable, address, data, mask).</summary>
    void MessageStateChanged(PcieFunction function);

    /// <summary>A hot-plug slot's control or status was written by the guest.</summary>
    void SlotWritten(DownstreamPort port, uint oldDword, uint data, uint lanes);

    /// <summary>An endpoint's memory decode changed (a BAR, Memory Space Enable, a reset): BAR lookups must follow.</summary>
    void MemoryDecodeChanged(Endpoint endpoint);
}
