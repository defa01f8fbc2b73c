using System.Text.Json;
using Dapper;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Events;
using FraudWorkbench.Core.Jobs;
using FraudWorkbench.Core.Registry;
using Npgsql;

namespace FraudWorkbench.Core.Fairness;

[EventName("model.fairness-changed")]
public sealed record FairnessChanged(Guid ModelVersionId);

public sealed record FairnessPayload(Guid VersionId);

/// <summary>The holdout fairness report of each version, one per version, replaced when computed again.</summary>
public sealed class FairnessStore(NpgsqlDataSource dataSource, EventHub events, TimeProvider time)
{
    /// <summary>Queues the computation; the last report stays readable until the new one replaces it.</summary>
    public async Task<Job> StartAsync(ModelVersion version, string actor, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var job = await JobStore.InsertAsync(transaction, FairnessJobHandler.KindName, new FairnessPayload(version.Id), actor, 2, time, cancellationToken);
        const string sql = """
            INSERT INTO model_fairness (model_version_id, job_id) VALUES (@id, @jobId)
            ON CONFLICT (model_version_id) DO UPDATE SET job_id = excluded.job_id
            """;
        await connection.ExecuteAsync(new CommandDefinition(sql, new { id = version.Id, jobId = job.Id }, transaction, cancellationToken: cancellationToken));
        await transaction.CommitAsync(cancellationToken);
        await events.PublishAsync(JobChanged.From(job), CancellationToken.None);
        return job;
    }

    /// <summary>The version's latest job and report (null report while the first computation runs); null when never asked for.</summary>
    public async Task<(Guid JobId, FairnessReport? Report)?> GetAsync(Guid versionId, CancellationToken cancellationToken = default)
    {
        const string sql = "SELECT job_id, result::text FROM model_fairness WHERE model_version_id = @versionId";
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<(Guid JobId, string? Result)?>(new CommandDefinition(sql, new { versionId }, cancellationToken: cancellationToken));
        return row is { } r ? (r.JobId, r.Result is null ? null : JsonSerializer.Deserialize<FairnessReport>(r.Result, DatasetSchema.Json)) : null;
    }

    /// <summary>Records an exported report file and its SHA-256 in the audit log, so a file handed around can be checked against it.</summary>
    public async Task RecordExportAsync(FairnessReport report, string format, string sha256, string actor, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await AuditLog.WriteAsync(transaction, time.GetUtcNow().UtcDateTime, actor, "fairness.export", "model-version", report.VersionId.ToString(),
            new { format, sha256, model = report.Model, version = report.Version, subject = report.Subject, computedAt = report.ComputedAt }, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>Keeps a report the validation gate computed as the version's report; the gate's job is the one the tab follows.</summary>
    public async Task SaveFromGateAsync(FairnessReport report, Guid gateJobId, CancellationToken cancellationToken)
    {
        const string sql = """
            INSERT INTO model_fairness (model_version_id, job_id, result, computed_at) VALUES (@versionId, @jobId, @json::jsonb, @at)
            ON CONFLICT (model_version_id) DO UPDATE SET job_id = excluded.job_id, result = excluded.result, computed_at = excluded.computed_at
            """;
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        {
            await connection.ExecuteAsync(new CommandDefinition(sql,
                new { versionId = report.VersionId, jobId = gateJobId, json = JsonSerializer.Serialize(report, DatasetSchema.Json), at = report.ComputedAt }, cancellationToken: cancellationToken));
        }

        await events.PublishAsync(new FairnessChanged(report.VersionId), CancellationToken.None);
    }

    public async Task SaveAsync(FairnessReport report, CancellationToken cancellationToken)
    {
        const string sql = "UPDATE model_fairness SET result = @json::jsonb, computed_at = @at WHERE model_version_id = @versionId";
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        {
            await connection.ExecuteAsync(new CommandDefinition(sql,
                new { versionId = report.VersionId, json = JsonSerializer.Serialize(report, DatasetSchema.Json), at = report.ComputedAt }, cancellationToken: cancellationToken));
        }

        await events.PublishAsync(new FairnessChanged(report.VersionId), CancellationToken.None);
    }
}
