using Dapper;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Jobs;
using Microsoft.Extensions.Options;
using Npgsql;

namespace FraudWorkbench.Core.Scoring;

/// <summary>Deletes predictions (and their labels) older than the retention period, in chunks, as a job.</summary>
public sealed class PredictionRetentionJobHandler(NpgsqlDataSource dataSource, IOptions<ScoringOptions> options, TimeProvider time) : IJobHandler
{
    public const string KindName = "predictions.retention";
    private const int Chunk = 10_000;

    public string Kind => KindName;

    public async Task<object?> ExecuteAsync(JobContext context, CancellationToken cancellationToken)
    {
        var days = options.Value.PredictionRetentionDays;
        var cutoff = time.GetUtcNow().UtcDateTime.AddDays(-days);
        long deleted = 0;
        while (true)
        {
            await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
            const string sql = "DELETE FROM predictions WHERE id IN (SELECT id FROM predictions WHERE created_at < @cutoff LIMIT @chunk)";
            var n = await connection.ExecuteAsync(new CommandDefinition(sql, new { cutoff, chunk = Chunk }, cancellationToken: cancellationToken));
            deleted += n;
            if (n < Chunk) break;
            await context.ReportAsync(50, $"deleted {deleted:N0} predictions so far", cancellationToken);
        }

        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            await AuditLog.WriteAsync(transaction, time.GetUtcNow().UtcDateTime, context.Job.CreatedBy, "predictions.retention", "prediction", null, new { deleted, cutoff, days }, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }

        return new { deleted, cutoff, days };
    }
}

/// <summary>The daily run of <see cref="PredictionRetentionJobHandler"/>: once per UTC day, the missed day alone after downtime.</summary>
public static class PredictionRetentionSchedule
{
    public const string Actor = "system:retention";

    public static readonly RecurringJob Daily = new(PredictionRetentionJobHandler.KindName, TimeSpan.FromDays(1), Actor, CatchUpWindows: 1);
}
