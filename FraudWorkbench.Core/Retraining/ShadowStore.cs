namespace FraudWorkbench.Core.Retraining;

/// <summary>The challenger's shadow predictions (<c>shadow_predictions</c>).</summary>
public sealed class ShadowStore
{
    /// <summary>Shadow predictions written for the workflow so far.</summary>
    public Task<long> CountAsync(Guid workflowId, CancellationToken cancellationToken = default) => throw new NotImplementedException();
}
