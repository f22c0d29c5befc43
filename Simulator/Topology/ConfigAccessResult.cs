using PcieSim.AddressDecode;
using PcieSim.Functions;

namespace PcieSim.Topology;

/// <summary>How a configuration access ended.</summary>
public enum AccessStatus : byte
{
    /// <summary>A function was reached; the read returned its value or the write was applied.</summary>
    Completed,

    /// <summary>Nothing answers (Unsupported Request): the read returns all-ones, the write is dropped.</summary>
    Unroutable,

    /// <summary>Width 2 at lane 1 or 3, or 4 at lane 1..3: all-ones / dropped.</summary>
    UnalignedAccess,

    /// <summary>A width other than 1, 2 or 4: all-ones / dropped.</summary>
    InvalidAccessSize,

    /// <summary>A configuration address whose bus no root complex of its segment holds: all-ones / dropped.</summary>
    NoRootComplex,
}

/// <summary>Why an access was unroutable, naming the rule that stopped it (reference 1.3, 1.4, 7).</summary>
public enum RouteFailure : byte
{
    None,

    /// <summary>Start bus: no root port or RCiEP at this devfn, and function 0 of the device is not an RCiEP.</summary>
    NoFunctionAtDevfn,

    /// <summary>Start bus: function 0 of the device is an RCiEP that implements only function 0.</summary>
    RciepFunctionNotImplemented,

    /// <summary>Bus above the start bus that no root port's secondary..subordinate range holds.</summary>
    BusNotClaimed,

    /// <summary>The port forwarding the access has nothing linked below it.</summary>
    PortEmpty,

    /// <summary>Secondary bus, device ≠ 0, ARI Forwarding Enable clear: Unsupported Request at the port.</summary>
    DeviceNotZeroWithoutAri,

    /// <summary>Type 0 to a switch at a devfn other than 0 (only the upstream port answers).</summary>
    SwitchDevfnNotZero,

    /// <summary>Type 1 into a switch whose upstream port has bus range 0..0.</summary>
    SwitchBusRangeUnprogrammed,

    /// <summary>Type 1 into a switch for a bus outside its upstream port's range.</summary>
    BusOutsideSwitchRange,

    /// <summary>Internal bus: no downstream port at this devfn.</summary>
    NoDownstreamPortAtDevfn,

    /// <summary>No downstream port's range holds the bus.</summary>
    NoDownstreamPortClaimsBus,

    /// <summary>Type 0 to an endpoint at a devfn other than 0: the endpoint implements function 0 only.</summary>
    EndpointFunctionNotImplemented,

    /// <summary>Type 1 reaching an endpoint (it has no buses below it).</summary>
    EndpointIgnoresType1,
}

/// <summary>
/// The outcome of one configuration access: status, the decoded address, the function reached (or the last
/// bridge that saw it and why it stopped), and the value read or the DWORD before and after a write.
/// A value type: the routed path allocates nothing.
/// </summary>
public readonly struct ConfigAccessResult
{
    internal ConfigAccessResult(AccessStatus status, RouteFailure failure, bool isWrite, RootComplex? rootComplex, EcamAddress address, int width,
        PcieFunction? function, PcieFunction? stoppedAt, ulong value, uint before = 0, uint after = 0)
    {
        Status = status;
        Failure = failure;
        IsWrite = isWrite;
        RootComplex = rootComplex;
        Address = address;
        Width = (byte)width;
        Function = function;
        StoppedAt = stoppedAt;
        Value = value;
        Before = before;
        After = after;
    }

    public AccessStatus Status { get; init; }

    public RouteFailure Failure { get; init; }

    public bool IsWrite { get; init; }

    public RootComplex? RootComplex { get; init; }

    public EcamAddress Address { get; init; }

    public byte Width { get; init; }

    /// <summary>The function reached (null unless <see cref="Status"/> is Completed).</summary>
    public PcieFunction? Function { get; init; }

    /// <summary>For an unroutable access below the start bus: the last port or switch upstream port that saw it.</summary>
    public PcieFunction? StoppedAt { get; init; }

    /// <summary>The value read (all-ones of the width when nothing answered), or the data written.</summary>
    public ulong Value { get; init; }

    /// <summary>For a completed write: the target DWORD before the write.</summary>
    public uint Before { get; init; }

    /// <summary>For a completed write: the target DWORD after the write.</summary>
    public uint After { get; init; }

    public bool Completed => Status == AccessStatus.Completed;
}
