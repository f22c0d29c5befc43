namespace PcieSim.Topology.Language;

/// <summary>
/// One line of topology text and where it came from: a topology file's line, or the text after
/// <c># topology:</c> in a trace header (then <see cref="ColumnOffset"/> is where that text starts).
/// </summary>
public readonly record struct TopologySourceLine(string Source, int Line, int ColumnOffset, string Text);
