using System.Text.RegularExpressions;
using Dapper;
using FraudWorkbench.Core.Alerts;
using FraudWorkbench.Core.Events;
using FraudWorkbench.Core.Jobs;
using FraudWorkbench.Core.Retraining;
using FraudWorkbench.Core.Training;
using FraudWorkbench.Tests.Infrastructure;
using Microsoft.Playwright;
using Npgsql;

namespace FraudWorkbench.Tests.Browser;

/// <summary>
/// The Retraining page follows a workflow live over the circuit: the rows are moved along here as the engine would move them
/// (its own tests drive the real engine) and RetrainingChanged / JobChanged published on the app's hub, never a reload.
/// </summary>
[Trait("Category", "Browser")]
public sealed class RetrainingTests(AppFixture fixture, BrowserFixture browser) : IClassFixture<AppFixture>, IClassFixture<BrowserFixture>
{
    private const string Model = "browser-retraining";
    private static readonly TimeSpan Live = TimeSpan.FromSeconds(5);

    private string Db => fixture.App.ConnectionString;

    private Task PublishAsync(Guid modelId, Guid workflowId, string status, string step) =>
        fixture.App.Get<EventHub>().PublishAsync(new RetrainingChanged(workflowId, modelId, Model, status, step));

    private static Task StepAsync(IPage page, string step, string status) =>
        page.Locator($"[data-testid=workflow-step][data-step={step}][data-status={status}]").WaitForAsync(new() { Timeout = (float)Live.TotalMilliseconds });

    [Fact]
    public async Task Timeline_WorkflowMovesThroughItsSteps_PageFollowsWithoutReload()
    {
        var modelId = await RetrainingRows.InsertModelAsync(Db, Model);
        await RetrainingRows.InsertWorkflowAsync(Db, modelId, Model, RetrainingStatus.Failed, RetrainingStep.Gate, DateTime.UtcNow.AddDays(-9),
            error: "gate failed: PR-AUC on the common holdout 0.612 is not above the champion's 0.655 + 0.010");
        var workflow = await RetrainingRows.InsertWorkflowAsync(Db, modelId, Model, detail: "Retrain now: drift on the dashboard", createdAt: DateTime.UtcNow.AddMinutes(-3));

        var (context, page) = await browser.NewPageAsync(fixture.App.BaseAddress, 1280, 900);
        await using var _ = context;
        await page.GotoAsync($"/account/login?ReturnUrl={Uri.EscapeDataString($"/models/{Model}/retraining")}");
        await BrowserFixture.SignInAsync(page, WorkbenchAppFactory.AdminEmail, WorkbenchAppFactory.AdminPassword);
        await page.WaitForURLAsync(new Regex($"/models/{Model}/retraining$"));
        await BrowserFixture.WaitForInteractiveAsync(page);
        await StepAsync(page, RetrainingStep.Dataset, RetrainingStepStatus.Running);
        Assert.Equal(2, await page.Locator("[data-testid=history-row]").CountAsync());
        await page.EvaluateAsync("() => window.fwMarker = 'same page'");

        // Dataset done with its result, features running.
        await RetrainingRows.SetResultAsync(Db, workflow, RetrainingStep.Dataset, new DatasetStepResult(Guid.NewGuid(), "browser-retraining-traffic", 2, Guid.NewGuid(),
            "5d41402abc4b2a76b9719d911017c592", 48_210, 28_210, 20_000, 214, 19_870, 8_126, 960, DateTime.UtcNow.AddDays(-28), DateTime.UtcNow, DateTime.UtcNow.AddDays(-7), DateTime.UtcNow, "aa"));
        await RetrainingRows.AdvanceAsync(Db, workflow, RetrainingStep.Features);
        await PublishAsync(modelId, workflow, RetrainingStatus.Running, RetrainingStep.Features);
        await StepAsync(page, RetrainingStep.Features, RetrainingStepStatus.Running);
        Assert.Contains("48,210 rows", await page.Locator("[data-testid=dataset-result]").InnerTextAsync());

        // Training: its job's progress arrives as JobChanged, patched into the page without a query.
        var job = await fixture.App.Get<JobStore>().EnqueueAsync("browser.retraining", new { }, "system:retraining");
        await using (var connection = new NpgsqlConnection(Db))
            await connection.ExecuteAsync("UPDATE jobs SET status = 'running', progress = 10, stage = 'loading rows', started_at = now() WHERE id = @id", new { id = job.Id });
        await RetrainingRows.AdvanceAsync(Db, workflow, RetrainingStep.Train, jobId: job.Id);
        await PublishAsync(modelId, workflow, RetrainingStatus.Running, RetrainingStep.Train);
        await page.Locator("[data-step=train] [data-testid=job-progress][data-progress='10']").WaitForAsync(new() { Timeout = (float)Live.TotalMilliseconds });
        var running = (await fixture.App.Get<JobStore>().GetAsync(job.Id))!;
        await fixture.App.Get<EventHub>().PublishAsync(JobChanged.From(running with { Progress = 55, Stage = "boosting round 165 of 300" }));
        await page.Locator("[data-step=train] [data-testid=job-progress][data-progress='55']").WaitForAsync(new() { Timeout = (float)Live.TotalMilliseconds });
        Assert.Contains("boosting round 165 of 300", await page.Locator("[data-step=train] [data-testid=job-progress]").InnerTextAsync());

        // Through register, gate and shadow to approval: the comparison's figures and the approve / reject buttons appear.
        var champion = new ClassificationReport(0.912, 0.641, 0.05, 0.012, 0.55, 38, 7_962);
        var challenger = new ClassificationReport(0.937, 0.702, 0.045, 0.011, 0.61, 38, 7_962);
        await RetrainingRows.SetResultAsync(Db, workflow, RetrainingStep.Gate, new GateStepResult("passed", 7, 0, 0, 0.702, 0.655));
        await RetrainingRows.SetResultAsync(Db, workflow, RetrainingStep.Shadow, new ShadowComparison(10_000, 0, DateTime.UtcNow.AddHours(-20), DateTime.UtcNow,
            0.941, 0.927, 0.991, 0.84, 0.013, 0.012, 0.034, 0.031, 271, 252, 8_000, 38, champion, challenger, 0.38));
        await RetrainingRows.AdvanceAsync(Db, workflow, RetrainingStep.Approval, RetrainingStatus.AwaitingApproval, RetrainingStepStatus.Waiting);
        await PublishAsync(modelId, workflow, RetrainingStatus.AwaitingApproval, RetrainingStep.Approval);
        await StepAsync(page, RetrainingStep.Approval, RetrainingStepStatus.Waiting);
        await page.Locator("[data-testid=approve-button]").WaitForAsync(new() { Timeout = (float)Live.TotalMilliseconds });
        Assert.Equal("0.941", await page.Locator("[data-testid=shadow-correlation]").InnerTextAsync());
        Assert.Equal("awaiting approval", (await page.Locator("[data-testid=workflow-status]").InnerTextAsync()).Trim());
        Assert.Equal("awaiting_approval", await page.Locator("[data-testid=history-row]").First.GetAttributeAsync("data-status"));

        Assert.Equal("same page", await page.EvaluateAsync<string>("() => window.fwMarker"));

        // The page fits 1280 px and scales to 1920 without a horizontal scroll bar.
        foreach (var width in new[] { 1280, 1920 })
        {
            await page.SetViewportSizeAsync(width, 900);
            Assert.True(await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth"), $"horizontal scroll at {width} px");
        }

        // Approved and promoted, then watching: the page follows to the end.
        await RetrainingRows.AdvanceAsync(Db, workflow, RetrainingStep.Watch, RetrainingStatus.Watching, RetrainingStepStatus.Waiting);
        await PublishAsync(modelId, workflow, RetrainingStatus.Watching, RetrainingStep.Watch);
        await StepAsync(page, RetrainingStep.Watch, RetrainingStepStatus.Waiting);
        Assert.Equal(0, await page.Locator("[data-testid=approve-button]").CountAsync());
        Assert.Equal("same page", await page.EvaluateAsync<string>("() => window.fwMarker"));
    }

    [Fact]
    public async Task AlertAndWorkflow_LinkEachOther()
    {
        const string model = "browser-retraining-alert";
        var modelId = await RetrainingRows.InsertModelAsync(Db, model);
        var rule = await fixture.App.Get<AlertRuleStore>().CreateAsync(AlertJson.Deserialize<AlertRuleSpec>(
            $$"""{"name":"Dataset drift (browser)","model":"{{model}}","metric":{"kind":"drift.share"},"condition":{"kind":"above","threshold":0.5},"window":"1d"}"""), "test");
        var alertId = Guid.NewGuid();
        await using (var connection = new NpgsqlConnection(Db))
        {
            await connection.ExecuteAsync("""
                INSERT INTO alerts (id, rule_id, rule_name, model_name, fingerprint, state, severity, value, labels, annotations, active_at, fired_at, last_true_at, last_evaluated_at)
                VALUES (@alertId, @ruleId, 'Dataset drift (browser)', @model, 'browser-retraining-alert', 'firing', 'warning', 0.62,
                        '{"alertname":"Dataset drift (browser)"}', '{"summary":"62 % of the columns drifted"}', now(), now(), now(), now())
                """, new { alertId, ruleId = rule.Id, model });
        }

        var workflow = await RetrainingRows.InsertWorkflowAsync(Db, modelId, model, alertId: alertId, detail: "alert 'Dataset drift (browser)' fired");

        var (context, page) = await browser.NewPageAsync(fixture.App.BaseAddress, 1280, 900);
        await using var _ = context;
        await page.GotoAsync($"/account/login?ReturnUrl={Uri.EscapeDataString($"/alerts?id={alertId}")}");
        await BrowserFixture.SignInAsync(page, WorkbenchAppFactory.AdminEmail, WorkbenchAppFactory.AdminPassword);
        await BrowserFixture.WaitForInteractiveAsync(page);
        var link = page.Locator($"[data-alert='{alertId}'] [data-testid=alert-retraining-link]");
        await link.WaitForAsync(new() { Timeout = (float)Live.TotalMilliseconds });
        Assert.EndsWith($"models/{model}/retraining?workflow={workflow}", await link.GetAttributeAsync("href"));

        await link.ClickAsync();
        await page.WaitForURLAsync(new Regex(Regex.Escape($"/models/{model}/retraining?workflow={workflow}") + "$"));
        var back = page.Locator($"[data-testid=workflow-timeline][data-workflow='{workflow}'] [data-testid=workflow-trigger-alert]");
        await back.WaitForAsync(new() { Timeout = (float)Live.TotalMilliseconds });
        Assert.Equal($"alerts?id={alertId}", await back.GetAttributeAsync("href"));
        Assert.Equal("alert 'Dataset drift (browser)' fired", (await back.InnerTextAsync()).Trim());
        Assert.Equal($"alerts?id={alertId}", await page.Locator("[data-testid=history-trigger-alert]").GetAttributeAsync("href"));
    }
}
