namespace FraudWorkbench.Core.Retraining;

/// <summary>
/// Moves a workflow on: under the workflow row's lock, looks at its current step (its job finished? the shadow period
/// over? the watch ended?) and records the result and queues the next step in one transaction. Idempotent, so the
/// coordinator may call it for any event or tick, on any instance, and a restart resumes where the row says.
/// </summary>
public sealed class RetrainingEngine
{
    public Task AdvanceAsync(Guid workflowId, CancellationToken cancellationToken = default) => throw new NotImplementedException();
}
