using FraudWorkbench.Core.Fairness;
using FraudWorkbench.Core.Performance;

namespace FraudWorkbench.Core.Alerts;

/// <summary>What a metric needs besides the model, and how it is windowed.</summary>
/// <param name="Kind">The metric's name in rules (<c>drift.share</c>).</param>
/// <param name="Column">Needs a monitored column (a transaction column or <c>:score</c>).</param>
/// <param name="Performance">Needs a <see cref="PerformanceMetric"/>.</param>
/// <param name="Fairness">Needs a disparity (<see cref="DisparityName"/>) and takes an optional grouping.</param>
/// <param name="Global">About the whole installation, not a model: its alerts carry model <c>*</c>.</param>
/// <param name="Windows">The windows it can be read over; null for any window from a minute to 30 days.</param>
/// <param name="Sample">What the minimum sample counts for it.</param>
/// <param name="Action">Needs an audited action (<see cref="AuditActions"/>) in <see cref="AlertMetricSpec.Metric"/>.</param>
/// <param name="ByModel">
/// A global metric a rule may narrow to one model: a rule naming a model reads (and alerts as) that model, one without
/// reads the whole installation as <c>*</c>.
/// </param>
public sealed record AlertMetricInfo(
    string Kind, string Title, string Unit, bool Column, bool Performance, bool Fairness, bool Global, IReadOnlyList<string>? Windows, string DefaultWindow, string Sample,
    bool Action = false, bool ByModel = false);

/// <summary>Every metric a rule can watch.</summary>
public static class AlertMetricKind
{
    public const string DriftShare = "drift.share";
    public const string DriftScore = "drift.score";
    public const string Psi = "drift.psi";
    public const string MissingShare = "quality.missing_share";
    public const string Unseen = "quality.unseen";
    public const string Refused = "quality.refused";
    public const string Volume = "traffic.volume";
    public const string FlagRate = "traffic.flag_rate";
    public const string MeanScore = "traffic.mean_score";
    public const string NoData = "traffic.no_data";
    public const string Realized = "performance.realized";
    public const string Estimated = "performance.estimated";
    public const string Disparity = "fairness.disparity";
    public const string LatencyP99 = "scoring.latency_p99";
    public const string ErrorRate = "scoring.error_rate";
    public const string JobFailures = "jobs.failed";
    public const string LabelFreshness = "labels.freshness";
    public const string AuditEvents = "audit.events";

    /// <summary>The disparities a rule can watch: name and kind, between groups, equalized odds as its worst case (as the fairness tab shows them).</summary>
    public static readonly IReadOnlyList<string> Disparities =
    [
        $"{DisparityName.DemographicParity}.{DisparityName.Ratio}", $"{DisparityName.DemographicParity}.{DisparityName.Difference}",
        $"{DisparityName.EqualizedOdds}.{DisparityName.Ratio}", $"{DisparityName.EqualizedOdds}.{DisparityName.Difference}",
        $"{DisparityName.EqualOpportunity}.{DisparityName.Ratio}", $"{DisparityName.EqualOpportunity}.{DisparityName.Difference}",
    ];

    private static readonly string[] DriftWindows = ["1h", "1d"];
    private static readonly string[] DayWindows = ["1d", "1w", "30d"];

    public static readonly IReadOnlyList<AlertMetricInfo> All =
    [
        new(DriftShare, "Dataset drift share", "share of inputs drifted", false, false, false, false, DriftWindows, "1d", "predictions"),
        new(DriftScore, "Drift score of a column", "test value (p-value or distance)", true, false, false, false, DriftWindows, "1d", "predictions"),
        new(Psi, "PSI of a column", "population stability index", true, false, false, false, null, "1d", "values"),
        new(MissingShare, "Missing share of a column", "share missing", true, false, false, false, null, "1h", "values"),
        new(Unseen, "Unseen categories", "values the reference never had", false, false, false, false, null, "1h", "predictions"),
        new(Refused, "Refused transactions", "transactions refused by the contract", false, false, false, false, null, "1h", "requests"),
        new(Volume, "Prediction volume", "predictions", false, false, false, false, null, "1h", "predictions"),
        new(FlagRate, "Flag rate", "share decided fraud", false, false, false, false, null, "1h", "predictions"),
        new(MeanScore, "Mean score", "mean fraud probability", false, false, false, false, null, "1h", "predictions"),
        new(NoData, "No data", "1 when a production model received no predictions in the window", false, false, false, false, null, "1h", "predictions in the reference windows"),
        new(Realized, "Realized performance (mature cohorts)", "metric value over the latest whole days past the model's label window (read now, a 1w window is the week that ended label-window days ago)", false, true, false, false, DayWindows, "1w", "labelled predictions"),
        new(Estimated, "Estimated performance (CBPE)", "metric value", false, true, false, false, DayWindows, "1d", "predictions"),
        new(Disparity, "Fairness disparity", "ratio or difference", false, false, true, false, DayWindows, "1w", "rows in the smallest group"),
        new(LatencyP99, "Scoring latency p99", "milliseconds", false, false, false, false, null, "5m", "predictions"),
        new(ErrorRate, "Scoring error rate (5xx, 503 included)", "share of scoring requests", false, false, false, true, null, "5m", "requests", ByModel: true),
        new(JobFailures, "Job failures", "failed jobs", false, false, false, true, null, "1h", "jobs finished"),
        new(LabelFreshness, "Label freshness", "days since the last feedback label", false, false, false, false, null, "1d", "predictions"),
        // Every audit entry of the chosen action in the window; naming a model keeps those whose summary's "model" (or
        // whose object, a registered model by name) is that model. The sample is the same scope's entries of any action:
        // a minimum sample then reads "only when there was activity", which keeps a "below" rule quiet on an idle
        // installation; the count of the action itself would make the minimum a second threshold.
        new(AuditEvents, "Audited actions", "audit entries of the chosen action: the installation's, or those naming the rule's model", false, false, false, true, null, "1h",
            "audit entries of any action (the model's, for a rule naming one)", Action: true, ByModel: true),
    ];

    public static AlertMetricInfo? Find(string? kind) => All.FirstOrDefault(m => m.Kind == kind);
}

/// <summary>The metric a rule watches.</summary>
/// <param name="Column">For column metrics: the monitored column.</param>
/// <param name="Metric">For performance: a <see cref="PerformanceMetric"/> name; for audited actions: the action (<c>retraining.fail</c>).</param>
/// <param name="Disparity">For fairness: one of <see cref="AlertMetricKind.Disparities"/> (<c>demographicParity.ratio</c>).</param>
/// <param name="Grouping">For fairness: a protected column or crossing ("a × b"); null for the worst over every protected column.</param>
public sealed record AlertMetricSpec(string Kind, string? Column = null, string? Metric = null, string? Disparity = null, string? Grouping = null);

/// <summary>One reading of a metric over the window ending at <paramref name="At"/>: [At − window, At).</summary>
/// <param name="Value">Null when the window has nothing to measure.</param>
/// <param name="Sample">Observations behind the value (what the rule's minimum sample counts).</param>
public sealed record MetricPoint(DateTime At, double? Value, long Sample);

/// <summary>A reference band a metric brings of its own (CBPE's thresholds from the holdout's chunks), used before mean ± kσ.</summary>
public sealed record MetricBand(double? Lower, double? Upper);
