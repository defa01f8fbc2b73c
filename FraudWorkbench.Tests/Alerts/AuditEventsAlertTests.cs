using FraudWorkbench.Core;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Alerts;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace FraudWorkbench.Tests.Alerts;

/// <summary>
/// Rules on audited actions through the evaluator with the real metric reader on PostgreSQL: an audit entry written as
/// the app writes them makes the rule fire, for the installation and for the model it names, and leaves the others be.
/// </summary>
[Trait("Category", "Database")]
public sealed class AuditEventsAlertTests
{
    /// <summary>The Core services (no background work) over the world's database and clock: the reader as the app builds it.</summary>
    private static ServiceProvider CoreServices(AlertsWorld world)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Postgres"] = world.ConnectionString,
            ["FRAUDWB_DATA_DIR"] = Path.Combine(Path.GetTempPath(), $"fraudwb-audit-alerts-{Guid.NewGuid():N}"),
        }).Build();
        var services = new ServiceCollection().AddLogging().AddSingleton<IConfiguration>(configuration).AddSingleton<TimeProvider>(world.Time);
        services.AddFraudWorkbench(background: false);
        return services.BuildServiceProvider();
    }

    private static async Task AuditAsync(AlertsWorld world, string action, object? summary)
    {
        await using var connection = await world.DataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await AuditLog.WriteAsync(transaction, world.Now, "system:retraining", action, "retraining-workflow", Guid.NewGuid().ToString(), summary, default);
        await transaction.CommitAsync();
    }

    private static AlertRuleSpec Failed(string name, string? model) =>
        new(name, model, new AlertMetricSpec(AlertMetricKind.AuditEvents, Metric: AuditActions.RetrainingFail), new AlertCondition(AlertConditionKind.Above, 0),
            Window: "1h", EvaluationInterval: "1m", Description: "{{value}} failed for {{model}} in {{window}}: {{link}}");

    [Fact]
    public async Task EvaluateAsync_RetrainingFailAudited_InstallationRuleAndTheNamedModelsRuleFire_ThenResolveOnceItLeavesTheWindow()
    {
        await using var world = await AlertsWorld.CreateAsync();
        await world.RegisterModelsAsync("fraud-a", "fraud-b");
        await using var services = CoreServices(world);
        var evaluator = world.NewEvaluator(world.DataSource, services.GetRequiredService<AlertMetricReader>());
        var everyone = await world.Rules.CreateAsync(Failed("workflows failed", null), "test");
        var a = await world.Rules.CreateAsync(Failed("fraud-a failed", "fraud-a"), "test");
        var b = await world.Rules.CreateAsync(Failed("fraud-b failed", "fraud-b"), "test");
        // Other actions, and the same action long before, count for nothing now.
        await AuditAsync(world, "retraining.start", new { model = "fraud-a" });
        world.Advance(TimeSpan.FromMinutes(1));

        var quiet = await evaluator.EvaluateAsync(force: true);
        Assert.Equal((3, 0), (quiet.Evaluated, quiet.Changed));
        Assert.Empty(await world.Alerts.ListAsync(new AlertFilter()));
        var read = await world.QueryAsync<(string, string, double?, long?)>(
            "SELECT model_name, outcome, value, sample FROM alert_evaluations WHERE rule_id = ANY(@ids) ORDER BY model_name", new { ids = new[] { everyone.Id, a.Id, b.Id } });
        // Each rule read 0 failures; fraud-a saw the start, fraud-b nothing, the installation the start and the three rules'
        // creations (audited too, their summaries name no model at the top).
        Assert.Equal([("*", "false", 0.0, 4L), ("fraud-a", "false", 0.0, 1L), ("fraud-b", "false", 0.0, 0L)], read);

        await AuditAsync(world, AuditActions.RetrainingFail, new { model = "fraud-a", step = "gate", error = "The validation gate did not pass" });
        world.Advance(TimeSpan.FromMinutes(1));
        var fired = world.Now;
        await evaluator.EvaluateAsync(force: true);

        var alerts = await world.Alerts.ListAsync(new AlertFilter(State: AlertState.Firing));
        Assert.Equal([("workflows failed", "*", 1.0, fired), ("fraud-a failed", "fraud-a", 1.0, fired)],
            alerts.OrderBy(x => x.Model == "*" ? 0 : 1).Select(x => (x.Rule, x.Model, x.Value!.Value, x.FiredAt!.Value)));
        var installation = alerts.Single(x => x.Model == "*");
        Assert.Equal("1 failed for * in 1h: https://wb.example/alerts", installation.Annotations["description"]);
        Assert.Equal("Audited actions retraining.fail of * is 1 (> 0)", installation.Annotations["summary"]);
        Assert.Equal("https://wb.example/models/fraud-a/monitoring", alerts.Single(x => x.Model == "fraud-a").Annotations["link"]);
        Assert.Equal(["*", "fraud-a"], world.Changes.Last().Fired.Select(n => n.Model).Order(StringComparer.Ordinal));

        // An hour after the entry (10:01) the window [10:01, 11:01) still holds it; a minute later it is gone and both resolve.
        world.Advance(TimeSpan.FromMinutes(59));
        await evaluator.EvaluateAsync(force: true);
        Assert.Equal(2, (await world.Alerts.ListAsync(new AlertFilter(State: AlertState.Firing))).Count);
        world.Advance(TimeSpan.FromMinutes(1));
        await evaluator.EvaluateAsync(force: true);
        Assert.Empty(await world.Alerts.ListAsync(new AlertFilter(State: AlertState.Firing)));
        Assert.Equal(2, (await world.Alerts.ListAsync(new AlertFilter(State: AlertState.Resolved))).Count);
    }

    [Fact]
    public async Task Backtest_RetrainingFailRule_FiresInTheHoursHoldingAFailure()
    {
        await using var world = await AlertsWorld.CreateAsync();
        await using var services = CoreServices(world);
        // Failures at 10:30 and 10:40 on the world's first day, then a day later at 12:15 (for another model).
        world.Advance(TimeSpan.FromMinutes(30));
        await AuditAsync(world, AuditActions.RetrainingFail, new { model = "fraud-a" });
        world.Advance(TimeSpan.FromMinutes(10));
        await AuditAsync(world, AuditActions.RetrainingFail, new { model = "fraud-a" });
        world.Advance(TimeSpan.FromHours(25) + TimeSpan.FromMinutes(35));
        await AuditAsync(world, AuditActions.RetrainingFail, new { model = "fraud-b" });
        world.Advance(TimeSpan.FromHours(2) + TimeSpan.FromMinutes(45));
        var backtest = new AlertBacktest(services.GetRequiredService<AlertMetricReader>(), world.Time);
        var rule = Failed("workflows failed", null) with { EvaluationInterval = "1h" };

        var all = await backtest.RunAsync(rule, AlertLabels.AllModels, TimeSpan.FromDays(2), default);
        var a = await backtest.RunAsync(rule with { Model = "fraud-a" }, "fraud-a", TimeSpan.FromDays(2), default);

        // Hourly evaluations on the clock hour, each over the hour before it: 11:00 holds both of the first failures, 13:00 the next day's.
        var start = AlertsWorld.Start;
        Assert.Equal([new FiringPeriod(start.AddHours(1), start.AddHours(2)), new FiringPeriod(start.AddHours(27), start.AddHours(28))], all.Firing);
        Assert.Equal(2.0, all.Points.Single(p => p.At == start.AddHours(1)).Value);
        Assert.Equal([new FiringPeriod(start.AddHours(1), start.AddHours(2))], a.Firing);
        Assert.Null(all.Message);
    }
}
