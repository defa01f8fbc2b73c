using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace FraudWorkbench.Core.Features;

/// <summary>
/// Loads a feature set version's entity histories into this instance's copy the first time scoring records
/// against it, off the request path: until it is done, calls read what they need as before.
/// </summary>
public sealed class EntityStateWarmup(EntityStateStore store, ILogger<EntityStateWarmup> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await foreach (var versionId in store.WarmupRequests.ReadAllAsync(stoppingToken))
        {
            try
            {
                var loaded = await store.WarmAsync(versionId, cancellationToken: stoppingToken);
                if (loaded is { } count) logger.LogInformation("Entity histories of feature set version {Version} loaded: {Count}", versionId, count);
                else logger.LogInformation("Feature set version {Version} has too many entity histories to keep; they are read as needed", versionId);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                // Only an optimisation: scoring reads what it needs meanwhile.
                logger.LogWarning(ex, "Could not load the entity histories of feature set version {Version}", versionId);
            }
        }
    }
}
