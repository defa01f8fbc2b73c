using System.Net;
using System.Net.Http.Json;
using FraudWorkbench.Core.Alerts;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Monitoring;
using FraudWorkbench.Core.Performance;
using FraudWorkbench.Core.Registry;
using FraudWorkbench.Core.Retraining;
using FraudWorkbench.Core.Scoring;
using FraudWorkbench.Core.Training;
using FraudWorkbench.Tests.Infrastructure;
using FraudWorkbench.Tests.Scoring;
using Xunit.Abstractions;

namespace FraudWorkbench.Tests.Retraining;

/// <summary>
/// The whole loop on the samples, through the running app: the month A model in production scores month B as the
/// past 28 days of traffic with delayed labels; the day's drift alert starts a workflow; the challenger is trained on that
/// traffic (after month A), beats the champion on the common recent holdout, shadows live HTTP traffic, is approved and
/// promoted; a critical alert within the watch period rolls production back to the champion.
/// </summary>
[Trait("Category", "Database")]
public sealed class RetrainingLoopTests(ScoringFixture fixture, ITestOutputHelper output) : IClassFixture<ScoringFixture>
{
    private const string Model = "retrain-loop";
    private const int LabelWindowDays = 7;

    private RetrainingStore Workflows => fixture.App.Get<RetrainingStore>();

    private async Task<RetrainingWorkflow> WaitForAsync(Guid id, Func<RetrainingWorkflow, bool> condition, string what, int seconds = 600)
    {
        RetrainingWorkflow? workflow = null;
        try
        {
            await Wait.UntilAsync(async () =>
            {
                workflow = await Workflows.GetAsync(id);
                if (workflow is { Status: RetrainingStatus.Failed or RetrainingStatus.Cancelled }) return true;
                return workflow is not null && condition(workflow);
            }, seconds, what);
        }
        catch (TimeoutException)
        {
            output.WriteLine($"last seen: {workflow}");
            throw;
        }

        Assert.True(workflow!.Status is not (RetrainingStatus.Failed or RetrainingStatus.Cancelled) || condition(workflow), $"{what}: the workflow ended {workflow.Status}: {workflow.Error}");
        return workflow;
    }

    [Fact]
    public async Task Workflow_DriftAlertOnMonthBTraffic_ChallengerBeatsChampionShadowsIsPromotedAndRollsBackOnCriticalAlert()
    {
        var app = fixture.App;
        var champion = await fixture.RegisterAndPromoteAsync(Model, fixture.StrongRun);
        Assert.Empty((await app.Get<PerformanceService>().SaveConfigAsync(Model, new PerformanceConfig(LabelWindowDays, 0.8), "test"))!);

        // Month B as the past 28 days of production traffic, with chargebacks arriving 1–13 days late.
        List<string?[]> monthB;
        await using (var file = File.OpenRead(BackdatedTraffic.MonthB)) monthB = DatasetRows.Read(file, fixture.Schema);
        var now = DateTime.UtcNow;
        var start = now.AddDays(-28);
        var scored = await BackdatedTraffic.ScoreAsync(app, fixture.Schema, Model, monthB, start);
        var labels = BackdatedTraffic.Labels(scored, start, now);
        var outcome = await app.Get<PredictionStore>().RecordFeedbackAsync(labels, "case-management");
        Assert.Empty(outcome.Unknown);

        // Yesterday's drift, as the daily monitoring job computes it; a rule on the drift share, chosen as the policy's trigger.
        var yesterday = now.Date.AddDays(-1);
        await app.Get<MonitoringJobHandler>().ComputeAsync(WindowSize.Day, yesterday, default);
        var share = Assert.Single(await app.Get<AlertMetricReader>().SeriesAsync(Model, new AlertMetricSpec(AlertMetricKind.DriftShare), TimeSpan.FromDays(1), [DateTime.UtcNow], default));
        output.WriteLine($"yesterday's drift share, as the rule reads it: {share.Value:F3} over {share.Sample} predictions");
        Assert.True(share.Value > 0.1, $"drift share {share.Value}");
        var rule = await app.Get<AlertRuleStore>().CreateAsync(new AlertRuleSpec(
            "Month B drift", Model, new AlertMetricSpec(AlertMetricKind.DriftShare), new AlertCondition(AlertConditionKind.Above, 0.1), Window: "1d"), "test");
        var policy = new RetrainingPolicy(
            Enabled: true, TriggerRuleIds: [rule.Id], CooldownDays: 7, MaxPerWeek: 1,
            // The champion was registered a moment ago, so no mature day follows its training: the guard is tested on its own.
            MinMatureDays: 0,
            TrainingWindowDays: 28, HoldoutDays: 7, DataMode: RetrainingDataMode.Append,
            ShadowHours: 1, ShadowTransactions: 300, WatchHours: 24);
        await app.Get<RetrainingService>().SavePolicyAsync(Model, policy, "test");

        await app.Get<AlertEvaluator>().EvaluateAsync(force: true);
        var alert = Assert.Single(await app.Get<AlertStore>().ListAsync(new AlertFilter(State: AlertState.Firing, RuleId: rule.Id)));
        RetrainingWorkflow? started = null;
        await Wait.UntilAsync(async () => (started = (await Workflows.ByAlertAsync(alert.Id)).FirstOrDefault()) is not null, 30, "a workflow started by the drift alert");
        Assert.Equal((RetrainingTrigger.Alert, champion.Id, "system:retraining"), (started!.TriggerKind, started.ChampionVersionId, started.CreatedBy));

        // Dataset → features → train → register → gate, then shadow scoring of live traffic.
        var shadowing = await WaitForAsync(started.Id, w => w.Step == RetrainingStep.Shadow && w.ShadowStartedAt is not null, "the challenger shadowing");
        var detail = (await Workflows.GetDetailAsync(shadowing.Id))!;
        foreach (var step in detail.Steps) output.WriteLine($"{step.Step} {step.Status} {step.ResultJson}");
        var data = detail.Steps.Single(s => s.Step == RetrainingStep.Dataset).Result<DatasetStepResult>()!;
        Assert.Equal(fixture.Rows.Count, data.BaseRows);
        Assert.Equal(data.BaseRows + data.TrafficRows, data.Rows);
        Assert.True(data.TrafficRows > 10_000 && data.LeftOut > 0 && data.FraudLabelled > 0, $"{data}");
        // The common holdout is the latest 7 mature days: ending where the label window starts, none of it trained on.
        Assert.True(data.HoldoutTo <= now.AddDays(-LabelWindowDays) && data.HoldoutFrom >= now.AddDays(-LabelWindowDays - 8), $"{data.HoldoutFrom} – {data.HoldoutTo}");

        var candidate = (await app.Get<RegistryStore>().GetVersionAsync(shadowing.CandidateVersionId!.Value))!;
        Assert.Equal((ModelStage.Candidate, GateStatus.Passed), (candidate.Stage, candidate.GateStatus));
        var recent = candidate.GateResult!.Checks.Where(c => c.Kind == RecentHoldoutGateCheck.Kind).ToList();
        Assert.NotEmpty(recent);
        Assert.All(recent, c => Assert.True(c.Passed, $"{c}"));
        var holdout = recent.First(c => c.Metric == GateMetric.PrAuc);
        output.WriteLine($"common holdout PR-AUC: challenger {holdout.Candidate:F4}, champion {holdout.Reference:F4} ({holdout.Subject})");
        Assert.True(holdout.Passed && holdout.Candidate > holdout.Reference, $"{holdout}");
        var run = (await app.Get<TrainingRunStore>().GetAsync(candidate.RunId))!;
        Assert.Equal((data.DatasetId, data.DatasetVersion, shadowing.FeatureSetVersionId), (run.DatasetId, run.DatasetVersion, (Guid?)run.Config.FeatureSetVersionId));

        // Live traffic through the scoring API while the challenger shadows: every answer is the champion's. The case team
        // labels each batch at once (the rows' own labels), so the comparison has realized metrics to show.
        var client = fixture.Client();
        var live = monthB.TakeLast((int)policy.ShadowTransactions!.Value + 50).ToList();
        var label = fixture.Schema.IndexOf("is_fraud");
        for (var i = 0; i < live.Count; i += 50)
        {
            var batch = live.Skip(i).Take(50).ToList();
            var transactions = batch.Select(r => ScoringFixture.Transaction(fixture.Schema, r)).ToList();
            var response = await client.PostAsJsonAsync("/api/v1/predict/batch", new { model = Model, explain = false, transactions });
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var predictions = (await response.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("predictions").EnumerateArray().ToList();
            Assert.All(predictions, p => Assert.Equal(champion.Version, p.GetProperty("version").GetInt32()));
            var items = predictions.Select((p, k) => new { predictionId = p.GetProperty("predictionId").GetGuid(), isFraud = batch[k][label] == "1" }).ToList();
            Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync("/api/v1/feedback/batch", new { model = Model, items })).StatusCode);
        }

        var waiting = await WaitForAsync(started.Id, w => w.Status == RetrainingStatus.AwaitingApproval, "the comparison after shadow scoring", 120);
        var comparison = (await Workflows.StepsAsync(waiting.Id)).Single(s => s.Step == RetrainingStep.Shadow).Result<ShadowComparison>()!;
        output.WriteLine($"shadow: {comparison}");
        Assert.True(comparison.Transactions >= policy.ShadowTransactions, $"{comparison.Transactions} shadowed");
        Assert.Equal(0, comparison.Dropped);
        Assert.True(comparison.ScoreCorrelation > 0.3 && comparison.FlagAgreement > 0.8, $"{comparison}");
        // Labels joined as they arrived: at least every batch but the last was labelled before the shadow period ended.
        var fraudLabelled = live.Take(live.Count - 50).Count(r => r[label] == "1");
        Assert.True(comparison.Labelled >= live.Count - 50 && comparison.LabelledFraud >= fraudLabelled, $"{comparison.Labelled} labelled, {comparison.LabelledFraud} fraud");
        Assert.NotNull(comparison.ChallengerRealized);
        Assert.NotNull(comparison.ChampionRealized);

        // An Admin approves with a comment: the candidate is promoted through the registry's verified swap.
        var approved = await app.Get<RetrainingService>().ApproveAsync(waiting.Id, "Beats production on the common recent holdout; shadow agreed.", "ann@example.com", ApproverRole.Admin);
        Assert.Equal((RetrainingStatus.Watching, "approved", "ann@example.com"), (approved.Status, approved.Decision, approved.DecidedBy));
        Assert.Equal(candidate.Id, (await app.Get<RegistryStore>().GetProductionAsync(Model))!.Id);
        Assert.Equal(candidate.Version, (await app.Get<ModelServer>().ResolveAsync(Model, null)).Version);

        // A critical alert on the new version's own traffic within the watch period: a one-minute rule, evaluated once its
        // window lies wholly after the promotion (a window reaching back before it would judge the champion's traffic).
        await app.Get<AlertRuleStore>().CreateAsync(new AlertRuleSpec(
            "Loop volume", Model, new AlertMetricSpec(AlertMetricKind.Volume), new AlertCondition(AlertConditionKind.Above, 0), Window: "1m", Severity: AlertSeverity.Critical), "test");
        var promotedAt = approved.PromotedAt!.Value;
        while (DateTime.UtcNow < promotedAt.AddSeconds(62))
        {
            var served = await client.PostAsJsonAsync("/api/v1/predict/batch", new { model = Model, explain = false, transactions = live.Take(20).Select(r => ScoringFixture.Transaction(fixture.Schema, r)).ToList() });
            var versions = (await served.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("predictions").EnumerateArray().Select(p => p.GetProperty("version").GetInt32()).Distinct();
            Assert.Equal([candidate.Version], versions);
            await Task.Delay(TimeSpan.FromSeconds(10));
        }

        await app.Get<AlertEvaluator>().EvaluateAsync(force: true);
        var rolledBack = await WaitForAsync(started.Id, w => w.Status == RetrainingStatus.RolledBack, "the automatic rollback", 60);
        Assert.Contains("Loop volume", rolledBack.RollbackReason);
        Assert.Equal(champion.Id, (await app.Get<RegistryStore>().GetProductionAsync(Model))!.Id);
        await Wait.UntilAsync(async () => (await app.Get<ModelServer>().ResolveAsync(Model, null)).Version == champion.Version, 10, "serving the champion again");
    }
}
