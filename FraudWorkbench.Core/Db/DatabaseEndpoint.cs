using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace FraudWorkbench.Core.Db;

/// <summary>
/// Where the database is: the configured <c>ConnectionStrings:Postgres</c>, or, when that is empty,
/// the private cluster under the data directory, started here and stopped when the host disposes it.
/// </summary>
public sealed class DatabaseEndpoint : IAsyncDisposable
{
    public const string ConnectionStringName = "Postgres";
    public const string LocalDatabaseName = "fraudworkbench";

    private DatabaseEndpoint(string connectionString, LocalPostgresCluster? cluster)
    {
        ConnectionString = connectionString;
        Cluster = cluster;
    }

    public string ConnectionString { get; }

    /// <summary>Set when the app runs its own zero-config cluster.</summary>
    public LocalPostgresCluster? Cluster { get; }

    public bool IsLocalCluster => Cluster is not null;

    public static async Task<DatabaseEndpoint> ResolveAsync(IConfiguration configuration, ILogger logger, CancellationToken cancellationToken = default)
    {
        if (configuration.GetConnectionString(ConnectionStringName) is { Length: > 0 } configured)
        {
            return new DatabaseEndpoint(configured, null);
        }

        var dataDirectory = WorkbenchOptions.ResolveDataDirectory(configuration);
        var binDirectory = configuration["FRAUDWB_PG_BIN"] is { Length: > 0 } fromEnv ? fromEnv : configuration[$"{WorkbenchOptions.Section}:PostgresBinDirectory"];
        var cluster = LocalPostgresCluster.ForDataDirectory(dataDirectory, string.IsNullOrEmpty(binDirectory) ? null : binDirectory);
        var connectionString = await cluster.StartAsync(LocalDatabaseName, cancellationToken);
        logger.LogInformation("No connection string configured: using the private PostgreSQL cluster in {ClusterDirectory} on 127.0.0.1:{Port} ({BinDirectory})",
            cluster.ClusterDirectory, cluster.Port, cluster.BinDirectory);
        return new DatabaseEndpoint(connectionString, cluster);
    }

    public async ValueTask DisposeAsync()
    {
        if (Cluster is not null)
        {
            await Cluster.DisposeAsync();
        }
    }
}
