using System.Text.Json;
using Dapper;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Data;
using Npgsql;

namespace FraudWorkbench.Core.Registry;

/// <summary>Registered models, their versions and stages, the stage history and incidents.</summary>
public sealed class RegistryStore(NpgsqlDataSource dataSource, TimeProvider time)
{
    private const string VersionColumns = """
        v.id, v.registered_model_id, m.name AS model_name, v.version, v.run_id, v.stage, array_to_string(v.tags, chr(31)) AS tag_list, v.notes, v.gate_status,
        v.gate_result::text AS gate_result_json, v.gate_job_id, v.override_reason, v.created_by, v.created_at
        """;

    private DateTime Now => time.GetUtcNow().UtcDateTime;

    public async Task<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken) => await dataSource.OpenConnectionAsync(cancellationToken);

    public async Task<RegisteredModel?> GetModelAsync(string name, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        const string sql = "SELECT id, name, description, gate::text AS gate_json, created_by, created_at FROM registered_models WHERE lower(name) = lower(@name)";
        return await connection.QuerySingleOrDefaultAsync<RegisteredModel>(new CommandDefinition(sql, new { name }, cancellationToken: cancellationToken));
    }

    /// <summary>The oldest registered model: the one scoring uses when neither the request nor the configuration names one.</summary>
    public async Task<string?> OldestModelNameAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<string>(new CommandDefinition("SELECT name FROM registered_models ORDER BY created_at, name LIMIT 1", cancellationToken: cancellationToken));
    }

    public async Task<IReadOnlyList<RegisteredModelSummary>> ListModelsAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        const string sql = """
            SELECT m.id, m.name, m.description, count(v.id)::int AS versions, max(v.version) AS latest_version,
                   max(v.version) FILTER (WHERE v.stage = 'production') AS production_version, m.created_at
            FROM registered_models m LEFT JOIN model_versions v ON v.registered_model_id = m.id
            GROUP BY m.id ORDER BY m.name
            """;
        return [.. await connection.QueryAsync<RegisteredModelSummary>(new CommandDefinition(sql, cancellationToken: cancellationToken))];
    }

    /// <summary>Creates the registered model if it does not exist yet (inside the caller's transaction) and locks its row.</summary>
    public async Task<RegisteredModel> EnsureModelAsync(NpgsqlTransaction transaction, string name, string actor, CancellationToken cancellationToken)
    {
        var now = Now;
        const string insert = """
            INSERT INTO registered_models (id, name, description, gate, created_by, created_at)
            VALUES (@id, @name, '', @gate::jsonb, @actor, @now)
            ON CONFLICT ((lower(name))) DO NOTHING
            RETURNING id
            """;
        var id = Guid.CreateVersion7(time.GetUtcNow());
        var created = await transaction.Connection!.QuerySingleOrDefaultAsync<Guid?>(new CommandDefinition(insert, new
        {
            id, name, gate = JsonSerializer.Serialize(GateSettings.Default, DatasetSchema.Json), actor, now,
        }, transaction, cancellationToken: cancellationToken));
        if (created is not null) await AuditLog.WriteAsync(transaction, now, actor, "model.create", "registered-model", name, new { name }, cancellationToken);
        const string select = "SELECT id, name, description, gate::text AS gate_json, created_by, created_at FROM registered_models WHERE lower(name) = lower(@name) FOR UPDATE";
        return await transaction.Connection!.QuerySingleAsync<RegisteredModel>(new CommandDefinition(select, new { name }, transaction, cancellationToken: cancellationToken));
    }

    public async Task UpdateModelAsync(Guid id, string description, GateSettings gate, string actor, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        const string sql = "UPDATE registered_models SET description = @description, gate = @gate::jsonb WHERE id = @id";
        await connection.ExecuteAsync(new CommandDefinition(sql, new { id, description, gate = JsonSerializer.Serialize(gate, DatasetSchema.Json) }, transaction, cancellationToken: cancellationToken));
        await AuditLog.WriteAsync(transaction, Now, actor, "model.update", "registered-model", id.ToString(), new { description, gate }, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    public async Task<ModelVersion> InsertVersionAsync(NpgsqlTransaction transaction, RegisteredModel model, Guid id, Guid runId, IReadOnlyList<string> tags, string notes, Guid gateJobId, string actor, CancellationToken cancellationToken)
    {
        var now = Now;
        const string sql = """
            INSERT INTO model_versions (id, registered_model_id, version, run_id, stage, tags, notes, gate_status, gate_job_id, created_by, created_at)
            VALUES (@id, @modelId, (SELECT coalesce(max(version), 0) + 1 FROM model_versions WHERE registered_model_id = @modelId),
                    @runId, 'candidate', @tags, @notes, 'pending', @gateJobId, @actor, @now)
            """;
        await transaction.Connection!.ExecuteAsync(new CommandDefinition(sql, new
        {
            id, modelId = model.Id, runId, tags = tags.ToArray(), notes, gateJobId, actor, now,
        }, transaction, cancellationToken: cancellationToken));
        await InsertHistoryAsync(transaction, model.Id, id, null, ModelStage.Candidate, "registered from training run " + runId, actor, cancellationToken);
        var version = await GetVersionAsync(transaction.Connection!, transaction, id, cancellationToken);
        await AuditLog.WriteAsync(transaction, now, actor, "model-version.register", "model-version", id.ToString(), new { model = model.Name, version!.Version, runId }, cancellationToken);
        return version;
    }

    public async Task<ModelVersion?> GetVersionAsync(string modelName, int version, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var sql = $"SELECT {VersionColumns} FROM model_versions v JOIN registered_models m ON m.id = v.registered_model_id WHERE lower(m.name) = lower(@modelName) AND v.version = @version";
        return await connection.QuerySingleOrDefaultAsync<ModelVersion>(new CommandDefinition(sql, new { modelName, version }, cancellationToken: cancellationToken));
    }

    public async Task<ModelVersion?> GetVersionAsync(Guid id, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await GetVersionAsync(connection, null, id, cancellationToken);
    }

    private static async Task<ModelVersion?> GetVersionAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, Guid id, CancellationToken cancellationToken)
    {
        var sql = $"SELECT {VersionColumns} FROM model_versions v JOIN registered_models m ON m.id = v.registered_model_id WHERE v.id = @id";
        return await connection.QuerySingleOrDefaultAsync<ModelVersion>(new CommandDefinition(sql, new { id }, transaction, cancellationToken: cancellationToken));
    }

    /// <summary>Model name and version number of each version id that still exists.</summary>
    public async Task<IReadOnlyDictionary<Guid, (string Model, int Version)>> VersionNamesAsync(IReadOnlyCollection<Guid> ids, CancellationToken cancellationToken = default)
    {
        const string sql = """
            SELECT v.id AS Id, m.name AS Model, v.version AS Version
            FROM model_versions v JOIN registered_models m ON m.id = v.registered_model_id
            WHERE v.id = ANY(@ids)
            """;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<(Guid Id, string Model, int Version)>(new CommandDefinition(sql, new { ids = ids.ToArray() }, cancellationToken: cancellationToken));
        return rows.ToDictionary(r => r.Id, r => (r.Model, r.Version));
    }

    public async Task<IReadOnlyList<ModelVersion>> ListVersionsAsync(Guid modelId, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var sql = $"SELECT {VersionColumns} FROM model_versions v JOIN registered_models m ON m.id = v.registered_model_id WHERE v.registered_model_id = @modelId ORDER BY v.version DESC";
        return [.. await connection.QueryAsync<ModelVersion>(new CommandDefinition(sql, new { modelId }, cancellationToken: cancellationToken))];
    }

    public async Task<ModelVersion?> GetProductionAsync(string modelName, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var sql = $"SELECT {VersionColumns} FROM model_versions v JOIN registered_models m ON m.id = v.registered_model_id WHERE lower(m.name) = lower(@modelName) AND v.stage = 'production'";
        return await connection.QuerySingleOrDefaultAsync<ModelVersion>(new CommandDefinition(sql, new { modelName }, cancellationToken: cancellationToken));
    }

    /// <summary>Every version of every model that is in production now.</summary>
    public async Task<IReadOnlyList<ModelVersion>> ListProductionAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var sql = $"SELECT {VersionColumns} FROM model_versions v JOIN registered_models m ON m.id = v.registered_model_id WHERE v.stage = 'production'";
        return [.. await connection.QueryAsync<ModelVersion>(new CommandDefinition(sql, cancellationToken: cancellationToken))];
    }

    /// <param name="jobId">The gate job writing; a result from an older job than the version's current one is ignored.</param>
    public async Task SetGateAsync(Guid versionId, string status, GateResult? result, CancellationToken cancellationToken = default, Guid? jobId = null)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        const string sql = """
            UPDATE model_versions SET gate_status = @status, gate_result = @json::jsonb, override_reason = NULL
            WHERE id = @versionId AND (@jobId::uuid IS NULL OR gate_job_id = @jobId)
            """;
        await connection.ExecuteAsync(new CommandDefinition(sql, new
        {
            versionId, status, json = result is null ? null : JsonSerializer.Serialize(result, DatasetSchema.Json), jobId,
        }, cancellationToken: cancellationToken));
    }

    public async Task SetGatePendingAsync(NpgsqlTransaction transaction, Guid versionId, Guid jobId, CancellationToken cancellationToken)
    {
        const string sql = "UPDATE model_versions SET gate_status = 'pending', gate_job_id = @jobId, override_reason = NULL WHERE id = @versionId";
        await transaction.Connection!.ExecuteAsync(new CommandDefinition(sql, new { versionId, jobId }, transaction, cancellationToken: cancellationToken));
    }

    public async Task OverrideGateAsync(ModelVersion version, string reason, string actor, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        const string sql = "UPDATE model_versions SET gate_status = 'overridden', override_reason = @reason WHERE id = @id AND gate_status IN ('failed', 'error', 'inconclusive')";
        var changed = await connection.ExecuteAsync(new CommandDefinition(sql, new { id = version.Id, reason }, transaction, cancellationToken: cancellationToken));
        if (changed == 0) throw new RegistryException($"Only a failed or inconclusive gate can be overridden; version {version.Version}'s gate is {version.GateStatus}.");
        await AuditLog.WriteAsync(transaction, Now, actor, "model-version.gate-override", "model-version", version.Id.ToString(),
            new { model = version.ModelName, version.Version, reason, previous = version.GateStatus }, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    public async Task UpdateVersionAsync(ModelVersion version, IReadOnlyList<string> tags, string notes, string actor, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition("UPDATE model_versions SET tags = @tags, notes = @notes WHERE id = @id",
            new { id = version.Id, tags = tags.ToArray(), notes }, transaction, cancellationToken: cancellationToken));
        await AuditLog.WriteAsync(transaction, Now, actor, "model-version.update", "model-version", version.Id.ToString(), new { model = version.ModelName, version.Version, tags, notes }, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>
    /// Moves a version to <paramref name="stage"/> inside the caller's transaction. Promoting to production
    /// first archives the current production version, so the unique index never sees two.
    /// </summary>
    /// <returns>The version that left production, if any.</returns>
    public async Task<ModelVersion?> ChangeStageAsync(NpgsqlTransaction transaction, ModelVersion version, string stage, string actor, string? reason, CancellationToken cancellationToken)
    {
        var connection = transaction.Connection!;
        // One stage change per registered model at a time: a second promotion waits, then sees the first's result.
        await connection.ExecuteAsync(new CommandDefinition("SELECT 1 FROM registered_models WHERE id = @id FOR UPDATE", new { id = version.RegisteredModelId }, transaction, cancellationToken: cancellationToken));
        ModelVersion? demoted = null;
        if (stage == ModelStage.Production)
        {
            var sql = $"SELECT {VersionColumns} FROM model_versions v JOIN registered_models m ON m.id = v.registered_model_id WHERE v.registered_model_id = @modelId AND v.stage = 'production' AND v.id <> @id FOR UPDATE OF v";
            demoted = await connection.QuerySingleOrDefaultAsync<ModelVersion>(new CommandDefinition(sql, new { modelId = version.RegisteredModelId, id = version.Id }, transaction, cancellationToken: cancellationToken));
            if (demoted is not null)
            {
                await connection.ExecuteAsync(new CommandDefinition("UPDATE model_versions SET stage = 'archived' WHERE id = @id", new { id = demoted.Id }, transaction, cancellationToken: cancellationToken));
                await InsertHistoryAsync(transaction, version.RegisteredModelId, demoted.Id, ModelStage.Production, ModelStage.Archived, $"replaced by version {version.Version}", actor, cancellationToken);
            }
        }

        await connection.ExecuteAsync(new CommandDefinition("UPDATE model_versions SET stage = @stage WHERE id = @id", new { id = version.Id, stage }, transaction, cancellationToken: cancellationToken));
        await InsertHistoryAsync(transaction, version.RegisteredModelId, version.Id, version.Stage, stage, reason, actor, cancellationToken);
        await AuditLog.WriteAsync(transaction, Now, actor, "model-version.stage", "model-version", version.Id.ToString(),
            new { model = version.ModelName, version.Version, from = version.Stage, to = stage, reason, replaced = demoted?.Version }, cancellationToken);
        return demoted;
    }

    private async Task InsertHistoryAsync(NpgsqlTransaction transaction, Guid modelId, Guid versionId, string? from, string to, string? reason, string actor, CancellationToken cancellationToken)
    {
        const string sql = """
            INSERT INTO model_stage_history (registered_model_id, model_version_id, from_stage, to_stage, reason, actor, at)
            VALUES (@modelId, @versionId, @from, @to, @reason, @actor, @now)
            """;
        await transaction.Connection!.ExecuteAsync(new CommandDefinition(sql, new { modelId, versionId, from, to, reason, actor, now = Now }, transaction, cancellationToken: cancellationToken));
    }

    public async Task<IReadOnlyList<StageChange>> HistoryAsync(Guid modelId, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        const string sql = """
            SELECT h.id, h.model_version_id, v.version, h.from_stage, h.to_stage, h.reason, h.actor, h.at
            FROM model_stage_history h JOIN model_versions v ON v.id = h.model_version_id
            WHERE h.registered_model_id = @modelId ORDER BY h.id DESC LIMIT 200
            """;
        return [.. await connection.QueryAsync<StageChange>(new CommandDefinition(sql, new { modelId }, cancellationToken: cancellationToken))];
    }

    /// <summary>The version that most recently left production (other than <paramref name="currentId"/>): where a rollback returns to.</summary>
    public async Task<ModelVersion?> PreviousProductionAsync(Guid modelId, Guid? currentId, CancellationToken cancellationToken) =>
        (await PreviousProductionVersionsAsync(modelId, currentId, 1, cancellationToken)).FirstOrDefault();

    /// <summary>Versions that were in production before (other than <paramref name="currentId"/>), the one that left it most recently first.</summary>
    public async Task<IReadOnlyList<ModelVersion>> PreviousProductionVersionsAsync(Guid modelId, Guid? currentId, int limit, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var sql = $"""
            SELECT {VersionColumns} FROM (
                SELECT model_version_id, max(id) AS left_at FROM model_stage_history
                WHERE registered_model_id = @modelId AND from_stage = 'production' AND (@currentId::uuid IS NULL OR model_version_id <> @currentId)
                GROUP BY model_version_id ORDER BY left_at DESC LIMIT @limit) h
            JOIN model_versions v ON v.id = h.model_version_id JOIN registered_models m ON m.id = v.registered_model_id
            ORDER BY h.left_at DESC
            """;
        return [.. await connection.QueryAsync<ModelVersion>(new CommandDefinition(sql, new { modelId, currentId, limit }, cancellationToken: cancellationToken))];
    }

    public async Task RecordIncidentAsync(string kind, string subjectType, string subjectId, string message, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        const string sql = "INSERT INTO incidents (at, kind, subject_type, subject_id, message) VALUES (@now, @kind, @subjectType, @subjectId, @message)";
        await connection.ExecuteAsync(new CommandDefinition(sql, new { now = Now, kind, subjectType, subjectId, message }, cancellationToken: cancellationToken));
    }

    public async Task<IReadOnlyList<Incident>> IncidentsAsync(string subjectType, string subjectId, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        const string sql = "SELECT id, at, kind, subject_type, subject_id, message FROM incidents WHERE subject_type = @subjectType AND subject_id = @subjectId ORDER BY id DESC LIMIT 100";
        return [.. await connection.QueryAsync<Incident>(new CommandDefinition(sql, new { subjectType, subjectId }, cancellationToken: cancellationToken))];
    }
}
