using System.Diagnostics;
using System.Threading.Channels;
using Dapper;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Events;
using FraudWorkbench.Core.Features;
using FraudWorkbench.Core.Registry;
using FraudWorkbench.Core.Scoring;
using FraudWorkbench.Core.Training;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace FraudWorkbench.Core.Retraining;

/// <summary>What one pass of the tailer did.</summary>
/// <param name="Ran">False when another instance held the lock.</param>
public sealed record ShadowTailPass(bool Ran, int Workflows, long Read, long Shadowed, long Failed);

/// <summary>
/// Shadow scoring as a tailer of the prediction log, the one record of what the champion served. From a workflow's
/// feature step until its promotion, it reads the champion version's logged predictions in log order, a little behind
/// now (<see cref="RetrainingOptions.ShadowTailLag"/>), and replays each into the challenger's entity histories, so the
/// challenger is promoted with histories that miss none of the traffic of the hours its training, gate, shadow period
/// and approval took. During the shadow period it also scores each with the challenger at its threshold and writes
/// <c>shadow_predictions</c>. Its position in the log is stored on the workflow row with each batch's shadow predictions,
/// in one transaction, so any instance can carry on where another stopped, and the engine compares only once the
/// period has been read.
/// </summary>
/// <remarks>
/// Nothing of this runs on the request path or in the log writer's batch: requests pay nothing for a shadow. One
/// instance tails at a time, holding a session advisory lock for a pass and writing its batches on that same connection,
/// so a batch can only commit while its instance still holds the lock; a lost instance's connection, and with it the lock,
/// goes away. The champion's rows only (<c>model_version_id = champion_version_id</c>): what production served, as the
/// challenger would serve it; requests naming another version of the model on purpose are not its traffic.
/// </remarks>
public sealed class ShadowScorer(
    NpgsqlDataSource dataSource, FeatureSetStore featureSets, RegistryStore registry, TrainingRunStore runs, ModelLoader loader, EntityStateStore entities,
    RetrainingEngine engine, EventHub events, TimeProvider time, IOptions<RetrainingOptions> options, ILogger<ShadowScorer> logger,
    IHostApplicationLifetime? lifetime = null) : BackgroundService
{
    /// <summary>The session advisory lock a tailing instance holds for a pass ("FWBSHADW").</summary>
    internal const long LockKey = 0x4657_4253_4841_4457;

    private static readonly TimeSpan FlushTimeout = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan LoadRetry = TimeSpan.FromMinutes(1);

    /// <summary>A tailed workflow's challenger side, kept across passes.</summary>
    private sealed class Tail(Guid featureSetVersionId, Guid championFeatureSetVersionId, Featurizer featurizer)
    {
        public Guid FeatureSetVersionId { get; } = featureSetVersionId;

        /// <summary>The feature set version's own featurizer, for the traffic outside the shadow period (or before a candidate loads).</summary>
        public Featurizer Featurizer { get; } = featurizer;

        /// <summary>
        /// Whether the tailer adds the traffic to the histories: not when the challenger shares the champion's feature set
        /// version, whose histories the champion's own scoring keeps.
        /// </summary>
        public bool Records { get; } = featureSetVersionId != championFeatureSetVersionId;

        public ServingModel? Challenger { get; set; }

        public DateTime LoadAgainAt { get; set; }

        /// <summary>The position this instance last wrote: found elsewhere, another instance tailed meanwhile.</summary>
        public LogPosition? Committed { get; set; }

        /// <summary>
        /// Rows recorded into the stored histories whose position did not commit (the database failed in between): read
        /// again at the next pass, they are scored but not recorded a second time.
        /// </summary>
        public HashSet<Guid> Unconfirmed { get; } = [];
    }

    private readonly Channel<bool> signal = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly SemaphoreSlim local = new(1, 1);
    // Touched under `local` only.
    private readonly Dictionary<Guid, Tail> tails = [];
    private long shadowed;

    /// <summary>Shadow predictions this instance wrote.</summary>
    public long Shadowed => Interlocked.Read(ref shadowed);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var subscription = events.Subscribe<RetrainingChanged>(_ => signal.Writer.TryWrite(true));
        // One wait for a signal at a time, kept across intervals (a new one each time would pile up until the next event).
        Task<bool>? signalled = null;
        try
        {
            // Registered ahead of the migrations: the first read waits for a first start to create the tables.
            await Alerts.AlertNotifier.HostStartedAsync(lifetime, stoppingToken);
            while (true)
            {
                try
                {
                    await RunOnceAsync(stoppingToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // The database away for a moment, say: the position is in the database, the next pass starts from there.
                    logger.LogWarning(ex, "Tailing the prediction log for shadow scoring failed; trying again shortly");
                }

                using var interval = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                var delay = Task.Delay(options.Value.ShadowTailInterval, time, interval.Token);
                signalled ??= signal.Reader.WaitToReadAsync(stoppingToken).AsTask();
                if (await Task.WhenAny(signalled, delay) == signalled) signalled = null;
                await interval.CancelAsync();
                signal.Reader.TryRead(out _);
                stoppingToken.ThrowIfCancellationRequested();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            await local.WaitAsync(CancellationToken.None);
            foreach (var tail in tails.Values) tail.Challenger?.Dispose();
            tails.Clear();
            local.Release();
        }
    }

    /// <summary>
    /// One pass: every tailed workflow read up to now minus the lag, batch by batch. Skipped (<see cref="ShadowTailPass.Ran"/>
    /// false) while another instance holds the lock. Public for tests and the bench.
    /// </summary>
    public async Task<ShadowTailPass> RunOnceAsync(CancellationToken cancellationToken = default)
    {
        await local.WaitAsync(cancellationToken);
        try
        {
            await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
            if ((await ShadowStore.TailedAsync(connection, cancellationToken)).Count == 0)
            {
                Retire([]);
                return new ShadowTailPass(true, 0, 0, 0, 0);
            }

            const string tryLock = "SELECT pg_try_advisory_lock(@key)";
            if (!await connection.ExecuteScalarAsync<bool>(new CommandDefinition(tryLock, new { key = LockKey }, cancellationToken: cancellationToken)))
                return new ShadowTailPass(false, 0, 0, 0, 0);

            try
            {
                // Read again under the lock: the instance that held it may have moved the positions.
                var tailed = await ShadowStore.TailedAsync(connection, cancellationToken);
                var pass = new Counts();
                foreach (var workflow in tailed)
                {
                    try
                    {
                        await TailAsync(connection, workflow, pass, cancellationToken);
                    }
                    catch (Exception ex) when (ex is not (OperationCanceledException or NpgsqlException))
                    {
                        // This workflow's problem (its feature set version gone, say): the others go on.
                        logger.LogWarning(ex, "Tailing the prediction log for workflow {Workflow} failed; trying again at the next pass", workflow.Id);
                    }
                }

                Retire(tailed);
                return new ShadowTailPass(true, tailed.Count, pass.Read, pass.Shadowed, pass.Failed);
            }
            finally
            {
                try
                {
                    // Pooled connections keep session state (no reset on close): the lock must be released, not left to the pool.
                    const string unlock = "SELECT pg_advisory_unlock(@key)";
                    await connection.ExecuteAsync(new CommandDefinition(unlock, new { key = LockKey }, cancellationToken: CancellationToken.None));
                }
                catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException)
                {
                    // A broken connection took the lock with it.
                    logger.LogDebug(ex, "Releasing the shadow tailer's lock failed");
                }
            }
        }
        finally
        {
            local.Release();
        }
    }

    private sealed class Counts
    {
        public long Read;
        public long Shadowed;
        public long Failed;
    }

    private async Task TailAsync(NpgsqlConnection connection, TailedWorkflow workflow, Counts pass, CancellationToken cancellationToken)
    {
        // The pass's list may be minutes old by now (a backlog of the workflows before this one): the engine may have
        // started or ended the shadow period since.
        if (await ShadowStore.TailedAsync(connection, workflow.Id, cancellationToken) is not { } fresh) return;
        workflow = fresh;
        var tail = await PrepareAsync(workflow, cancellationToken);
        var position = workflow.Position;
        // Another instance tailed since this one last did: this instance's copy of the histories lacks what it recorded
        // (the stored rows are right; the copy would catch up only as this instance writes each entity again).
        if (tail.Committed != position)
        {
            if (tail.Records) entities.Forget(tail.FeatureSetVersionId);
            tail.Unconfirmed.Clear();
        }
        var size = options.Value.ShadowBatchSize;
        while (true)
        {
            // Up to the promotion at most: the challenger serves (and records) from then on.
            var before = LogPosition.Microseconds(time.GetUtcNow().UtcDateTime - options.Value.ShadowTailLag);
            if (workflow.PromotedAt is { } promoted && promoted < before) before = promoted;
            if (position.CreatedAt >= before) return;
            var rows = await ShadowStore.ReadLogAsync(connection, workflow.ChampionVersionId, position, before, size, cancellationToken);
            var batch = await ProcessAsync(workflow, tail, rows, cancellationToken);
            // All read and done: nothing logged before the cut is left (a row committed later behind it is never read).
            var complete = rows.Count < size && batch.Done == rows.Count;
            var read = complete ? LogPosition.Before(before)
                : batch.Done > 0 ? new LogPosition(rows[batch.Done - 1].CreatedAt, rows[batch.Done - 1].Id) : position;
            if (read == position) return;

            // Stored before the position moves past them, so a crash makes the next pass do them again rather than lose
            // them. A crash between the two (or a lock lost mid-batch) may then add a few transactions to the histories twice:
            // a brief overcount of some velocity features, the price of not holding a database transaction across scoring.
            using (var soon = new CancellationTokenSource())
            {
                // Shutting down: the rows done are stored and committed all the same, within a few seconds.
                var token = cancellationToken;
                if (cancellationToken.IsCancellationRequested)
                {
                    soon.CancelAfter(TimeSpan.FromSeconds(5));
                    token = soon.Token;
                }

                // Once promoted the challenger's own scoring records into the same version too, so its unwritten count seldom
                // reaches 0: waiting for it would stall every batch of the last stretch up to the promotion.
                if (tail.Records && batch.Done > 0 && workflow.PromotedAt is null) await FlushAsync(tail.FeatureSetVersionId, token);
                if (tail.Records) tail.Unconfirmed.UnionWith(rows.Take(batch.Done).Select(r => r.Id));
                var advanced = await ShadowStore.AdvanceAsync(connection, workflow.Id, position, read, batch.Shadows, token);
                tail.Unconfirmed.Clear();
                if (!advanced)
                {
                    logger.LogWarning("Workflow {Workflow}: its position in the log moved under this instance's tailer; leaving it to the next pass", workflow.Id);
                    return;
                }
            }

            tail.Committed = read;
            pass.Read += batch.Done;
            pass.Shadowed += batch.Shadows.Count;
            pass.Failed += batch.Failed;
            Interlocked.Add(ref shadowed, batch.Shadows.Count);
            var crossed = workflow.ShadowEndsAt is { } ends && position.CreatedAt < ends && read.CreatedAt >= ends;
            position = read;
            cancellationToken.ThrowIfCancellationRequested();
            if (crossed && workflow is { Status: RetrainingStatus.Running, Step: RetrainingStep.Shadow }) await EndShadowAsync(workflow.Id, cancellationToken);
            if (batch.Stopped || complete) return;

            // The engine may have ended the period, promoted or stopped the workflow meanwhile.
            if (await ShadowStore.TailedAsync(connection, workflow.Id, cancellationToken) is not { } now || now.Position != position) return;
            workflow = now;
        }
    }

    private sealed record Batch(int Done, List<ShadowPrediction> Shadows, long Failed, bool Stopped);

    /// <summary>
    /// Records (and in the shadow period scores) the rows in order; stops before a row a passing fault (the database, a
    /// backlog of histories to store) kept from being done, so the position stops there and the next pass does it.
    /// </summary>
    private async Task<Batch> ProcessAsync(TailedWorkflow workflow, Tail tail, IReadOnlyList<LoggedPrediction> rows, CancellationToken cancellationToken)
    {
        var shadows = new List<ShadowPrediction>();
        var probability = new double[1];
        var done = 0;
        long failed = 0;
        foreach (var row in rows)
        {
            var inPeriod = workflow.Shadows(row.CreatedAt);
            if (!inPeriod && !tail.Records)
            {
                done++;
                continue;
            }

            try
            {
                if (inPeriod && await ChallengerAsync(workflow, tail, cancellationToken) is { } challenger)
                {
                    // The row as the challenger's contract would have parsed the request: its own dataset's columns, in its order.
                    var cells = RetrainingTraffic.ParseRow(row.InputJson, challenger.Features.Schema);
                    var start = Stopwatch.GetTimestamp();
                    var features = await entities.ComputeAsync(tail.FeatureSetVersionId, challenger.Featurizer, cells, tail.Records && !tail.Unconfirmed.Contains(row.Id), cancellationToken);
                    challenger.Probabilities(features, 1, probability);
                    var latency = (float)Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                    shadows.Add(new ShadowPrediction(workflow.Id, row.Id, row.CreatedAt, workflow.ChampionVersionId, challenger.VersionId,
                        row.Probability, row.Decision, probability[0], probability[0] >= challenger.Threshold, latency, time.GetUtcNow().UtcDateTime));
                }
                else if (tail.Records && !tail.Unconfirmed.Contains(row.Id))
                {
                    // Outside the period, or no challenger to score with: the histories all the same.
                    var cells = RetrainingTraffic.ParseRow(row.InputJson, tail.Featurizer.Set.Schema);
                    await entities.ComputeAsync(tail.FeatureSetVersionId, tail.Featurizer, cells, record: true, cancellationToken);
                }

                done++;
            }
            catch (OperationCanceledException)
            {
                return new Batch(done, shadows, failed, true);
            }
            catch (Exception ex) when (ex is EntityStateBackloggedException or NpgsqlException or TimeoutException)
            {
                logger.LogWarning(ex, "Workflow {Workflow}: prediction {Prediction} could not be recorded for now; the tailer takes it up again at the next pass", workflow.Id, row.Id);
                return new Batch(done, shadows, failed, true);
            }
            catch (Exception ex)
            {
                // This row's own fault, which would recur: it is passed, not shadowed (the comparison counts it as dropped).
                failed++;
                done++;
                logger.LogWarning(ex, "Workflow {Workflow}: the challenger's features or score of prediction {Prediction} failed; it is not shadowed", workflow.Id, row.Id);
            }
        }

        return new Batch(done, shadows, failed, false);
    }

    private async Task FlushAsync(Guid versionId, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(FlushTimeout);
        try
        {
            await entities.FlushAsync(versionId, timeout.Token);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            // The writer keeps trying (an entity PostgreSQL refuses, say). Holding the position would only replay the batch
            // into the same copy again and again; the transactions wait in this instance's copy as every scoring's do.
            logger.LogError("The entity histories of feature set version {Version} were not all stored within {Timeout}; the tailer moves on", versionId, FlushTimeout);
        }
    }

    /// <summary>The engine compares once the tailer has read the period; telling it now saves waiting for its tick.</summary>
    private async Task EndShadowAsync(Guid workflowId, CancellationToken cancellationToken)
    {
        try
        {
            await engine.AdvanceAsync(workflowId, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            logger.LogWarning(ex, "Workflow {Workflow}: the shadow period has been read, but advancing it failed; the coordinator's tick does it", workflowId);
        }
    }

    private async Task<Tail> PrepareAsync(TailedWorkflow workflow, CancellationToken cancellationToken)
    {
        if (tails.TryGetValue(workflow.Id, out var tail))
        {
            if (tail.Challenger is { } loaded && loaded.VersionId != workflow.CandidateVersionId)
            {
                loaded.Dispose();
                tail.Challenger = null;
            }

            return tail;
        }

        var version = await featureSets.GetVersionAsync(workflow.FeatureSetVersionId, cancellationToken)
            ?? throw new InvalidOperationException($"The feature set version {workflow.FeatureSetVersionId} of workflow {workflow.Id} no longer exists.");
        var champion = await registry.GetVersionAsync(workflow.ChampionVersionId, cancellationToken)
            ?? throw new InvalidOperationException($"The champion version {workflow.ChampionVersionId} of workflow {workflow.Id} no longer exists.");
        var run = await runs.GetAsync(champion.RunId, cancellationToken)
            ?? throw new InvalidOperationException($"The training run of {champion.ModelName} version {champion.Version} no longer exists.");
        tail = new Tail(workflow.FeatureSetVersionId, run.FeatureSetVersionId, new Featurizer(version.Fitted));
        tails[workflow.Id] = tail;
        logger.LogInformation("Tailing the prediction log of {Model} version {Version} into feature set version {FeatureSet} (workflow {Workflow}{Shared})",
            champion.ModelName, champion.Version, workflow.FeatureSetVersionId, workflow.Id, tail.Records ? "" : "; the champion's own histories, shadow scoring only");
        return tail;
    }

    /// <summary>The candidate loaded for scoring, once it is registered; null while it cannot be (its rows then count as dropped).</summary>
    private async Task<ServingModel?> ChallengerAsync(TailedWorkflow workflow, Tail tail, CancellationToken cancellationToken)
    {
        if (tail.Challenger is { } loaded) return loaded;
        var now = time.GetUtcNow().UtcDateTime;
        if (workflow.CandidateVersionId is not { } candidateId || now < tail.LoadAgainAt) return null;
        try
        {
            var candidate = await registry.GetVersionAsync(candidateId, cancellationToken) ?? throw new ModelLoadException("The candidate version no longer exists.");
            var model = await loader.LoadAsync(candidate, cancellationToken);
            if (model.FeatureSetVersionId != tail.FeatureSetVersionId)
            {
                model.Dispose();
                throw new ModelLoadException($"The candidate was trained on feature set version {model.FeatureSetVersionId}, not the workflow's {tail.FeatureSetVersionId}.");
            }

            logger.LogInformation("Shadow scoring {Model} version {Version} (workflow {Workflow})", candidate.ModelName, candidate.Version, workflow.Id);
            return tail.Challenger = model;
        }
        catch (Exception ex) when (ex is ModelLoadException or ScoringException)
        {
            tail.LoadAgainAt = now + LoadRetry;
            logger.LogError(ex, "The challenger of workflow {Workflow} cannot be loaded for shadow scoring; its traffic goes on into its histories, not shadowed (the comparison counts it as dropped)", workflow.Id);
            return null;
        }
    }

    /// <summary>Lets go of workflows no longer tailed, and of challengers whose shadow period has been read.</summary>
    private void Retire(IReadOnlyList<TailedWorkflow> tailed)
    {
        var current = tailed.ToDictionary(w => w.Id);
        foreach (var (id, tail) in tails.ToList())
        {
            var gone = !current.TryGetValue(id, out var workflow);
            if (tail.Challenger is { } challenger && (gone || workflow!.ShadowEndsAt is { } ends && workflow.HistoriesThrough >= ends))
            {
                challenger.Dispose();
                tail.Challenger = null;
                logger.LogInformation("Shadow scoring of {Model} version {Version} ended (workflow {Workflow})", challenger.ModelName, challenger.Version, id);
            }

            if (gone) tails.Remove(id);
        }
    }
}
