using Dapper;
using FraudWorkbench.Core.Db;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace FraudWorkbench.Tests.Infrastructure;

/// <summary>
/// One throwaway PostgreSQL cluster for the whole test run (the same helper as the app's zero-config
/// mode), with a migrated template database; each test class gets a fresh copy of it in milliseconds.
/// </summary>
public static class PostgresServer
{
    private const string TemplateDatabase = "fwb_template";
    private static readonly SemaphoreSlim CreateLock = new(1, 1);
    private static readonly Lazy<Task<LocalPostgresCluster>> Cluster = new(StartAsync);
    private static int counter;

    public static async Task<string> CreateDatabaseAsync(bool migrated = true)
    {
        var cluster = await Cluster.Value;
        var name = $"test_{Environment.ProcessId}_{Interlocked.Increment(ref counter)}";
        await CreateLock.WaitAsync();
        try
        {
            await using var connection = new NpgsqlConnection(cluster.ConnectionString("postgres"));
            await connection.OpenAsync();
            var template = migrated ? TemplateDatabase : "template0";
            await connection.ExecuteAsync($"CREATE DATABASE \"{name}\" TEMPLATE \"{template}\" STRATEGY FILE_COPY");
        }
        finally
        {
            CreateLock.Release();
        }

        return cluster.ConnectionString(name);
    }

    private static async Task<LocalPostgresCluster> StartAsync()
    {
        var cluster = LocalPostgresCluster.CreateThrowaway();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => cluster.DisposeAsync().AsTask().GetAwaiter().GetResult();
        await cluster.StartAsync(TemplateDatabase);

        var connectionString = cluster.ConnectionString(TemplateDatabase);
        await using (var dataSource = NpgsqlDataSource.Create(connectionString))
        {
            await new Migrator(dataSource, NullLogger<Migrator>.Instance).ApplyAsync();
        }

        // A template must have no open sessions when it is copied.
        NpgsqlConnection.ClearAllPools();
        return cluster;
    }
}
