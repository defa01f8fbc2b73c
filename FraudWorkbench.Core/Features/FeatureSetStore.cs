using System.Text.Json;
using Dapper;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Data;
using Npgsql;

namespace FraudWorkbench.Core.Features;

public sealed record FeatureSetSummary(Guid Id, string Name, int? LatestVersion, string? DatasetName, int? DatasetVersion, int? SlotCount, DateTime? UpdatedAt, string CreatedBy);

public sealed record FeatureSetVersion(
    Guid Id, Guid FeatureSetId, string Name, int Version, string Hash, Guid DatasetId, int DatasetVersion,
    string DefinitionJson, string FittedJson, string ReferenceJson, string CreatedBy, DateTime CreatedAt)
{
    public FeatureSetDefinition Definition => field ??= JsonSerializer.Deserialize<FeatureSetDefinition>(DefinitionJson, DatasetSchema.Json)!;

    public FittedFeatureSet Fitted => field ??= JsonSerializer.Deserialize<FittedFeatureSet>(FittedJson, DatasetSchema.Json)!;

    public FeatureReference Reference => field ??= JsonSerializer.Deserialize<FeatureReference>(ReferenceJson, DatasetSchema.Json)!;
}

public sealed class FeatureSetStore(NpgsqlDataSource dataSource, TimeProvider time)
{
    private const string VersionColumns = """
        v.id, v.feature_set_id, f.name, v.version, v.hash, v.dataset_id, v.dataset_version,
        v.definition::text AS definition_json, v.fitted::text AS fitted_json, v.reference::text AS reference_json, v.created_by, v.created_at
        """;

    /// <summary>The version the named feature set already has for this definition (by hash) on this dataset version, if any.</summary>
    public async Task<FeatureSetVersion?> FindVersionAsync(string name, string hash, Guid datasetId, int datasetVersion, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        const string sql = $"""
            SELECT {VersionColumns} FROM feature_set_versions v JOIN feature_sets f ON f.id = v.feature_set_id
            WHERE lower(f.name) = lower(@name) AND v.hash = @hash AND v.dataset_id = @datasetId AND v.dataset_version = @datasetVersion
            """;
        return await connection.QuerySingleOrDefaultAsync<FeatureSetVersion>(new CommandDefinition(sql, new { name, hash, datasetId, datasetVersion }, cancellationToken: cancellationToken));
    }

    /// <summary>Saves a fitted version under the named feature set; the same definition on the same data returns the existing version.</summary>
    public async Task<(FeatureSetVersion Version, bool Created)> CreateVersionAsync(
        string name, Guid datasetId, int datasetVersion, string hash, FittedFeatureSet fitted, FeatureReference reference, string actor,
        CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow().UtcDateTime;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        const string upsert = "INSERT INTO feature_sets (id, name, created_by, created_at) VALUES (@id, @name, @actor, @now) ON CONFLICT ((lower(name))) DO NOTHING";
        var inserted = await connection.ExecuteAsync(new CommandDefinition(upsert, new { id = Guid.CreateVersion7(time.GetUtcNow()), name, actor, now }, transaction, cancellationToken: cancellationToken));
        const string find = "SELECT id FROM feature_sets WHERE lower(name) = lower(@name) FOR UPDATE";
        var setId = await connection.QuerySingleAsync<Guid>(new CommandDefinition(find, new { name }, transaction, cancellationToken: cancellationToken));

        const string existing = $"""
            SELECT {VersionColumns} FROM feature_set_versions v JOIN feature_sets f ON f.id = v.feature_set_id
            WHERE v.feature_set_id = @setId AND v.hash = @hash AND v.dataset_id = @datasetId AND v.dataset_version = @datasetVersion
            """;
        if (await connection.QuerySingleOrDefaultAsync<FeatureSetVersion>(new CommandDefinition(existing, new { setId, hash, datasetId, datasetVersion }, transaction, cancellationToken: cancellationToken)) is { } same)
        {
            await transaction.CommitAsync(cancellationToken);
            return (same, false);
        }

        var id = Guid.CreateVersion7(time.GetUtcNow());
        const string insert = """
            INSERT INTO feature_set_versions (id, feature_set_id, version, hash, dataset_id, dataset_version, definition, fitted, reference, created_by, created_at)
            VALUES (@id, @setId, (SELECT coalesce(max(version), 0) + 1 FROM feature_set_versions WHERE feature_set_id = @setId), @hash,
                    @datasetId, @datasetVersion, @definition::jsonb, @fittedJson::jsonb, @referenceJson::jsonb, @actor, @now)
            """;
        await connection.ExecuteAsync(new CommandDefinition(insert, new
        {
            id, setId, hash, datasetId, datasetVersion,
            definition = JsonSerializer.Serialize(fitted.Definition, DatasetSchema.Json),
            fittedJson = JsonSerializer.Serialize(fitted, DatasetSchema.Json),
            referenceJson = JsonSerializer.Serialize(reference, DatasetSchema.Json),
            actor, now,
        }, transaction, cancellationToken: cancellationToken));
        var version = await connection.QuerySingleAsync<FeatureSetVersion>(new CommandDefinition(
            $"SELECT {VersionColumns} FROM feature_set_versions v JOIN feature_sets f ON f.id = v.feature_set_id WHERE v.id = @id", new { id }, transaction, cancellationToken: cancellationToken));
        if (inserted == 1) await AuditLog.WriteAsync(transaction, now, actor, "feature-set.create", "feature-set", setId.ToString(), new { name }, cancellationToken);
        await AuditLog.WriteAsync(transaction, now, actor, "feature-set.version.create", "feature-set", setId.ToString(),
            new { name, version.Version, hash, datasetId, datasetVersion, slots = fitted.SlotCount }, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return (version, true);
    }

    public async Task<IReadOnlyList<FeatureSetSummary>> ListAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        const string sql = """
            SELECT f.id, f.name, v.version AS latest_version, d.name AS dataset_name, v.dataset_version,
                   jsonb_array_length(v.reference -> 'slots') AS slot_count, v.created_at AS updated_at, f.created_by
            FROM feature_sets f
            LEFT JOIN LATERAL (SELECT * FROM feature_set_versions WHERE feature_set_id = f.id ORDER BY version DESC LIMIT 1) v ON true
            LEFT JOIN datasets d ON d.id = v.dataset_id
            ORDER BY coalesce(v.created_at, f.created_at) DESC
            """;
        return [.. await connection.QueryAsync<FeatureSetSummary>(new CommandDefinition(sql, cancellationToken: cancellationToken))];
    }

    public async Task<IReadOnlyList<FeatureSetVersion>> ListVersionsAsync(Guid featureSetId, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        const string sql = $"SELECT {VersionColumns} FROM feature_set_versions v JOIN feature_sets f ON f.id = v.feature_set_id WHERE v.feature_set_id = @featureSetId ORDER BY v.version DESC";
        return [.. await connection.QueryAsync<FeatureSetVersion>(new CommandDefinition(sql, new { featureSetId }, cancellationToken: cancellationToken))];
    }

    public async Task<FeatureSetVersion?> GetVersionAsync(Guid versionId, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        const string sql = $"SELECT {VersionColumns} FROM feature_set_versions v JOIN feature_sets f ON f.id = v.feature_set_id WHERE v.id = @versionId";
        return await connection.QuerySingleOrDefaultAsync<FeatureSetVersion>(new CommandDefinition(sql, new { versionId }, cancellationToken: cancellationToken));
    }
}
