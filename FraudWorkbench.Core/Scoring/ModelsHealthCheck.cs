using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace FraudWorkbench.Core.Scoring;

/// <summary>
/// Ready once the production models are loaded and warmed, so a load balancer sends no request to an instance still
/// loading them. A production version refused at load (corrupt artifacts) while an earlier verified version serves in
/// its place is Degraded, still ready: instances share the artifact store, so taking this one out of rotation would
/// move its traffic to others in the same state, or stop scoring altogether, instead of serving the verified version.
/// Unhealthy (not ready) when a production model has nothing verified to serve. The description names each.
/// </summary>
public sealed class ModelsHealthCheck(ModelServer server) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (!server.Preloaded.IsCompleted) return Task.FromResult(HealthCheckResult.Unhealthy("loading the production models"));
        var faults = server.Faults.OrderBy(f => f.ModelName, StringComparer.OrdinalIgnoreCase).ToList();
        if (faults.Count == 0) return Task.FromResult(HealthCheckResult.Healthy("production models loaded"));
        var description = string.Join(" ", faults.Select(f => f.Describe()));
        var data = faults.ToDictionary(f => f.ModelName, f => (object)(f.ServingVersion is int v ? $"serving version {v} in place of version {f.Version}" : $"version {f.Version} refused, nothing serves"));
        return Task.FromResult(faults.Any(f => f.ServingVersion is null)
            ? HealthCheckResult.Unhealthy(description, data: data)
            : HealthCheckResult.Degraded(description, data: data));
    }
}
