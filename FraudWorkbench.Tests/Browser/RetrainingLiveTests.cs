using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Performance;
using FraudWorkbench.Core.Registry;
using FraudWorkbench.Core.Retraining;
using FraudWorkbench.Core.Scoring;
using FraudWorkbench.Tests.Infrastructure;
using FraudWorkbench.Tests.Scoring;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace FraudWorkbench.Tests.Browser;

/// <summary>
/// The real engine through the browser: an Admin presses Retrain now on a model whose month B traffic sits in the log with
/// its delayed labels, and the same page (never reloaded) follows the workflow step by step as the engine, the training
/// job and the gate move it, shows the shadow comparison of live HTTP traffic, and the Admin approves there.
/// </summary>
[Trait("Category", "Browser")]
public sealed class RetrainingLiveTests(ScoringFixture fixture, BrowserFixture browser, ITestOutputHelper output)
    : IClassFixture<ScoringFixture>, IClassFixture<BrowserFixture>
{
    private const string Model = "browser-retrain-live";

    private static readonly float StepTimeout = (float)TimeSpan.FromMinutes(6).TotalMilliseconds;

    [Fact]
    public async Task RetrainNow_RealWorkflow_PageFollowsEveryStepLive_AdminApprovesOnThePage()
    {
        var app = fixture.App;
        var champion = await fixture.RegisterAndPromoteAsync(Model, fixture.StrongRun);
        Assert.Empty((await app.Get<PerformanceService>().SaveConfigAsync(Model, new PerformanceConfig(7, 0.8), "test"))!);
        List<string?[]> monthB;
        await using (var file = File.OpenRead(BackdatedTraffic.MonthB)) monthB = DatasetRows.Read(file, fixture.Schema);
        var now = DateTime.UtcNow;
        var scored = await BackdatedTraffic.ScoreAsync(app, fixture.Schema, Model, monthB, now.AddDays(-28));
        Assert.Empty((await app.Get<PredictionStore>().RecordFeedbackAsync(BackdatedTraffic.Labels(scored, now.AddDays(-28), now), "case-management")).Unknown);
        await app.Get<RetrainingService>().SavePolicyAsync(Model, new RetrainingPolicy(
            Enabled: false, MinMatureDays: 0, TrainingWindowDays: 28, HoldoutDays: 7, DataMode: RetrainingDataMode.Append,
            ShadowHours: 1, ShadowTransactions: 100, WatchHours: 24), "test");

        var (context, page) = await browser.NewPageAsync(app.BaseAddress, 1280, 900);
        await using var _ = context;
        await page.GotoAsync($"/account/login?ReturnUrl={Uri.EscapeDataString($"/models/{Model}/retraining")}");
        await BrowserFixture.SignInAsync(page, WorkbenchAppFactory.AdminEmail, WorkbenchAppFactory.AdminPassword);
        await page.WaitForURLAsync(new Regex($"/models/{Model}/retraining$"));
        await BrowserFixture.WaitForInteractiveAsync(page);
        await page.Locator("[data-testid=workflow-none]").WaitForAsync();
        await page.EvaluateAsync("() => window.fwMarker = 'same page'");

        await page.Locator("[data-testid=retrain-now]").ClickAsync();
        var timeline = page.Locator("[data-testid=workflow-timeline]");
        await timeline.WaitForAsync();
        var workflowId = Guid.Parse((await timeline.GetAttributeAsync("data-workflow"))!);

        // Each step shows as done on the page as the engine finishes it: the page only learns of it through the circuit.
        foreach (var step in new[] { RetrainingStep.Dataset, RetrainingStep.Features, RetrainingStep.Train, RetrainingStep.Register, RetrainingStep.Gate })
        {
            await page.Locator($"[data-testid=workflow-step][data-step={step}][data-status=succeeded]").WaitForAsync(new() { Timeout = StepTimeout });
            output.WriteLine($"{DateTime.UtcNow:HH:mm:ss} {step} succeeded on the page");
        }

        Assert.Contains("rows", await page.Locator("[data-testid=dataset-result]").InnerTextAsync());
        await page.Locator($"[data-testid=workflow-step][data-step={RetrainingStep.Shadow}][data-status=waiting]").WaitForAsync(new() { Timeout = StepTimeout });
        var shadowing = (await app.Get<RetrainingStore>().GetAsync(workflowId))!;
        var candidate = (await app.Get<RegistryStore>().GetVersionAsync(shadowing.CandidateVersionId!.Value))!;
        Assert.Equal(GateStatus.Passed, candidate.GateStatus);

        // Live traffic while the challenger shadows, labelled by the case team as it is answered (always by the champion).
        var client = fixture.Client();
        var label = fixture.Schema.IndexOf("is_fraud");
        var live = monthB.TakeLast(150).ToList();
        for (var i = 0; i < live.Count; i += 50)
        {
            var batch = live.Skip(i).Take(50).ToList();
            var response = await client.PostAsJsonAsync("/api/v1/predict/batch", new { model = Model, explain = false, transactions = batch.Select(r => ScoringFixture.Transaction(fixture.Schema, r)).ToList() });
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var predictions = (await response.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("predictions").EnumerateArray().ToList();
            Assert.All(predictions, p => Assert.Equal(champion.Version, p.GetProperty("version").GetInt32()));
            var items = predictions.Select((p, k) => new { predictionId = p.GetProperty("predictionId").GetGuid(), isFraud = batch[k][label] == "1" }).ToList();
            Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync("/api/v1/feedback/batch", new { model = Model, items })).StatusCode);
        }

        await page.Locator($"[data-testid=workflow-step][data-step={RetrainingStep.Approval}][data-status=waiting]").WaitForAsync(new() { Timeout = StepTimeout });
        await page.Locator("[data-testid=approve-button]").WaitForAsync();
        var comparison = (await app.Get<RetrainingStore>().StepsAsync(workflowId)).Single(s => s.Step == RetrainingStep.Shadow).Result<ShadowComparison>()!;
        Assert.True(comparison.Transactions >= 100, $"{comparison}");
        Assert.Equal(comparison.ScoreCorrelation!.Value.ToString("0.000"), (await page.Locator("[data-testid=shadow-correlation]").InnerTextAsync()).Trim());
        Assert.Equal("awaiting approval", (await page.Locator("[data-testid=workflow-status]").InnerTextAsync()).Trim());
        await page.EvaluateAsync("() => window.scrollTo(0, 0)");
        await page.ScreenshotAsync(new() { Path = BrowserFixture.ScreenshotPath("retraining.png"), FullPage = true });

        await page.Locator("textarea[data-testid=decision-comment]").FillAsync("Beats production on the common recent holdout; shadow agreed.");
        await page.Locator("[data-testid=approve-button]").ClickAsync();
        await page.Locator($"[data-testid=workflow-step][data-step={RetrainingStep.Watch}][data-status=waiting]").WaitForAsync(new() { Timeout = 60_000 });
        Assert.Equal("watching", (await page.Locator("[data-testid=workflow-status]").InnerTextAsync()).Trim());
        Assert.Equal(candidate.Id, (await app.Get<RegistryStore>().GetProductionAsync(Model))!.Id);
        var approved = (await app.Get<RetrainingStore>().GetAsync(workflowId))!;
        Assert.Equal(("approved", $"user:{WorkbenchAppFactory.AdminEmail}"), (approved.Decision, approved.DecidedBy));
        Assert.Equal("same page", await page.EvaluateAsync<string>("() => window.fwMarker"));
    }
}
