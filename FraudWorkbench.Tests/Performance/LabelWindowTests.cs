using System.Text.Json;
using FraudWorkbench.Core.Performance;
using FraudWorkbench.Core.Registry;
using FraudWorkbench.Core.Scoring;
using FraudWorkbench.Tests.Scoring;
using Microsoft.Extensions.Time.Testing;
using Npgsql;

namespace FraudWorkbench.Tests.Performance;

/// <summary>The month A model and the runs the performance tests share (one training for both classes).</summary>
[CollectionDefinition(Name)]
public sealed class PerformanceCollection : ICollectionFixture<ScoringFixture>
{
    public const string Name = "performance";
}

/// <summary>
/// The label window and maturity through <see cref="PerformanceService"/>: day rows written as the sinks write them (or
/// through the real log and feedback), reports read at a chosen time.
/// </summary>
[Trait("Category", "Database")]
[Collection(PerformanceCollection.Name)]
public sealed class LabelWindowTests(ScoringFixture fixture)
{
    // Monday 2026-06-01 starts a week; 2026-06-06 is a Saturday.
    private static readonly DateOnly OldDay = new(2026, 5, 1);
    private static readonly DateTimeOffset Now = new(2026, 6, 15, 12, 0, 0, TimeSpan.Zero);

    /// <summary>A day of predictions and, separately, the labels they received (as the log and the feedback sinks write them).</summary>
    private sealed class Day
    {
        public PerformanceCounts Predictions { get; } = new();
        public PerformanceCounts Labels { get; } = new();

        public Day Add(int count, double p, bool flagged, double amount = 10, bool? label = null, double delay = 0)
        {
            for (var i = 0; i < count; i++)
            {
                Predictions.AddPrediction(p, flagged, amount);
                if (label is { } fraud) Labels.AddLabel(p, flagged, amount, fraud, delay, 1);
            }

            return this;
        }
    }

    private PerformanceService Service(DateTimeOffset now) =>
        new(fixture.App.Get<RegistryStore>(), fixture.App.Get<PerformanceStore>(), fixture.App.Get<PerformanceReferences>(), new FakeTimeProvider(now));

    private async Task<Guid> ModelAsync(string name, int window = 10, double maturity = 0.8)
    {
        var version = await fixture.RegisterAndPromoteAsync(name, fixture.StrongRun);
        Assert.Empty((await Service(Now).SaveConfigAsync(name, new PerformanceConfig(window, maturity), "test"))!);
        return version.Id;
    }

    private async Task WriteAsync(Guid version, DateOnly day, Day rows)
    {
        await using var connection = await fixture.App.Get<NpgsqlDataSource>().OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await PerformanceStore.AddPredictionsAsync(connection, transaction, [new PerformanceDay(version, day, rows.Predictions)], default);
        await PerformanceStore.AddLabelsAsync(connection, transaction, [new PerformanceDay(version, day, rows.Labels)], default);
        await transaction.CommitAsync();
    }

    /// <summary>An old day whose 40 fraud labels came after 1 (10), 3 (10) and 8 days (20): the arrival curve is ¼ by day 1, ½ by day 3, all by day 8.</summary>
    private static Day Arrivals() => new Day().Add(10, 0.6, true, label: true, delay: 1.2).Add(10, 0.6, true, label: true, delay: 3.5).Add(20, 0.6, true, label: true, delay: 8.1);

    [Fact]
    public async Task ReportAsync_CohortInsideTheWindow_ProvisionalUntilTheWindowPassesThenMature()
    {
        var version = await ModelAsync("perf-window");
        await WriteAsync(version, OldDay, Arrivals());
        // 2026-06-10, five days old at noon on the 15th: 10 flagged, 90 let through, two reviews said legitimate.
        var provisional = new DateOnly(2026, 6, 10);
        await WriteAsync(version, provisional, new Day().Add(2, 0.9, true, label: false, delay: 1).Add(8, 0.9, true).Add(90, 0.05, false));
        // 2026-06-06, nine days old: past every delay the curve knows, still inside the ten-day window.
        var almost = new DateOnly(2026, 6, 6);
        await WriteAsync(version, almost, new Day().Add(50, 0.1, false));

        var report = (await Service(Now).ReportAsync("perf-window", almost, new DateOnly(2026, 6, 15), CohortSize.Day))!;

        Assert.Equal(new PerformanceConfig(10, 0.8), report.Config);
        Assert.Equal(40, report.Arrival.Labels);
        Assert.Equal(0.5, report.Arrival.At(5), 12);
        var day = report.Cohorts.Single(c => c.Start == provisional);
        Assert.False(day.Mature);
        Assert.Equal(0.5, day.Maturity, 12); // five days old: half the fraud labels are expected in
        Assert.False(day.Alertable); // below the 80 % alert maturity
        Assert.Equal((100L, 2L, 0L), (day.Realized.Predictions, day.Realized.Labelled, day.Realized.FraudLabels));
        Assert.Equal(new Confusion(0, 10, 0, 90), day.Realized.Confusion); // unlabelled counted legitimate, provisionally
        Assert.All(day.EstimateError.Values, e => Assert.Null(e)); // no estimate-vs-truth before the labels are in
        var older = report.Cohorts.Single(c => c.Start == almost);
        Assert.False(older.Mature);
        Assert.Equal(1.0, older.Maturity, 12);
        Assert.True(older.Alertable); // mature enough by the curve, though not final
        var open = report.Cohorts[^1];
        Assert.Equal((new DateOnly(2026, 6, 15), true, false), (open.Start, open.Open, open.Mature));
        Assert.Equal(10, report.Cohorts.Count);

        // The window has passed for the whole of the 10th at midnight on the 21st: final, unlabelled ones are legitimate.
        var later = (await Service(new DateTimeOffset(2026, 6, 21, 0, 0, 0, TimeSpan.Zero)).ReportAsync("perf-window", provisional, provisional, CohortSize.Day))!;
        var mature = later.Cohorts.Single();
        Assert.True(mature.Mature);
        Assert.Equal(1.0, mature.Maturity);
        Assert.True(mature.Alertable);
        Assert.False(mature.Open);
        Assert.Equal(new Confusion(0, 10, 0, 90), mature.Realized.Confusion);
        Assert.Equal(0.0, mature.Realized.Metrics[PerformanceMetric.FraudRate]);
        Assert.NotNull(mature.EstimateError[PerformanceMetric.FlagRate]);
        // A second earlier the last prediction of the 10th was still inside its window.
        var justBefore = (await Service(new DateTimeOffset(2026, 6, 20, 23, 59, 59, TimeSpan.Zero)).ReportAsync("perf-window", provisional, provisional, CohortSize.Day))!;
        Assert.False(justBefore.Cohorts.Single().Mature);
    }

    [Fact]
    public async Task ReportAsync_AlertMaturity_GatesRealizedAlerts()
    {
        var version = await ModelAsync("perf-alert");
        await WriteAsync(version, OldDay, Arrivals());
        // Five frauds, all let through, labelled a day later: realized recall and precision 0.
        var day = new DateOnly(2026, 6, 10);
        await WriteAsync(version, day, new Day().Add(10, 0.9, true).Add(5, 0.05, false, label: true, delay: 1).Add(85, 0.05, false));

        var report = (await Service(Now).ReportAsync("perf-alert", day, day, CohortSize.Day))!;
        var recallReference = report.Reference.Single(r => r.Metric == PerformanceMetric.Recall);
        Assert.True(recallReference.Lower > 0, $"the reference's recall threshold {recallReference}");
        var cohort = report.Cohorts.Single();
        // Its own labels (5 after a day, seen by day 5) join the curve: F(5) = F(7) = 1 − 20/40 = 0.5.
        Assert.Equal(0.5, cohort.Maturity, 12);
        Assert.Equal(0.0, cohort.Realized.Metrics[PerformanceMetric.Recall]);
        Assert.False(cohort.Alertable);
        Assert.DoesNotContain(PerformanceMetric.Recall, cohort.Alerts);

        Assert.Empty((await Service(Now).SaveConfigAsync("perf-alert", new PerformanceConfig(10, 0.4), "test"))!);
        var gated = (await Service(Now).ReportAsync("perf-alert", day, day, CohortSize.Day))!.Cohorts.Single();
        Assert.True(gated.Alertable);
        Assert.Contains(PerformanceMetric.Recall, gated.Alerts);
    }

    [Fact]
    public async Task ReportAsync_WeekAndMonthCohorts_SumTheirDays()
    {
        var version = await ModelAsync("perf-cohorts");
        var days = new (DateOnly Day, Day Rows)[]
        {
            (new DateOnly(2026, 5, 31), new Day().Add(3, 0.9, true, 100, label: true, delay: 2).Add(7, 0.1, false, 20)), // Sunday
            (new DateOnly(2026, 6, 1), new Day().Add(2, 0.8, true, 50).Add(1, 0.2, false, 400, label: true, delay: 4).Add(17, 0.05, false, 5)),
            (new DateOnly(2026, 6, 7), new Day().Add(1, 0.7, true, 30, label: false, delay: 1).Add(4, 0.3, false, 10)), // Sunday
            (new DateOnly(2026, 6, 8), new Day().Add(6, 0.95, true, 60, label: true, delay: 1).Add(24, 0.02, false, 8)),
        };
        foreach (var (day, rows) in days) await WriteAsync(version, day, rows);
        var service = Service(Now);

        var weeks = (await service.ReportAsync("perf-cohorts", new DateOnly(2026, 5, 31), new DateOnly(2026, 6, 8), CohortSize.Week))!;
        Assert.Equal([new DateOnly(2026, 5, 25), new DateOnly(2026, 6, 1), new DateOnly(2026, 6, 8)], weeks.Cohorts.Select(c => c.Start));
        Assert.Equal([10L, 25L, 30L], weeks.Cohorts.Select(c => c.Realized.Predictions));
        // Week of 1 June: the 1st (2 flagged, 1 fraud let through) and the 7th (1 flagged, reviewed legitimate).
        var june1 = weeks.Cohorts[1];
        Assert.Equal(new Confusion(0, 3, 1, 21), june1.Realized.Confusion);
        Assert.Equal(2L, june1.Realized.Labelled);
        Assert.Equal(new DateOnly(2026, 6, 8), june1.End);
        Assert.Equal(400, june1.Realized.Money!.FraudMissed);
        Assert.Equal(3 * 0.9 + 7 * 0.1, weeks.Cohorts[0].Estimated.ExpectedFraud.Value!.Value, 9);

        var months = (await service.ReportAsync("perf-cohorts", new DateOnly(2026, 5, 31), new DateOnly(2026, 6, 8), CohortSize.Month))!;
        Assert.Equal([new DateOnly(2026, 5, 1), new DateOnly(2026, 6, 1)], months.Cohorts.Select(c => c.Start));
        Assert.Equal([10L, 55L], months.Cohorts.Select(c => c.Realized.Predictions));
        var june = months.Cohorts[1];
        Assert.Equal(new Confusion(6, 3, 1, 45), june.Realized.Confusion);
        Assert.Equal((360.0, 400.0), (june.Realized.Money!.FraudCaught, june.Realized.Money.FraudMissed));
        Assert.Equal(months.ReviewCost * 9, june.Realized.Money.ReviewCost, 9);
        Assert.Equal(400 + months.ReviewCost * 9, june.Realized.Money.NetLoss, 9);
        Assert.True(june.Open); // June is not over on the 15th
        Assert.Equal(65L, months.Range!.Realized.Predictions);
        Assert.Equal(new Confusion(9, 3, 1, 52), months.Range.Realized.Confusion);
        Assert.Equal(new DateOnly(2026, 5, 1), months.From);
        Assert.Equal(new DateOnly(2026, 6, 30), months.To);
    }

    [Fact]
    public async Task ReportAsync_MiscalibratedMatureCohorts_CalibrationCheckFlagsThem()
    {
        // Four mature days of 2,000 predictions each; labels Bernoulli(p) for one model and Bernoulli(p²) for the other.
        async Task<CalibrationCheck> CheckAsync(string name, bool miscalibrated)
        {
            var version = await ModelAsync(name);
            var random = new Random(99);
            for (var d = 0; d < 4; d++)
            {
                var rows = new Day();
                for (var i = 0; i < 2_000; i++)
                {
                    var z = -3 + 1.5 * Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
                    var p = 1 / (1 + Math.Exp(-z));
                    var fraud = random.NextDouble() < (miscalibrated ? p * p : p);
                    rows.Add(1, p, p >= 0.3, label: fraud ? true : null, delay: 5);
                }

                await WriteAsync(version, new DateOnly(2026, 5, 1 + d), rows);
            }

            var report = (await Service(Now).ReportAsync(name, new DateOnly(2026, 5, 1), new DateOnly(2026, 5, 4), CohortSize.Day))!;
            Assert.All(report.Cohorts, c => Assert.True(c.Mature));
            var expected = report.Cohorts.Sum(c => c.Estimated.ExpectedFraud.Value!.Value);
            Assert.Equal(expected, report.Calibration.Expected, 6);
            Assert.Equal(report.Cohorts.Sum(c => c.Realized.FraudLabels), report.Calibration.Observed);
            Assert.Equal(4, report.Calibration.Cohorts);
            return report.Calibration;
        }

        var calibrated = await CheckAsync("perf-calibrated", false);
        Assert.False(calibrated.Drifted, $"{calibrated}");
        var drifted = await CheckAsync("perf-drifted", true);
        Assert.True(drifted.Drifted, $"{drifted}");
        Assert.True(drifted.Observed < drifted.Lower);
    }

    [Fact]
    public async Task RecordFeedbackAsync_ReversalAndResentLabel_MoveTheCountsExactlyOrNotAtAll()
    {
        var version = await fixture.RegisterAndPromoteAsync("perf-reversal", fixture.StrongRun);
        var amount = fixture.Schema.IndexOf("amount");
        var day = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-20);
        var createdAt = day.ToDateTime(new TimeOnly(10, 0), DateTimeKind.Utc);
        var log = fixture.App.Get<PredictionLog>();
        (double P, bool Decision)[] scored = [(0.9, true), (0.2, false), (0.7, true)];
        Assert.True(log.TryReserve(scored.Length));
        var ids = new List<Guid>();
        for (var i = 0; i < scored.Length; i++)
        {
            var row = fixture.Rows[i];
            var id = Guid.CreateVersion7(createdAt.AddSeconds(i));
            ids.Add(id);
            log.Write(new PredictionRecord(id, createdAt.AddSeconds(i), version.Id, "test", JsonSerializer.Serialize(ScoringFixture.Transaction(fixture.Schema, row)),
                [], scored[i].P, scored[i].Decision, 1, Row: row));
        }

        await log.FlushAsync();
        var amounts = fixture.Rows.Take(3).Select(r => double.Parse(r[amount]!, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        var store = fixture.App.Get<PerformanceStore>();
        var predictions = fixture.App.Get<PredictionStore>();
        async Task<PerformanceCounts> CountsAsync() => (await store.ReadAsync(version.RegisteredModelId, day, day, default)).Single().Counts;

        var before = await CountsAsync();
        Assert.Equal((3L, 2L, 0L), (before.Rows, before.Flagged, before.Labelled));
        Assert.Equal(amounts[0] + amounts[2], before.AmountFlagged, 9);

        var first = await predictions.RecordFeedbackAsync([new FeedbackItem(ids[0], true, day.AddDays(2)), new FeedbackItem(ids[1], true, day.AddDays(3))], "test");
        Assert.Equal(2, first.Changed);
        var labelled = await CountsAsync();
        Assert.Equal((1L, 1L, 0L, 0L), (labelled.FraudFlagged, labelled.FraudUnflagged, labelled.LegitFlagged, labelled.LegitUnflagged));
        Assert.Equal((amounts[0], amounts[1]), (labelled.FraudAmountFlagged, labelled.FraudAmountUnflagged));
        // Delays from 10:00 to the label dates' midnight: 1.58 and 2.58 days.
        Assert.Equal((1L, 1L, 2L), (labelled.FraudDelays[1], labelled.FraudDelays[2], labelled.FraudDelays.Sum()));
        Assert.Equal((1L, 1L), (labelled.BinFraud[ScoreBins.Of(0.9)], labelled.BinFraud[ScoreBins.Of(0.2)]));

        // The same label again (with or without its date) changes nothing.
        var resent = await predictions.RecordFeedbackAsync([new FeedbackItem(ids[0], true), new FeedbackItem(ids[1], true, day.AddDays(3))], "test");
        Assert.Equal(0, resent.Changed);
        AssertSameLabels(labelled, await CountsAsync());

        // The chargeback on the first is reversed: the fraud taken back (with its delay), a legitimate label added.
        var reversed = await predictions.RecordFeedbackAsync([new FeedbackItem(ids[0], false, day.AddDays(6))], "test");
        Assert.Equal(1, reversed.Changed);
        var after = await CountsAsync();
        Assert.Equal((0L, 1L, 1L, 0L), (after.FraudFlagged, after.FraudUnflagged, after.LegitFlagged, after.LegitUnflagged));
        Assert.Equal((0.0, amounts[1]), (after.FraudAmountFlagged, after.FraudAmountUnflagged));
        Assert.Equal((0L, 1L, 1L), (after.FraudDelays[1], after.FraudDelays[2], after.FraudDelays.Sum()));
        Assert.Equal((0L, 1L), (after.BinFraud[ScoreBins.Of(0.9)], after.BinFraud[ScoreBins.Of(0.2)]));
        Assert.Equal(3L, after.Rows);

        var (audit, _) = await fixture.App.Get<Core.Accounts.AuditLog>().PageAsync(0, 20, new Core.Accounts.AuditFilter(Action: "prediction.feedback"));
        Assert.Contains(audit, a => a.ObjectId == ids[0].ToString() && a.Summary!.Contains("reversed") && a.Summary.Contains(ids[0].ToString()));

        // The second fraud's chargeback date corrected: same label, its delay moves from day 2 to day 6.
        var redated = await predictions.RecordFeedbackAsync([new FeedbackItem(ids[1], true, day.AddDays(7))], "test");
        Assert.Equal(1, redated.Changed);
        var moved = await CountsAsync();
        Assert.Equal((0L, 1L, 1L, 0L), (moved.FraudFlagged, moved.FraudUnflagged, moved.LegitFlagged, moved.LegitUnflagged));
        Assert.Equal((0L, 1L, 1L), (moved.FraudDelays[2], moved.FraudDelays[6], moved.FraudDelays.Sum()));
        Assert.Equal(amounts[1], moved.FraudAmountUnflagged);

        var cohort = (await fixture.App.Get<PerformanceService>().ReportAsync("perf-reversal", day, day, CohortSize.Day))!.Cohorts.Single();
        Assert.Equal(new Confusion(0, 2, 1, 0), cohort.Realized.Confusion);
        Assert.Equal((0.0, amounts[1]), (cohort.Realized.Money!.FraudCaught, cohort.Realized.Money.FraudMissed));
    }

    [Fact]
    public async Task ReportAsync_BadArguments_RefusedOrNullNeverACrash()
    {
        await ModelAsync("perf-arguments");
        var service = Service(Now);
        var day = new DateOnly(2026, 6, 10);

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => service.ReportAsync("perf-arguments", day, day, "year"));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => service.ReportAsync("perf-arguments", day, day.AddDays(-1), CohortSize.Day));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => service.ReportAsync("perf-arguments", day, day.AddDays(PerformanceService.MaxRangeDays + 1), CohortSize.Day));
        Assert.Null(await service.ReportAsync("no-such-model", day, day, CohortSize.Day));
        Assert.Null(await service.ConfigAsync("no-such-model"));
        Assert.Null(await service.SaveConfigAsync("no-such-model", PerformanceConfig.Default, "test"));

        // No predictions at all: empty cohorts with no metrics, not an error.
        var empty = (await service.ReportAsync("perf-arguments", day, day.AddDays(PerformanceService.MaxRangeDays), CohortSize.Month))!;
        Assert.All(empty.Cohorts, c => Assert.Equal(0L, c.Realized.Predictions));
        Assert.All(empty.Cohorts, c => Assert.Null(c.Realized.Metrics[PerformanceMetric.RocAuc]));
        Assert.False(empty.Calibration.Drifted);
    }

    [Fact]
    public async Task SaveConfigAsync_OutOfRange_NamesTheFieldsKeepsTheOldAndAuditsAChange()
    {
        await ModelAsync("perf-config", window: 30, maturity: 0.5);
        var service = Service(Now);

        var problems = (await service.SaveConfigAsync("perf-config", new PerformanceConfig(0, 1.5), "test"))!;
        Assert.Equal(["labelWindowDays", "alertMaturity"], problems.Select(p => p.Field));
        Assert.Equal(["alertMaturity"], (await service.SaveConfigAsync("perf-config", new PerformanceConfig(365, double.NaN), "test"))!.Select(p => p.Field));
        Assert.Equal(["labelWindowDays"], (await service.SaveConfigAsync("perf-config", new PerformanceConfig(366, 1), "test"))!.Select(p => p.Field));
        Assert.Equal(new PerformanceConfig(30, 0.5), await service.ConfigAsync("perf-config"));

        Assert.Empty((await service.SaveConfigAsync("perf-config", new PerformanceConfig(45, 0.9), "lead@example.com"))!);
        Assert.Equal(new PerformanceConfig(45, 0.9), await service.ConfigAsync("perf-config"));
        var (audit, _) = await fixture.App.Get<Core.Accounts.AuditLog>().PageAsync(0, 50, new Core.Accounts.AuditFilter(Action: "model.performance", Actor: "lead@example.com"));
        var entry = Assert.Single(audit, a => a.ObjectId == "perf-config");
        Assert.Contains("45", entry.Summary);
        Assert.Contains("30", entry.Summary); // what it was before
    }

    private static void AssertSameLabels(PerformanceCounts expected, PerformanceCounts actual)
    {
        Assert.Equal((expected.FraudFlagged, expected.FraudUnflagged, expected.LegitFlagged, expected.LegitUnflagged), (actual.FraudFlagged, actual.FraudUnflagged, actual.LegitFlagged, actual.LegitUnflagged));
        Assert.Equal((expected.FraudAmountFlagged, expected.FraudAmountUnflagged), (actual.FraudAmountFlagged, actual.FraudAmountUnflagged));
        Assert.Equal(expected.FraudDelays, actual.FraudDelays);
        Assert.Equal(expected.BinFraud, actual.BinFraud);
    }
}
