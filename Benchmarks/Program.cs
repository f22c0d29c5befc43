using BenchmarkDotNet.Running;

namespace PcieSim.Benchmarks;

internal static class Program
{
    /// <summary>Runs the benchmarks the arguments select; exit 1 when one of them failed (so CI's dry run can tell).</summary>
    private static int Main(string[] args)
    {
        foreach (var summary in BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args))
        {
            if (summary.HasCriticalValidationErrors)
            {
                return 1;
            }

            foreach (var report in summary.Reports)
            {
                if (!report.Success)
                {
                    return 1;
                }
            }
        }

        return 0;
    }
}
