using Dapper;
using FraudWorkbench.Core.Retraining;
using Npgsql;

namespace FraudWorkbench.Tests.Infrastructure;

/// <summary>
/// Retraining rows written by hand for the API, page and browser tests: a model without versions, a workflow with its nine
/// steps, and a step moved along, as the engine would leave them (the engine's own tests drive the real thing).
/// </summary>
public static class RetrainingRows
{
    public static async Task<Guid> InsertModelAsync(string connectionString, string name)
    {
        var gate = System.Text.Json.JsonSerializer.Serialize(Scoring.ScoringFixture.LenientGate, FraudWorkbench.Core.Data.DatasetSchema.Json);
        await using var connection = new NpgsqlConnection(connectionString);
        return await connection.ExecuteScalarAsync<Guid>("""
            INSERT INTO registered_models (id, name, gate, created_by, created_at) VALUES (gen_random_uuid(), @name, @gate::jsonb, 'test', now())
            ON CONFLICT ((lower(name))) DO UPDATE SET name = excluded.name RETURNING id
            """, new { name, gate });
    }

    /// <summary>A workflow at <paramref name="step"/> (earlier steps succeeded, that one running, later ones pending).</summary>
    public static async Task<Guid> InsertWorkflowAsync(
        string connectionString, Guid modelId, string model, string status = RetrainingStatus.Running, string step = RetrainingStep.Dataset,
        DateTime? createdAt = null, Guid? alertId = null, string detail = "Retrain now", RetrainingPolicy? policy = null, string? error = null)
    {
        var id = Guid.NewGuid();
        var at = createdAt ?? DateTime.UtcNow;
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.ExecuteAsync("""
            INSERT INTO retraining_workflows (id, registered_model_id, model_name, trigger_kind, trigger_alert_id, trigger_detail, policy, status, step, error,
                                              created_by, created_at, updated_at, finished_at)
            VALUES (@id, @modelId, @model, @kind, @alertId, @detail, @policy::jsonb, @status, @step, @error, 'user:admin@example.com', @at, @at,
                    CASE WHEN @active THEN NULL ELSE @at + interval '2 hours' END)
            """, new
        {
            id, modelId, model, kind = alertId is null ? RetrainingTrigger.Manual : RetrainingTrigger.Alert, alertId, detail,
            policy = (policy ?? RetrainingPolicy.Default).ToJson(), status, step, error, at, active = RetrainingStatus.IsActive(status),
        });
        var current = RetrainingStep.All.ToList().IndexOf(step);
        for (var i = 0; i < RetrainingStep.All.Count; i++)
        {
            var stepStatus = i < current ? RetrainingStepStatus.Succeeded : i == current
                ? status == RetrainingStatus.Failed ? RetrainingStepStatus.Failed : RetrainingStepStatus.Running
                : RetrainingStepStatus.Pending;
            await connection.ExecuteAsync("""
                INSERT INTO retraining_steps (workflow_id, step, ordinal, status, started_at, finished_at)
                VALUES (@id, @step, @ordinal, @stepStatus, CASE WHEN @stepStatus = 'pending' THEN NULL ELSE @at END, CASE WHEN @stepStatus = 'succeeded' THEN @at ELSE NULL END)
                """, new { id, step = RetrainingStep.All[i], ordinal = i + 1, stepStatus, at });
        }

        return id;
    }

    /// <summary>Moves the workflow to <paramref name="step"/>: the steps before it succeeded, it running (or <paramref name="stepStatus"/>).</summary>
    public static async Task AdvanceAsync(
        string connectionString, Guid workflowId, string step, string status = RetrainingStatus.Running, string stepStatus = RetrainingStepStatus.Running,
        Guid? jobId = null)
    {
        var ordinal = RetrainingStep.All.ToList().IndexOf(step) + 1;
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.ExecuteAsync("""
            UPDATE retraining_steps SET status = 'succeeded', started_at = coalesce(started_at, now()), finished_at = coalesce(finished_at, now())
            WHERE workflow_id = @workflowId AND ordinal < @ordinal AND status <> 'succeeded';
            UPDATE retraining_steps SET status = @stepStatus, started_at = coalesce(started_at, now()), job_id = coalesce(@jobId, job_id),
                   finished_at = CASE WHEN @stepStatus IN ('succeeded', 'failed', 'skipped') THEN now() ELSE NULL END
            WHERE workflow_id = @workflowId AND ordinal = @ordinal;
            UPDATE retraining_workflows SET step = @step, status = @status, updated_at = now(),
                   finished_at = CASE WHEN @status IN ('running', 'awaiting_approval', 'watching') THEN NULL ELSE now() END
            WHERE id = @workflowId;
            """, new { workflowId, step, ordinal, status, stepStatus, jobId });
    }

    /// <summary>Stores a step's result record as the engine would.</summary>
    public static async Task SetResultAsync<T>(string connectionString, Guid workflowId, string step, T result)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.ExecuteAsync("UPDATE retraining_steps SET result = @json::jsonb WHERE workflow_id = @workflowId AND step = @step",
            new { workflowId, step, json = RetrainingJson.Serialize(result) });
    }
}
