using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Performance;
using FraudWorkbench.Core.Scoring;
using FraudWorkbench.Core.Training;
using FraudWorkbench.Tests.Infrastructure;
using FraudWorkbench.Tests.Scoring;
using Xunit.Abstractions;

namespace FraudWorkbench.Tests.Performance;

/// <summary>
/// The issue's scenario: the month A model scores month B as traffic spread over the past 28 days; fraud labels for the
/// first two weeks arrive with realistic delays, a few for the later weeks. Mature cohorts show realized performance equal
/// to the rows', the rest CBPE estimates with bands, and month B's concept change (fraudsters on domestic IPs) shows as
/// realized recall and PR-AUC below the validation reference.
/// </summary>
[Trait("Category", "Database")]
[Collection(PerformanceCollection.Name)]
public sealed class PerformanceScenarioTests(ScoringFixture fixture, ITestOutputHelper output)
{
    private const string Model = "perf-month-b";
    private const int Window = 14;

    [Fact]
    public async Task ReportAsync_MonthBOnTheMonthAModel_MatureWeeksRealizedBelowReferenceLaterWeeksEstimated()
    {
        await fixture.RegisterAndPromoteAsync(Model, fixture.StrongRun);
        var service = fixture.App.Get<PerformanceService>();
        Assert.Empty((await service.SaveConfigAsync(Model, new PerformanceConfig(Window, 0.8), "test"))!);
        List<string?[]> rows;
        await using (var file = File.OpenRead(BackdatedTraffic.MonthB)) rows = DatasetRows.Read(file, fixture.Schema);

        var now = DateTime.UtcNow;
        // Late in the UTC day, 28 days back would leave the first day cohort a few hours of traffic, often without a fraud
        // (no PR-AUC to compare): then the month starts at that day's midnight and ends before today.
        var start = now.TimeOfDay >= TimeSpan.FromHours(12) ? now.Date.AddDays(-28) : now.AddDays(-28);
        var scored = await BackdatedTraffic.ScoreAsync(fixture.App, fixture.Schema, Model, rows, start);

        // Labels as a fraud team gets them: each fraud's chargeback 1 to 13 days later (most within a week; dated, and
        // only those whose date has come), and for the first two weeks a review's "legitimate" for most flagged
        // legitimate ones. So the first two weeks are fully labelled and the last days hold only the quick chargebacks.
        var labels = BackdatedTraffic.Labels(scored, start, now);
        var today = DateOnly.FromDateTime(now);

        var predictions = fixture.App.Get<PredictionStore>();
        for (var i = 0; i < labels.Count; i += 10_000)
        {
            var outcome = await predictions.RecordFeedbackAsync(labels[i..Math.Min(i + 10_000, labels.Count)], "case-management");
            Assert.Empty(outcome.Unknown);
        }

        var report = (await service.ReportAsync(Model, DateOnly.FromDateTime(start), today, CohortSize.Day))!;
        foreach (var c in report.Cohorts)
        {
            output.WriteLine($"{c.Start} n={c.Realized.Predictions} mature={c.Mature} maturity={c.Maturity:F3} labelled={c.Realized.Labelled} fraud={c.Realized.FraudLabels} " +
                $"recall={c.Realized.Metrics[PerformanceMetric.Recall]:F3} est={c.Estimated.Metrics[PerformanceMetric.Recall].Value:F3} [{c.Estimated.Metrics[PerformanceMetric.Recall].Lower:F3}, {c.Estimated.Metrics[PerformanceMetric.Recall].Upper:F3}] " +
                $"ap={c.Realized.Metrics[PerformanceMetric.AveragePrecision]:F3} est={c.Estimated.Metrics[PerformanceMetric.AveragePrecision].Value:F3} alerts={string.Join(",", c.Alerts)}");
        }

        Assert.Equal(rows.Count, report.Range!.Realized.Predictions);
        Assert.Equal(labels.Count, report.Range.Realized.Labelled);

        // Mature cohorts: every prediction's window has passed (the days before now − 15 days). Their numbers equal the
        // rows' own, computed here independently (ClassificationMetrics: sklearn's definitions on the exact scores).
        var mature = report.Cohorts.Where(c => c.Mature).ToList();
        Assert.True(mature.Count >= 12, $"{mature.Count} mature cohorts");
        Assert.All(mature, c => Assert.True(c.End.ToDateTime(TimeOnly.MinValue) <= now.AddDays(-Window)));
        var worstAp = 0.0;
        foreach (var cohort in mature)
        {
            var members = scored.Where(s => DateOnly.FromDateTime(s.CreatedAt) == cohort.Start).ToList();
            Assert.Equal(members.Count, cohort.Realized.Predictions);
            Assert.Equal((1.0, true), (cohort.Maturity, cohort.Alertable));
            var expected = new Confusion(
                members.Count(s => s.Decision && s.Fraud), members.Count(s => s.Decision && !s.Fraud),
                members.Count(s => !s.Decision && s.Fraud), members.Count(s => !s.Decision && !s.Fraud));
            Assert.Equal(expected, cohort.Realized.Confusion);
            // Our curves run over score bins: exactly sklearn's definitions on the bins (each bin a tie group) ...
            var fraud = members.Select(s => s.Fraud).ToList();
            double[] bins = [.. members.Select(s => (double)ScoreBins.Of(s.Probability))];
            var auc = cohort.Realized.Metrics[PerformanceMetric.RocAuc]!.Value;
            var ap = cohort.Realized.Metrics[PerformanceMetric.AveragePrecision]!.Value;
            Assert.Equal(ClassificationMetrics.Area(ClassificationMetrics.RocCurve(bins, fraud)), auc, 9);
            Assert.Equal(ClassificationMetrics.AveragePrecision(bins, fraud), ap, 9);
            // ... and close to them on the exact scores: ROC-AUC within the bins' 1e-3. Average precision, with only 13–60
            // frauds a day, moves more when a fraud shares its bin with legitimate scores (sklearn counts the whole bin at
            // that fraud's rank): seen up to 1.6e-2 here, so the bound is 2e-2.
            var exact = ClassificationMetrics.Evaluate([.. members.Select(s => s.Probability)], fraud);
            worstAp = Math.Max(worstAp, Math.Abs(ap - exact.AveragePrecision));
            Assert.True(Math.Abs(auc - exact.RocAuc) <= 1e-3, $"{cohort.Start} ROC-AUC {auc} vs {exact.RocAuc}");
            Assert.True(Math.Abs(ap - exact.AveragePrecision) <= 2e-2, $"{cohort.Start} AP {ap} vs {exact.AveragePrecision}");
            Assert.Equal(members.Where(s => s.Decision && s.Fraud).Sum(s => s.Amount), cohort.Realized.Money!.FraudCaught, 6);
            Assert.Equal(members.Where(s => !s.Decision && s.Fraud).Sum(s => s.Amount), cohort.Realized.Money.FraudMissed, 6);
            Assert.NotNull(cohort.EstimateError[PerformanceMetric.Recall]);
        }

        output.WriteLine($"largest |average precision − exact| on a mature day: {worstAp}");

        // Later cohorts are provisional: CBPE estimates with their bands, labels still coming.
        var provisional = report.Cohorts.Where(c => !c.Mature && c.Realized.Predictions > 0).ToList();
        Assert.True(provisional.Count >= 12, $"{provisional.Count} provisional cohorts");
        foreach (var cohort in provisional)
        {
            foreach (var metric in new[] { PerformanceMetric.Recall, PerformanceMetric.Precision, PerformanceMetric.RocAuc, PerformanceMetric.AveragePrecision })
            {
                var estimate = cohort.Estimated.Metrics[metric];
                Assert.True(estimate.Lower < estimate.Value && estimate.Value < estimate.Upper, $"{cohort.Start} {metric} {estimate}");
            }

            Assert.All(cohort.EstimateError.Values, e => Assert.Null(e));
        }

        Assert.True(provisional[^1].Maturity < 0.8, $"the newest cohort's maturity {provisional[^1].Maturity}");
        Assert.False(provisional[^1].Alertable);
        Assert.True(report.Cohorts[^1].Open);
        Assert.InRange(report.Arrival.MedianDays!.Value, 1, 5);

        // The concept change: over the mature cohorts together, realized recall and PR-AUC fall below the validation values.
        var matureRange = (await service.ReportAsync(Model, mature[0].Start, mature[^1].Start, CohortSize.Day))!.Range!;
        var reference = report.Reference.ToDictionary(r => r.Metric);
        var shown = string.Join(", ", PerformanceMetric.All.Select(m => $"{m} {matureRange.Realized.Metrics[m]:F4} (estimated {matureRange.Estimated.Metrics[m].Value:F4}, reference {reference[m].Value:F4} [{reference[m].Lower:F4}, {reference[m].Upper:F4}])"));
        output.WriteLine(shown);
        output.WriteLine($"calibration: {report.Calibration} drifted={report.Calibration.Drifted}");
        Assert.True(matureRange.Realized.Metrics[PerformanceMetric.Recall] < reference[PerformanceMetric.Recall].Value, shown);
        Assert.True(matureRange.Realized.Metrics[PerformanceMetric.AveragePrecision] < reference[PerformanceMetric.AveragePrecision].Value, shown);
        // CBPE assumes the scores stay calibrated; on month B they do not: more fraud arrives than Σ p expects (seen: 2.8 %
        // against 2.4 % estimated). The check over the last four mature day cohorts alone stayed inside its band in our
        // runs (165 fraud against 147 expected, band up to 176), so it is shown, not asserted.
        Assert.True(matureRange.Realized.Metrics[PerformanceMetric.FraudRate] > matureRange.Estimated.Metrics[PerformanceMetric.FraudRate].Value, shown);
        Assert.Equal(PerformanceService.CalibrationCohorts, report.Calibration.Cohorts);
        Assert.Equal(mature.TakeLast(PerformanceService.CalibrationCohorts).Sum(c => c.Realized.FraudLabels), report.Calibration.Observed);
    }
}
