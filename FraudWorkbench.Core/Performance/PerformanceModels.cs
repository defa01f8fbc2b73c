using System.Text.Json.Serialization;

namespace FraudWorkbench.Core.Performance;

/// <summary>The time window that groups predictions into a cohort: UTC day, week (from Monday) or calendar month.</summary>
public static class CohortSize
{
    public const string Day = "day";
    public const string Week = "week";
    public const string Month = "month";

    public static readonly IReadOnlyList<string> All = [Day, Week, Month];

    public static bool IsValid(string? size) => size is Day or Week or Month;

    public static DateOnly Start(string size, DateOnly day) => size switch
    {
        Day => day,
        Week => day.AddDays(-(((int)day.DayOfWeek + 6) % 7)),
        Month => new DateOnly(day.Year, day.Month, 1),
        _ => throw new ArgumentOutOfRangeException(nameof(size), size, "Cohorts are day, week or month."),
    };

    public static DateOnly Next(string size, DateOnly start) => size switch
    {
        Day => start.AddDays(1),
        Week => start.AddDays(7),
        Month => start.AddMonths(1),
        _ => throw new ArgumentOutOfRangeException(nameof(size), size, "Cohorts are day, week or month."),
    };

    /// <summary>The cohort starts covering the days [<paramref name="from"/>, <paramref name="to"/>], the last possibly still open.</summary>
    public static IEnumerable<DateOnly> Covering(string size, DateOnly from, DateOnly to)
    {
        for (var start = Start(size, from); start <= to; start = Next(size, start)) yield return start;
    }
}

/// <summary>
/// A model's performance-monitoring settings.
/// </summary>
/// <param name="LabelWindowDays">How long fraud labels may take: a prediction still unlabelled once this has passed
/// counts as legitimate (as fraud teams treat chargebacks); a cohort inside it is provisional.</param>
/// <param name="AlertMaturity">The expected share of a cohort's eventual fraud labels that must be in before its
/// realized performance may raise an alert.</param>
public sealed record PerformanceConfig(int LabelWindowDays = 90, double AlertMaturity = 0.8)
{
    public static readonly PerformanceConfig Default = new();

    public IReadOnlyList<(string Field, string Message)> Validate()
    {
        var issues = new List<(string, string)>();
        if (LabelWindowDays is < 1 or > 365) issues.Add(("labelWindowDays", "The label window is from 1 to 365 days."));
        if (!(AlertMaturity is >= 0 and <= 1)) issues.Add(("alertMaturity", "The maturity before an alert is a share from 0 to 1."));
        return issues;
    }
}

/// <summary>The metrics tracked per cohort, named as in the training report.</summary>
public static class PerformanceMetric
{
    public const string RocAuc = "rocAuc";
    public const string AveragePrecision = "averagePrecision";
    public const string Recall = "recall";
    public const string Precision = "precision";
    public const string FalsePositiveRate = "falsePositiveRate";
    public const string FlagRate = "flagRate";
    public const string FraudRate = "fraudRate";

    public static readonly IReadOnlyList<string> All = [RocAuc, AveragePrecision, Recall, Precision, FalsePositiveRate, FlagRate, FraudRate];

    /// <summary>Metrics where lower is worse (a drop alerts); for the others (FPR, rates) either direction is news.</summary>
    public static bool HigherIsBetter(string metric) => metric is RocAuc or AveragePrecision or Recall or Precision;

    public static string Title(string metric) => metric switch
    {
        RocAuc => "ROC-AUC",
        AveragePrecision => "PR-AUC (average precision)",
        Recall => "Recall",
        Precision => "Precision",
        FalsePositiveRate => "False-positive rate",
        FlagRate => "Flag rate",
        FraudRate => "Fraud rate",
        _ => metric,
    };
}

/// <summary>A confusion matrix in counts (realized) or expected counts (estimated).</summary>
/// <remarks>The rates are derived, and left out of JSON: the metrics carry them under their report names.</remarks>
public sealed record Confusion(double TruePositives, double FalsePositives, double FalseNegatives, double TrueNegatives)
{
    [JsonIgnore]
    public double Total => TruePositives + FalsePositives + FalseNegatives + TrueNegatives;

    [JsonIgnore]
    public double? Precision => TruePositives + FalsePositives > 0 ? TruePositives / (TruePositives + FalsePositives) : null;

    [JsonIgnore]
    public double? Recall => TruePositives + FalseNegatives > 0 ? TruePositives / (TruePositives + FalseNegatives) : null;

    [JsonIgnore]
    public double? FalsePositiveRate => FalsePositives + TrueNegatives > 0 ? FalsePositives / (FalsePositives + TrueNegatives) : null;

    [JsonIgnore]
    public double? FlagRate => Total > 0 ? (TruePositives + FalsePositives) / Total : null;

    [JsonIgnore]
    public double? FraudRate => Total > 0 ? (TruePositives + FalseNegatives) / Total : null;
}

/// <summary>Money at the version's threshold, in the amount column's unit.</summary>
/// <param name="FraudCaught">Fraud amount flagged.</param>
/// <param name="FraudMissed">Fraud amount let through.</param>
/// <param name="ReviewCost">Flagged transactions × the review cost of the threshold settings.</param>
/// <param name="NetLoss">Missed fraud plus review cost.</param>
public sealed record Money(double FraudCaught, double FraudMissed, double ReviewCost, double NetLoss);

/// <summary>Performance measured on labels: unlabelled predictions count as legitimate (final once the cohort is mature).</summary>
/// <param name="Labelled">Predictions with a label (fraud or legitimate) so far.</param>
/// <param name="Metrics">By <see cref="PerformanceMetric"/> name; null where undefined (no fraud yet, one class only).</param>
/// <param name="Money">Null when the version has no amount column.</param>
public sealed record RealizedPerformance(long Predictions, long Labelled, long FraudLabels, Confusion Confusion, IReadOnlyDictionary<string, double?> Metrics, Money? Money);

/// <summary>An estimate with its sampling-error band (± 3 standard errors).</summary>
public sealed record Estimate(double? Value, double? Lower, double? Upper);

/// <summary>CBPE: performance expected from the calibrated probabilities, labels or not.</summary>
/// <param name="ExpectedFraud">Σ p, with its band.</param>
/// <param name="ExpectedFraudLoss">Σ p · amount over the rows let through; null without an amount column.</param>
public sealed record EstimatedPerformance(Confusion Confusion, IReadOnlyDictionary<string, Estimate> Metrics, Estimate ExpectedFraud, double? ExpectedFraudCaught, double? ExpectedFraudLoss, Money? Money);

/// <summary>How the reference (the version's validation holdout) sees a metric: its value and the alert thresholds from its chunks.</summary>
public sealed record MetricReference(string Metric, double? Value, double? Lower, double? Upper);

/// <summary>One cohort's realized and estimated performance and how mature its labels are.</summary>
/// <param name="Maturity">The expected share of the cohort's eventual fraud labels already in (from the label-arrival curve); 1 once mature.</param>
/// <param name="Mature">The label window has passed for every prediction in it: unlabelled ones are legitimate, the numbers are final.</param>
/// <param name="Alertable">Mature enough (by the model's alert maturity) for its realized performance to raise an alert.</param>
/// <param name="Alerts">Metrics outside the reference thresholds: realized ones only when alertable, estimated ones always (as "estimated:metric").</param>
public sealed record CohortPerformance(
    DateOnly Start, DateOnly End, bool Open, double Maturity, bool Mature, bool Alertable,
    RealizedPerformance Realized, EstimatedPerformance Estimated, IReadOnlyList<string> Alerts)
{
    /// <summary>|realized − estimated| per metric, for cohorts whose labels are in.</summary>
    public IReadOnlyDictionary<string, double?> EstimateError => PerformanceMetric.All.ToDictionary(m => m, m =>
        Mature && Realized.Metrics.GetValueOrDefault(m) is { } r && Estimated.Metrics.GetValueOrDefault(m)?.Value is { } e ? Math.Abs(r - e) : (double?)null);
}

/// <summary>The share of fraud labels in by each delay in days, learned from the feedback's delays.</summary>
/// <param name="Share">Share[d] = expected share of a cohort's eventual fraud labels in after d days (d = 0 … window).</param>
/// <param name="Labels">Fraud labels the curve was learned from.</param>
/// <param name="MedianDays">Days by which half of the fraud labels are in; null without labels.</param>
public sealed record LabelArrivalCurve(IReadOnlyList<double> Share, long Labels, int? MedianDays)
{
    public double At(double days) => Share.Count == 0 ? 0
        : days >= Share.Count - 1 ? 1
        : days <= 0 ? Share[0]
        : Share[(int)Math.Floor(days)] + (Share[(int)Math.Floor(days) + 1] - Share[(int)Math.Floor(days)]) * (days - Math.Floor(days));
}

/// <summary>
/// Whether CBPE's assumption held recently: on mature cohorts, observed fraud against the expected Σ p and its band
/// (± 3 √Σ p(1 − p)). Outside it the scores are no longer calibrated (concept drift) and estimates are unreliable.
/// </summary>
public sealed record CalibrationCheck(int Cohorts, double Expected, double Observed, double Lower, double Upper)
{
    public bool Drifted => Cohorts > 0 && (Observed < Lower || Observed > Upper);
}

/// <summary>Realized and estimated performance of a model per cohort over a range, plus the whole range.</summary>
/// <param name="AmountColumn">The column a missed fraud costs; null when the version has none (no money figures).</param>
/// <param name="Reference">Per metric, the validation holdout's value and alert thresholds.</param>
public sealed record PerformanceReport(
    string Model, DateOnly From, DateOnly To, string Cohort, PerformanceConfig Config, string? AmountColumn, double ReviewCost,
    IReadOnlyList<MetricReference> Reference, IReadOnlyList<CohortPerformance> Cohorts, CohortPerformance? Range,
    LabelArrivalCurve Arrival, CalibrationCheck Calibration, DateTime ComputedAt);
