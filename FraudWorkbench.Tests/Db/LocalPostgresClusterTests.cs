using Dapper;
using FraudWorkbench.Core.Db;
using FraudWorkbench.Tests.Infrastructure;
using Npgsql;

namespace FraudWorkbench.Tests.Db;

[Trait("Category", "Database")]
public sealed class LocalPostgresClusterTests
{
    [Fact]
    public void FindBinDirectory_OnThisMachine_FindsTheServerBinaries()
    {
        var bin = LocalPostgresCluster.FindBinDirectory();
        Assert.NotNull(bin);
        Assert.True(File.Exists(Path.Combine(bin, "initdb")));
        Assert.True(File.Exists(Path.Combine(bin, "postgres")));
    }

    [Fact]
    public async Task StartAsync_SecondStartOnSameDirectory_ReusesClusterAndData()
    {
        var directory = Path.Combine(Path.GetTempPath(), "fwb-reuse-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var first = LocalPostgresCluster.ForDataDirectory(directory);
            var connectionString = await first.StartAsync("appdb");
            await using (var connection = new NpgsqlConnection(connectionString))
            {
                await connection.ExecuteAsync("CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)");
            }

            await first.DisposeAsync();
            NpgsqlConnection.ClearAllPools();
            Assert.False(File.Exists(Path.Combine(first.ClusterDirectory, "postmaster.pid")), "the cluster should be stopped on dispose");

            await using var second = LocalPostgresCluster.ForDataDirectory(directory);
            await using var again = new NpgsqlConnection(await second.StartAsync("appdb"));
            Assert.Equal(42, await again.ExecuteScalarAsync<int>("SELECT v FROM kept"));
            Assert.Equal(first.Password, second.Password);
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task StartAsync_ClusterAlreadyRunning_JoinsItAndLeavesItRunning()
    {
        await using var owner = LocalPostgresCluster.CreateThrowaway();
        await owner.StartAsync("appdb");
        var guest = LocalPostgresCluster.ForDataDirectory(Path.GetDirectoryName(owner.ClusterDirectory)!);

        await guest.StartAsync("appdb");
        await guest.DisposeAsync();

        Assert.Equal(owner.Port, guest.Port);
        await using var connection = new NpgsqlConnection(owner.ConnectionString("appdb"));
        Assert.Equal(1, await connection.ExecuteScalarAsync<int>("SELECT 1"));
        NpgsqlConnection.ClearAllPools();
    }

    [Fact]
    public async Task App_NoConnectionStringAndNoServerBinaries_ExitsWithInstructions()
    {
        var (exit, _, errors) = await AppProcess.RunAsync(new Dictionary<string, string>
        {
            ["FRAUDWB_DATA_DIR"] = Path.Combine(Path.GetTempPath(), "fwb-nobin-" + Guid.NewGuid().ToString("N")[..8]),
            ["FRAUDWB_PG_BIN"] = "/nonexistent/postgresql/bin",
        }, "--urls", "http://127.0.0.1:0");

        Assert.Equal(2, exit);
        Assert.Contains("apt-get install postgresql", errors);
        Assert.Contains("ConnectionStrings__Postgres", errors);
        Assert.Contains("/nonexistent/postgresql/bin", errors);
    }
}
