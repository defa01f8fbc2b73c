using System.Net.Http.Headers;
using System.Net.Http.Json;
using Dapper;
using FraudWorkbench.Core.Db;
using FraudWorkbench.Core.Jobs;
using FraudWorkbench.Core.Registry;
using FraudWorkbench.Core.Scoring;
using FraudWorkbench.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;

namespace FraudWorkbench.Tests.Scoring;

[Trait("Category", "Database")]
public sealed class PredictionLogTests(ScoringFixture fixture) : IClassFixture<ScoringFixture>
{
    [Fact]
    public void TryReserve_BeyondCapacity_RefusesUntilReleased()
    {
        var log = new PredictionLog(NpgsqlDataSource.Create(fixture.App.ConnectionString), Options.Create(new ScoringOptions { LogCapacity = 3 }), NullLogger<PredictionLog>.Instance);

        Assert.True(log.TryReserve(2));
        Assert.False(log.TryReserve(2));
        Assert.True(log.TryReserve(1));
        Assert.False(log.TryReserve(1));
        log.Release(2);
        Assert.True(log.TryReserve(2));
        Assert.Equal(3, log.Pending);
    }

    [Fact]
    public async Task CleanStop_EveryAcceptedPredictionIsWritten()
    {
        await fixture.RegisterAndPromoteAsync("shutdown-test", fixture.StrongRun);
        // A second instance on the same database and artifacts; a large batch size keeps everything queued until the stop.
        var second = new WorkbenchAppFactory(fixture.App.ConnectionString, new Dictionary<string, string?>
        {
            ["FraudWorkbench:DataDirectory"] = fixture.App.DataDirectory,
            ["FraudWorkbench:Scoring:LogBatchSize"] = "100000",
        });
        second.StartServer();
        var ids = new List<Guid>();
        using (var client = second.CreateHttpClient())
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ScoringFixture.BootstrapApiKey);
            var transactions = Enumerable.Range(0, 200).Select(i => fixture.Transaction(2000 + i)).ToList();
            var batch = await client.PostAsJsonAsync("/api/v1/predict/batch", new { model = "shutdown-test", transactions });
            batch.EnsureSuccessStatusCode();
            var body = await batch.Content.ReadFromJsonAsync<FraudWorkbench.Api.BatchPredictionResponse>(FraudWorkbench.Core.Data.DatasetSchema.Json);
            ids.AddRange(body!.Predictions.Select(p => p.PredictionId!.Value));
        }

        await second.DisposeAsync();

        await using var connection = new NpgsqlConnection(fixture.App.ConnectionString);
        Assert.Equal(200, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM predictions WHERE id = ANY(@ids)", new { ids = ids.ToArray() }));
    }

    [Fact]
    public async Task RetentionJob_DeletesOnlyPredictionsOlderThanTheRetention_AndSchedulesDaily()
    {
        var version = await fixture.RegisterAndPromoteAsync("retention-test", fixture.StrongRun);
        await using var connection = new NpgsqlConnection(fixture.App.ConnectionString);
        const string insert = """
            INSERT INTO predictions (id, created_at, model_version_id, actor, input, features, probability, decision, latency_ms)
            VALUES (@id, now() - make_interval(days => @age), @version, 'test', '{}', '{0.5}', 0.1, false, 1)
            """;
        // Day partitions for a prediction past the retention and for monitoring counts before and within theirs (365 days);
        // the other two predictions are in the DEFAULT partition, which retention trims row by row.
        var partitions = new PartitionMaintenance(NpgsqlDataSource.Create(fixture.App.ConnectionString), TimeProvider.System, NullLogger<PartitionMaintenance>.Instance);
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        Assert.True(await partitions.CreateAsync(PartitionMaintenance.Predictions, today.AddDays(-95)));
        Assert.True(await partitions.CreateAsync(PartitionMaintenance.MonitoringCounts, today.AddDays(-400)));
        Assert.True(await partitions.CreateAsync(PartitionMaintenance.MonitoringCounts, today.AddDays(-300)));
        var old = Guid.NewGuid();
        var recent = Guid.NewGuid();
        var dropped = Guid.NewGuid();
        await connection.ExecuteAsync(insert, new { id = old, age = 91, version = version.Id });
        await connection.ExecuteAsync(insert, new { id = recent, age = 89, version = version.Id });
        await connection.ExecuteAsync(insert, new { id = dropped, age = 95, version = version.Id });
        await connection.ExecuteAsync("INSERT INTO prediction_feedback (prediction_id, is_fraud, actor, received_at) VALUES (@old, true, 'test', now()), (@dropped, false, 'test', now())", new { old, dropped });
        const string counts = """
            INSERT INTO monitoring_counts (model_version_id, bucket, bucket_start, column_name, rows, missing, counts, unseen, below, above, sum)
            VALUES (@version, 'day', @day, 'amount', 1, 0, '{1}', 0, 0, 0, 1)
            """;
        foreach (var age in new[] { 400, 300 })
        {
            await connection.ExecuteAsync(counts, new { version = version.Id, day = today.AddDays(-age).ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc) });
        }

        // Request counts per minute: one past the monitoring retention (365 days), one within it.
        await connection.ExecuteAsync("INSERT INTO scoring_requests (minute, model, requests, errors) VALUES (now() - interval '400 days', 'retention-test', 5, 1), (now() - interval '300 days', 'retention-test', 7, 0)");

        Assert.Equal(PartitionMaintenance.Predictions.PartitionName(today.AddDays(-95)),
            await connection.ExecuteScalarAsync<string>("SELECT tableoid::regclass::text FROM predictions WHERE id = @dropped", new { dropped }));
        await connection.ExecuteAsync("DELETE FROM jobs WHERE kind = @kind", new { kind = PredictionRetentionJobHandler.KindName });
        var scheduler = new RecurringJobScheduler(NpgsqlDataSource.Create(fixture.App.ConnectionString), [PredictionRetentionSchedule.Daily], TimeProvider.System, NullLogger<RecurringJobScheduler>.Instance);

        await scheduler.EnqueueDueAsync(PredictionRetentionSchedule.Daily, default); // (or the app's own scheduler got there first)
        Assert.Empty(await scheduler.EnqueueDueAsync(PredictionRetentionSchedule.Daily, default)); // once a day
        var job = await connection.QuerySingleAsync<Guid>("SELECT id FROM jobs WHERE kind = @kind", new { kind = PredictionRetentionJobHandler.KindName });
        Assert.Equal(JobStatus.Succeeded, (await fixture.WaitForJobAsync(job)).Status);

        var left = (await connection.QueryAsync<Guid>("SELECT id FROM predictions WHERE id = ANY(@ids)", new { ids = new[] { old, recent, dropped } })).ToList();
        Assert.Equal([recent], left);
        Assert.Equal(0, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM prediction_feedback WHERE prediction_id = ANY(@ids)", new { ids = new[] { old, dropped } }));
        Assert.DoesNotContain(today.AddDays(-95), await partitions.DaysAsync(PartitionMaintenance.Predictions));
        Assert.Equal([today.AddDays(-300)], (await partitions.DaysAsync(PartitionMaintenance.MonitoringCounts)).Where(d => d < today));
        Assert.Equal([today.AddDays(-300)], (await connection.QueryAsync<DateTime>("SELECT bucket_start FROM monitoring_counts WHERE model_version_id = @id", new { id = version.Id })).Select(DateOnly.FromDateTime));
        var audit = await connection.ExecuteScalarAsync<string>("SELECT summary::text FROM audit_log WHERE action = 'predictions.retention' ORDER BY id DESC LIMIT 1");
        Assert.Contains("\"deleted\": 2", audit);
        Assert.Contains("\"labels\": 2", audit);
        Assert.Contains(PartitionMaintenance.Predictions.PartitionName(today.AddDays(-95)), audit);
        var monitoringAudit = await connection.ExecuteScalarAsync<string>("SELECT summary::text FROM audit_log WHERE action = 'monitoring.retention' ORDER BY id DESC LIMIT 1");
        Assert.Contains(PartitionMaintenance.MonitoringCounts.PartitionName(today.AddDays(-400)), monitoringAudit);
        Assert.Contains("\"days\": 365", monitoringAudit);
        Assert.Contains("\"requestMinutes\": 1", monitoringAudit);
        Assert.Equal([7L], await connection.QueryAsync<long>("SELECT requests FROM scoring_requests WHERE model = 'retention-test'"));
        // And the days ahead exist (the job keeps them a week ahead).
        Assert.Contains(today.AddDays(PartitionMaintenance.DaysAhead), await partitions.DaysAsync(PartitionMaintenance.DriftResults));
    }

    [Fact]
    public async Task Engines_OnnxAndMlNet_SameProbabilitiesForTheSameRows()
    {
        var version = await fixture.RegisterAsync("engine-test", fixture.StrongRun, ScoringFixture.LenientGate);
        var app = fixture.App;
        ModelLoader Loader(string engine) => new(app.Get<FraudWorkbench.Core.Training.TrainingRunStore>(), app.Get<FraudWorkbench.Core.Data.DatasetStore>(),
            app.Get<FraudWorkbench.Core.Artifacts.ArtifactStore>(), Options.Create(new ScoringOptions { Engine = engine }));
        var onnx = await Loader(ScoringEngineKind.Onnx).LoadAsync(version);
        var mlnet = await Loader(ScoringEngineKind.MlNet).LoadAsync(version);
        var rows = FraudWorkbench.Core.Features.BatchFeaturizer.Run(onnx.Features, fixture.Rows.Take(500).ToList());
        var a = new double[500];
        var b = new double[500];

        onnx.Probabilities(rows, 500, a);
        mlnet.Probabilities(rows, 500, b);

        Assert.Equal(ScoringEngineKind.Onnx, onnx.Engine.Name);
        Assert.Equal(ScoringEngineKind.MlNet, mlnet.Engine.Name);
        Assert.InRange(a.Zip(b, (x, y) => Math.Abs(x - y)).Max(), 0, 1e-5);
        Assert.True(a.Distinct().Count() > 50); // real scores, not a constant
    }
}
