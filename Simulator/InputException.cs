using System.Globalization;

namespace PcieSim;

/// <summary>
/// Bad input from a user: a trace, a topology file or a flag. Carries where (source, line, column) and what
/// was found against what was expected, so a front end can print one clear line and exit with code 2.
/// </summary>
public class InputException : Exception
{
    public InputException(string source, int line, int column, string message)
        : base(message)
    {
        Source = source;
        Line = line;
        Column = column;
    }

    /// <summary>File name (or <c>command line</c>) the input came from.</summary>
    public new string Source { get; }

    /// <summary>1-based line, or 0 when the input has no lines.</summary>
    public int Line { get; }

    /// <summary>1-based column, or 0 when unknown.</summary>
    public int Column { get; }

    /// <summary>The error as <c>source:line:column: message</c>, the shape compilers use.</summary>
    public string Describe()
    {
        if (Line <= 0)
        {
            return string.Create(CultureInfo.InvariantCulture, $"{Source}: {Message}");
        }

        return Column <= 0
            ? string.Create(CultureInfo.InvariantCulture, $"{Source}:{Line}: {Message}")
            : string.Create(CultureInfo.InvariantCulture, $"{Source}:{Line}:{Column}: {Message}");
    }
}
