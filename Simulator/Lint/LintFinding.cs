using System.Globalization;
using PcieSim.Rules;

namespace PcieSim.Lint;

/// <summary>A §6.7 rule a recorded system broke: the record that shows it, the rule (the checker's IDs), the port and the evidence.</summary>
/// <param name="Row">1-based data row of the trace.</param>
/// <param name="Line">Line in the trace file.</param>
/// <param name="Seq">The row's <c>seq</c>, if any (an imported QEMU trace's log line).</param>
public sealed record LintFinding(long Row, int Line, long? Seq, HotplugRule Rule, FunctionAddress Port, string Evidence)
{
    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture,
        $"row {Row} (line {Line}{(Seq is { } s ? ", seq " + s.ToString(CultureInfo.InvariantCulture) : "")}): {Rule.Id} {Port}: {Evidence}");
}
