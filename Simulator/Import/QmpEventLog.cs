using System.Globalization;
using PcieSim.Lint;

namespace PcieSim.Import;

/// <summary>A QMP action a recorder performed: <c>device_add</c> (hot-add) or <c>device_del</c> (hot-remove).</summary>
public enum QmpAction
{
    HotAdd,
    HotRemove,
}

/// <summary>
/// One line of a recorder's event log: after <paramref name="LogLinesBefore"/> lines of the QEMU trace log had been
/// written, the recorder performed <paramref name="Action"/> on <paramref name="Port"/> with <paramref name="Device"/>.
/// </summary>
/// <param name="Line">The line in the event log, for messages.</param>
/// <param name="PortAddress">Where the port was (bus as the guest numbered it) when the action was performed, if recorded.</param>
public sealed record QmpEvent(int Line, long LogLinesBefore, QmpAction Action, string Port, string Device, FunctionAddress? PortAddress);

/// <summary>
/// The recorder's own log of the QMP actions it performed, one per line:
/// <c>LINES hot-add|hot-remove PORT DEVICE [SSSS:BB:DD.F]</c>, where LINES is the number of trace-log lines written
/// before the action and the optional address is the port's, as the guest numbered it. <c>#</c> starts a comment line.
/// </summary>
public static class QmpEventLog
{
    /// <summary>The comment line a recorder writes first.</summary>
    public const string Header = "# pciesim record qemu: QMP actions, one per line: LINES ACTION PORT DEVICE [PORT_ADDRESS]; LINES = trace-log lines written before the action";

    /// <summary>Reads an event log. Every problem is an <see cref="InputException"/> naming the line and column.</summary>
    public static IReadOnlyList<QmpEvent> Read(TextReader reader, string source)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(source);
        var events = new List<QmpEvent>();
        int number = 0;
        long previous = 0;
        while (reader.ReadLine() is { } line)
        {
            number++;
            string text = line.TrimEnd('\r');
            if (text.Length == 0 || text.StartsWith('#'))
            {
                continue;
            }

            string[] fields = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length is < 4 or > 5)
            {
                throw new InputException(source, number, 1, Inv($"found {fields.Length} fields, expected LINES ACTION PORT DEVICE [PORT_ADDRESS]"));
            }

            if (!long.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out long lines))
            {
                throw new InputException(source, number, 1, $"found '{fields[0]}', expected a count of trace-log lines (a decimal number)");
            }

            if (lines < previous)
            {
                throw new InputException(source, number, 1, Inv($"found {lines} lines before this action, fewer than the {previous} of the action before it; expected actions in the order performed"));
            }

            int actionColumn = text.IndexOf(fields[1], StringComparison.Ordinal) + 1;
            QmpAction action = fields[1] switch
            {
                "hot-add" => QmpAction.HotAdd,
                "hot-remove" => QmpAction.HotRemove,
                _ => throw new InputException(source, number, actionColumn, $"found action '{fields[1]}', expected hot-add or hot-remove"),
            };

            FunctionAddress? address = null;
            if (fields.Length == 5)
            {
                if (!TryParseAddress(fields[4], out var parsed))
                {
                    throw new InputException(source, number, text.LastIndexOf(fields[4], StringComparison.Ordinal) + 1, $"found '{fields[4]}', expected the port's address [SSSS:]BB:DD.F");
                }

                address = parsed;
            }

            events.Add(new QmpEvent(number, lines, action, fields[2], fields[3], address));
            previous = lines;
        }

        return events;
    }

    /// <summary>One event as a line of the log (no line break).</summary>
    public static string Format(QmpEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        string action = e.Action == QmpAction.HotAdd ? "hot-add" : "hot-remove";
        return Inv($"{e.LogLinesBefore} {action} {e.Port} {e.Device}{(e.PortAddress is { } a ? " " + a : "")}");
    }

    private static bool TryParseAddress(string text, out FunctionAddress address)
    {
        address = default;
        var probe = text + "@0x0";
        if (!Files.TraceFormat.TryParseConfigurationAddress(probe, out var a))
        {
            return false;
        }

        address = new FunctionAddress(a.Segment, a.Bus, a.Devfn);
        return true;
    }

    private static string Inv(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
