using System.Text.Json;
using FraudWorkbench.Core.Events;
using FraudWorkbench.Core.Fairness;
using FraudWorkbench.Core.Features;
using FraudWorkbench.Core.Performance;
using FraudWorkbench.Core.Registry;
using FraudWorkbench.Core.Scoring;
using FraudWorkbench.Core.Training;
using FraudWorkbench.Tests.Components;
using FraudWorkbench.Tests.Performance;
using FraudWorkbench.Tests.Scoring;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace FraudWorkbench.Tests.Fairness;

/// <summary>
/// Production fairness on a real database: month B rows scored by a month A model over recent days through the real
/// prediction log, labelled as a case-management export would (see <see cref="PerformanceTraffic"/>), then read back by
/// the service and counted again here from the records written.
/// </summary>
[Trait("Category", "Database")]
[Collection(PerformanceCollection.Name)]
public sealed class ProductionFairnessServiceTests(ScoringFixture fixture)
{
    private static readonly DateOnly Today = DateOnly.FromDateTime(DateTime.UtcNow);

    /// <summary>Performance (label maturity) read at one fixed instant, so a test can compute the same maturity again.</summary>
    private readonly PerformanceService performance = new(fixture.App.Get<RegistryStore>(), fixture.App.Get<PerformanceStore>(), fixture.App.Get<PerformanceReferences>(),
        new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow));

    private ProductionFairnessService Service(FairnessProductionOptions? production = null, int resamples = 50) => new(
        fixture.App.Get<RegistryStore>(), fixture.App.Get<TrainingRunStore>(), fixture.App.Get<FeatureSetStore>(), performance,
        fixture.App.Get<ProductionFairnessStore>(), Options.Create(new FairnessOptions { Resamples = resamples, MaxParallelism = 1 }),
        Options.Create(production ?? new FairnessProductionOptions()), TimeProvider.System, NullLogger<ProductionFairnessService>.Instance);

    private static string? Gender(PredictionRecord record) =>
        JsonDocument.Parse(record.InputJson).RootElement.TryGetProperty("customer_gender", out var g) && g.ValueKind == JsonValueKind.String ? g.GetString() : null;

    [Fact]
    public async Task UpdateWindowsAsync_SeededDays_OneWindowPerClosedDayCountedByHand_IdempotentAndRecomputedWhenLabelsChange()
    {
        var traffic = await PerformanceTraffic.SeedAsync(fixture, "fair-prod-windows", days: 5, perDay: 90);
        var service = fixture.App.Get<ProductionFairnessService>();
        var model = (await fixture.App.Get<RegistryStore>().GetModelAsync(traffic.Model))!;
        var heard = new List<string>();
        using var _ = fixture.App.Get<EventHub>().Subscribe<FairnessWindowsComputed>(e => { lock (heard) heard.Add(e.Model); });
        var yesterday = Today.AddDays(-1);

        Assert.True(await service.UpdateWindowsAsync(yesterday) >= 4);

        var windows = await fixture.App.Get<ProductionFairnessStore>().WindowsAsync(model.Id, Today.AddDays(-10), Today, "customer_gender", default);
        Assert.Equal(Enumerable.Range(1, 4).Select(d => Today.AddDays(-5 + d)), windows.Select(w => w.Day)); // the closed days, not today
        Assert.Contains(traffic.Model, heard);
        // A labelled day, recounted from the records: each gender's size, selection rate and (labels so far, unlabelled legitimate) TPR.
        var day = Today.AddDays(-3);
        var window = windows.Single(w => w.Day == day);
        var records = traffic.Records.Where(r => DateOnly.FromDateTime(r.CreatedAt) == day).ToList();
        Assert.Equal(records.Count, window.Predictions);
        Assert.Equal(records.Count, window.Sampled);
        foreach (var group in window.Grouping!.Realized.Groups)
        {
            var members = records.Where(r => (Gender(r) ?? FairnessGroups.Missing) == group.Group).ToList();
            Assert.Equal(members.Count, group.Count);
            Assert.Equal(members.Count(r => r.Decision) / (double)members.Count, group.Metrics[FairnessMetric.SelectionRate].Value!.Value, 12);
            var fraud = members.Where(r => traffic.Labels.GetValueOrDefault(r.Id)).ToList();
            Assert.Equal(fraud.Count, group.Fraud);
            if (fraud.Count > 0) Assert.Equal(fraud.Count(r => r.Decision) / (double)fraud.Count, group.Metrics[FairnessMetric.TruePositiveRate].Value!.Value, 12);
        }

        Assert.Equal(records.Select(Gender).Distinct().Count(), window.Grouping.Realized.Groups.Count);

        // Nothing changed: nothing computed again.
        Assert.Equal(0, await service.UpdateWindowsAsync(yesterday));

        // Labels for yesterday arrive: that day (only that one of this model) is computed again, with them.
        var before = windows.Single(w => w.Day == yesterday);
        Assert.Equal(0, before.Grouping!.Realized.Groups.Sum(g => g.Fraud));
        var posted = await traffic.LabelAsync(fixture, r => DateOnly.FromDateTime(r.CreatedAt) == yesterday);
        Assert.True(posted.Fraud > 0);
        heard.Clear();

        Assert.Equal(1, await service.UpdateWindowsAsync(yesterday));

        var after = (await fixture.App.Get<ProductionFairnessStore>().WindowsAsync(model.Id, yesterday, yesterday, "customer_gender", default)).Single();
        Assert.Equal(posted.Fraud, after.Grouping!.Realized.Groups.Sum(g => g.Fraud));
        Assert.True(after.ComputedAt > before.ComputedAt);
        Assert.Equal([traffic.Model], heard.Distinct());

        // The series reads the stored windows: one point per day, the realized demographic parity difference with its interval.
        var series = (await service.SeriesAsync(traffic.Model, Today.AddDays(-10), Today, "customer_gender"))!;
        Assert.Equal(4, series.Points.Count);
        Assert.Contains("customer_gender", series.Groupings);
        var dp = series.Points.Single(p => p.Day == day).Realized.Single(d => d.Name == DisparityName.DemographicParity && d.Kind == DisparityName.Difference && d.Method == DisparityName.BetweenGroups);
        var eligible = window.Grouping.Realized.Groups.Where(g => g.TooSmall is null).Select(g => g.Metrics[FairnessMetric.SelectionRate].Value!.Value).ToList();
        if (eligible.Count >= 2) Assert.Equal(eligible.Max() - eligible.Min(), dp.Value.Value!.Value, 12);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => service.SeriesAsync(traffic.Model, Today.AddDays(-10), Today, "no-such-column"));
    }

    [Fact]
    public async Task RangeAsync_CapAndMaturity_DeterministicSampleAndEstimatedFraudFromTheLabelsAndDiscountedProbabilities()
    {
        var traffic = await PerformanceTraffic.SeedAsync(fixture, "fair-prod-range", days: 4, perDay: 60, labelRecentDays: false);
        var from = Today.AddDays(-3);

        // Capped at 100 of the 240: the same sample on every call (the realized numbers are the same; estimates move with the clock, as maturity does).
        var capped = Service(new FairnessProductionOptions { MaxRowsPerRange = 100 });
        var first = (await capped.RangeAsync(traffic.Model, from, Today))!;
        var second = (await capped.RangeAsync(traffic.Model, from, Today))!;
        Assert.Equal((240L, 100), (first.Report!.Predictions, first.Report.Sampled));
        Assert.Equal(JsonSerializer.Serialize(first.Report.Groupings.Select(g => g.Realized)), JsonSerializer.Serialize(second.Report!.Groupings.Select(g => g.Realized)));
        Assert.Equal([new VersionTraffic(first.Report.Version, 240)], first.Versions);

        // Uncapped: the estimated expected fraud is Σ over rows of the label, or p (1 − m) / (1 − p m) with the day's maturity from the Performance tab.
        var report = (await Service().RangeAsync(traffic.Model, from, Today, grouping: "customer_gender"))!.Report!;
        Assert.Equal(240, report.Sampled);
        Assert.Equal(["customer_gender"], report.Groupings.Select(g => g.Name));
        var maturity = (await performance.ReportAsync(traffic.Model, from, Today, CohortSize.Day))!.Cohorts.ToDictionary(c => c.Start);
        Assert.False(report.Mature); // every day is inside the 7-day label window
        var estimated = report.Groupings[0].Estimated;
        foreach (var group in estimated.Groups)
        {
            var members = traffic.Records.Where(r => (Gender(r) ?? FairnessGroups.Missing) == group.Group).ToList();
            var q = members.Select(r =>
            {
                if (traffic.Labels.TryGetValue(r.Id, out var fraud)) return fraud ? 1.0 : 0.0;
                var m = maturity[DateOnly.FromDateTime(r.CreatedAt)].Maturity;
                return r.Probability * (1 - m) / (1 - r.Probability * m);
            }).ToList();
            Assert.Equal(q.Sum() / members.Count, group.Metrics[FairnessMetric.FraudRate].Value!.Value, 9);
            var flagged = members.Select((r, i) => (r, i)).Where(x => x.r.Decision).Sum(x => q[x.i]);
            Assert.Equal(flagged / q.Sum(), group.Metrics[FairnessMetric.TruePositiveRate].Value!.Value, 9);
        }

        Assert.All(report.Coverage, c => Assert.Equal(240, c.Sent + c.Missing));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => capped.RangeAsync(traffic.Model, Today, from));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => capped.RangeAsync(traffic.Model, Today.AddDays(-200), Today));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => capped.RangeAsync(traffic.Model, from, Today, grouping: "nope"));
        Assert.Null(await capped.RangeAsync("no-such-model", from, Today));
    }
}
