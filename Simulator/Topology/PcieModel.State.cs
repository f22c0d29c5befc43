using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using PcieSim.ConfigSpace;
using PcieSim.Functions;

namespace PcieSim.Topology;

/// <summary>
/// Save and restore of the model (issue 6; OpenVMM saves per port, reference 8): everything a later step can
/// observe. Identity (IDs, capabilities, masks) is not saved: it comes from the topology, which must be the same
/// (checked by <see cref="PcieModel.StateFingerprint"/>).
/// </summary>
/// <param name="Fingerprint">SHA-256 of the normalised topology flags and the profile (<see cref="PcieModel.Fingerprint"/>).</param>
/// <param name="Ports">Every root and downstream port, in model order.</param>
/// <param name="Unplugged">The pool of unplugged endpoints, in model order.</param>
/// <param name="Functions">Every function, in model order.</param>
public sealed record ModelState(
    string Fingerprint,
    BehaviourProfile Profile,
    IReadOnlyList<string> Topology,
    IReadOnlyList<PortState> Ports,
    IReadOnlyList<string> Unplugged,
    IReadOnlyList<FunctionState> Functions);

/// <summary>One port's state outside its registers: the link, the presence flag and the §6.7.3.4 edge (spec profile).</summary>
/// <param name="Child">The name of the endpoint or switch linked below, or null for an empty slot.</param>
/// <param name="HotplugCondition">The hot-plug interrupt condition after the last evaluation.</param>
public sealed record PortState(string Name, string? Child, bool Presence, bool HotplugCondition);

/// <summary>
/// One function's state: the configuration DWORDs that differ from the reset image (Command, BARs, bus numbers,
/// windows, Slot Control/Status with PDC, DLLSC and CC latches, MSI address, data, mask and pending bits...), the
/// MSI vectors latched while they could not be delivered, and the MSI-X table with its pending bits.
/// </summary>
/// <param name="Config">Changed DWORDs in ascending index order.</param>
/// <param name="MsiLatch">Bit N: MSI vector N is latched.</param>
/// <param name="Msix">One entry per MSI-X vector, or null when the function has no MSI-X capability.</param>
public sealed record FunctionState(string Name, IReadOnlyList<ConfigDword> Config, uint MsiLatch, IReadOnlyList<MsixVectorState>? Msix);

/// <summary>A configuration DWORD: index 0..1023 (byte offset / 4) and value.</summary>
public readonly record struct ConfigDword(int Index, uint Value);

/// <summary>An MSI-X table entry (PCIe Base Spec r6.0 §7.7.2) and its Pending Bit.</summary>
public readonly record struct MsixVectorState(ulong Address, uint Data, uint VectorControl, bool Pending);

/// <summary>Save and restore (<see cref="ModelState"/>).</summary>
public sealed partial class PcieModel
{
    /// <summary>This model's topology fingerprint: the normalised flags and the profile, hashed.</summary>
    public string StateFingerprint => Fingerprint(Spec.NormalisedFlags, Options.Profile);

    /// <summary>
    /// <c>sha256:</c> and the lowercase hex SHA-256 of the UTF-8 text <c>profile NAME</c> then each normalised flag,
    /// one per line (LF).
    /// </summary>
    public static string Fingerprint(IEnumerable<string> normalisedFlags, BehaviourProfile profile)
    {
        ArgumentNullException.ThrowIfNull(normalisedFlags);
        var text = new StringBuilder("profile ").Append(ProfileName(profile)).Append('\n');
        foreach (string flag in normalisedFlags)
        {
            text.Append(flag).Append('\n');
        }

        return "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    /// <summary>The profile's name as the console spells it.</summary>
    public static string ProfileName(BehaviourProfile profile) => profile == BehaviourProfile.Spec ? "spec" : "openvmm";

    /// <summary>Captures the model's state. Events of the current step are not state (the replay has taken them).</summary>
    public ModelState SaveState()
    {
        var ports = new List<PortState>(allPorts.Count);
        foreach (var port in allPorts)
        {
            ports.Add(new PortState(port.Name, port.Child?.UpstreamFunction.Name, port.Presence, port.HotplugCondition));
        }

        var unplugged = new List<string>();
        foreach (var endpoint in Endpoints)
        {
            if (endpoint.Port is null)
            {
                unplugged.Add(endpoint.Name);
            }
        }

        var functions = new List<FunctionState>();
        foreach (var function in Functions)
        {
            var reset = function.Layout.ResetImage;
            var changed = new List<ConfigDword>();
            for (int i = 0; i < ConfigSpaceLayout.DwordCount; i++)
            {
                uint value = function.Config.Read(i);
                if (value != reset[i])
                {
                    changed.Add(new ConfigDword(i, value));
                }
            }

            var msix = function is Endpoint { Msix: not null } endpoint ? endpoint.SaveMsix() : null;
            functions.Add(new FunctionState(function.Name, changed, function.MsiLatch, msix));
        }

        return new ModelState(StateFingerprint, Options.Profile, Spec.NormalisedFlags, ports, unplugged, functions);
    }

    /// <summary>
    /// Restores a state saved by <see cref="SaveState"/> from a model of the same topology and profile. Everything
    /// is checked first, so a refused state leaves the model as it was. Routing caches see a new
    /// <see cref="RoutingGeneration"/>, and BAR lookups a new memory decode.
    /// </summary>
    /// <param name="source">Where the state came from (a file name), for error messages.</param>
    /// <exception cref="InputException">A different topology or profile, or a state that does not fit this model.</exception>
    public void RestoreState(ModelState state, string source)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(source);
        string fingerprint = StateFingerprint;
        if (!string.Equals(state.Fingerprint, fingerprint, StringComparison.Ordinal))
        {
            throw Bad(source, Inv($"the state was saved for topology fingerprint {state.Fingerprint} (profile {ProfileName(state.Profile)}, {state.Topology.Count} flags); this replay's is {fingerprint} (profile {ProfileName(Options.Profile)}, {Spec.NormalisedFlags.Count} flags): restore into the same topology and profile"));
        }

        var links = CheckPorts(state, source);
        var functions = CheckFunctions(state, source);

        foreach (var endpoint in Endpoints)
        {
            if (endpoint.Port is { } port)
            {
                port.Unlink();
                endpoint.Port = null;
            }
        }

        for (int i = 0; i < allPorts.Count; i++)
        {
            var port = allPorts[i];
            if (links[i] is { } endpoint)
            {
                endpoint.Port = port;
                port.Link(endpoint);
            }

            port.SetPresence(state.Ports[i].Presence, latchEvents: false);
            port.HotplugCondition = state.Ports[i].HotplugCondition;
        }

        var image = new uint[ConfigSpaceLayout.DwordCount];
        foreach (var (function, saved) in functions)
        {
            Array.Copy(function.Layout.ResetImage, image, image.Length);
            foreach (var dword in saved.Config)
            {
                image[dword.Index] = dword.Value;
            }

            function.Config.Restore(image);
            function.MsiLatch = saved.MsiLatch;
            if (function is Endpoint { Msix: not null } endpoint)
            {
                endpoint.RestoreMsix(saved.Msix!);
            }
        }

        events.Clear();
        RoutingChanged();
        MemoryDecodeChanged();
    }

    /// <summary>Checks the ports against the topology; returns, per port in model order, the endpoint to link (null for none or a switch).</summary>
    private Endpoint?[] CheckPorts(ModelState state, string source)
    {
        if (state.Ports.Count != allPorts.Count)
        {
            throw Bad(source, Inv($"the state has {state.Ports.Count} ports, the topology {allPorts.Count}"));
        }

        var links = new Endpoint?[allPorts.Count];
        var placed = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < allPorts.Count; i++)
        {
            var port = allPorts[i];
            var saved = state.Ports[i];
            if (!string.Equals(saved.Name, port.Name, StringComparison.Ordinal))
            {
                throw Bad(source, Inv($"ports[{i}] is '{saved.Name}', the topology's port {i} is '{port.Name}'"));
            }

            if (port.Child is PcieSwitch sw)
            {
                // Switches are linked by the topology and never removed.
                if (!string.Equals(saved.Child, sw.Name, StringComparison.Ordinal))
                {
                    throw Bad(source, Inv($"port '{port.Name}' holds switch '{sw.Name}' in the topology, the state says '{saved.Child ?? "empty"}'"));
                }
            }
            else if (!port.HotplugCapable && !string.Equals(saved.Child, ColdPlugged(port), StringComparison.Ordinal))
            {
                // Without hot-plug nothing can change what the topology put there.
                throw Bad(source, Inv($"port '{port.Name}' is not hotplug capable: it holds '{ColdPlugged(port) ?? "nothing"}' in the topology, the state says '{saved.Child ?? "empty"}'"));
            }
            else if (saved.Child is { } name)
            {
                var endpoint = FindEndpoint(name) ?? throw Bad(source, Inv($"port '{port.Name}' holds '{name}', which is not an endpoint of the topology"));
                if (!placed.Add(name))
                {
                    throw Bad(source, Inv($"endpoint '{name}' is linked below more than one port"));
                }

                links[i] = endpoint;
            }

            if (saved.Presence != (saved.Child is not null))
            {
                throw Bad(source, Inv($"port '{port.Name}': presence {(saved.Presence ? 1 : 0)} with {(saved.Child is null ? "nothing" : "'" + saved.Child + "'")} linked"));
            }
        }

        foreach (string name in state.Unplugged)
        {
            if (FindEndpoint(name) is null)
            {
                throw Bad(source, Inv($"unplugged endpoint '{name}' is not an endpoint of the topology"));
            }

            if (!placed.Add(name))
            {
                throw Bad(source, Inv($"endpoint '{name}' is both linked and unplugged, or unplugged twice"));
            }
        }

        foreach (var endpoint in Endpoints)
        {
            if (!placed.Contains(endpoint.Name))
            {
                throw Bad(source, Inv($"endpoint '{endpoint.Name}' is neither linked nor in the pool of unplugged endpoints"));
            }
        }

        return links;
    }

    /// <summary>Checks the functions against the topology: same names in the same order, DWORDs only where registers are, latches and MSI-X tables that fit.</summary>
    private List<(PcieFunction Function, FunctionState Saved)> CheckFunctions(ModelState state, string source)
    {
        var result = new List<(PcieFunction, FunctionState)>();
        int i = 0;
        foreach (var function in Functions)
        {
            if (i >= state.Functions.Count)
            {
                throw Bad(source, Inv($"the state has {state.Functions.Count} functions; '{function.Name}' is missing"));
            }

            var saved = state.Functions[i];
            if (!string.Equals(saved.Name, function.Name, StringComparison.Ordinal))
            {
                throw Bad(source, Inv($"functions[{i}] is '{saved.Name}', the topology's function {i} is '{function.Name}'"));
            }

            var seen = new HashSet<int>();
            foreach (var dword in saved.Config)
            {
                if ((uint)dword.Index >= ConfigSpaceLayout.DwordCount || !seen.Add(dword.Index))
                {
                    throw Bad(source, Inv($"function '{function.Name}': DWORD index {dword.Index} is out of range or repeated"));
                }

                uint outside = dword.Value & ~DefinedBytes(function.Layout, dword.Index);
                if (outside != 0)
                {
                    throw Bad(source, Inv($"function '{function.Name}': DWORD 0x{dword.Index * 4:x3} = 0x{dword.Value:x8} sets bits 0x{outside:x8} where no register is"));
                }
            }

            uint vectors = MsiOf(function) is { } msi ? 1u << msi.MultipleMessageCapable : 0;
            ulong allowed = (1UL << (int)vectors) - 1;
            if ((saved.MsiLatch & ~allowed) != 0)
            {
                throw Bad(source, Inv($"function '{function.Name}': MSI latch 0x{saved.MsiLatch:x8} names vectors it does not have ({vectors} MSI vectors)"));
            }

            int msixVectors = function is Endpoint { Msix: { } msix } ? msix.Vectors : 0;
            if (saved.Msix is null != (msixVectors == 0) || (saved.Msix is { } table && table.Count != msixVectors))
            {
                throw Bad(source, saved.Msix is null ? Inv($"function '{function.Name}': no MSI-X table saved, the function has {msixVectors} MSI-X vectors")
                    : msixVectors == 0 ? Inv($"function '{function.Name}': an MSI-X table is saved, the function has no MSI-X capability")
                    : Inv($"function '{function.Name}': {saved.Msix.Count} MSI-X vectors saved, the function has {msixVectors}"));
            }

            result.Add((function, saved));
            i++;
        }

        if (i != state.Functions.Count)
        {
            throw Bad(source, Inv($"the state has {state.Functions.Count} functions, the topology {i}: '{state.Functions[i].Name}' is not in the topology"));
        }

        return result;
    }

    /// <summary>The endpoint the topology plugs into <paramref name="port"/>, or null.</summary>
    private string? ColdPlugged(DownstreamPort port)
    {
        foreach (var endpoint in Endpoints)
        {
            if (string.Equals(endpoint.Spec.Port, port.Name, StringComparison.Ordinal))
            {
                return endpoint.Name;
            }
        }

        return null;
    }

    /// <summary>Bits of DWORD <paramref name="index"/> that belong to some register (the others always read 0).</summary>
    private static uint DefinedBytes(ConfigSpaceLayout layout, int index)
    {
        uint mask = 0;
        for (int b = 0; b < 4; b++)
        {
            if (layout.RegisterAt((index * 4) + b) is not null)
            {
                mask |= 0xFFu << (b * 8);
            }
        }

        return mask;
    }

    private static InputException Bad(string source, string message) => new(source, 0, 0, message);

    private static string Inv(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
