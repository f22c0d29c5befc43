using BenchmarkDotNet.Running;

namespace PcieSim.Benchmarks;

internal static class Program
{
    /// <summary>
    /// Runs the benchmarks the arguments select; exit 1 when one of them failed (so CI's dry run can tell). <c>end-to-end</c>
    /// runs <see cref="EndToEnd"/> instead.
    /// </summary>
    private static int Main(string[] args)
    {
        // Issue 5's end-to-end targets are about whole processes: a runner of their own, outside BenchmarkDotNet.
        if (args.Length > 0 && args[0] == "end-to-end")
        {
            return EndToEnd.Run(args[1..]);
        }

        if (args.Length > 1 && args[0] == EndToEnd.MeasureVerb)
        {
            return EndToEnd.Measure(args[1..]);
        }

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
