using FraudWorkbench.Core.Alerts;
using FraudWorkbench.Core.Retraining;
using FraudWorkbench.Tests.Alerts;

namespace FraudWorkbench.Tests.Retraining;

/// <summary>The rules enabling a first retraining policy makes: each once, never again once the team deleted or replaced it.</summary>
[Trait("Category", "Database")]
public sealed class RetrainingFailureRuleTests
{
    private static async Task<IReadOnlyList<(string Name, string Kind, string? Action)>> LiveRulesAsync(AlertsWorld world) =>
        [.. (await world.Rules.ListAsync()).OrderBy(r => r.Name, StringComparer.Ordinal).Select(r => (r.Name, r.Spec.Metric.Kind, r.Spec.Metric.Metric))];

    [Fact]
    public async Task EnsureAsync_FreshInstallation_BothRulesOnce_MadeBySystemRetraining()
    {
        await using var world = await AlertsWorld.CreateAsync();
        var ensure = new RetrainingFailureRule(world.DataSource, world.Rules);

        await ensure.EnsureAsync(default);
        await ensure.EnsureAsync(default);

        Assert.Equal([("Failed jobs (retraining included)", AlertMetricKind.JobFailures, null), ("Retraining workflow failed", AlertMetricKind.AuditEvents, "retraining.fail")],
            await LiveRulesAsync(world));
        var workflows = (await world.Rules.ListAsync()).Single(r => r.Name == RetrainingFailureRule.Name);
        Assert.Equal(RetrainingFailureRule.Spec with { Labels = null }, workflows.Spec with { Labels = null });
        Assert.Equal("retraining", workflows.Spec.Labels!["source"]);
        Assert.Equal((null, AlertSeverity.Warning, "1h", 0.0), (workflows.Spec.Model, workflows.Spec.Severity, workflows.Spec.Window, workflows.Spec.Condition.Threshold));
        Assert.Equal([RetrainingService.SystemActor, RetrainingService.SystemActor],
            await world.QueryAsync<string>("SELECT actor FROM audit_log WHERE action = 'alert.rule-create' ORDER BY id"));
    }

    [Fact]
    public async Task EnsureAsync_TeamDeletedTheWorkflowRule_NotMadeAgain_NorTheJobsRuleOnceDeleted()
    {
        await using var world = await AlertsWorld.CreateAsync();
        var ensure = new RetrainingFailureRule(world.DataSource, world.Rules);
        await ensure.EnsureAsync(default);
        foreach (var rule in await world.Rules.ListAsync()) await world.Rules.DeleteAsync(rule.Id, "alice");

        await ensure.EnsureAsync(default);

        Assert.Empty(await world.Rules.ListAsync());
    }

    [Fact]
    public async Task EnsureAsync_TeamHasItsOwnRuleOnRetrainingFail_NoSecondOne_TheJobsRuleStillMade()
    {
        await using var world = await AlertsWorld.CreateAsync();
        await world.RegisterModelsAsync("fraud-a");
        await world.Rules.CreateAsync(new AlertRuleSpec("our retraining pager", "fraud-a", new AlertMetricSpec(AlertMetricKind.AuditEvents, Metric: "retraining.fail"),
            new AlertCondition(AlertConditionKind.Above, 0), Severity: AlertSeverity.Critical), "alice");

        await new RetrainingFailureRule(world.DataSource, world.Rules).EnsureAsync(default);

        Assert.Equal([("Failed jobs (retraining included)", AlertMetricKind.JobFailures, null), ("our retraining pager", AlertMetricKind.AuditEvents, "retraining.fail")],
            await LiveRulesAsync(world));
    }

    [Fact]
    public async Task EnsureAsync_InstallationWithOnlyTheOlderJobsRule_GetsTheWorkflowRule_AndARuleOnAnotherActionDoesNotCount()
    {
        await using var world = await AlertsWorld.CreateAsync();
        await world.Rules.CreateAsync(RetrainingFailureRule.JobsSpec, RetrainingService.SystemActor);
        await world.Rules.CreateAsync(new AlertRuleSpec("rollbacks", null, new AlertMetricSpec(AlertMetricKind.AuditEvents, Metric: "retraining.rollback"),
            new AlertCondition(AlertConditionKind.Above, 0)), "alice");

        await new RetrainingFailureRule(world.DataSource, world.Rules).EnsureAsync(default);

        Assert.Equal(
            [
                ("Failed jobs (retraining included)", AlertMetricKind.JobFailures, null), ("Retraining workflow failed", AlertMetricKind.AuditEvents, "retraining.fail"),
                ("rollbacks", AlertMetricKind.AuditEvents, "retraining.rollback"),
            ],
            await LiveRulesAsync(world));
    }
}
