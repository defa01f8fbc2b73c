using System.Text.Json;
using FraudWorkbench.Core.Alerts;
using FraudWorkbench.Core.Registry;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace FraudWorkbench.Tests.Alerts;

/// <summary>Rules as stored: revisions, unique names, validation, soft delete, audit with before and after, the defaults and their first-promotion trigger.</summary>
[Trait("Category", "Database")]
public sealed class AlertRuleStoreTests
{
    [Fact]
    public async Task CreateUpdateDisableDelete_RevisionsAuditedWithBeforeAndAfter_EventsAfterCommit()
    {
        await using var world = await AlertsWorld.CreateAsync();
        var changes = new List<Guid>();
        world.Hub.Subscribe<AlertRulesChanged>(e => changes.Add(e.RuleId));

        var created = await world.Rules.CreateAsync(AlertsWorld.Latency("  p99  ", "m1"), "user:ds@example.com");
        world.Advance(TimeSpan.FromMinutes(1));
        var updated = await world.Rules.UpdateAsync(created.Id, AlertsWorld.Latency("p99 m1", "m1", threshold: 80), "user:lead@example.com");
        var disabled = await world.Rules.SetEnabledAsync(created.Id, false, "user:lead@example.com");
        var read = await world.Rules.GetAsync(created.Id);
        await world.Rules.DeleteAsync(created.Id, "user:admin@example.com");

        Assert.Equal(("p99", 1), (created.Name, created.Revision)); // name trimmed
        Assert.Equal((2, 80.0, "user:lead@example.com", world.Now), (updated.Revision, updated.Spec.Condition.Threshold!.Value, updated.UpdatedBy, updated.UpdatedAt));
        Assert.Equal((3, false), (disabled.Revision, disabled.Enabled));
        Assert.Equal((3, false, 80.0, created.CreatedAt), (read!.Revision, read.Enabled, read.Spec.Condition.Threshold!.Value, read.CreatedAt));
        Assert.Null(await world.Rules.GetAsync(created.Id));
        Assert.Empty(await world.Rules.ListAsync());
        Assert.Equal(1L, await world.ScalarAsync<long>("SELECT count(*) FROM alert_rules WHERE deleted_at IS NOT NULL")); // kept for the history
        Assert.Equal([created.Id, created.Id, created.Id, created.Id], changes);

        var audit = await world.QueryAsync<(string Action, string Actor, string Summary)>(
            "SELECT action, actor, summary::text FROM audit_log WHERE object_type = 'alert-rule' AND object_id = @id ORDER BY id", new { id = created.Id.ToString() });
        Assert.Equal(["alert.rule-create", "alert.rule-update", "alert.rule-disable", "alert.rule-delete"], audit.Select(a => a.Action));
        var update = JsonDocument.Parse(audit[1].Summary).RootElement;
        Assert.Equal((50.0, 80.0), (update.GetProperty("before").GetProperty("condition").GetProperty("threshold").GetDouble(), update.GetProperty("after").GetProperty("condition").GetProperty("threshold").GetDouble()));
        Assert.Equal("p99 m1", JsonDocument.Parse(audit[3].Summary).RootElement.GetProperty("before").GetProperty("name").GetString());
    }

    [Fact]
    public async Task CreateOrUpdate_NameInUseIgnoringCase_409_FreeAgainAfterDelete()
    {
        await using var world = await AlertsWorld.CreateAsync();
        var first = await world.Rules.CreateAsync(AlertsWorld.Latency("Latency", "m1"), "test");
        var second = await world.Rules.CreateAsync(AlertsWorld.Latency("other", "m1"), "test");

        var clash = await Assert.ThrowsAsync<AlertException>(() => world.Rules.CreateAsync(AlertsWorld.Latency("latency", "m2"), "test"));
        var renameClash = await Assert.ThrowsAsync<AlertException>(() => world.Rules.UpdateAsync(second.Id, AlertsWorld.Latency("LATENCY", "m1"), "test"));
        await world.Rules.DeleteAsync(first.Id, "test");
        var reused = await world.Rules.CreateAsync(AlertsWorld.Latency("latency", "m2"), "test");

        Assert.Equal((409, "name"), (clash.Status, clash.Issues.Single().Field));
        Assert.Equal(409, renameClash.Status);
        Assert.Equal("other", (await world.Rules.GetAsync(second.Id))!.Name);
        Assert.Equal(["latency", "other"], (await world.Rules.ListAsync()).Select(r => r.Name));
        Assert.NotEqual(first.Id, reused.Id);
    }

    [Fact]
    public async Task CreateOrUpdate_InvalidSpec_400NamingEveryField_NothingWritten()
    {
        await using var world = await AlertsWorld.CreateAsync();
        var rule = await world.Rules.CreateAsync(AlertsWorld.Latency("p99", "m1"), "test");
        var bad = AlertsWorld.Latency("p99", "m1") with { Condition = new AlertCondition(AlertConditionKind.Above), Window = "forever" };

        var create = await Assert.ThrowsAsync<AlertException>(() => world.Rules.CreateAsync(bad with { Name = "new" }, "test"));
        var update = await Assert.ThrowsAsync<AlertException>(() => world.Rules.UpdateAsync(rule.Id, bad, "test"));
        var missing = await Assert.ThrowsAsync<AlertException>(() => world.Rules.UpdateAsync(Guid.NewGuid(), AlertsWorld.Latency("x", "m1"), "test"));

        Assert.Equal(400, create.Status);
        Assert.Equal(["window", "condition.threshold"], create.Issues.Select(i => i.Field));
        Assert.Equal(400, update.Status);
        Assert.Equal(404, missing.Status);
        Assert.Equal(1, (await world.Rules.GetAsync(rule.Id))!.Revision);
        Assert.Equal(1L, await world.ScalarAsync<long>("SELECT count(*) FROM audit_log"));
    }

    [Fact]
    public async Task CreateOrUpdate_ModelOrChannelThatDoesNotExist_400NamingIt_ADeletedChannelAlreadyNamedMayStay()
    {
        await using var world = await AlertsWorld.CreateAsync();
        var (live, gone, unknown) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        const string channel = """
            INSERT INTO notification_channels (id, name, kind, url, global, send_resolved, enabled, group_wait_seconds, group_interval_seconds,
                repeat_interval_seconds, created_by, created_at, updated_by, updated_at, deleted_at)
            VALUES (@id, @name, 'alertmanager', 'https://93.184.216.34/hook', false, true, true, 0, 300, 14400, 'test', now(), 'test', now(), @deletedAt)
            """;
        await world.ScalarAsync<int>(channel, new { id = live, name = "live", deletedAt = (DateTime?)null });
        await world.ScalarAsync<int>(channel, new { id = gone, name = "gone", deletedAt = (DateTime?)DateTime.UtcNow });

        var noModel = await Assert.ThrowsAsync<AlertException>(() => world.Rules.CreateAsync(AlertsWorld.Latency("p99", "never-registered"), "test"));
        var noChannel = await Assert.ThrowsAsync<AlertException>(() => world.Rules.CreateAsync(AlertsWorld.Latency("p99", "m1") with { Channels = [live, unknown] }, "test"));
        var deletedChannel = await Assert.ThrowsAsync<AlertException>(() => world.Rules.CreateAsync(AlertsWorld.Latency("p99", "m1") with { Channels = [gone] }, "test"));
        // Model names match ignoring case, as the registry's do.
        var rule = await world.Rules.CreateAsync(AlertsWorld.Latency("p99", "M1") with { Channels = [live] }, "test");

        Assert.Equal((400, "model"), (noModel.Status, string.Join(",", noModel.Issues.Select(i => i.Field))));
        Assert.Equal((400, "channels"), (noChannel.Status, string.Join(",", noChannel.Issues.Select(i => i.Field))));
        Assert.Contains(unknown.ToString(), noChannel.Message);
        Assert.DoesNotContain(live.ToString(), noChannel.Message);
        Assert.Equal((400, "channels"), (deletedChannel.Status, string.Join(",", deletedChannel.Issues.Select(i => i.Field))));

        // The channel is deleted after the rule named it: editing the rule otherwise still works; adding an unknown one, or
        // moving to a model that does not exist, does not.
        await world.ScalarAsync<int>("UPDATE notification_channels SET deleted_at = now() WHERE id = @live", new { live });
        var edited = await world.Rules.UpdateAsync(rule.Id, rule.Spec with { Condition = new AlertCondition(AlertConditionKind.Above, 70) }, "test");
        var addUnknown = await Assert.ThrowsAsync<AlertException>(() => world.Rules.UpdateAsync(rule.Id, rule.Spec with { Channels = [live, unknown] }, "test"));
        var moveModel = await Assert.ThrowsAsync<AlertException>(() => world.Rules.UpdateAsync(rule.Id, rule.Spec with { Model = "nope" }, "test"));

        Assert.Equal(2, edited.Revision);
        Assert.Equal((400, "channels"), (addUnknown.Status, string.Join(",", addUnknown.Issues.Select(i => i.Field))));
        Assert.Equal((400, "model"), (moveModel.Status, string.Join(",", moveModel.Issues.Select(i => i.Field))));
        Assert.Equal(2, (await world.Rules.GetAsync(rule.Id))!.Revision);
        Assert.Single(await world.Rules.ListAsync());
    }

    [Fact]
    public async Task DeleteOrDisable_OpenAlertsResolvedAtOnce_HistoryKept()
    {
        await using var world = await AlertsWorld.CreateAsync();
        var deleted = await world.Rules.CreateAsync(AlertsWorld.Latency("to delete", "m1"), "test");
        var disabled = await world.Rules.CreateAsync(AlertsWorld.Latency("to disable", "m1"), "test");
        world.Metrics.Set("m1", AlertMetricKind.LatencyP99, 99);
        await world.Evaluator.EvaluateAsync(false);
        world.Advance(TimeSpan.FromMinutes(3));
        var before = world.Changes.Count;

        await world.Rules.DeleteAsync(deleted.Id, "test");
        await world.Rules.SetEnabledAsync(disabled.Id, false, "test");

        var alerts = await world.Alerts.ListAsync(new AlertFilter());
        Assert.Equal(2, alerts.Count);
        Assert.All(alerts, a => Assert.Equal((AlertState.Resolved, world.Now), (a.State, a.ResolvedAt!.Value)));
        Assert.Equal(["to delete", "to disable"], alerts.Select(a => a.Rule).Order());
        Assert.Equal(2, world.Changes.Count - before);
        var audit = await world.ScalarAsync<string>("SELECT summary::text FROM audit_log WHERE action = 'alert.rule-delete'");
        Assert.Equal(1, JsonDocument.Parse(audit).RootElement.GetProperty("resolvedAlerts").GetInt32());
    }

    [Fact]
    public async Task AddDefaultsAsync_Idempotent_AndTwoInstancesRacing_EachRuleOnce()
    {
        await using var world = await AlertsWorld.CreateAsync();
        var other = new AlertRuleStore(world.DataSource, world.Hub, world.Time);
        // Someone already made the latency one by hand (another case of the name): it is not added again.
        await world.Rules.CreateAsync(AlertRuleStore.Defaults("m1")[2] with { Name = "scoring P99 LATENCY · m1" }, "test");

        var raced = await Task.WhenAll(world.Rules.AddDefaultsAsync("m1", "a"), other.AddDefaultsAsync("m1", "b"), world.Rules.AddDefaultsAsync("m1", "c"));
        var again = await world.Rules.AddDefaultsAsync("m1", "d");
        var invalid = await Assert.ThrowsAsync<AlertException>(() => world.Rules.AddDefaultsAsync("not a model!", "e"));

        Assert.Equal(3, raced.Sum(r => r.Count));
        Assert.Empty(again);
        Assert.Equal((400, "model"), (invalid.Status, invalid.Issues.Single().Field));
        var rules = await world.Rules.ListAsync();
        Assert.Equal(["Dataset drift · m1", "Estimated recall below reference · m1", "No feedback · m1", "scoring P99 LATENCY · m1"], rules.Select(r => r.Name));
    }

    [Fact]
    public async Task DefaultRulesService_FirstPromotionOnly_AddsDefaultsAsSystem_DeletedOnesStayDeleted()
    {
        await using var world = await AlertsWorld.CreateAsync();
        var model = Guid.NewGuid();
        var service = new DefaultAlertRulesService(world.DataSource, world.Rules, world.Hub, Options.Create(world.Options), NullLogger<DefaultAlertRulesService>.Instance);
        await service.StartAsync(CancellationToken.None);
        try
        {
            // The registry's rows as a promotion leaves them; foreign keys to versions and runs are not this test's subject.
            await PromoteAsync(world, model, "fraud", "staging");
            await world.Hub.PublishAsync(new ModelStageChanged(model, "fraud", Guid.NewGuid(), 1, ModelStage.Staging));
            await PromoteAsync(world, model, "fraud", "production");
            await world.Hub.PublishAsync(new ModelStageChanged(model, "fraud", Guid.NewGuid(), 1, ModelStage.Production));
            await Infrastructure.Wait.UntilAsync(async () => (await world.Rules.ListAsync()).Count == 4, what: "the default rules");

            var rules = await world.Rules.ListAsync();
            Assert.All(rules, r => Assert.Equal((AlertRuleStore.SystemActor, "true", "fraud"), (r.CreatedBy, r.Spec.Labels!["default"], r.Spec.Model)));

            // Someone deletes one; the next promotion (a second production row) adds nothing back.
            await world.Rules.DeleteAsync(rules[0].Id, "user:ds@example.com");
            await PromoteAsync(world, model, "fraud", "production");
            var second = await service.HandleAsync(new ModelStageChanged(model, "fraud", Guid.NewGuid(), 2, ModelStage.Production), CancellationToken.None);
            Assert.Empty(second);
            Assert.Equal(3, (await world.Rules.ListAsync()).Count);

            // Turned off: a model's first promotion adds nothing.
            world.Options.DefaultRulesOnPromotion = false;
            var other = Guid.NewGuid();
            await PromoteAsync(world, other, "other", "production");
            var off = await service.HandleAsync(new ModelStageChanged(other, "other", Guid.NewGuid(), 1, ModelStage.Production), CancellationToken.None);
            world.Options.DefaultRulesOnPromotion = true;
            var on = await service.HandleAsync(new ModelStageChanged(other, "other", Guid.NewGuid(), 1, ModelStage.Production), CancellationToken.None);
            Assert.Empty(off);
            Assert.Equal(4, on.Count);
        }
        finally
        {
            await service.StopAsync(CancellationToken.None);
        }
    }

    private static async Task PromoteAsync(AlertsWorld world, Guid model, string name, string stage)
    {
        await using var connection = await world.DataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await Dapper.SqlMapper.ExecuteAsync(connection, "SET LOCAL session_replication_role = replica", transaction: transaction);
        await Dapper.SqlMapper.ExecuteAsync(connection, """
            INSERT INTO registered_models (id, name, gate, created_by, created_at) VALUES (@model, @name, '{}', 'test', now()) ON CONFLICT DO NOTHING;
            INSERT INTO model_stage_history (registered_model_id, model_version_id, from_stage, to_stage, actor, at) VALUES (@model, gen_random_uuid(), NULL, @stage, 'test', now());
            """, new { model, name, stage }, transaction);
        await transaction.CommitAsync();
    }
}
