using System.Reflection;
using Dapper;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace FraudWorkbench.Core.Db;

public sealed record Migration(int Version, string Name, string Sql);

/// <summary>
/// Applies the numbered <c>Db/Migrations/*.sql</c> files embedded in this assembly. All pending
/// migrations run in one transaction that first takes a transaction-scoped advisory lock, so
/// instances starting together serialise here and each migration is applied exactly once.
/// </summary>
public sealed class Migrator(NpgsqlDataSource dataSource, ILogger<Migrator> logger)
{
    // Arbitrary constant shared by every instance: "FWB" + "MIGR" in ASCII.
    private const long AdvisoryLockKey = 0x465742_4D494752;

    public static IReadOnlyList<Migration> All { get; } = LoadEmbedded();

    // Waiting for another instance's migrations and rewriting large tables may take minutes; the data source's short command timeout is for requests.
    private const int NoLimit = 0;

    public async Task<IReadOnlyList<int>> ApplyAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

        await connection.ExecuteAsync(new CommandDefinition(
            "SELECT pg_advisory_xact_lock(@key)", new { key = AdvisoryLockKey }, transaction, commandTimeout: NoLimit, cancellationToken: cancellationToken));

        const string createTable = """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version    integer PRIMARY KEY,
                name       text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """;
        await connection.ExecuteAsync(new CommandDefinition(createTable, transaction: transaction, cancellationToken: cancellationToken));

        var applied = (await connection.QueryAsync<int>(new CommandDefinition(
            "SELECT version FROM schema_migrations", transaction: transaction, cancellationToken: cancellationToken))).ToHashSet();

        var newlyApplied = new List<int>();
        foreach (var migration in All.Where(m => !applied.Contains(m.Version)))
        {
            logger.LogInformation("Applying migration {Version} {Name}", migration.Version, migration.Name);
            await connection.ExecuteAsync(new CommandDefinition(migration.Sql, transaction: transaction, commandTimeout: NoLimit, cancellationToken: cancellationToken));
            const string record = "INSERT INTO schema_migrations (version, name) VALUES (@Version, @Name)";
            await connection.ExecuteAsync(new CommandDefinition(record, migration, transaction, cancellationToken: cancellationToken));
            newlyApplied.Add(migration.Version);
        }

        await transaction.CommitAsync(cancellationToken);
        return newlyApplied;
    }

    /// <summary>True when every embedded migration is recorded as applied.</summary>
    public async Task<bool> IsUpToDateAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        const string exists = "SELECT to_regclass('schema_migrations') IS NOT NULL";
        if (!await connection.ExecuteScalarAsync<bool>(new CommandDefinition(exists, cancellationToken: cancellationToken))) return false;
        const string sql = "SELECT version FROM schema_migrations";
        var versions = (await connection.QueryAsync<int>(new CommandDefinition(sql, cancellationToken: cancellationToken))).ToHashSet();
        return All.All(m => versions.Contains(m.Version));
    }

    private static List<Migration> LoadEmbedded()
    {
        var assembly = typeof(Migrator).Assembly;
        const string prefix = "FraudWorkbench.Core.Db.Migrations.";
        var migrations = new List<Migration>();
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(prefix, StringComparison.Ordinal)))
        {
            var fileName = resource[prefix.Length..];
            var underscore = fileName.IndexOf('_');
            if (underscore <= 0 || !int.TryParse(fileName[..underscore], out var version))
            {
                throw new InvalidOperationException($"Migration '{fileName}' must be named NNNN_description.sql.");
            }

            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream);
            migrations.Add(new Migration(version, Path.GetFileNameWithoutExtension(fileName[(underscore + 1)..]), reader.ReadToEnd()));
        }

        var duplicate = migrations.GroupBy(m => m.Version).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new InvalidOperationException($"Two migrations share version {duplicate.Key}.");
        }

        return [.. migrations.OrderBy(m => m.Version)];
    }
}
