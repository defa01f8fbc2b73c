using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace FraudWorkbench.Core.Db;

/// <summary>
/// Restarts the private PostgreSQL cluster when its server dies (killed, crashed, out of memory), so the app
/// recovers by itself as it would with a managed database that fails over. Does nothing with a connection string.
/// </summary>
public sealed class LocalClusterWatchdog(DatabaseEndpoint endpoint, TimeProvider time, ILogger<LocalClusterWatchdog> logger) : BackgroundService
{
    public static readonly TimeSpan CheckInterval = TimeSpan.FromSeconds(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (endpoint.Cluster is not { } cluster) return;
        using var timer = new PeriodicTimer(CheckInterval, time);
        var failures = 0;
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            if (cluster.IsRunning())
            {
                failures = 0;
                continue;
            }

            try
            {
                logger.LogWarning("The private PostgreSQL server in {Directory} is not running; starting it again on port {Port}", cluster.ClusterDirectory, cluster.Port);
                await cluster.RestartAsync(stoppingToken);
                logger.LogInformation("The private PostgreSQL server is running again");
                failures = 0;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Usually the dead server's backends still hold its shared memory for a moment; the next tick tries again.
                if (++failures % 10 == 1) logger.LogError("Restarting the private PostgreSQL server failed ({Attempts} attempts so far): {Error}", failures, ex.Message);
            }
        }
    }
}
