using PcieSim.AddressDecode;
using PcieSim.Topology;

namespace PcieSim.Conformance.Topology;

/// <summary>
/// <see cref="ConfigAccessResult"/> keeps its small fields packed in two 64-bit words: each field reads back what was
/// set, whatever the others hold and in whichever order they were set.
/// </summary>
public class ConfigAccessResultTests
{
    private static readonly EcamAddress Top = new(0xFF, 0xFF, 0xFFFF);
    private static readonly EcamAddress Bottom = new(0x01, 0x00, 0x0001);

    [Test]
    public void fields_set_through_an_initializer_read_back()
    {
        var full = new ConfigAccessResult
        {
            Status = AccessStatus.NoRootComplex,
            Failure = RouteFailure.EndpointIgnoresType1,
            IsWrite = true,
            Address = Top,
            Width = 0xFF,
            Value = ulong.MaxValue,
            Before = uint.MaxValue,
            After = uint.MaxValue,
        };
        Assert.Multiple(() =>
        {
            Assert.That(full.Status, Is.EqualTo(AccessStatus.NoRootComplex));
            Assert.That(full.Failure, Is.EqualTo(RouteFailure.EndpointIgnoresType1));
            Assert.That(full.IsWrite, Is.True);
            Assert.That(full.Address, Is.EqualTo(Top));
            Assert.That(full.Width, Is.EqualTo(0xFF));
            Assert.That(full.Value, Is.EqualTo(ulong.MaxValue));
            Assert.That(full.Before, Is.EqualTo(uint.MaxValue));
            Assert.That(full.After, Is.EqualTo(uint.MaxValue));
        });

        // Each field set again, last, to a small value: only that field changes.
        var lowered = full with { Status = AccessStatus.Completed, Failure = RouteFailure.None, IsWrite = false, Address = Bottom, Width = 1, Before = 2, After = 3 };
        Assert.Multiple(() =>
        {
            Assert.That(lowered.Status, Is.EqualTo(AccessStatus.Completed));
            Assert.That(lowered.Failure, Is.EqualTo(RouteFailure.None));
            Assert.That(lowered.IsWrite, Is.False);
            Assert.That(lowered.Address, Is.EqualTo(Bottom));
            Assert.That(lowered.Width, Is.EqualTo(1));
            Assert.That(lowered.Before, Is.EqualTo(2));
            Assert.That(lowered.After, Is.EqualTo(3));
            Assert.That(lowered.Value, Is.EqualTo(ulong.MaxValue));
        });
    }

    [Test]
    public void each_field_alone_leaves_the_others_default()
    {
        Assert.Multiple(() =>
        {
            Assert.That(new ConfigAccessResult { Width = 0xFF }.Address, Is.EqualTo(default(EcamAddress)));
            Assert.That(new ConfigAccessResult { Address = Top }.Width, Is.Zero);
            Assert.That(new ConfigAccessResult { Address = Top }.IsWrite, Is.False);
            Assert.That(new ConfigAccessResult { IsWrite = true }.Failure, Is.EqualTo(RouteFailure.None));
            Assert.That(new ConfigAccessResult { Failure = RouteFailure.EndpointIgnoresType1 }.Status, Is.EqualTo(AccessStatus.Completed));
            Assert.That(new ConfigAccessResult { Status = AccessStatus.NoRootComplex }.Failure, Is.EqualTo(RouteFailure.None));
            Assert.That(new ConfigAccessResult { Before = uint.MaxValue }.After, Is.Zero);
            Assert.That(new ConfigAccessResult { After = uint.MaxValue }.Before, Is.Zero);
        });
    }
}
