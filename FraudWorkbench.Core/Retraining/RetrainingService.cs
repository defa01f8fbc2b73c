using System.Text.Json;
using Dapper;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Alerts;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Events;
using FraudWorkbench.Core.Jobs;
using FraudWorkbench.Core.Performance;
using FraudWorkbench.Core.Registry;
using FraudWorkbench.Core.Training;
using Npgsql;

namespace FraudWorkbench.Core.Retraining;

/// <summary>
/// What people and triggers ask of retraining: the policy, starting a workflow (under the policy's guards), approving or
/// rejecting a challenger, cancelling. Every change is audited and published as <see cref="RetrainingChanged"/>.
/// </summary>
public sealed class RetrainingService(
    RetrainingStore store, RegistryStore registry, RetrainingEngine engine, JobStore jobs, TrainingRunStore runs, EventHub events, TimeProvider time,
    RetrainingFailureRule failureRule, AlertRuleStore alertRules)
{
    /// <summary>The actor of everything the workflow does by itself.</summary>
    public const string SystemActor = "system:retraining";

    public const int MaxCommentLength = 2000;
    public const int MaxDetailLength = 500;

    /// <summary>How long a schedule blocked by a guard waits before it is tried again.</summary>
    public static readonly TimeSpan ScheduleRetryAfter = TimeSpan.FromDays(1);

    private DateTime Now => time.GetUtcNow().UtcDateTime;

    /// <summary>Validates and stores a model's policy; the trigger rules must exist (and not be deleted).</summary>
    /// <exception cref="RetrainingException">404 for an unknown model, 400 naming the field for a bad policy.</exception>
    public async Task<StoredRetrainingPolicy> SavePolicyAsync(string modelName, RetrainingPolicy policy, string actor, CancellationToken cancellationToken = default)
    {
        var model = await registry.GetModelAsync(modelName, cancellationToken) ?? throw new RetrainingException($"No registered model is named '{modelName}'.", 404, "model");
        var issues = policy.Validate().ToList();
        if (issues.Count == 0) issues.AddRange(await ReferenceIssuesAsync(model.Name, policy, cancellationToken));
        if (issues.Count > 0) throw RetrainingException.Invalid(issues);
        await store.SavePolicyAsync(model.Id, model.Name, policy, actor, cancellationToken);
        if (policy.Enabled) await failureRule.EnsureAsync(cancellationToken);
        return (await store.GetPolicyAsync(model.Name, cancellationToken))!;
    }

    /// <summary>What the policy names must exist: a mistyped rule would never trigger, a wrong run would fail the train step days later.</summary>
    private async Task<IEnumerable<(string Field, string Message)>> ReferenceIssuesAsync(string modelName, RetrainingPolicy policy, CancellationToken cancellationToken)
    {
        var issues = new List<(string, string)>();
        for (var i = 0; i < policy.Rules.Count; i++)
        {
            var rule = await alertRules.GetAsync(policy.Rules[i], cancellationToken);
            if (rule is null) issues.Add(($"triggerRuleIds[{i}]", $"No alert rule has the id {policy.Rules[i]}."));
            else if (rule.Spec.Model is { } other && !string.Equals(other, modelName, StringComparison.OrdinalIgnoreCase))
                issues.Add(($"triggerRuleIds[{i}]", $"The rule '{rule.Name}' watches model '{other}', not '{modelName}'."));
        }

        if (policy.RecipeRunId is { } runId && await runs.GetAsync(runId, cancellationToken) is not { Status: JobStatus.Succeeded })
            issues.Add(("recipeRunId", $"No succeeded training run has the id {runId}."));
        return issues;
    }

    /// <summary>
    /// Starts a workflow for the model: checks the guards (one active workflow per model; for automatic triggers also the
    /// cooldown, the weekly cap and label maturity), snapshots the policy, creates the steps and queues the first.
    /// </summary>
    /// <param name="triggerKind">One of <see cref="RetrainingTrigger"/>.</param>
    /// <param name="alertId">The alert that triggered it (for <see cref="RetrainingTrigger.Alert"/>).</param>
    /// <param name="detail">What triggered it, in words ("alert 'Dataset drift' fired", "every 7 days", "Retrain now").</param>
    /// <exception cref="RetrainingException">409 naming the guard that blocks it; 404 for an unknown model; 409 without a production version.</exception>
    public async Task<RetrainingWorkflow> StartAsync(string modelName, string triggerKind, Guid? alertId, string detail, string actor, CancellationToken cancellationToken = default) =>
        (await StartAsync(modelName, triggerKind, alertId, detail, actor, null, cancellationToken))!;

    /// <summary>
    /// <see cref="StartAsync(string, string, Guid?, string, string, CancellationToken)"/> for a schedule found due after the
    /// model's last start at <paramref name="lastStart"/>: null, doing nothing, when another start came first (another
    /// instance's tick saw the same schedule due).
    /// </summary>
    internal async Task<RetrainingWorkflow?> StartScheduledAsync(string modelName, int scheduleDays, DateTime? lastStart, CancellationToken cancellationToken) =>
        await StartAsync(modelName, RetrainingTrigger.Schedule, null, $"every {scheduleDays} day{(scheduleDays == 1 ? "" : "s")}", SystemActor, new ScheduleExpectation(lastStart), cancellationToken);

    private sealed record ScheduleExpectation(DateTime? LastStart);

    private async Task<RetrainingWorkflow?> StartAsync(string modelName, string triggerKind, Guid? alertId, string detail, string actor, ScheduleExpectation? expected, CancellationToken cancellationToken)
    {
        if (triggerKind is not (RetrainingTrigger.Alert or RetrainingTrigger.Schedule or RetrainingTrigger.Manual))
            throw new RetrainingException($"'{triggerKind}' is not a trigger; use alert, schedule or manual.", 400, "trigger");
        if (StoredText.Problem(detail, MaxDetailLength) is { } badDetail) throw new RetrainingException(badDetail, 400, "detail");
        var model = await registry.GetModelAsync(modelName, cancellationToken) ?? throw new RetrainingException($"No registered model is named '{modelName}'.", 404, "model");
        var production = await registry.GetProductionAsync(model.Name, cancellationToken)
            ?? throw new RetrainingException($"Model '{model.Name}' has no production version: nothing to retrain.", 409);
        var policy = (await store.GetPolicyAsync(model.Name, cancellationToken))?.Policy ?? RetrainingPolicy.Default;
        var automatic = triggerKind != RetrainingTrigger.Manual;
        var now = Now;

        RetrainingWorkflow workflow;
        Job job;
        await using (var connection = await store.OpenAsync(cancellationToken))
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            // One start per model at a time on every instance: the guards below read what the other start committed.
            await connection.ExecuteAsync(new CommandDefinition("SELECT pg_advisory_xact_lock(hashtextextended('retraining:' || @id::text, 0))",
                new { id = model.Id }, transaction, cancellationToken: cancellationToken));
            if (expected is not null)
            {
                var last = await connection.ExecuteScalarAsync<DateTime?>(new CommandDefinition(
                    "SELECT max(created_at) FROM retraining_workflows WHERE registered_model_id = @id", new { id = model.Id }, transaction, cancellationToken: cancellationToken));
                if (last != expected.LastStart) return null;
                // A blocked schedule is tried (and recorded) once a day, however many instances tick.
                const string skipSql = """
                    SELECT max(at) FROM audit_log WHERE action = 'retraining.skipped' AND object_type = 'registered-model'
                        AND object_id = @id::text AND summary ->> 'trigger' = 'schedule'
                    """;
                var lastSkip = await connection.ExecuteScalarAsync<DateTime?>(new CommandDefinition(skipSql, new { id = model.Id }, transaction, cancellationToken: cancellationToken));
                if (lastSkip is { } skipped && now - skipped < ScheduleRetryAfter) return null;
            }

            if (await RetrainingStore.ActiveOfAsync(transaction, model.Id, cancellationToken) is { } active)
            {
                // The same alert seen twice (here and relayed from another instance) is the same request, already under way.
                if (alertId is not null && active.TriggerAlertId == alertId) return active;
                await BlockAsync(transaction, $"Workflow {active.Id} is already {active.Status.Replace('_', ' ')} (step {RetrainingStep.Title(active.Step)}); one runs at a time.");
            }

            if (automatic)
            {
                if (!policy.Enabled) await BlockAsync(transaction, "The retraining policy is disabled: automatic triggers do not start workflows.");
                var (lastStart, lastWeek) = await connection.QuerySingleAsync<(DateTime?, long)>(new CommandDefinition("""
                    SELECT max(created_at), count(*) FILTER (WHERE created_at > @weekAgo)
                    FROM retraining_workflows WHERE registered_model_id = @id
                    """, new { id = model.Id, weekAgo = now.AddDays(-7) }, transaction, cancellationToken: cancellationToken));
                if (lastStart is { } last && now - last < TimeSpan.FromDays(policy.CooldownDays))
                {
                    var until = DateTime.SpecifyKind(last, DateTimeKind.Utc).AddDays(policy.CooldownDays);
                    await BlockAsync(transaction, $"Cooldown: the last workflow started {last:yyyy-MM-dd HH:mm} UTC; the next may start after {until:yyyy-MM-dd HH:mm} UTC ({policy.CooldownDays:0.##} days).");
                }

                if (lastWeek >= policy.MaxPerWeek)
                    await BlockAsync(transaction, $"Weekly cap: {lastWeek} workflows started in the last 7 days (at most {policy.MaxPerWeek}).");
                var mature = await MatureDaysAsync(transaction, model.Id, production, now, cancellationToken);
                if (mature.Days < policy.MinMatureDays)
                    await BlockAsync(transaction, $"Label maturity: {mature.Days} mature labelled days since the training data ended {mature.Since:yyyy-MM-dd} (label window {mature.LabelWindowDays} days); the policy needs {policy.MinMatureDays}.");
            }

            var id = Guid.CreateVersion7(time.GetUtcNow());
            workflow = new RetrainingWorkflow(
                id, model.Id, model.Name, triggerKind, alertId, detail.Trim(), policy.ToJson(), production.Id, RetrainingStatus.Running, RetrainingStep.Dataset,
                null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, actor, now, now, null);
            try
            {
                await RetrainingStore.InsertAsync(transaction, workflow, cancellationToken);
            }
            catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UniqueViolation)
            {
                await transaction.RollbackAsync(CancellationToken.None);
                var running = await store.ActiveOfAsync(model.Id, CancellationToken.None);
                throw new RetrainingException(running is null
                    ? $"Another workflow of '{model.Name}' started at the same moment; one runs at a time."
                    : $"Workflow {running.Id} is already {running.Status.Replace('_', ' ')} (step {RetrainingStep.Title(running.Step)}); one runs at a time.", 409);
            }

            job = await JobStore.InsertAsync(transaction, RetrainingStepJobHandler.KindName, new RetrainingStepPayload(id, RetrainingStep.Dataset), SystemActor, 2, time, cancellationToken);
            await RetrainingStore.UpdateStepAsync(transaction, new RetrainingStepRow(id, RetrainingStep.Dataset, 0, RetrainingStepStatus.Running, job.Id, now, null, null, null), cancellationToken);
            await AuditLog.WriteAsync(transaction, now, actor, "retraining.start", "retraining-workflow", id.ToString(),
                new { model = model.Name, trigger = triggerKind, alertId, detail = workflow.TriggerDetail, championVersion = production.Version, policy }, cancellationToken);
            await transaction.CommitAsync(cancellationToken);

            async Task BlockAsync(NpgsqlTransaction tx, string reason)
            {
                if (automatic)
                {
                    // Recorded so a person can see why an alert or the schedule started nothing; the block itself is the answer.
                    await AuditLog.WriteAsync(tx, now, actor, "retraining.skipped", "registered-model", model.Id.ToString(),
                        new { model = model.Name, trigger = triggerKind, alertId, detail, reason }, cancellationToken);
                    await tx.CommitAsync(cancellationToken);
                }

                throw new RetrainingException(reason, 409);
            }
        }

        await events.PublishAsync(JobChanged.From(job), CancellationToken.None);
        await store.PublishAsync(workflow);
        return (await store.GetAsync(workflow.Id, cancellationToken))!;
    }

    /// <summary>
    /// Mature labelled days since the production version's training data ended: days of the model's traffic (any version)
    /// whose label window has passed, counted from the end of the lineage window of a version a workflow trained, else
    /// from the version's registration.
    /// </summary>
    public async Task<(int Days, DateTime Since, int LabelWindowDays)> MatureDaysAsync(string modelName, CancellationToken cancellationToken = default)
    {
        var model = await registry.GetModelAsync(modelName, cancellationToken) ?? throw new RetrainingException($"No registered model is named '{modelName}'.", 404, "model");
        var production = await registry.GetProductionAsync(model.Name, cancellationToken)
            ?? throw new RetrainingException($"Model '{model.Name}' has no production version.", 409);
        await using var connection = await store.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        return await MatureDaysAsync(transaction, model.Id, production, Now, cancellationToken);
    }

    private static async Task<(int Days, DateTime Since, int LabelWindowDays)> MatureDaysAsync(
        NpgsqlTransaction transaction, Guid modelId, ModelVersion production, DateTime now, CancellationToken cancellationToken)
    {
        var connection = transaction.Connection!;
        var configJson = await connection.ExecuteScalarAsync<string?>(new CommandDefinition(
            "SELECT performance::text FROM registered_models WHERE id = @modelId", new { modelId }, transaction, cancellationToken: cancellationToken));
        var labelWindow = (configJson is null ? null : JsonSerializer.Deserialize<PerformanceConfig>(configJson, DatasetSchema.Json))?.LabelWindowDays ?? PerformanceConfig.Default.LabelWindowDays;
        var windowTo = await connection.ExecuteScalarAsync<DateTime?>(new CommandDefinition("""
            SELECT l.window_to FROM retraining_workflows w JOIN retraining_dataset_lineage l ON l.workflow_id = w.id
            WHERE w.candidate_version_id = @versionId ORDER BY l.created_at DESC LIMIT 1
            """, new { versionId = production.Id }, transaction, cancellationToken: cancellationToken));
        var since = DateTime.SpecifyKind(windowTo ?? production.CreatedAt, DateTimeKind.Utc);
        // A day is mature once its last prediction's label window has passed: day + 1 + window <= now.
        var days = await connection.ExecuteScalarAsync<long>(new CommandDefinition("""
            SELECT count(DISTINCT c.day) FROM performance_counts c JOIN model_versions v ON v.id = c.model_version_id
            WHERE v.registered_model_id = @modelId AND c.rows > 0 AND c.day >= @sinceDay
              AND c.day + 1 + @labelWindow <= @today
            """, new { modelId, sinceDay = DateOnly.FromDateTime(since), labelWindow, today = DateOnly.FromDateTime(now) }, transaction, cancellationToken: cancellationToken));
        return ((int)days, since, labelWindow);
    }

    /// <summary>Approves the challenger waiting for approval and promotes it; <paramref name="actorRole"/> is the caller's <see cref="ApproverRole"/> (null: neither).</summary>
    /// <exception cref="RetrainingException">400 without a comment, 403 when the policy needs another role, 409 when not awaiting approval.</exception>
    public Task<RetrainingWorkflow> ApproveAsync(Guid workflowId, string? comment, string actor, string? actorRole, CancellationToken cancellationToken = default) =>
        DecideAsync(workflowId, approve: true, comment, actor, actorRole, cancellationToken);

    /// <summary>Rejects the challenger: the workflow ends rejected, production untouched.</summary>
    public Task<RetrainingWorkflow> RejectAsync(Guid workflowId, string? comment, string actor, string? actorRole, CancellationToken cancellationToken = default) =>
        DecideAsync(workflowId, approve: false, comment, actor, actorRole, cancellationToken);

    private async Task<RetrainingWorkflow> DecideAsync(Guid workflowId, bool approve, string? comment, string actor, string? actorRole, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(comment)) throw new RetrainingException($"{(approve ? "Approving" : "Rejecting")} needs a comment.", 400, "comment");
        if (StoredText.Problem(comment, MaxCommentLength, multiline: true) is { } badComment) throw new RetrainingException(badComment, 400, "comment");
        comment = comment.Trim();

        RetrainingWorkflow workflow;
        await using (var connection = await store.OpenAsync(cancellationToken))
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            workflow = await RetrainingStore.LockAsync(transaction, workflowId, cancellationToken)
                ?? throw new RetrainingException($"No retraining workflow has the id {workflowId}.", 404, "workflowId");
            var allowed = workflow.Policy.Approver == ApproverRole.Reviewer ? actorRole is ApproverRole.Admin or ApproverRole.Reviewer : actorRole == ApproverRole.Admin;
            if (!allowed)
                throw new RetrainingException(workflow.Policy.Approver == ApproverRole.Reviewer
                    ? "Only an Admin or a Reviewer may approve or reject this model's challengers."
                    : "Only an Admin may approve or reject this model's challengers.", 403);
            if (await CandidateServesAsync(workflow, cancellationToken) is { } serving)
            {
                // The engine takes the row lock itself to record the promotion: this transaction lets it go first.
                await transaction.RollbackAsync(cancellationToken);
                await engine.AdvanceAsync(workflowId, cancellationToken);
                throw new RetrainingException(serving + (approve ? " Nothing to approve." : " Rejecting cannot undo it: roll the model back instead."), 409);
            }

            if (workflow.Status != RetrainingStatus.AwaitingApproval)
                throw new RetrainingException(workflow.PromotedAt is null
                    ? $"Workflow {workflow.Id} is {workflow.Status.Replace('_', ' ')}, not awaiting approval."
                    : $"Workflow {workflow.Id} already promoted its challenger ({workflow.Status.Replace('_', ' ')}); to undo it, roll the model back.", 409);

            var now = Now;
            var steps = await RetrainingStore.StepsAsync(transaction, workflow.Id, cancellationToken);
            var approval = steps.Single(s => s.Step == RetrainingStep.Approval);
            workflow = workflow with { Decision = approve ? "approved" : "rejected", DecidedBy = actor, DecidedAt = now, DecisionComment = comment };
            await RetrainingStore.UpdateStepAsync(transaction, approval with
            {
                Status = approve ? RetrainingStepStatus.Succeeded : RetrainingStepStatus.Failed, FinishedAt = now,
                ResultJson = RetrainingJson.Serialize(new { decision = workflow.Decision, by = actor, comment }),
                Error = approve ? null : $"Rejected by {actor}: {comment}",
            }, cancellationToken);
            await AuditLog.WriteAsync(transaction, now, actor, approve ? "retraining.approve" : "retraining.reject", "retraining-workflow", workflow.Id.ToString(),
                new { model = workflow.ModelName, candidateVersionId = workflow.CandidateVersionId, comment }, cancellationToken);
            if (approve)
            {
                try
                {
                    workflow = await engine.PromoteAsync(transaction, workflow, steps, $"retraining workflow {workflow.Id} approved by {actor}: {comment}", actor, cancellationToken);
                }
                catch (RegistryException ex)
                {
                    // Nothing changed: the approval is not recorded and the workflow still waits (reject it, or fix the cause).
                    throw new RetrainingException($"The challenger could not be promoted: {ex.Message}", 409);
                }
            }
            else
            {
                workflow = await store.UpdateAsync(transaction, workflow with { Status = RetrainingStatus.Rejected, FinishedAt = now }, cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
        }

        await store.PublishAsync(workflow);
        return (await store.GetAsync(workflow.Id, cancellationToken))!;
    }

    /// <summary>
    /// Why a decision or a cancel must be refused because the candidate serves already, the workflow not knowing it yet: the
    /// registry committed a promotion whose workflow record was then lost, or a person promoted it from the registry. Null otherwise.
    /// </summary>
    private async Task<string?> CandidateServesAsync(RetrainingWorkflow workflow, CancellationToken cancellationToken)
    {
        if (workflow.PromotedAt is not null || !workflow.IsActive || workflow.CandidateVersionId is not { } candidateId) return null;
        var production = await registry.GetProductionAsync(workflow.ModelName, cancellationToken);
        return production?.Id == candidateId
            ? $"Version {production.Version} of {workflow.ModelName}, this workflow's challenger, is already in production; the workflow now records that promotion and watches it."
            : null;
    }

    /// <summary>Stops a workflow that has not promoted (its running job is asked to cancel); production untouched.</summary>
    public async Task<RetrainingWorkflow> CancelAsync(Guid workflowId, string actor, CancellationToken cancellationToken = default)
    {
        RetrainingWorkflow workflow;
        RetrainingStepRow? current;
        await using (var connection = await store.OpenAsync(cancellationToken))
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            workflow = await RetrainingStore.LockAsync(transaction, workflowId, cancellationToken)
                ?? throw new RetrainingException($"No retraining workflow has the id {workflowId}.", 404, "workflowId");
            if (await CandidateServesAsync(workflow, cancellationToken) is { } serving)
            {
                await transaction.RollbackAsync(cancellationToken);
                await engine.AdvanceAsync(workflowId, cancellationToken);
                throw new RetrainingException(serving + " Cancelling cannot undo it: roll the model back instead.", 409);
            }

            if (workflow.Status is not (RetrainingStatus.Running or RetrainingStatus.AwaitingApproval) || workflow.PromotedAt is not null)
                throw new RetrainingException(workflow.Status == RetrainingStatus.Watching
                    ? $"Workflow {workflow.Id} already promoted its challenger; roll back the model instead."
                    : $"Workflow {workflow.Id} is {workflow.Status.Replace('_', ' ')}; only a running workflow can be cancelled.", 409);
            var now = Now;
            current = (await RetrainingStore.StepsAsync(transaction, workflow.Id, cancellationToken)).Single(s => s.Step == workflow.Step);
            await RetrainingStore.UpdateStepAsync(transaction, current with { Status = RetrainingStepStatus.Failed, FinishedAt = now, Error = $"Cancelled by {actor}." }, cancellationToken);
            workflow = await store.UpdateAsync(transaction, workflow with { Status = RetrainingStatus.Cancelled, Error = $"Cancelled by {actor}.", FinishedAt = now }, cancellationToken);
            await AuditLog.WriteAsync(transaction, now, actor, "retraining.cancel", "retraining-workflow", workflow.Id.ToString(),
                new { model = workflow.ModelName, step = workflow.Step }, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }

        if (current.JobId is { } jobId && current.Status == RetrainingStepStatus.Running)
        {
            // The training run's row must say cancelled too when its job had not started.
            if (current.Step == RetrainingStep.Train && workflow.RunId is { } runId && await runs.GetAsync(runId, cancellationToken) is { } run && run.JobId == jobId)
            {
                var (outcome, _) = await jobs.CancelAsync(jobId, actor, cancellationToken);
                if (outcome == CancelOutcome.Cancelled) await runs.FailAsync(runId, JobStatus.Cancelled, "Cancelled before it started.", CancellationToken.None);
            }
            else if (current.Step != RetrainingStep.Gate)
            {
                await jobs.CancelAsync(jobId, actor, cancellationToken);
            }
        }

        await store.PublishAsync(workflow);
        return (await store.GetAsync(workflow.Id, cancellationToken))!;
    }
}
