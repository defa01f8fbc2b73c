using System.Globalization;
using FraudWorkbench.Components.Shared;
using FraudWorkbench.Core.Monitoring;
using FraudWorkbench.Core.Performance;

namespace FraudWorkbench.Components.Pages.Monitoring;

/// <summary>How the Performance tab words and picks things: the page's range in days, cohort labels, number formats, chart points.</summary>
public static class PerformanceView
{
    /// <summary>Table cells tighter than MudBlazor's dense 16 px sides, so the cohort table's columns fit a 1280 px page.</summary>
    public const string Cell = "padding: 4px 6px";

    public const string NumberCell = "padding: 4px 6px; text-align: right";

    /// <summary>The alerts cell: its chips wrap instead of widening the table.</summary>
    public const string WrappingCell = "padding: 4px 6px; white-space: normal; min-width: 150px";

    public const string NoLabelsHelp =
        "No labels yet. Realized figures count every prediction as legitimate until fraud labels arrive, so they are provisional: " +
        "send confirmed outcomes to /api/v1/feedback (single or batch) or upload a labels CSV. The estimated performance needs no labels.";

    public const string NoEstimatesHelp =
        "The serving version kept no validation scores, so the estimates have no bands and there are no alert thresholds. " +
        "Train and register a new version of the model, and promote it, to get them.";

    /// <summary>The UTC days a monitoring range covers: its first day and its last (the range's end is exclusive).</summary>
    public static (DateOnly From, DateOnly To) Days(MonitoringRange range)
    {
        var from = DateOnly.FromDateTime(range.From);
        var to = DateOnly.FromDateTime(range.To.AddTicks(-1));
        // The page allows more windows than a report has days only for hour windows, which span days anyway; keep within the report's limit.
        if (to.DayNumber - from.DayNumber > PerformanceService.MaxRangeDays) from = to.AddDays(-PerformanceService.MaxRangeDays);
        return (from, to < from ? from : to);
    }

    /// <summary>A day cohort for a week or less, weekly beyond. The page's "Last 7 d" touches 8 calendar days (it starts part-way
    /// through the first), and is still a week.</summary>
    public static string DefaultCohort(DateOnly from, DateOnly to) => to.DayNumber - from.DayNumber + 1 <= 8 ? CohortSize.Day : CohortSize.Week;

    public static string CohortLabel(DateOnly start, string cohort) => cohort == CohortSize.Month
        ? start.ToString("yyyy-MM", CultureInfo.InvariantCulture)
        : start.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    /// <summary>A metric value as shown everywhere on the tab: three decimals, a dash when undefined.</summary>
    public static string Metric(double? value) => value is { } v ? v.ToString("0.000", CultureInfo.InvariantCulture) : "—";

    public static string Band(Estimate estimate) => estimate.Lower is { } lo && estimate.Upper is { } hi ? $"{Metric(lo)}–{Metric(hi)}" : "";

    public static string Count(double value) => value.ToString("N0", CultureInfo.InvariantCulture);

    public static string Money(double? value) => value is { } v ? v.ToString("N0", CultureInfo.InvariantCulture) : "—";

    public static string Percent(double share) => (share * 100).ToString("0", CultureInfo.InvariantCulture) + " %";

    /// <summary>Mature, provisional or open, as the table's chip and the tiles say it.</summary>
    public static string State(CohortPerformance cohort) => cohort.Mature ? "mature" : cohort.Open ? "open" : "provisional";

    /// <summary>Cohorts with traffic whose labels are not final yet: any makes the range's realized figures provisional.</summary>
    public static bool AnyProvisional(PerformanceReport report) => report.Cohorts.Any(c => c.Realized.Predictions > 0 && !c.Mature);

    public static bool HasEstimates(PerformanceReport report) => report.Reference.Any(r => r.Value is not null);

    /// <summary>An alert's name for a chip, short enough for a table cell: "est. recall" or "FPR" (realized).</summary>
    public static string AlertName(string alert) => alert.StartsWith("estimated:", StringComparison.Ordinal)
        ? "est. " + ShortTitle(alert["estimated:".Length..])
        : ShortTitle(alert);

    public static string ShortTitle(string metric) => metric switch
    {
        PerformanceMetric.AveragePrecision => "PR-AUC",
        PerformanceMetric.FalsePositiveRate => "FPR",
        _ => PerformanceMetric.Title(metric),
    };

    public static MetricReference? Reference(PerformanceReport report, string metric) => report.Reference.FirstOrDefault(r => r.Metric == metric);

    /// <summary>The chart's points for <paramref name="metric"/>: realized only where the cohort had traffic.</summary>
    public static IReadOnlyList<PerformancePoint> Points(PerformanceReport report, string metric) => [.. report.Cohorts.Select(c =>
    {
        var estimate = c.Realized.Predictions > 0 ? c.Estimated.Metrics.GetValueOrDefault(metric) : null;
        return new PerformancePoint(CohortLabel(c.Start, report.Cohort), c.Realized.Predictions > 0 ? c.Realized.Metrics.GetValueOrDefault(metric) : null,
            c.Mature, c.Open, estimate?.Value, estimate?.Lower, estimate?.Upper, c.Realized.Predictions > 0 ? c.Maturity : 0);
    })];

    /// <summary>The calibration warning, or null while the recent mature cohorts' fraud is within its expected band.</summary>
    public static string? CalibrationWarning(CalibrationCheck check) => !check.Drifted ? null : string.Create(CultureInfo.InvariantCulture,
        $"Observed fraud {check.Observed:N0} is outside the expected {check.Expected:N1} ± {(check.Upper - check.Expected):N1} over the last {check.Cohorts} mature cohorts. CBPE assumes the scores stay calibrated (no concept drift): the estimates may be wrong until the model is retrained.");

    /// <summary>Where the label-arrival curve came from, in a sentence.</summary>
    public static string ArrivalSource(LabelArrivalCurve arrival, int windowDays) => arrival.Labels == 0
        ? $"No fraud labels yet: assumed even arrival over the {windowDays}-day label window."
        : $"Learned from {arrival.Labels.ToString("N0", CultureInfo.InvariantCulture)} fraud labels" +
          (arrival.MedianDays is { } m ? $"; half arrive within {m} days." : ".");
}
