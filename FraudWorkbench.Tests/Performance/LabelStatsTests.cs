using FraudWorkbench.Core.Performance;
using FraudWorkbench.Core.Registry;
using FraudWorkbench.Core.Scoring;
using FraudWorkbench.Tests.Components;
using FraudWorkbench.Tests.Scoring;

namespace FraudWorkbench.Tests.Performance;

public sealed class LabelStatsRecordTests
{
    private static readonly DateTime Now = new(2026, 12, 7, 12, 0, 0, DateTimeKind.Utc);

    private static LabelStats Last(DateTime? last) => new(new(0, 0), new(0, 0), new(0, 0), last, Now);

    [Fact]
    public void Stale_FourteenFullDaysQuiet_NotYetStale()
    {
        var stats = Last(Now.AddDays(-14).AddHours(-23));

        Assert.Equal(14, stats.DaysSinceLast);
        Assert.False(stats.Stale);
    }

    [Fact]
    public void Stale_FifteenDaysQuiet_Stale()
    {
        var stats = Last(Now.AddDays(-15));

        Assert.Equal(15, stats.DaysSinceLast);
        Assert.True(stats.Stale);
    }

    [Fact]
    public void Stale_NeverALabel_StaleWithoutDays()
    {
        var stats = Last(null);

        Assert.Null(stats.DaysSinceLast);
        Assert.True(stats.Stale);
    }

    [Fact]
    public void FraudShare_NoLabels_Undefined()
    {
        Assert.Null(new LabelCount(0, 0).FraudShare);
        Assert.Equal(0.25, new LabelCount(8, 2).FraudShare);
    }
}

/// <summary>The label summary's counts on labels placed at known arrival times, this model's only.</summary>
[Trait("Category", "Database")]
[Collection(MonitoringPanelsCollection.Name)]
public sealed class LabelStatsTests(ScoringFixture fixture)
{
    private async Task<Guid> ModelIdAsync(string model) => (await fixture.App.Get<RegistryStore>().GetModelAsync(model))!.Id;

    [Fact]
    public async Task ReadAsync_LabelsAtKnownTimes_CountedPerPeriodWithFraudAndLastArrival()
    {
        const string model = "label-stats";
        var scored = await LabelScenario.ScoreAsync(fixture, model, 0, 1, 2, 3, 4, 5);
        var predictions = fixture.App.Get<PredictionStore>();
        var labels = new[] { true, false, true, false, true };
        await predictions.RecordFeedbackAsync([.. labels.Select((fraud, i) => new FeedbackItem(scored[i].Id, fraud))], "test");
        var now = DateTime.UtcNow;
        var ages = new[] { TimeSpan.FromHours(2), TimeSpan.FromDays(3), TimeSpan.FromDays(3), TimeSpan.FromDays(20), TimeSpan.FromDays(40) };
        for (var i = 0; i < ages.Length; i++) await LabelScenario.SetReceivedAsync(fixture, scored[i].Id, now - ages[i]);
        // Another model's fresh label is not this model's.
        var other = await LabelScenario.ScoreAsync(fixture, "label-stats-other", 6);
        await predictions.RecordFeedbackAsync([new FeedbackItem(other[0].Id, true)], "test");

        var stats = await fixture.App.Get<LabelStatsStore>().ReadAsync(await ModelIdAsync(model));

        // 24 h: the 2 h-old fraud; 7 d: that and the two 3-day-old (one fraud); 30 d: plus the 20-day-old legitimate one.
        Assert.Equal(new LabelCount(1, 1), stats.Last24Hours);
        Assert.Equal(new LabelCount(3, 2), stats.Last7Days);
        Assert.Equal(new LabelCount(4, 2), stats.Last30Days);
        Assert.Equal(0.5, stats.Last30Days.FraudShare);
        Assert.InRange((now - TimeSpan.FromHours(2) - stats.LastReceivedAt!.Value).Duration(), TimeSpan.Zero, TimeSpan.FromMilliseconds(1));
        Assert.Equal(DateTimeKind.Utc, stats.LastReceivedAt.Value.Kind);
        Assert.Equal(0, stats.DaysSinceLast);
        Assert.False(stats.Stale);
    }

    [Fact]
    public async Task ReadAsync_OnlyOldLabels_NothingInThePeriodsButTheLastArrivalFound()
    {
        const string model = "label-stats-quiet";
        var scored = await LabelScenario.ScoreAsync(fixture, model, 10, 11);
        await fixture.App.Get<PredictionStore>().RecordFeedbackAsync([new FeedbackItem(scored[0].Id, true), new FeedbackItem(scored[1].Id, false)], "test");
        var now = DateTime.UtcNow;
        await LabelScenario.SetReceivedAsync(fixture, scored[0].Id, now.AddDays(-40));
        await LabelScenario.SetReceivedAsync(fixture, scored[1].Id, now.AddDays(-45));

        var stats = await fixture.App.Get<LabelStatsStore>().ReadAsync(await ModelIdAsync(model));

        Assert.Equal((new LabelCount(0, 0), new LabelCount(0, 0), new LabelCount(0, 0)), (stats.Last24Hours, stats.Last7Days, stats.Last30Days));
        Assert.Equal(40, stats.DaysSinceLast);
        Assert.True(stats.Stale);
    }

    [Fact]
    public async Task ReadAsync_NoLabelEver_NoLastArrival()
    {
        const string model = "label-stats-none";
        await LabelScenario.ScoreAsync(fixture, model, 12);

        var stats = await fixture.App.Get<LabelStatsStore>().ReadAsync(await ModelIdAsync(model));

        Assert.Equal(new LabelCount(0, 0), stats.Last30Days);
        Assert.Null(stats.LastReceivedAt);
        Assert.True(stats.Stale);
    }
}
