using System.Text;
using PcieSim.Topology.Language;

namespace PcieSim.Conformance.Topology;

public partial class TopologyLanguageTests
{
    [Test]
    public void unknown_flag_is_named_with_the_known_flags()
    {
        Fails(
            "--pcie-root-complex rc0\n  --pcie-remote rp0",
            2,
            3,
            "unknown flag '--pcie-remote' (known: --pcie-root-complex, --pcie-root-port, --pcie-switch, --pcie-endpoint, --amd-iommu, --gic-msi, --pcie-ecam-below-4gb)");
    }

    [TestCase("rc0", 1, "expected a flag such as --pcie-root-complex, found 'rc0'")]
    [TestCase("-- rc0", 1, "expected a flag such as --pcie-root-complex, found '--'")]
    [TestCase("-pcie-root-complex rc0", 1, "found '-pcie-root-complex'")]
    public void text_that_is_not_a_flag(string text, int column, string fragment)
    {
        Fails(text, 1, column, fragment);
    }

    [Test]
    public void flag_without_value()
    {
        Fails("--pcie-root-complex", 1, 1, "--pcie-root-complex: missing value (NAME[,segment=S]");
        Fails("--pcie-root-complex --pcie-root-port rc0:p", 1, 1, "--pcie-root-complex: missing value");
        Fails("--pcie-root-complex # rc0", 1, 1, "--pcie-root-complex: missing value");
    }

    [Test]
    public void stray_value_after_a_flag_without_value()
    {
        Fails("--pcie-root-complex rc0 --pcie-ecam-below-4gb yes", 1, 47, "expected a flag such as --pcie-root-complex, found 'yes'");
    }

    [Test]
    public void column_offset_is_added_to_every_column()
    {
        var lines = new[] { new TopologySourceLine("t.trace", 7, 100, "--pcie-root-complex rc0,segment=x") };
        InputException error = Assert.Throws<InputException>(() => TopologyParser.Parse(lines))!;
        Assert.Multiple(() =>
        {
            Assert.That(error.Line, Is.EqualTo(7));
            Assert.That(error.Column, Is.EqualTo(100 + 33));
            Assert.That(error.Message, Is.EqualTo("--pcie-root-complex rc0,segment=x: segment=x: expected a number, decimal or 0x hex (0..0xffff)"));
        });
    }

    [TestCase("--pcie-root-complex rc0,segment=+1")]
    [TestCase("--pcie-root-complex rc0,segment= 1")]
    [TestCase("--pcie-root-complex rc0,start_bus=0x")]
    [TestCase("--pcie-root-complex rc0,start_bus=1_0")]
    [TestCase("--pcie-root-complex rc0,high_mmio=99999999999999999999")]
    [TestCase("--pcie-root-complex rc0,high_mmio=17179869184G")]
    [TestCase("--pcie-root-complex rc0,ecam_base=0x10000000000000000")]
    [TestCase("--pcie-root-complex rc0,=5")]
    [TestCase("--pcie-root-complex ,segment=1")]
    [TestCase("--pcie-root-complex rc\u00e90")]
    [TestCase("--pcie-endpoint e,template=generic,msix=8@")]
    [TestCase("--pcie-endpoint e,template=generic,subsystem=::")]
    [TestCase("--pcie-root-port rc0:p,addr=.")]
    public void malformed_values_are_input_errors(string text)
    {
        InputException error = Assert.Throws<InputException>(() => Parse(text))!;
        Assert.Multiple(() =>
        {
            Assert.That(error.Line, Is.EqualTo(1));
            Assert.That(error.Column, Is.GreaterThan(0));
            Assert.That(error.Message, Does.StartWith("--pcie-"));
        });
    }

    /// <summary>Odd text, from grammar pieces and random characters, never raises anything but an InputException.</summary>
    [Test]
    public void odd_strings_only_ever_raise_input_exceptions()
    {
        string[] pieces =
        [
            "--pcie-root-complex", "--pcie-root-port", "--pcie-switch", "--pcie-endpoint", "--amd-iommu", "--gic-msi",
            "--pcie-ecam-below-4gb", "--bogus", "rc0", "rc1", "rp0", "rp1", "sw", "sw-downstream-0", "sw-downstream-3", "e",
            "rc0:rp0", "rc0:rp1", "rp0:sw", "sw-downstream-0:sw2", "sw2-downstream-1:sw", "rp1:e", "its", "v2m", "auto",
            ",", ":", "=", "@", ".", "#", " ", "\n", "\t", "\r", "0", "0x", "0xFFFFFFFFFFFFFFFF", "256", "-1", "4G", "99999999999999999999K",
            ",segment=", ",segment=1", ",start_bus=", ",end_bus=3", ",ecam_base=0x1000000000", ",ecam_base=0xFFFFFFFFFFF00000",
            ",low_mmio=", ",addr=", ",addr=31.7", ",addr=0x14", ",hotplug", ",cc", ",acs=", ",pasid", ",cxl", ",num_downstream_ports=",
            ",template=nvme", ",template=generic", ",msix=", ",msix=8@bar", ",bar0=", ",bar2=4K", ",msi=", ",subsystem=1:", ",frame=",
            ",spi_base=", ",spi_count=", ",translater=", "\u00e9", "\u0000", "\uffff", "\ud800",
        ];
        var random = new Random(20261121);
        int parsed = 0;
        for (int iteration = 0; iteration < 5000; iteration++)
        {
            var sb = new StringBuilder();
            int count = random.Next(1, 14);
            for (int i = 0; i < count; i++)
            {
                sb.Append(random.Next(4) == 0 ? ((char)random.Next(0, 0x7F)).ToString() : pieces[random.Next(pieces.Length)]);
                if (random.Next(3) == 0)
                {
                    sb.Append(' ');
                }
            }

            string text = sb.ToString();
            try
            {
                TopologySpec spec = Parse(text);
                Assert.That(spec.NormalisedFlags, Is.Not.Null);
                parsed++;
            }
            catch (InputException error)
            {
                Assert.That(error.Line, Is.GreaterThan(0), text);
                Assert.That(error.Column, Is.GreaterThan(0), text);
            }
            catch (Exception other)
            {
                Assert.Fail($"{other.GetType().Name} escaped for {text}: {other}");
            }
        }

        Assert.That(parsed, Is.GreaterThan(0), "some random texts should parse");
    }
}
