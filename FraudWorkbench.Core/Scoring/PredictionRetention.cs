using Dapper;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Jobs;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
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

/// <summary>Queues the retention job once a day, across all instances (the check and the insert share an advisory lock).</summary>
public sealed class PredictionRetentionScheduler(NpgsqlDataSource dataSource, TimeProvider time, ILogger<PredictionRetentionScheduler> logger) : BackgroundService
{
    public const string Actor = "system:retention";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromHours(1), time);
        do
        {
            try
            {
                await EnqueueIfDueAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogWarning(ex, "Could not schedule prediction retention; trying again in an hour");
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <summary>Queues a retention job unless one was queued in the last 24 hours. True when it queued one.</summary>
    public async Task<bool> EnqueueIfDueAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition("SELECT pg_advisory_xact_lock(hashtextextended('predictions.retention', 0))", transaction: transaction, commandTimeout: 0, cancellationToken: cancellationToken));
        const string sql = "SELECT EXISTS (SELECT 1 FROM jobs WHERE kind = @kind AND created_at > @since)";
        var recent = await connection.ExecuteScalarAsync<bool>(new CommandDefinition(sql, new
        {
            kind = PredictionRetentionJobHandler.KindName, since = time.GetUtcNow().UtcDateTime.AddHours(-24),
        }, transaction, cancellationToken: cancellationToken));
        if (recent) return false;
        await JobStore.InsertAsync(transaction, PredictionRetentionJobHandler.KindName, new { }, Actor, 2, time, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return true;
    }
}
