namespace PcieSim.Cli;

/// <summary>The <c>pciesim</c> console front: a thin layer over the engine.</summary>
public static class PcieSimCommand
{
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        stderr.WriteLine("pciesim: no command implemented yet");
        return 2;
    }
}
