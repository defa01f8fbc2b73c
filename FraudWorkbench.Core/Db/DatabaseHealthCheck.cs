using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace FraudWorkbench.Core.Db;

/// <summary>
/// Ready when the database answers within a second and every embedded migration is applied. A load balancer
/// must learn quickly that an instance lost its database, so a stalled server fails the check instead of hanging it.
/// </summary>
public sealed class DatabaseHealthCheck(Migrator migrator, DatabaseEndpoint endpoint) : IHealthCheck
{
    public static readonly TimeSpan Bound = TimeSpan.FromSeconds(1);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(Bound);
        try
        {
            // WaitAsync as well as the token: Npgsql's cancellation itself waits on a stalled server.
            return await migrator.IsUpToDateAsync(bounded.Token).WaitAsync(Bound, cancellationToken)
                ? HealthCheckResult.Healthy("database reachable, migrations applied")
                : HealthCheckResult.Unhealthy("database reachable, migrations pending");
        }
        catch (Exception ex) when (ex is TimeoutException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return HealthCheckResult.Unhealthy($"database did not answer within {Bound.TotalSeconds:0} s{Restarting()}");
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return HealthCheckResult.Unhealthy($"database unreachable: {ex.GetBaseException().Message}{Restarting()}");
        }
    }

    private string Restarting() => endpoint.Cluster is { } cluster ? $" (the private cluster in {cluster.ClusterDirectory} is restarted when it stops)" : "";
}
