using PcieSim.Functions;

namespace PcieSim.Interrupts;

/// <summary>Something the model did in a step besides answering the access: a hotplug transition, a message.</summary>
public abstract record ModelEvent;

/// <summary>An endpoint was hot-added to, or hot-removed from, a port.</summary>
public sealed record HotplugEvent(DownstreamPort Port, Endpoint Endpoint, bool Added) : ModelEvent;

/// <summary>
/// A message a function raised and what the platform did with it; or a message that never reached the platform
/// (requester bus outside its parent's range).
/// </summary>
/// <param name="Note">E.g. <c>unprogrammed bus range</c> (delivered with bus 0, as OpenVMM does).</param>
public sealed record MessageEvent(InterruptMessage Message, Delivery Delivery, string? Note) : ModelEvent;

/// <summary>A message held back: MSI disabled, vector masked; it is raised when that changes.</summary>
public sealed record MessageLatchedEvent(PcieFunction Source, MessageOrigin Origin, int Vector, string Reason) : ModelEvent;

/// <summary>A slot with Command Completed support completed a command (CC set).</summary>
public sealed record CommandCompletedEvent(DownstreamPort Port) : ModelEvent;
