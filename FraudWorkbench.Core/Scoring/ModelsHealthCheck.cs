using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace FraudWorkbench.Core.Scoring;

/// <summary>Ready once the production models are loaded and warmed, so a load balancer sends no request to an instance still loading them.</summary>
public sealed class ModelsHealthCheck(ModelServer server) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(server.Preloaded.IsCompleted
            ? HealthCheckResult.Healthy("production models loaded")
            : HealthCheckResult.Unhealthy("loading the production models"));
}
