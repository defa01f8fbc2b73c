using Dapper;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Db;
using FraudWorkbench.Core.Jobs;
using FraudWorkbench.Core.Monitoring;
using Microsoft.Extensions.Options;
using Npgsql;

namespace FraudWorkbench.Core.Scoring;

/// <summary>
/// The daily housekeeping of the partitioned tables: creates the days ahead, then drops the prediction log's days older
/// than <see cref="ScoringOptions.PredictionRetentionDays"/> (their labels first) and the monitoring tables' days older
/// than <see cref="MonitoringOptions.RetentionDays"/>. Dropping a partition costs the same whatever it holds, where
/// deleting 1M rows a day would bloat the table and the WAL.
/// </summary>
public sealed class PredictionRetentionJobHandler(
    NpgsqlDataSource dataSource, PartitionMaintenance partitions, IOptions<ScoringOptions> options, IOptions<MonitoringOptions> monitoringOptions, TimeProvider time)
    : IJobHandler
{
    public const string KindName = "predictions.retention";

    public string Kind => KindName;

    public async Task<object?> ExecuteAsync(JobContext context, CancellationToken cancellationToken)
    {
        var created = await partitions.CreateAheadAsync(cancellationToken);
        await context.ReportAsync(20, $"created {created.Count} partitions ahead", cancellationToken);

        var now = time.GetUtcNow().UtcDateTime;
        var days = options.Value.PredictionRetentionDays;
        var cutoff = now.AddDays(-days);
        var predictions = await partitions.DropOlderThanAsync(PartitionMaintenance.Predictions, cutoff, cancellationToken);
        await context.ReportAsync(60, $"deleted {predictions.Rows:N0} predictions", cancellationToken);

        var monitoringDays = monitoringOptions.Value.RetentionDays;
        var monitoringCutoff = now.AddDays(-monitoringDays);
        var monitoring = new List<PartitionDrop>();
        foreach (var table in PartitionMaintenance.Monitoring)
        {
            monitoring.Add(await partitions.DropOlderThanAsync(table, monitoringCutoff, cancellationToken));
        }

        // Performance keeps one row per version and day (a few hundred a year), the request counts one per minute of
        // traffic: deleted, not partitioned.
        int performanceDays, requestMinutes;
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        {
            const string sql = "DELETE FROM performance_counts WHERE day < @cutoff::date";
            performanceDays = await connection.ExecuteAsync(new CommandDefinition(sql, new { cutoff = monitoringCutoff.Date }, cancellationToken: cancellationToken));
            const string requests = "DELETE FROM scoring_requests WHERE minute < @cutoff";
            requestMinutes = await connection.ExecuteAsync(new CommandDefinition(requests, new { cutoff = monitoringCutoff }, cancellationToken: cancellationToken));
        }

        var predictionSummary = new
        {
            deleted = predictions.Rows, labels = predictions.DependentRows, partitions = predictions.Partitions, cutoff, days, created = created.Count,
        };
        var monitoringSummary = new
        {
            deleted = monitoring.Sum(d => d.Rows), performanceDays, requestMinutes, partitions = monitoring.SelectMany(d => d.Partitions).ToList(), cutoff = monitoringCutoff, days = monitoringDays,
        };
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            await AuditLog.WriteAsync(transaction, time.GetUtcNow().UtcDateTime, context.Job.CreatedBy, "predictions.retention", "prediction", null, predictionSummary, cancellationToken);
            await AuditLog.WriteAsync(transaction, time.GetUtcNow().UtcDateTime, context.Job.CreatedBy, "monitoring.retention", "monitoring", null, monitoringSummary, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }

        return new { predictions = predictionSummary, monitoring = monitoringSummary };
    }
}

/// <summary>The daily run of <see cref="PredictionRetentionJobHandler"/>: once per UTC day, the missed day alone after downtime.</summary>
public static class PredictionRetentionSchedule
{
    public const string Actor = "system:retention";

    public static readonly RecurringJob Daily = new(PredictionRetentionJobHandler.KindName, TimeSpan.FromDays(1), Actor, CatchUpWindows: 1);
}
