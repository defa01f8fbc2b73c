namespace FraudWorkbench.Core.Fairness;

/// <summary>Group metrics under Fairlearn's names (its <c>MetricFrame</c> columns), camelCased as the API sends them.</summary>
public static class FairnessMetric
{
    public const string SelectionRate = "selectionRate";
    public const string TruePositiveRate = "truePositiveRate";
    public const string FalsePositiveRate = "falsePositiveRate";
    public const string FalseNegativeRate = "falseNegativeRate";
    public const string Precision = "precision";
    public const string FraudRate = "fraudRate";
    public const string RocAuc = "rocAuc";
    public const string AveragePrecision = "averagePrecision";
    public const string MeanScore = "meanScore";

    public static readonly IReadOnlyList<string> All =
        [SelectionRate, TruePositiveRate, FalsePositiveRate, FalseNegativeRate, Precision, FraudRate, RocAuc, AveragePrecision, MeanScore];

    /// <summary>Metrics that need fraud in the group to be defined (a group without any is left out of their disparities).</summary>
    public static bool NeedsFraud(string metric) => metric is TruePositiveRate or FalseNegativeRate or RocAuc or AveragePrecision;

    public static string Title(string metric) => metric switch
    {
        SelectionRate => "Selection rate (flagged)",
        TruePositiveRate => "True positive rate (recall)",
        FalsePositiveRate => "False positive rate",
        FalseNegativeRate => "False negative rate",
        Precision => "Precision",
        FraudRate => "Fraud rate",
        RocAuc => "ROC-AUC",
        AveragePrecision => "PR-AUC (average precision)",
        MeanScore => "Mean score",
        _ => metric,
    };
}

/// <summary>The disparities Fairlearn computes, by its function names without the suffix.</summary>
public static class DisparityName
{
    public const string DemographicParity = "demographicParity";
    public const string EqualizedOdds = "equalizedOdds";
    public const string EqualOpportunity = "equalOpportunity";

    public const string Difference = "difference";
    public const string Ratio = "ratio";

    public const string BetweenGroups = "between_groups";
    public const string ToOverall = "to_overall";

    public const string WorstCase = "worst_case";
    public const string Mean = "mean";
}

/// <summary>A number with its bootstrap confidence interval (null bounds when not resampled; null value when undefined).</summary>
public sealed record FairnessValue(double? Value, double? Lower = null, double? Upper = null);

/// <summary>One group's size and metrics.</summary>
/// <param name="TooSmall">Why the group is left out of every disparity (fewer rows than the minimum), or null.</param>
public sealed record GroupMetrics(string Group, long Count, double Share, long Fraud, string? TooSmall, IReadOnlyDictionary<string, FairnessValue> Metrics);

/// <summary>
/// One disparity as Fairlearn defines it: <see cref="DisparityName.BetweenGroups"/> (max − min, min / max) or
/// <see cref="DisparityName.ToOverall"/> (largest |group − overall|, smallest group / overall inverted to ≤ 1).
/// </summary>
/// <param name="Aggregation">For equalized odds: worst_case (the larger difference, smaller ratio of TPR and FPR) or mean.</param>
/// <param name="Highest">The group with the highest value of the disparity's metric (for equalized odds, of the worse of the two).</param>
public sealed record Disparity(string Name, string Kind, string Method, string? Aggregation, FairnessValue Value, string? Highest, string? Lowest);

/// <summary>Every metric by group for one grouping, the overall values, and the disparities between the groups large enough to judge.</summary>
/// <param name="Bucketed">Distinct values put together as "(other)" beyond the 20 most frequent.</param>
/// <param name="FourFifths">Demographic parity ratio (between groups) under 0.8: Fairlearn's caution applies, it is a rule of thumb.</param>
public sealed record GroupingFairness(string Name, int Bucketed, GroupMetrics Overall, IReadOnlyList<GroupMetrics> Groups, IReadOnlyList<Disparity> Disparities, bool? FourFifths);

/// <param name="MinGroupSize">Groups with fewer rows are "too small to judge" and left out of disparities.</param>
/// <param name="Resamples">Bootstrap resamples; 0 computes point values only.</param>
/// <param name="Confidence">Of the percentile intervals.</param>
public sealed record FairnessSettings(int MinGroupSize = 30, int Resamples = 1000, double Confidence = 0.95, int Seed = 18)
{
    public const double FourFifthsRule = 0.8;
}
