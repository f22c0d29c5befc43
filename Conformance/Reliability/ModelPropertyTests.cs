using PcieSim.Conformance.TestSupport;
using static PcieSim.Conformance.Reliability.PropertyCheck;

namespace PcieSim.Conformance.Reliability;

/// <summary>
/// Issue 6 property tests (FsCheck, fixed seed; see <see cref="PropertyCheck"/> to replay a failure): random
/// topologies, valid by construction, times random access sequences (every width including invalid ones, every
/// offset and lane, both address forms, enumeration, hot-add and hot-remove, resets, raise, MMIO to the MSI-X
/// table), replayed through the replay session. In every property nothing but a refused hot-plug or raise throws.
/// </summary>
[TestFixture]
public sealed class ModelPropertyTests
{
    private const int Cases = 120;

    [Test]
    public void the_model_never_throws_and_a_refused_record_changes_nothing() =>
        ForAll(nameof(the_model_never_throws_and_a_refused_record_changes_nothing), ModelGen.Arbitrary(), c => ModelRun.Execute(c, Invariants.RefusalChangesNothing), Cases);

    [Test]
    public void read_only_bits_never_change() =>
        ForAll(nameof(read_only_bits_never_change), ModelGen.Arbitrary(), c => ModelRun.Execute(c, Invariants.ReadOnlyBits), Cases);

    [Test]
    public void rw1c_bits_only_clear_where_1_is_written() =>
        ForAll(nameof(rw1c_bits_only_clear_where_1_is_written), ModelGen.Arbitrary(), c => ModelRun.Execute(c, Invariants.Rw1c), Cases);

    [Test]
    public void a_function_that_does_not_exist_reads_all_ones() =>
        ForAll(nameof(a_function_that_does_not_exist_reads_all_ones), ModelGen.Arbitrary(), c => ModelRun.Execute(c, Invariants.AllOnes), Cases);

    [Test]
    public void a_write_affects_exactly_its_byte_lanes_and_a_read_nothing() =>
        ForAll(nameof(a_write_affects_exactly_its_byte_lanes_and_a_read_nothing), ModelGen.Arbitrary(), c => ModelRun.Execute(c, Invariants.ByteLanes), Cases);

    [Test]
    public void replaying_the_same_sequence_twice_gives_the_same_outcomes() =>
        ForAll(nameof(replaying_the_same_sequence_twice_gives_the_same_outcomes), ModelGen.Arbitrary(), c =>
        {
            string first = ModelRun.Execute(c, Invariants.None);
            string second = ModelRun.Execute(c, Invariants.None);
            Require(string.Equals(first, second, StringComparison.Ordinal), () => "two replays differ:\n" + first + "\n----\n" + second);
        }, Cases);

    [Test]
    public void generated_topologies_parse_and_sequences_reach_functions()
    {
        // The generators are valid by construction and not degenerate: every sampled topology builds, and the
        // sampled sequences complete accesses below root ports (an enumeration makes bus numbers routable).
        var samples = FsCheck.Fluent.Gen.Sample(ModelGen.Cases, 40, new FsCheck.Rnd(Seed, Gamma), 50);
        int deep = 0;
        foreach (var c in samples)
        {
            var model = Topo.Build(c.Topology.Flags());
            Assert.That(model.Ports, Is.Not.Empty, c.Topology.Flags());
            string snapshot = ModelRun.Execute(c, Invariants.None);
            deep += snapshot.Split('\n').Count(l => l.Contains(" read ", StringComparison.Ordinal) && l.Contains(" > ", StringComparison.Ordinal) && !l.Contains("0xffffffff", StringComparison.Ordinal));
        }

        Assert.That(deep, Is.GreaterThan(20), "reads that completed below a root port");
    }
}
