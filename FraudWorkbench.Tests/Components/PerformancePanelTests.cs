using System.Globalization;
using System.Text.Json;
using Bunit;
using FraudWorkbench.Components.Pages.Monitoring;
using FraudWorkbench.Components.Shared;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Features;
using FraudWorkbench.Core.Monitoring;
using FraudWorkbench.Core.Performance;
using FraudWorkbench.Core.Registry;
using FraudWorkbench.Core.Scoring;
using FraudWorkbench.Tests.Scoring;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor;
using MudBlazor.Services;

namespace FraudWorkbench.Tests.Components;

/// <summary>
/// The Performance tab on a real app: a month A model in production has scored month B rows over the last three weeks
/// (written to the prediction log with their past times, so the performance counts hold them as live traffic would) and
/// labels have arrived for the older ones; a 7-day label window makes the older weeks mature and the recent ones provisional.
/// </summary>
[Trait("Category", "Database")]
[Collection(MonitoringPanelsCollection.Name)]
public sealed class PerformancePanelTests(ScoringFixture fixture)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    /// <summary>A bUnit context over the app's own performance service, registry, event hub and clock, behind MudBlazor.</summary>
    private BunitContext NewContext()
    {
        BunitContext.DefaultWaitTimeout = Wait;
        var context = new BunitContext();
        context.JSInterop.Mode = JSRuntimeMode.Loose;
        context.Services.AddMudServices();
        context.Services.AddSingleton(fixture.App.Get<PerformanceService>());
        context.Services.AddSingleton(fixture.App.Get<RegistryStore>());
        context.Services.AddSingleton(fixture.App.Get<FraudWorkbench.Core.Events.EventHub>());
        context.Services.AddSingleton(TimeProvider.System);
        context.Render<MudPopoverProvider>();
        return context;
    }

    private static IRenderedComponent<PerformancePanel> Render(BunitContext context, string model, MonitoringRange range)
    {
        var cut = context.Render<PerformancePanel>(p => p.Add(x => x.Model, model).Add(x => x.Range, range));
        cut.WaitForAssertion(() => Assert.Equal("loaded", cut.Find("[data-testid=performance-panel]").GetAttribute("data-state")), Wait);
        return cut;
    }

    [Fact]
    public async Task PerformancePanel_LabelledWeeks_ShowsTheReportsRealizedAndEstimatedNumbersAndMaturity()
    {
        var traffic = await PerformanceTraffic.SeedAsync(fixture, "ui-performance-numbers");
        await using var context = NewContext();

        var cut = Render(context, traffic.Model, traffic.Range);

        // 21 days is more than a week: weekly cohorts by default.
        Assert.Equal(CohortSize.Week, cut.Find("[data-testid=performance-panel]").GetAttribute("data-cohort"));
        var (from, to) = PerformanceView.Days(traffic.Range);
        var report = (await fixture.App.Get<PerformanceService>().ReportAsync(traffic.Model, from, to, CohortSize.Week))!;
        var rows = cut.FindAll("[data-testid=performance-row]");
        var shown = report.Cohorts.Where(c => c.Realized.Predictions > 0).Reverse().ToList();
        Assert.Equal(shown.Select(c => c.Start.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)), rows.Select(r => r.GetAttribute("data-start")));
        Assert.Contains(shown, c => c.Mature);
        Assert.Contains(shown, c => !c.Mature);
        for (var i = 0; i < rows.Count; i++)
        {
            var cohort = shown[i];
            var row = rows[i];
            var realized = cohort.Realized.Metrics[PerformanceMetric.Recall];
            var estimated = cohort.Estimated.Metrics[PerformanceMetric.Recall];
            Assert.Equal(PerformanceView.Metric(realized), row.QuerySelector("[data-testid=performance-realized]")!.TextContent.Trim());
            Assert.StartsWith(PerformanceView.Metric(estimated.Value), row.QuerySelector("[data-testid=performance-estimated]")!.TextContent.Trim(), StringComparison.Ordinal);
            Assert.Equal(cohort.Mature ? "mature" : cohort.Open ? "open" : "provisional", row.GetAttribute("data-state"));
            Assert.Equal(row.GetAttribute("data-state"), row.QuerySelector("[data-testid=performance-state]")!.TextContent.Trim());
            Assert.Equal(PerformanceView.Percent(cohort.Maturity), row.QuerySelector("[data-testid=performance-maturity]")!.TextContent.Trim());
            // Against the records written, counted independently: labels in, and recall = TP / (TP + FN) on the fraud labels;
            // CBPE's recall = Σ p over flagged / Σ p.
            var written = traffic.Records.Where(r => DateOnly.FromDateTime(r.CreatedAt) >= cohort.Start && DateOnly.FromDateTime(r.CreatedAt) < cohort.End).ToList();
            var labelled = written.Where(r => traffic.Labels.ContainsKey(r.Id)).ToList();
            var fraud = labelled.Where(r => traffic.Labels[r.Id]).ToList();
            Assert.Equal(written.Count, cohort.Realized.Predictions);
            Assert.Equal(PerformanceView.Count(labelled.Count), row.QuerySelector("[data-testid=performance-labelled]")!.TextContent.Trim());
            Assert.Equal(PerformanceView.Count(fraud.Count), row.QuerySelector("[data-testid=performance-fraud]")!.TextContent.Trim());
            if (fraud.Count > 0) Assert.Equal((double)fraud.Count(r => r.Decision) / fraud.Count, realized!.Value, 12);
            Assert.Equal(written.Where(r => r.Decision).Sum(r => r.Probability) / written.Sum(r => r.Probability), estimated.Value!.Value, 9);
            Assert.Equal(estimated.Value.Value.ToString("R", CultureInfo.InvariantCulture), row.GetAttribute("data-estimated"));
        }

        // The range's tiles: realized marked provisional (a cohort is not mature), estimated recall with its band.
        var range = report.Range!;
        Assert.Equal(PerformanceView.Metric(range.Realized.Metrics[PerformanceMetric.Recall]), cut.Find("[data-testid=tile-realized-recall-value]").TextContent.Trim());
        Assert.Equal(PerformanceView.Metric(range.Realized.Metrics[PerformanceMetric.AveragePrecision]), cut.Find("[data-testid=tile-realized-averagePrecision-value]").TextContent.Trim());
        Assert.Equal("true", cut.Find("[data-testid=tile-realized-recall]").GetAttribute("data-provisional"));
        Assert.NotEmpty(cut.FindAll("[data-testid=tile-provisional]"));
        var recall = range.Estimated.Metrics[PerformanceMetric.Recall];
        Assert.Equal(PerformanceView.Metric(recall.Value), cut.Find("[data-testid=tile-estimated-recall-value]").TextContent.Trim());
        Assert.NotNull(recall.Lower);
        Assert.Equal("band " + PerformanceView.Band(recall), cut.Find("[data-testid=tile-estimated-recall-band]").TextContent.Trim());
        Assert.Equal(PerformanceView.Percent(range.Maturity), cut.Find("[data-testid=tile-maturity-value]").TextContent.Trim());
        Assert.Equal(PerformanceView.Money(range.Estimated.ExpectedFraudLoss), cut.Find("[data-testid=tile-expected-loss-value]").TextContent.Trim());
        Assert.NotNull(range.Estimated.ExpectedFraudLoss); // the samples have an amount column

        // The chart draws both series, the band, the thresholds and the maturity strip.
        var chart = cut.Find("[data-testid=performance-chart]").InnerHtml;
        foreach (var text in new[] { "estimated (CBPE)", "realized, mature", "realized, provisional", "estimate band", "fw-maturity-strip" })
            Assert.Contains(text, chart, StringComparison.Ordinal);
        Assert.Contains($"Learned from {report.Arrival.Labels.ToString("N0", CultureInfo.InvariantCulture)} fraud labels", cut.Find("[data-testid=performance-arrival-source]").TextContent, StringComparison.Ordinal);
        Assert.Equal(traffic.Labels.Count(l => l.Value), (int)report.Arrival.Labels);
    }

    [Fact]
    public async Task PerformancePanel_LabelsPosted_ReloadsWithTheNewFraudCounts()
    {
        var traffic = await PerformanceTraffic.SeedAsync(fixture, "ui-performance-live", labelRecentDays: false);
        await using var context = NewContext();
        var cut = Render(context, traffic.Model, traffic.Range);
        // The fullest week with no labels yet (inside the label window).
        var start = cut.FindAll("[data-testid=performance-row]")
            .Where(r => r.QuerySelector("[data-testid=performance-fraud]")!.TextContent.Trim() == "0")
            .Select(r => DateOnly.ParseExact(r.GetAttribute("data-start")!, "yyyy-MM-dd", CultureInfo.InvariantCulture))
            .OrderByDescending(s => traffic.InWeek(s).Count()).First();

        var posted = await traffic.LabelAsync(fixture, r => traffic.InWeek(start).Contains(r));

        Assert.True(posted.Fraud > 0, "the newest week holds fraud to label");
        cut.WaitForAssertion(() => Assert.Equal(PerformanceView.Count(posted.Fraud),
            cut.Find($"[data-testid=performance-row][data-start='{start:yyyy-MM-dd}'] [data-testid=performance-fraud]").TextContent.Trim()), Wait);
        Assert.Equal(PerformanceView.Count(posted.Labelled),
            cut.Find($"[data-testid=performance-row][data-start='{start:yyyy-MM-dd}'] [data-testid=performance-labelled]").TextContent.Trim());
    }

    [Fact]
    public async Task PerformancePanel_CohortAndMetricChosen_RedrawsPerDay()
    {
        var traffic = await PerformanceTraffic.SeedAsync(fixture, "ui-performance-cohort", days: 10);
        await using var context = NewContext();
        var cut = Render(context, traffic.Model, traffic.Range);

        cut.Find("[data-testid=cohort-day]").Click();

        cut.WaitForAssertion(() => Assert.Equal(10, cut.FindAll("[data-testid=performance-row]").Count), Wait);
        Assert.Equal(CohortSize.Day, cut.Find("[data-testid=performance-panel]").GetAttribute("data-cohort"));
        await cut.InvokeAsync(() => cut.FindComponent<MudSelect<string>>().Instance.ValueChanged.InvokeAsync(PerformanceMetric.RocAuc));
        cut.WaitForAssertion(() => Assert.Equal(PerformanceMetric.RocAuc, cut.Find("[data-testid=performance-panel]").GetAttribute("data-metric")), Wait);
        Assert.Contains("ROC-AUC per day", cut.Markup, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PerformancePanel_ModelWithoutTraffic_SaysHowToGetSome()
    {
        const string model = "ui-performance-empty";
        await fixture.RegisterAndPromoteAsync(model, fixture.StrongRun);
        await using var context = NewContext();
        var now = DateTime.UtcNow;

        var cut = context.Render<PerformancePanel>(p => p.Add(x => x.Model, model).Add(x => x.Range, MonitoringRange.Covering(now.AddDays(-7), now, WindowSize.Day)));

        cut.WaitForAssertion(() => Assert.Equal("empty", cut.Find("[data-testid=performance-panel]").GetAttribute("data-state")), Wait);
        Assert.Contains("/api/v1/predict", cut.Find("[data-testid=performance-empty]").TextContent, StringComparison.Ordinal);
        Assert.Equal(CohortSize.Day, cut.Find("[data-testid=performance-panel]").GetAttribute("data-cohort")); // a week or less: daily cohorts
    }

    [Fact]
    public void CalibrationWarning_ObservedOutsideBand_NamesBothCountsAndTheAssumption()
    {
        // Expected Σ p = 40 with band ± 3 √Σ p(1 − p) = ± 18 (Σ p(1 − p) = 36); 70 observed is outside, 50 inside.
        var drifted = new CalibrationCheck(4, 40, 70, 22, 58);

        var warning = PerformanceView.CalibrationWarning(drifted);

        Assert.Equal("Observed fraud 70 is outside the expected 40.0 ± 18.0 over the last 4 mature cohorts. CBPE assumes the scores stay calibrated " +
            "(no concept drift): the estimates may be wrong until the model is retrained.", warning);
        Assert.Null(PerformanceView.CalibrationWarning(drifted with { Observed = 50 }));
        Assert.Null(PerformanceView.CalibrationWarning(new CalibrationCheck(0, 0, 0, 0, 0)));
    }

    [Fact]
    public void PerformanceSeries_MatureAndProvisionalCohorts_DrawsStripUnderTheAxisInsideTheViewBox()
    {
        PerformancePoint[] points =
        [
            new("2026-11-16", 0.5, Mature: true, Open: false, 0.6, 0.5, 0.7, 1),
            new("2026-11-23", 0.4, Mature: false, Open: false, 0.55, 0.45, 0.65, 0.64),
            new("2026-11-30", null, Mature: false, Open: true, 0.5, 0.4, 0.6, 0.1),
        ];

        var figure = Charts.PerformanceSeries("Recall", points, 0.7, 0.55, 0.85, width: 960, height: 330);

        Assert.Contains("viewBox=\"0 0 960 364\"", figure, StringComparison.Ordinal); // 330 + the 34 px strip
        Assert.Contains("2026-11-23: 64 % of expected fraud labels in (provisional)", figure, StringComparison.Ordinal);
        Assert.Contains("2026-11-30: 10 % of expected fraud labels in (open, provisional)", figure, StringComparison.Ordinal);
        Assert.Contains("2026-11-16: realized Recall 0.5 (mature, 100 % of labels expected in)", figure, StringComparison.Ordinal);
        Assert.Contains("2026-11-23: estimated Recall 0.55 (band 0.45–0.65)", figure, StringComparison.Ordinal);
        foreach (var legend in new[] { "realized, mature", "realized, provisional", "estimated (CBPE)", "validation 0.7", "alert below 0.55", "alert above 0.85" })
            Assert.Contains(legend, figure, StringComparison.Ordinal);
        Assert.DoesNotContain("2026-11-30: realized", figure, StringComparison.Ordinal); // no realized value, no point
    }

    [Theory]
    [InlineData("2026-12-01T00:00:00", "2026-12-08T00:00:00", "2026-12-01", "2026-12-07", "day")]
    [InlineData("2026-11-30T00:00:00", "2026-12-08T00:00:00", "2026-11-30", "2026-12-07", "day")]
    [InlineData("2026-11-29T00:00:00", "2026-12-08T00:00:00", "2026-11-29", "2026-12-07", "week")]
    [InlineData("2026-12-06T10:00:00", "2026-12-07T11:00:00", "2026-12-06", "2026-12-07", "day")]
    public void Days_MonitoringRange_GivesInclusiveDaysAndDefaultCohort(string start, string end, string first, string last, string cohort)
    {
        var range = new MonitoringRange(DateTime.Parse(start, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal),
            DateTime.Parse(end, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal), WindowSize.Day);

        var (from, to) = PerformanceView.Days(range);

        Assert.Equal((DateOnly.Parse(first, CultureInfo.InvariantCulture), DateOnly.Parse(last, CultureInfo.InvariantCulture)), (from, to));
        Assert.Equal(cohort, PerformanceView.DefaultCohort(from, to));
    }
}

/// <summary>
/// Month B traffic for a month A model on past days: each row featurized and scored as the API would, then written to the
/// prediction log with a time on its day (the log's sinks count it as live traffic), and labels recorded as a partner sends them.
/// </summary>
public sealed class PerformanceTraffic
{
    public const int LabelWindowDays = 7;

    private PerformanceTraffic(string model, MonitoringRange range, List<PredictionRecord> records, Dictionary<Guid, bool> truth)
    {
        (Model, Range, Records, Truth) = (model, range, records, truth);
    }

    public string Model { get; }

    /// <summary>Day windows covering the days with traffic, today included.</summary>
    public MonitoringRange Range { get; }

    public List<PredictionRecord> Records { get; }

    /// <summary>The true label of every record (month B's is_fraud).</summary>
    public Dictionary<Guid, bool> Truth { get; }

    /// <summary>The records of the week cohort starting <paramref name="start"/>.</summary>
    public IEnumerable<PredictionRecord> InWeek(DateOnly start) => Records.Where(r => DateOnly.FromDateTime(r.CreatedAt) >= start && DateOnly.FromDateTime(r.CreatedAt) < start.AddDays(7));

    /// <summary>Labels recorded so far, by prediction id.</summary>
    public Dictionary<Guid, bool> Labels { get; } = [];

    /// <param name="labelRecentDays">Also label the days inside the label window (those older than two days); else only older ones.</param>
    public static async Task<PerformanceTraffic> SeedAsync(ScoringFixture fixture, string model, int days = 21, int perDay = 120, bool labelRecentDays = true)
    {
        var app = fixture.App;
        await fixture.RegisterAndPromoteAsync(model, fixture.StrongRun);
        Assert.Equal([], await app.Get<PerformanceService>().SaveConfigAsync(model, new PerformanceConfig(LabelWindowDays), "test"));
        var serving = await app.Get<ModelServer>().ResolveAsync(model, null);
        List<string?[]> rows;
        await using (var file = File.OpenRead(Path.Combine(AppContext.BaseDirectory, "samples", "transactions-month-b.csv"))) rows = DatasetRows.Read(file, fixture.Schema);
        var label = fixture.Schema.Columns.ToList().FindIndex(c => c.Role == ColumnRole.Label);
        var step = rows.Count / (days * perDay);
        var now = DateTime.UtcNow;
        var today = DateOnly.FromDateTime(now);
        var entities = app.Get<EntityStateStore>();
        var records = new List<PredictionRecord>();
        var truth = new Dictionary<Guid, bool>();
        var probability = new double[1];
        for (var i = 0; i < days * perDay; i++)
        {
            var day = today.AddDays(-(days - 1) + i / perDay);
            var at = day == today ? now.AddMinutes(-30).AddSeconds(i % perDay) : day.ToDateTime(new TimeOnly(12, 0), DateTimeKind.Utc).AddSeconds(i % perDay);
            var input = JsonSerializer.SerializeToElement(ScoringFixture.Transaction(fixture.Schema, rows[i * step]));
            var issues = new List<InputIssue>();
            var row = serving.Contract.Parse(input, "", issues);
            Assert.True(row is not null, string.Join("; ", issues.Select(x => $"{x.Field}: {x.Message}")));
            var features = await entities.ComputeAsync(serving.FeatureSetVersionId, serving.Featurizer, row!, record: false);
            serving.Probabilities(features, 1, probability);
            var id = Guid.CreateVersion7(new DateTimeOffset(at));
            records.Add(new PredictionRecord(id, at, serving.VersionId, "test", input.GetRawText(), features, probability[0], probability[0] >= serving.Threshold, 1f, Row: row));
            truth[id] = rows[i * step][label] is "1" or "true" or "True";
        }

        var log = app.Get<PredictionLog>();
        Assert.True(log.TryReserve(records.Count));
        foreach (var record in records) log.Write(record);
        await log.FlushAsync();

        var traffic = new PerformanceTraffic(model, MonitoringRange.Covering(today.AddDays(-(days - 1)).ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc), today.AddDays(1).ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc), WindowSize.Day), records, truth);
        var lastLabelled = labelRecentDays ? today.AddDays(-2) : today.AddDays(-(LabelWindowDays + 2));
        await traffic.LabelAsync(fixture, r => DateOnly.FromDateTime(r.CreatedAt) <= lastLabelled);
        return traffic;
    }

    /// <summary>
    /// Labels the chosen records as a case-management export would: every fraud and one legitimate row in four, dated two
    /// days after the transaction (today at the latest).
    /// </summary>
    public async Task<(int Labelled, int Fraud)> LabelAsync(ScoringFixture fixture, Func<PredictionRecord, bool> which)
    {
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        var items = Records.Where(which).Where((r, i) => !Labels.ContainsKey(r.Id) && (Truth[r.Id] || i % 4 == 0))
            .Select(r => new FeedbackItem(r.Id, Truth[r.Id], DateOnly.FromDateTime(r.CreatedAt).AddDays(2) is var d && d < today ? d : today)).ToList();
        var outcome = await fixture.App.Get<PredictionStore>().RecordFeedbackAsync(items, "test");
        Assert.Empty(outcome.Unknown);
        foreach (var item in items) Labels[item.PredictionId] = item.IsFraud;
        return (items.Count, items.Count(i => i.IsFraud));
    }
}
