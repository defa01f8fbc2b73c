using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Bunit;
using FraudWorkbench.Components.Pages.Monitoring;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Monitoring;
using FraudWorkbench.Core.Scoring;
using FraudWorkbench.Tests.Scoring;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor;
using MudBlazor.Services;

namespace FraudWorkbench.Tests.Components;

/// <summary>
/// The monitoring panels on a real app: a month A model in production scores month B rows through the REST API, so the
/// tables show real drift, unseen values and missing values; the recurring job's computation is triggered directly.
/// </summary>
[Trait("Category", "Database")]
public sealed class MonitoringPagesTests(ScoringFixture fixture) : IClassFixture<ScoringFixture>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    /// <summary>A bUnit context with the app's own monitoring service, registry and event hub (so its job's events reach the panels), and MudBlazor.</summary>
    private BunitContext NewContext()
    {
        BunitContext.DefaultWaitTimeout = Wait;
        var context = new BunitContext();
        context.JSInterop.Mode = JSRuntimeMode.Loose;
        context.Services.AddMudServices();
        context.Services.AddSingleton(fixture.App.Get<MonitoringService>());
        context.Services.AddSingleton(fixture.App.Get<FraudWorkbench.Core.Registry.RegistryStore>());
        context.Services.AddSingleton(fixture.App.Get<FraudWorkbench.Core.Events.EventHub>());
        context.Services.AddSingleton(TimeProvider.System);
        context.Render<MudPopoverProvider>();
        return context;
    }

    private static MonitoringRange LastDay(string window = WindowSize.Hour)
    {
        var now = DateTime.UtcNow;
        return MonitoringRange.Covering(now.AddHours(-24), now, window);
    }

    [Fact]
    public async Task DriftTable_MonthBTraffic_RendersEveryColumnInServiceOrderWithStates()
    {
        const string model = "ui-monitor-table";
        var traffic = await MonitoringTraffic.ScoreMonthBAsync(fixture, model, 2000);
        var range = LastDay();
        var expected = MonitoringView.Latest((await fixture.App.Get<MonitoringService>().DriftAsync(model, range))!)!;
        await using var context = NewContext();

        var cut = context.Render<DriftTable>(p => p.Add(x => x.Model, model).Add(x => x.Range, range));
        cut.WaitForAssertion(() => Assert.Equal("loaded", cut.Find("[data-testid=drift-panel]").GetAttribute("data-state")), Wait);

        var rows = cut.FindAll("[data-testid=drift-row]");
        Assert.Equal(expected.Columns.Select(c => c.Column), rows.Select(r => r.GetAttribute("data-column")));
        Assert.Equal([MonitoredColumns.Score, MonitoredColumns.Decision], rows.Take(2).Select(r => r.GetAttribute("data-column")));
        // Within the inputs, the most drifted first (severity: how far past its threshold).
        var inputs = expected.Columns.Where(c => c.Kind == ColumnKind.Input && c.Value is not null).Select(c => c.Severity).ToList();
        Assert.True(inputs.Count >= 5, $"{inputs.Count} tested inputs");
        Assert.Equal(inputs.OrderByDescending(s => s), inputs);
        // Every customer_gender was sent as null: a column with no values in the window says so instead of a score.
        var gender = rows.Single(r => r.GetAttribute("data-column") == "customer_gender");
        Assert.Equal(DriftStatus.NoData, gender.GetAttribute("data-state"));
        Assert.Equal("no data", gender.QuerySelector("[data-testid=drift-verdict]")!.TextContent.Trim());
        Assert.Equal("—", gender.QuerySelector("[data-testid=drift-score]")!.TextContent.Trim());
        // Month B adds Portugal and doubles Poland (data-samples/README.md): home_country drifts, and PT shows as an unseen bar.
        var country = rows.Single(r => r.GetAttribute("data-column") == "home_country");
        Assert.Equal("true", country.GetAttribute("data-drifted"));
        Assert.Contains("PT (unseen)", country.InnerHtml, StringComparison.Ordinal);
        var value = expected.Column("home_country")!.Value!.Value;
        Assert.Equal(value.ToString("0.####", CultureInfo.InvariantCulture), country.QuerySelector("[data-testid=drift-score]")!.TextContent.Trim());
        Assert.Equal(traffic.Scored.ToString("N0", CultureInfo.InvariantCulture), expected.Predictions.ToString("N0", CultureInfo.InvariantCulture));
        Assert.Contains($"{traffic.Scored.ToString("N0", CultureInfo.InvariantCulture)} predictions", cut.Find("[data-testid=drift-window]").TextContent, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DriftTable_RowClicked_OpensColumnDetailWithUnseenShares()
    {
        const string model = "ui-monitor-detail";
        var traffic = await MonitoringTraffic.ScoreMonthBAsync(fixture, model, 1000);
        await using var context = NewContext();
        var cut = context.Render<DriftTable>(p => p.Add(x => x.Model, model).Add(x => x.Range, LastDay()));
        cut.WaitForAssertion(() => Assert.Equal("loaded", cut.Find("[data-testid=drift-panel]").GetAttribute("data-state")), Wait);
        Assert.Empty(cut.FindAll("[data-testid=column-detail]"));

        cut.FindAll("[data-testid=drift-row]").Single(r => r.GetAttribute("data-column") == "home_country").Click();

        cut.WaitForAssertion(() => Assert.Equal("loaded", cut.Find("[data-testid=column-detail]").GetAttribute("data-state")), Wait);
        Assert.Equal("home_country", cut.Find("[data-testid=column-detail]").GetAttribute("data-column"));
        var pt = cut.FindAll("[data-testid=detail-category]").Single(r => r.GetAttribute("data-value") == "PT");
        Assert.Equal("true", pt.GetAttribute("data-unseen"));
        // The current share of PT is the share of scored rows from Portugal, counted from the CSV rows sent.
        var share = (double)traffic.HomeCountries.GetValueOrDefault("PT") / traffic.Scored;
        Assert.Contains(MonitoringView.Percent(share), pt.TextContent, StringComparison.Ordinal);
        Assert.Contains("unseen", pt.TextContent, StringComparison.Ordinal);
        var de = cut.FindAll("[data-testid=detail-category]").Single(r => r.GetAttribute("data-value") == "DE");
        Assert.Equal("false", de.GetAttribute("data-unseen"));
        Assert.NotEmpty(cut.FindAll("[data-testid=detail-histogram] svg"));

        cut.Find("[data-testid=detail-close]").Click();
        cut.WaitForAssertion(() => Assert.Empty(cut.FindAll("[data-testid=column-detail]")), Wait);
    }

    [Fact]
    public async Task DataQualityPanel_MonthBTraffic_ShowsUnseenValuesAndMissingRise()
    {
        const string model = "ui-monitor-quality";
        var traffic = await MonitoringTraffic.ScoreMonthBAsync(fixture, model, 1000);
        await using var context = NewContext();
        var cut = context.Render<DataQualityPanel>(p => p.Add(x => x.Model, model).Add(x => x.Range, LastDay()));
        cut.WaitForAssertion(() => Assert.Equal("loaded", cut.Find("[data-testid=quality-panel]").GetAttribute("data-state")), Wait);

        var rows = cut.FindAll("[data-testid=quality-row]");
        // PT never occurs in month A: every Portuguese row is an unseen home_country, counted independently from the CSV.
        var unseenCountries = traffic.HomeCountries.Where(kv => !traffic.ReferenceCountries.Contains(kv.Key)).ToList();
        Assert.Contains(unseenCountries, kv => kv.Key == "PT");
        var country = rows.Single(r => r.GetAttribute("data-column") == "home_country");
        Assert.Equal(unseenCountries.Sum(kv => kv.Value).ToString(CultureInfo.InvariantCulture), country.GetAttribute("data-unseen"));
        Assert.Equal("true", country.GetAttribute("data-problem"));
        Assert.Contains($"PT ({traffic.HomeCountries["PT"].ToString("N0", CultureInfo.InvariantCulture)})", country.QuerySelector("[data-testid=quality-unseen]")!.TextContent, StringComparison.Ordinal);
        var gender = rows.Single(r => r.GetAttribute("data-column") == "customer_gender");
        Assert.Equal("true", gender.GetAttribute("data-missing-rise"));
        Assert.Contains("100 %", gender.TextContent, StringComparison.Ordinal);
        // Problems first: no row without a problem comes before one with.
        var problems = rows.Select(r => r.GetAttribute("data-problem") == "true").ToList();
        Assert.Equal(problems.OrderByDescending(p => p), problems);
    }

    [Fact]
    public async Task DriftTableAndTiles_MonitoringComputed_ReloadWithoutRerender()
    {
        const string model = "ui-monitor-live";
        var traffic = await MonitoringTraffic.ScoreMonthBAsync(fixture, model, 500);
        var range = LastDay();
        await using var context = NewContext();
        var table = context.Render<DriftTable>(p => p.Add(x => x.Model, model).Add(x => x.Range, range));
        var tiles = context.Render<MonitoringTiles>(p => p.Add(x => x.Model, model).Add(x => x.Range, range));
        table.WaitForAssertion(() => Assert.Equal("loaded", table.Find("[data-testid=drift-panel]").GetAttribute("data-state")), Wait);
        tiles.WaitForAssertion(() => Assert.Equal("loaded", tiles.Find("[data-testid=monitoring-tiles]").GetAttribute("data-state")), Wait);
        var window = table.Find("[data-testid=drift-window]");
        Assert.Equal("false", window.GetAttribute("data-stored"));
        Assert.Equal("never", tiles.Find("[data-testid=tile-computed-value]").TextContent.Trim());
        Assert.Equal(traffic.Scored.ToString("N0", CultureInfo.InvariantCulture), tiles.Find("[data-testid=tile-predictions-value]").TextContent.Trim());
        var start = DateTime.Parse(window.GetAttribute("data-start")!, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind);

        // What the hourly job does for a closed hour; it announces MonitoringComputed, which the open panels follow.
        await fixture.App.Get<MonitoringJobHandler>().ComputeAsync(WindowSize.Hour, start, default);

        table.WaitForAssertion(() => Assert.Equal("true", table.Find("[data-testid=drift-window]").GetAttribute("data-stored")), Wait);
        Assert.StartsWith("stored by the recurring job", table.Find("[data-testid=drift-window-source]").TextContent.Trim(), StringComparison.Ordinal);
        tiles.WaitForAssertion(() => Assert.Equal("just now", tiles.Find("[data-testid=tile-computed-value]").TextContent.Trim()), Wait);
    }

    [Fact]
    public async Task Panels_ModelWithoutTraffic_SayHowToGetSome()
    {
        const string model = "ui-monitor-empty";
        await fixture.RegisterAndPromoteAsync(model, fixture.StrongRun);
        await using var context = NewContext();
        var table = context.Render<DriftTable>(p => p.Add(x => x.Model, model).Add(x => x.Range, LastDay(WindowSize.Day)));
        var prediction = context.Render<PredictionDriftPanel>(p => p.Add(x => x.Model, model).Add(x => x.Range, LastDay(WindowSize.Day)));

        table.WaitForAssertion(() => Assert.Contains("/api/v1/predict", table.Find("[data-testid=drift-empty]").TextContent, StringComparison.Ordinal), Wait);
        prediction.WaitForAssertion(() => Assert.Contains("/api/v1/predict", prediction.Find("[data-testid=prediction-empty]").TextContent, StringComparison.Ordinal), Wait);
    }

    [Fact]
    public async Task MonitoringIndex_ProductionModel_ListedWithItsMonitoringLink()
    {
        const string model = "ui-monitor-index";
        await fixture.RegisterAndPromoteAsync(model, fixture.StrongRun);
        await using var context = NewContext();

        var cut = context.Render<MonitoringIndex>();

        cut.WaitForAssertion(() => Assert.NotEmpty(cut.FindAll($"[data-testid=monitoring-model][data-model={model}]")), Wait);
        var row = cut.Find($"[data-testid=monitoring-model][data-model={model}]");
        Assert.Contains("v1", row.TextContent, StringComparison.Ordinal);
        Assert.Contains(row.QuerySelectorAll("a"), a => a.GetAttribute("href") == $"models/{model}/monitoring");
    }

    [Theory]
    [InlineData("7d", "day", null, null, "2026-11-30T00:00:00", "2026-12-08T00:00:00", null)]
    [InlineData("24h", "hour", null, null, "2026-12-06T10:00:00", "2026-12-07T11:00:00", null)]
    [InlineData("custom", "day", "2026-11-01", "2026-11-03", "2026-11-01T00:00:00", "2026-11-04T00:00:00", null)]
    [InlineData("custom", "day", "2026-11-31", "2026-12-03", null, null, "From:")]
    [InlineData("custom", "day", "2026-11-05", "2026-11-03", null, null, "To:")]
    [InlineData("custom", "hour", "2026-10-01", "2026-11-30", null, null, "Window:")]
    public void Resolve_RangeQuery_GivesWindowsOrNamesTheField(string range, string window, string? from, string? to, string? start, string? end, string? error)
    {
        var now = new DateTime(2026, 12, 7, 10, 30, 0, DateTimeKind.Utc);
        var (resolved, problem) = ModelMonitoring.Resolve(range, window, from, to, now);
        if (error is not null)
        {
            Assert.Null(resolved);
            Assert.StartsWith(error, problem, StringComparison.Ordinal);
            return;
        }

        Assert.Null(problem);
        Assert.Equal(DateTime.Parse(start!, CultureInfo.InvariantCulture), resolved!.From);
        Assert.Equal(DateTime.Parse(end!, CultureInfo.InvariantCulture), resolved.To);
        Assert.Equal(window, resolved.Window);
    }
}

/// <summary>Month B traffic for a month A model, scored as a partner would (REST, API key), with what was sent counted.</summary>
public static class MonitoringTraffic
{
    /// <param name="Scored">Transactions scored.</param>
    /// <param name="HomeCountries">home_country values sent, with counts.</param>
    /// <param name="ReferenceCountries">home_country values of month A (the model's training data).</param>
    public sealed record Sent(int Scored, IReadOnlyDictionary<string, int> HomeCountries, IReadOnlySet<string> ReferenceCountries);

    /// <summary>
    /// Registers and promotes the strong month A run as <paramref name="model"/>, scores <paramref name="count"/> month B rows
    /// evenly spread over the month with customer_gender sent as null (so a column goes missing), and waits for the log to write them.
    /// </summary>
    public static async Task<Sent> ScoreMonthBAsync(ScoringFixture fixture, string model, int count)
    {
        await fixture.RegisterAndPromoteAsync(model, fixture.StrongRun);
        List<string?[]> rows;
        await using (var file = File.OpenRead(Path.Combine(AppContext.BaseDirectory, "samples", "transactions-month-b.csv"))) rows = DatasetRows.Read(file, fixture.Schema);
        var home = fixture.Schema.Columns.ToList().FindIndex(c => c.Name == "home_country");
        // Spread over the month: the new Polish and Portuguese customers sign up through its first three weeks.
        var step = rows.Count / count;
        var sent = rows.Where((_, i) => i % step == 0).Take(count).ToList();
        using var client = fixture.App.CreateHttpClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", fixture.ApiKey);
        // Small batches, retried on 503: the API answers 503 when the database is slow, and CI's two cores are shared.
        foreach (var batch in sent.Chunk(250))
        {
            var transactions = batch.Select(r =>
            {
                var t = ScoringFixture.Transaction(fixture.Schema, r);
                t["customer_gender"] = null;
                return t;
            }).ToList();
            var response = await client.PostAsJsonAsync("/api/v1/predict/batch", new { model, transactions });
            for (var attempt = 0; attempt < 5 && response.StatusCode == System.Net.HttpStatusCode.ServiceUnavailable; attempt++)
            {
                await Task.Delay(TimeSpan.FromSeconds(2));
                response = await client.PostAsJsonAsync("/api/v1/predict/batch", new { model, transactions });
            }

            Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        }

        await fixture.App.Get<PredictionLog>().FlushAsync();
        return new Sent(sent.Count,
            sent.GroupBy(r => r[home]!).ToDictionary(g => g.Key, g => g.Count()),
            fixture.Rows.Select(r => r[home]!).ToHashSet());
    }
}
