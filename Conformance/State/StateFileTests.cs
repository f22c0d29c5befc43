using System.Globalization;
using System.Text;
using PcieSim.Conformance.Golden;
using PcieSim.Files;
using PcieSim.Replay;
using PcieSim.Topology;
using PcieSim.Topology.Language;
using static PcieSim.Conformance.State.StateSupport;

namespace PcieSim.Conformance.State;

/// <summary>
/// The state file: versioned JSON, the same bytes for the same state, and a clear error (file, JSON path, what was
/// expected) for anything damaged, never an unhandled exception.
/// </summary>
public class StateFileTests
{
    private static string Trace05 => Path.Combine(TracesDirectory(), "05-pciehp-root-port-its.csv");

    /// <summary>The pciehp trace saved after the hot-add's msi row (row 18): PDC, DLLSC latched, the condition true.</summary>
    private static ReplayState Saved(BehaviourProfile profile = BehaviourProfile.OpenVmm, long at = 18) =>
        ReplayTrace(Trace05, profile, at).Result.Saved!;

    private static string Valid => StateFile.Serialize(Saved());

    private static InputException Error(string text) => Error(Encoding.UTF8.GetBytes(text));

    private static InputException Error(byte[] bytes) => Assert.Throws<InputException>(() => StateFile.Parse(bytes, "s.json"))!;

    /// <summary>Replaces the first occurrence of <paramref name="old"/>, which must be there.</summary>
    private static string Edit(string text, string old, string replacement)
    {
        int at = text.IndexOf(old, StringComparison.Ordinal);
        Assert.That(at, Is.GreaterThanOrEqualTo(0), "the valid file contains " + old);
        return string.Concat(text.AsSpan(0, at), replacement, text.AsSpan(at + old.Length));
    }

    [Test]
    public async Task state_file_of_the_pciehp_trace_after_the_hot_add()
    {
        await Verifier.Verify(Valid);
    }

    [Test]
    public void the_same_state_gives_the_same_bytes_in_any_culture_and_round_trips()
    {
        string first = Valid;
        var culture = CultureInfo.CurrentCulture;
        try
        {
            foreach (string name in new[] { "tr-TR", "de-DE", "ar-SA" })
            {
                CultureInfo.CurrentCulture = CultureInfo.GetCultureInfo(name);
                Assert.That(Valid, Is.EqualTo(first), name);
            }
        }
        finally
        {
            CultureInfo.CurrentCulture = culture;
        }

        Assert.That(StateFile.Serialize(ThroughFile(Saved())), Is.EqualTo(first), "parse then serialize gives the same bytes");
        Assert.That(first, Does.EndWith("}\n").And.Not.Contain("\r"));
    }

    [Test]
    public void a_byte_order_mark_is_accepted()
    {
        byte[] bytes = [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(Valid)];
        Assert.That(StateFile.Serialize(StateFile.Parse(bytes, "s.json")), Is.EqualTo(Valid));
    }

    [Test]
    public void not_json_names_line_and_column()
    {
        var error = Error(Edit(Valid, "\"version\": 1,", "\"version\": 1,,"));
        Assert.That(error.Describe(), Does.Match(@"^s\.json:3:\d+: not valid JSON: "));
        Assert.That(error.Message, Does.Not.Contain("LineNumber"));
    }

    [Test]
    public void empty_truncated_and_binary_files_are_clear_errors()
    {
        Assert.That(Error("").Message, Does.StartWith("not valid JSON"));
        Assert.That(Error(Valid[..(Valid.Length / 2)]).Message, Does.StartWith("not valid JSON"));
        Assert.That(Error([0x00, 0xFF, 0xFE, 0x7B, 0x80]).Describe(), Is.EqualTo("s.json:1:2: not valid UTF-8"));
        Assert.That(Error([0x00, 0x01, 0x02]).Message, Does.StartWith("not valid JSON"));
        byte[] badString = Encoding.UTF8.GetBytes(Edit(Valid, "\"trace\": \"05", "\"trace\": \"\u00e505"));
        int at = Array.IndexOf(badString, (byte)0xC3);
        badString[at + 1] = 0x28;
        Assert.That(Error(badString).Describe(), Does.Match(@"^s\.json:12:\d+: not valid UTF-8$"), "invalid UTF-8 inside a string");
        Assert.That(Error("[1, 2]").Message, Is.EqualTo("the document: expected an object, found an array"));
    }

    [Test]
    public void an_unknown_version_or_a_file_that_is_not_a_state_file()
    {
        Assert.That(Error(Edit(Valid, "\"version\": 1,", "\"version\": 2,")).Message, Is.EqualTo("state format version 2 is not supported: this pciesim reads version 1"));
        Assert.That(Error(Edit(Valid, "\"version\": 1,", "\"version\": \"1\",")).Message, Is.EqualTo("state format version \"1\" is not supported: this pciesim reads version 1"));
        Assert.That(Error(Edit(Valid, "\"pciesim-state\"", "\"pciesim-snapshot\"")).Message, Is.EqualTo("not a pciesim state file: \"format\" must be \"pciesim-state\""));
        Assert.That(Error("{\"records\": []}").Message, Is.EqualTo("not a pciesim state file: \"format\" must be \"pciesim-state\""));
    }

    [Test]
    public void an_altered_topology_no_longer_matches_its_fingerprint()
    {
        var error = Error(Edit(Valid, "rc0:rp0,addr=0x00.0,hotplug", "rc0:rp0,addr=0x00.0"));
        Assert.That(error.Message, Does.StartWith("fingerprint: sha256:").And.EndWith("is not the fingerprint of the file's own topology and profile: the file was altered"));
    }

    public static IEnumerable<TestCaseData> Damage()
    {
        yield return Case("\"profile\": \"openvmm\"", "\"profile\": \"fast\"", "profile: \"fast\" is not a profile (allowed: openvmm, spec)", "profile");
        yield return Case("\"row\": 18", "\"row\": 0", "row: expected a data row number (1 or more), found 0", "row_zero");
        yield return Case("\"seq\": 18", "\"seq\": \"18\"", "seq: expected an integer or null, found \"18\"", "seq_string");
        yield return Case("\"vmmEnumerate\": false", "\"vmmEnumerate\": null", "vmmEnumerate: expected true or false, found null", "vmm_enumerate_null");
        yield return Case("\"records\": 18", "\"records\": -1", "counters.records: expected a count (0 or more), found -1", "negative_count");
        yield return Case("\"hot-add\": 1,", "\"hot-add\": 1, \"plug\": 0,", "counters.byOp: unknown property \"plug\"", "unknown_op");
        yield return Case("\"rp0\": true", "\"rp0\": 1", "edgeState.rp0: expected true or false, found a number", "edge_not_bool");
        yield return Case("\"rp0\": true", "\"rp0\": true, \"rp0\": false", "edgeState: port \"rp0\" is repeated", "edge_repeated");
        yield return Case("\"presence\": true", "\"presence\": \"yes\"", "ports[0].presence: expected true or false, found a string", "presence_string");
        yield return Case("\"hotplugCondition\": true", "\"hotplugCondition\": true, \"color\": 1", "ports[0]: unknown property \"color\"", "unknown_property");
        yield return Case("\"name\": \"rp0\",\n      \"child\"", "\"child\"", "ports[0]: \"name\" is missing", "missing_property");
        yield return Case("\"trace\": ", "\"trace\": 1, \"trace\": ", "property \"trace\" is repeated", "repeated_property");
        yield return Case("\"0x018\": \"0x00010100\"", "\"0x018\": \"0x100010100\"", "functions[0].config.0x018: expected a hex string \"0x\" and up to 8 digits, found \"0x100010100\"", "value_too_wide");
        yield return Case("\"0x018\": \"0x00010100\"", "\"0x018\": 65792", "functions[0].config.0x018: expected a hex string \"0x\" and up to 8 digits, found 65792", "value_not_hex");
        yield return Case("\"0x018\": \"0x00010100\"", "\"0x019\": \"0x00010100\"", "functions[0].config.0x019: expected a DWORD offset 0x000..0xffc as three hex digits", "offset_unaligned");
        yield return Case("\"0x018\": \"0x00010100\"", "\"0x1000\": \"0x00010100\"", "functions[0].config.0x1000: expected a DWORD offset 0x000..0xffc as three hex digits", "offset_beyond_4k");
        yield return Case("\"msiLatch\": \"0x00000000\"", "\"msiLatch\": \"00000000\"", "functions[0].msiLatch: expected a hex string \"0x\" and up to 8 digits, found \"00000000\"", "latch_without_0x");
        yield return Case("\"vectors\": 64", "\"vectors\": 4096", "functions[1].msix.vectors: expected an MSI-X table size 1..2048, found 4096", "msix_table_too_large");
        yield return Case("\"changed\": {}", "\"changed\": {\"64\": {}}", "functions[1].msix.changed.64: expected a vector number 0..63, once", "msix_vector_out_of_range");
        yield return Case("\"changed\": {}", "\"changed\": {\"3\": {\"address\": \"0x0\", \"data\": \"0x0\", \"control\": \"0x0\"}}", "functions[1].msix.changed.3: \"pending\" is missing", "msix_entry_incomplete");
        yield return Case("\"functions\": [", "\"functions\": 3, \"x\": [", "unknown property \"x\"", "functions_not_array_and_unknown");
        yield return Case("\"unplugged\": []", "\"unplugged\": [7]", "unplugged[0]: expected a string, found a number", "unplugged_not_string");

        static TestCaseData Case(string old, string replacement, string message, string name) =>
            new TestCaseData(old, replacement, message).SetName("damaged_" + name);
    }

    [TestCaseSource(nameof(Damage))]
    public void a_damaged_file_names_the_json_path_of_what_is_wrong(string old, string replacement, string message)
    {
        var error = Error(Edit(Valid, old, replacement));
        Assert.That(error.Message, Is.EqualTo(message));
        Assert.That(error.Describe(), Is.EqualTo("s.json: " + message));
    }

    [Test]
    public void fuzzed_state_files_raise_only_input_errors()
    {
        // Seeded single-byte mutations of a valid file: a clean error or a state, never another exception.
        const int Seed = 8086;
        var random = new Random(Seed);
        byte[] valid = Encoding.UTF8.GetBytes(Valid);
        byte[] interesting = [(byte)'"', (byte)',', (byte)'{', (byte)'}', (byte)'[', (byte)']', (byte)':', (byte)'0', (byte)'x', (byte)'f', (byte)'-', 0x00, 0xFF, 0xC3];
        var model = new PcieModel(TopologyParser.Parse(string.Join(' ', Saved().Model.Topology), "t"));
        for (int i = 0; i < 1500; i++)
        {
            byte[] bytes = (byte[])valid.Clone();
            int at = random.Next(bytes.Length);
            bytes[at] = random.Next(2) == 0 ? interesting[random.Next(interesting.Length)] : (byte)random.Next(256);
            try
            {
                var state = StateFile.Parse(bytes, "s.json");
                model.RestoreState(state.Model, state.Source);
            }
            catch (InputException)
            {
            }
            catch (Exception other)
            {
                Assert.Fail(string.Create(CultureInfo.InvariantCulture, $"seed {Seed}, iteration {i}, byte {at} = 0x{bytes[at]:x2}: {other.GetType().Name}: {other.Message}"));
            }
        }
    }
}
