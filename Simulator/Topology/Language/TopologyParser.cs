namespace PcieSim.Topology.Language;

/// <summary>
/// Reads a topology written in OpenVMM's command-line grammar (plus our <c>--pcie-endpoint</c>) and resolves it
/// into a <see cref="TopologySpec"/>: every devfn, slot number and ECAM base decided, every reference checked.
/// </summary>
/// <remarks>
/// Every error is an <see cref="InputException"/> naming the source, line and column of the offending flag or
/// value; no other exception escapes for any text. Flags may come in any order: references (a port's root
/// complex, a switch's parent port, an endpoint's port) are resolved after all flags are read, while flag order
/// still decides automatic devfns and slot numbers.
/// <para>
/// Without <c>ecam_base</c>, segment S's ECAM block starts at 0x10_0000_0000 + S × 0x1_0000_0000 and a root
/// complex sits (start_bus − lowest start_bus of that segment's root complexes) MiB into it.
/// <c>--pcie-ecam-below-4gb</c> is listed in <see cref="TopologySpec.IgnoredOptions"/> with an empty option.
/// <see cref="TopologySpec.NormalisedFlags"/> spells every resolved value out (root-port addresses included) and
/// leaves ignored options out, so parsing it again gives the same topology.
/// </para>
/// </remarks>
public static partial class TopologyParser
{
    /// <summary>Parses a topology file's whole text.</summary>
    /// <param name="text">The file's text; lines end with LF or CRLF.</param>
    /// <param name="source">The name errors report (file name or <c>command line</c>).</param>
    public static TopologySpec Parse(string text, string source)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(source);
        string[] rawLines = text.Split('\n');
        var lines = new List<TopologySourceLine>(rawLines.Length);
        for (int i = 0; i < rawLines.Length; i++)
        {
            string line = rawLines[i];
            if (line.EndsWith('\r'))
            {
                line = line[..^1];
            }

            lines.Add(new TopologySourceLine(source, i + 1, 0, line));
        }

        return Parse(lines);
    }

    /// <summary>
    /// Parses topology lines, from a topology file or from the <c># topology:</c> header lines of a trace,
    /// concatenated in order. A flag's value may follow it on a later line.
    /// </summary>
    /// <remarks>
    /// A character at 0-based index <c>i</c> of a line's text is reported at column
    /// <c>ColumnOffset + i + 1</c>.
    /// </remarks>
    public static TopologySpec Parse(IReadOnlyList<TopologySourceLine> lines)
    {
        ArgumentNullException.ThrowIfNull(lines);
        List<Token> tokens = Tokenize(lines);
        var flags = new List<FlagValue>();
        int i = 0;
        while (i < tokens.Count)
        {
            Token token = tokens[i];
            if (!token.Text.StartsWith("--", StringComparison.Ordinal) || token.Text.Length == 2)
            {
                throw Error(token.Pos, $"expected a flag such as --pcie-root-complex, found '{token.Text}'");
            }

            if (!FlagSchemas.TryGetValue(token.Text, out FlagSchema? schema))
            {
                throw Error(
                    token.Pos,
                    $"unknown flag '{token.Text}' (known: {string.Join(", ", FlagSchemas.Keys)})");
            }

            if (!schema.TakesValue)
            {
                flags.Add(FlagValue.WithoutValue(token.Text, token.Pos));
                i++;
                continue;
            }

            if (i + 1 >= tokens.Count || tokens[i + 1].Text.StartsWith("--", StringComparison.Ordinal))
            {
                throw Error(token.Pos, $"{token.Text}: missing value ({schema.Usage})");
            }

            flags.Add(FlagValue.Split(token.Text, token.Pos, tokens[i + 1], schema));
            i += 2;
        }

        return new TopologyResolver(flags).Resolve();
    }

    private static List<Token> Tokenize(IReadOnlyList<TopologySourceLine> lines)
    {
        var tokens = new List<Token>();
        foreach (TopologySourceLine line in lines)
        {
            string text = line.Text ?? string.Empty;
            string source = line.Source ?? string.Empty;
            int comment = text.IndexOf('#', StringComparison.Ordinal);
            int end = comment >= 0 ? comment : text.Length;
            int pos = 0;
            while (pos < end)
            {
                if (char.IsWhiteSpace(text[pos]))
                {
                    pos++;
                    continue;
                }

                int start = pos;
                while (pos < end && !char.IsWhiteSpace(text[pos]))
                {
                    pos++;
                }

                tokens.Add(new Token(text[start..pos], new Pos(source, line.Line, line.ColumnOffset + start + 1)));
            }
        }

        return tokens;
    }

    internal static InputException Error(Pos pos, string message) =>
        new(pos.Source, pos.Line, pos.Column, message);
}

/// <summary>Where a piece of topology text starts: source, 1-based line and column.</summary>
internal readonly record struct Pos(string Source, int Line, int Column)
{
    public Pos Advance(int chars) => this with { Column = Column + chars };
}

/// <summary>A whitespace-separated piece of topology text.</summary>
internal readonly record struct Token(string Text, Pos Pos);
