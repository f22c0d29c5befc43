using System.Text;
using PcieSim.Files;

namespace PcieSim.Conformance.Files;

public partial class TraceReaderTests
{
    private const string ValidTrace =
        "\uFEFF# topology: --pcie-root-complex rc0\r\n" +
        "# a comment\n" +
        "seq,op,address,width,value,port,device,note\n" +
        "1,read,0000:00:01.0@0x000,4,,,,\"a, note\"\n" +
        "2,write,0xe0008004,2,0x0006,,,\n" +
        "# between\n" +
        "3,hot-add,,,,rp0,nvme0,\n" +
        "4,msi,0xfee00000,4,0x4021,,0x100,\n" +
        "5,mmio-write,0xf0000000,8,0x1,,,\n" +
        "6,raise,,,0x3,,nvme0,x\n" +
        "7,hot-remove,,,,rp0,,\n" +
        "8,reset,,,,,,\n";

    [Test]
    public void fuzz_random_bytes_only_raise_input_errors()
    {
        const int Seed = 20240611;
        var random = new Random(Seed);
        for (int iteration = 0; iteration < 2000; iteration++)
        {
            var bytes = new byte[random.Next(0, 200)];
            random.NextBytes(bytes);
            if (iteration % 2 == 1)
            {
                // Half of them look more like CSV: bytes drawn from the characters a trace uses.
                const string Alphabet = "op,\"#\r\n0x:.@ readwitvlu-12f";
                for (int i = 0; i < bytes.Length; i++)
                {
                    bytes[i] = bytes[i] < 200 ? (byte)Alphabet[bytes[i] % Alphabet.Length] : bytes[i];
                }
            }

            OnlyInputErrors(bytes, $"seed {Seed}, iteration {iteration}");
        }
    }

    [Test]
    public void fuzz_single_byte_mutations_of_a_valid_trace_only_raise_input_errors()
    {
        const int Seed = 4242;
        byte[] valid = Encoding.UTF8.GetBytes(ValidTrace);
        Assert.That(ReadBytes(valid), Is.EqualTo(8), "the unmutated trace is valid");
        var random = new Random(Seed);
        byte[] interesting = [0x00, (byte)'"', (byte)',', (byte)'\n', (byte)'\r', (byte)'#', (byte)'x', (byte)'0', (byte)'@', (byte)':', 0xFF, 0xC3, 0x80];
        for (int iteration = 0; iteration < 2000; iteration++)
        {
            byte[] bytes = (byte[])valid.Clone();
            int at = random.Next(bytes.Length);
            bytes[at] = random.Next(3) == 0 ? interesting[random.Next(interesting.Length)] : (byte)random.Next(256);
            OnlyInputErrors(bytes, $"seed {Seed}, iteration {iteration}, byte {at} = 0x{bytes[at]:x2}");
        }
    }

    private static int ReadBytes(byte[] bytes)
    {
        using TraceReader reader = Reader(bytes);
        _ = reader.Header;
        return ReadAll(reader).Count;
    }

    private static void OnlyInputErrors(byte[] bytes, string what)
    {
        try
        {
            ReadBytes(bytes);
        }
        catch (InputException e)
        {
            if (e.Source != Source || e.Line < 0 || e.Column < 0 || string.IsNullOrEmpty(e.Message))
            {
                Assert.Fail($"{what}: malformed InputException {e.Describe()}");
            }
        }
        catch (Exception e)
        {
            Assert.Fail($"{what}: {e.GetType().Name} escaped: {e}\ninput: {Convert.ToHexString(bytes)}");
        }
    }
}
