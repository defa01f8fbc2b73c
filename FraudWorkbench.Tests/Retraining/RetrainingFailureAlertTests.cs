using System.Collections.Concurrent;
using Dapper;
using FraudWorkbench.Core.Alerts;
using FraudWorkbench.Core.Events;
using FraudWorkbench.Core.Jobs;
using FraudWorkbench.Core.Registry;
using FraudWorkbench.Core.Retraining;
using FraudWorkbench.Core.Training;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace FraudWorkbench.Tests.Retraining;

/// <summary>
/// The "a failed step fails the workflow with its error, raises an alert and leaves production untouched" for a
/// failure without any failed job: the gate refuses the challenger, and the rule enabling the policy made fires.
/// </summary>
[Collection(RetrainingCollection.Name)]
[Trait("Category", "Database")]
public sealed class RetrainingFailureAlertTests(RetrainingAppFixture fixture)
{
    private static readonly RetrainingPolicy Open = new(Enabled: true, CooldownDays: 0, MaxPerWeek: 50, MinMatureDays: 0);

    /// <summary>Evaluates every rule now on the fixture's clock, waiting while the app's own evaluator holds the lock.</summary>
    private static async Task EvaluateAsync(AlertEvaluator evaluator)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while ((await evaluator.EvaluateAsync(force: true)).Skipped)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("The app's evaluator kept the evaluation lock for a minute.");
            await Task.Delay(50);
        }
    }

    // The fake clock keeps 100 ns ticks; PostgreSQL keeps microseconds.
    private static void Close(DateTime expected, DateTime actual) =>
        Assert.True(Math.Abs((expected - actual).TotalMilliseconds) < 1, $"expected {expected:O}, read {actual:O}");

    [Fact]
    public async Task Workflow_GateFailsWithoutAFailedJob_RetrainingWorkflowFailedRuleFires_ProductionUntouched()
    {
        // A day ahead of the wall clock: the app's own evaluator, on real time, never holds these entries in its windows,
        // and earlier tests' failures are out of this hour's.
        fixture.Time.Advance(TimeSpan.FromDays(1));
        var production = await fixture.ProductionModelAsync("fail-alert", Open with { ShadowHours = 0, PromotionMode = PromotionMode.Automatic });
        var rules = fixture.Get<AlertRuleStore>();
        // Enabling the policy made the installation's rule (once, whichever test enabled a policy first).
        var installation = Assert.Single(await rules.ListAsync(), r => r.Name == RetrainingFailureRule.Name);
        Assert.Equal((AlertMetricKind.AuditEvents, "retraining.fail", null, true), (installation.Spec.Metric.Kind, installation.Spec.Metric.Metric, installation.Spec.Model, installation.Enabled));
        Assert.Single(await rules.ListAsync(), r => r.Name == RetrainingFailureRule.JobsName);
        var mine = await rules.CreateAsync(RetrainingFailureRule.Spec with { Name = "fail-alert workflow failed", Model = "fail-alert" }, "test");
        var registry = fixture.Get<RegistryStore>();
        var model = (await registry.GetModelAsync("fail-alert"))!;
        await registry.UpdateModelAsync(model.Id, "", new GateSettings([new GateBaseline(GateMetric.PrAuc, ">=", 0.999)], []), "test");
        ScriptedRetrainingStepHandler.ByModel["fail-alert"] = fixture.Steps();

        var evaluator = ActivatorUtilities.CreateInstance<AlertEvaluator>(fixture.App.Services, (TimeProvider)fixture.Time);
        var notices = new ConcurrentQueue<AlertNotice>();
        using var subscription = fixture.Get<EventHub>().Subscribe<AlertsChanged>(e =>
        {
            foreach (var n in e.Fired) notices.Enqueue(n);
        });
        await EvaluateAsync(evaluator);
        Assert.Equal(0, await fixture.ScalarAsync<long>("SELECT count(*) FROM alerts WHERE rule_id = @id", new { id = mine.Id }));
        Assert.Equal(0.0, await fixture.ScalarAsync<double>("SELECT value FROM alert_evaluations WHERE rule_id = @id AND model_name = 'fail-alert'", new { id = mine.Id }));

        var started = await fixture.Get<RetrainingService>().StartAsync("fail-alert", RetrainingTrigger.Manual, null, "Retrain now", "alice");
        var failed = await fixture.WaitForAsync(started.Id, d => !d.Workflow.IsActive, "the gate fails the workflow", 240);

        Assert.Equal((RetrainingStatus.Failed, RetrainingStep.Gate), (failed.Workflow.Status, failed.Workflow.Step));
        Assert.Equal(production.Id, (await registry.GetProductionAsync("fail-alert"))!.Id);
        // No job failed (the gate job ran and answered "failed"): a rule on failed jobs had nothing to count.
        var jobs = fixture.Get<JobStore>();
        foreach (var step in failed.Steps.Where(s => s.JobId is not null))
            Assert.NotEqual(JobStatus.Failed, (await jobs.GetAsync(step.JobId!.Value))!.Status);
        Assert.Equal("gate", await fixture.ScalarAsync<string>(
            "SELECT summary ->> 'step' FROM audit_log WHERE action = 'retraining.fail' AND object_id = @id", new { id = failed.Workflow.Id.ToString() }));

        fixture.Time.Advance(TimeSpan.FromMinutes(1));
        var at = fixture.Time.GetUtcNow().UtcDateTime;
        await EvaluateAsync(evaluator);

        // The model's rule: one failure, firing from this evaluation, announced.
        var notice = Assert.Single(notices, n => n.RuleId == mine.Id);
        Assert.Equal(("fail-alert", AlertSeverity.Warning, "Audited actions retraining.fail of fail-alert is 1 (> 0)"), (notice.Model, notice.Severity, notice.Summary));
        Close(at, await fixture.ScalarAsync<DateTime>("SELECT fired_at FROM alerts WHERE id = @id", new { id = notice.Id }));
        // The installation's rule counts every model's failures (at least this one) and is firing as of this evaluation.
        (string State, DateTime LastTrue, double? Value, string Description) open;
        await using (var connection = await fixture.Get<NpgsqlDataSource>().OpenConnectionAsync())
        {
            open = await connection.QuerySingleAsync<(string, DateTime, double?, string)>(
                "SELECT state, last_true_at, value, annotations ->> 'description' FROM alerts WHERE rule_id = @id AND model_name = '*' AND state IN ('pending', 'firing')",
                new { id = installation.Id });
        }

        Assert.Equal(AlertState.Firing, open.State);
        Close(at, open.LastTrue);
        Assert.True(open.Value >= 1, $"read {open.Value}");
        var description = open.Description;
        Assert.Contains("/retraining", description);
    }
}
