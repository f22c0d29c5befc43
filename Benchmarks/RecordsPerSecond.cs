using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace PcieSim.Benchmarks;

/// <summary>Adds the records-per-second column.</summary>
internal sealed class RecordsPerSecondConfig : ManualConfig
{
    public RecordsPerSecondConfig() => AddColumn(new RecordsPerSecondColumn());
}

/// <summary>Records per second: the <c>Records</c> parameter over the mean time of one operation.</summary>
internal sealed class RecordsPerSecondColumn : IColumn
{
    public string Id => nameof(RecordsPerSecondColumn);

    public string ColumnName => "Records/s";

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 0;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => "Records replayed per second (Records / Mean)";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        double? meanNs = summary[benchmarkCase]?.ResultStatistics?.Mean;
        if (meanNs is not { } mean || mean <= 0 || benchmarkCase.Parameters["Records"] is not int records)
        {
            return "NA";
        }

        return (records / (mean / 1e9)).ToString("N0", CultureInfo.InvariantCulture);
    }

    public bool IsAvailable(Summary summary) => true;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
}
