using System.Globalization;
using FraudWorkbench.Components.Shared;
using FraudWorkbench.Core.Fairness;

namespace FraudWorkbench.Reports;

/// <summary>The sentences and numbers the HTML and PDF reports share, so the two files say the same thing in the same words.</summary>
public static class FairnessReportText
{
    public static string Title(FairnessReport report) =>
        $"Fairness report · {report.Model} version {report.Version}" + (IsHoldout(report) ? "" : $" in production, {report.Subject.Split(" (", 2)[0]["production ".Length..]}");

    public static bool IsHoldout(FairnessReport report) => report.Subject == "holdout";

    public static string Summary(FairnessReport report, DateTime exportedAt, string exportedBy) => IsHoldout(report)
        ? FormattableString.Invariant(
            $"On the version's validation holdout: {report.Rows:N0} rows, {report.Fraud:N0} fraud, flagged when the score is at or above {report.Threshold:0.####}. Computed {report.ComputedAt:yyyy-MM-dd HH:mm} UTC; exported {exportedAt:yyyy-MM-dd HH:mm} UTC by {exportedBy}.")
        : FormattableString.Invariant(
            $"On {report.Subject}, flagged when the score is at or above {report.Threshold:0.####}. Each grouping comes twice: realized, with an unlabelled prediction counted as legitimate (provisional until the label window has passed), and estimated (CBPE-style: each label where it is in, otherwise the calibrated probability discounted by the share of that day's labels expected in; ROC-AUC and PR-AUC not estimated). Computed {report.ComputedAt:yyyy-MM-dd HH:mm} UTC; exported {exportedAt:yyyy-MM-dd HH:mm} UTC by {exportedBy}.");

    public static string Columns(FairnessReport report) =>
        "Protected columns: " + string.Join("; ", report.Columns.Select(c => c.Bands is { } b ? $"{c.Name} (bands {string.Join(", ", b)})" : c.Name)) + ".";

    public static string Method(FairnessReport report) => FormattableString.Invariant(
        $"Metrics and disparities as Fairlearn defines them. Intervals: {report.Settings.Confidence:0 %} percentile bootstrap, {report.Settings.Resamples:N0} resamples, seed {report.Settings.Seed}, each group resampled within itself so it keeps its size. Groups under {report.Settings.MinGroupSize:N0} rows are shown but left out of the disparities; a metric a group cannot have (no fraud for the true positive rate) is left empty.")
        + " " + FourFifthsCaution;

    public const string FourFifthsCaution =
        "The four-fifths rule (demographic parity ratio under 0.8) is a rule of thumb that is often misapplied: read it with the intervals, the group sizes and the fraud rates.";

    public const string FourFifthsFlag = "Demographic parity ratio under 0.8 (four-fifths rule; a rule of thumb, see the note above).";

    public static string Bucketed(GroupingFairness grouping) =>
        $"The {FairnessGroups.MaxGroups} most frequent values are their own groups; {grouping.Bucketed:N0} others are together as \"{FairnessGroups.Other}\".";

    /// <summary>"Approved by … on …", with a warning when the sign-off read an earlier computation of the report; "Not signed off." without one.</summary>
    public static string SignOff(FairnessReport report, FairnessSignOff? signOff)
    {
        if (!IsHoldout(report)) return "A production period is not signed off: sign-offs are of a version's holdout report.";
        if (signOff is null) return "Not signed off.";
        var decision = signOff.Decision == SignOffDecision.Approve ? "Approved" : "Rejected";
        var text = string.Create(CultureInfo.InvariantCulture, $"{decision} by {Display.Actor(signOff.Reviewer)} on {signOff.At:yyyy-MM-dd HH:mm} UTC: {signOff.Comment}");
        return SameReport(report, signOff) ? text
            : text + string.Create(CultureInfo.InvariantCulture, $" (This sign-off is of the report computed {signOff.ReportComputedAt:yyyy-MM-dd HH:mm} UTC; the report has been recomputed since and is not signed off.)");
    }

    /// <summary>Whether the sign-off read this computation of the report (PostgreSQL keeps microseconds, .NET 100 ns ticks).</summary>
    public static bool SameReport(FairnessReport report, FairnessSignOff signOff) =>
        Math.Abs((report.ComputedAt - signOff.ReportComputedAt).Ticks) < TimeSpan.TicksPerMicrosecond;

    public static string Disparity(Disparity d) => d.Name + (d.Aggregation is null ? "" : $" ({d.Aggregation})");

    public static string DisparityValue(Disparity d) => d.Value.Value is null ? "fewer than two groups to compare" : Value(d.Value);

    /// <summary>A figure, then its interval in brackets; "—" where undefined.</summary>
    public static string Value(FairnessValue value) => value.Value is not { } v ? "—"
        : value.Lower is { } low && value.Upper is { } high
            ? string.Create(CultureInfo.InvariantCulture, $"{v:0.0000} [{low:0.0000}, {high:0.0000}]")
            : v.ToString("0.0000", CultureInfo.InvariantCulture);
}
