using System.Text.Json;
using Dapper;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Events;
using Npgsql;

namespace FraudWorkbench.Core.Fairness;

/// <summary>The daily production fairness windows of a model were (re)computed.</summary>
[EventName("model.fairness-windows")]
public sealed record FairnessWindowsComputed(string Model);

/// <summary>What a stored day window was computed from: when a day's labels no longer match it, or the day became mature, it is computed again.</summary>
public sealed record FairnessWindowState(Guid VersionId, DateOnly Day, long Labels, long FraudLabels, DateTime? LastLabelAt, bool Mature);

/// <summary>A model version's traffic on one day (from the performance day rows, written as predictions are logged).</summary>
public sealed record VersionDay(Guid VersionId, Guid ModelId, string Model, DateOnly Day, long Predictions);

/// <summary>One stored day window, with one grouping of it.</summary>
public sealed record StoredFairnessWindow(
    Guid VersionId, int Version, DateOnly Day, long Predictions, int Sampled, double Maturity, bool Mature, ProductionGrouping? Grouping, DateTime ComputedAt);

/// <summary>Reads logged predictions with their labels for production fairness and keeps its daily windows (<c>fairness_windows</c>).</summary>
public sealed class ProductionFairnessStore(NpgsqlDataSource dataSource, EventHub events)
{
    /// <summary>
    /// The version's predictions in [<paramref name="from"/>, <paramref name="to"/>) with their labels and the values of
    /// <paramref name="columns"/> in their request, at most <paramref name="cap"/>: beyond it those with the smallest hash
    /// of their id, a uniform sample that is the same on every run. Also how many there are in all.
    /// </summary>
    public async Task<(long Total, List<ProductionRow> Rows)> ReadAsync(
        Guid versionId, DateTime from, DateTime to, IReadOnlyList<string> columns, int cap, int seed, CancellationToken cancellationToken)
    {
        // The sample is chosen on the narrow columns first; only the chosen rows' requests are read.
        const string sql = """
            WITH chosen AS (
                SELECT id, created_at, count(*) OVER () AS total
                FROM predictions
                WHERE model_version_id = @versionId AND created_at >= @from AND created_at < @to
                ORDER BY hashtextextended(id::text, @seed)
                LIMIT @cap)
            SELECT c.total, p.created_at, p.probability, f.is_fraud,
                   (SELECT jsonb_agg(p.input -> u.k ORDER BY u.i) FROM unnest(@columns::text[]) WITH ORDINALITY AS u(k, i))::text AS cells
            FROM chosen c
            JOIN predictions p ON p.id = c.id AND p.created_at = c.created_at
            LEFT JOIN prediction_feedback f ON f.prediction_id = c.id AND f.prediction_created_at = c.created_at
            """;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var found = await connection.QueryAsync<(long Total, DateTime CreatedAt, double Probability, bool? IsFraud, string? Cells)>(new CommandDefinition(sql,
            new { versionId, from = Utc(from), to = Utc(to), seed = (long)seed, cap, columns = columns.ToArray() }, commandTimeout: 0, cancellationToken: cancellationToken));
        long total = 0;
        var rows = new List<ProductionRow>();
        foreach (var r in found)
        {
            total = r.Total;
            rows.Add(new ProductionRow(DateTime.SpecifyKind(r.CreatedAt, DateTimeKind.Utc), r.Probability, r.IsFraud, Cells(r.Cells, columns.Count)));
        }

        return (total, rows);
    }

    /// <summary>A JSON value as the CSV cell it stands for: strings as they are, numbers and booleans as written, null and absent as missing.</summary>
    private static string?[] Cells(string? json, int count)
    {
        var cells = new string?[count];
        if (json is null) return cells;
        using var document = JsonDocument.Parse(json);
        var i = 0;
        foreach (var value in document.RootElement.EnumerateArray())
        {
            if (i >= count) break;
            cells[i++] = value.ValueKind switch
            {
                JsonValueKind.String => value.GetString(),
                JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => value.GetRawText(),
                _ => null,
            };
        }

        return cells;
    }

    /// <summary>Every model version's traffic per day over [<paramref name="from"/>, <paramref name="to"/>].</summary>
    public async Task<IReadOnlyList<VersionDay>> TrafficAsync(DateOnly from, DateOnly to, CancellationToken cancellationToken)
    {
        const string sql = """
            SELECT c.model_version_id, v.registered_model_id, m.name, c.day, c.rows
            FROM performance_counts c JOIN model_versions v ON v.id = c.model_version_id JOIN registered_models m ON m.id = v.registered_model_id
            WHERE c.day >= @from::date AND c.day <= @to::date AND c.rows > 0
            ORDER BY m.name, c.day, c.model_version_id
            """;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<(Guid VersionId, Guid ModelId, string Model, DateTime Day, long Rows)>(new CommandDefinition(sql,
            new { from = from.ToDateTime(TimeOnly.MinValue), to = to.ToDateTime(TimeOnly.MinValue) }, cancellationToken: cancellationToken));
        return [.. rows.Select(r => new VersionDay(r.VersionId, r.ModelId, r.Model, DateOnly.FromDateTime(r.Day), r.Rows))];
    }

    /// <summary>Per version and day of the predictions in [<paramref name="from"/>, <paramref name="to"/>]: their labels now (count, fraud, the latest arrival).</summary>
    public async Task<IReadOnlyDictionary<(Guid VersionId, DateOnly Day), (long Labels, long Fraud, DateTime? Last)>> LabelsAsync(
        DateOnly from, DateOnly to, CancellationToken cancellationToken)
    {
        const string sql = """
            SELECT p.model_version_id, (f.prediction_created_at AT TIME ZONE 'UTC')::date AS day, count(*) AS labels,
                   count(*) FILTER (WHERE f.is_fraud) AS fraud, max(f.received_at) AS last
            FROM prediction_feedback f JOIN predictions p ON p.id = f.prediction_id AND p.created_at = f.prediction_created_at
            WHERE f.prediction_created_at >= @from AND f.prediction_created_at < @to
            GROUP BY 1, 2
            """;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<(Guid VersionId, DateTime Day, long Labels, long Fraud, DateTime? Last)>(new CommandDefinition(sql,
            new { from = Utc(from.ToDateTime(TimeOnly.MinValue)), to = Utc(to.AddDays(1).ToDateTime(TimeOnly.MinValue)) }, cancellationToken: cancellationToken));
        return rows.ToDictionary(r => (r.VersionId, DateOnly.FromDateTime(r.Day)), r => (r.Labels, r.Fraud, r.Last is { } l ? Utc(l) : (DateTime?)null));
    }

    /// <summary>What the stored windows over [<paramref name="from"/>, <paramref name="to"/>] were computed from.</summary>
    public async Task<IReadOnlyDictionary<(Guid VersionId, DateOnly Day), FairnessWindowState>> StatesAsync(DateOnly from, DateOnly to, CancellationToken cancellationToken)
    {
        const string sql = """
            SELECT model_version_id, day, labels, fraud_labels, last_label_at, mature
            FROM fairness_windows WHERE day >= @from::date AND day <= @to::date
            """;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<(Guid VersionId, DateTime Day, long Labels, long Fraud, DateTime? Last, bool Mature)>(new CommandDefinition(sql,
            new { from = from.ToDateTime(TimeOnly.MinValue), to = to.ToDateTime(TimeOnly.MinValue) }, cancellationToken: cancellationToken));
        return rows.ToDictionary(r => (r.VersionId, DateOnly.FromDateTime(r.Day)),
            r => new FairnessWindowState(r.VersionId, DateOnly.FromDateTime(r.Day), r.Labels, r.Fraud, r.Last is { } l ? Utc(l) : null, r.Mature));
    }

    /// <summary>Stores (or replaces) one day window.</summary>
    public async Task SaveAsync(Guid modelId, ProductionFairnessReport report, FairnessWindowState state, CancellationToken cancellationToken)
    {
        const string sql = """
            INSERT INTO fairness_windows (model_version_id, day, registered_model_id, predictions, sampled, labels, fraud_labels, last_label_at, mature, result, computed_at)
            VALUES (@versionId, @day::date, @modelId, @predictions, @sampled, @labels, @fraud, @last, @mature, @json::jsonb, @at)
            ON CONFLICT (model_version_id, day) DO UPDATE SET
                predictions = excluded.predictions, sampled = excluded.sampled, labels = excluded.labels, fraud_labels = excluded.fraud_labels,
                last_label_at = excluded.last_label_at, mature = excluded.mature, result = excluded.result, computed_at = excluded.computed_at
            """;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(sql, new
        {
            versionId = report.VersionId, day = report.From.ToDateTime(TimeOnly.MinValue), modelId, predictions = report.Predictions, sampled = report.Sampled,
            labels = state.Labels, fraud = state.FraudLabels, last = state.LastLabelAt is { } l ? Utc(l) : (DateTime?)null, mature = state.Mature,
            json = JsonSerializer.Serialize(report, DatasetSchema.Json), at = Utc(report.ComputedAt),
        }, cancellationToken: cancellationToken));
    }

    public Task PublishAsync(string model) => events.PublishAsync(new FairnessWindowsComputed(model), CancellationToken.None);

    /// <summary>The model's stored day windows over [<paramref name="from"/>, <paramref name="to"/>], each with the grouping named (default: each window's first).</summary>
    public async Task<IReadOnlyList<StoredFairnessWindow>> WindowsAsync(Guid modelId, DateOnly from, DateOnly to, string? grouping, CancellationToken cancellationToken)
    {
        // Only the grouping asked for leaves the database, not every grouping of every day.
        const string sql = """
            SELECT w.model_version_id, v.version, w.day, w.predictions, w.sampled, (w.result ->> 'maturity')::double precision AS maturity, w.mature,
                   (CASE WHEN @grouping::text IS NULL THEN w.result -> 'groupings' -> 0
                         ELSE jsonb_path_query_first(w.result, '$.groupings[*] ? (@.name == $g)', jsonb_build_object('g', @grouping::text)) END)::text AS grouping,
                   w.computed_at
            FROM fairness_windows w JOIN model_versions v ON v.id = w.model_version_id
            WHERE w.registered_model_id = @modelId AND w.day >= @from::date AND w.day <= @to::date
            ORDER BY w.day, v.version
            """;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<(Guid VersionId, int Version, DateTime Day, long Predictions, int Sampled, double Maturity, bool Mature, string? Grouping, DateTime ComputedAt)>(
            new CommandDefinition(sql, new { modelId, from = from.ToDateTime(TimeOnly.MinValue), to = to.ToDateTime(TimeOnly.MinValue), grouping }, cancellationToken: cancellationToken));
        return [.. rows.Select(r => new StoredFairnessWindow(r.VersionId, r.Version, DateOnly.FromDateTime(r.Day), r.Predictions, r.Sampled, r.Maturity, r.Mature,
            r.Grouping is null ? null : JsonSerializer.Deserialize<ProductionGrouping>(r.Grouping, DatasetSchema.Json), Utc(r.ComputedAt)))];
    }

    /// <summary>The groupings of the model's latest stored window in the range (what the series can be asked for).</summary>
    public async Task<IReadOnlyList<string>> GroupingNamesAsync(Guid modelId, DateOnly from, DateOnly to, CancellationToken cancellationToken)
    {
        const string sql = """
            SELECT jsonb_path_query_array(result, '$.groupings[*].name')::text
            FROM fairness_windows WHERE registered_model_id = @modelId AND day >= @from::date AND day <= @to::date
            ORDER BY day DESC, computed_at DESC LIMIT 1
            """;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var json = await connection.ExecuteScalarAsync<string?>(new CommandDefinition(sql,
            new { modelId, from = from.ToDateTime(TimeOnly.MinValue), to = to.ToDateTime(TimeOnly.MinValue) }, cancellationToken: cancellationToken));
        return json is null ? [] : JsonSerializer.Deserialize<List<string>>(json) ?? [];
    }

    private static DateTime Utc(DateTime value) => value.Kind == DateTimeKind.Utc ? value : DateTime.SpecifyKind(value, DateTimeKind.Utc);
}
