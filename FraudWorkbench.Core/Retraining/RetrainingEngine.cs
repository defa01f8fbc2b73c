using Dapper;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Events;
using FraudWorkbench.Core.Jobs;
using FraudWorkbench.Core.Registry;
using FraudWorkbench.Core.Training;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace FraudWorkbench.Core.Retraining;

/// <summary>
/// Moves a workflow on: under the workflow row's lock, looks at its current step (its job finished? the shadow period
/// over? the watch ended?) and records the result and queues the next step in one transaction. Idempotent, so the
/// coordinator may call it for any event or tick, on any instance, and a restart resumes where the row says.
/// </summary>
/// <remarks>
/// Each step handles its own row: pending → start it (queue its job, or do it at once), running/waiting → look whether
/// it is done. Work done outside the transaction (a training run, a registration, a promotion) is found again by the
/// next advance if the transaction did not commit, so it never happens twice.
/// </remarks>
public sealed class RetrainingEngine(
    RetrainingStore store, JobStore jobs, TrainingService training, TrainingRunStore runs, RegistryService registryService, RegistryStore registry,
    ShadowStore shadow, EventHub events, TimeProvider time, ILogger<RetrainingEngine>? logger = null)
{
    private const string SystemActor = RetrainingService.SystemActor;
    private readonly ILogger logger = logger ?? NullLogger<RetrainingEngine>.Instance;

    /// <summary>What one advance holds: the locked row, its steps, and what to publish after the commit.</summary>
    internal sealed class Advance(NpgsqlTransaction transaction, RetrainingWorkflow workflow, IReadOnlyList<RetrainingStepRow> steps, DateTime now)
    {
        public NpgsqlTransaction Transaction { get; } = transaction;
        public RetrainingWorkflow Workflow { get; set; } = workflow;
        public Dictionary<string, RetrainingStepRow> Steps { get; } = steps.ToDictionary(s => s.Step);
        public DateTime Now { get; } = now;
        public List<Job> Queued { get; } = [];
        public List<Guid> ToCancel { get; } = [];
        public bool Changed { get; set; }
        public RetrainingStepRow Current => Steps[Workflow.Step];
    }

    private DateTime Now => time.GetUtcNow().UtcDateTime;

    public async Task AdvanceAsync(Guid workflowId, CancellationToken cancellationToken = default)
    {
        Advance advance;
        await using (var connection = await store.OpenAsync(cancellationToken))
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            if (await RetrainingStore.LockAsync(transaction, workflowId, cancellationToken) is not { IsActive: true } workflow) return;
            advance = new Advance(transaction, workflow, await RetrainingStore.StepsAsync(transaction, workflowId, cancellationToken), Now);
            // A step that finishes may let the next one finish at once (no shadow, automatic approval, no watch).
            for (var i = 0; i < RetrainingStep.All.Count + 2 && advance.Workflow.IsActive && await StepAsync(advance, cancellationToken); i++)
            {
            }

            if (!advance.Changed) return;
            advance.Workflow = await store.UpdateAsync(transaction, advance.Workflow, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }

        // Step jobs a reconciliation made pointless (a comparison behind a promotion done in the registry).
        foreach (var jobId in advance.ToCancel) await jobs.CancelAsync(jobId, SystemActor, CancellationToken.None);
        await PublishAsync(advance);
    }

    /// <summary>
    /// Rolls production back from the workflow's promoted challenger because of <paramref name="reason"/> (a critical alert),
    /// if the workflow is still watching and the challenger still serves. False when nothing was done.
    /// </summary>
    public async Task<bool> RollbackAsync(Guid workflowId, string reason, CancellationToken cancellationToken = default)
    {
        Advance advance;
        await using (var connection = await store.OpenAsync(cancellationToken))
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            var workflow = await RetrainingStore.LockAsync(transaction, workflowId, cancellationToken);
            if (workflow is not { Status: RetrainingStatus.Watching } || workflow.WatchUntil is not { } until || Now >= until) return false;
            advance = new Advance(transaction, workflow, await RetrainingStore.StepsAsync(transaction, workflowId, cancellationToken), Now);
            var model = await registry.GetModelAsync(workflow.ModelName, cancellationToken);
            var production = await registry.GetProductionAsync(workflow.ModelName, cancellationToken);
            if (model is null || production is null || production.Id != workflow.CandidateVersionId)
            {
                logger.LogWarning("Workflow {Workflow}: {Reason}, but its challenger no longer serves; no rollback", workflowId, reason);
                return false;
            }

            var restored = await registryService.RollbackAsync(model, reason, SystemActor, cancellationToken);
            await SetStepAsync(advance, advance.Steps[RetrainingStep.Watch] with
            {
                Status = RetrainingStepStatus.Failed, FinishedAt = advance.Now, Error = $"Rolled back to version {restored.Version}: {reason}",
                ResultJson = RetrainingJson.Serialize(new { rolledBackTo = restored.Version, rolledBackToVersionId = restored.Id, reason }),
            }, cancellationToken);
            advance.Workflow = workflow with { Status = RetrainingStatus.RolledBack, RolledBackAt = advance.Now, RollbackReason = reason, FinishedAt = advance.Now };
            await AuditLog.WriteAsync(transaction, advance.Now, SystemActor, "retraining.rollback", "retraining-workflow", workflow.Id.ToString(),
                new { model = workflow.ModelName, from = production.Version, to = restored.Version, reason }, cancellationToken);
            advance.Workflow = await store.UpdateAsync(transaction, advance.Workflow, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }

        await PublishAsync(advance);
        return true;
    }

    /// <summary>
    /// Promotes the approved challenger inside the caller's transaction (which holds the row lock) and enters the watch;
    /// writes the workflow row. A <see cref="RegistryException"/> (the gate is stale, the artifacts do not load) propagates.
    /// The registry's swap commits on its own before the caller's transaction does; if the caller's commit is then lost, the
    /// next advance finds the candidate serving and records the promotion (<see cref="ReconcileAsync"/>).
    /// </summary>
    internal async Task<RetrainingWorkflow> PromoteAsync(NpgsqlTransaction transaction, RetrainingWorkflow workflow, IReadOnlyList<RetrainingStepRow> steps, string reason, string actor, CancellationToken cancellationToken)
    {
        var advance = new Advance(transaction, workflow with { Status = RetrainingStatus.Running, Step = RetrainingStep.Promote }, steps, Now) { Changed = true };
        await PromoteStepAsync(advance, reason, actor, cancellationToken);
        return await store.UpdateAsync(transaction, advance.Workflow, cancellationToken);
    }

    private async Task PublishAsync(Advance advance)
    {
        foreach (var job in advance.Queued) await events.PublishAsync(JobChanged.From(job), CancellationToken.None);
        await store.PublishAsync(advance.Workflow);
    }

    /// <summary>One move of the current step; true when the workflow moved to another step that may move at once.</summary>
    private async Task<bool> StepAsync(Advance a, CancellationToken cancellationToken)
    {
        if (await ReconcileAsync(a, cancellationToken)) return false;
        var w = a.Workflow;
        if (w.Status == RetrainingStatus.AwaitingApproval) return false;
        if (w.Status == RetrainingStatus.Watching)
        {
            if (w.Step == RetrainingStep.Watch && w.WatchUntil is { } until && a.Now >= until)
            {
                await SetStepAsync(a, a.Current with { Status = RetrainingStepStatus.Succeeded, FinishedAt = a.Now, ResultJson = RetrainingJson.Serialize(new { watchedUntil = until }) }, cancellationToken);
                a.Workflow = w with { Status = RetrainingStatus.Succeeded, FinishedAt = a.Now };
                await AuditLog.WriteAsync(a.Transaction, a.Now, SystemActor, "retraining.succeeded", "retraining-workflow", w.Id.ToString(), new { model = w.ModelName }, cancellationToken);
            }

            return false;
        }

        return w.Step switch
        {
            RetrainingStep.Dataset => await JobStepAsync(a, RetrainingStep.Features, cancellationToken),
            RetrainingStep.Features => await JobStepAsync(a, RetrainingStep.Train, cancellationToken),
            RetrainingStep.Train => await TrainAsync(a, cancellationToken),
            RetrainingStep.Register => await RegisterAsync(a, cancellationToken),
            RetrainingStep.Gate => await GateAsync(a, cancellationToken),
            RetrainingStep.Shadow => await ShadowAsync(a, cancellationToken),
            RetrainingStep.Approval => await ApprovalAsync(a, cancellationToken),
            RetrainingStep.Promote => await PromoteOrFailAsync(a, cancellationToken),
            _ => false,
        };
    }

    /// <summary>
    /// The registry moved without this workflow: the promotion or rollback the registry committed while the workflow's own
    /// transaction was then lost (the registry commits first; see <see cref="PromoteAsync"/>), or a person who promoted the
    /// candidate, rolled it back or promoted another version from the registry. The registry is the truth of what serves:
    /// the workflow records what happened there (by whom, when, why) instead of waiting for a decision already taken or
    /// watching a version that no longer serves. True when it did.
    /// </summary>
    private async Task<bool> ReconcileAsync(Advance a, CancellationToken cancellationToken)
    {
        var w = a.Workflow;
        if (w.CandidateVersionId is not { } candidateId) return false;
        var beforePromotion = w.PromotedAt is null && (w.Status == RetrainingStatus.AwaitingApproval
            || w.Status == RetrainingStatus.Running && w.Step is RetrainingStep.Gate or RetrainingStep.Shadow or RetrainingStep.Approval or RetrainingStep.Promote);
        if (!beforePromotion && w.Status != RetrainingStatus.Watching) return false;
        var production = await registry.GetProductionAsync(w.ModelName, cancellationToken);
        if (beforePromotion)
        {
            if (production?.Id != candidateId)
            {
                if (production?.Id == w.ChampionVersionId) return false;
                // Someone put a third version (or none) in production: the champion this workflow judges against no longer
                // serves, and its tailed traffic stopped. Promoting later would silently replace what they chose.
                var other = production is null ? null : await LastChangeToProductionAsync(w, production.Id, cancellationToken);
                if (a.Current is { Step: RetrainingStep.Shadow, Status: RetrainingStepStatus.Running, JobId: { } comparing }) a.ToCancel.Add(comparing);
                await FailAsync(a, production is null
                    ? "The model has no production version any more: the champion this workflow compares against was taken out of production. Start a new workflow."
                    : $"Production moved to version {production.Version} (by {other?.Actor ?? "the registry"}) while this workflow ran: its champion no longer serves. Start a new workflow against the new production version.", cancellationToken);
                return true;
            }

            var change = await LastChangeToProductionAsync(w, candidateId, cancellationToken);
            var by = change?.Actor ?? SystemActor;
            var at = change?.At ?? a.Now;
            var why = change?.Reason ?? "promoted in the registry";
            foreach (var step in new[] { RetrainingStep.Gate, RetrainingStep.Shadow })
            {
                var row = a.Steps[step];
                if (row.Status is RetrainingStepStatus.Succeeded or RetrainingStepStatus.Skipped or RetrainingStepStatus.Failed) continue;
                // The comparison job is ours to stop; a gate job is the registry's and finishes on its own.
                if (step == RetrainingStep.Shadow && row.Status == RetrainingStepStatus.Running && row.JobId is { } comparison) a.ToCancel.Add(comparison);
                await SetStepAsync(a, row with
                {
                    Status = RetrainingStepStatus.Skipped, StartedAt = row.StartedAt ?? at, FinishedAt = at,
                    Error = $"Not finished: the candidate was promoted in the registry by {by} first.",
                }, cancellationToken);
            }

            var approval = a.Steps[RetrainingStep.Approval];
            if (approval.Status is not (RetrainingStepStatus.Succeeded or RetrainingStepStatus.Skipped))
            {
                await SetStepAsync(a, approval with
                {
                    Status = RetrainingStepStatus.Succeeded, StartedAt = approval.StartedAt ?? at, FinishedAt = at, Error = null,
                    ResultJson = RetrainingJson.Serialize(new { decision = "approved", by, comment = why, recordedFromRegistry = true }),
                }, cancellationToken);
            }

            a.Workflow = w with { Decision = w.Decision ?? "approved", DecidedBy = w.DecidedBy ?? by, DecidedAt = w.DecidedAt ?? at, DecisionComment = w.DecisionComment ?? why };
            logger.LogWarning("Workflow {Workflow}: its candidate already serves (promoted by {Actor} at {At}); the workflow records the promotion and watches", w.Id, by, at);
            await PromoteStepAsync(a, why, by, cancellationToken, promotedAt: at);
            return true;
        }

        if (production?.Id == candidateId) return false;
        // Watching a version that no longer serves: a rollback (ours, whose record was lost, or a person's) or another promotion.
        var moved = production is null ? null : await LastChangeToProductionAsync(w, production.Id, cancellationToken);
        var reason = production is null
            ? "the model has no production version any more"
            : $"production moved to version {production.Version} by {moved?.Actor ?? "the registry"}{(moved is null ? "" : $" at {moved.At:yyyy-MM-dd HH:mm} UTC")}: {moved?.Reason ?? "no reason recorded"}";
        if (reason.Length > RegistryService.MaxReasonLength) reason = reason[..RegistryService.MaxReasonLength];
        var when = moved?.At ?? a.Now;
        if (w.WatchUntil is { } until && when >= until)
        {
            // The watch had ended before production moved on: the workflow succeeded; what came later is not its rollback.
            await SetStepAsync(a, a.Steps[RetrainingStep.Watch] with
            {
                Status = RetrainingStepStatus.Succeeded, FinishedAt = until, ResultJson = RetrainingJson.Serialize(new { watchedUntil = until }),
            }, cancellationToken);
            a.Workflow = w with { Status = RetrainingStatus.Succeeded, FinishedAt = a.Now };
            await AuditLog.WriteAsync(a.Transaction, a.Now, SystemActor, "retraining.succeeded", "retraining-workflow", w.Id.ToString(), new { model = w.ModelName }, cancellationToken);
            return true;
        }

        await SetStepAsync(a, a.Steps[RetrainingStep.Watch] with
        {
            Status = RetrainingStepStatus.Failed, FinishedAt = when, Error = $"Rolled back: {reason}",
            ResultJson = RetrainingJson.Serialize(new { rolledBackTo = production?.Version, rolledBackToVersionId = production?.Id, reason }),
        }, cancellationToken);
        a.Workflow = w with { Status = RetrainingStatus.RolledBack, RolledBackAt = when, RollbackReason = reason, FinishedAt = a.Now };
        await AuditLog.WriteAsync(a.Transaction, a.Now, moved?.Actor ?? SystemActor, "retraining.rollback", "retraining-workflow", w.Id.ToString(),
            new { model = w.ModelName, to = production?.Version, reason, recordedFromRegistry = true }, cancellationToken);
        return true;
    }

    /// <summary>The registry's latest move of <paramref name="versionId"/> into production.</summary>
    private async Task<StageChange?> LastChangeToProductionAsync(RetrainingWorkflow w, Guid versionId, CancellationToken cancellationToken) =>
        (await registry.HistoryAsync(w.RegisteredModelId, cancellationToken)).FirstOrDefault(c => c.ModelVersionId == versionId && c.ToStage == ModelStage.Production);

    /// <summary>The steps run as <c>retraining.step</c> jobs (dataset, features, the shadow comparison).</summary>
    private async Task<bool> JobStepAsync(Advance a, string next, CancellationToken cancellationToken)
    {
        var row = a.Current;
        if (row.Status == RetrainingStepStatus.Pending)
        {
            await QueueStepJobAsync(a, row, cancellationToken);
            return false;
        }

        if (row.Status != RetrainingStepStatus.Running || row.JobId is not { } jobId) return false;
        var job = await jobs.GetAsync(jobId, cancellationToken);
        if (job is null) return await FailAsync(a, $"The job of step {RetrainingStep.Title(row.Step)} ({jobId}) is gone.", cancellationToken);
        if (!job.IsFinished) return false;
        if (job.Status != JobStatus.Succeeded)
            return await FailAsync(a, $"{RetrainingStep.Title(row.Step)} failed after {job.Attempts} attempt{(job.Attempts == 1 ? "" : "s")}: {job.Error ?? job.Status}", cancellationToken);

        var w = a.Workflow;
        switch (row.Step)
        {
            case RetrainingStep.Dataset:
                var dataset = RetrainingJson.Deserialize<DatasetStepResult>(job.Result);
                if (dataset is null) return await FailAsync(a, "The dataset step returned no dataset version.", cancellationToken);
                w = w with { DatasetId = dataset.DatasetId, DatasetVersion = dataset.DatasetVersion };
                break;
            case RetrainingStep.Features:
                var features = RetrainingJson.Deserialize<FeaturesStepResult>(job.Result);
                if (features is null) return await FailAsync(a, "The feature step returned no feature set version.", cancellationToken);
                w = w with { FeatureSetVersionId = features.FeatureSetVersionId };
                break;
        }

        await SetStepAsync(a, row with { Status = RetrainingStepStatus.Succeeded, FinishedAt = a.Now, ResultJson = job.Result, Error = null }, cancellationToken);
        a.Workflow = w with { Step = next };
        return true;
    }

    private async Task QueueStepJobAsync(Advance a, RetrainingStepRow row, CancellationToken cancellationToken)
    {
        var job = await JobStore.InsertAsync(a.Transaction, RetrainingStepJobHandler.KindName, new RetrainingStepPayload(a.Workflow.Id, row.Step), SystemActor, 2, time, cancellationToken);
        a.Queued.Add(job);
        await SetStepAsync(a, row with { Status = RetrainingStepStatus.Running, JobId = job.Id, StartedAt = row.StartedAt ?? a.Now }, cancellationToken);
    }

    private async Task<bool> TrainAsync(Advance a, CancellationToken cancellationToken)
    {
        var row = a.Current;
        var w = a.Workflow;
        if (row.Status == RetrainingStepStatus.Pending)
        {
            if (w.DatasetId is not { } datasetId || w.DatasetVersion is not { } datasetVersion || w.FeatureSetVersionId is not { } featureSetVersionId)
                return await FailAsync(a, "Training needs the workflow's dataset and feature set versions.", cancellationToken);
            var marker = $"Retraining workflow {w.Id}";
            // A run this workflow started before a crash or a lost commit: use it rather than train twice.
            var existing = await a.Transaction.Connection!.QuerySingleOrDefaultAsync<(Guid Id, Guid JobId, string Name)?>(new CommandDefinition(
                "SELECT id, job_id, coalesce(name, '') FROM training_runs WHERE description LIKE @prefix ORDER BY created_at LIMIT 1",
                new { prefix = marker + ":%" }, a.Transaction, cancellationToken: cancellationToken));
            Guid runId, jobId, recipeId;
            string name;
            if (existing is { } found)
            {
                (runId, jobId, name) = found;
                recipeId = w.Policy.RecipeRunId ?? Guid.Empty;
            }
            else
            {
                TrainingRun? recipe;
                if (w.Policy.RecipeRunId is { } chosen) recipe = await runs.GetAsync(chosen, cancellationToken);
                else recipe = w.ChampionVersionId is { } championId && await registry.GetVersionAsync(championId, cancellationToken) is { } champion
                    ? await runs.GetAsync(champion.RunId, cancellationToken) : null;
                if (recipe is null) return await FailAsync(a, "The recipe's training run does not exist.", cancellationToken);
                var config = recipe.Config;
                name = $"retrain {w.ModelName} {a.Now:yyyy-MM-dd}";
                var request = new TrainingRunRequest(datasetId, datasetVersion, featureSetVersionId, config.Trainer, config.Imbalance, config.Split, config.Threshold,
                    name, $"{marker}: the recipe of run {recipe.DisplayName} ({recipe.Id}) on dataset version {datasetVersion}.");
                try
                {
                    (runId, jobId) = await training.StartAsync(request, SystemActor, cancellationToken);
                }
                catch (TrainingValidationException ex)
                {
                    return await FailAsync(a, "Training could not start: " + string.Join(" ", ex.Issues.Select(i => $"{i.Field}: {i.Message}")), cancellationToken);
                }

                recipeId = recipe.Id;
            }

            await SetStepAsync(a, row with
            {
                Status = RetrainingStepStatus.Running, JobId = jobId, StartedAt = a.Now,
                ResultJson = RetrainingJson.Serialize(new TrainStepResult(runId, jobId, name, recipeId)),
            }, cancellationToken);
            a.Workflow = w with { RunId = runId };
            return false;
        }

        if (row.Status != RetrainingStepStatus.Running || row.JobId is not { } trainJobId || w.RunId is not { } trainRunId) return false;
        var job = await jobs.GetAsync(trainJobId, cancellationToken);
        if (job is null) return await FailAsync(a, "The training job no longer exists.", cancellationToken);
        if (!job.IsFinished) return false;
        var run = await runs.GetAsync(trainRunId, cancellationToken);
        if (job.Status != JobStatus.Succeeded || run is null || run.Status != JobStatus.Succeeded)
            return await FailAsync(a, $"Training failed after {job.Attempts} attempt{(job.Attempts == 1 ? "" : "s")}: {run?.Error ?? job.Error ?? job.Status}", cancellationToken);
        await SetStepAsync(a, row with { Status = RetrainingStepStatus.Succeeded, FinishedAt = a.Now }, cancellationToken);
        a.Workflow = w with { Step = RetrainingStep.Register };
        return true;
    }

    private async Task<bool> RegisterAsync(Advance a, CancellationToken cancellationToken)
    {
        var w = a.Workflow;
        if (a.Current.Status != RetrainingStepStatus.Pending || w.RunId is not { } runId) return false;
        var versionId = await a.Transaction.Connection!.ExecuteScalarAsync<Guid?>(new CommandDefinition(
            "SELECT id FROM model_versions WHERE run_id = @runId AND registered_model_id = @modelId ORDER BY version LIMIT 1",
            new { runId, modelId = w.RegisteredModelId }, a.Transaction, cancellationToken: cancellationToken));
        ModelVersion? version = versionId is { } id ? await registry.GetVersionAsync(id, cancellationToken) : null;
        if (version is null)
        {
            try
            {
                version = await registryService.RegisterAsync(w.ModelName, runId, ["retraining"],
                    $"Trained by retraining workflow {w.Id} ({w.TriggerDetail}).", SystemActor, cancellationToken);
            }
            catch (RegistryException ex)
            {
                return await FailAsync(a, "The run could not be registered: " + ex.Message, cancellationToken);
            }
        }

        await SetStepAsync(a, a.Current with
        {
            Status = RetrainingStepStatus.Succeeded, StartedAt = a.Now, FinishedAt = a.Now,
            ResultJson = RetrainingJson.Serialize(new RegisterStepResult(version.Id, version.Version, version.GateJobId ?? Guid.Empty)),
        }, cancellationToken);
        a.Workflow = w with { CandidateVersionId = version.Id, Step = RetrainingStep.Gate };
        return true;
    }

    private async Task<bool> GateAsync(Advance a, CancellationToken cancellationToken)
    {
        var row = a.Current;
        if (a.Workflow.CandidateVersionId is not { } candidateId || await registry.GetVersionAsync(candidateId, cancellationToken) is not { } version)
            return await FailAsync(a, "The candidate version is gone.", cancellationToken);
        if (row.Status == RetrainingStepStatus.Pending)
        {
            row = row with { Status = RetrainingStepStatus.Running, JobId = version.GateJobId, StartedAt = a.Now };
            await SetStepAsync(a, row, cancellationToken);
        }

        if (row.Status != RetrainingStepStatus.Running) return false;
        if (version.GateStatus == GateStatus.Pending)
        {
            if (version.GateJobId is { } gateJobId && await jobs.GetAsync(gateJobId, cancellationToken) is { IsFinished: true, Status: not JobStatus.Succeeded } job)
                return await FailAsync(a, $"The validation gate failed after {job.Attempts} attempt{(job.Attempts == 1 ? "" : "s")}: {job.Error ?? job.Status}", cancellationToken);
            return false;
        }

        var checks = version.GateResult?.Checks ?? [];
        var holdout = checks.FirstOrDefault(c => c.Kind == RecentHoldoutGateCheck.Kind && c.Metric == GateMetric.PrAuc);
        var result = new GateStepResult(version.GateStatus, checks.Count, checks.Count(c => !c.Passed && !c.Inconclusive), checks.Count(c => c.Inconclusive),
            holdout?.Candidate, holdout?.Reference);
        if (GateStatus.AllowsProduction(version.GateStatus))
        {
            await SetStepAsync(a, row with { Status = RetrainingStepStatus.Succeeded, FinishedAt = a.Now, ResultJson = RetrainingJson.Serialize(result) }, cancellationToken);
            a.Workflow = a.Workflow with { Step = RetrainingStep.Shadow };
            return true;
        }

        var failed = checks.Where(c => !c.Passed).Select(c => $"{c.Kind} {c.Metric}{(c.Subject is null ? "" : $" ({c.Subject})")} {c.Rule}"
            + (c.Candidate is { } value ? $", candidate {value:0.####}" : "") + (c.Inconclusive ? " (inconclusive)" : "")).ToList();
        if (version.GateResult?.Error is { } error) failed.Insert(0, error);
        var message = $"The validation gate did not pass ({version.GateStatus}): {(failed.Count == 0 ? "no check passed" : string.Join("; ", failed))}";
        await SetStepAsync(a, row with { ResultJson = RetrainingJson.Serialize(result) }, cancellationToken);
        return await FailAsync(a, message, cancellationToken);
    }

    private async Task<bool> ShadowAsync(Advance a, CancellationToken cancellationToken)
    {
        var row = a.Current;
        var policy = a.Workflow.Policy;
        switch (row.Status)
        {
            case RetrainingStepStatus.Pending when policy.ShadowHours <= 0:
                await SetStepAsync(a, row with { Status = RetrainingStepStatus.Skipped, StartedAt = a.Now, FinishedAt = a.Now, Error = null }, cancellationToken);
                a.Workflow = a.Workflow with { Step = RetrainingStep.Approval };
                return true;
            case RetrainingStepStatus.Pending:
                await SetStepAsync(a, row with { Status = RetrainingStepStatus.Waiting, StartedAt = a.Now }, cancellationToken);
                a.Workflow = a.Workflow with { ShadowStartedAt = a.Now, ShadowEndsAt = a.Now.AddHours(policy.ShadowHours) };
                return false;
            case RetrainingStepStatus.Waiting:
                var ends = a.Workflow.ShadowEndsAt ?? a.Now;
                var ended = a.Now >= ends;
                if (!ended && policy.ShadowTransactions is { } enough)
                {
                    try
                    {
                        ended = await shadow.CountAsync(a.Workflow.Id, cancellationToken) >= enough;
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException)
                    {
                        logger.LogWarning(ex, "Workflow {Workflow}: could not count its shadow predictions; the shadow period ends by time", a.Workflow.Id);
                    }
                }

                if (!ended) return false;
                // Ending early ends the period the tailer shadow-scores and the comparison reads.
                if (a.Now < ends)
                {
                    a.Workflow = a.Workflow with { ShadowEndsAt = a.Now };
                    a.Changed = true;
                    ends = a.Now;
                }

                // The tailer reads the log a little behind now: compare once it has read it up to the end (it advances the
                // workflow when it gets there), or once the grace period is over (what it has not read counts as dropped).
                if (!await shadow.CaughtUpAsync(a.Transaction, a.Workflow.Id, ends, a.Now, cancellationToken)) return false;
                await QueueStepJobAsync(a, row, cancellationToken);
                return false;
            default:
                return await JobStepAsync(a, RetrainingStep.Approval, cancellationToken);
        }
    }

    private async Task<bool> ApprovalAsync(Advance a, CancellationToken cancellationToken)
    {
        var row = a.Current;
        if (row.Status != RetrainingStepStatus.Pending) return false;
        var unsure = ShadowDoubt(a.Steps[RetrainingStep.Shadow]);
        if (a.Workflow.Policy.PromotionMode == PromotionMode.Automatic && unsure is not null)
        {
            // Nobody should promote on a shadow period that saw nothing or lost much of what it saw: a person decides.
            await SetStepAsync(a, row with
            {
                Status = RetrainingStepStatus.Waiting, StartedAt = a.Now,
                ResultJson = RetrainingJson.Serialize(new { decision = "manual", reason = "Not promoted automatically: " + unsure }),
            }, cancellationToken);
            a.Workflow = a.Workflow with { Status = RetrainingStatus.AwaitingApproval };
            return false;
        }

        if (a.Workflow.Policy.PromotionMode == PromotionMode.Automatic)
        {
            await SetStepAsync(a, row with
            {
                Status = RetrainingStepStatus.Succeeded, StartedAt = a.Now, FinishedAt = a.Now,
                ResultJson = RetrainingJson.Serialize(new { decision = "automatic", by = SystemActor }),
            }, cancellationToken);
            a.Workflow = a.Workflow with { Decision = "automatic", DecidedBy = SystemActor, DecidedAt = a.Now, Step = RetrainingStep.Promote };
            return true;
        }

        await SetStepAsync(a, row with { Status = RetrainingStepStatus.Waiting, StartedAt = a.Now }, cancellationToken);
        a.Workflow = a.Workflow with { Status = RetrainingStatus.AwaitingApproval };
        return false;
    }

    /// <summary>Why the shadow comparison cannot vouch for an automatic promotion (null when it can, or when shadow scoring was skipped by policy).</summary>
    internal static string? ShadowDoubt(RetrainingStepRow shadow)
    {
        if (shadow.Status == RetrainingStepStatus.Skipped) return null;
        if (shadow.Result<ShadowComparison>() is not { } comparison) return "the shadow comparison is missing.";
        if (comparison.Transactions == 0) return "the challenger scored no live transaction in the shadow period.";
        var seen = comparison.Transactions + comparison.Dropped;
        if (comparison.Dropped > 0.05 * seen) return $"the challenger did not score {comparison.Dropped:N0} of the champion's {seen:N0} transactions in the shadow period (more than 5 %).";
        return null;
    }

    private async Task<bool> PromoteOrFailAsync(Advance a, CancellationToken cancellationToken)
    {
        if (a.Current.Status != RetrainingStepStatus.Pending) return false;
        try
        {
            await PromoteStepAsync(a, $"retraining workflow {a.Workflow.Id}: promoted automatically, every gate passed", SystemActor, cancellationToken);
        }
        catch (RegistryException ex)
        {
            return await FailAsync(a, "The challenger could not be promoted: " + ex.Message, cancellationToken);
        }

        return false;
    }

    private async Task PromoteStepAsync(Advance a, string reason, string actor, CancellationToken cancellationToken, DateTime? promotedAt = null)
    {
        var w = a.Workflow;
        var at = promotedAt ?? a.Now;
        var version = w.CandidateVersionId is { } id ? await registry.GetVersionAsync(id, cancellationToken) : null;
        if (version is null) throw new RegistryException("The candidate version is gone.");
        // Promoted already by an advance whose commit was lost: do not promote twice.
        if (version.Stage != ModelStage.Production)
        {
            if (reason.Length > RegistryService.MaxReasonLength) reason = reason[..RegistryService.MaxReasonLength];
            version = await registryService.PromoteAsync(version, ModelStage.Production, reason, actor, cancellationToken);
        }

        var promote = a.Steps[RetrainingStep.Promote];
        await SetStepAsync(a, promote with
        {
            Status = RetrainingStepStatus.Succeeded, StartedAt = promote.StartedAt ?? at, FinishedAt = at,
            ResultJson = RetrainingJson.Serialize(new { versionId = version.Id, version = version.Version, previousVersionId = w.ChampionVersionId, by = actor }),
        }, cancellationToken);
        await AuditLog.WriteAsync(a.Transaction, a.Now, actor, "retraining.promote", "retraining-workflow", w.Id.ToString(),
            new { model = w.ModelName, version = version.Version, decision = w.Decision }, cancellationToken);
        var watch = a.Steps[RetrainingStep.Watch];
        if (w.Policy.WatchHours <= 0)
        {
            await SetStepAsync(a, watch with { Status = RetrainingStepStatus.Skipped, StartedAt = at, FinishedAt = at }, cancellationToken);
            a.Workflow = w with { Step = RetrainingStep.Watch, Status = RetrainingStatus.Succeeded, PromotedAt = at, FinishedAt = a.Now };
        }
        else
        {
            // The watch counts from the promotion itself, also when this records one the registry made earlier.
            await SetStepAsync(a, watch with { Status = RetrainingStepStatus.Waiting, StartedAt = at }, cancellationToken);
            a.Workflow = w with { Step = RetrainingStep.Watch, Status = RetrainingStatus.Watching, PromotedAt = at, WatchUntil = at.AddHours(w.Policy.WatchHours) };
        }
    }

    /// <summary>Fails the current step and the workflow with <paramref name="error"/>; production is not touched.</summary>
    private async Task<bool> FailAsync(Advance a, string error, CancellationToken cancellationToken)
    {
        var row = a.Current;
        await SetStepAsync(a, row with { Status = RetrainingStepStatus.Failed, StartedAt = row.StartedAt ?? a.Now, FinishedAt = a.Now, Error = error }, cancellationToken);
        a.Workflow = a.Workflow with { Status = RetrainingStatus.Failed, Error = error, FinishedAt = a.Now };
        await AuditLog.WriteAsync(a.Transaction, a.Now, SystemActor, "retraining.fail", "retraining-workflow", a.Workflow.Id.ToString(),
            new { model = a.Workflow.ModelName, step = row.Step, error }, cancellationToken);
        logger.LogWarning("Retraining workflow {Workflow} of {Model} failed at {Step}: {Error}", a.Workflow.Id, a.Workflow.ModelName, row.Step, error);
        return false;
    }

    private static async Task SetStepAsync(Advance a, RetrainingStepRow row, CancellationToken cancellationToken)
    {
        await RetrainingStore.UpdateStepAsync(a.Transaction, row, cancellationToken);
        a.Steps[row.Step] = row;
        a.Changed = true;
    }
}
