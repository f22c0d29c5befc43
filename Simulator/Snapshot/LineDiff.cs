using System.Globalization;

namespace PcieSim.Snapshot;

/// <summary>One run of lines that differ: <see cref="Removed"/> lines of the first text at
/// <see cref="FirstLine"/> (1-based) replaced by <see cref="Added"/> lines of the second at <see cref="SecondLine"/>.</summary>
public sealed record DiffHunk(int FirstLine, IReadOnlyList<string> Removed, int SecondLine, IReadOnlyList<string> Added);

/// <summary>
/// Line-level differences between two snapshots (<c>--profile both</c>): Myers' shortest edit script after the common
/// prefix and suffix are set aside, so snapshots that differ in a few places cost little whatever their length.
/// Beyond <see cref="MaxEditDistance"/> edits the rest of the middle is reported as one replacement, honestly
/// labelled, instead of spending quadratic memory.
/// </summary>
public static class LineDiff
{
    /// <summary>Edit distance beyond which the remaining middle becomes one hunk.</summary>
    public const int MaxEditDistance = 4096;

    public static IReadOnlyList<DiffHunk> Compare(IReadOnlyList<string> first, IReadOnlyList<string> second)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(second);
        int prefix = 0;
        while (prefix < first.Count && prefix < second.Count && string.Equals(first[prefix], second[prefix], StringComparison.Ordinal))
        {
            prefix++;
        }

        int suffix = 0;
        while (suffix < first.Count - prefix && suffix < second.Count - prefix
            && string.Equals(first[first.Count - 1 - suffix], second[second.Count - 1 - suffix], StringComparison.Ordinal))
        {
            suffix++;
        }

        int n = first.Count - prefix - suffix, m = second.Count - prefix - suffix;
        var edits = EditScript(first, second, prefix, n, m);
        var hunks = new List<DiffHunk>();
        int i = 0, j = 0, e = 0;
        while (i < n || j < m)
        {
            if (e < edits.Count && (edits[e].Kind == EditKind.Remove && edits[e].Index == i || edits[e].Kind == EditKind.Add && edits[e].Index == j))
            {
                int startI = i, startJ = j;
                var removed = new List<string>();
                var added = new List<string>();
                while (e < edits.Count && (edits[e].Kind == EditKind.Remove ? edits[e].Index == i : edits[e].Index == j))
                {
                    if (edits[e].Kind == EditKind.Remove)
                    {
                        removed.Add(first[prefix + i++]);
                    }
                    else
                    {
                        added.Add(second[prefix + j++]);
                    }

                    e++;
                }

                hunks.Add(new DiffHunk(prefix + startI + 1, removed, prefix + startJ + 1, added));
            }
            else
            {
                i++;
                j++;
            }
        }

        return hunks;
    }

    /// <summary>
    /// Writes hunks in unified-diff form with <paramref name="context"/> lines of context around each; hunks whose
    /// contexts would touch or overlap are printed as one, as <c>diff -u</c> does.
    /// </summary>
    public static void WriteUnified(TextWriter output, IReadOnlyList<string> first, IReadOnlyList<DiffHunk> hunks, int context = 2)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(hunks);
        int h = 0;
        while (h < hunks.Count)
        {
            int last = h;
            while (last + 1 < hunks.Count && hunks[last + 1].FirstLine - End(hunks[last]) <= 2 * context)
            {
                last++;
            }

            int from = Math.Max(1, hunks[h].FirstLine - context);
            int to = Math.Min(first.Count, End(hunks[last]) - 1 + context);
            int leading = hunks[h].FirstLine - from;
            int firstCount = to - from + 1;
            int secondCount = firstCount;
            for (int k = h; k <= last; k++)
            {
                secondCount += hunks[k].Added.Count - hunks[k].Removed.Count;
            }

            Line(string.Create(CultureInfo.InvariantCulture, $"@@ -{from},{firstCount} +{hunks[h].SecondLine - leading},{secondCount} @@"));
            int line = from;
            for (int k = h; k <= last; k++)
            {
                for (; line < hunks[k].FirstLine; line++)
                {
                    Line(" " + first[line - 1]);
                }

                foreach (string removed in hunks[k].Removed)
                {
                    Line("-" + removed);
                }

                foreach (string added in hunks[k].Added)
                {
                    Line("+" + added);
                }

                line = End(hunks[k]);
            }

            for (; line <= to; line++)
            {
                Line(" " + first[line - 1]);
            }

            h = last + 1;
        }

        void Line(string text)
        {
            output.Write(text);
            output.Write('\n');
        }

        // The first line of the first text after the hunk.
        static int End(DiffHunk hunk) => hunk.FirstLine + hunk.Removed.Count;
    }

    private enum EditKind : byte
    {
        Remove,
        Add,
    }

    /// <summary>An edit: remove line <c>Index</c> of the first middle, or add line <c>Index</c> of the second.</summary>
    private readonly record struct Edit(EditKind Kind, int Index);

    /// <summary>Myers' greedy O((n+m)·d) algorithm, keeping each round's frontier to trace the path back.</summary>
    private static List<Edit> EditScript(IReadOnlyList<string> a, IReadOnlyList<string> b, int offset, int n, int m)
    {
        int max = n + m;
        var edits = new List<Edit>();
        if (max == 0)
        {
            return edits;
        }

        int limit = Math.Min(max, MaxEditDistance);
        var rounds = new List<int[]>();
        var v = new int[(2 * limit) + 3];
        int shift = limit + 1;
        int found = -1;
        for (int d = 0; d <= limit && found < 0; d++)
        {
            for (int k = -d; k <= d; k += 2)
            {
                int x = k == -d || (k != d && v[shift + k - 1] < v[shift + k + 1]) ? v[shift + k + 1] : v[shift + k - 1] + 1;
                int y = x - k;
                while (x < n && y < m && string.Equals(a[offset + x], b[offset + y], StringComparison.Ordinal))
                {
                    x++;
                    y++;
                }

                v[shift + k] = x;
                if (x >= n && y >= m)
                {
                    found = d;
                    break;
                }
            }

            rounds.Add((int[])v.Clone());
        }

        if (found < 0)
        {
            // Too different to align cheaply: one replacement of the whole middle.
            for (int i = 0; i < n; i++)
            {
                edits.Add(new Edit(EditKind.Remove, i));
            }

            for (int j = 0; j < m; j++)
            {
                edits.Add(new Edit(EditKind.Add, j));
            }

            return edits;
        }

        int cx = n, cy = m;
        for (int d = found; d > 0; d--)
        {
            var previous = rounds[d - 1];
            int k = cx - cy;
            bool down = k == -d || (k != d && previous[shift + k - 1] < previous[shift + k + 1]);
            int pk = down ? k + 1 : k - 1;
            int px = previous[shift + pk];
            int py = px - pk;
            edits.Add(down ? new Edit(EditKind.Add, py) : new Edit(EditKind.Remove, px));
            cx = px;
            cy = py;
        }

        edits.Reverse();
        return edits;
    }
}
