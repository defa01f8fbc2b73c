using Dapper;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Events;
using Npgsql;

namespace FraudWorkbench.Core.Retraining;

/// <summary>Retraining policies, workflows and their steps.</summary>
public sealed class RetrainingStore(NpgsqlDataSource dataSource, TimeProvider time, EventHub? events = null)
{
    public const string WorkflowColumns = """
        w.id, w.registered_model_id, w.model_name, w.trigger_kind, w.trigger_alert_id, w.trigger_detail, w.policy::text AS policy_json,
        w.champion_version_id, w.status, w.step, w.dataset_id, w.dataset_version, w.feature_set_version_id, w.run_id, w.candidate_version_id,
        w.shadow_started_at, w.shadow_ends_at, w.promoted_at, w.watch_until, w.decision, w.decided_by, w.decided_at, w.decision_comment,
        w.rolled_back_at, w.rollback_reason, w.error, w.created_by, w.created_at, w.updated_at, w.finished_at
        """;

    public const string StepColumns = "s.workflow_id, s.step, s.ordinal, s.status, s.job_id, s.started_at, s.finished_at, s.result::text AS result_json, s.error";

    private DateTime Now => time.GetUtcNow().UtcDateTime;

    /// <summary>The model's policy (the default when it has none stored); null when no model has that name.</summary>
    public async Task<StoredRetrainingPolicy?> GetPolicyAsync(string modelName, CancellationToken cancellationToken = default)
    {
        const string sql = """
            SELECT m.id, m.name, p.policy::text, p.updated_by, p.updated_at
            FROM registered_models m LEFT JOIN retraining_policies p ON p.registered_model_id = m.id
            WHERE lower(m.name) = lower(@modelName)
            """;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<(Guid Id, string Name, string? Policy, string? UpdatedBy, DateTime? UpdatedAt)?>(
            new CommandDefinition(sql, new { modelName }, cancellationToken: cancellationToken));
        return row is not { } r ? null : new StoredRetrainingPolicy(r.Id, r.Name, r.Policy is null ? RetrainingPolicy.Default : RetrainingPolicy.FromJson(r.Policy), r.UpdatedBy, r.UpdatedAt);
    }

    /// <summary>Every stored policy that is enabled: what the automatic triggers look at.</summary>
    public async Task<IReadOnlyList<StoredRetrainingPolicy>> EnabledPoliciesAsync(CancellationToken cancellationToken = default)
    {
        const string sql = """
            SELECT m.id, m.name, p.policy::text, p.updated_by, p.updated_at
            FROM retraining_policies p JOIN registered_models m ON m.id = p.registered_model_id
            WHERE (p.policy ->> 'enabled')::boolean
            ORDER BY m.name
            """;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<(Guid Id, string Name, string Policy, string UpdatedBy, DateTime UpdatedAt)>(new CommandDefinition(sql, cancellationToken: cancellationToken));
        return [.. rows.Select(r => new StoredRetrainingPolicy(r.Id, r.Name, RetrainingPolicy.FromJson(r.Policy), r.UpdatedBy, r.UpdatedAt))];
    }

    /// <summary>Stores a validated policy and audits it with the one it replaced.</summary>
    public async Task SavePolicyAsync(Guid registeredModelId, string modelName, RetrainingPolicy policy, string actor, CancellationToken cancellationToken = default)
    {
        var now = Now;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        const string previousSql = "SELECT policy::text FROM retraining_policies WHERE registered_model_id = @registeredModelId FOR UPDATE";
        var previous = await connection.QuerySingleOrDefaultAsync<string>(new CommandDefinition(previousSql, new { registeredModelId }, transaction, cancellationToken: cancellationToken));
        const string sql = """
            INSERT INTO retraining_policies (registered_model_id, policy, updated_by, updated_at)
            VALUES (@registeredModelId, @policy::jsonb, @actor, @now)
            ON CONFLICT (registered_model_id) DO UPDATE SET policy = excluded.policy, updated_by = excluded.updated_by, updated_at = excluded.updated_at
            """;
        await connection.ExecuteAsync(new CommandDefinition(sql, new { registeredModelId, policy = policy.ToJson(), actor, now }, transaction, cancellationToken: cancellationToken));
        await AuditLog.WriteAsync(transaction, now, actor, "retraining.policy.save", "registered-model", registeredModelId.ToString(),
            new { model = modelName, before = previous is null ? null : RetrainingPolicy.FromJson(previous), after = policy }, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    public async Task<RetrainingWorkflow?> GetAsync(Guid id, CancellationToken cancellationToken = default)
    {
        const string sql = $"SELECT {WorkflowColumns} FROM retraining_workflows w WHERE w.id = @id";
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<RetrainingWorkflow>(new CommandDefinition(sql, new { id }, cancellationToken: cancellationToken));
    }

    /// <summary>A workflow with its steps in order.</summary>
    public async Task<RetrainingWorkflowDetail?> GetDetailAsync(Guid id, CancellationToken cancellationToken = default)
    {
        if (await GetAsync(id, cancellationToken) is not { } workflow) return null;
        return new RetrainingWorkflowDetail(workflow, await StepsAsync(id, cancellationToken));
    }

    public async Task<IReadOnlyList<RetrainingStepRow>> StepsAsync(Guid workflowId, CancellationToken cancellationToken = default)
    {
        const string sql = $"SELECT {StepColumns} FROM retraining_steps s WHERE s.workflow_id = @workflowId ORDER BY s.ordinal";
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return [.. await connection.QueryAsync<RetrainingStepRow>(new CommandDefinition(sql, new { workflowId }, cancellationToken: cancellationToken))];
    }

    /// <summary>Workflows newest first, of one model (by name) or of all.</summary>
    public async Task<IReadOnlyList<RetrainingWorkflow>> ListAsync(string? modelName, int take = 50, CancellationToken cancellationToken = default)
    {
        const string sql = $"""
            SELECT {WorkflowColumns} FROM retraining_workflows w
            WHERE @modelName::text IS NULL OR lower(w.model_name) = lower(@modelName)
            ORDER BY w.created_at DESC, w.id DESC LIMIT @take
            """;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return [.. await connection.QueryAsync<RetrainingWorkflow>(new CommandDefinition(sql, new { modelName, take = Math.Clamp(take, 1, 500) }, cancellationToken: cancellationToken))];
    }

    /// <summary>Every workflow that has not finished (at most one per model).</summary>
    public async Task<IReadOnlyList<RetrainingWorkflow>> ActiveAsync(CancellationToken cancellationToken = default)
    {
        const string sql = $"SELECT {WorkflowColumns} FROM retraining_workflows w WHERE w.status IN ('running', 'awaiting_approval', 'watching') ORDER BY w.created_at";
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return [.. await connection.QueryAsync<RetrainingWorkflow>(new CommandDefinition(sql, cancellationToken: cancellationToken))];
    }

    /// <summary>The workflow a job runs a step of (its own step jobs, the training job, the gate job), if any.</summary>
    public async Task<(Guid WorkflowId, string Step)?> FindByJobAsync(Guid jobId, CancellationToken cancellationToken = default)
    {
        const string sql = "SELECT workflow_id, step FROM retraining_steps WHERE job_id = @jobId";
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<(Guid, string)?>(new CommandDefinition(sql, new { jobId }, cancellationToken: cancellationToken));
    }

    /// <summary>The workflows an alert started (the alert page's link to them).</summary>
    public async Task<IReadOnlyList<RetrainingWorkflow>> ByAlertAsync(Guid alertId, CancellationToken cancellationToken = default)
    {
        const string sql = $"SELECT {WorkflowColumns} FROM retraining_workflows w WHERE w.trigger_alert_id = @alertId ORDER BY w.created_at";
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return [.. await connection.QueryAsync<RetrainingWorkflow>(new CommandDefinition(sql, new { alertId }, cancellationToken: cancellationToken))];
    }

    /// <summary>The workflow that produced a model version (as its candidate), if one did.</summary>
    public async Task<RetrainingWorkflow?> ByCandidateAsync(Guid versionId, CancellationToken cancellationToken = default)
    {
        const string sql = $"SELECT {WorkflowColumns} FROM retraining_workflows w WHERE w.candidate_version_id = @versionId";
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<RetrainingWorkflow>(new CommandDefinition(sql, new { versionId }, cancellationToken: cancellationToken));
    }

    // ----- Mutations (the engine and the service; each caller holds the workflow row's lock in its transaction) -----

    public async Task<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken) => await dataSource.OpenConnectionAsync(cancellationToken);

    /// <summary>The workflow under its row lock (SELECT … FOR UPDATE): whoever advances or decides it holds this until commit.</summary>
    public static async Task<RetrainingWorkflow?> LockAsync(NpgsqlTransaction transaction, Guid id, CancellationToken cancellationToken)
    {
        const string sql = $"SELECT {WorkflowColumns} FROM retraining_workflows w WHERE w.id = @id FOR UPDATE";
        return await transaction.Connection!.QuerySingleOrDefaultAsync<RetrainingWorkflow>(new CommandDefinition(sql, new { id }, transaction, cancellationToken: cancellationToken));
    }

    public static async Task<IReadOnlyList<RetrainingStepRow>> StepsAsync(NpgsqlTransaction transaction, Guid workflowId, CancellationToken cancellationToken)
    {
        const string sql = $"SELECT {StepColumns} FROM retraining_steps s WHERE s.workflow_id = @workflowId ORDER BY s.ordinal";
        return [.. await transaction.Connection!.QueryAsync<RetrainingStepRow>(new CommandDefinition(sql, new { workflowId }, transaction, cancellationToken: cancellationToken))];
    }

    /// <summary>
    /// Inserts a workflow and its nine steps (pending, in <see cref="RetrainingStep.All"/> order). The partial unique index
    /// <c>retraining_workflows_one_active</c> refuses a second active workflow of the model (SQL state 23505).
    /// </summary>
    public static async Task InsertAsync(NpgsqlTransaction transaction, RetrainingWorkflow workflow, CancellationToken cancellationToken)
    {
        const string sql = """
            INSERT INTO retraining_workflows (id, registered_model_id, model_name, trigger_kind, trigger_alert_id, trigger_detail, policy,
                champion_version_id, status, step, created_by, created_at, updated_at)
            VALUES (@Id, @RegisteredModelId, @ModelName, @TriggerKind, @TriggerAlertId, @TriggerDetail, @PolicyJson::jsonb,
                @ChampionVersionId, @Status, @Step, @CreatedBy, @CreatedAt, @UpdatedAt)
            """;
        await transaction.Connection!.ExecuteAsync(new CommandDefinition(sql, workflow, transaction, cancellationToken: cancellationToken));
        const string stepsSql = """
            INSERT INTO retraining_steps (workflow_id, step, ordinal, status)
            SELECT @id, s.step, s.ordinal - 1, 'pending' FROM unnest(@steps::text[]) WITH ORDINALITY AS s (step, ordinal)
            """;
        await transaction.Connection!.ExecuteAsync(new CommandDefinition(stepsSql, new { id = workflow.Id, steps = RetrainingStep.All.ToArray() }, transaction, cancellationToken: cancellationToken));
    }

    /// <summary>Writes every changeable field of the workflow row as the record has it (updated_at set here).</summary>
    public async Task<RetrainingWorkflow> UpdateAsync(NpgsqlTransaction transaction, RetrainingWorkflow workflow, CancellationToken cancellationToken)
    {
        var updated = workflow with { UpdatedAt = Now };
        const string sql = """
            UPDATE retraining_workflows SET status = @Status, step = @Step, dataset_id = @DatasetId, dataset_version = @DatasetVersion,
                feature_set_version_id = @FeatureSetVersionId, run_id = @RunId, candidate_version_id = @CandidateVersionId,
                shadow_started_at = @ShadowStartedAt, shadow_ends_at = @ShadowEndsAt, promoted_at = @PromotedAt, watch_until = @WatchUntil,
                decision = @Decision, decided_by = @DecidedBy, decided_at = @DecidedAt, decision_comment = @DecisionComment,
                rolled_back_at = @RolledBackAt, rollback_reason = @RollbackReason, error = @Error, updated_at = @UpdatedAt, finished_at = @FinishedAt
            WHERE id = @Id
            """;
        await transaction.Connection!.ExecuteAsync(new CommandDefinition(sql, updated, transaction, cancellationToken: cancellationToken));
        return updated;
    }

    /// <summary>Writes a step row as the record has it.</summary>
    public static async Task UpdateStepAsync(NpgsqlTransaction transaction, RetrainingStepRow step, CancellationToken cancellationToken)
    {
        const string sql = """
            UPDATE retraining_steps SET status = @Status, job_id = @JobId, started_at = @StartedAt, finished_at = @FinishedAt,
                result = @ResultJson::jsonb, error = @Error
            WHERE workflow_id = @WorkflowId AND step = @Step
            """;
        await transaction.Connection!.ExecuteAsync(new CommandDefinition(sql, step, transaction, cancellationToken: cancellationToken));
    }

    /// <summary>The active workflow of a model, if any.</summary>
    public static async Task<RetrainingWorkflow?> ActiveOfAsync(NpgsqlTransaction transaction, Guid registeredModelId, CancellationToken cancellationToken)
    {
        const string sql = $"SELECT {WorkflowColumns} FROM retraining_workflows w WHERE w.registered_model_id = @registeredModelId AND w.status IN ('running', 'awaiting_approval', 'watching')";
        return await transaction.Connection!.QuerySingleOrDefaultAsync<RetrainingWorkflow>(new CommandDefinition(sql, new { registeredModelId }, transaction, cancellationToken: cancellationToken));
    }

    /// <summary>The active workflow of a model, if any.</summary>
    public async Task<RetrainingWorkflow?> ActiveOfAsync(Guid registeredModelId, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        return await ActiveOfAsync(transaction, registeredModelId, cancellationToken);
    }

    /// <summary>Tells pages (here and on the other instances), the shadow scorer and the coordinator that a workflow changed.</summary>
    public async Task PublishAsync(RetrainingWorkflow workflow)
    {
        if (events is null) return;
        await events.PublishAsync(new RetrainingChanged(workflow.Id, workflow.RegisteredModelId, workflow.ModelName, workflow.Status, workflow.Step), CancellationToken.None);
    }
}
