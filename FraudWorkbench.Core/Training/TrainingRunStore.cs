using System.Text.Json;
using Dapper;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Data;
using Npgsql;

namespace FraudWorkbench.Core.Training;

public sealed class TrainingRunStore(NpgsqlDataSource dataSource, TimeProvider time)
{
    private const string Columns = """
        id, job_id, dataset_id, dataset_version, feature_set_version_id, config::text AS config_json, status,
        result::text AS result_json, model_artifact, error, duration_ms, created_by, created_at, finished_at
        """;

    public async Task CreateAsync(Guid id, Guid jobId, TrainingRunRequest request, string actor, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().UtcDateTime;
        const string sql = """
            INSERT INTO training_runs (id, job_id, dataset_id, dataset_version, feature_set_version_id, config, status, created_by, created_at)
            VALUES (@id, @jobId, @DatasetId, @DatasetVersion, @FeatureSetVersionId, @config::jsonb, 'queued', @actor, @now)
            """;
        await transaction.Connection!.ExecuteAsync(new CommandDefinition(sql, new
        {
            id, jobId, request.DatasetId, request.DatasetVersion, request.FeatureSetVersionId,
            config = JsonSerializer.Serialize(request, DatasetSchema.Json), actor, now,
        }, transaction, cancellationToken: cancellationToken));
        await AuditLog.WriteAsync(transaction, now, actor, "training-run.create", "training-run", id.ToString(), new { request.Trainer?.Trainer, request.Imbalance?.Strategy }, cancellationToken);
    }

    public async Task SetStatusAsync(Guid id, string status, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition("UPDATE training_runs SET status = @status WHERE id = @id", new { id, status }, cancellationToken: cancellationToken));
    }

    public async Task CompleteAsync(Guid id, TrainingResult result, string modelArtifact, long durationMs, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        const string sql = """
            UPDATE training_runs SET status = 'succeeded', result = @json::jsonb, model_artifact = @modelArtifact, duration_ms = @durationMs, finished_at = @now, error = NULL
            WHERE id = @id
            """;
        await connection.ExecuteAsync(new CommandDefinition(sql, new
        {
            id, json = JsonSerializer.Serialize(result, DatasetSchema.Json), modelArtifact, durationMs, now = time.GetUtcNow().UtcDateTime,
        }, cancellationToken: cancellationToken));
    }

    public async Task FailAsync(Guid id, string status, string error, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        const string sql = "UPDATE training_runs SET status = @status, error = @error, finished_at = @now WHERE id = @id";
        await connection.ExecuteAsync(new CommandDefinition(sql, new { id, status, error, now = time.GetUtcNow().UtcDateTime }, cancellationToken: cancellationToken));
    }

    public async Task<TrainingRun?> GetAsync(Guid id, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<TrainingRun>(new CommandDefinition($"SELECT {Columns} FROM training_runs WHERE id = @id", new { id }, cancellationToken: cancellationToken));
    }

    public async Task<IReadOnlyList<TrainingRun>> ListAsync(int limit = 200, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return [.. await connection.QueryAsync<TrainingRun>(new CommandDefinition($"SELECT {Columns} FROM training_runs ORDER BY created_at DESC LIMIT @limit", new { limit }, cancellationToken: cancellationToken))];
    }
}
