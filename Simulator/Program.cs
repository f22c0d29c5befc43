namespace PcieSim;

internal static class Program
{
    private static int Main(string[] args) => Cli.PcieSimCommand.Run(args, Console.Out, Console.Error);
}
