namespace PcieSim.Rules;

/// <summary>One rule of the closed §6.7 rule set: its ID, a one-line statement, and the clause behind it (revision-tagged).</summary>
public sealed record HotplugRule(string Id, string Statement, string Clause)
{
    public static readonly HotplugRule Rw1c = new("HP-RW1C", "a Slot Status event bit clears only where 1 is written", "r4.0+ §7.5.3.11 (r3.0 §7.8.11)");
    public static readonly HotplugRule Pds = new("HP-PDS", "on a slot, PDS equals presence; on a root or downstream port without a slot, PDS reads 1", "r4.0+ §7.5.3.11 b6, §7.5.3 intro (r3.0 §7.8)");
    public static readonly HotplugRule Dllla = new("HP-DLLLA", "Link Status DLLLA equals presence on every root and downstream port", "r4.0+ §7.5.3.8 b13 (r3.0 §7.8.8)");
    public static readonly HotplugRule Dlllarc = new("HP-DLLLARC", "every port with Hot-Plug Capable has DLL Link Active Reporting Capable", "r4.0+ §7.5.3.6 b20, §6.7.3.3");
    public static readonly HotplugRule Edge = new("HP-EDGE", "a hotplug message is raised in a step iff (HPIE and an enabled event and MSI enabled and vector unmasked) goes from false to true in it", "§6.7.3.4 (r4.0, r5.0, r6.x)");
    public static readonly HotplugRule NoHpie = new("HP-NOHPIE", "no hotplug message while HPIE is clear", "§6.7.3.4; r4.0+ §7.5.3.10 b5");
    public static readonly HotplugRule Nccs = new("HP-NCCS", "CC is never set while NCCS is set", "r4.0+ §7.5.3.11 b4, §7.5.3.9 b18; §6.7.3.2");
    public static readonly HotplugRule StatusWrite = new("HP-STATUSWRITE", "a write with byte enables only in the Slot Status half is not a command", "§6.7.3.2; r4.0+ §7.5.3.10");
    public static readonly HotplugRule Empty = new("HP-EMPTY", "below an empty slot, reads return all-ones", "§6.7; PCI LB 3.0 §6.1; r4.0+ §7.3.3");
    public static readonly HotplugRule NoSlot = new("HP-NOSLOT", "on a port without a slot, Slot Capabilities and Slot Control read 0 and Slot Status reads 0x0040", "r4.0+ §7.5.3 intro, §7.5.3.11 b6 (r3.0 §7.8)");
    public static readonly HotplugRule LinkUp = new("HP-LINKUP", "while DLLLA is 1, Negotiated Link Width is nonzero and Link Training is 0", "r4.0+ §7.5.3.8 b9:4, b11");

    /// <summary>The closed set: exactly these rules exist.</summary>
    public static IReadOnlyList<HotplugRule> All { get; } = [Rw1c, Pds, Dllla, Dlllarc, Edge, NoHpie, Nccs, StatusWrite, Empty, NoSlot, LinkUp];
}

/// <summary>A broken rule: which, on which port, and the evidence.</summary>
public sealed record Violation(HotplugRule Rule, string Port, string Evidence);
