using FraudWorkbench.Core.Jobs;

namespace FraudWorkbench.Core.Features;

/// <summary>Fits a feature set version as a job: with progress, cancellable, so a large dataset neither holds a request open nor outlives its caller.</summary>
public sealed class FeatureSetFitJobHandler(FeatureSetService service) : IJobHandler
{
    public const string KindName = "features.fit";

    public string Kind => KindName;

    public async Task<object?> ExecuteAsync(JobContext context, CancellationToken cancellationToken)
    {
        var request = context.Payload<NewFeatureSet>();
        try
        {
            var (version, created) = await service.CreateAsync(request, context.Job.CreatedBy, cancellationToken,
                (progress, stage) => context.ReportAsync(progress, stage, cancellationToken));
            return new { featureSetId = version.FeatureSetId, versionId = version.Id, version = version.Version, created };
        }
        catch (FeatureValidationException ex)
        {
            // Checked when the job was queued; the dataset changed since (or the budget did). Trying again will not help.
            throw new NonRetryableJobException(ex.Message, ex);
        }
    }
}
