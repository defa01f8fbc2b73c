namespace FraudWorkbench.Core.Retraining;

/// <summary>
/// The audit chain of a model version: dataset version checksums → feature set version hash → run → artifact checksums →
/// gate result → fairness report → approvals → promotion, as one JSON document with its SHA-256.
/// </summary>
public sealed class AuditChainBuilder
{
    /// <summary>Null when the model or version does not exist.</summary>
    public Task<AuditChainDocument?> BuildAsync(string modelName, int version, CancellationToken cancellationToken = default) => throw new NotImplementedException();
}
