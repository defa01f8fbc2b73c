using Dapper;
using Npgsql;

namespace FraudWorkbench.Core.Performance;

/// <summary>Labels received in a period, and how many of them say fraud.</summary>
public sealed record LabelCount(long Labels, long Fraud)
{
    public double? FraudShare => Labels > 0 ? (double)Fraud / Labels : null;
}

/// <summary>How a model's labels are arriving: received in the last day, week and 30 days, and the last one's time.</summary>
/// <param name="LastReceivedAt">When the newest label for any of the model's predictions arrived; null when none ever did.</param>
/// <param name="At">The time the periods end at.</param>
public sealed record LabelStats(LabelCount Last24Hours, LabelCount Last7Days, LabelCount Last30Days, DateTime? LastReceivedAt, DateTime At)
{
    /// <summary>Beyond this many days without a label the feed is called stale: realized performance then stops moving.</summary>
    public const int StaleDays = 14;

    /// <summary>Whole days since the last label; null when there never was one.</summary>
    public int? DaysSinceLast => LastReceivedAt is { } last ? (int)Math.Floor((At - last).TotalDays) : null;

    public bool Stale => DaysSinceLast is not { } days || days > StaleDays;
}

/// <summary>Reads <see cref="LabelStats"/> from <c>prediction_feedback</c> by its <c>received_at</c> (a label changed later counts when it changed).</summary>
public sealed class LabelStatsStore(NpgsqlDataSource dataSource, TimeProvider time)
{
    public async Task<LabelStats> ReadAsync(Guid modelId, CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var (day, week, month) = (now.AddHours(-24), now.AddDays(-7), now.AddDays(-30));
        // Only the last 30 days' labels are read (the received_at index); the join to predictions carries the partition key.
        const string sql = """
            SELECT count(*) FILTER (WHERE f.received_at >= @day) AS day_labels,
                   count(*) FILTER (WHERE f.received_at >= @day AND f.is_fraud) AS day_fraud,
                   count(*) FILTER (WHERE f.received_at >= @week) AS week_labels,
                   count(*) FILTER (WHERE f.received_at >= @week AND f.is_fraud) AS week_fraud,
                   count(*) AS month_labels,
                   count(*) FILTER (WHERE f.is_fraud) AS month_fraud,
                   max(f.received_at) AS last_received
            FROM prediction_feedback f
            JOIN predictions p ON p.id = f.prediction_id AND p.created_at = f.prediction_created_at
            JOIN model_versions v ON v.id = p.model_version_id
            WHERE v.registered_model_id = @modelId AND f.received_at >= @month AND f.received_at <= @now
            """;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var row = await connection.QuerySingleAsync<(long DayLabels, long DayFraud, long WeekLabels, long WeekFraud, long MonthLabels, long MonthFraud, DateTime? LastReceived)>(
            new CommandDefinition(sql, new { modelId, day, week, month, now }, cancellationToken: cancellationToken));
        var last = row.LastReceived;
        if (last is null)
        {
            // Quiet for a month: how long exactly is worth one wider look (newest first, so it stops at the first match).
            const string older = """
                SELECT f.received_at
                FROM prediction_feedback f
                JOIN predictions p ON p.id = f.prediction_id AND p.created_at = f.prediction_created_at
                JOIN model_versions v ON v.id = p.model_version_id
                WHERE v.registered_model_id = @modelId AND f.received_at < @month
                ORDER BY f.received_at DESC
                LIMIT 1
                """;
            last = await connection.ExecuteScalarAsync<DateTime?>(new CommandDefinition(older, new { modelId, month }, cancellationToken: cancellationToken));
        }

        return new LabelStats(new(row.DayLabels, row.DayFraud), new(row.WeekLabels, row.WeekFraud), new(row.MonthLabels, row.MonthFraud),
            last is { } t ? DateTime.SpecifyKind(t, DateTimeKind.Utc) : null, now);
    }
}
