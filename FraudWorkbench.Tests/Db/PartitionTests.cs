using Dapper;
using FraudWorkbench.Core.Db;
using FraudWorkbench.Core.Scoring;
using FraudWorkbench.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Npgsql;

namespace FraudWorkbench.Tests.Db;

[Trait("Category", "Database")]
public sealed class PartitionTests
{
    private static readonly DateTimeOffset Noon = new(2026, 3, 10, 12, 0, 0, TimeSpan.Zero);
    private static readonly DateOnly Today = DateOnly.FromDateTime(Noon.UtcDateTime);

    // As the application sets it (AddFraudWorkbench): the stores map snake_case columns to properties.
    public PartitionTests() => DefaultTypeMap.MatchNamesWithUnderscores = true;

    [Fact]
    public async Task Migration0017_PredictionsAndLabelsFromBefore_SameRowsInTheirDaysLabelsAttached()
    {
        await using var dataSource = NpgsqlDataSource.Create(await PostgresServer.CreateDatabaseAsync(migrated: false));
        var times = new[] { Noon.AddDays(-2), Noon.AddDays(-2).AddHours(3), Noon.AddDays(-1).AddHours(11.9), Noon };
        var ids = times.Select(t => Guid.CreateVersion7(t)).ToArray();
        var version = Guid.NewGuid();
        await using (var connection = await dataSource.OpenConnectionAsync())
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            // The schema as it was before migration 17, and a log written into its unpartitioned table.
            await connection.ExecuteAsync("CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())", transaction: transaction);
            foreach (var migration in Migrator.All.Where(m => m.Version < 17))
            {
                await connection.ExecuteAsync(migration.Sql, transaction: transaction);
                await connection.ExecuteAsync("INSERT INTO schema_migrations (version, name) VALUES (@Version, @Name)", migration, transaction);
            }

            await InsertVersionAsync(connection, transaction, version);
            for (var i = 0; i < ids.Length; i++)
            {
                await InsertPredictionAsync(connection, transaction, ids[i], times[i].UtcDateTime, version, probability: i / 10.0);
            }

            await connection.ExecuteAsync("INSERT INTO prediction_feedback (prediction_id, is_fraud, actor, received_at) VALUES (@a, true, 'test', now()), (@b, false, 'test', now())",
                new { a = ids[0], b = ids[2] }, transaction);
            await transaction.CommitAsync();
        }

        // 17 and every migration after it, in order: later ones must run over the partitioned log too.
        Assert.Equal(Migrator.All.Where(m => m.Version >= 17).Select(m => m.Version), await new Migrator(dataSource, NullLogger<Migrator>.Instance).ApplyAsync());

        await using var check = await dataSource.OpenConnectionAsync();
        var rows = (await check.QueryAsync<(Guid Id, string Partition, double Probability)>(
            "SELECT id, tableoid::regclass::text, probability FROM predictions ORDER BY created_at")).ToList();
        Assert.Equal(ids, rows.Select(r => r.Id));
        Assert.Equal(["predictions_p20260308", "predictions_p20260308", "predictions_p20260309", "predictions_p20260310"], rows.Select(r => r.Partition));
        Assert.Equal([0.0, 0.1, 0.2, 0.3], rows.Select(r => r.Probability));
        Assert.Equal(4, await check.ExecuteScalarAsync<long>("SELECT count(DISTINCT id) FROM predictions"));
        Assert.True(await check.ExecuteScalarAsync<bool>("SELECT relkind = 'p' FROM pg_class WHERE relname = 'predictions'"));
        Assert.Null(await check.ExecuteScalarAsync<string?>("SELECT to_regclass('predictions_unpartitioned')::text"));

        var labels = (await check.QueryAsync<(Guid Id, bool IsFraud, DateTime CreatedAt)>(
            "SELECT f.prediction_id, f.is_fraud, p.created_at FROM prediction_feedback f JOIN predictions p ON p.id = f.prediction_id AND p.created_at = f.prediction_created_at ORDER BY p.created_at")).ToList();
        Assert.Equal([(ids[0], true), (ids[2], false)], labels.Select(l => (l.Id, l.IsFraud)));

        // The store still reads them, labels attached, and still refuses a label for a prediction that does not exist.
        var log = new PredictionLog(dataSource, Options.Create(new ScoringOptions()), NullLogger<PredictionLog>.Instance);
        await log.StartAsync(default);
        try
        {
            var store = new PredictionStore(dataSource, log, new FakeTimeProvider(Noon));
            Assert.True((await store.GetAsync(ids[0]))!.IsFraud);
            Assert.Null((await store.GetAsync(ids[1]))!.IsFraud);
            var missing = Guid.CreateVersion7(Noon.AddDays(-1));
            Assert.Equal([missing], (await store.RecordFeedbackAsync([new FeedbackItem(ids[1], true), new FeedbackItem(missing, true)], "test")).Unknown);
            Assert.Null((await store.GetAsync(ids[1]))!.IsFraud);
            Assert.Empty((await store.RecordFeedbackAsync([new FeedbackItem(ids[1], true)], "test")).Unknown);
            Assert.True((await store.GetAsync(ids[1]))!.IsFraud);
        }
        finally
        {
            await log.StopAsync(default);
        }

        // The database refuses one too: without the time (read from the prediction) and with a wrong time (the foreign key).
        var noTime = await Assert.ThrowsAsync<PostgresException>(() => check.ExecuteAsync(
            "INSERT INTO prediction_feedback (prediction_id, is_fraud, actor, received_at) VALUES (@id, true, 'test', now())", new { id = Guid.NewGuid() }));
        Assert.Equal(PostgresErrorCodes.NotNullViolation, noTime.SqlState);
        var wrongTime = await Assert.ThrowsAsync<PostgresException>(() => check.ExecuteAsync(
            "INSERT INTO prediction_feedback (prediction_id, prediction_created_at, is_fraud, actor, received_at) VALUES (@id, now(), true, 'test', now())", new { id = ids[3] }));
        Assert.Equal(PostgresErrorCodes.ForeignKeyViolation, wrongTime.SqlState);
    }

    [Fact]
    public async Task CreateAheadAsync_FreshDatabase_TodayAndSevenDaysOfEveryTable_SecondRunNoOp()
    {
        await using var dataSource = NpgsqlDataSource.Create(await PostgresServer.CreateDatabaseAsync());
        var partitions = Maintenance(dataSource, Noon);

        var first = await partitions.CreateAheadAsync();
        var second = await partitions.CreateAheadAsync();

        Assert.Equal(4 * 8, first.Count);
        Assert.Empty(second);
        var days = Enumerable.Range(0, 8).Select(Today.AddDays).ToList();
        foreach (var table in PartitionMaintenance.All)
        {
            Assert.Equal(days, await partitions.DaysAsync(table));
        }

        Assert.Contains("monitoring_counts_p20260317", first);
        await using var connection = await dataSource.OpenConnectionAsync();
        var bounds = await connection.ExecuteScalarAsync<string>("SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE relname = 'predictions_p20260310'");
        Assert.Equal("FOR VALUES FROM ('2026-03-10 00:00:00+00') TO ('2026-03-11 00:00:00+00')", bounds);
    }

    [Fact]
    public async Task CreateAheadAsync_TwoInstancesAtOnce_EachPartitionCreatedOnceNeitherFails()
    {
        var connectionString = await PostgresServer.CreateDatabaseAsync();
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await using var other = NpgsqlDataSource.Create(connectionString);

        var both = await Task.WhenAll(Maintenance(dataSource, Noon).CreateAheadAsync(), Maintenance(other, Noon).CreateAheadAsync());

        Assert.Equal(4 * 8, both[0].Count + both[1].Count);
        Assert.Equal(4 * 8, both[0].Concat(both[1]).Distinct().Count());
    }

    [Fact]
    public async Task CreateAsync_RowsParkedInDefault_MovedIntoTheNewPartitionWithTheirLabels()
    {
        await using var dataSource = NpgsqlDataSource.Create(await PostgresServer.CreateDatabaseAsync());
        var version = Guid.NewGuid();
        var parkedAt = Noon.AddDays(2).AddHours(5);
        var parked = Guid.CreateVersion7(parkedAt);
        var nextDay = Guid.CreateVersion7(parkedAt.AddDays(1));
        await using var connection = await dataSource.OpenConnectionAsync();
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            await InsertVersionAsync(connection, transaction, version);
            await InsertPredictionAsync(connection, transaction, parked, parkedAt.UtcDateTime, version);
            await InsertPredictionAsync(connection, transaction, nextDay, parkedAt.AddDays(1).UtcDateTime, version);
            await connection.ExecuteAsync("INSERT INTO prediction_feedback (prediction_id, is_fraud, actor, received_at) VALUES (@parked, true, 'test', now())", new { parked }, transaction);
            await connection.ExecuteAsync("""
                INSERT INTO monitoring_counts (model_version_id, bucket, bucket_start, column_name, rows, missing, counts, unseen, below, above, sum)
                VALUES (@version, 'hour', @hour, 'amount', 7, 1, '{3,3}', 0, 0, 0, 42.5)
                """, new { version, hour = parkedAt.UtcDateTime }, transaction);
            await transaction.CommitAsync();
        }

        var partitions = Maintenance(dataSource, Noon);
        Assert.True(await partitions.CreateAsync(PartitionMaintenance.Predictions, Today.AddDays(2)));
        Assert.True(await partitions.CreateAsync(PartitionMaintenance.MonitoringCounts, Today.AddDays(2)));
        Assert.False(await partitions.CreateAsync(PartitionMaintenance.Predictions, Today.AddDays(2)));

        Assert.Equal("predictions_p20260312", await connection.ExecuteScalarAsync<string>("SELECT tableoid::regclass::text FROM predictions WHERE id = @parked", new { parked }));
        Assert.Equal("predictions_default", await connection.ExecuteScalarAsync<string>("SELECT tableoid::regclass::text FROM predictions WHERE id = @nextDay", new { nextDay }));
        Assert.True(await connection.ExecuteScalarAsync<bool>("SELECT is_fraud FROM prediction_feedback WHERE prediction_id = @parked", new { parked }));
        var counts = await connection.QuerySingleAsync<(string Partition, long Rows, long[] Counts, double Sum)>(
            "SELECT tableoid::regclass::text, rows, counts, sum FROM monitoring_counts");
        Assert.Equal(("monitoring_counts_p20260312", 7L, 42.5), (counts.Partition, counts.Rows, counts.Sum));
        Assert.Equal([3L, 3L], counts.Counts);
    }

    [Fact]
    public async Task DropOlderThanAsync_OldDays_DroppedWithTheirLabels_NewerDaysAndTheirLabelsKept()
    {
        await using var dataSource = NpgsqlDataSource.Create(await PostgresServer.CreateDatabaseAsync());
        var version = Guid.NewGuid();
        var partitions = Maintenance(dataSource, Noon);
        for (var day = Today.AddDays(-3); day <= Today; day = day.AddDays(1))
        {
            await partitions.CreateAsync(PartitionMaintenance.Predictions, day);
        }

        // Two predictions a day for days -3 … 0 (each with a label), and one in DEFAULT from before any partition.
        var byDay = Enumerable.Range(-3, 4).ToDictionary(d => d, d => new[] { Guid.CreateVersion7(Noon.AddDays(d)), Guid.CreateVersion7(Noon.AddDays(d).AddHours(-11)) });
        var ancient = Guid.NewGuid();
        await using var connection = await dataSource.OpenConnectionAsync();
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            await InsertVersionAsync(connection, transaction, version);
            foreach (var (d, ids) in byDay)
            {
                await InsertPredictionAsync(connection, transaction, ids[0], Noon.AddDays(d).UtcDateTime, version);
                await InsertPredictionAsync(connection, transaction, ids[1], Noon.AddDays(d).AddHours(-11).UtcDateTime, version);
                await connection.ExecuteAsync("INSERT INTO prediction_feedback (prediction_id, is_fraud, actor, received_at) VALUES (@id, true, 'test', now())", new { id = ids[0] }, transaction);
            }

            await InsertPredictionAsync(connection, transaction, ancient, Noon.AddDays(-30).UtcDateTime, version);
            await connection.ExecuteAsync("INSERT INTO prediction_feedback (prediction_id, is_fraud, actor, received_at) VALUES (@ancient, false, 'test', now())", new { ancient }, transaction);
            await transaction.CommitAsync();
        }

        // The cutoff falls inside day -1: days -3 and -2 end before it and go; day -1 stays until it is wholly past.
        var drop = await partitions.DropOlderThanAsync(PartitionMaintenance.Predictions, Noon.AddDays(-1).AddHours(-3).UtcDateTime);

        Assert.Equal(["predictions_p20260307", "predictions_p20260308"], drop.Partitions);
        Assert.Equal(2 + 2 + 1, drop.Rows);
        Assert.Equal(2 + 1, drop.DependentRows);
        Assert.Equal([Today.AddDays(-1), Today], await partitions.DaysAsync(PartitionMaintenance.Predictions));
        var left = (await connection.QueryAsync<Guid>("SELECT id FROM predictions")).ToHashSet();
        Assert.Equal(byDay[-1].Concat(byDay[0]).ToHashSet(), left);
        var labelled = (await connection.QueryAsync<Guid>("SELECT prediction_id FROM prediction_feedback")).ToHashSet();
        Assert.Equal([byDay[-1][0], byDay[0][0]], labelled.Order());
        Assert.Null(await connection.ExecuteScalarAsync<string?>("SELECT to_regclass('predictions_p20260307')::text"));

        var again = await partitions.DropOlderThanAsync(PartitionMaintenance.Predictions, Noon.AddDays(-1).AddHours(-3).UtcDateTime);
        Assert.Equal((0, 0L, 0L), (again.Partitions.Count, again.Rows, again.DependentRows));
    }

    [Theory]
    [InlineData("SELECT id FROM predictions WHERE model_version_id = @version AND created_at >= @from AND created_at < @to", "predictions")]
    [InlineData("SELECT counts FROM monitoring_counts WHERE model_version_id = @version AND bucket = 'hour' AND bucket_start >= @from AND bucket_start < @to", "monitoring_counts")]
    [InlineData("SELECT rows FROM scoring_refusals WHERE model_version_id = @version AND bucket = 'hour' AND bucket_start >= @from AND bucket_start < @to", "scoring_refusals")]
    [InlineData("SELECT value FROM drift_results WHERE registered_model_id = @version AND window_size = 'hour' AND window_start >= @from AND window_start < @to", "drift_results")]
    public async Task WindowRead_OneDay_TouchesOnlyThatDaysPartitionThroughItsIndex(string query, string table)
    {
        await using var dataSource = NpgsqlDataSource.Create(await PostgresServer.CreateDatabaseAsync());
        await Maintenance(dataSource, Noon).CreateAheadAsync();
        await using var connection = await dataSource.OpenConnectionAsync();

        // Plans as the application's parameterised reads get them (a custom plan per call: plan-time pruning).
        // Sequential scans off: empty tables would otherwise be scanned whole, hiding whether an index serves the read.
        await connection.ExecuteAsync("SET enable_seqscan = off");
        var plan = await connection.ExecuteScalarAsync<string>($"EXPLAIN (FORMAT JSON) {query}", new
        {
            version = Guid.NewGuid(), from = Noon.AddDays(2).UtcDateTime.Date, to = Noon.AddDays(3).UtcDateTime.Date,
        });

        var touched = System.Text.RegularExpressions.Regex.Matches(plan!, "\"Relation Name\": \"([^\"]+)\"").Select(m => m.Groups[1].Value).Distinct().ToList();
        Assert.Equal([$"{table}_p20260312"], touched);
        Assert.Contains("\"Index Name\"", plan);
    }

    [Fact]
    public async Task GetAsync_IdsWithAndWithoutTime_FoundWithinTheirDaysAndAcrossAll()
    {
        await using var dataSource = NpgsqlDataSource.Create(await PostgresServer.CreateDatabaseAsync());
        var version = Guid.NewGuid();
        var partitions = Maintenance(dataSource, Noon);
        await partitions.CreateAheadAsync();
        var v7 = Guid.CreateVersion7(Noon.AddDays(1));
        var v4 = Guid.NewGuid();
        await using var connection = await dataSource.OpenConnectionAsync();
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            await InsertVersionAsync(connection, transaction, version);
            await InsertPredictionAsync(connection, transaction, v7, Noon.AddDays(1).UtcDateTime, version, probability: 0.25);
            await InsertPredictionAsync(connection, transaction, v4, Noon.AddDays(3).UtcDateTime, version, probability: 0.75);
            await transaction.CommitAsync();
        }

        var log = new PredictionLog(dataSource, Options.Create(new ScoringOptions()), NullLogger<PredictionLog>.Instance);
        await log.StartAsync(default);
        try
        {
            var store = new PredictionStore(dataSource, log, new FakeTimeProvider(Noon));
            Assert.Equal(0.25, (await store.GetAsync(v7))!.Probability);
            Assert.Equal(0.75, (await store.GetAsync(v4))!.Probability);
            Assert.Null(await store.GetAsync(Guid.CreateVersion7(Noon)));
            Assert.Empty((await store.RecordFeedbackAsync([new FeedbackItem(v7, true), new FeedbackItem(v4, false)], "test")).Unknown);
            Assert.Equal([(v7, true), (v4, false)], (await connection.QueryAsync<(Guid, bool)>(
                "SELECT prediction_id, is_fraud FROM prediction_feedback ORDER BY prediction_created_at")).ToList());
        }
        finally
        {
            await log.StopAsync(default);
        }

        // The bounds a time-carrying id gets: an hour either side of its time, so one day's partition (two near midnight).
        var bounds = PredictionStore.CreatedAtBounds(v7)!.Value;
        Assert.Equal((Noon.AddDays(1).AddHours(-1).UtcDateTime, Noon.AddDays(1).AddHours(1).UtcDateTime), (bounds.From, bounds.To));
        Assert.Null(PredictionStore.CreatedAtBounds(v4));
    }

    [Fact]
    public async Task IdLookups_TimeCarryingIds_ReadOnlyTheirDaysPartitions()
    {
        await using var dataSource = NpgsqlDataSource.Create(await PostgresServer.CreateDatabaseAsync());
        await Maintenance(dataSource, Noon).CreateAheadAsync();
        await using var connection = await dataSource.OpenConnectionAsync();
        await connection.ExecuteAsync("SET enable_seqscan = off");
        var first = Guid.CreateVersion7(Noon.AddDays(2));
        var second = Guid.CreateVersion7(Noon.AddDays(3).AddHours(-2));
        var (from1, to1) = PredictionStore.CreatedAtBounds(first)!.Value;
        var (from2, to2) = PredictionStore.CreatedAtBounds(second)!.Value;

        var get = await connection.ExecuteScalarAsync<string>($"EXPLAIN (FORMAT JSON) {PredictionStore.GetWithinSql}", new { id = first, from = from1, to = to1 });
        var find = await connection.ExecuteScalarAsync<string>($"EXPLAIN (FORMAT JSON) {PredictionStore.FindWithinSql}", new
        {
            ids = new[] { first, second }, froms = new[] { from1, from2 }, tos = new[] { to1, to2 }, from = from1, to = to2,
        });

        Assert.Equal(["predictions_p20260312"], Relations(get!).Where(r => r.StartsWith("predictions", StringComparison.Ordinal)));
        // The lookup also reads each prediction's current label (prediction_feedback is not partitioned).
        Assert.Equal(["predictions_p20260312", "predictions_p20260313"], Relations(find!).Where(r => r.StartsWith("predictions_", StringComparison.Ordinal)).Order());
    }

    private static IEnumerable<string> Relations(string jsonPlan) =>
        System.Text.RegularExpressions.Regex.Matches(jsonPlan, "\"Relation Name\": \"([^\"]+)\"").Select(m => m.Groups[1].Value).Distinct();

    private static PartitionMaintenance Maintenance(NpgsqlDataSource dataSource, DateTimeOffset now) =>
        new(dataSource, new FakeTimeProvider(now), NullLogger<PartitionMaintenance>.Instance);

    /// <summary>A model version row for predictions to belong to, without the model, run and job it names.</summary>
    private static async Task InsertVersionAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid version)
    {
        await connection.ExecuteAsync("SET LOCAL session_replication_role = replica", transaction: transaction);
        await connection.ExecuteAsync("""
            INSERT INTO model_versions (id, registered_model_id, version, run_id, stage, gate_status, created_by, created_at)
            VALUES (@version, @version, 1, @version, 'production', 'passed', 'test', now())
            """, new { version }, transaction);
        await connection.ExecuteAsync("SET LOCAL session_replication_role = origin", transaction: transaction);
    }

    private static Task InsertPredictionAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid id, DateTime createdAt, Guid version, double probability = 0.5) =>
        connection.ExecuteAsync("""
            INSERT INTO predictions (id, created_at, model_version_id, actor, input, features, probability, decision, latency_ms)
            VALUES (@id, @createdAt, @version, 'test', '{}', '{0.5}', @probability, false, 1)
            """, new { id, createdAt, version, probability }, transaction);
}
