namespace FraudWorkbench.Core.Retraining;

/// <summary>The challenger against the champion on the traffic both scored (score correlation, flag agreement, estimated and realized metrics).</summary>
public sealed class ShadowComparer
{
    public Task<ShadowComparison> CompareAsync(RetrainingWorkflow workflow, CancellationToken cancellationToken = default) => throw new NotImplementedException();
}
