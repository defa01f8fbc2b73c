using FraudWorkbench.Core.Jobs;

namespace FraudWorkbench.Core.Retraining;

/// <summary>
/// The dataset step: production traffic of the policy's window from the prediction log with its labels (labelled rows as
/// labelled; unlabelled past the label window legitimate; unlabelled inside it left out; the common holdout days left
/// out), optionally after the production version's original rows, written as a new immutable version of that dataset
/// with a <c>prediction_id</c> column and its lineage row.
/// </summary>
public sealed class TrainingDataBuilder
{
    public Task<DatasetStepResult> BuildAsync(RetrainingWorkflow workflow, JobContext context, CancellationToken cancellationToken) => throw new NotImplementedException();
}
