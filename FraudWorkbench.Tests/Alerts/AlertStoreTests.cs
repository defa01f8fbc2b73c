using System.Text.Json;
using FraudWorkbench.Core.Alerts;

namespace FraudWorkbench.Tests.Alerts;

/// <summary>Alerts as read and acted on: filters, the bell's counts, silences muting by their matchers, acknowledgements.</summary>
[Trait("Category", "Database")]
public sealed class AlertStoreTests
{
    /// <summary>Three firing alerts (m1 critical, m2 critical, m1 warning) and one pending (m2 warning).</summary>
    private static async Task<AlertsWorld> FourAlertsAsync()
    {
        var world = await AlertsWorld.CreateAsync();
        await world.Rules.CreateAsync(AlertsWorld.Latency("p99", null) with { Labels = new Dictionary<string, string> { ["team"] = "risk" } }, "test");
        await world.Rules.CreateAsync(AlertsWorld.Latency("p99 warn", "m1", severity: AlertSeverity.Warning), "test");
        await world.Rules.CreateAsync(AlertsWorld.Latency("p99 slow", "m2", severity: AlertSeverity.Warning, @for: "10m"), "test");
        world.Metrics.Models = ["m1", "m2"];
        world.Metrics.Set("m1", AlertMetricKind.LatencyP99, 70);
        world.Metrics.Set("m2", AlertMetricKind.LatencyP99, 90);
        await world.Evaluator.EvaluateAsync(false);
        return world;
    }

    [Fact]
    public async Task ListAsync_Filters_NewestFirst()
    {
        await using var world = await FourAlertsAsync();
        world.Advance(TimeSpan.FromMinutes(1));
        world.Metrics.Set("m1", AlertMetricKind.LatencyP99, 10); // m1's two resolve
        await world.Evaluator.EvaluateAsync(false);
        world.Advance(TimeSpan.FromMinutes(1));
        world.Metrics.Set("m1", AlertMetricKind.LatencyP99, 75); // and fire again, newer
        await world.Evaluator.EvaluateAsync(false);
        var p99 = (await world.Rules.ListAsync()).Single(r => r.Name == "p99");

        string Show(IEnumerable<Alert> alerts) => string.Join(" ", alerts.Select(a => $"{a.Rule}/{a.Model}/{a.State}"));

        Assert.Equal(8 - 2, (await world.Alerts.ListAsync(new AlertFilter())).Count);
        // Same start time: the order between the two is not a promise, so they are compared sorted.
        Assert.Equal("p99 warn/m1/firing p99/m1/firing", Show((await world.Alerts.ListAsync(new AlertFilter(Model: "m1", State: AlertState.Firing))).OrderByDescending(a => a.Rule)));
        Assert.Equal("p99 warn/m1/resolved p99/m1/resolved", Show((await world.Alerts.ListAsync(new AlertFilter(State: AlertState.Resolved))).OrderByDescending(a => a.Rule)));
        Assert.Equal("p99 slow/m2/pending", Show(await world.Alerts.ListAsync(new AlertFilter(Severity: AlertSeverity.Warning, Model: "m2"))));
        Assert.Equal(3, (await world.Alerts.ListAsync(new AlertFilter(RuleId: p99.Id))).Count);
        // Since: open ones plus those resolved at or after it (the m1 pair resolved at 1 min).
        Assert.Equal(6, (await world.Alerts.ListAsync(new AlertFilter(Since: AlertsWorld.Start.AddMinutes(1)))).Count);
        Assert.Equal(4, (await world.Alerts.ListAsync(new AlertFilter(Since: AlertsWorld.Start.AddMinutes(1).AddSeconds(1)))).Count);
        var all = await world.Alerts.ListAsync(new AlertFilter(Take: 2));
        Assert.Equal(2, all.Count);
        Assert.All(all, a => Assert.Equal(AlertsWorld.Start.AddMinutes(2), a.ActiveAt));
    }

    [Fact]
    public async Task Silence_MutesMatchingAlerts_CountsAndSilencedBy_UntilExpired()
    {
        await using var world = await FourAlertsAsync();
        Assert.Equal(new AlertCounts(3, 2, 1), await world.Alerts.CountsAsync());

        // Mutes every alert of the rule labelled team=risk on m2 (the critical m2 one); not the m1 ones.
        var silence = await world.Alerts.CreateSilenceAsync(new SilenceSpec(
            [new AlertMatcher("team", MatcherOp.Equal, "risk"), new AlertMatcher("model", MatcherOp.Regex, "m[2-9]")], world.Now, world.Now.AddHours(2), "  deploying m2  "), "user:lead@example.com");
        var counts = await world.Alerts.CountsAsync();
        var alerts = await world.Alerts.ListAsync(new AlertFilter());
        var muted = alerts.Single(a => a.SilencedBy is not null);

        Assert.Equal(new AlertCounts(2, 1, 1), counts);
        Assert.Equal(("p99", "m2", silence.Id), (muted.Rule, muted.Model, muted.SilencedBy!.Value));
        Assert.Equal(silence.Id, (await world.Alerts.GetAsync(muted.Id))!.SilencedBy);
        Assert.Equal("deploying m2", silence.Comment);

        // It ends by itself at its end time...
        world.Advance(TimeSpan.FromHours(2));
        Assert.Equal(new AlertCounts(3, 2, 1), await world.Alerts.CountsAsync());
        Assert.Empty(await world.Alerts.SilencesAsync(includeExpired: false));
        Assert.Single(await world.Alerts.SilencesAsync(includeExpired: true));
    }

    [Fact]
    public async Task ExpireSilence_EndsItNow_Audited_SecondExpire409_Unknown404()
    {
        await using var world = await FourAlertsAsync();
        var silence = await world.Alerts.CreateSilenceAsync(new SilenceSpec([new AlertMatcher("severity", MatcherOp.Equal, "critical")], world.Now, world.Now.AddDays(1), "maintenance"), "user:a@example.com");
        Assert.Equal(new AlertCounts(1, 0, 1), await world.Alerts.CountsAsync());
        world.Advance(TimeSpan.FromMinutes(5));

        var expired = await world.Alerts.ExpireSilenceAsync(silence.Id, "user:b@example.com");
        var again = await Assert.ThrowsAsync<AlertException>(() => world.Alerts.ExpireSilenceAsync(silence.Id, "user:b@example.com"));
        var unknown = await Assert.ThrowsAsync<AlertException>(() => world.Alerts.ExpireSilenceAsync(Guid.NewGuid(), "user:b@example.com"));

        Assert.Equal(("user:b@example.com", world.Now), (expired.ExpiredBy, expired.ExpiredAt!.Value));
        Assert.Equal(new AlertCounts(3, 2, 1), await world.Alerts.CountsAsync());
        Assert.Equal((409, 404), (again.Status, unknown.Status));
        Assert.Equal(["alert.silence-create", "alert.silence-expire"], await world.QueryAsync<string>("SELECT action FROM audit_log WHERE object_type = 'alert-silence' ORDER BY id"));
        var listed = (await world.Alerts.SilencesAsync(includeExpired: true)).Single();
        Assert.Equal(expired with { Matchers = [] }, listed with { Matchers = [] });
        Assert.Equal(expired.Matchers, listed.Matchers);
    }

    [Fact]
    public async Task CreateSilence_BadSpec_400NamingTheField_NothingWritten()
    {
        await using var world = await AlertsWorld.CreateAsync();
        var now = world.Now;

        var none = await Assert.ThrowsAsync<AlertException>(() => world.Alerts.CreateSilenceAsync(new SilenceSpec([], now, now.AddHours(1), "c"), "t"));
        var regex = await Assert.ThrowsAsync<AlertException>(() => world.Alerts.CreateSilenceAsync(new SilenceSpec([new AlertMatcher("model", MatcherOp.Regex, "(")], now, now.AddHours(1), "c"), "t"));
        var past = await Assert.ThrowsAsync<AlertException>(() => world.Alerts.CreateSilenceAsync(new SilenceSpec([new AlertMatcher("model", "=", "m")], now.AddHours(-2), now.AddHours(-1), "c"), "t"));
        var comment = await Assert.ThrowsAsync<AlertException>(() => world.Alerts.CreateSilenceAsync(new SilenceSpec([new AlertMatcher("model", "=", "m")], now, now.AddHours(1), " "), "t"));

        Assert.Equal(["matchers", "matchers[0]", "endsAt", "comment"], new[] { none, regex, past, comment }.Select(e => e.Issues.Single().Field));
        Assert.All(new[] { none, regex, past, comment }, e => Assert.Equal(400, e.Status));
        Assert.Equal(0L, await world.ScalarAsync<long>("SELECT count(*) FROM alert_silences"));
    }

    [Fact]
    public async Task AcknowledgeAsync_RecordsWhoWhenComment_Audited_ResolvedIs409()
    {
        await using var world = await FourAlertsAsync();
        var alert = (await world.Alerts.ListAsync(new AlertFilter(Model: "m2", State: AlertState.Firing))).Single();
        var changes = world.Changes.Count;
        world.Advance(TimeSpan.FromMinutes(2));

        var acked = await world.Alerts.AcknowledgeAsync(alert.Id, "  looking at the scoring pods ", "user:reviewer@example.com");
        var noComment = await Assert.ThrowsAsync<AlertException>(() => world.Alerts.AcknowledgeAsync(alert.Id, "   ", "user:reviewer@example.com"));
        var unknown = await Assert.ThrowsAsync<AlertException>(() => world.Alerts.AcknowledgeAsync(Guid.NewGuid(), "ok", "user:reviewer@example.com"));
        world.Metrics.Set("m2", AlertMetricKind.LatencyP99, 1);
        await world.Evaluator.EvaluateAsync(true);
        var resolved = await Assert.ThrowsAsync<AlertException>(() => world.Alerts.AcknowledgeAsync(alert.Id, "late", "user:reviewer@example.com"));

        Assert.Equal(("user:reviewer@example.com", world.Now, "looking at the scoring pods", true), (acked.AckedBy, acked.AckedAt!.Value, acked.AckComment, acked.Acknowledged));
        Assert.Equal((400, "comment"), (noComment.Status, noComment.Issues.Single().Field));
        Assert.Equal(404, unknown.Status);
        Assert.Equal(409, resolved.Status);
        Assert.True(world.Changes.Count > changes);
        var audit = await world.QueryAsync<(string, string)>("SELECT actor, summary::text FROM audit_log WHERE action = 'alert.ack'");
        Assert.Equal("user:reviewer@example.com", Assert.Single(audit).Item1);
        Assert.Equal("looking at the scoring pods", JsonDocument.Parse(audit[0].Item2).RootElement.GetProperty("comment").GetString());
        // The ack stays with the episode's history.
        Assert.Equal("looking at the scoring pods", (await world.Alerts.GetAsync(alert.Id))!.AckComment);
    }
}
