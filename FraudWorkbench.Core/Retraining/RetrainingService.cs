using FraudWorkbench.Core.Registry;

namespace FraudWorkbench.Core.Retraining;

/// <summary>
/// What people and triggers ask of retraining: the policy, starting a workflow (under the policy's guards), approving or
/// rejecting a challenger, cancelling. Every change is audited and published as <see cref="RetrainingChanged"/>.
/// </summary>
public sealed class RetrainingService(RetrainingStore store, RegistryStore registry)
{
    /// <summary>Validates and stores a model's policy; the trigger rules must exist (and not be deleted).</summary>
    /// <exception cref="RetrainingException">404 for an unknown model, 400 naming the field for a bad policy.</exception>
    public async Task<StoredRetrainingPolicy> SavePolicyAsync(string modelName, RetrainingPolicy policy, string actor, CancellationToken cancellationToken = default)
    {
        var model = await registry.GetModelAsync(modelName, cancellationToken) ?? throw new RetrainingException($"No registered model is named '{modelName}'.", 404, "model");
        var issues = policy.Validate();
        if (issues.Count > 0) throw RetrainingException.Invalid(issues);
        await store.SavePolicyAsync(model.Id, model.Name, policy, actor, cancellationToken);
        return (await store.GetPolicyAsync(model.Name, cancellationToken))!;
    }

    /// <summary>
    /// Starts a workflow for the model: checks the guards (one active workflow per model; for automatic triggers also the
    /// cooldown, the weekly cap and label maturity), snapshots the policy, creates the steps and queues the first.
    /// </summary>
    /// <param name="triggerKind">One of <see cref="RetrainingTrigger"/>.</param>
    /// <param name="alertId">The alert that triggered it (for <see cref="RetrainingTrigger.Alert"/>).</param>
    /// <param name="detail">What triggered it, in words ("alert 'Dataset drift' fired", "every 7 days", "Retrain now").</param>
    /// <exception cref="RetrainingException">409 naming the guard that blocks it; 404 for an unknown model; 409 without a production version.</exception>
    public Task<RetrainingWorkflow> StartAsync(string modelName, string triggerKind, Guid? alertId, string detail, string actor, CancellationToken cancellationToken = default) =>
        throw new NotImplementedException();

    /// <summary>Approves the challenger waiting for approval and promotes it; <paramref name="actorRole"/> is the caller's <see cref="ApproverRole"/> (null: neither).</summary>
    /// <exception cref="RetrainingException">400 without a comment, 403 when the policy needs another role, 409 when not awaiting approval.</exception>
    public Task<RetrainingWorkflow> ApproveAsync(Guid workflowId, string? comment, string actor, string? actorRole, CancellationToken cancellationToken = default) =>
        throw new NotImplementedException();

    /// <summary>Rejects the challenger: the workflow ends rejected, production untouched.</summary>
    public Task<RetrainingWorkflow> RejectAsync(Guid workflowId, string? comment, string actor, string? actorRole, CancellationToken cancellationToken = default) =>
        throw new NotImplementedException();

    /// <summary>Stops a workflow that has not promoted (its running job is asked to cancel); production untouched.</summary>
    public Task<RetrainingWorkflow> CancelAsync(Guid workflowId, string actor, CancellationToken cancellationToken = default) =>
        throw new NotImplementedException();
}
