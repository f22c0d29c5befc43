using System.Text;

namespace PcieSim.Files;

/// <summary>How a received text compared with its golden (verified) file.</summary>
public enum GoldenOutcome
{
    /// <summary>Identical: nothing written.</summary>
    Equal,

    /// <summary>No verified file (or an empty one): the received file was written, or accepted.</summary>
    New,

    /// <summary>Different: the received file was written, or accepted.</summary>
    NotEqual,
}

/// <summary>The comparison of one received text with one verified file.</summary>
/// <param name="Accepted">The received text replaced (or created) the verified file.</param>
public sealed record GoldenComparison(GoldenOutcome Outcome, string VerifiedPath, string ReceivedPath, string Received, string? Verified, bool Accepted);

/// <summary>
/// Golden files in Verify's conventions (its file lifecycle and failure shape) with one stated departure: UTF-8
/// without a byte-order mark. Received text is normalised to LF with no trailing newline and compared ordinally;
/// stale <c>*.received.*</c> files are deleted first; an empty verified file counts as missing; a verified file
/// containing a carriage return is an error; the received file is written only on New or NotEqual.
/// </summary>
public static class GoldenFile
{
    /// <summary>The received twin of a verified path (<c>.verified.</c> → <c>.received.</c>).</summary>
    public static string ReceivedPathFor(string verifiedPath)
    {
        ArgumentNullException.ThrowIfNull(verifiedPath);
        int index = verifiedPath.LastIndexOf(".verified.", StringComparison.Ordinal);
        if (index < 0)
        {
            throw new ArgumentException("a verified path contains '.verified.'", nameof(verifiedPath));
        }

        return string.Concat(verifiedPath.AsSpan(0, index), ".received.", verifiedPath.AsSpan(index + ".verified.".Length));
    }

    /// <summary>LF line endings and no trailing newline (Verify's normalisation).</summary>
    public static string Normalise(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n').TrimEnd('\n');
    }

    /// <summary>Compares <paramref name="received"/> with the verified file; writes the received file or accepts it.</summary>
    /// <exception cref="InvalidDataException">The verified file contains a carriage return.</exception>
    public static GoldenComparison Compare(string verifiedPath, string received, bool accept)
    {
        string receivedPath = ReceivedPathFor(verifiedPath);
        string text = Normalise(received);
        if (File.Exists(receivedPath))
        {
            File.Delete(receivedPath);
        }

        string? verified = File.Exists(verifiedPath) ? File.ReadAllText(verifiedPath, Encoding.UTF8) : null;
        if (verified is { Length: 0 })
        {
            File.Delete(verifiedPath);
            verified = null;
        }

        if (verified is not null && verified.Contains('\r', StringComparison.Ordinal))
        {
            AtomicFile.WriteAllText(receivedPath, text);
            throw new InvalidDataException(
                $"{verifiedPath} contains carriage returns. Golden files use LF: check that .gitattributes has '*.verified.txt text eol=lf', then re-checkout with 'git rm --cached -r . && git reset --hard'.");
        }

        var outcome = verified is null ? GoldenOutcome.New : string.Equals(verified, text, StringComparison.Ordinal) ? GoldenOutcome.Equal : GoldenOutcome.NotEqual;
        if (outcome == GoldenOutcome.Equal)
        {
            return new GoldenComparison(outcome, verifiedPath, receivedPath, text, verified, Accepted: false);
        }

        AtomicFile.WriteAllText(accept ? verifiedPath : receivedPath, text);
        return new GoldenComparison(outcome, verifiedPath, receivedPath, text, verified, accept);
    }

    /// <summary>The failure message in Verify's shape: <c>Directory:</c>, then <c>New:</c> / <c>NotEqual:</c>, then <c>FileContent:</c>.</summary>
    public static string FailureMessage(GoldenComparison comparison)
    {
        ArgumentNullException.ThrowIfNull(comparison);
        string directory = Path.GetDirectoryName(comparison.VerifiedPath) ?? ".";
        string received = Path.GetFileName(comparison.ReceivedPath);
        string verified = Path.GetFileName(comparison.VerifiedPath);
        var message = new StringBuilder();
        message.Append("Directory: ").Append(directory).Append('\n');
        message.Append(comparison.Outcome == GoldenOutcome.New ? "New:\n" : "NotEqual:\n");
        message.Append("  - Received: ").Append(received).Append('\n');
        message.Append("    Verified: ").Append(verified).Append('\n');
        message.Append('\n').Append("FileContent:\n");
        message.Append(comparison.Outcome == GoldenOutcome.New ? "New:\n" : "NotEqual:\n");
        message.Append('\n').Append("Received: ").Append(received).Append('\n').Append(comparison.Received).Append('\n');
        if (comparison.Verified is not null)
        {
            message.Append("Verified: ").Append(verified).Append('\n').Append(comparison.Verified).Append('\n');
        }

        return message.ToString();
    }
}
