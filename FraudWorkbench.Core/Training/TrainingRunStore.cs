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
        result::text AS result_json, model_artifact, error, duration_ms, created_by, created_at, finished_at, name, description
        """;

    /// <param name="request">Its name and description go to their own columns (they can change; the config cannot).</param>
    public async Task CreateAsync(Guid id, Guid jobId, TrainingRunRequest request, string actor, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().UtcDateTime;
        const string sql = """
            INSERT INTO training_runs (id, job_id, dataset_id, dataset_version, feature_set_version_id, config, status, created_by, created_at, name, description)
            VALUES (@id, @jobId, @DatasetId, @DatasetVersion, @FeatureSetVersionId, @config::jsonb, 'queued', @actor, @now, @Name, @Description)
            """;
        await transaction.Connection!.ExecuteAsync(new CommandDefinition(sql, new
        {
            id, jobId, request.DatasetId, request.DatasetVersion, request.FeatureSetVersionId,
            config = JsonSerializer.Serialize(request with { Name = null, Description = null }, DatasetSchema.Json), actor, now, request.Name, request.Description,
        }, transaction, cancellationToken: cancellationToken));
        await AuditLog.WriteAsync(transaction, now, actor, "training-run.create", "training-run", id.ToString(), new { request.Name, request.Trainer?.Trainer, request.Imbalance?.Strategy }, cancellationToken);
    }

    /// <summary>Renames a run and sets its description (null clears it); null when there is no such run.</summary>
    public async Task<TrainingRun?> DescribeAsync(Guid id, string name, string? description, string actor, CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow().UtcDateTime;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var before = await connection.QuerySingleOrDefaultAsync<(string? Name, string? Description)>(new CommandDefinition(
            "SELECT name, description FROM training_runs WHERE id = @id FOR UPDATE", new { id }, transaction, cancellationToken: cancellationToken));
        const string sql = "UPDATE training_runs SET name = @name, description = @description WHERE id = @id";
        if (await connection.ExecuteAsync(new CommandDefinition(sql, new { id, name, description }, transaction, cancellationToken: cancellationToken)) == 0) return null;
        await AuditLog.WriteAsync(transaction, now, actor, "training-run.describe", "training-run", id.ToString(),
            new { name = new { before.Name, after = name }, description = new { before.Description, after = description } }, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return await GetAsync(id, cancellationToken);
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
