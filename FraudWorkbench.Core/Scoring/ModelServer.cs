using System.Collections.Concurrent;
using System.Threading.Channels;
using FraudWorkbench.Core.Events;
using FraudWorkbench.Core.Registry;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FraudWorkbench.Core.Scoring;

/// <summary>A scoring request that cannot be served as asked: 404 for an unknown model or version, 503 when a model cannot be loaded.</summary>
public sealed class ScoringException(int status, string field, string message) : Exception(message)
{
    public int Status { get; } = status;
    public string Field { get; } = field;
}

/// <summary>
/// A production version this instance refused because its artifacts failed verification, and what serves
/// in its place: the most recent earlier production version that verifies, or nothing.
/// </summary>
public sealed record ServingFault(string ModelName, Guid VersionId, int Version, string Problem, DateTime At, int? ServingVersion)
{
    public string Describe() =>
        $"{ModelName}: version {Version} is production but its artifacts failed verification at {At:yyyy-MM-dd HH:mm:ss} UTC; "
        + (ServingVersion is int serving ? $"serving version {serving}, the previous production version that verifies." : "no earlier production version verifies, so nothing serves.");
}

/// <summary>
/// The models this instance serves. Each registered model's production version is held as one reference,
/// replaced in a single write after the new version has loaded and verified, so requests in flight finish
/// on the version they started with and none fails during a switch. Stage changes made by any instance
/// arrive as <see cref="ModelStageChanged"/> events; a version that fails to load is recorded as an
/// incident and the one already serving stays.
/// A version whose artifacts fail verification is refused once: the refusal (one incident) stands for this
/// instance's lifetime, so requests get the same answer without hashing the files again, until a promotion
/// or rollback names the version again. A refused production version is replaced by the most recent earlier
/// production version that verifies (the rollback an operator would make), reported by <see cref="Faults"/>.
/// </summary>
public sealed class ModelServer(RegistryStore registry, ModelLoader loader, EventHub events, IOptions<ScoringOptions> options, ILogger<ModelServer> logger, TimeProvider? time = null)
    : BackgroundService
{
    private const int MaxCachedVersions = 16;
    // Earlier production versions tried in place of a refused one; each failed try is an incident of its own.
    private const int MaxFallbackCandidates = 5;
    private readonly ConcurrentDictionary<Guid, ServingFault> refused = new();
    private readonly ConcurrentDictionary<string, ServingFault> faults = new(StringComparer.OrdinalIgnoreCase);
    private readonly TimeProvider clock = time ?? TimeProvider.System;
    private readonly ConcurrentDictionary<string, ServingModel> production = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<Guid, Lazy<Task<ServingModel>>> versions = new();
    private readonly SemaphoreSlim productionLoad = new(1, 1);
    private readonly Channel<string> refresh = Channel.CreateUnbounded<string>();
    private string? oldest;

    /// <summary>The model a request asks for: a version, or the production version of the named (or default) model.</summary>
    public async Task<ServingModel> ResolveAsync(string? name, int? version, CancellationToken cancellationToken = default)
    {
        name = string.IsNullOrWhiteSpace(name) ? await DefaultModelAsync(cancellationToken) : name.Trim();
        if (version is null)
        {
            return production.TryGetValue(name, out var serving) ? serving : await LoadProductionAsync(name, cancellationToken);
        }

        var found = await registry.GetVersionAsync(name, version.Value, cancellationToken)
            ?? throw new ScoringException(404, "version", $"Model '{name}' has no version {version}.");
        if (production.TryGetValue(name, out var current) && current.VersionId == found.Id) return current;
        return await VersionAsync(found, cancellationToken);
    }

    /// <summary>Loads and verifies a version without serving it yet (promotion checks artifacts before it commits).</summary>
    public async Task<ServingModel> PrepareAsync(ModelVersion version, CancellationToken cancellationToken = default)
    {
        // Asked for by name, by an operator who may have restored its files: verify it again.
        refused.TryRemove(version.Id, out _);
        try
        {
            return await VersionAsync(version, cancellationToken);
        }
        catch (ScoringException ex)
        {
            throw new ModelLoadException(ex.Message, ex);
        }
    }

    /// <summary>Serves <paramref name="model"/> as its registered model's production version from now on.</summary>
    public void Activate(ServingModel model)
    {
        production[model.ModelName] = model;
        faults.TryRemove(model.ModelName, out _);
        logger.LogInformation("Serving {Model} version {Version} in production", model.ModelName, model.Version);
    }

    public ServingModel? Current(string name) => production.GetValueOrDefault(name);

    /// <summary>The registered models whose production version this instance refused, and what serves instead.</summary>
    public IReadOnlyCollection<ServingFault> Faults => [.. faults.Values];

    public ServingFault? FaultOf(string name) => faults.GetValueOrDefault(name);

    private async Task<string> DefaultModelAsync(CancellationToken cancellationToken)
    {
        if (options.Value.DefaultModel is { Length: > 0 } configured) return configured;
        // Registered models are never deleted, so the oldest one, once there, stays the oldest: ask once.
        return oldest ??= await registry.OldestModelNameAsync(cancellationToken) ?? throw new ScoringException(404, "model", "No model is registered yet.");
    }

    private async Task<ServingModel> LoadProductionAsync(string name, CancellationToken cancellationToken)
    {
        await productionLoad.WaitAsync(cancellationToken);
        try
        {
            if (production.TryGetValue(name, out var serving)) return serving;
            if (faults.TryGetValue(name, out var fault) && fault.ServingVersion is null) throw Unserved(fault);
            var version = await registry.GetProductionAsync(name, cancellationToken);
            if (version is null)
            {
                throw await registry.GetModelAsync(name, cancellationToken) is null
                    ? new ScoringException(404, "model", $"There is no registered model '{name}'.")
                    : new ScoringException(404, "model", $"Model '{name}' has no production version.");
            }

            ServingModel model;
            try
            {
                model = await VersionAsync(version, cancellationToken);
            }
            catch (ScoringException) when (refused.ContainsKey(version.Id))
            {
                model = await FallbackAsync(version, cancellationToken);
            }

            // A promotion that activated a newer version while this one loaded wins.
            return production.GetOrAdd(model.ModelName, model);
        }
        finally
        {
            productionLoad.Release();
        }
    }

    private async Task<ServingModel> VersionAsync(ModelVersion version, CancellationToken cancellationToken)
    {
        if (versions.Count > MaxCachedVersions)
        {
            // Dropped entries are only unreferenced here; requests holding one finish with it.
            foreach (var key in versions.Keys.Where(k => !production.Values.Any(p => p.VersionId == k)).Take(versions.Count - MaxCachedVersions / 2)) versions.TryRemove(key, out _);
        }

        var entry = versions.GetOrAdd(version.Id, _ => new Lazy<Task<ServingModel>>(() => LoadAsync(version)));
        try
        {
            return await entry.Value.WaitAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Never keep a failed load: the next request tries again (a database blip must not stick).
            versions.TryRemove(KeyValuePair.Create(version.Id, entry));
            throw new ScoringException(503, "model", ex is ModelLoadException ? ex.Message : $"{version.ModelName} version {version.Version} could not be loaded now; retry shortly.");
        }
    }

    /// <summary>
    /// Serves the most recent earlier production version that verifies in place of <paramref name="failed"/>,
    /// which was refused; with none, remembers that nothing can serve (requests answer 503 without another try).
    /// </summary>
    private async Task<ServingModel> FallbackAsync(ModelVersion failed, CancellationToken cancellationToken)
    {
        var refusal = refused[failed.Id];
        foreach (var candidate in await registry.PreviousProductionVersionsAsync(failed.RegisteredModelId, failed.Id, MaxFallbackCandidates, cancellationToken))
        {
            try
            {
                var model = await VersionAsync(candidate, cancellationToken);
                var fault = refusal with { ServingVersion = model.Version };
                faults[failed.ModelName] = fault;
                logger.LogError("{Problem}", fault.Describe());
                return model;
            }
            catch (ScoringException) when (refused.ContainsKey(candidate.Id))
            {
                // Refused as well (its own incident): try the one before it.
            }
        }

        faults[failed.ModelName] = refusal;
        logger.LogError("{Problem}", refusal.Describe());
        throw Unserved(refusal);
    }

    private static ScoringException Unserved(ServingFault fault) => new(503, "model", fault.Describe() + " " + fault.Problem);

    private async Task<ServingModel> LoadAsync(ModelVersion version)
    {
        // Checked here, inside the one load a version gets at a time, so concurrent requests cannot slip past a refusal.
        if (refused.TryGetValue(version.Id, out var known)) throw new ModelLoadException(known.Problem);
        try
        {
            return await loader.LoadAsync(version);
        }
        catch (ModelLoadException ex)
        {
            refused[version.Id] = new ServingFault(version.ModelName, version.Id, version.Version, ex.Message, clock.GetUtcNow().UtcDateTime, null);
            logger.LogError("Refused to load {Model} version {Version}: {Problem}", version.ModelName, version.Version, ex.Message);
            try
            {
                await registry.RecordIncidentAsync("artifact-verification", "model-version", version.Id.ToString(), ex.Message);
            }
            catch (Exception recordError) when (recordError is Npgsql.NpgsqlException or TimeoutException)
            {
                logger.LogError(recordError, "Could not record the incident for {Model} version {Version}", version.ModelName, version.Version);
            }

            throw;
        }
    }

    private readonly TaskCompletionSource preloaded = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes once the production versions registered when this instance started are loaded (or refused) and warmed.</summary>
    public Task Preloaded => preloaded.Task;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var subscription = events.Subscribe<ModelStageChanged>(e => refresh.Writer.TryWrite(e.ModelName));
        await PreloadAsync(stoppingToken);
        await foreach (var name in refresh.Reader.ReadAllAsync(stoppingToken))
        {
            try
            {
                await RefreshAsync(name, stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogError(ex, "Could not refresh the production version of {Model}; the current one keeps serving", name);
            }
        }
    }

    /// <summary>
    /// Loads every production version before this instance reports ready, and runs each once: otherwise the first
    /// requests after a start wait for the artifacts, the ONNX session, the TreeSHAP tables and the JIT compiler.
    /// </summary>
    private async Task PreloadAsync(CancellationToken cancellationToken)
    {
        try
        {
            foreach (var model in (await registry.ListModelsAsync(cancellationToken)).Where(m => m.ProductionVersion is not null))
            {
                try
                {
                    var serving = await LoadProductionAsync(model.Name, cancellationToken);
                    var row = new float[serving.Features.SlotCount];
                    serving.Probabilities(row, 1, new double[1]);
                    serving.Explain(row);
                }
                catch (ScoringException ex)
                {
                    // Refused and recorded as an incident by the load: requests for it get the same answer.
                    logger.LogWarning("{Model} was not preloaded: {Problem}", model.Name, ex.Message);
                }
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            logger.LogError(ex, "Could not preload the production models; each loads on its first request");
        }
        finally
        {
            preloaded.TrySetResult();
        }
    }

    /// <summary>Brings this instance in line with the registry after a stage change made anywhere.</summary>
    private async Task RefreshAsync(string name, CancellationToken cancellationToken)
    {
        var version = await registry.GetProductionAsync(name, cancellationToken);
        var current = production.GetValueOrDefault(name);
        if (version is null)
        {
            production.TryRemove(name, out _);
            faults.TryRemove(name, out _);
            return;
        }

        if (current?.VersionId == version.Id)
        {
            faults.TryRemove(name, out _);
            return;
        }

        try
        {
            Activate(await VersionAsync(version, cancellationToken));
        }
        catch (ScoringException) when (refused.TryGetValue(version.Id, out var refusal))
        {
            // Recorded as an incident by the load. What already serves stays, now in place of the refused version.
            if (current is not null)
            {
                faults[name] = refusal with { ServingVersion = current.Version };
                return;
            }

            try
            {
                production[name] = await FallbackAsync(version, cancellationToken);
            }
            catch (ScoringException)
            {
                // Nothing verifies: remembered as a fault, requests answer 503.
            }
        }
        catch (ScoringException)
        {
            // Could not load now (the database, say); the version already serving (if any) stays.
        }
    }
}
