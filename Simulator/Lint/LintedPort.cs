namespace PcieSim.Lint;

/// <summary>Where a record sits in the trace, for findings.</summary>
internal readonly record struct RowRef(long Row, int Line, long? Seq);

/// <summary>
/// What the linter knows of one root or downstream port (a function whose recorded PCI Express Capabilities
/// register says type 4 or 6): the last Slot Control, Slot Status and Link Status it saw, what the guest wrote since,
/// and the checks that wait for a later read (PCIe Base Spec r6.0 §6.7.3, §7.5.3.8–.11).
/// </summary>
internal sealed class LintedPort(RecordedFunction function, int cap)
{
    public const ushort Events = 0x011F;
    public const ushort Abp = 0x0001;
    public const ushort Pdc = 0x0008;
    public const ushort Cc = 0x0010;
    public const ushort Pds = 0x0040;
    public const ushort Dllsc = 0x0100;
    public const ushort Hpie = 0x0020;
    public const ushort Dllla = 0x2000;

    public RecordedFunction Function { get; } = function;

    public FunctionAddress Address => Function.Address;

    /// <summary>Offset of the PCI Express Capability.</summary>
    public int Cap { get; } = cap;

    public uint? SlotCapabilities => Function.Get(Cap + 0x14, 4);

    public uint? LinkCapabilities => Function.Get(Cap + 0x0C, 4);

    public bool? SlotImplemented => Function.Get(Cap + 0x02, 2) is uint flags ? (flags & 0x100) != 0 : null;

    public bool? HotPlugCapable => SlotCapabilities is uint c ? (c & 0x40) != 0 : null;

    public bool? NoCommandCompleted => SlotCapabilities is uint c ? (c & 0x4_0000) != 0 : null;

    public bool? LinkActiveReporting => LinkCapabilities is uint c ? (c & 0x10_0000) != 0 : null;

    /// <summary>The last Slot Status read, where, and in which reset and hotplug epochs.</summary>
    public ushort? Status { get; set; }

    public RowRef StatusRow { get; set; }

    public int StatusResetEpoch { get; set; }

    public int StatusHotplugEpoch { get; set; }

    /// <summary>Event bits the guest wrote with 1 since the last Slot Status read.</summary>
    public ushort OnesWrittenSinceStatusRead { get; set; }

    /// <summary>Whether a Slot Control write (a command) came since the last Slot Status read.</summary>
    public bool CommandSinceStatusRead { get; set; }

    /// <summary>The last Slot Control value known: read, or written after the last read.</summary>
    public ushort? Control { get; set; }

    public ushort? LinkStatus { get; set; }

    public RowRef LinkRow { get; set; }

    public int LinkResetEpoch { get; set; }

    /// <summary>A Slot Status write with 1s in set event bits, waiting for the next read to show them clear.</summary>
    public (RowRef Row, ushort Bits, ushort Written, ushort Before, int HotplugEpoch)? PendingClear { get; set; }

    /// <summary>The last Slot Control write, waiting for a read to show which enables stuck.</summary>
    public (RowRef Row, ushort Written)? PendingEnables { get; set; }

    /// <summary>A command on a port with Command Completed support, waiting for CC in a Slot Status read.</summary>
    public (RowRef Row, int ClearReads, bool Completed)? PendingCommand { get; set; }

    /// <summary>A write with byte enables only in Slot Status: Slot Control and CC must not change.</summary>
    public (RowRef Row, ushort? ControlBefore, bool? CcBefore)? PendingStatusOnly { get; set; }

    /// <summary>Data Link Layer Link Active changed between two Link Status reads: a DLLSC event must show.</summary>
    public (RowRef From, RowRef To)? PendingLinkChange { get; set; }

    /// <summary>DLLSC read as 1, or written with 1, since the last Link Status read: a link change may have been reported in between.</summary>
    public bool DllscSinceLinkRead { get; set; }

    /// <summary>A Link Status read with DLLLA 1 while the slot read empty: presence must read 0 again to be a finding.</summary>
    public (RowRef Row, ushort LinkStatus, int HotplugEpoch)? PendingLinkWithoutPresence { get; set; }

    /// <summary>A hotplug message after a hot-add or hot-remove: the next Slot Status read must show an enabled event.</summary>
    public (RowRef Message, RowRef Cause, int HotplugEpoch)? PendingMessageEvent { get; set; }

    /// <summary>Static findings already reported for this port (each once).</summary>
    public HashSet<string> Reported { get; } = new(StringComparer.Ordinal);

    /// <summary>Slot Status event bits whose enables are set in <paramref name="control"/> (§6.7.3.4; DLLSC with DLLSCE).</summary>
    public static ushort Enabled(ushort status, ushort control)
    {
        int bits = status & control & 0x1F;
        if ((status & Dllsc) != 0 && (control & 0x1000) != 0)
        {
            bits |= Dllsc;
        }

        return (ushort)bits;
    }

    /// <summary>Event bits known pending now: set in the last read and not written with 1 since.</summary>
    public ushort KnownPending => Status is ushort s ? (ushort)(s & Events & ~OnesWrittenSinceStatusRead) : (ushort)0;
}
