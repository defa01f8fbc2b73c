using System.Text.Json;
using Dapper;
using FraudWorkbench.Core.Accounts;
using Npgsql;
using NpgsqlTypes;

namespace FraudWorkbench.Core.Performance;

/// <summary>One version's <see cref="PerformanceCounts"/> for one UTC day.</summary>
public sealed record PerformanceDay(Guid Version, DateOnly Day, PerformanceCounts Counts);

/// <summary>The <c>performance_counts</c> rows and each model's <see cref="PerformanceConfig"/>.</summary>
public sealed class PerformanceStore(NpgsqlDataSource dataSource, TimeProvider time)
{
    private sealed class DayKey
    {
        public Guid ModelVersionId { get; init; }
        public DateTime Day { get; init; }
    }

    private const string Columns = """
        c.model_version_id, c.day, c.rows, c.flagged, c.sum_p, c.sum_pq, c.sum_p_flagged, c.amount_flagged, c.amount_unflagged, c.p_amount_flagged, c.p_amount_unflagged,
        c.bin_rows, c.bin_p, c.bin_fraud, c.fraud_flagged, c.fraud_unflagged, c.legit_flagged, c.legit_unflagged, c.fraud_amount_flagged, c.fraud_amount_unflagged, c.fraud_delays
        """;

    /// <summary>Adds logged predictions to their days, in the log batch's transaction.</summary>
    public static async Task AddPredictionsAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyList<PerformanceDay> days, CancellationToken cancellationToken)
    {
        const string sql = """
            INSERT INTO performance_counts AS c (model_version_id, day, rows, flagged, sum_p, sum_pq, sum_p_flagged, amount_flagged, amount_unflagged,
                p_amount_flagged, p_amount_unflagged, bin_rows, bin_p, bin_fraud, fraud_flagged, fraud_unflagged, legit_flagged, legit_unflagged,
                fraud_amount_flagged, fraud_amount_unflagged, fraud_delays)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 0, 0, 0, 0, 0, 0, $15)
            ON CONFLICT (model_version_id, day) DO UPDATE SET
                rows = c.rows + excluded.rows, flagged = c.flagged + excluded.flagged, sum_p = c.sum_p + excluded.sum_p, sum_pq = c.sum_pq + excluded.sum_pq,
                sum_p_flagged = c.sum_p_flagged + excluded.sum_p_flagged, amount_flagged = c.amount_flagged + excluded.amount_flagged,
                amount_unflagged = c.amount_unflagged + excluded.amount_unflagged, p_amount_flagged = c.p_amount_flagged + excluded.p_amount_flagged,
                p_amount_unflagged = c.p_amount_unflagged + excluded.p_amount_unflagged,
                bin_rows = bigint_array_add(c.bin_rows, excluded.bin_rows), bin_p = double_array_add(c.bin_p, excluded.bin_p)
            """;
        await using var batch = new NpgsqlBatch(connection, transaction);
        // One order for every writer, so two instances adding to the same rows never wait on each other in a cycle.
        foreach (var (version, day, c) in days.OrderBy(d => d.Version).ThenBy(d => d.Day))
        {
            var command = new NpgsqlBatchCommand(sql);
            command.Parameters.Add(new NpgsqlParameter { Value = version, NpgsqlDbType = NpgsqlDbType.Uuid });
            command.Parameters.Add(new NpgsqlParameter { Value = day, NpgsqlDbType = NpgsqlDbType.Date });
            command.Parameters.Add(new NpgsqlParameter { Value = c.Rows, NpgsqlDbType = NpgsqlDbType.Bigint });
            command.Parameters.Add(new NpgsqlParameter { Value = c.Flagged, NpgsqlDbType = NpgsqlDbType.Bigint });
            foreach (var value in new[] { c.SumP, c.SumPq, c.SumPFlagged, c.AmountFlagged, c.AmountUnflagged, c.PAmountFlagged, c.PAmountUnflagged })
                command.Parameters.Add(new NpgsqlParameter { Value = value, NpgsqlDbType = NpgsqlDbType.Double });
            command.Parameters.Add(new NpgsqlParameter { Value = c.BinRows, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
            command.Parameters.Add(new NpgsqlParameter { Value = c.BinP, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Double });
            command.Parameters.Add(new NpgsqlParameter { Value = c.BinFraud, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
            command.Parameters.Add(new NpgsqlParameter { Value = c.FraudDelays, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
            batch.BatchCommands.Add(command);
        }

        if (batch.BatchCommands.Count > 0) await batch.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Applies label changes (new labels, reversals) to their days, in the feedback's transaction. Days with no row hold
    /// predictions logged before performance monitoring existed: their labels are stored but not counted.
    /// </summary>
    public static async Task AddLabelsAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyList<PerformanceDay> days, CancellationToken cancellationToken)
    {
        const string sql = """
            UPDATE performance_counts c SET
                bin_fraud = bigint_array_add(c.bin_fraud, $3), fraud_flagged = c.fraud_flagged + $4, fraud_unflagged = c.fraud_unflagged + $5,
                legit_flagged = c.legit_flagged + $6, legit_unflagged = c.legit_unflagged + $7,
                fraud_amount_flagged = c.fraud_amount_flagged + $8, fraud_amount_unflagged = c.fraud_amount_unflagged + $9,
                fraud_delays = bigint_array_add(c.fraud_delays, $10)
            WHERE c.model_version_id = $1 AND c.day = $2
            """;
        await using var batch = new NpgsqlBatch(connection, transaction);
        foreach (var (version, day, c) in days.OrderBy(d => d.Version).ThenBy(d => d.Day))
        {
            var command = new NpgsqlBatchCommand(sql);
            command.Parameters.Add(new NpgsqlParameter { Value = version, NpgsqlDbType = NpgsqlDbType.Uuid });
            command.Parameters.Add(new NpgsqlParameter { Value = day, NpgsqlDbType = NpgsqlDbType.Date });
            command.Parameters.Add(new NpgsqlParameter { Value = c.BinFraud, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
            foreach (var value in new[] { c.FraudFlagged, c.FraudUnflagged, c.LegitFlagged, c.LegitUnflagged })
                command.Parameters.Add(new NpgsqlParameter { Value = value, NpgsqlDbType = NpgsqlDbType.Bigint });
            command.Parameters.Add(new NpgsqlParameter { Value = c.FraudAmountFlagged, NpgsqlDbType = NpgsqlDbType.Double });
            command.Parameters.Add(new NpgsqlParameter { Value = c.FraudAmountUnflagged, NpgsqlDbType = NpgsqlDbType.Double });
            command.Parameters.Add(new NpgsqlParameter { Value = c.FraudDelays, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
            batch.BatchCommands.Add(command);
        }

        if (batch.BatchCommands.Count > 0) await batch.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Every version's day rows of a model over the days [<paramref name="from"/>, <paramref name="to"/>].</summary>
    public async Task<IReadOnlyList<PerformanceDay>> ReadAsync(Guid modelId, DateOnly from, DateOnly to, CancellationToken cancellationToken)
    {
        const string sql = $"""
            SELECT {Columns}
            FROM performance_counts c JOIN model_versions v ON v.id = c.model_version_id
            WHERE v.registered_model_id = @modelId AND c.day >= @from::date AND c.day <= @to::date
            """;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<DayKey, PerformanceCounts, PerformanceDay>(
            new CommandDefinition(sql, new { modelId, from = from.ToDateTime(TimeOnly.MinValue), to = to.ToDateTime(TimeOnly.MinValue) }, cancellationToken: cancellationToken),
            (key, counts) => new PerformanceDay(key.ModelVersionId, DateOnly.FromDateTime(key.Day), counts), splitOn: "rows");
        return [.. rows];
    }

    /// <summary>The fraud labels' delays per day of a model's predictions from <paramref name="from"/> on, for the label-arrival curve.</summary>
    public async Task<IReadOnlyList<(DateOnly Day, long[] Delays)>> DelaysAsync(Guid modelId, DateOnly from, CancellationToken cancellationToken)
    {
        const string sql = """
            SELECT c.day, c.fraud_delays
            FROM performance_counts c JOIN model_versions v ON v.id = c.model_version_id
            WHERE v.registered_model_id = @modelId AND c.day >= @from::date AND c.fraud_flagged + c.fraud_unflagged > 0
            """;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<(DateTime Day, long[] Delays)>(new CommandDefinition(sql, new { modelId, from = from.ToDateTime(TimeOnly.MinValue) }, cancellationToken: cancellationToken));
        return [.. rows.Select(r => (DateOnly.FromDateTime(r.Day), r.Delays))];
    }

    public async Task<PerformanceConfig> ConfigAsync(Guid modelId, CancellationToken cancellationToken)
    {
        const string sql = "SELECT performance::text FROM registered_models WHERE id = @modelId";
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var json = await connection.ExecuteScalarAsync<string?>(new CommandDefinition(sql, new { modelId }, cancellationToken: cancellationToken));
        return json is null ? PerformanceConfig.Default : JsonSerializer.Deserialize<PerformanceConfig>(json, Data.DatasetSchema.Json) ?? PerformanceConfig.Default;
    }

    /// <summary>Stores a model's settings and audits the change with what they were before.</summary>
    public async Task SaveConfigAsync(Guid modelId, string modelName, PerformanceConfig config, string actor, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        const string before = "SELECT performance::text FROM registered_models WHERE id = @modelId FOR UPDATE";
        var previous = await connection.ExecuteScalarAsync<string?>(new CommandDefinition(before, new { modelId }, transaction, cancellationToken: cancellationToken));
        const string sql = "UPDATE registered_models SET performance = @json::jsonb WHERE id = @modelId";
        var json = JsonSerializer.Serialize(config, Data.DatasetSchema.Json);
        await connection.ExecuteAsync(new CommandDefinition(sql, new { modelId, json }, transaction, cancellationToken: cancellationToken));
        previous ??= JsonSerializer.Serialize(PerformanceConfig.Default, Data.DatasetSchema.Json);
        await AuditLog.WriteAsync(transaction, time.GetUtcNow().UtcDateTime, actor, "model.performance", "registered-model", modelName,
            new { before = JsonSerializer.Deserialize<JsonElement>(previous), after = JsonSerializer.Deserialize<JsonElement>(json) }, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }
}
