using FraudWorkbench.Core.Artifacts;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Jobs;
using Microsoft.Extensions.Options;

namespace FraudWorkbench.Core.Features;

public sealed record FeatureBackfillRequest(Guid FeatureSetVersionId);

/// <summary>Fills a feature set version's online entity state from the dataset version it was fitted on.</summary>
public sealed class FeatureBackfillJobHandler(
    FeatureSetStore featureSets, DatasetStore datasets, ArtifactStore artifacts, EntityStateStore state, IOptions<FeatureSetOptions>? options = null) : IJobHandler
{
    public const string KindName = "features.backfill";

    public string Kind => KindName;

    public async Task<object?> ExecuteAsync(JobContext context, CancellationToken cancellationToken)
    {
        var request = context.Payload<FeatureBackfillRequest>();
        var version = await featureSets.GetVersionAsync(request.FeatureSetVersionId, cancellationToken)
            ?? throw new NonRetryableJobException($"Feature set version {request.FeatureSetVersionId} does not exist.");
        var dataset = await datasets.GetVersionAsync(version.DatasetId, version.DatasetVersion, cancellationToken)
            ?? throw new NonRetryableJobException("The dataset version the feature set was fitted on no longer exists.");
        // It reads every row of the version, as the fit did: the same memory budget.
        if (FeatureSetService.OverBudget(dataset, version.Definition, options?.Value) is { } tooLarge) throw new NonRetryableJobException(tooLarge);
        await context.ReportAsync(10, "reading the dataset", cancellationToken);
        var rows = await DatasetRows.ReadAsync(artifacts, dataset, cancellationToken);
        await context.ReportAsync(50, "replaying events and saving entity state", cancellationToken);
        var entities = await state.BackfillAsync(version.Id, version.Fitted, rows, cancellationToken);
        return new { entities, rows = rows.Count };
    }
}
