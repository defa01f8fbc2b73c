using Dapper;
using FraudWorkbench.Core.Accounts;
using Npgsql;

namespace FraudWorkbench.Core.Data;

public sealed record Dataset(Guid Id, string Name, string CreatedBy, DateTime CreatedAt, DateTime? ArchivedAt, string? ArchivedBy);

public sealed record DatasetSummary(
    Guid Id, string Name, string CreatedBy, DateTime CreatedAt, DateTime? ArchivedAt,
    int? LatestVersion, long? RowCount, int? ColumnCount, DateTime? UpdatedAt, int VersionCount);

public sealed record DatasetVersion(
    Guid Id, Guid DatasetId, int Version, string Checksum, string FileName, long SizeBytes, long RowCount, int ColumnCount,
    string SchemaJson, string ProfileJson, string CreatedBy, DateTime CreatedAt, int? BasedOnVersion)
{
    public DatasetSchema Schema => field ??= DatasetSchema.FromJson(SchemaJson);

    public DatasetProfile Profile => field ??= System.Text.Json.JsonSerializer.Deserialize<DatasetProfile>(ProfileJson, DatasetSchema.Json)!;
}

/// <param name="DatasetId">Adds to this dataset (its name is then ignored) instead of the dataset named <paramref name="Name"/>.</param>
/// <param name="BasedOnVersion">The version whose file this one reuses with corrected roles.</param>
public sealed record NewDatasetVersion(
    string Name, string Checksum, string FileName, long SizeBytes, DatasetSchema Schema, DatasetProfile Profile,
    Guid? DatasetId = null, int? BasedOnVersion = null);

public sealed class DatasetStore(NpgsqlDataSource dataSource, TimeProvider time)
{
    private const string VersionColumns = """
        id, dataset_id, version, checksum, file_name, size_bytes, row_count, column_count,
        schema::text AS schema_json, profile::text AS profile_json, created_by, created_at, based_on_version
        """;

    /// <summary>
    /// Records a new version under the dataset named <see cref="NewDatasetVersion.Name"/> (created if new).
    /// The same file with the same schema is recognised and its existing version returned instead.
    /// </summary>
    /// <param name="placeFile">
    /// Puts the version's file into the artifact store; called while this transaction holds the
    /// checksum's lock, so it cannot interleave with another upload of the same content being undone.
    /// </param>
    public async Task<(DatasetVersion Version, bool Created)> CreateVersionAsync(NewDatasetVersion input, string actor, Action placeFile, CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow().UtcDateTime;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await LockChecksumAsync(transaction, input.Checksum, cancellationToken);
        placeFile();

        var inserted = 0;
        Dataset dataset;
        if (input.DatasetId is Guid datasetId)
        {
            // The row lock serialises version numbers between concurrent uploads to one dataset.
            const string lockById = "SELECT id, name, created_by, created_at, archived_at, archived_by FROM datasets WHERE id = @datasetId FOR UPDATE";
            dataset = await connection.QuerySingleOrDefaultAsync<Dataset>(new CommandDefinition(lockById, new { datasetId }, transaction, cancellationToken: cancellationToken))
                ?? throw new DatasetValidationException($"No dataset has the id {datasetId}.", field: "id");
            if (dataset.ArchivedAt is not null)
                throw new DatasetValidationException($"The dataset '{dataset.Name}' is archived; restore it before adding a version.", field: "id");
        }
        else
        {
            const string upsert = """
                INSERT INTO datasets (id, name, created_by, created_at) VALUES (@id, @name, @actor, @now)
                ON CONFLICT ((lower(name))) DO NOTHING
                """;
            inserted = await connection.ExecuteAsync(new CommandDefinition(upsert, new { id = Guid.CreateVersion7(time.GetUtcNow()), name = input.Name, actor, now }, transaction, cancellationToken: cancellationToken));
            const string lockDataset = "SELECT id, name, created_by, created_at, archived_at, archived_by FROM datasets WHERE lower(name) = lower(@name) FOR UPDATE";
            dataset = await connection.QuerySingleAsync<Dataset>(new CommandDefinition(lockDataset, new { name = input.Name }, transaction, cancellationToken: cancellationToken));
            if (dataset.ArchivedAt is not null)
            {
                throw new DatasetValidationException($"The dataset '{dataset.Name}' is archived; choose another name.", field: "name");
            }
        }

        var schemaJson = input.Schema.ToJson();
        const string existing = $"SELECT {VersionColumns} FROM dataset_versions WHERE dataset_id = @datasetId AND checksum = @checksum AND schema = @schemaJson::jsonb ORDER BY version LIMIT 1";
        var same = await connection.QuerySingleOrDefaultAsync<DatasetVersion>(new CommandDefinition(
            existing, new { datasetId = dataset.Id, input.Checksum, schemaJson }, transaction, cancellationToken: cancellationToken));
        if (same is not null)
        {
            await transaction.CommitAsync(cancellationToken);
            return (same, false);
        }

        const string insert = $"""
            INSERT INTO dataset_versions (id, dataset_id, version, checksum, file_name, size_bytes, row_count, column_count, schema, profile, created_by, created_at, based_on_version)
            VALUES (@id, @datasetId,
                    (SELECT coalesce(max(version), 0) + 1 FROM dataset_versions WHERE dataset_id = @datasetId),
                    @Checksum, @FileName, @SizeBytes, @rowCount, @columnCount, @schemaJson::jsonb, @profileJson::jsonb, @actor, @now, @BasedOnVersion)
            RETURNING {VersionColumns}
            """;
        var version = await connection.QuerySingleAsync<DatasetVersion>(new CommandDefinition(insert, new
        {
            id = Guid.CreateVersion7(time.GetUtcNow()),
            datasetId = dataset.Id,
            input.Checksum,
            input.FileName,
            input.SizeBytes,
            rowCount = input.Profile.RowCount,
            columnCount = input.Schema.Columns.Count,
            schemaJson,
            profileJson = System.Text.Json.JsonSerializer.Serialize(input.Profile, DatasetSchema.Json),
            actor,
            now,
            input.BasedOnVersion,
        }, transaction, cancellationToken: cancellationToken));

        if (inserted == 1) await AuditLog.WriteAsync(transaction, now, actor, "dataset.create", "dataset", dataset.Id.ToString(), new { dataset.Name }, cancellationToken);
        const string previousSql = "SELECT schema::text FROM dataset_versions WHERE dataset_id = @datasetId AND version = @previous";
        var previousJson = await connection.QuerySingleOrDefaultAsync<string>(new CommandDefinition(
            previousSql, new { datasetId = dataset.Id, previous = version.Version - 1 }, transaction, cancellationToken: cancellationToken));
        var diff = SchemaDiff.Between(previousJson is null ? null : DatasetSchema.FromJson(previousJson), input.Schema, previousJson is null ? null : version.Version - 1);
        if (input.BasedOnVersion is int basedOn)
        {
            await AuditLog.WriteAsync(transaction, now, actor, "dataset.version.revise", "dataset", dataset.Id.ToString(),
                new { dataset.Name, version.Version, basedOn, changed = diff.Changed, positiveLabel = input.Schema.PositiveLabel }, cancellationToken);
        }
        else
        {
            await AuditLog.WriteAsync(transaction, now, actor, "dataset.version.create", "dataset", dataset.Id.ToString(),
                new { dataset.Name, version.Version, input.Checksum, rows = version.RowCount, columns = version.ColumnCount, added = diff.Added, removed = diff.Removed, changed = diff.Changed }, cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return (version, true);
    }

    public async Task<IReadOnlyList<DatasetSummary>> ListAsync(bool includeArchived = false, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        const string sql = """
            SELECT d.id, d.name, d.created_by, d.created_at, d.archived_at,
                   v.version AS latest_version, v.row_count, v.column_count, v.created_at AS updated_at,
                   (SELECT count(*) FROM dataset_versions x WHERE x.dataset_id = d.id)::int AS version_count
            FROM datasets d
            LEFT JOIN LATERAL (SELECT version, row_count, column_count, created_at FROM dataset_versions
                               WHERE dataset_id = d.id ORDER BY version DESC LIMIT 1) v ON true
            WHERE @includeArchived OR d.archived_at IS NULL
            ORDER BY coalesce(v.created_at, d.created_at) DESC
            """;
        return [.. await connection.QueryAsync<DatasetSummary>(new CommandDefinition(sql, new { includeArchived }, cancellationToken: cancellationToken))];
    }

    public async Task<Dataset?> GetAsync(Guid id, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        const string sql = "SELECT id, name, created_by, created_at, archived_at, archived_by FROM datasets WHERE id = @id";
        return await connection.QuerySingleOrDefaultAsync<Dataset>(new CommandDefinition(sql, new { id }, cancellationToken: cancellationToken));
    }

    public async Task<IReadOnlyList<DatasetVersion>> ListVersionsAsync(Guid datasetId, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        const string sql = $"SELECT {VersionColumns} FROM dataset_versions WHERE dataset_id = @datasetId ORDER BY version DESC";
        return [.. await connection.QueryAsync<DatasetVersion>(new CommandDefinition(sql, new { datasetId }, cancellationToken: cancellationToken))];
    }

    public async Task<DatasetVersion?> GetVersionAsync(Guid datasetId, int version, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        const string sql = $"SELECT {VersionColumns} FROM dataset_versions WHERE dataset_id = @datasetId AND version = @version";
        return await connection.QuerySingleOrDefaultAsync<DatasetVersion>(new CommandDefinition(sql, new { datasetId, version }, cancellationToken: cancellationToken));
    }

    /// <summary>Runs <paramref name="undo"/> when no version references the checksum, under the checksum's lock.</summary>
    public async Task UndoUnreferencedFileAsync(string checksum, Action undo, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await LockChecksumAsync(transaction, checksum, cancellationToken);
        const string sql = "SELECT EXISTS (SELECT 1 FROM dataset_versions WHERE checksum = @checksum)";
        if (!await connection.ExecuteScalarAsync<bool>(new CommandDefinition(sql, new { checksum }, transaction, cancellationToken: cancellationToken))) undo();
        await transaction.CommitAsync(cancellationToken);
    }

    private static Task LockChecksumAsync(NpgsqlTransaction transaction, string checksum, CancellationToken cancellationToken) =>
        transaction.Connection!.ExecuteAsync(new CommandDefinition(
            "SELECT pg_advisory_xact_lock(hashtextextended(@checksum, 7))", new { checksum }, transaction, cancellationToken: cancellationToken));

    /// <summary>Undoes <see cref="ArchiveAsync"/>; null when the dataset is not archived (or does not exist).</summary>
    public async Task<Dataset?> RestoreAsync(Guid id, string actor, CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow().UtcDateTime;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        const string sql = """
            UPDATE datasets SET archived_at = NULL, archived_by = NULL WHERE id = @id AND archived_at IS NOT NULL
            RETURNING id, name, created_by, created_at, archived_at, archived_by
            """;
        var dataset = await connection.QuerySingleOrDefaultAsync<Dataset>(new CommandDefinition(sql, new { id }, transaction, cancellationToken: cancellationToken));
        if (dataset is null) return null;
        await AuditLog.WriteAsync(transaction, now, actor, "dataset.restore", "dataset", id.ToString(), new { dataset.Name }, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return dataset;
    }

    /// <summary>What changed in the schema from the version before <paramref name="version"/>.</summary>
    public async Task<SchemaDiff> DiffAsync(DatasetVersion version, CancellationToken cancellationToken = default)
    {
        var previous = version.Version > 1 ? await GetVersionAsync(version.DatasetId, version.Version - 1, cancellationToken) : null;
        var diff = SchemaDiff.Between(previous?.Schema, version.Schema, previous?.Version);
        return previous is null ? diff : diff with { NewValues = SchemaDiff.NewCategories(previous.Profile, version.Profile) };
    }

    /// <summary>Soft delete: the dataset disappears from lists, its versions stay readable for lineage.</summary>
    public async Task<Dataset?> ArchiveAsync(Guid id, string actor, CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow().UtcDateTime;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        const string sql = """
            UPDATE datasets SET archived_at = @now, archived_by = @actor WHERE id = @id AND archived_at IS NULL
            RETURNING id, name, created_by, created_at, archived_at, archived_by
            """;
        var dataset = await connection.QuerySingleOrDefaultAsync<Dataset>(new CommandDefinition(sql, new { id, now, actor }, transaction, cancellationToken: cancellationToken));
        if (dataset is null) return null;
        await AuditLog.WriteAsync(transaction, now, actor, "dataset.archive", "dataset", id.ToString(), new { dataset.Name }, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return dataset;
    }
}
