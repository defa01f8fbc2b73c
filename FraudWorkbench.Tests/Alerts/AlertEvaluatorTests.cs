using System.Collections.Concurrent;
using System.Text.Json;
using FraudWorkbench.Core.Alerts;
using FraudWorkbench.Core.Events;
using FraudWorkbench.Core.Monitoring;
using FraudWorkbench.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace FraudWorkbench.Tests.Alerts;

/// <summary>The evaluator on real PostgreSQL with scripted readings and a fake clock: the whole lifecycle as stored.</summary>
[Trait("Category", "Database")]
public sealed class AlertEvaluatorTests
{
    private sealed record Row(Guid Id, string State, DateTime ActiveAt, DateTime? FiredAt, DateTime LastTrueAt, DateTime? ResolvedAt, double? Value, string Annotations);

    private static Task<IReadOnlyList<Row>> RowsAsync(AlertsWorld world) =>
        world.QueryAsync<Row>("SELECT id, state, active_at, fired_at, last_true_at, resolved_at, value, annotations::text AS annotations FROM alerts ORDER BY active_at, id");

    [Fact]
    public async Task EvaluateAsync_PendingForFiveMinutesThenFiring_OneAlertPerFingerprintThroughout()
    {
        await using var world = await AlertsWorld.CreateAsync();
        var rule = await world.Rules.CreateAsync(AlertsWorld.Latency("p99 high", "m1", @for: "5m") with { Description = "{{model}} p99 {{value}} ms ({{threshold}}) team {{labels.team}} {{link}}", Labels = new Dictionary<string, string> { ["team"] = "risk" } }, "test");
        world.Metrics.Set("m1", AlertMetricKind.LatencyP99, 80);
        var t0 = world.Now;

        var states = new List<string>();
        for (var minute = 0; minute <= 6; minute++)
        {
            var summary = await world.Evaluator.EvaluateAsync(force: false);
            Assert.Equal((1, false), (summary.Evaluated, summary.Skipped));
            states.Add((await RowsAsync(world)).Single().State);
            world.Advance(TimeSpan.FromMinutes(1));
        }

        Assert.Equal(["pending", "pending", "pending", "pending", "pending", "firing", "firing"], states);
        var alert = Assert.Single(await world.Alerts.ListAsync(new AlertFilter()));
        Assert.Equal((AlertState.Firing, t0, t0.AddMinutes(5), t0.AddMinutes(6), 80.0), (alert.State, alert.ActiveAt, alert.FiredAt, alert.LastTrueAt, alert.Value));
        Assert.Equal(AlertLabels.Fingerprint(rule.Id, "m1"), alert.Fingerprint);
        Assert.Equal(new Dictionary<string, string> { ["alertname"] = "p99 high", ["model"] = "m1", ["severity"] = "critical", ["team"] = "risk" }, alert.Labels);
        Assert.Equal("m1 p99 80 ms (> 50) team risk https://wb.example/models/m1/monitoring", alert.Annotations["description"]);
        Assert.Equal("Scoring latency p99 of m1 is 80 (> 50)", alert.Annotations["summary"]);
        Assert.Equal(("https://wb.example/models/m1/monitoring", "> 50"), (alert.Annotations["link"], alert.Annotations["threshold"]));
        // Two changes: inactive → pending (published with no notice), pending → firing (with its notice).
        Assert.Equal([0, 1], world.Changes.Select(c => c.Fired.Count));
        var notice = world.Changes.Last().Fired.Single();
        Assert.Equal(new AlertNotice(alert.Id, "p99 high", "m1", AlertSeverity.Critical, alert.Annotations["summary"], alert.RuleId), notice);
        var evaluation = (await world.QueryAsync<(string, double?, long?, DateTime)>("SELECT outcome, value, sample, evaluated_at FROM alert_evaluations")).Single();
        Assert.Equal(("true", 80.0, 1000L, t0.AddMinutes(6)), evaluation);
    }

    /// <summary>
    /// Silences and acknowledgements are not inputs of the state machine (<see cref="AlertStateMachine.Step"/> never sees
    /// them): a silence mutes what is announced (the snackbar's notice, and notifications), an ack records who is on it.
    /// Their table is therefore the stored lifecycle's: one evaluation a minute; before each, an action — s: a 3-minute
    /// silence on the rule starts, a: the open alert is acknowledged, -: nothing. After each: the latest alert's state
    /// (i when there is none), whether a firing was announced (n) or not (.), and whether the latest alert is acked (y/n, - none).
    /// </summary>
    [Theory]
    [InlineData("no silence: each firing announced", 0, 0, "TFTFT", "-----", "frfrf", "n.n.n", "nnnnn")]
    [InlineData("silence mutes the announcement, not the states; after it ends firing is announced again", 0, 0, "TFTFT", "s----", "frfrf", "....n", "nnnnn")]
    [InlineData("silence over pending to firing: fires all the same, silently", 2, 0, "TTTT", "s---", "ppff", "....", "nnnn")]
    [InlineData("silence neither holds a firing alert nor delays its resolve", 0, 0, "TF", "s-", "fr", "..", "nn")]
    [InlineData("ack keeps firing and resolves as usual; the next episode is a new, unacknowledged alert", 0, 0, "TTFT", "-a--", "ffrf", "n..n", "nyyn")]
    [InlineData("ack on pending: it still fires when for elapses, announced, and stays acked", 1, 0, "TTT", "-a-", "pff", ".n.", "nyy")]
    [InlineData("ack does not extend keep firing", 0, 2, "TFFF", "-a--", "fffr", "n...", "nyyy")]
    public async Task EvaluateAsync_SilenceAndAcknowledge_ChangeWhatIsAnnouncedAndRecordedNotTheStates(
        string scenario, int forMinutes, int keepMinutes, string outcomes, string actions, string expectedStates, string expectedAnnounced, string expectedAcked)
    {
        await using var world = await AlertsWorld.CreateAsync();
        var rule = await world.Rules.CreateAsync(AlertsWorld.Latency("p99", "m1", @for: $"{forMinutes}m", keep: $"{keepMinutes}m"), "test");
        string states = "", announced = "", acked = "";
        for (var i = 0; i < outcomes.Length; i++)
        {
            if (actions[i] == 's')
                await world.Alerts.CreateSilenceAsync(new SilenceSpec([new(AlertLabels.AlertName, MatcherOp.Equal, "p99")], world.Now, world.Now.AddMinutes(3), "maintenance"), "test");
            if (actions[i] == 'a')
                await world.Alerts.AcknowledgeAsync((await world.QueryAsync<Guid>("SELECT id FROM alerts WHERE state IN ('pending', 'firing')")).Single(), "on it", "test");
            world.Metrics.Set("m1", AlertMetricKind.LatencyP99, outcomes[i] == 'T' ? 80 : 20);
            var before = world.Changes.Sum(c => c.Fired.Count(n => n.RuleId == rule.Id));

            await world.Evaluator.EvaluateAsync(force: true);

            var latest = (await world.QueryAsync<(string State, bool Acked)>("SELECT state, acked_at IS NOT NULL FROM alerts ORDER BY active_at DESC, id DESC LIMIT 1")).SingleOrDefault();
            states += latest.State?[0] ?? 'i';
            acked += latest.State is null ? '-' : latest.Acked ? 'y' : 'n';
            announced += world.Changes.Sum(c => c.Fired.Count(n => n.RuleId == rule.Id)) > before ? 'n' : '.';
            world.Advance(TimeSpan.FromMinutes(1));
        }

        Assert.True((expectedStates, expectedAnnounced, expectedAcked) == (states, announced, acked),
            $"{scenario}: expected {expectedStates} {expectedAnnounced} {expectedAcked}, got {states} {announced} {acked}");
    }

    [Fact]
    public async Task EvaluateAsync_SilencedCriticalAlert_FiresButAnnouncesNoOne()
    {
        await using var world = await AlertsWorld.CreateAsync();
        await world.Rules.CreateAsync(AlertsWorld.Latency("p99 quiet", "m1"), "test");
        await world.Rules.CreateAsync(AlertsWorld.Latency("p99 loud", "m2"), "test");
        await world.Alerts.CreateSilenceAsync(new SilenceSpec([new(AlertLabels.Model, MatcherOp.Equal, "m1")], world.Now, world.Now.AddHours(1), "maintenance"), "test");
        world.Metrics.Set("m1", AlertMetricKind.LatencyP99, 80);
        world.Metrics.Set("m2", AlertMetricKind.LatencyP99, 80);

        await world.Evaluator.EvaluateAsync(force: true);

        // Both fire (the page shows the silenced one as silenced), but only the other pops up on open pages.
        Assert.Equal(2, (await world.Alerts.ListAsync(new AlertFilter(State: AlertState.Firing))).Count);
        Assert.Equal(["m2"], world.Changes.Last().Fired.Select(n => n.Model));
    }

    [Fact]
    public async Task EvaluateAsync_RuleDisabledWhileItsMetricIsRead_RaisesNothing()
    {
        await using var world = await AlertsWorld.CreateAsync();
        var rule = await world.Rules.CreateAsync(AlertsWorld.Latency("p99 switched off", "m1"), "test");
        world.Metrics.Set("m1", AlertMetricKind.LatencyP99, 80);
        world.Metrics.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var run = world.Evaluator.EvaluateAsync(force: true);
        await world.Metrics.Entered.Task.WaitAsync(TimeSpan.FromSeconds(10));
        await world.Rules.SetEnabledAsync(rule.Id, false, "test");
        world.Metrics.Gate.SetResult();
        await run;

        // The run read the rule enabled, but the alert is written only if it still is.
        Assert.Empty(await RowsAsync(world));
    }

    [Fact]
    public async Task EvaluateAsync_NoDecisionWhilePending_EndsThePendingEpisode()
    {
        // "for 5m" means true at every evaluation: a reading under the minimum sample ends the pending alert, and the
        // next true reading starts a new episode rather than firing on the old start.
        await using var world = await AlertsWorld.CreateAsync();
        await world.Rules.CreateAsync(AlertsWorld.Latency("p99 gap", "m1", @for: "5m", minSample: 20), "test");
        world.Metrics.Set("m1", AlertMetricKind.LatencyP99, 80, sample: 100);
        await world.Evaluator.EvaluateAsync(force: true);
        world.Advance(TimeSpan.FromMinutes(1));
        world.Metrics.Set("m1", AlertMetricKind.LatencyP99, 80, sample: 5);
        await world.Evaluator.EvaluateAsync(force: true);
        world.Advance(TimeSpan.FromMinutes(5));
        world.Metrics.Set("m1", AlertMetricKind.LatencyP99, 80, sample: 100);
        await world.Evaluator.EvaluateAsync(force: true);

        var rows = await RowsAsync(world);
        Assert.Equal([AlertState.Resolved, AlertState.Pending], rows.Select(r => r.State));
        Assert.Null(rows[0].FiredAt);
        Assert.Equal(world.Now, rows[1].ActiveAt);
    }

    [Fact]
    public async Task EvaluateAsync_NotDueUntilTheIntervalPassed_ForceEvaluatesAnyway()
    {
        await using var world = await AlertsWorld.CreateAsync();
        await world.Rules.CreateAsync(AlertsWorld.Latency("p99", "m1") with { EvaluationInterval = "2m" }, "test");
        world.Metrics.Set("m1", AlertMetricKind.LatencyP99, 10);

        var first = await world.Evaluator.EvaluateAsync(false);
        world.Advance(TimeSpan.FromSeconds(119));
        var early = await world.Evaluator.EvaluateAsync(false);
        var forced = await world.Evaluator.EvaluateAsync(true);
        world.Advance(TimeSpan.FromMinutes(1)); // 60 s after the forced run: the interval counts from it
        var afterForced = await world.Evaluator.EvaluateAsync(false);
        world.Advance(TimeSpan.FromMinutes(1));
        var due = await world.Evaluator.EvaluateAsync(false);

        Assert.Equal([1, 0, 1, 0, 1], new[] { first, early, forced, afterForced, due }.Select(s => s.Evaluated));
        Assert.Empty(await RowsAsync(world)); // 10 ms is under 50: nothing raised
    }

    [Fact]
    public async Task EvaluateAsync_KeepFiringThenResolve_ThenANewEpisodeIsANewAlert()
    {
        await using var world = await AlertsWorld.CreateAsync();
        await world.Rules.CreateAsync(AlertsWorld.Latency("p99", "m1", keep: "2m"), "test");
        var t0 = world.Now;

        var states = new List<string>();
        var since = new List<DateTime?>();
        foreach (var value in new double[] { 80, 20, 20, 20, 20, 90 })
        {
            world.Metrics.Set("m1", AlertMetricKind.LatencyP99, value);
            await world.Evaluator.EvaluateAsync(false);
            states.Add(string.Join(",", (await RowsAsync(world)).Select(r => r.State)));
            since.Add((await world.QueryAsync<DateTime?>("SELECT keep_firing_since FROM alerts ORDER BY active_at LIMIT 1")).Single());
            world.Advance(TimeSpan.FromMinutes(1));
        }

        // 0: fires; 1: first false reading, the 2m keep-firing starts → held; 2: 1 min after it → held; 3: 2 min → resolved;
        // 4: stays resolved; 5: a new episode. (Counted from the last true reading it would have resolved at 2.)
        Assert.Equal(["firing", "firing", "firing", "resolved", "resolved", "resolved,firing"], states);
        Assert.Equal([null, t0.AddMinutes(1), t0.AddMinutes(1), t0.AddMinutes(1), t0.AddMinutes(1), t0.AddMinutes(1)], since);
        var rows = await RowsAsync(world);
        // The resolved alert shows the reading that cleared it (as a resolved notification should), the last true one when it fired.
        Assert.Equal((t0, t0.AddMinutes(3), t0, 20.0), (rows[0].FiredAt!.Value, rows[0].ResolvedAt!.Value, rows[0].LastTrueAt, rows[0].Value!.Value));
        Assert.Equal((t0.AddMinutes(5), (DateTime?)null), (rows[1].ActiveAt, rows[1].ResolvedAt));
        Assert.NotEqual(rows[0].Id, rows[1].Id);
    }

    [Fact]
    public async Task EvaluateAsync_SampleUnderMinimumOrNoValue_UnknownKeepsFiringAndIsRecorded()
    {
        await using var world = await AlertsWorld.CreateAsync();
        await world.Rules.CreateAsync(AlertsWorld.Latency("p99", "m1", minSample: 20), "test");
        world.Metrics.Set("m1", AlertMetricKind.LatencyP99, 80, sample: 20);
        await world.Evaluator.EvaluateAsync(false);

        world.Advance(TimeSpan.FromMinutes(1));
        world.Metrics.Set("m1", AlertMetricKind.LatencyP99, 5, sample: 19);
        var small = await world.Evaluator.EvaluateAsync(false);
        var smallEvaluation = (await world.QueryAsync<(string, double?, long?, string)>("SELECT outcome, value, sample, message FROM alert_evaluations")).Single();
        world.Advance(TimeSpan.FromMinutes(1));
        world.Metrics.Set("m1", AlertMetricKind.LatencyP99, null, sample: 0);
        await world.Evaluator.EvaluateAsync(false);
        var noneEvaluation = (await world.QueryAsync<(string, string)>("SELECT outcome, message FROM alert_evaluations")).Single();

        var alert = (await RowsAsync(world)).Single();
        Assert.Equal(0, small.Changed);
        Assert.Equal(("firing", 80.0), (alert.State, alert.Value!.Value)); // the last judged reading stays
        Assert.Equal(("unknown", 5.0, 19L), (smallEvaluation.Item1, smallEvaluation.Item2!.Value, smallEvaluation.Item3!.Value));
        Assert.Contains("minimum sample of 20", smallEvaluation.Item4);
        Assert.Equal("unknown", noneEvaluation.Item1);
        Assert.Contains("No value", noneEvaluation.Item2);
    }

    [Fact]
    public async Task EvaluateAsync_OneMetricFails_RecordedAsErrorAndTheOtherRulesStillEvaluate()
    {
        await using var world = await AlertsWorld.CreateAsync();
        var broken = await world.Rules.CreateAsync(new AlertRuleSpec("volume", "m1", new AlertMetricSpec(AlertMetricKind.Volume), new AlertCondition(AlertConditionKind.Below, 10)), "test");
        var working = await world.Rules.CreateAsync(AlertsWorld.Latency("p99", "m1"), "test");
        world.Metrics.Failing[AlertMetricKind.Volume] = "relation \"prediction_counts\" does not exist";
        world.Metrics.Set("m1", AlertMetricKind.LatencyP99, 80);

        var summary = await world.Evaluator.EvaluateAsync(false);

        var evaluations = await world.QueryAsync<(Guid, string, string?)>("SELECT rule_id, outcome, message FROM alert_evaluations ORDER BY outcome");
        Assert.Equal((2, 1), (summary.Evaluated, summary.Changed));
        Assert.Equal([(broken.Id, "error", "relation \"prediction_counts\" does not exist"), (working.Id, "true", "80 against > 50 over 5m.")], evaluations);
        Assert.Equal(working.Id, (await world.Alerts.ListAsync(new AlertFilter())).Single().RuleId);
    }

    [Fact]
    public async Task EvaluateAsync_RuleForEveryModel_OneAlertEachAndResolvedWhenNoLongerCovered()
    {
        await using var world = await AlertsWorld.CreateAsync();
        var rule = await world.Rules.CreateAsync(AlertsWorld.Latency("p99 any", null), "test");
        world.Metrics.Models = ["a", "b"];
        world.Metrics.Set("a", AlertMetricKind.LatencyP99, 70);
        world.Metrics.Set("b", AlertMetricKind.LatencyP99, 90);
        await world.Evaluator.EvaluateAsync(false);
        var both = await world.Alerts.ListAsync(new AlertFilter(State: AlertState.Firing));

        world.Metrics.Models = ["a"]; // b left production
        world.Advance(TimeSpan.FromMinutes(1));
        var summary = await world.Evaluator.EvaluateAsync(false);

        Assert.Equal(["a", "b"], both.Select(a => a.Model).Order());
        Assert.Equal([AlertLabels.Fingerprint(rule.Id, "a"), AlertLabels.Fingerprint(rule.Id, "b")], both.OrderBy(a => a.Model).Select(a => a.Fingerprint));
        Assert.Equal((1, 1), (summary.Evaluated, summary.Changed));
        Assert.Equal(["a"], (await world.Alerts.ListAsync(new AlertFilter(State: AlertState.Firing))).Select(a => a.Model));
        Assert.Equal(["b"], (await world.Alerts.ListAsync(new AlertFilter(State: AlertState.Resolved))).Select(a => a.Model));
    }

    [Fact]
    public async Task EvaluateAsync_ErrorRateRuleOfOneModel_ReadsAndAlertsForThatModelNotTheInstallation()
    {
        await using var world = await AlertsWorld.CreateAsync();
        await world.Rules.CreateAsync(new AlertRuleSpec("errors m1", "m1", new AlertMetricSpec(AlertMetricKind.ErrorRate), new AlertCondition(AlertConditionKind.Above, 0.05), Window: "5m"), "test");
        await world.Rules.CreateAsync(new AlertRuleSpec("errors all", null, new AlertMetricSpec(AlertMetricKind.ErrorRate), new AlertCondition(AlertConditionKind.Above, 0.05), Window: "5m"), "test");
        // m1 fails a fifth of its requests; the installation as a whole 2 %.
        world.Metrics.Set("m1", AlertMetricKind.ErrorRate, 0.2);
        world.Metrics.Set(AlertLabels.AllModels, AlertMetricKind.ErrorRate, 0.02);

        await world.Evaluator.EvaluateAsync(force: true);

        Assert.Equal(["*", "m1"], world.Metrics.Calls.Select(c => c.Model).Order(StringComparer.Ordinal));
        var alert = Assert.Single(await world.Alerts.ListAsync(new AlertFilter()));
        Assert.Equal(("errors m1", "m1", AlertState.Firing, 0.2), (alert.Rule, alert.Model, alert.State, alert.Value!.Value));
        Assert.Equal("/models/m1/monitoring", new Uri(alert.Annotations["link"]).AbsolutePath);
    }

    [Fact]
    public async Task EvaluateAsync_OutsideBand_ReadsReferenceWindowsBeforeTheEvaluatedOne()
    {
        await using var world = await AlertsWorld.CreateAsync();
        await world.Rules.CreateAsync(new AlertRuleSpec("volume band", "m1", new AlertMetricSpec(AlertMetricKind.Volume),
            new AlertCondition(AlertConditionKind.OutsideBand, ReferenceWindows: 3), Window: "1h"), "test");
        var now = world.Now;
        // Reference windows ending now − 3h, − 2h, − 1h read 10, 12, 14 → band [6, 18]; now reads 19.
        var script = new Dictionary<DateTime, double> { [now.AddHours(-3)] = 10, [now.AddHours(-2)] = 12, [now.AddHours(-1)] = 14, [now] = 19 };
        world.Metrics.Set("m1", AlertMetricKind.Volume, t => new MetricPoint(t, script[t], 100));

        await world.Evaluator.EvaluateAsync(false);

        var call = world.Metrics.Calls.Single();
        Assert.Equal([now.AddHours(-3), now.AddHours(-2), now.AddHours(-1), now], call.Times);
        Assert.Equal(TimeSpan.FromHours(1), call.Window);
        var alert = (await world.Alerts.ListAsync(new AlertFilter())).Single();
        Assert.Equal((AlertState.Firing, "outside [6, 18]"), (alert.State, alert.Annotations["threshold"]));
    }

    [Fact]
    public async Task EvaluateAsync_DisabledOrDeletedRule_ItsOpenAlertsResolved()
    {
        await using var world = await AlertsWorld.CreateAsync();
        var kept = await world.Rules.CreateAsync(AlertsWorld.Latency("kept", "m1"), "test");
        var disabled = await world.Rules.CreateAsync(AlertsWorld.Latency("disabled", "m1"), "test");
        var deleted = await world.Rules.CreateAsync(AlertsWorld.Latency("deleted", "m1"), "test");
        world.Metrics.Set("m1", AlertMetricKind.LatencyP99, 80);
        await world.Evaluator.EvaluateAsync(false);
        // As an operator editing the table by hand (or a store from before the rule store resolved them) would leave them: open alerts of rules that are off.
        await world.ScalarAsync<int>("UPDATE alert_rules SET enabled = false WHERE id = @id", new { id = disabled.Id });
        await world.ScalarAsync<int>("UPDATE alert_rules SET deleted_at = now() WHERE id = @id", new { id = deleted.Id });
        world.Advance(TimeSpan.FromMinutes(1));

        var summary = await world.Evaluator.EvaluateAsync(false);

        var open = await world.Alerts.ListAsync(new AlertFilter(State: AlertState.Firing));
        Assert.Equal([kept.Id], open.Select(a => a.RuleId));
        Assert.Equal(2, summary.Changed);
        Assert.All(await world.Alerts.ListAsync(new AlertFilter(State: AlertState.Resolved)), a => Assert.Equal(world.Now, a.ResolvedAt));
    }

    [Fact]
    public async Task EvaluateAsync_TwoInstancesAtOnce_OneEvaluatesTheOtherSkips_OneAlert()
    {
        await using var world = await AlertsWorld.CreateAsync();
        await world.Rules.CreateAsync(AlertsWorld.Latency("p99", "m1"), "test");
        world.Metrics.Set("m1", AlertMetricKind.LatencyP99, 80);
        var held = new ScriptedMetricSource { Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) };
        held.Set("m1", AlertMetricKind.LatencyP99, 80);
        await using var instanceA = NpgsqlDataSource.Create(world.ConnectionString);
        await using var instanceB = NpgsqlDataSource.Create(world.ConnectionString);
        var a = world.NewEvaluator(instanceA, held);
        var b = world.NewEvaluator(instanceB, world.Metrics);

        var running = a.EvaluateAsync(force: true);
        await held.Entered.Task.WaitAsync(TimeSpan.FromSeconds(30)); // A holds the lock, in the middle of reading
        var skipped = await b.EvaluateAsync(force: true);
        held.Gate.SetResult();
        var done = await running;

        Assert.Equal(new AlertEvaluationSummary(0, 0, Skipped: true), skipped);
        Assert.Equal(new AlertEvaluationSummary(1, 1, Skipped: false), done);
        Assert.Empty(world.Metrics.Calls); // B read nothing
        Assert.Single(await RowsAsync(world));

        // Free-running too: whichever order they get, one open alert per fingerprint.
        world.Advance(TimeSpan.FromMinutes(1));
        held.Gate = null;
        var results = await Task.WhenAll(a.EvaluateAsync(true), b.EvaluateAsync(true), a.EvaluateAsync(true), b.EvaluateAsync(true));
        Assert.Contains(results, r => !r.Skipped);
        Assert.Single(await RowsAsync(world));
        Assert.Equal(1L, await world.ScalarAsync<long>("SELECT count(*) FROM alerts WHERE state IN ('pending', 'firing')"));
        // The lock was let go: a later run evaluates.
        Assert.False((await b.EvaluateAsync(true)).Skipped);
    }

    [Fact]
    public async Task EvaluateAsync_FiftyAlertsFireInOneEvaluation_AnotherInstanceReceivesAllFifty()
    {
        await using var world = await AlertsWorld.CreateAsync();
        // Instance A evaluates and publishes through its relay; instance B only listens on the same database.
        var relayA = new PostgresEventRelay(world.DataSource);
        var hubA = new EventHub(NullLogger<EventHub>.Instance, relayA);
        var evaluator = new AlertEvaluator(world.DataSource, world.Metrics, hubA, world.Time, Microsoft.Extensions.Options.Options.Create(world.Options), NullLogger<AlertEvaluator>.Instance);
        await using var b = new ServiceCollection()
            .AddLogging()
            .AddSingleton(world.DataSource)
            .AddSingleton<PostgresEventRelay>()
            .AddSingleton<IEventRelay>(sp => sp.GetRequiredService<PostgresEventRelay>())
            .AddSingleton<EventHub>()
            .BuildServiceProvider();
        var received = new ConcurrentQueue<AlertNotice>();
        using var subscription = b.GetRequiredService<EventHub>().Subscribe<AlertsChanged>(e => { foreach (var n in e.Fired) received.Enqueue(n); });
        using var listener = new PostgresEventListener(world.DataSource, b, b.GetRequiredService<PostgresEventRelay>(), NullLogger<PostgresEventListener>.Instance);
        await listener.StartAsync(CancellationToken.None);
        try
        {
            await listener.Listening.WaitAsync(TimeSpan.FromSeconds(10));
            // A rule on every model with a longish name (and a · the JSON escapes): 50 notices of some 500 bytes each once relayed.
            await world.Rules.CreateAsync(AlertsWorld.Latency("Scoring p99 over 50 ms · every production model of the card portfolio", null), "test");
            world.Metrics.Models = [.. Enumerable.Range(1, 50).Select(i => $"card-fraud-gradient-boosting-portfolio-{i:00}")];
            foreach (var model in world.Metrics.Models) world.Metrics.Set(model, AlertMetricKind.LatencyP99, 73.5);
            var atA = new List<AlertNotice>();
            using var local = hubA.Subscribe<AlertsChanged>(e => atA.AddRange(e.Fired));

            await evaluator.EvaluateAsync(force: true);

            var firing = await world.Alerts.ListAsync(new AlertFilter(State: AlertState.Firing));
            Assert.Equal(50, firing.Count);
            Assert.Equal(firing.Select(a => a.Id).Order(), atA.Select(n => n.Id).Order());
            // One event of 50 notices is far over the relay's limit: it was published in parts that each fit.
            Assert.True(PostgresEventRelay.PayloadBytes("alerts.changed", JsonSerializer.Serialize(new AlertsChanged(atA), EventHub.JsonOptions)) > PostgresEventRelay.MaxPayloadBytes);
            await Wait.UntilAsync(() => Task.FromResult(received.Count >= 50), 10, "all 50 notices at the other instance");
            await Task.Delay(300); // nothing more (no duplicates) arrives
            Assert.Equal(atA.OrderBy(n => n.Id), received.OrderBy(n => n.Id));
        }
        finally
        {
            await listener.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task EvaluateAsync_WithoutPublicUrl_RelativeLinkAndDefaultDescription()
    {
        await using var world = await AlertsWorld.CreateAsync();
        world.Options.PublicUrl = null;
        await world.Rules.CreateAsync(new AlertRuleSpec("psi", "m-2", new AlertMetricSpec(AlertMetricKind.Psi, Column: "amount"),
            new AlertCondition(AlertConditionKind.Above, 0.2), Window: "1d"), "test");
        world.Metrics.Set("m-2", AlertMetricKind.Psi, 0.31234);

        await world.Evaluator.EvaluateAsync(false);

        var annotations = JsonSerializer.Deserialize<Dictionary<string, string>>((await RowsAsync(world)).Single().Annotations)!;
        Assert.Equal("/models/m-2/monitoring", annotations["link"]);
        Assert.Equal("psi: PSI of a column amount of m-2 is 0.3123 (threshold > 0.2). /models/m-2/monitoring", annotations["description"]);
    }

    [Fact]
    public async Task EvaluationService_MetricsWritten_EvaluatesAtOnceWithForce_NotAtTheNextTick()
    {
        await using var world = await AlertsWorld.CreateAsync();
        await world.Rules.CreateAsync(AlertsWorld.Latency("p99", "m1") with { EvaluationInterval = "1h" }, "test");
        world.Metrics.Set("m1", AlertMetricKind.LatencyP99, 10);
        await world.Evaluator.EvaluateAsync(false); // evaluated now: not due again for an hour
        var service = new AlertEvaluationService(world.Evaluator, world.Hub, world.Time, Microsoft.Extensions.Options.Options.Create(world.Options),
            new StartedLifetime(), NullLogger<AlertEvaluationService>.Instance);
        await service.StartAsync(CancellationToken.None);
        try
        {
            world.Metrics.Set("m1", AlertMetricKind.LatencyP99, 80);
            await Task.Delay(300); // the first tick (nothing due) has come and gone; the fake clock does not move
            Assert.Empty(await world.Alerts.ListAsync(new AlertFilter()));

            await world.Hub.PublishAsync(new MonitoringComputed("m1", "1d", world.Now));

            await Wait.UntilAsync(async () => (await world.Alerts.ListAsync(new AlertFilter(State: AlertState.Firing))).Count == 1, 10, "the alert after the metrics were written");
        }
        finally
        {
            await service.StopAsync(CancellationToken.None);
        }
    }

    private sealed class StartedLifetime : IHostApplicationLifetime
    {
        public CancellationToken ApplicationStarted => new(canceled: true);

        public CancellationToken ApplicationStopping => CancellationToken.None;

        public CancellationToken ApplicationStopped => CancellationToken.None;

        public void StopApplication()
        {
        }
    }
}
