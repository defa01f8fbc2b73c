using FraudWorkbench.Core.Jobs;

namespace FraudWorkbench.Core.Retraining;

/// <summary>
/// The feature step: the production version's feature set definition refitted on the workflow's dataset version (a new
/// feature set version), and its entity histories backfilled so the challenger can shadow-score live traffic.
/// </summary>
public sealed class RetrainingFeatureFitter
{
    public Task<FeaturesStepResult> FitAsync(RetrainingWorkflow workflow, JobContext context, CancellationToken cancellationToken) => throw new NotImplementedException();
}
