using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace FraudWorkbench.Core.Db;

/// <summary>Ready when the database answers and every embedded migration is applied.</summary>
public sealed class DatabaseHealthCheck(Migrator migrator) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            return await migrator.IsUpToDateAsync(cancellationToken)
                ? HealthCheckResult.Healthy("database reachable, migrations applied")
                : HealthCheckResult.Unhealthy("database reachable, migrations pending");
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return HealthCheckResult.Unhealthy("database unreachable: " + ex.GetType().Name);
        }
    }
}
