using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Dapper;
using FraudWorkbench.Core.Alerts;
using FraudWorkbench.Core.Jobs;
using FraudWorkbench.Core.Monitoring;
using FraudWorkbench.Core.Performance;
using FraudWorkbench.Core.Registry;
using FraudWorkbench.Core.Scoring;
using FraudWorkbench.Tests.Performance;
using FraudWorkbench.Tests.Scoring;
using Npgsql;

namespace FraudWorkbench.Tests.Alerts;

/// <summary>
/// Each metric read from data written through the real write paths (the prediction log with its monitoring and performance
/// sinks, feedback, the drift history, scoring requests), checked against numbers worked out by hand from what was seeded.
/// </summary>
[Trait("Category", "Database")]
public sealed class AlertMetricReaderTests(ScoringFixture fixture) : IClassFixture<ScoringFixture>
{
    private static readonly TimeSpan Hour = TimeSpan.FromHours(1);
    private static readonly TimeSpan Day = TimeSpan.FromDays(1);

    /// <summary>A clock hour five hours back: the traffic tests' hour H.</summary>
    private static readonly DateTime H = Floor(DateTime.UtcNow) - TimeSpan.FromHours(5);

    private static DateTime Floor(DateTime t) => new(t.Ticks - t.Ticks % TimeSpan.TicksPerHour, DateTimeKind.Utc);

    private AlertMetricReader Reader => fixture.App.Get<AlertMetricReader>();

    private sealed record Seed(DateTime At, double Probability, bool Decision, float LatencyMs, string? DeviceType = "keep", string? Merchant = null, string? Gender = null);

    /// <summary>Logs predictions of sample transactions at the given times, as the scoring service logs them (monitoring and performance counts included).</summary>
    private async Task<List<Guid>> LogAsync(string model, IReadOnlyList<Seed> seeds)
    {
        var serving = await fixture.App.Get<ModelServer>().ResolveAsync(model, null);
        var log = fixture.App.Get<PredictionLog>();
        var device = fixture.Schema.IndexOf("device_type");
        var merchant = fixture.Schema.IndexOf("merchant_category");
        var ids = new List<Guid>();
        Assert.True(log.TryReserve(seeds.Count));
        for (var i = 0; i < seeds.Count; i++)
        {
            var s = seeds[i];
            var transaction = fixture.Transaction(i % fixture.Rows.Count);
            var issues = new List<InputIssue>();
            var parsed = serving.Contract.Parse(JsonSerializer.SerializeToElement(transaction), "", issues) ?? throw new InvalidOperationException(string.Join("; ", issues));
            if (s.DeviceType != "keep")
            {
                transaction["device_type"] = s.DeviceType;
                parsed[device] = s.DeviceType;
            }

            if (s.Gender is not null)
            {
                transaction["customer_gender"] = s.Gender;
                parsed[fixture.Schema.IndexOf("customer_gender")] = s.Gender;
            }

            if (s.Merchant is not null)
            {
                transaction["merchant_category"] = s.Merchant;
                parsed[merchant] = s.Merchant;
            }

            var id = Guid.CreateVersion7(s.At);
            ids.Add(id);
            log.Write(new PredictionRecord(id, s.At, serving.VersionId, "test", JsonSerializer.Serialize(transaction), [], s.Probability, s.Decision, s.LatencyMs, Row: parsed));
        }

        await log.FlushAsync();
        return ids;
    }

    private async Task<IReadOnlyList<MetricPoint>> ReadAsync(string model, string kind, TimeSpan window, params DateTime[] times) =>
        await Reader.SeriesAsync(model, new AlertMetricSpec(kind), window, times, default);

    private static void Equal(double?[] expected, IReadOnlyList<MetricPoint> actual, int precision = 12)
    {
        Assert.Equal(expected.Length, actual.Count);
        for (var i = 0; i < expected.Length; i++)
        {
            if (expected[i] is { } e) Assert.True(actual[i].Value is { } a && Math.Abs(a - e) < Math.Pow(10, -precision), $"point {i}: expected {e}, read {actual[i].Value}");
            else Assert.Null(actual[i].Value);
        }
    }

    /// <summary>
    /// Hour H: 200 predictions from H+5m every 10 s, probabilities (i+1)/400, the first 30 flagged, latencies i+1 ms.
    /// Hour H+1: nothing. Hour H+2: 50 predictions, probability 0.5, 10 flagged, 7.5 ms each.
    /// </summary>
    private async Task SeedTrafficAsync(string model)
    {
        await fixture.RegisterAndPromoteAsync(model, fixture.StrongRun);
        var seeds = Enumerable.Range(0, 200).Select(i => new Seed(H.AddMinutes(5).AddSeconds(10 * i), (i + 1) / 400.0, i < 30, i + 1)).ToList();
        seeds.AddRange(Enumerable.Range(0, 50).Select(i => new Seed(H.AddHours(2).AddMinutes(1).AddSeconds(30 * i), 0.5, i < 10, 7.5f)));
        await LogAsync(model, seeds);
    }

    [Fact]
    public async Task SeriesAsync_VolumeFlagRateMeanScoreLatency_HandComputedFromTheBucketsAndTheLog()
    {
        const string model = "alert-traffic";
        await SeedTrafficAsync(model);
        DateTime[] hours = [H.AddHours(1), H.AddHours(2), H.AddHours(3)];

        // Whole aligned hours: from the hour buckets.
        var volume = await ReadAsync(model, AlertMetricKind.Volume, Hour, hours);
        Equal([200, 0, 50], volume);
        Assert.Equal([200L, 0, 50], volume.Select(p => p.Sample));
        Assert.Equal(hours, volume.Select(p => p.At));
        Equal([0.15, null, 0.2], await ReadAsync(model, AlertMetricKind.FlagRate, Hour, hours));
        // Σ (i+1)/400 over i < 200 = 20,100 / 400 = 50.25, over 200 predictions.
        Equal([0.25125, null, 0.5], await ReadAsync(model, AlertMetricKind.MeanScore, Hour, hours));

        // The same hours a second late are read from the log and agree.
        DateTime[] late = [.. hours.Select(t => t.AddSeconds(1))];
        Equal([200, 0, 50], await ReadAsync(model, AlertMetricKind.Volume, Hour, late));
        Equal([0.15, null, 0.2], await ReadAsync(model, AlertMetricKind.FlagRate, Hour, late));
        Equal([0.25125, null, 0.5], await ReadAsync(model, AlertMetricKind.MeanScore, Hour, late));

        // 30 minutes to H+20m: the first 90 predictions (i·10 s < 15 min), 30 of them flagged, mean Σ(i+1)/400 / 90 = 91/800.
        Equal([90], await ReadAsync(model, AlertMetricKind.Volume, TimeSpan.FromMinutes(30), H.AddMinutes(20)));
        Equal([1.0 / 3], await ReadAsync(model, AlertMetricKind.FlagRate, TimeSpan.FromMinutes(30), H.AddMinutes(20)));
        Equal([91.0 / 800], await ReadAsync(model, AlertMetricKind.MeanScore, TimeSpan.FromMinutes(30), H.AddMinutes(20)));

        // p99 (percentile_disc): the smallest latency with at least 99 % at or below it: the 198th of 1…200 ms (198 / 200 ≥ 0.99),
        // and over [H − 40m, H + 20m), which holds the first 90, the 90th (89 / 90 < 0.99).
        var latency = await ReadAsync(model, AlertMetricKind.LatencyP99, Hour, [.. hours, H.AddMinutes(20)]);
        Equal([198, null, 7.5, 90], latency);
        Assert.Equal([200L, 0, 50, 90], latency.Select(p => p.Sample));
    }

    [Fact]
    public async Task SeriesAsync_TwoThousandUnorderedTimes_OneCallSameOrderSameNumbersAsOneByOne()
    {
        const string model = "alert-batch";
        await SeedTrafficAsync(model);
        // Every minute over 2,000 minutes ending at H+3h, newest first, with repeats: the backtest's worst case and then some.
        var times = Enumerable.Range(0, 2_000).Select(m => H.AddHours(3).AddMinutes(-m)).Concat([H.AddHours(1), H.AddHours(1)]).ToArray();
        var started = System.Diagnostics.Stopwatch.StartNew();
        var volume = await ReadAsync(model, AlertMetricKind.Volume, TimeSpan.FromMinutes(30), times);
        var latency = await ReadAsync(model, AlertMetricKind.LatencyP99, TimeSpan.FromMinutes(30), times);
        started.Stop();

        Assert.Equal(times, volume.Select(p => p.At));
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(20), $"{started.Elapsed}");
        foreach (var i in new[] { 0, 37, 60, 135, 150, 1_999, 2_000 })
        {
            Assert.Equal((await ReadAsync(model, AlertMetricKind.Volume, TimeSpan.FromMinutes(30), times[i])).Single(), volume[i]);
            Assert.Equal((await ReadAsync(model, AlertMetricKind.LatencyP99, TimeSpan.FromMinutes(30), times[i])).Single(), latency[i]);
        }

        // [H+30m, H+1h) holds i·10 s ≥ 25 min: the last 50; [H+5m, H+35m) i·10 s < 30 min: 180; [H+2h, H+2h30m) the hour-2 traffic: 50.
        Equal([50, 180, 50], await ReadAsync(model, AlertMetricKind.Volume, TimeSpan.FromMinutes(30), H.AddHours(1), H.AddMinutes(35), H.AddHours(2).AddMinutes(30)));
    }

    [Fact]
    public async Task SeriesAsync_NoData_OneWhenTrafficStoppedZeroWhileItFlowsUndecidedWhenNoneExpected()
    {
        const string model = "alert-nodata";
        await SeedTrafficAsync(model);

        // [H+1h, H+2h) is empty after 200 predictions in the week before it; [H, H+1h) has them; [H−1h, H) had no earlier traffic.
        var noData = await ReadAsync(model, AlertMetricKind.NoData, Hour, H.AddHours(2), H.AddHours(1), H, H.AddHours(2).AddMinutes(30));
        Equal([1, 0, null, 0], noData);
        Assert.Equal([200L, 0, 0, 200], noData.Select(p => p.Sample));

        // A model without a production version expects nothing.
        await fixture.RegisterAsync("alert-nodata-candidate", fixture.StrongRun, ScoringFixture.LenientGate);
        Equal([null], await ReadAsync("alert-nodata-candidate", AlertMetricKind.NoData, Hour, H.AddHours(2)));
    }

    [Fact]
    public async Task SeriesAsync_LabelFreshness_DaysSinceTheLastLabelElseSinceTheFirstPrediction()
    {
        const string model = "alert-fresh";
        await fixture.RegisterAndPromoteAsync(model, fixture.StrongRun);
        var first = Floor(DateTime.UtcNow) - TimeSpan.FromDays(10);
        var ids = await LogAsync(model, [new(first, 0.1, false, 1), new(first.AddMinutes(1), 0.9, true, 1), new(first.AddMinutes(2), 0.2, false, 1)]);

        Equal([10], await ReadAsync(model, AlertMetricKind.LabelFreshness, Day, first.AddDays(10)));

        Assert.Equal(1, (await fixture.App.Get<PredictionStore>().RecordFeedbackAsync([new FeedbackItem(ids[1], true)], "test")).Changed);
        await LabelScenario.SetReceivedAsync(fixture, ids[1], first.AddDays(7));

        var freshness = await ReadAsync(model, AlertMetricKind.LabelFreshness, Day, first.AddDays(10), first.AddDays(7).AddHours(12), first.AddDays(5), first.AddDays(1), first.AddDays(-1));
        Equal([3, 0.5, 5, 1, null], freshness);
        Assert.Equal([0L, 0, 0, 3, 0], freshness.Select(p => p.Sample));
    }

    [Fact]
    public async Task SeriesAsync_JobFailures_FailedJobsFinishedInTheWindowOverAllFinished()
    {
        // Jobs long before anything the fixture ran: one failed, one succeeded, one cancelled inside the hour, a failure after it, one still running.
        var at = new DateTime(2025, 6, 1, 12, 0, 0, DateTimeKind.Utc);
        await using (var connection = await fixture.App.Get<NpgsqlDataSource>().OpenConnectionAsync())
        {
            const string sql = """
                INSERT INTO jobs (id, kind, payload, status, created_by, created_at, started_at, finished_at)
                SELECT gen_random_uuid(), 'test', '{}', s, 'test', coalesce(f, @at) - interval '1 minute', coalesce(f, @at) - interval '1 minute', f
                FROM unnest(@statuses, @finished) AS t(s, f)
                """;
            await connection.ExecuteAsync(sql, new
            {
                at,
                statuses = new[] { JobStatus.Failed, JobStatus.Succeeded, JobStatus.Cancelled, JobStatus.Failed, JobStatus.Running },
                finished = new DateTime?[] { at.AddMinutes(-50), at.AddMinutes(-30), at.AddMinutes(-1), at.AddMinutes(5), null },
            });
        }

        var failures = await Reader.SeriesAsync(AlertLabels.AllModels, new AlertMetricSpec(AlertMetricKind.JobFailures), Hour, [at, at.AddHours(1), at.AddHours(3)], default);
        Equal([1, 1, 0], failures);
        Assert.Equal([3L, 1, 0], failures.Select(p => p.Sample));
    }

    [Fact]
    public async Task SeriesAsync_AuditEvents_EntriesOfTheActionPerWindow_InstallationOrNamingTheModel()
    {
        // Entries long before anything the fixture wrote, around T; the 1 h windows ending at T, T+1h and T+3h.
        var at = new DateTime(2025, 5, 1, 12, 0, 0, DateTimeKind.Utc);
        await using (var connection = await fixture.App.Get<NpgsqlDataSource>().OpenConnectionAsync())
        {
            const string sql = """
                INSERT INTO audit_log (at, actor, action, object_type, object_id, summary)
                SELECT @at + m * interval '1 minute', 'test', a, o, i, s::jsonb
                FROM unnest(@minutes, @actions, @objects, @ids, @summaries) AS t(m, a, o, i, s)
                """;
            await connection.ExecuteAsync(sql, new
            {
                at,
                minutes = new[] { -60, -50, -40, -30, -20, -15, -10, -5, 0, 30, 61 },
                actions = new[]
                {
                    "retraining.fail", "retraining.fail", "user.create", "retraining.fail", "model.monitoring", "job.enqueue", "retraining.start", "retraining.fail",
                    "retraining.fail", "retraining.fail", "retraining.fail",
                },
                objects = new[]
                {
                    "retraining-workflow", "retraining-workflow", "user", "retraining-workflow", "registered-model", "job", "retraining-workflow", "retraining-workflow",
                    "retraining-workflow", "retraining-workflow", "retraining-workflow",
                },
                ids = new[] { "w1", "w2", "u@example.com", "w3", "audit-a", "j1", "w4", "w5", "w6", "w7", "w8" },
                summaries = new string?[]
                {
                    """{"model": "audit-a", "step": "gate"}""", """{"model": "Audit-A", "step": "train"}""", null, """{"model": "audit-b"}""", """{"before": {}, "after": {}}""",
                    """{"kind": "training"}""", """{"model": "audit-a"}""", "\"not an object\"", """{"model": "audit-a"}""", """{"model": "audit-a"}""", """{"model": "audit-b"}""",
                },
            });
        }

        DateTime[] ends = [at, at.AddHours(1), at.AddHours(3)];
        async Task<IReadOnlyList<MetricPoint>> Audited(string model, string? action) =>
            await Reader.SeriesAsync(model, new AlertMetricSpec(AlertMetricKind.AuditEvents, Metric: action), Hour, ends, default);

        // [T−1h, T): the failures at −60 (the window's first instant counts), −50, −30 and −5 min; every entry but the one at T.
        // [T, T+1h): at 0 and +30 (+61 is after). [T+2h, T+3h): nothing, a count of 0 rather than no value.
        var all = await Audited(AlertLabels.AllModels, "retraining.fail");
        Equal([4, 2, 0], all);
        Assert.Equal([8L, 2, 0], all.Select(p => p.Sample));
        Assert.Equal(ends, all.Select(p => p.At));

        // audit-a: its failures at −60 and −50 (named "Audit-A": case ignored) and at 0 and +30; its entries also the start
        // at −10 and the monitoring settings whose object is the model by name (−20).
        var a = await Audited("audit-a", "retraining.fail");
        Equal([2, 2, 0], a);
        Assert.Equal([4L, 2, 0], a.Select(p => p.Sample));
        var b = await Audited("AUDIT-B", "retraining.fail");
        Equal([1, 0, 0], b);
        Assert.Equal([1L, 0, 0], b.Select(p => p.Sample));

        // Another action over the same entries; an action nobody wrote; a spec without its action reads as no data.
        Equal([1, 0, 0], await Audited(AlertLabels.AllModels, "retraining.start"));
        Equal([1, 0, 0], await Audited("audit-a", "model.monitoring"));
        Equal([0, 0, 0], await Audited(AlertLabels.AllModels, "registry.rollback"));
        var incomplete = await Audited(AlertLabels.AllModels, null);
        Assert.All(incomplete, p => Assert.Equal((null, 0L), (p.Value, p.Sample)));
    }

    [Fact]
    public async Task SeriesAsync_ErrorRateAndRefusals_CountedFromTheScoringRoutes()
    {
        const string model = "alert-http";
        await fixture.RegisterAndPromoteAsync(model, fixture.StrongRun);
        using var client = fixture.Client();
        var before = DateTime.UtcNow;
        for (var i = 0; i < 2; i++)
            Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync("/api/v1/predict", new { model, explain = false, transaction = fixture.Transaction(i) })).StatusCode);
        var bad = fixture.Transaction(3);
        bad["amount"] = "lots";
        Assert.Equal(HttpStatusCode.BadRequest, (await client.PostAsJsonAsync("/api/v1/predict", new { model, transaction = bad })).StatusCode);
        // A 503 as the fault middleware answers one (the middleware test covers the real one).
        var stats = fixture.App.Get<ScoringRequestStats>();
        stats.Count(503);
        // A 500 after the request's model was resolved (the scoring routes name it, as the three requests above).
        stats.Count(500, model);
        Assert.True(await stats.FlushAsync());
        await fixture.App.Get<PredictionLog>().FlushAsync();

        var now = DateTime.UtcNow;
        var rate = await Reader.SeriesAsync(AlertLabels.AllModels, new AlertMetricSpec(AlertMetricKind.ErrorRate), TimeSpan.FromMinutes(10), [now.AddMinutes(1), before.AddMinutes(-15)], default);
        Equal([0.4, null], rate); // 2 errors among 2 scored, 1 refused, 1 unavailable (model unknown) and 1 failed
        Assert.Equal([5L, 0], rate.Select(p => p.Sample));
        // The model's own: the routes counted its 2 scored and 1 refused requests against it, and its 500; not the unattributed 503.
        var modelRate = await Reader.SeriesAsync(model, new AlertMetricSpec(AlertMetricKind.ErrorRate), TimeSpan.FromMinutes(10), [now.AddMinutes(1)], default);
        Equal([0.25], modelRate);
        Assert.Equal([4L], modelRate.Select(p => p.Sample));

        // The refusal is counted against the production version in the hour's bucket: 1 refused of 3 requests that reached the model.
        var refused = await ReadAsync(model, AlertMetricKind.Refused, TimeSpan.FromHours(2), Floor(now).AddHours(1));
        Equal([1], refused);
        Assert.Equal(3, refused[0].Sample);
    }

    [Fact]
    public async Task SeriesAsync_DriftShareAndScore_LatestClosedWindowOfTheBusiestVersion()
    {
        const string model = "alert-drift";
        var v1 = await fixture.RegisterAndPromoteAsync(model, fixture.StrongRun);
        var v2 = await fixture.RegisterAsync(model, fixture.WeakRun, ScoringFixture.LenientGate);
        var at = DateTime.UtcNow;
        DriftResultRow Row(ModelVersion v, DateTime start, string column, double? value, long rows) =>
            new(v.Id, WindowSize.Hour, start, column, "dataset", "share", "share", value, 0.5, value >= 0.5, DriftStatus.Tested, rows, 0, 0, 0, 0, at);
        await fixture.App.Get<MonitoringStore>().SaveResultsAsync(v1.RegisteredModelId,
        [
            Row(v1, H.AddHours(-3), MonitoredColumns.Dataset, 0.2, 100),
            Row(v1, H.AddHours(-2), MonitoredColumns.Dataset, 0.6, 80), Row(v2, H.AddHours(-2), MonitoredColumns.Dataset, 0.1, 20),
            Row(v1, H.AddHours(-2), "amount", 0.07, 80),
        ], default);

        // t = H−1h: the window [H−2h, H−1h) just closed; 20 min later it is still the latest; at H−1h30m the one before;
        // at H+30m the last window ended 1 h 30 min ago, more than a window back: no reading.
        var share = await ReadAsync(model, AlertMetricKind.DriftShare, Hour, H.AddHours(-1), H.AddMinutes(-40), H.AddMinutes(-90), H.AddMinutes(30));
        Equal([0.6, 0.6, 0.2, null], share);
        Assert.Equal([80L, 80, 100, 0], share.Select(p => p.Sample));
        var score = await Reader.SeriesAsync(model, new AlertMetricSpec(AlertMetricKind.DriftScore, Column: "amount"), Hour, [H.AddHours(-1), H.AddMinutes(-90)], default);
        Equal([0.07, null], score);
        // Day rules read the day history, which has none here.
        Equal([null], await ReadAsync(model, AlertMetricKind.DriftShare, Day, H.AddHours(-1)));
    }

    [Fact]
    public async Task SeriesAsync_EstimatedAndRealizedPerformance_FromTheDayRowsWithTheCbpeBand()
    {
        const string model = "alert-perf";
        await fixture.RegisterAndPromoteAsync(model, fixture.StrongRun);
        var performance = fixture.App.Get<PerformanceService>();
        Assert.Empty((await performance.SaveConfigAsync(model, new PerformanceConfig(LabelWindowDays: 1), "test"))!);
        var d1 = DateTime.SpecifyKind(DateTime.UtcNow.Date.AddDays(-5), DateTimeKind.Utc);
        var d2 = d1.AddDays(1);
        var ids = await LogAsync(model,
        [
            new(d1.AddHours(10), 0.9, true, 1), new(d1.AddHours(11), 0.6, true, 1), new(d1.AddHours(12), 0.2, false, 1), new(d1.AddHours(13), 0.1, false, 1),
            new(d2.AddHours(10), 0.8, true, 1), new(d2.AddHours(11), 0.4, false, 1),
        ]);

        // CBPE recall = Σ p over flagged / Σ p: day 1 1.5 / 1.8, day 2 0.8 / 1.2, both 2.3 / 3.0; a window ending at noon reads its closed day.
        var recall = new AlertMetricSpec(AlertMetricKind.Estimated, Metric: PerformanceMetric.Recall);
        var estimated = await Reader.SeriesAsync(model, recall, Day, [d2, d2.AddDays(1), d2.AddHours(12), d1], default);
        Equal([1.5 / 1.8, 0.8 / 1.2, 1.5 / 1.8, null], estimated);
        Assert.Equal([4L, 2, 4, 0], estimated.Select(p => p.Sample));
        Equal([2.3 / 3.0], await Reader.SeriesAsync(model, recall, TimeSpan.FromDays(7), [d2.AddDays(1)], default));
        // Precision = Σ p over flagged / flagged: 1.5 / 2.
        Equal([0.75], await Reader.SeriesAsync(model, recall with { Metric = PerformanceMetric.Precision }, Day, [d2], default));

        // The band is the performance page's reference thresholds for the production version.
        var band = await Reader.BandAsync(model, recall, default);
        var reference = (await performance.ReportAsync(model, DateOnly.FromDateTime(d1), DateOnly.FromDateTime(d2), CohortSize.Day))!.Reference.Single(r => r.Metric == PerformanceMetric.Recall);
        Assert.NotNull(band);
        Assert.NotNull(band.Lower);
        Assert.Equal((reference.Lower, reference.Upper), (band.Lower, band.Upper));
        Assert.Null(await Reader.BandAsync(model, new AlertMetricSpec(AlertMetricKind.Volume), default));

        // Labels on day 1: 0.9 fraud, 0.6 legitimate, 0.2 fraud. With a 1-day label window day 1 is mature from d2 + 1 day
        // on, and a reading then covers it: realized recall 1 of 2 fraud flagged, over 3 labelled predictions. A day later the
        // reading covers day 2, which has no fraud, so no recall; at d2 it covers the day before day 1, which had no traffic.
        await fixture.App.Get<PredictionStore>().RecordFeedbackAsync([new(ids[0], true), new(ids[1], false), new(ids[2], true)], "test");
        var realized = await Reader.SeriesAsync(model, recall with { Kind = AlertMetricKind.Realized }, Day, [d2.AddDays(1), d2.AddDays(2), d2], default);
        Equal([0.5, null, null], realized);
        Assert.Equal([3L, 0, 0], realized.Select(p => p.Sample));
    }

    [Fact]
    public async Task SeriesAsync_RealizedPerformance_TheLatestWholeDaysPastTheLabelWindow_RecentDaysNeverCount()
    {
        const string model = "alert-mature";
        await fixture.RegisterAndPromoteAsync(model, fixture.StrongRun);
        Assert.Empty((await fixture.App.Get<PerformanceService>().SaveConfigAsync(model, new PerformanceConfig(LabelWindowDays: 10), "test"))!);
        var today = DateTime.SpecifyKind(DateTime.UtcNow.Date, DateTimeKind.Utc);
        // A (today − 11) is the latest mature day now (A + 1 + 10 = today); C (today − 13) is mature too; B (today − 3) is not,
        // though every one of its labels is in.
        var (a, c, b) = (today.AddDays(-11), today.AddDays(-13), today.AddDays(-3));
        (DateTime Day, double P, bool Flagged, bool Fraud)[] rows =
        [
            (a, 0.9, true, true), (a, 0.7, true, false), (a, 0.3, false, true), (a, 0.1, false, false),
            (c, 0.8, true, true), (c, 0.6, true, true), (c, 0.2, false, false),
            (b, 0.8, true, true), (b, 0.2, false, true), (b, 0.1, false, true),
        ];
        var ids = await LogAsync(model, [.. rows.Select((r, i) => new Seed(r.Day.AddHours(8).AddMinutes(i), r.P, r.Flagged, 1))]);
        await fixture.App.Get<PredictionStore>().RecordFeedbackAsync(
            [.. rows.Select((r, i) => new FeedbackItem(ids[i], r.Fraud, DateOnly.FromDateTime(r.Day).AddDays(1)))], "test");
        var recall = new AlertMetricSpec(AlertMetricKind.Realized, Metric: PerformanceMetric.Recall);
        var now = DateTime.UtcNow;

        // Recall by hand. A day read now: A, 1 of its 2 frauds flagged over 4 labels. A week or 30 days read now: the days up to
        // A, so A and C: 3 of 4 frauds over 7 labels — not B's 1 of 3 (which would make 4 of 7). Read yesterday, the day is
        // today − 12 (A was not mature yet): no traffic, no value.
        var day = await Reader.SeriesAsync(model, recall, Day, [now, now.AddDays(-1)], default);
        Equal([0.5, null], day);
        Assert.Equal([4L, 0], day.Select(p => p.Sample));
        var week = await Reader.SeriesAsync(model, recall, TimeSpan.FromDays(7), [now], default);
        var month = await Reader.SeriesAsync(model, recall, TimeSpan.FromDays(30), [now], default);
        Equal([0.75], week);
        Equal([0.75], month);
        Assert.Equal((7L, 7L), (week[0].Sample, month[0].Sample));
        // Ten days on B is mature and a day's reading covers it: 1 of 3.
        Equal([1.0 / 3], await Reader.SeriesAsync(model, recall, Day, [b.AddDays(11).AddHours(1)], default));
    }

    [Fact]
    public async Task SeriesAsync_RealizedPerformanceOfOnlyImmatureDays_NoValueSoNoDecision()
    {
        const string model = "alert-immature";
        await fixture.RegisterAndPromoteAsync(model, fixture.StrongRun);
        Assert.Empty((await fixture.App.Get<PerformanceService>().SaveConfigAsync(model, new PerformanceConfig(LabelWindowDays: 10), "test"))!);
        // Traffic three days ago only, fully labelled a day later (the learned arrival curve calls it 100 % in): still
        // inside its 10-day label window, so a realized reading now has nothing to judge.
        var b = DateTime.SpecifyKind(DateTime.UtcNow.Date.AddDays(-3), DateTimeKind.Utc);
        var ids = await LogAsync(model, [new(b.AddHours(9), 0.8, true, 1), new(b.AddHours(10), 0.2, false, 1), new(b.AddHours(11), 0.1, false, 1)]);
        await fixture.App.Get<PredictionStore>().RecordFeedbackAsync([.. ids.Select(id => new FeedbackItem(id, true, DateOnly.FromDateTime(b).AddDays(1)))], "test");
        var recall = new AlertMetricSpec(AlertMetricKind.Realized, Metric: PerformanceMetric.Recall);
        var now = DateTime.UtcNow;

        var readings = await Reader.SeriesAsync(model, recall, TimeSpan.FromDays(7), [now, now.AddMinutes(-1)], default);

        Assert.All(readings, p => Assert.Equal((null, 0L), (p.Value, p.Sample)));
        var decision = AlertConditions.Evaluate(new AlertCondition(AlertConditionKind.Below, 0.5), 0, readings[0], [], null);
        Assert.Equal(AlertOutcome.Unknown, decision.Outcome);
        // The estimate needs no labels: it reads the same week ending now.
        Assert.NotNull((await Reader.SeriesAsync(model, recall with { Kind = AlertMetricKind.Estimated }, TimeSpan.FromDays(7), [now], default))[0].Value);
    }

    [Fact]
    public async Task SeriesAsync_MissingShareUnseenAndPsi_OfAColumnInTheBucketsAndTheLog()
    {
        const string model = "alert-quality";
        var version = await fixture.RegisterAndPromoteAsync(model, fixture.StrongRun);
        var q = H.AddHours(-2);
        // Eleven transactions: device type 6 × mobile, 3 × desktop, 1 missing and a smartwatch (never seen in training).
        string?[] devices = ["mobile", "mobile", "mobile", "mobile", "mobile", "mobile", "desktop", "desktop", "desktop", null, "smartwatch"];
        // The smartwatch's merchant category is new too: device type is logged but not read by the model, the merchant category is.
        await LogAsync(model, [.. devices.Select((d, i) => new Seed(q.AddMinutes(10 + i), 0.1, false, 1, d, d == "smartwatch" ? "spaceflight" : null))]);

        var column = new AlertMetricSpec(AlertMetricKind.MissingShare, Column: "device_type");
        var reference = (await fixture.App.Get<MonitoringReferences>().GetAsync(version.Id))!.Find("device_type")!.Reference;
        Assert.False(reference.CategoriesTruncated);
        // PSI by hand over the 10 present values: the reference's category shares against the window's (an empty bin 1e-4),
        // and the unseen smartwatch as a bin of its own (reference 1e-4, window 1/10).
        var categories = reference.Categories!.ToList();
        var total = (double)reference.CategoryCounts!.Sum();
        double expected = 0;
        for (var c = 0; c < categories.Count; c++)
        {
            var r = reference.CategoryCounts![c] / total;
            var current = devices.Count(d => d == categories[c]) / 10.0;
            if (current == 0) current = 1e-4;
            expected += (r - current) * Math.Log(r / current);
        }

        expected += (1e-4 - 0.1) * Math.Log(1e-4 / 0.1);

        // The hour's buckets; a second late, still the buckets of the last whole hour (not the log); over half an hour, the log.
        foreach (var (t, window) in new[] { (q.AddHours(1), Hour), (q.AddHours(1).AddSeconds(1), Hour), (q.AddMinutes(30), TimeSpan.FromMinutes(30)) })
        {
            var missing = await Reader.SeriesAsync(model, column, window, [t], default);
            Equal([1.0 / 11], missing);
            Assert.Equal(11, missing[0].Sample);
            Equal([1], await Reader.SeriesAsync(model, column with { Kind = AlertMetricKind.Unseen }, window, [t], default));
            var psi = await Reader.SeriesAsync(model, column with { Kind = AlertMetricKind.Psi }, window, [t], default);
            Equal([expected], psi, 9);
            Assert.Equal(10, psi[0].Sample);
        }

        // Without a column, every input column's: the new merchant category, not the device type the model does not read.
        var inputs = await ReadAsync(model, AlertMetricKind.Unseen, Hour, q.AddHours(1));
        Equal([1], inputs);
        Assert.Equal(11, inputs[0].Sample);
    }

    [Fact]
    public async Task SeriesAsync_PsiOfANumericColumn_EqualsTheDriftTablesPsiInTheBucketsAndTheLog()
    {
        const string model = "alert-psi";
        await fixture.RegisterAndPromoteAsync(model, fixture.StrongRun);
        var q = H.AddHours(-3);
        // 300 sample transactions (their real amounts) in one hour.
        await LogAsync(model, [.. Enumerable.Range(0, 300).Select(i => new Seed(q.AddSeconds(10 * i + 5), 0.1, false, 1))]);
        var monitoring = fixture.App.Get<MonitoringService>();
        Assert.Empty((await monitoring.SaveConfigAsync(model, new MonitoringConfig(Columns: new Dictionary<string, ColumnDriftSettings> { ["amount"] = new(DriftMethod.Psi) }), "test"))!);
        var table = (await monitoring.DriftAsync(model, new MonitoringRange(q, q.AddHours(1), WindowSize.Hour)))!.Windows.Single().Column("amount")!;
        Assert.Equal(DriftMethod.Psi, table.Method);
        Assert.True(table.Value > 0, $"{table.Value}");

        var psi = await Reader.SeriesAsync(model, new AlertMetricSpec(AlertMetricKind.Psi, Column: "amount"), Hour, [q.AddHours(1), q.AddHours(1).AddSeconds(1), q], default);
        Equal([table.Value, table.Value, null], psi);
        Assert.Equal([300L, 300, 0], psi.Select(p => p.Sample));
    }

    [Fact]
    public async Task SeriesAsync_FairnessDisparity_DemographicParityOfTheStoredDayAndOfAComputedWeek()
    {
        const string model = "alert-fair";
        await fixture.RegisterAndPromoteAsync(model, fixture.StrongRun);
        var today = DateTime.SpecifyKind(DateTime.UtcNow.Date, DateTimeKind.Utc);
        var day = today.AddDays(-3);
        // 30 women, 10 flagged; 30 men, 15 flagged: selection rates 1/3 and 1/2, ratio 2/3, difference 1/6; the smallest group 30.
        // Fairness decides at the version's threshold from the probability: flagged ones at 0.99, the rest at 0.01.
        var flagged = Enumerable.Range(0, 60).Select(i => i < 30 ? i < 10 : i < 45).ToList();
        await LogAsync(model, [.. flagged.Select((f, i) => new Seed(day.AddHours(8).AddMinutes(i), f ? 0.99 : 0.01, f, 1, Gender: i < 30 ? "F" : "M"))]);
        Assert.True(await fixture.App.Get<Core.Fairness.ProductionFairnessService>().UpdateWindowsAsync(DateOnly.FromDateTime(today.AddDays(-1))) >= 1);

        var ratio = new AlertMetricSpec(AlertMetricKind.Disparity, Disparity: "demographicParity.ratio", Grouping: "customer_gender");
        var daily = await Reader.SeriesAsync(model, ratio, Day, [day.AddDays(1), day], default);
        Equal([2.0 / 3, null], daily);
        Assert.Equal([30L, 0], daily.Select(p => p.Sample));
        Equal([1.0 / 6], await Reader.SeriesAsync(model, ratio with { Disparity = "demographicParity.difference" }, Day, [day.AddDays(1)], default));
        // A week is computed from the log (the stored windows are days): the same rows, the same ratio.
        var weekly = await Reader.SeriesAsync(model, ratio, TimeSpan.FromDays(7), [today], default);
        Equal([2.0 / 3], weekly);
        // Without a grouping, the worst (lowest) ratio over every grouping: never above the gender one.
        var worst = await Reader.SeriesAsync(model, ratio with { Grouping = null }, Day, [day.AddDays(1)], default);
        Assert.True(worst[0].Value <= 2.0 / 3 + 1e-12, $"{worst[0].Value}");
    }

    [Fact]
    public async Task SeriesAsync_UnknownModel_NullReadingsNotAnError()
    {
        var points = await ReadAsync("no-such-model", AlertMetricKind.Volume, Hour, H, H.AddHours(1));
        Assert.Equal([H, H.AddHours(1)], points.Select(p => p.At));
        Assert.All(points, p => Assert.Equal((null, 0L), (p.Value, p.Sample)));
        Assert.Null(await Reader.BandAsync("no-such-model", new AlertMetricSpec(AlertMetricKind.Estimated, Metric: PerformanceMetric.Recall), default));
    }

    [Fact]
    public async Task ModelsAsync_ProductionModelsForModelMetricsStarForGlobalOnes()
    {
        await fixture.RegisterAndPromoteAsync("alert-models", fixture.StrongRun);
        await fixture.RegisterAsync("alert-models-candidate", fixture.StrongRun, ScoringFixture.LenientGate);

        var models = await Reader.ModelsAsync(new AlertMetricSpec(AlertMetricKind.Volume), default);
        Assert.Contains("alert-models", models);
        Assert.DoesNotContain("alert-models-candidate", models);
        Assert.Equal([AlertLabels.AllModels], await Reader.ModelsAsync(new AlertMetricSpec(AlertMetricKind.JobFailures), default));
        Assert.Equal([AlertLabels.AllModels], await Reader.ModelsAsync(new AlertMetricSpec(AlertMetricKind.ErrorRate), default));
        Assert.Equal([AlertLabels.AllModels], await Reader.ModelsAsync(new AlertMetricSpec(AlertMetricKind.AuditEvents, Metric: "retraining.fail"), default));
    }
}
