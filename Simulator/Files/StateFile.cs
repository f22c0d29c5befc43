using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using PcieSim.Replay;
using PcieSim.Topology;

namespace PcieSim.Files;

/// <summary>
/// The saved-state file of <c>pciesim replay --save-at N --state FILE</c> and <c>--restore FILE</c>: versioned JSON
/// (README, "Saved state"). Deterministic: fixed property order, invariant culture, register values as fixed-width
/// hex strings, LF, so the same state always gives the same bytes. Reading checks the shape and every value and
/// reports the JSON path of what is wrong; whether the state fits a model is the engine's check on restore.
/// </summary>
public static class StateFile
{
    /// <summary>The <c>format</c> value that marks a pciesim state file.</summary>
    public const string FormatName = "pciesim-state";

    /// <summary>The format version this build writes and reads.</summary>
    public const int FormatVersion = 1;

    private static readonly JsonWriterOptions WriterOptions = new()
    {
        Indented = true,
        NewLine = "\n",
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>Writes <paramref name="state"/> to <paramref name="path"/> atomically.</summary>
    public static void Write(string path, ReplayState state) => AtomicFile.WriteAllText(path, Serialize(state));

    /// <summary>Reads and checks a state file; errors are <see cref="InputException"/>s naming the file.</summary>
    public static ReplayState Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return Parse(File.ReadAllBytes(path), Path.GetFileName(path));
    }

    /// <summary>The state as JSON text (UTF-8 without BOM when written; ends with LF).</summary>
    public static string Serialize(ReplayState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, WriterOptions))
        {
            var model = state.Model;
            json.WriteStartObject();
            json.WriteString("format", FormatName);
            json.WriteNumber("version", FormatVersion);
            json.WriteString("fingerprint", model.Fingerprint);
            json.WriteString("profile", PcieModel.ProfileName(model.Profile));
            json.WriteStartArray("topology");
            foreach (string flag in model.Topology)
            {
                json.WriteStringValue(flag);
            }

            json.WriteEndArray();
            json.WriteString("trace", state.Trace);
            json.WriteNumber("row", state.Row);
            if (state.Seq is { } seq)
            {
                json.WriteNumber("seq", seq);
            }
            else
            {
                json.WriteNull("seq");
            }

            json.WriteBoolean("vmmEnumerate", state.Session.VmmEnumerate);
            WriteSession(json, state.Session);
            json.WriteStartArray("ports");
            foreach (var port in model.Ports)
            {
                json.WriteStartObject();
                json.WriteString("name", port.Name);
                if (port.Child is { } child)
                {
                    json.WriteString("child", child);
                }
                else
                {
                    json.WriteNull("child");
                }

                json.WriteBoolean("presence", port.Presence);
                json.WriteBoolean("hotplugCondition", port.HotplugCondition);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteStartArray("unplugged");
            foreach (string name in model.Unplugged)
            {
                json.WriteStringValue(name);
            }

            json.WriteEndArray();
            json.WriteStartArray("functions");
            foreach (var function in model.Functions)
            {
                WriteFunction(json, function);
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }

    /// <summary>Parses state file bytes (a UTF-8 byte-order mark is accepted).</summary>
    public static ReplayState Parse(ReadOnlySpan<byte> bytes, string source)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (bytes.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
        {
            bytes = bytes[3..];
        }

        // JsonDocument checks the UTF-8 of strings only when they are read: check it all first.
        if (System.Text.Unicode.Utf8.ToUtf16(bytes, new char[bytes.Length], out int valid, out _, replaceInvalidSequences: false) != System.Buffers.OperationStatus.Done)
        {
            int line = 1 + bytes[..valid].Count((byte)'\n');
            int column = valid - bytes[..valid].LastIndexOf((byte)'\n');
            throw new InputException(source, line, column, "not valid UTF-8");
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(bytes.ToArray());
        }
        catch (JsonException error)
        {
            string message = error.Message;
            int at = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
            throw new InputException(source, (int)(error.LineNumber ?? -1) + 1, (int)(error.BytePositionInLine ?? -1) + 1, "not valid JSON: " + (at < 0 ? message : message[..at]));
        }

        using (document)
        {
            return new Reader(source).State(document.RootElement);
        }
    }

    private static void WriteSession(Utf8JsonWriter json, SessionState session)
    {
        var c = session.Counters;
        json.WriteStartObject("counters");
        json.WriteNumber("records", c.Records);
        json.WriteStartObject("byOp");
        foreach (var op in Enum.GetValues<TraceOp>())
        {
            json.WriteNumber(TraceFormat.FormatOp(op), c.ByOp[(int)op]);
        }

        json.WriteEndObject();
        json.WriteNumber("mismatches", c.Mismatches);
        json.WriteNumber("violations", c.Violations);
        json.WriteNumber("messagesAccepted", c.MessagesAccepted);
        json.WriteNumber("messagesDropped", c.MessagesDropped);
        json.WriteNumber("unroutable", c.Unroutable);
        json.WriteNumber("marked", c.Marked);
        json.WriteEndObject();
        json.WriteStartObject("edgeState");
        foreach (var (port, condition) in session.EdgeState)
        {
            json.WriteBoolean(port, condition);
        }

        json.WriteEndObject();
    }

    private static void WriteFunction(Utf8JsonWriter json, FunctionState function)
    {
        json.WriteStartObject();
        json.WriteString("name", function.Name);
        json.WriteStartObject("config");
        foreach (var dword in function.Config)
        {
            json.WriteString(Inv($"0x{dword.Index * 4:x3}"), Hex32(dword.Value));
        }

        json.WriteEndObject();
        json.WriteString("msiLatch", Hex32(function.MsiLatch));
        if (function.Msix is { } vectors)
        {
            // Like the registers, only entries that differ from reset (address 0, data 0, masked, not pending).
            json.WriteStartObject("msix");
            json.WriteNumber("vectors", vectors.Count);
            json.WriteStartObject("changed");
            for (int v = 0; v < vectors.Count; v++)
            {
                var vector = vectors[v];
                if (vector == MsixReset)
                {
                    continue;
                }

                json.WriteStartObject(v.ToString(CultureInfo.InvariantCulture));
                json.WriteString("address", Inv($"0x{vector.Address:x16}"));
                json.WriteString("data", Hex32(vector.Data));
                json.WriteString("control", Hex32(vector.VectorControl));
                json.WriteBoolean("pending", vector.Pending);
                json.WriteEndObject();
            }

            json.WriteEndObject();
            json.WriteEndObject();
        }

        json.WriteEndObject();
    }

    /// <summary>An MSI-X table entry after reset: Vector Control Mask set (PCIe Base Spec r6.0 §7.7.2.4).</summary>
    private static readonly MsixVectorState MsixReset = new(0, 0, 1, false);

    private static string Hex32(uint value) => Inv($"0x{value:x8}");

    private static string Inv(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    /// <summary>Reads the JSON tree, naming the path of the first thing that is wrong (e.g. <c>functions[2].config.0x058</c>).</summary>
    private sealed class Reader(string source)
    {
        public ReplayState State(JsonElement root)
        {
            Expect(root, JsonValueKind.Object, "the document");
            if (!root.TryGetProperty("format", out var format) || format.ValueKind != JsonValueKind.String || format.GetString() != FormatName)
            {
                throw Bad(Inv($"not a pciesim state file: \"format\" must be \"{FormatName}\""));
            }

            var version = Property(root, "version", "");
            if (version.ValueKind != JsonValueKind.Number || !version.TryGetInt32(out int v) || v != FormatVersion)
            {
                throw Bad(Inv($"state format version {version.GetRawText()} is not supported: this pciesim reads version {FormatVersion}"));
            }

            Only(root, "", "format", "version", "fingerprint", "profile", "topology", "trace", "row", "seq", "vmmEnumerate", "counters", "edgeState", "ports", "unplugged", "functions");
            string fingerprint = String(Property(root, "fingerprint", ""), "fingerprint");
            string profileName = String(Property(root, "profile", ""), "profile");
            var profile = profileName switch
            {
                "openvmm" => BehaviourProfile.OpenVmm,
                "spec" => BehaviourProfile.Spec,
                _ => throw Bad(Inv($"profile: \"{profileName}\" is not a profile (allowed: openvmm, spec)")),
            };
            var topology = Strings(Property(root, "topology", ""), "topology");
            if (!string.Equals(PcieModel.Fingerprint(topology, profile), fingerprint, StringComparison.Ordinal))
            {
                throw Bad(Inv($"fingerprint: {fingerprint} is not the fingerprint of the file's own topology and profile: the file was altered"));
            }

            string trace = String(Property(root, "trace", ""), "trace");
            var rowElement = Property(root, "row", "");
            if (rowElement.ValueKind != JsonValueKind.Number || !rowElement.TryGetInt32(out int row) || row < 1)
            {
                throw Bad(Inv($"row: expected a data row number (1 or more), found {rowElement.GetRawText()}"));
            }

            var seqElement = Property(root, "seq", "");
            long? seq = seqElement.ValueKind switch
            {
                JsonValueKind.Null => null,
                JsonValueKind.Number when seqElement.TryGetInt64(out long s) => s,
                _ => throw Bad(Inv($"seq: expected an integer or null, found {seqElement.GetRawText()}")),
            };

            bool vmmEnumerate = Bool(Property(root, "vmmEnumerate", ""), "vmmEnumerate");
            var session = new SessionState(Counters(Property(root, "counters", "")), EdgeState(Property(root, "edgeState", "")), vmmEnumerate);
            var ports = new List<PortState>();
            int i = 0;
            foreach (var port in Array(Property(root, "ports", ""), "ports"))
            {
                string path = Inv($"ports[{i++}]");
                Expect(port, JsonValueKind.Object, path);
                Only(port, path, "name", "child", "presence", "hotplugCondition");
                var child = Property(port, "child", path);
                ports.Add(new PortState(
                    String(Property(port, "name", path), path + ".name"),
                    child.ValueKind == JsonValueKind.Null ? null : String(child, path + ".child"),
                    Bool(Property(port, "presence", path), path + ".presence"),
                    Bool(Property(port, "hotplugCondition", path), path + ".hotplugCondition")));
            }

            var unplugged = Strings(Property(root, "unplugged", ""), "unplugged");
            var functions = new List<FunctionState>();
            i = 0;
            foreach (var function in Array(Property(root, "functions", ""), "functions"))
            {
                functions.Add(Function(function, Inv($"functions[{i++}]")));
            }

            var model = new ModelState(fingerprint, profile, topology, ports, unplugged, functions);
            return new ReplayState(trace, row, seq, model, session) { Source = source };
        }

        private CountersState Counters(JsonElement counters)
        {
            Expect(counters, JsonValueKind.Object, "counters");
            Only(counters, "counters", "records", "byOp", "mismatches", "violations", "messagesAccepted", "messagesDropped", "unroutable", "marked");
            var byOpElement = Property(counters, "byOp", "counters");
            Expect(byOpElement, JsonValueKind.Object, "counters.byOp");
            var ops = Enum.GetValues<TraceOp>();
            Only(byOpElement, "counters.byOp", [.. ops.Select(TraceFormat.FormatOp)]);
            var byOp = new long[ops.Length];
            foreach (var op in ops)
            {
                string name = TraceFormat.FormatOp(op);
                byOp[(int)op] = Count(Property(byOpElement, name, "counters.byOp"), "counters.byOp." + name);
            }

            return new CountersState(
                Count(Property(counters, "records", "counters"), "counters.records"),
                byOp,
                Count(Property(counters, "mismatches", "counters"), "counters.mismatches"),
                Count(Property(counters, "violations", "counters"), "counters.violations"),
                Count(Property(counters, "messagesAccepted", "counters"), "counters.messagesAccepted"),
                Count(Property(counters, "messagesDropped", "counters"), "counters.messagesDropped"),
                Count(Property(counters, "unroutable", "counters"), "counters.unroutable"),
                Count(Property(counters, "marked", "counters"), "counters.marked"));
        }

        private List<KeyValuePair<string, bool>> EdgeState(JsonElement edges)
        {
            Expect(edges, JsonValueKind.Object, "edgeState");
            var result = new List<KeyValuePair<string, bool>>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var edge in edges.EnumerateObject())
            {
                if (!seen.Add(edge.Name))
                {
                    throw Bad(Inv($"edgeState: port \"{edge.Name}\" is repeated"));
                }

                result.Add(new(edge.Name, Bool(edge.Value, "edgeState." + edge.Name)));
            }

            return result;
        }

        private FunctionState Function(JsonElement function, string path)
        {
            Expect(function, JsonValueKind.Object, path);
            Only(function, path, "name", "config", "msiLatch", "msix");
            string name = String(Property(function, "name", path), path + ".name");
            var configElement = Property(function, "config", path);
            Expect(configElement, JsonValueKind.Object, path + ".config");
            var config = new List<ConfigDword>();
            foreach (var dword in configElement.EnumerateObject())
            {
                string at = path + ".config." + dword.Name;
                if (!TryHex(dword.Name, 3, out ulong offset) || offset % 4 != 0 || offset >= 4096)
                {
                    throw Bad(Inv($"{at}: expected a DWORD offset 0x000..0xffc as three hex digits"));
                }

                config.Add(new ConfigDword((int)(offset / 4), (uint)Hex(dword.Value, 8, at)));
            }

            config.Sort((a, b) => a.Index.CompareTo(b.Index));
            uint latch = (uint)Hex(Property(function, "msiLatch", path), 8, path + ".msiLatch");
            List<MsixVectorState>? msix = null;
            if (function.TryGetProperty("msix", out var msixElement))
            {
                string table = path + ".msix";
                Expect(msixElement, JsonValueKind.Object, table);
                Only(msixElement, table, "vectors", "changed");
                var countElement = Property(msixElement, "vectors", table);
                if (countElement.ValueKind != JsonValueKind.Number || !countElement.TryGetInt32(out int count) || count < 1 || count > 2048)
                {
                    throw Bad(Inv($"{table}.vectors: expected an MSI-X table size 1..2048, found {countElement.GetRawText()}"));
                }

                msix = [.. Enumerable.Repeat(MsixReset, count)];
                var changed = Property(msixElement, "changed", table);
                Expect(changed, JsonValueKind.Object, table + ".changed");
                var seen = new HashSet<int>();
                foreach (var entry in changed.EnumerateObject())
                {
                    string at = table + ".changed." + entry.Name;
                    if (!int.TryParse(entry.Name, NumberStyles.None, CultureInfo.InvariantCulture, out int v) || v >= count || !seen.Add(v))
                    {
                        throw Bad(Inv($"{at}: expected a vector number 0..{count - 1}, once"));
                    }

                    var vector = entry.Value;
                    Expect(vector, JsonValueKind.Object, at);
                    Only(vector, at, "address", "data", "control", "pending");
                    msix[v] = new MsixVectorState(
                        Hex(Property(vector, "address", at), 16, at + ".address"),
                        (uint)Hex(Property(vector, "data", at), 8, at + ".data"),
                        (uint)Hex(Property(vector, "control", at), 8, at + ".control"),
                        Bool(Property(vector, "pending", at), at + ".pending"));
                }
            }

            return new FunctionState(name, config, latch, msix);
        }

        private JsonElement Property(JsonElement element, string name, string path) =>
            element.TryGetProperty(name, out var value) ? value : throw Bad(Inv($"{(path.Length == 0 ? "" : path + ": ")}\"{name}\" is missing"));

        /// <summary>Rejects unknown and repeated properties: a state file is written by pciesim, so either is damage.</summary>
        private void Only(JsonElement element, string path, params string[] names)
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in element.EnumerateObject())
            {
                if (System.Array.IndexOf(names, property.Name) < 0)
                {
                    throw Bad(Inv($"{(path.Length == 0 ? "" : path + ": ")}unknown property \"{property.Name}\""));
                }

                if (!seen.Add(property.Name))
                {
                    throw Bad(Inv($"{(path.Length == 0 ? "" : path + ": ")}property \"{property.Name}\" is repeated"));
                }
            }
        }

        private void Expect(JsonElement element, JsonValueKind kind, string path)
        {
            if (element.ValueKind != kind)
            {
                throw Bad(Inv($"{path}: expected {Kind(kind)}, found {Kind(element.ValueKind)}"));
            }
        }

        private JsonElement.ArrayEnumerator Array(JsonElement element, string path)
        {
            Expect(element, JsonValueKind.Array, path);
            return element.EnumerateArray();
        }

        private string String(JsonElement element, string path)
        {
            Expect(element, JsonValueKind.String, path);
            return element.GetString()!;
        }

        private List<string> Strings(JsonElement element, string path)
        {
            var result = new List<string>();
            int i = 0;
            foreach (var item in Array(element, path))
            {
                result.Add(String(item, Inv($"{path}[{i++}]")));
            }

            return result;
        }

        private bool Bool(JsonElement element, string path) => element.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Bad(Inv($"{path}: expected true or false, found {Kind(element.ValueKind)}")),
        };

        private long Count(JsonElement element, string path) =>
            element.ValueKind == JsonValueKind.Number && element.TryGetInt64(out long n) && n >= 0
                ? n
                : throw Bad(Inv($"{path}: expected a count (0 or more), found {element.GetRawText()}"));

        private ulong Hex(JsonElement element, int digits, string path)
        {
            string? text = element.ValueKind == JsonValueKind.String ? element.GetString() : null;
            return text is not null && TryHex(text, digits, out ulong value)
                ? value
                : throw Bad(Inv($"{path}: expected a hex string \"0x\" and up to {digits} digits, found {element.GetRawText()}"));
        }

        private static bool TryHex(string text, int maxDigits, out ulong value)
        {
            value = 0;
            return text.Length > 2 && text.Length <= maxDigits + 2 && text.StartsWith("0x", StringComparison.Ordinal)
                && ulong.TryParse(text.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
        }

        private static string Kind(JsonValueKind kind) => kind switch
        {
            JsonValueKind.Object => "an object",
            JsonValueKind.Array => "an array",
            JsonValueKind.String => "a string",
            JsonValueKind.Number => "a number",
            JsonValueKind.True or JsonValueKind.False => "true or false",
            JsonValueKind.Null => "null",
            _ => "nothing",
        };

        private InputException Bad(string message) => new(source, 0, 0, message);
    }
}
