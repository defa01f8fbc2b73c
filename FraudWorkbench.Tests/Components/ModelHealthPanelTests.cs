using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Bunit;
using FraudWorkbench.Components.Pages.Dashboard;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Monitoring;
using FraudWorkbench.Core.Scoring;
using FraudWorkbench.Tests.Scoring;

namespace FraudWorkbench.Tests.Components;

[Trait("Category", "Database")]
[Collection(MonitoringPanelsCollection.Name)]
public sealed class ModelHealthPanelTests(ScoringFixture fixture)
{
    private async Task ScoreAsync(string model, int from, int count)
    {
        using var client = fixture.App.CreateHttpClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", fixture.ApiKey);
        var transactions = Enumerable.Range(from, count).Select(fixture.Transaction).ToList();
        var response = await client.PostAsJsonAsync("/api/v1/predict/batch", new { model, transactions });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await fixture.App.Get<PredictionLog>().FlushAsync();
    }

    private static AngleSharp.Dom.IElement Card(IRenderedComponent<ModelHealthPanel> page, string model) =>
        page.FindAll("[data-testid=model-health-card]").Single(c => c.GetAttribute("data-model") == model);

    private static void AssertShows(AngleSharp.Dom.IElement card, ModelHealth health)
    {
        Assert.Equal(health.Predictions24h.ToString(CultureInfo.InvariantCulture), card.QuerySelector("[data-testid=health-predictions]")!.GetAttribute("data-value"));
        var drift = card.QuerySelector("[data-testid=health-drift]")!;
        Assert.Equal((health.DriftedInputs.ToString(CultureInfo.InvariantCulture), health.TestedInputs.ToString(CultureInfo.InvariantCulture)),
            (drift.GetAttribute("data-drifted"), drift.GetAttribute("data-tested")));
        Assert.Contains($"{health.DriftedInputs} of {health.TestedInputs}", drift.TextContent);
        Assert.Equal(health.DatasetDrift ? "true" : "false", card.QuerySelector("[data-testid=health-dataset-drift]")!.GetAttribute("data-drift"));
        Assert.Equal(health.ScoreDrift switch { true => "true", false => "false", null => "" }, card.QuerySelector("[data-testid=health-score-drift]")!.GetAttribute("data-drift"));
        Assert.Equal(health.QualityProblems.ToString(CultureInfo.InvariantCulture), card.QuerySelector("[data-testid=health-quality]")!.GetAttribute("data-value"));
        Assert.Equal(health.LastComputed is { } at ? at.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture) + " UTC" : "not yet",
            card.QuerySelector("[data-testid=health-last-computed]")!.TextContent.Trim());
    }

    [Fact]
    public async Task Render_ProductionModelWithTraffic_ShowsHealthAsyncsNumbersLinksAndFollowsComputedWindows()
    {
        const string model = "health-dashboard";
        await fixture.RegisterAndPromoteAsync(model, fixture.StrongRun);
        await ScoreAsync(model, 3000, 40);
        await using var context = new AppPageContext(fixture, Roles.Reviewer);

        var page = context.Bunit.Render<ModelHealthPanel>();

        page.WaitForAssertion(() => Assert.NotNull(Card(page, model)));
        var health = (await fixture.App.Get<MonitoringService>().HealthAsync()).Single(h => h.Model == model);
        Assert.Equal(40, health.Predictions24h); // the 40 just scored, and nothing else under this model
        Assert.True(health.TestedInputs > 0, "month A's inputs are testable against month A's reference");
        AssertShows(Card(page, model), health);
        Assert.Contains("v1 in production", Card(page, model).TextContent);
        Assert.Equal($"models/{model}/monitoring", Card(page, model).QuerySelector("[data-testid=health-monitoring-link]")!.GetAttribute("href"));

        // More traffic alone does not re-query; the recurring job storing the window does, through MonitoringComputed.
        await ScoreAsync(model, 3040, 10);
        var hour = WindowSize.Start(WindowSize.Hour, DateTime.UtcNow);
        await fixture.App.Get<MonitoringJobHandler>().ComputeAsync(WindowSize.Hour, hour, CancellationToken.None);

        page.WaitForAssertion(() => Assert.Equal("50", Card(page, model).QuerySelector("[data-testid=health-predictions]")!.GetAttribute("data-value")));
        var after = (await fixture.App.Get<MonitoringService>().HealthAsync()).Single(h => h.Model == model);
        Assert.NotNull(after.LastComputed);
        page.WaitForAssertion(() => AssertShows(Card(page, model), after));
    }

    [Fact]
    public async Task Render_RegisteredModelNotInProduction_NoCardForIt()
    {
        const string model = "health-staging-only";
        await fixture.RegisterAsync(model, fixture.WeakRun, ScoringFixture.LenientGate);
        await using var context = new AppPageContext(fixture, Roles.Reviewer);

        var page = context.Bunit.Render<ModelHealthPanel>();

        page.WaitForAssertion(() => Assert.NotNull(page.Find("[data-testid=model-health]")));
        Assert.DoesNotContain(page.FindAll("[data-testid=model-health-card]"), c => c.GetAttribute("data-model") == model);
        if ((await fixture.App.Get<MonitoringService>().HealthAsync()).Count == 0)
        {
            Assert.Contains("No model serves production yet", page.Find("[data-testid=model-health-empty]").TextContent);
        }
    }
}
