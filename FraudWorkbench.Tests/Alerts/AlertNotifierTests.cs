using System.Text.Json;
using Dapper;
using FraudWorkbench.Core.Alerts;
using FraudWorkbench.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace FraudWorkbench.Tests.Alerts;

/// <summary>Alertmanager's grouping and timing, step by step on a fake clock: group wait, group interval, repeat interval, resolved, silences, routing.</summary>
[Trait("Category", "Database")]
public sealed class AlertNotifierTests(DatabaseFixture database) : IClassFixture<DatabaseFixture>, IAsyncLifetime
{
    private static readonly DateTime T0 = new(2026, 12, 7, 12, 0, 0, DateTimeKind.Utc);
    private readonly FakeTimeProvider time = new(T0);
    private DeliveryHarness harness = default!;

    public async Task InitializeAsync()
    {
        harness = new DeliveryHarness(database, new AlertsOptions(), time);
        await harness.ResetAsync();
    }

    public async Task DisposeAsync() => await harness.DisposeAsync();

    private async Task<Guid> ChannelAsync(string name = "ops", bool global = true, bool sendResolved = true, string? groupWait = null) =>
        (await harness.Store.CreateAsync(new ChannelSpec(name, ChannelKind.Alertmanager, "https://93.184.216.34/hook", Global: global, SendResolved: sendResolved, GroupWait: groupWait), "alice")).Channel.Id;

    /// <summary>Moves the clock to <paramref name="offset"/> after T0 and runs one pass.</summary>
    private async Task<int> At(TimeSpan offset)
    {
        time.SetUtcNow(T0 + offset);
        return await harness.Notifier.RunOnceAsync(CancellationToken.None);
    }

    private async Task<int> GroupCountAsync()
    {
        await using var connection = await database.DataSource.OpenConnectionAsync();
        return await connection.ExecuteScalarAsync<int>("SELECT count(*) FROM notification_groups");
    }

    private static TimeSpan S(double seconds) => TimeSpan.FromSeconds(seconds);

    [Fact]
    public async Task GroupWait_NewGroup_SentOnlyAfterThirtySeconds()
    {
        await ChannelAsync();
        var rule = await harness.InsertRuleAsync("Dataset drift");
        await harness.InsertAlertAsync(rule, "Dataset drift", "card-fraud", AlertState.Firing, T0, T0);

        var counts = new[] { await At(S(0)), await At(S(29)), await At(S(30)), await At(S(31)) };

        Assert.Equal([0, 0, 1, 0], counts);
        var row = Assert.Single(await harness.DeliveryRowsAsync());
        Assert.Equal(("pending", "firing"), (row.Status, row.AlertStatus));
        Assert.Equal([AlertLabels.Fingerprint(rule, "card-fraud")], row.Fingerprints);
        var body = JsonDocument.Parse(row.Payload).RootElement;
        Assert.Equal("firing", body.GetProperty("status").GetString());
        Assert.Equal("ops", body.GetProperty("receiver").GetString());
    }

    [Fact]
    public async Task GroupInterval_SecondAlertInTheGroup_WaitsFiveMinutesAfterTheLastSend()
    {
        await ChannelAsync();
        // Two alerts of one group: the same alertname and model (an old rule of that name, deleted, and its successor).
        var old = await harness.InsertRuleAsync("Dataset drift", deleted: true);
        var rule = await harness.InsertRuleAsync("Dataset drift");
        await harness.InsertAlertAsync(old, "Dataset drift", "card-fraud", AlertState.Firing, T0, T0);
        await At(S(0));
        Assert.Equal(1, await At(S(30)));

        await harness.InsertAlertAsync(rule, "Dataset drift", "card-fraud", AlertState.Firing, T0 + S(60), T0 + S(60));
        var counts = new[] { await At(S(60)), await At(S(30 + 299)), await At(S(30 + 300)) };

        Assert.Equal([0, 0, 1], counts);
        var second = (await harness.DeliveryRowsAsync())[1];
        Assert.Equal(2, second.Fingerprints.Length);
        var body = JsonDocument.Parse(second.Payload).RootElement;
        Assert.Equal(2, body.GetProperty("alerts").GetArrayLength());
        Assert.Equal("""{"alertname":"Dataset drift","model":"card-fraud","severity":"critical"}""", body.GetProperty("commonLabels").GetRawText());
    }

    [Fact]
    public async Task RepeatInterval_UnchangedFiringGroup_SentAgainAfterFourHours()
    {
        await ChannelAsync();
        var rule = await harness.InsertRuleAsync("Dataset drift");
        await harness.InsertAlertAsync(rule, "Dataset drift", "card-fraud", AlertState.Firing, T0, T0);
        await At(S(0));

        var counts = new[]
        {
            await At(S(30)), await At(S(30 + 300)), await At(TimeSpan.FromHours(2)), await At(S(30) + TimeSpan.FromHours(4) - S(1)),
            await At(S(30) + TimeSpan.FromHours(4)), await At(S(30) + TimeSpan.FromHours(4) + S(300)),
        };

        Assert.Equal([1, 0, 0, 0, 1, 0], counts);
        Assert.All(await harness.DeliveryRowsAsync(), r => Assert.Equal("firing", r.AlertStatus));
    }

    [Fact]
    public async Task Resolved_AfterFiringWasSent_SentAtTheNextGroupIntervalThenTheGroupEnds()
    {
        await ChannelAsync();
        var rule = await harness.InsertRuleAsync("Dataset drift");
        var alert = await harness.InsertAlertAsync(rule, "Dataset drift", "card-fraud", AlertState.Firing, T0, T0);
        await At(S(0));
        await At(S(30));

        await harness.ResolveAlertAsync(alert, T0 + S(120));
        var counts = new[] { await At(S(120)), await At(S(329)), await At(S(330)), await At(S(700)) };

        Assert.Equal([0, 0, 1, 0], counts);
        var resolved = (await harness.DeliveryRowsAsync())[1];
        Assert.Equal("resolved", resolved.AlertStatus);
        var body = JsonDocument.Parse(resolved.Payload).RootElement;
        Assert.Equal("resolved", body.GetProperty("status").GetString());
        var sent = Assert.Single(body.GetProperty("alerts").EnumerateArray());
        Assert.Equal(("resolved", "2026-12-07T12:00:00Z", "2026-12-07T12:02:00Z"),
            (sent.GetProperty("status").GetString(), sent.GetProperty("startsAt").GetString(), sent.GetProperty("endsAt").GetString()));
        Assert.Equal(0, await GroupCountAsync());
    }

    [Fact]
    public async Task Resolved_ChannelWithoutSendResolved_NothingSentGroupEnds()
    {
        await ChannelAsync(sendResolved: false);
        var rule = await harness.InsertRuleAsync("Dataset drift");
        var alert = await harness.InsertAlertAsync(rule, "Dataset drift", "card-fraud", AlertState.Firing, T0, T0);
        await At(S(0));
        await At(S(30));

        await harness.ResolveAlertAsync(alert, T0 + S(120));
        var counts = new[] { await At(S(330)), await At(S(700)) };

        Assert.Equal([0, 0], counts);
        Assert.Single(await harness.DeliveryRowsAsync());
        Assert.Equal(0, await GroupCountAsync());
    }

    [Fact]
    public async Task Resolved_BeforeGroupWait_SendsNothing()
    {
        await ChannelAsync();
        var rule = await harness.InsertRuleAsync("Dataset drift");
        var alert = await harness.InsertAlertAsync(rule, "Dataset drift", "card-fraud", AlertState.Firing, T0, T0);
        await At(S(0));

        await harness.ResolveAlertAsync(alert, T0 + S(10));
        var counts = new[] { await At(S(10)), await At(S(30)), await At(S(400)), await At(TimeSpan.FromHours(5)) };

        Assert.Equal([0, 0, 0, 0], counts);
        Assert.Empty(await harness.DeliveryRowsAsync());
        Assert.Equal(0, await GroupCountAsync());
    }

    [Fact]
    public async Task Silenced_MatchingActiveSilence_SendsNothing_OthersStillSent()
    {
        await ChannelAsync();
        var rule = await harness.InsertRuleAsync("Dataset drift");
        await harness.InsertAlertAsync(rule, "Dataset drift", "card-fraud", AlertState.Firing, T0, T0);
        await harness.InsertAlertAsync(rule, "Dataset drift", "loan-default", AlertState.Firing, T0, T0);
        await harness.InsertAlertAsync(rule, "Dataset drift", "chargebacks", AlertState.Firing, T0, T0);
        await using (var connection = await database.DataSource.OpenConnectionAsync())
        {
            const string sql = """
                INSERT INTO alert_silences (id, matchers, starts_at, ends_at, comment, created_by, created_at, expired_by, expired_at)
                VALUES (gen_random_uuid(), @matchers::jsonb, @starts, @ends, 'test', 'alice', @starts, @expiredBy, @expiredAt)
                """;
            // Mutes card-fraud; an expired silence would mute loan-default; one that starts later would mute chargebacks.
            await connection.ExecuteAsync(sql, new { matchers = """[{"label":"model","op":"=~","value":"card-.*"},{"label":"severity","op":"=","value":"critical"}]""", starts = T0.AddHours(-1), ends = T0.AddHours(1), expiredBy = (string?)null, expiredAt = (DateTime?)null });
            await connection.ExecuteAsync(sql, new { matchers = """[{"label":"model","op":"=","value":"loan-default"}]""", starts = T0.AddHours(-1), ends = T0.AddHours(1), expiredBy = "bob", expiredAt = (DateTime?)T0.AddMinutes(-1) });
            await connection.ExecuteAsync(sql, new { matchers = """[{"label":"model","op":"=","value":"chargebacks"}]""", starts = T0.AddHours(2), ends = T0.AddHours(3), expiredBy = (string?)null, expiredAt = (DateTime?)null });
        }

        await At(S(0));
        var sent = await At(S(30));

        Assert.Equal(2, sent);
        var models = (await harness.DeliveryRowsAsync()).Select(r => JsonDocument.Parse(r.Payload).RootElement.GetProperty("groupLabels").GetProperty("model").GetString()).Order();
        Assert.Equal(["chargebacks", "loan-default"], models);
    }

    [Fact]
    public async Task Routing_GlobalGetsEveryRule_OthersOnlyRulesNamingThem()
    {
        var global = await ChannelAsync("global", groupWait: "0s");
        var named = await ChannelAsync("named", global: false, groupWait: "0s");
        var other = await ChannelAsync("other", global: false, groupWait: "0s");
        var drift = await harness.InsertRuleAsync("Dataset drift", [named]);
        var latency = await harness.InsertRuleAsync("Scoring latency");
        await harness.InsertAlertAsync(drift, "Dataset drift", "card-fraud", AlertState.Firing, T0, T0);
        await harness.InsertAlertAsync(latency, "Scoring latency", "card-fraud", AlertState.Firing, T0, T0);
        await harness.InsertAlertAsync(latency, "Scoring latency", "card-fraud-2", AlertState.Pending, T0, null);

        var sent = await At(S(0));

        Assert.Equal(3, sent);
        var byChannel = (await harness.Store.DeliveriesAsync(null, 10)).GroupBy(d => d.ChannelId).ToDictionary(g => g.Key, g => g.Select(d => d.GroupKey).Order().ToList());
        Assert.Equal(["{}:{alertname=\"Dataset drift\", model=\"card-fraud\"}", "{}:{alertname=\"Scoring latency\", model=\"card-fraud\"}"], byChannel[global]);
        Assert.Equal(["{}:{alertname=\"Dataset drift\", model=\"card-fraud\"}"], byChannel[named]);
        Assert.False(byChannel.ContainsKey(other));
    }

    [Fact]
    public async Task RunOnce_AnotherInstanceHoldsTheLock_QueuesNothingUntilReleased()
    {
        await ChannelAsync(groupWait: "0s");
        var rule = await harness.InsertRuleAsync("Dataset drift");
        await harness.InsertAlertAsync(rule, "Dataset drift", "card-fraud", AlertState.Firing, T0, T0);

        int whileHeld;
        await using (var other = await database.DataSource.OpenConnectionAsync())
        await using (var transaction = await other.BeginTransactionAsync())
        {
            await other.ExecuteAsync("SELECT pg_advisory_xact_lock(@key)", new { key = AlertNotifier.LockKey }, transaction);
            whileHeld = await At(S(0));
        }

        var afterwards = await At(S(1));

        Assert.Equal((0, 1), (whileHeld, afterwards));
    }

    [Fact]
    public async Task GroupKey_QuotesLabelValues()
    {
        Assert.Equal("{}:{alertname=\"a \\\"b\\\" é\", model=\"m\"}", AlertNotifier.GroupKey("a \"b\" é", "m"));
        await Task.CompletedTask;
    }
}
