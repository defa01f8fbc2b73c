using System.Text.Json;
using Dapper;
using FraudWorkbench.Core.Accounts;
using Npgsql;
using NpgsqlTypes;

namespace FraudWorkbench.Core.Monitoring;

/// <summary>A stored drift decision (<c>drift_results</c>).</summary>
public sealed record DriftResultRow(
    Guid ModelVersionId, string WindowSize, DateTime WindowStart, string ColumnName, string ColumnKind, string ColumnType, string Method,
    double? Value, double Threshold, bool? Drifted, string Status, long Rows, long ReferenceRows, long Missing, long Unseen, long OutOfRange, DateTime ComputedAt);

/// <summary>Monitoring's tables: the buckets written with the log, refusals, the drift history and the per-model configuration.</summary>
public sealed class MonitoringStore(NpgsqlDataSource dataSource, TimeProvider time)
{
    public const string Hour = "hour";
    public const string Day = "day";

    /// <summary>Adds counted buckets to their rows, in the caller's transaction (the log's batch).</summary>
    public static async Task AddCountsAsync(NpgsqlConnection connection, NpgsqlTransaction transaction,
        IReadOnlyList<(Guid Version, string Bucket, DateTime Start, string Column, ColumnCounts Counts)> rows, CancellationToken cancellationToken)
    {
        if (rows.Count == 0) return;
        const string sql = """
            INSERT INTO monitoring_counts AS m (model_version_id, bucket, bucket_start, column_name, rows, missing, counts, sums, unseen, unseen_values, below, above, sum, min, max)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $15, $8, $9, $10, $11, $12, $13, $14)
            ON CONFLICT (model_version_id, bucket, column_name, bucket_start) DO UPDATE SET
                rows = m.rows + excluded.rows, missing = m.missing + excluded.missing, counts = bigint_array_add(m.counts, excluded.counts),
                sums = CASE WHEN cardinality(m.sums) = 0 THEN excluded.sums WHEN cardinality(excluded.sums) = 0 THEN m.sums ELSE double_array_add(m.sums, excluded.sums) END,
                unseen = m.unseen + excluded.unseen, unseen_values = CASE WHEN excluded.unseen_values = '{}' THEN m.unseen_values ELSE jsonb_add_counts(m.unseen_values, excluded.unseen_values, 100) END,
                below = m.below + excluded.below, above = m.above + excluded.above, sum = m.sum + excluded.sum,
                min = least(m.min, excluded.min), max = greatest(m.max, excluded.max)
            """;
        await using var batch = new NpgsqlBatch(connection, transaction);
        // One order for every writer, so two instances adding to the same rows never wait on each other in a cycle.
        foreach (var r in rows.OrderBy(r => r.Version).ThenBy(r => r.Bucket, StringComparer.Ordinal).ThenBy(r => r.Column, StringComparer.Ordinal).ThenBy(r => r.Start))
        {
            var c = r.Counts;
            var command = new NpgsqlBatchCommand(sql);
            command.Parameters.Add(new NpgsqlParameter { Value = r.Version, NpgsqlDbType = NpgsqlDbType.Uuid });
            command.Parameters.Add(new NpgsqlParameter { Value = r.Bucket, NpgsqlDbType = NpgsqlDbType.Text });
            command.Parameters.Add(new NpgsqlParameter { Value = r.Start, NpgsqlDbType = NpgsqlDbType.TimestampTz });
            command.Parameters.Add(new NpgsqlParameter { Value = r.Column, NpgsqlDbType = NpgsqlDbType.Text });
            command.Parameters.Add(new NpgsqlParameter { Value = c.Rows, NpgsqlDbType = NpgsqlDbType.Bigint });
            command.Parameters.Add(new NpgsqlParameter { Value = c.Missing, NpgsqlDbType = NpgsqlDbType.Bigint });
            command.Parameters.Add(new NpgsqlParameter { Value = c.Counts, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
            command.Parameters.Add(new NpgsqlParameter { Value = c.Unseen, NpgsqlDbType = NpgsqlDbType.Bigint });
            command.Parameters.Add(new NpgsqlParameter { Value = JsonSerializer.Serialize(c.UnseenValues), NpgsqlDbType = NpgsqlDbType.Jsonb });
            command.Parameters.Add(new NpgsqlParameter { Value = c.Below, NpgsqlDbType = NpgsqlDbType.Bigint });
            command.Parameters.Add(new NpgsqlParameter { Value = c.Above, NpgsqlDbType = NpgsqlDbType.Bigint });
            command.Parameters.Add(new NpgsqlParameter { Value = c.Sum, NpgsqlDbType = NpgsqlDbType.Double });
            command.Parameters.Add(new NpgsqlParameter { Value = (object?)c.Min ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Double });
            command.Parameters.Add(new NpgsqlParameter { Value = (object?)c.Max ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Double });
            command.Parameters.Add(new NpgsqlParameter { Value = c.Sums, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Double });
            batch.BatchCommands.Add(command);
        }

        await batch.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Buckets of the versions in [from, to): hour rows for hourly windows, day rows otherwise.</summary>
    public async Task<IReadOnlyList<CountsRow>> CountsAsync(IReadOnlyCollection<Guid> versions, string bucket, DateTime from, DateTime to, CancellationToken cancellationToken)
    {
        const string sql = """
            SELECT model_version_id, bucket_start, column_name, rows, missing, counts, sums, unseen, unseen_values::text AS unseen_values, below, above, sum, min, max
            FROM monitoring_counts
            WHERE model_version_id = ANY(@versions) AND bucket = @bucket AND bucket_start >= @from AND bucket_start < @to
            """;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return [.. await connection.QueryAsync<CountsRow>(new CommandDefinition(sql, new { versions = versions.ToArray(), bucket, from, to }, cancellationToken: cancellationToken))];
    }

    /// <summary>The model's versions with traffic in [from, to), with their predictions per bucket.</summary>
    public async Task<IReadOnlyList<(Guid Version, DateTime Start, long Predictions)>> TrafficAsync(Guid modelId, string bucket, DateTime from, DateTime to, CancellationToken cancellationToken)
    {
        const string sql = """
            SELECT c.model_version_id, c.bucket_start, c.rows
            FROM monitoring_counts c JOIN model_versions v ON v.id = c.model_version_id
            WHERE v.registered_model_id = @modelId AND c.bucket = @bucket AND c.column_name = ':score' AND c.bucket_start >= @from AND c.bucket_start < @to
            """;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return [.. await connection.QueryAsync<(Guid, DateTime, long)>(new CommandDefinition(sql, new { modelId, bucket, from, to }, cancellationToken: cancellationToken))];
    }

    /// <summary>Counts one refused transaction (or several) against the version that would have scored it.</summary>
    public async Task AddRefusedAsync(Guid version, int rows, IReadOnlyCollection<string> fields, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var json = JsonSerializer.Serialize(fields.GroupBy(f => f, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.LongCount()));
        const string sql = """
            INSERT INTO scoring_refusals AS r (model_version_id, bucket, bucket_start, rows, fields)
            VALUES (@version, 'hour', @hour, @rows, @json::jsonb), (@version, 'day', @day, @rows, @json::jsonb)
            ON CONFLICT (model_version_id, bucket, bucket_start) DO UPDATE SET rows = r.rows + excluded.rows, fields = jsonb_add_counts(r.fields, excluded.fields, 100)
            """;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(sql, new { version, hour = WindowSize.Start(WindowSize.Hour, now), day = WindowSize.Start(WindowSize.Day, now), rows, json }, cancellationToken: cancellationToken));
    }

    public async Task<IReadOnlyList<(Guid Version, DateTime Start, long Rows, string Fields)>> RefusalsAsync(IReadOnlyCollection<Guid> versions, string bucket, DateTime from, DateTime to, CancellationToken cancellationToken)
    {
        const string sql = """
            SELECT model_version_id, bucket_start, rows, fields::text FROM scoring_refusals
            WHERE model_version_id = ANY(@versions) AND bucket = @bucket AND bucket_start >= @from AND bucket_start < @to
            """;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return [.. await connection.QueryAsync<(Guid, DateTime, long, string)>(new CommandDefinition(sql, new { versions = versions.ToArray(), bucket, from, to }, cancellationToken: cancellationToken))];
    }

    /// <summary>Stores (or replaces) the drift decisions of windows.</summary>
    public async Task SaveResultsAsync(Guid modelId, IReadOnlyList<DriftResultRow> rows, CancellationToken cancellationToken)
    {
        const string sql = """
            INSERT INTO drift_results (registered_model_id, model_version_id, window_size, window_start, column_name, column_kind, column_type, method,
                                       value, threshold, drifted, status, rows, reference_rows, missing, unseen, out_of_range, computed_at)
            SELECT @modelId, * FROM unnest(@versions, @sizes, @starts, @columns, @kinds, @types, @methods, @values, @thresholds, @drifted, @statuses,
                                           @rows, @referenceRows, @missing, @unseen, @outOfRange, @computedAt)
            ON CONFLICT (model_version_id, window_size, window_start, column_name) DO UPDATE SET
                column_kind = excluded.column_kind, column_type = excluded.column_type, method = excluded.method, value = excluded.value,
                threshold = excluded.threshold, drifted = excluded.drifted, status = excluded.status, rows = excluded.rows,
                reference_rows = excluded.reference_rows, missing = excluded.missing, unseen = excluded.unseen, out_of_range = excluded.out_of_range,
                computed_at = excluded.computed_at
            """;
        const string last = """
            INSERT INTO monitoring_models (registered_model_id, last_computed_at) VALUES (@modelId, @at)
            ON CONFLICT (registered_model_id) DO UPDATE SET last_computed_at = greatest(monitoring_models.last_computed_at, excluded.last_computed_at)
            """;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(last, new { modelId, at = rows.Max(r => r.ComputedAt) }, transaction, cancellationToken: cancellationToken));
        await connection.ExecuteAsync(new CommandDefinition(sql, new
        {
            modelId,
            versions = rows.Select(r => r.ModelVersionId).ToArray(),
            sizes = rows.Select(r => r.WindowSize).ToArray(),
            starts = rows.Select(r => r.WindowStart).ToArray(),
            columns = rows.Select(r => r.ColumnName).ToArray(),
            kinds = rows.Select(r => r.ColumnKind).ToArray(),
            types = rows.Select(r => r.ColumnType).ToArray(),
            methods = rows.Select(r => r.Method).ToArray(),
            values = rows.Select(r => r.Value).ToArray(),
            thresholds = rows.Select(r => r.Threshold).ToArray(),
            drifted = rows.Select(r => r.Drifted).ToArray(),
            statuses = rows.Select(r => r.Status).ToArray(),
            rows = rows.Select(r => r.Rows).ToArray(),
            referenceRows = rows.Select(r => r.ReferenceRows).ToArray(),
            missing = rows.Select(r => r.Missing).ToArray(),
            unseen = rows.Select(r => r.Unseen).ToArray(),
            outOfRange = rows.Select(r => r.OutOfRange).ToArray(),
            computedAt = rows.Select(r => r.ComputedAt).ToArray(),
        }, transaction, cancellationToken: cancellationToken));
        await transaction.CommitAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<DriftResultRow>> ResultsAsync(Guid modelId, string windowSize, DateTime from, DateTime to, CancellationToken cancellationToken)
    {
        const string sql = """
            SELECT model_version_id, window_size, window_start, column_name, column_kind, column_type, method, value, threshold, drifted, status,
                   rows, reference_rows, missing, unseen, out_of_range, computed_at
            FROM drift_results WHERE registered_model_id = @modelId AND window_size = @windowSize AND window_start >= @from AND window_start < @to
            """;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return [.. await connection.QueryAsync<DriftResultRow>(new CommandDefinition(sql, new { modelId, windowSize, from, to }, cancellationToken: cancellationToken))];
    }

    public async Task<DateTime?> LastComputedAsync(Guid modelId, CancellationToken cancellationToken)
    {
        const string sql = "SELECT last_computed_at FROM monitoring_models WHERE registered_model_id = @modelId";
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<DateTime?>(new CommandDefinition(sql, new { modelId }, cancellationToken: cancellationToken));
    }

    public async Task<MonitoringConfig> ConfigAsync(Guid modelId, CancellationToken cancellationToken)
    {
        const string sql = "SELECT monitoring::text FROM registered_models WHERE id = @modelId";
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var json = await connection.ExecuteScalarAsync<string?>(new CommandDefinition(sql, new { modelId }, cancellationToken: cancellationToken));
        return json is null ? MonitoringConfig.Default : JsonSerializer.Deserialize<MonitoringConfig>(json, Data.DatasetSchema.Json) ?? MonitoringConfig.Default;
    }

    /// <summary>Stores a model's configuration and audits the change with what it was before.</summary>
    public async Task SaveConfigAsync(Guid modelId, string modelName, MonitoringConfig config, string actor, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        const string before = "SELECT monitoring::text FROM registered_models WHERE id = @modelId FOR UPDATE";
        var previous = await connection.ExecuteScalarAsync<string?>(new CommandDefinition(before, new { modelId }, transaction, cancellationToken: cancellationToken));
        const string sql = "UPDATE registered_models SET monitoring = @json::jsonb WHERE id = @modelId";
        var json = JsonSerializer.Serialize(config, Data.DatasetSchema.Json);
        await connection.ExecuteAsync(new CommandDefinition(sql, new { modelId, json }, transaction, cancellationToken: cancellationToken));
        // Never configured means the defaults were in force: the first change then reads "0.5 → 0.4", not a null replaced.
        previous ??= JsonSerializer.Serialize(MonitoringConfig.Default, Data.DatasetSchema.Json);
        await AuditLog.WriteAsync(transaction, time.GetUtcNow().UtcDateTime, actor, "model.monitoring", "registered-model", modelName,
            new { before = JsonSerializer.Deserialize<JsonElement>(previous), after = JsonSerializer.Deserialize<JsonElement>(json) }, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }
}
