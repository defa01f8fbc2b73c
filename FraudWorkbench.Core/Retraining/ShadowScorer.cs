using System.Diagnostics;
using System.Threading.Channels;
using FraudWorkbench.Core.Events;
using FraudWorkbench.Core.Features;
using FraudWorkbench.Core.Registry;
using FraudWorkbench.Core.Scoring;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace FraudWorkbench.Core.Retraining;

/// <summary>
/// Scores the challenger of every shadowing workflow on the champion's logged traffic, off the request path: it reads
/// what <see cref="ShadowLogSink"/> queued, computes the challenger's features from its own entity histories (adding
/// the transaction to them unless both versions share a feature set version, whose histories scoring already keeps),
/// scores at the challenger's threshold and writes <c>shadow_predictions</c> in batches. Which workflows shadow comes
/// from the database at start, on every <see cref="RetrainingChanged"/> and on the coordinator's tick. Nothing here
/// can fail a scoring: a write that fails is logged and retried while the queue in front of it drops what it cannot hold.
/// </summary>
public sealed class ShadowScorer(
    ShadowLogSink sink, ShadowStore store, RegistryStore registry, ModelServer server, ModelLoader loader, EntityStateStore entities,
    EventHub events, TimeProvider time, IOptions<RetrainingOptions> options, ILogger<ShadowScorer> logger, IHostApplicationLifetime? lifetime = null) : BackgroundService
{
    /// <summary>A workflow being shadowed, its challenger loaded; <see cref="Map"/> reorders a champion row into the challenger's columns (null: same order).</summary>
    private sealed record Shadow(ShadowWorkflow Workflow, ServingModel Challenger, Guid ChampionFeatureSetVersionId, int[]? Map);

    private static readonly TimeSpan Linger = TimeSpan.FromMilliseconds(100);

    private readonly Channel<bool> signal = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly SemaphoreSlim gate = new(1, 1);
    private readonly SemaphoreSlim refreshing = new(1, 1);
    private Dictionary<Guid, Shadow> shadows = [];
    private long written;

    /// <summary>Shadow predictions this instance wrote.</summary>
    public long Written => Interlocked.Read(ref written);

    /// <summary>The workflows shadowing on this instance now.</summary>
    public IReadOnlyCollection<Guid> Active => [.. Volatile.Read(ref shadows).Keys];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var subscription = events.Subscribe<RetrainingChanged>(_ => signal.Writer.TryWrite(true));
        try
        {
            // Registered ahead of the migrations: the first read waits for a first start to create the tables.
            await Alerts.AlertNotifier.HostStartedAsync(lifetime, stoppingToken);
            await Task.WhenAll(RefreshLoopAsync(stoppingToken), ScoreLoopAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            sink.SetTargets([]);
            foreach (var shadow in shadows.Values) shadow.Challenger.Dispose();
            shadows = [];
        }
    }

    private async Task RefreshLoopAsync(CancellationToken stoppingToken)
    {
        // One wait for a signal at a time, kept across ticks (a new one per tick would pile up until the next event).
        Task<bool>? signalled = null;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await RefreshAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Whatever went wrong, the loop must live on: it is what ends shadows as well as starting them.
                logger.LogWarning(ex, "Reading the shadowing workflows failed; trying again on the next tick");
            }

            using var tick = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            var delay = Task.Delay(options.Value.CoordinatorTick, time, tick.Token);
            signalled ??= signal.Reader.WaitToReadAsync(stoppingToken).AsTask();
            if (await Task.WhenAny(signalled, delay) == signalled) signalled = null;
            await tick.CancelAsync();
            signal.Reader.TryRead(out _);
            stoppingToken.ThrowIfCancellationRequested();
        }
    }

    /// <summary>Reads the shadowing workflows, loads the challengers of new ones and retires those that ended. Public for tests and the bench.</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken = default)
    {
        await refreshing.WaitAsync(cancellationToken);
        try
        {
            var now = time.GetUtcNow().UtcDateTime;
            var active = await store.ActiveAsync(now, cancellationToken);
            var current = Volatile.Read(ref shadows);
            var next = new Dictionary<Guid, Shadow>();
            foreach (var workflow in active)
            {
                if (current.TryGetValue(workflow.Id, out var kept) && kept.Workflow.CandidateVersionId == workflow.CandidateVersionId && kept.Workflow.ChampionVersionId == workflow.ChampionVersionId)
                {
                    next[workflow.Id] = kept with { Workflow = workflow };
                    continue;
                }

                if (await LoadAsync(workflow, cancellationToken) is { } loaded) next[workflow.Id] = loaded;
            }

            var retired = current.Values.Where(s => !next.TryGetValue(s.Workflow.Id, out var n) || n.Challenger != s.Challenger).ToList();
            await gate.WaitAsync(cancellationToken);
            try
            {
                Volatile.Write(ref shadows, next);
                sink.SetTargets(next.Values.Select(s => new ShadowTarget(s.Workflow.Id, s.Workflow.ChampionVersionId, s.Workflow.CandidateVersionId)));
            }
            finally
            {
                gate.Release();
            }

            // Under the gate the scoring loop held no challenger, so a retired one is no longer in use.
            foreach (var shadow in retired)
            {
                shadow.Challenger.Dispose();
                logger.LogInformation("Shadow scoring of {Model} version {Version} ended (workflow {Workflow})", shadow.Challenger.ModelName, shadow.Challenger.Version, shadow.Workflow.Id);
            }
        }
        finally
        {
            refreshing.Release();
        }
    }

    private async Task<Shadow?> LoadAsync(ShadowWorkflow workflow, CancellationToken cancellationToken)
    {
        try
        {
            var candidate = await registry.GetVersionAsync(workflow.CandidateVersionId, cancellationToken);
            var championVersion = await registry.GetVersionAsync(workflow.ChampionVersionId, cancellationToken);
            if (candidate is null || championVersion is null) return null;
            var champion = await server.ResolveAsync(championVersion.ModelName, championVersion.Version, cancellationToken);
            var challenger = await loader.LoadAsync(candidate, cancellationToken);
            logger.LogInformation("Shadow scoring {Model} version {Version} beside version {Champion} (workflow {Workflow})", candidate.ModelName, candidate.Version, championVersion.Version, workflow.Id);
            return new Shadow(workflow, challenger, champion.FeatureSetVersionId, ColumnMap(champion, challenger));
        }
        catch (Exception ex) when (ex is ModelLoadException or ScoringException)
        {
            logger.LogError(ex, "The challenger of workflow {Workflow} cannot be loaded for shadow scoring; its traffic is not shadowed", workflow.Id);
            return null;
        }
    }

    /// <summary>Rows arrive in the champion's dataset column order; a challenger trained on another dataset version may order (or add) columns differently.</summary>
    private static int[]? ColumnMap(ServingModel champion, ServingModel challenger)
    {
        var from = champion.Features.Schema.Columns;
        var to = challenger.Features.Schema.Columns;
        var map = new int[to.Count];
        var identity = from.Count == to.Count;
        for (var i = 0; i < to.Count; i++)
        {
            map[i] = -1;
            for (var j = 0; j < from.Count; j++)
            {
                if (!string.Equals(from[j].Name, to[i].Name, StringComparison.Ordinal)) continue;
                map[i] = j;
                break;
            }

            identity &= map[i] == i;
        }

        return identity ? null : map;
    }

    private async Task ScoreLoopAsync(CancellationToken stoppingToken)
    {
        var reader = sink.Reader;
        var items = new List<ShadowItem>();
        var probability = new double[1];
        while (await reader.WaitToReadAsync(stoppingToken))
        {
            // A moment for more of the log's batches to arrive: one insert per ~100 ms under load rather than one per log batch,
            // fewer wake-ups of PostgreSQL on the cores the champion's responses need. Nothing waits on the shadow.
            await Task.Delay(Linger, time, stoppingToken);
            var size = options.Value.ShadowBatchSize;
            while (items.Count < size && reader.TryRead(out var item)) items.Add(item);
            var batch = new List<ShadowPrediction>(items.Count);
            await gate.WaitAsync(stoppingToken);
            try
            {
                var current = Volatile.Read(ref shadows);
                foreach (var item in items)
                {
                    // Queued before its workflow ended (or from a log batch written as it began): outside the period, not shadowed.
                    if (!current.TryGetValue(item.WorkflowId, out var shadow)) continue;
                    if (item.CreatedAt < shadow.Workflow.ShadowStartedAt || (shadow.Workflow.ShadowEndsAt is { } ends && item.CreatedAt >= ends)) continue;
                    try
                    {
                        batch.Add(await ScoreAsync(shadow, item, probability, stoppingToken));
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException)
                    {
                        sink.CountDropped(item.WorkflowId, 1);
                        logger.LogWarning(ex, "The challenger of workflow {Workflow} could not score prediction {Prediction}; it is not shadowed", item.WorkflowId, item.PredictionId);
                    }
                }
            }
            finally
            {
                gate.Release();
            }

            items.Clear();
            await WriteWithRetryAsync(batch, stoppingToken);
        }
    }

    private async Task<ShadowPrediction> ScoreAsync(Shadow shadow, ShadowItem item, double[] probability, CancellationToken cancellationToken)
    {
        var challenger = shadow.Challenger;
        var row = item.Row;
        if (shadow.Map is { } map)
        {
            row = new string?[map.Length];
            for (var i = 0; i < map.Length; i++) row[i] = map[i] >= 0 && map[i] < item.Row.Length ? item.Row[map[i]] : null;
        }

        var start = Stopwatch.GetTimestamp();
        var features = await entities.ComputeAsync(challenger.FeatureSetVersionId, challenger.Featurizer, row,
            record: challenger.FeatureSetVersionId != shadow.ChampionFeatureSetVersionId, cancellationToken);
        challenger.Probabilities(features, 1, probability);
        var latency = (float)Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        return new ShadowPrediction(item.WorkflowId, item.PredictionId, item.CreatedAt, item.ChampionVersionId, challenger.VersionId,
            item.ChampionProbability, item.ChampionDecision, probability[0], probability[0] >= challenger.Threshold, latency, time.GetUtcNow().UtcDateTime);
    }

    private async Task WriteWithRetryAsync(List<ShadowPrediction> batch, CancellationToken stoppingToken)
    {
        if (batch.Count == 0) return;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await store.InsertAsync(batch, stoppingToken);
                Interlocked.Add(ref written, batch.Count);
                return;
            }
            catch (PostgresException ex) when (ex.SqlState.StartsWith("23", StringComparison.Ordinal))
            {
                // The workflow was deleted meanwhile (a foreign key): nothing to write it to, ever.
                logger.LogWarning("{Count} shadow predictions were refused ({Message}) and are dropped", batch.Count, ex.MessageText);
                return;
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException && !stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning(ex, "Writing {Count} shadow predictions failed (attempt {Attempt}); retrying", batch.Count, attempt);
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(5_000, 100 * attempt * attempt)), time, stoppingToken);
            }
            catch (Exception ex) when (ex is not (OperationCanceledException or NpgsqlException or TimeoutException))
            {
                // Not a fault that passes: losing the batch beats stopping the loop (the queue would then only drop).
                logger.LogError(ex, "{Count} shadow predictions could not be written and are dropped", batch.Count);
                return;
            }
        }
    }
}
