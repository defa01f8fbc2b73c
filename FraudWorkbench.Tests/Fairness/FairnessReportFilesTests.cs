using System.Globalization;
using FraudWorkbench.Core.Fairness;
using FraudWorkbench.Reports;

namespace FraudWorkbench.Tests.Fairness;

/// <summary>The HTML and PDF report files from a small report built here: no database, no job.</summary>
public sealed class FairnessReportFilesTests
{
    private static readonly DateTime Computed = new(2026, 12, 1, 9, 30, 0, DateTimeKind.Utc);
    private static readonly DateTime Exported = new(2026, 12, 2, 10, 0, 0, DateTimeKind.Utc);

    private static FairnessReport Report()
    {
        static Dictionary<string, FairnessValue> Metrics(double selection, double? tpr) => FairnessMetric.All.ToDictionary(m => m, m => m switch
        {
            FairnessMetric.SelectionRate => new FairnessValue(selection, selection - 0.01, selection + 0.02),
            FairnessMetric.TruePositiveRate => new FairnessValue(tpr, tpr - 0.1, tpr + 0.1),
            _ => new FairnessValue(0.5, 0.4, 0.6),
        });

        GroupMetrics[] groups =
        [
            new("F", 600, 0.6, 30, null, Metrics(0.125, 0.8)),
            new("M", 380, 0.38, 20, null, Metrics(0.0875, 0.65)),
            new("(missing)", 20, 0.02, 0, "fewer than 30 rows", Metrics(0.05, null)),
        ];
        var overall = new GroupMetrics("overall", 1000, 1, 50, null, Metrics(0.108, 0.74));
        Disparity[] disparities =
        [
            new(DisparityName.DemographicParity, DisparityName.Ratio, DisparityName.BetweenGroups, null, new FairnessValue(0.7, 0.55, 0.85), "F", "M"),
            new(DisparityName.EqualizedOdds, DisparityName.Difference, DisparityName.BetweenGroups, DisparityName.WorstCase, new FairnessValue(null), null, null),
        ];
        return new FairnessReport(Guid.NewGuid(), "card-fraud", 3, "holdout", 1000, 50, 0.42,
            [new ProtectedColumn("gender", "string", null)], new FairnessSettings(), [new GroupingFairness("gender", 0, overall, groups, disparities, true)], Computed);
    }

    private static FairnessSignOff SignOff(string decision, DateTime reportComputedAt) =>
        new(1, Guid.NewGuid(), decision, "Checked the F / M gap; within the intervals.", "user:lead@example.com", new DateTime(2026, 12, 1, 12, 0, 0, DateTimeKind.Utc), reportComputedAt);

    [Fact]
    public void RenderPdf_SmallReport_EveryGroupsNumbersWithIntervalsTheFlagAndUndefinedAsDash()
    {
        var bytes = FairnessReportPdf.Render(Report(), null, Exported, "user:lead@example.com");

        Assert.Equal("%PDF-"u8.ToArray(), bytes[..5]);
        using var pdf = UglyToad.PdfPig.PdfDocument.Open(bytes);
        Assert.InRange(pdf.NumberOfPages, 1, 2);
        var words = pdf.GetPages().SelectMany(p => p.GetWords()).Select(w => w.Text).ToList();
        var text = string.Join(" ", words);
        Assert.Contains("Fairness report · card-fraud version 3", text);
        Assert.Contains("1,000 rows, 50 fraud, flagged when the score is at or above 0.42", text);
        Assert.Contains("Not signed off.", text);
        Assert.Contains("four-fifths rule", text);
        Assert.Contains("(too small to judge)", text);
        // Each group's size and selection rate with its interval (on the line below the value), and the overall row.
        foreach (var (count, rate, low, high) in new[] { ("600", "0.1250", "0.1150", "0.1450"), ("380", "0.0875", "0.0775", "0.1075"), ("20", "0.0500", "0.0400", "0.0700"), ("1,000", "0.1080", "0.0980", "0.1280") })
        {
            Assert.Contains(count, words);
            Assert.Contains(rate, words);
            Assert.Contains($"[{low},", words);
            Assert.Contains($"{high}]", words);
        }

        Assert.Contains("All rows", text);
        Assert.Contains("0.7000 [0.5500, 0.8500] F · M", text);
        Assert.Contains("fewer than two groups to compare", text);
        // The (missing) group has no fraud: its true positive rate is undefined, shown as a dash, not 0.
        Assert.Contains("—", text);
        Assert.Single(pdf.GetPages().SelectMany(p => p.GetImages()));
    }

    [Fact]
    public void SignOffText_ApprovedRejectedOrOfAnEarlierComputation_SaysWhichInBothFiles()
    {
        var report = Report();
        // PostgreSQL keeps microseconds: a time read back from it is the same report.
        var approved = SignOff(SignOffDecision.Approve, Computed.AddTicks(-3));
        var stale = SignOff(SignOffDecision.Reject, Computed.AddHours(-1));

        Assert.Equal("Approved by lead@example.com on 2026-12-01 12:00 UTC: Checked the F / M gap; within the intervals.", FairnessReportText.SignOff(report, approved));
        Assert.StartsWith("Rejected by lead@example.com", FairnessReportText.SignOff(report, stale));
        Assert.EndsWith("(This sign-off is of the report computed 2026-12-01 08:30 UTC; the report has been recomputed since and is not signed off.)", FairnessReportText.SignOff(report, stale));
        var html = FairnessReportHtml.Render(report, Exported, "user:lead@example.com", approved);
        Assert.Contains("data-signoff=\"approve\"", html);
        Assert.Contains("Approved by lead@example.com on 2026-12-01 12:00 UTC", html);
        using var pdf = UglyToad.PdfPig.PdfDocument.Open(FairnessReportPdf.Render(report, stale, Exported, "user:lead@example.com"));
        var text = string.Join(" ", pdf.GetPage(1).GetWords().Select(w => w.Text));
        Assert.Contains("Rejected by lead@example.com on 2026-12-01 12:00 UTC", text);
        Assert.Contains("recomputed since and is not signed off.", text);
    }

    [Fact]
    public void RenderPdf_SameReportTwice_SameTextOnEveryPage()
    {
        var report = Report();

        using var first = UglyToad.PdfPig.PdfDocument.Open(FairnessReportPdf.Render(report, null, Exported, "user:a@example.com"));
        using var second = UglyToad.PdfPig.PdfDocument.Open(FairnessReportPdf.Render(report, null, Exported, "user:a@example.com"));

        Assert.Equal(first.GetPages().Select(p => p.Text), second.GetPages().Select(p => p.Text));
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"page 1 of {first.NumberOfPages}"), string.Join(" ", first.GetPage(1).GetWords().Select(w => w.Text)));
    }
}
