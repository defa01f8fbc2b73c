namespace FraudWorkbench.Core.Data;

/// <summary>What a dataset version looks like, computed in the same pass that validates it; stored as JSONB.</summary>
public sealed record DatasetProfile(
    long RowCount,
    IReadOnlyList<ColumnProfile> Columns,
    LabelBalance? Label,
    TimeRange? EventTime,
    /// <summary>Rows behind quantiles and histograms: every row up to the sample size, a uniform sample beyond it.</summary>
    long SampledRows);

/// <param name="Bins">How <paramref name="Histogram"/> was cut (<see cref="HistogramBinning"/>); null in profiles stored before it was recorded, which are linear.</param>
public sealed record ColumnProfile(
    string Name,
    string Type,
    string Role,
    long Missing,
    double MissingPercent,
    long Distinct,
    bool DistinctAtLeast,
    NumericSummary? Numeric,
    IReadOnlyList<HistogramBin>? Histogram,
    IReadOnlyList<CategoryCount>? TopCategories,
    TimeRange? Range,
    string? Bins = null);

/// <summary>Quantiles use linear interpolation between order statistics (numpy's and pandas' default).</summary>
public sealed record NumericSummary(double Min, double Max, double Mean, double Std, double P1, double P5, double P25, double P50, double P75, double P95, double P99);

/// <param name="Positives">Rows with the positive label in the bin, when the dataset has a label.</param>
/// <param name="Labelled">Rows in the bin whose label is known: the fraud rate's denominator.</param>
public sealed record HistogramBin(double From, double To, long Count, long? Positives, long? Labelled = null)
{
    public double? FraudRate => Positives is long p && Labelled is long n && n > 0 ? (double)p / n : null;
}

public sealed record CategoryCount(string Value, long Count, long? Positives, long? Labelled = null)
{
    public double? FraudRate => Positives is long p && Labelled is long n && n > 0 ? (double)p / n : null;
}

public sealed record LabelBalance(string Column, string Positive, string Negative, long PositiveCount, long NegativeCount, long Missing)
{
    public double PositiveRate => PositiveCount + NegativeCount == 0 ? 0 : (double)PositiveCount / (PositiveCount + NegativeCount);
}

public sealed record TimeRange(DateTime From, DateTime To);
