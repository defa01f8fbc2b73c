using Dapper;
using System.Text.Json;
using FraudWorkbench.Core.Db;
using FraudWorkbench.Core.Features;
using FraudWorkbench.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace FraudWorkbench.Tests.Db;

[Trait("Category", "Database")]
public sealed class MigratorTests
{
    /// <summary>Numbers start at one and run without gaps, so a missing file shows here rather than as a half-migrated database.</summary>
    [Fact]
    public void All_EmbeddedMigrations_AreNumberedFromOneWithoutGaps()
    {
        Assert.NotEmpty(Migrator.All);
        Assert.Equal(Enumerable.Range(1, Migrator.All[^1].Version), Migrator.All.Select(m => m.Version));
    }

    [Fact]
    public async Task ApplyAsync_EmptyDatabase_AppliesEachMigrationOnceAndIsIdempotent()
    {
        await using var dataSource = NpgsqlDataSource.Create(await PostgresServer.CreateDatabaseAsync(migrated: false));
        var migrator = new Migrator(dataSource, NullLogger<Migrator>.Instance);
        Assert.False(await migrator.IsUpToDateAsync());

        var first = await migrator.ApplyAsync();
        var second = await migrator.ApplyAsync();

        Assert.Equal(Migrator.All.Select(m => m.Version), first);
        Assert.Empty(second);
        Assert.True(await migrator.IsUpToDateAsync());
        await using var connection = await dataSource.OpenConnectionAsync();
        Assert.Equal(Migrator.All.Count, await connection.ExecuteScalarAsync<int>("SELECT count(*) FROM schema_migrations"));
    }

    [Fact]
    public async Task ApplyAsync_ANumberMissingBelowTheLatestApplied_AppliedThenAlone()
    {
        // A database that has every migration but 22, as when a branch's lower number lands after a higher one was applied.
        await using var dataSource = NpgsqlDataSource.Create(await PostgresServer.CreateDatabaseAsync(migrated: false));
        await using (var connection = await dataSource.OpenConnectionAsync())
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            await connection.ExecuteAsync("CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())", transaction: transaction);
            foreach (var migration in Migrator.All.Where(m => m.Version != 22))
            {
                await connection.ExecuteAsync(migration.Sql, transaction: transaction);
                await connection.ExecuteAsync("INSERT INTO schema_migrations (version, name) VALUES (@Version, @Name)", migration, transaction);
            }

            await transaction.CommitAsync();
        }

        var applied = await new Migrator(dataSource, NullLogger<Migrator>.Instance).ApplyAsync();

        Assert.Equal([22], applied);
        await using var check = await dataSource.OpenConnectionAsync();
        Assert.True(await check.ExecuteScalarAsync<bool>("SELECT to_regclass('fairness_signoffs') IS NOT NULL"));
    }

    [Fact]
    public async Task ApplyAsync_EntityHistoriesStoredAsJson_ConvertedToTheRowTheStoreWrites()
    {
        await using var dataSource = NpgsqlDataSource.Create(await PostgresServer.CreateDatabaseAsync(migrated: false));
        var history = new EntityHistory { OlderCount = 3, OlderSum = 0.1 + 0.2, Times = [638_000_000_000_000_000, 638_000_000_360_000_000], Values = [-12.34, 1e-300] };
        await using (var connection = await dataSource.OpenConnectionAsync())
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            // The schema as it was before migration 9, and a history written as the JSON the store wrote then.
            await connection.ExecuteAsync("CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())", transaction: transaction);
            foreach (var migration in Migrator.All.Where(m => m.Version < 9))
            {
                await connection.ExecuteAsync(migration.Sql, transaction: transaction);
                await connection.ExecuteAsync("INSERT INTO schema_migrations (version, name) VALUES (@Version, @Name)", migration, transaction);
            }

            // A feature set version row for the histories to belong to, without its feature set and dataset.
            await connection.ExecuteAsync("SET LOCAL session_replication_role = replica", transaction: transaction);
            var id = Guid.NewGuid();
            await connection.ExecuteAsync("""
                INSERT INTO feature_set_versions (id, feature_set_id, version, hash, dataset_id, dataset_version, definition, fitted, reference, created_by, created_at)
                VALUES (@id, @id, 1, 'h', @id, 1, '{}', '{}', '{}', 'test', now())
                """, new { id }, transaction);
            await connection.ExecuteAsync("INSERT INTO entity_state (feature_set_version_id, feature_index, entity, state, updated_at) VALUES (@id, 0, 'c1', @json::jsonb, now()), (@id, 1, 'c1', @empty::jsonb, now())",
                new { id, json = JsonSerializer.Serialize(history), empty = JsonSerializer.Serialize(new EntityHistory()) }, transaction);
            await transaction.CommitAsync();
        }

        await new Migrator(dataSource, NullLogger<Migrator>.Instance).ApplyAsync();

        // Migration 9 turned each history into bytes, migration 10 joined the entity's two rows into one.
        await using var check = await dataSource.OpenConnectionAsync();
        var stored = (await check.QueryAsync<byte[]>("SELECT state FROM entity_state WHERE entity = 'c1'")).Single();
        var parts = EntityRow.Split(stored);
        Assert.Equal([0, 1], parts.Keys.Order());
        Assert.Equal(history.ToBytes(), parts[0].ToArray());
        Assert.Equal(new EntityHistory().ToBytes(), parts[1].ToArray());
        Assert.Equal(EntityRow.Join(parts), stored);
    }

    [Fact]
    public async Task ApplyAsync_EightMigratorsAtOnce_EachMigrationAppliedExactlyOnce()
    {
        await using var dataSource = NpgsqlDataSource.Create(await PostgresServer.CreateDatabaseAsync(migrated: false));
        var migrators = Enumerable.Range(0, 8).Select(_ => new Migrator(dataSource, NullLogger<Migrator>.Instance)).ToList();

        var results = await Task.WhenAll(migrators.Select(m => m.ApplyAsync()));

        // Exactly one of them applied everything; the others found nothing to do.
        Assert.Single(results, r => r.Count == Migrator.All.Count);
        Assert.Equal(7, results.Count(r => r.Count == 0));
        await using var connection = await dataSource.OpenConnectionAsync();
        Assert.Equal(Migrator.All.Count, await connection.ExecuteScalarAsync<int>("SELECT count(*) FROM schema_migrations"));
    }

    [Fact]
    public async Task AppStart_TwoInstancesTogetherOnEmptyDatabase_MigrateOnceAndCreateOneAdmin()
    {
        var connectionString = await PostgresServer.CreateDatabaseAsync(migrated: false);
        using var first = new WorkbenchAppFactory(connectionString);
        using var second = new WorkbenchAppFactory(connectionString);

        await Task.WhenAll(Task.Run(first.StartServer), Task.Run(second.StartServer));

        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await using var connection = await dataSource.OpenConnectionAsync();
        var versions = (await connection.QueryAsync<int>("SELECT version FROM schema_migrations ORDER BY version")).ToList();
        Assert.Equal(Migrator.All.Select(m => m.Version), versions);
        Assert.Equal(1, await connection.ExecuteScalarAsync<int>("SELECT count(*) FROM users"));
        using var client = first.CreateHttpClient();
        Assert.Equal("Healthy", await client.GetStringAsync("/readyz"));
    }
}
