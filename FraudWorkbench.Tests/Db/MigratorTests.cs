using Dapper;
using FraudWorkbench.Core.Db;
using FraudWorkbench.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace FraudWorkbench.Tests.Db;

public sealed class MigratorTests
{
    [Fact]
    public void All_EmbeddedMigrations_AreNumberedFromOneWithoutGaps()
    {
        Assert.NotEmpty(Migrator.All);
        Assert.Equal(Enumerable.Range(1, Migrator.All.Count), Migrator.All.Select(m => m.Version));
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
