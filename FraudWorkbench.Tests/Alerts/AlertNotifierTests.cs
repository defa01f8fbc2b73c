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

    private async Task<Guid> ChannelAsync(string name = "ops", bool global = true, bool sendResolved = true, string? groupWait = null, IReadOnlyList<string>? groupBy = null,
        string kind = ChannelKind.Alertmanager) =>
        (await harness.Store.CreateAsync(new ChannelSpec(name, kind, "https://93.184.216.34/hook", Global: global, SendResolved: sendResolved, GroupWait: groupWait,
            GroupBy: groupBy), "alice")).Channel.Id;

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

        // One notification for the rule (grouped by alertname), listing the two alerts no silence mutes.
        Assert.Equal(1, sent);
        var body = JsonDocument.Parse(Assert.Single(await harness.DeliveryRowsAsync()).Payload).RootElement;
        var models = body.GetProperty("alerts").EnumerateArray().Select(a => a.GetProperty("labels").GetProperty("model").GetString()).Order();
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
        Assert.Equal(["{}:{alertname=\"Dataset drift\"}", "{}:{alertname=\"Scoring latency\"}"], byChannel[global]);
        Assert.Equal(["{}:{alertname=\"Dataset drift\"}"], byChannel[named]);
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

    /// <summary>One rule firing on three models (the third a warning); each alert's summary, description and link name its model.</summary>
    private async Task<(Guid Rule, Guid CardFraud, Guid LoanDefault, Guid Chargebacks)> ThreeModelsAsync()
    {
        var team = new Dictionary<string, string> { ["team"] = "risk" };
        var rule = await harness.InsertRuleAsync("Dataset drift");
        var card = await harness.InsertAlertAsync(rule, "Dataset drift", "card-fraud", AlertState.Firing, T0, T0, ruleLabels: team);
        var loan = await harness.InsertAlertAsync(rule, "Dataset drift", "loan-default", AlertState.Firing, T0, T0, ruleLabels: team);
        var charge = await harness.InsertAlertAsync(rule, "Dataset drift", "chargebacks", AlertState.Firing, T0, T0, AlertSeverity.Warning, ruleLabels: team);
        return (rule, card, loan, charge);
    }

    private static (string Model, string Status, string EndsAt)[] AlertsOf(JsonElement body) =>
        [.. body.GetProperty("alerts").EnumerateArray()
            .Select(a => (a.GetProperty("labels").GetProperty("model").GetString()!, a.GetProperty("status").GetString()!, a.GetProperty("endsAt").GetString()!))
            .OrderBy(a => a.Item1, StringComparer.Ordinal)];

    [Fact]
    public async Task GroupBy_DefaultOneRuleFiringOnThreeModels_OneNotificationListingAllThree()
    {
        await ChannelAsync();
        var (rule, _, _, _) = await ThreeModelsAsync();

        var counts = new[] { await At(S(0)), await At(S(29)), await At(S(30)), await At(S(31)) };

        Assert.Equal([0, 0, 1, 0], counts);
        Assert.Equal(1, await GroupCountAsync());
        var row = Assert.Single(await harness.DeliveryRowsAsync());
        Assert.Equal(new[] { "card-fraud", "chargebacks", "loan-default" }.Select(m => AlertLabels.Fingerprint(rule, m)).Order(), row.Fingerprints.Order());
        var body = JsonDocument.Parse(row.Payload).RootElement;
        Assert.Equal("firing", body.GetProperty("status").GetString());
        Assert.Equal("{}:{alertname=\"Dataset drift\"}", body.GetProperty("groupKey").GetString());
        Assert.Equal("""{"alertname":"Dataset drift"}""", body.GetProperty("groupLabels").GetRawText());
        // Shared by all three: the rule and its label, not the model nor the severity (one is a warning).
        Assert.Equal("""{"alertname":"Dataset drift","team":"risk"}""", body.GetProperty("commonLabels").GetRawText());
        Assert.Equal("""{"threshold":"0.5"}""", body.GetProperty("commonAnnotations").GetRawText());
        Assert.Equal([("card-fraud", "firing", AlertPayloads.ZeroTime), ("chargebacks", "firing", AlertPayloads.ZeroTime), ("loan-default", "firing", AlertPayloads.ZeroTime)],
            AlertsOf(body));
    }

    [Theory]
    [InlineData(new[] { "alertname", "model" }, new[] { "alertname", "model" })]
    [InlineData(new[] { "..." }, new[] { "alertname", "model", "severity", "team" })]
    public async Task GroupBy_RuleAndModelOrEveryLabel_ThreeNotificationsOfOneAlertEach(string[] groupBy, string[] groupLabelNames)
    {
        await ChannelAsync(groupBy: groupBy);
        await ThreeModelsAsync();

        await At(S(0));
        var sent = await At(S(30));

        Assert.Equal(3, sent);
        Assert.Equal(3, await GroupCountAsync());
        var bodies = (await harness.DeliveryRowsAsync()).Select(r => JsonDocument.Parse(r.Payload).RootElement).ToList();
        Assert.All(bodies, b => Assert.Equal(1, b.GetProperty("alerts").GetArrayLength()));
        Assert.All(bodies, b => Assert.Equal(groupLabelNames, b.GetProperty("groupLabels").EnumerateObject().Select(p => p.Name)));
        Assert.Equal(["card-fraud", "chargebacks", "loan-default"], bodies.Select(b => b.GetProperty("groupLabels").GetProperty("model").GetString()).Order());
        // A lone alert's common labels are all its labels.
        Assert.All(bodies, b => Assert.Equal(b.GetProperty("alerts")[0].GetProperty("labels").GetRawText(), b.GetProperty("commonLabels").GetRawText()));
    }

    [Fact]
    public async Task GroupBy_ALabelSomeAlertsLack_TheyShareTheGroupWithoutIt()
    {
        await ChannelAsync(groupBy: ["team"]);
        var rule = await harness.InsertRuleAsync("Dataset drift");
        var other = await harness.InsertRuleAsync("Scoring latency");
        await harness.InsertAlertAsync(rule, "Dataset drift", "card-fraud", AlertState.Firing, T0, T0, ruleLabels: new Dictionary<string, string> { ["team"] = "risk" });
        await harness.InsertAlertAsync(other, "Scoring latency", "card-fraud", AlertState.Firing, T0, T0, ruleLabels: new Dictionary<string, string> { ["team"] = "risk" });
        await harness.InsertAlertAsync(other, "Scoring latency", "loan-default", AlertState.Firing, T0, T0);

        await At(S(0));
        var sent = await At(S(30));

        Assert.Equal(2, sent);
        var byKey = (await harness.DeliveryRowsAsync()).Select(r => JsonDocument.Parse(r.Payload).RootElement)
            .ToDictionary(b => b.GetProperty("groupKey").GetString()!, b => b.GetProperty("alerts").GetArrayLength());
        Assert.Equal(new Dictionary<string, int> { ["{}:{team=\"risk\"}"] = 2, ["{}:{}"] = 1 }, byKey);
    }

    [Fact]
    public async Task GroupBy_OneAlertOfTheGroupResolves_TheGroupIsSentWithItResolvedThenWithoutIt()
    {
        await ChannelAsync();
        var (_, card, loan, charge) = await ThreeModelsAsync();
        await At(S(0));
        Assert.Equal(1, await At(S(30)));

        await harness.ResolveAlertAsync(card, T0 + S(120));
        var counts = new[] { await At(S(120)), await At(S(329)), await At(S(330)), await At(S(630)) };

        // At the next group interval: the two still firing and the one resolved, as Alertmanager sends a group.
        Assert.Equal([0, 0, 1, 0], counts);
        var second = (await harness.DeliveryRowsAsync())[1];
        Assert.Equal(("firing", 3), (second.AlertStatus, second.Fingerprints.Length));
        var body = JsonDocument.Parse(second.Payload).RootElement;
        Assert.Equal("firing", body.GetProperty("status").GetString());
        Assert.Equal([("card-fraud", "resolved", "2026-12-07T12:02:00Z"), ("chargebacks", "firing", AlertPayloads.ZeroTime), ("loan-default", "firing", AlertPayloads.ZeroTime)],
            AlertsOf(body));

        // The repeat interval after that send: only the two firing; the resolved one was told once.
        Assert.Equal(0, await At(S(330) + TimeSpan.FromHours(4) - S(1)));
        Assert.Equal(1, await At(S(330) + TimeSpan.FromHours(4)));
        var repeat = JsonDocument.Parse((await harness.DeliveryRowsAsync())[2].Payload).RootElement;
        Assert.Equal([("chargebacks", "firing", AlertPayloads.ZeroTime), ("loan-default", "firing", AlertPayloads.ZeroTime)], AlertsOf(repeat));

        // The last two resolve: one resolved notification listing both, and the group ends.
        var end = S(330) + TimeSpan.FromHours(4) + S(10);
        await harness.ResolveAlertAsync(loan, T0 + end);
        await harness.ResolveAlertAsync(charge, T0 + end);
        Assert.Equal(1, await At(S(330 + 300) + TimeSpan.FromHours(4)));
        var last = (await harness.DeliveryRowsAsync())[3];
        Assert.Equal("resolved", last.AlertStatus);
        var resolved = JsonDocument.Parse(last.Payload).RootElement;
        Assert.Equal("resolved", resolved.GetProperty("status").GetString());
        Assert.Equal(["chargebacks", "loan-default"], AlertsOf(resolved).Select(a => a.Model));
        Assert.All(AlertsOf(resolved), a => Assert.Equal("resolved", a.Status));
        Assert.Equal(0, await GroupCountAsync());
    }

    [Fact]
    public async Task GroupBy_OneAlertResolvesOnAChannelWithoutSendResolved_NothingSentUntilTheRepeat()
    {
        await ChannelAsync(sendResolved: false);
        var (_, card, _, _) = await ThreeModelsAsync();
        await At(S(0));
        await At(S(30));

        await harness.ResolveAlertAsync(card, T0 + S(120));
        var counts = new[] { await At(S(330)), await At(S(30) + TimeSpan.FromHours(4)) };

        Assert.Equal([0, 1], counts);
        var repeat = JsonDocument.Parse((await harness.DeliveryRowsAsync())[1].Payload).RootElement;
        Assert.Equal(["chargebacks", "loan-default"], AlertsOf(repeat).Select(a => a.Model));
    }

    [Fact]
    public async Task GroupBy_SlackChannel_OneMessageListingEveryAlertOfTheGroup()
    {
        await ChannelAsync(kind: ChannelKind.Slack);
        await ThreeModelsAsync();

        await At(S(0));
        Assert.Equal(1, await At(S(30)));

        var body = JsonDocument.Parse(Assert.Single(await harness.DeliveryRowsAsync()).Payload).RootElement;
        Assert.Equal("[FIRING:3] Dataset drift · 3 models", body.GetProperty("text").GetString());
        var attachments = body.GetProperty("attachments").EnumerateArray().Select(a => a.GetProperty("fallback").GetString()).Order();
        Assert.Equal(["Dataset drift · card-fraud: 0.62", "Dataset drift · chargebacks: 0.62", "Dataset drift · loan-default: 0.62"], attachments);
    }

    [Fact]
    public async Task GroupBy_ChangedOnTheChannel_OldGroupsEndNewOnesWaitAndSend()
    {
        var channel = await ChannelAsync(groupBy: ["alertname", "model"]);
        await ThreeModelsAsync();
        await At(S(0));
        Assert.Equal(3, await At(S(30)));

        var spec = (await harness.Store.GetAsync(channel))!.Spec;
        await harness.Store.UpdateAsync(channel, spec with { GroupBy = null }, "bob");
        var counts = new[] { await At(S(31)), await At(S(60)), await At(S(61)), await At(S(330)) };

        // The new group (by rule) waits its group wait and sends the three together; the old ones end without a word.
        Assert.Equal([0, 0, 1, 0], counts);
        var body = JsonDocument.Parse((await harness.DeliveryRowsAsync())[3].Payload).RootElement;
        Assert.Equal(3, body.GetProperty("alerts").GetArrayLength());
        Assert.Equal(1, await GroupCountAsync());
    }

    [Fact]
    public async Task GroupKey_QuotesLabelValues()
    {
        Assert.Equal("{}:{alertname=\"a \\\"b\\\" é\", model=\"m\"}", AlertNotifier.GroupKey("a \"b\" é", "m"));
        await Task.CompletedTask;
    }
}
