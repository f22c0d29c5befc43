using static PcieSim.ConfigSpace.FieldDefinition;

namespace PcieSim.ConfigSpace.Capabilities;

/// <summary>
/// The Access Control Services extended capability (ID 0x000D, version 1, 12 bytes; PCIe Base Spec r6.0 §7.7.8)
/// as OpenVMM builds it on root and downstream ports (<c>extended/acs.rs</c>): the capability word is the
/// requested mask filtered with 0x00DF (egress control never advertised); control bits are writable only where
/// the capability bit is set; the egress control vector reads 0.
/// </summary>
public sealed class AcsCapability : Capability
{
    /// <summary>Capability bits a root or downstream port can implement.</summary>
    public const ushort ImplementableMask = 0x00DF;

    /// <summary>OpenVMM's command-line default when <c>acs=</c> is omitted: SV, TB, RR, CR, UF, DT.</summary>
    public const ushort DefaultMask = 0x005F;

    public AcsCapability(ushort requested) => CapabilityBits = (ushort)(requested & ImplementableMask);

    public ushort CapabilityBits { get; }

    public override ushort Id => 0x000D;

    public override int Length => 12;

    public override bool Extended => true;

    public override string Label => "ACS";

    private static readonly string[] BitNames =
        ["SourceValidation", "TranslationBlocking", "P2pRequestRedirect", "P2pCompletionRedirect", "UpstreamForwarding", "P2pEgressControl", "DirectTranslatedP2p", "EnhancedCapability"];

    public override IEnumerable<RegisterDefinition> Registers(int next)
    {
        yield return ExtendedHeader(1, next);
        var capabilityFields = new List<FieldDefinition>();
        var controlFields = new List<FieldDefinition>();
        for (int bit = 0; bit < 8; bit++)
        {
            bool present = (CapabilityBits & (1 << bit)) != 0;
            capabilityFields.Add(RO(BitNames[bit], bit, 1, present ? 1u : 0));
            controlFields.Add(present ? RW(BitNames[bit] + "Enable", bit, 1) : RO(BitNames[bit] + "Enable", bit, 1));
        }

        yield return new("AcsCapability", Offset + 4, 2, capabilityFields);
        yield return new("AcsControl", Offset + 6, 2, controlFields);
        yield return new("AcsEgressControlVector", Offset + 8, 4, [RO("EgressControlVector", 0, 32)]);
    }
}
