using FraudWorkbench.Core.Features;
using FraudWorkbench.Core.Jobs;
using FraudWorkbench.Core.Registry;
using FraudWorkbench.Core.Training;

namespace FraudWorkbench.Core.Retraining;

/// <summary>
/// The feature step: the production version's feature set definition refitted on the workflow's dataset version (a new
/// feature set version), and its entity histories backfilled so the challenger can shadow-score live traffic.
/// </summary>
public sealed class RetrainingFeatureFitter(RegistryStore registry, TrainingRunStore runs, FeatureSetStore featureSets, FeatureSetService service, JobStore jobs)
{
    public async Task<FeaturesStepResult> FitAsync(RetrainingWorkflow workflow, JobContext context, CancellationToken cancellationToken)
    {
        if (workflow.DatasetId is not Guid datasetId || workflow.DatasetVersion is not int datasetVersion)
            throw new NonRetryableJobException("The workflow has no dataset version to fit the features on: the dataset step did not record one.");
        await context.ReportAsync(2, "finding the production version's feature set", cancellationToken);
        var champion = workflow.ChampionVersionId is Guid championId ? await registry.GetVersionAsync(championId, cancellationToken) : null;
        if (champion is null) throw new NonRetryableJobException($"{workflow.ModelName} had no production version when the workflow started: there is no feature set to refit.");
        var run = await runs.GetAsync(champion.RunId, cancellationToken)
            ?? throw new NonRetryableJobException($"The training run of {champion.ModelName} version {champion.Version} no longer exists.");
        var current = await featureSets.GetVersionAsync(run.FeatureSetVersionId, cancellationToken)
            ?? throw new NonRetryableJobException($"The feature set version {champion.ModelName} version {champion.Version} was trained with no longer exists.");

        FeatureSetVersion fitted;
        bool created;
        try
        {
            (fitted, created) = await service.CreateAsync(new NewFeatureSet(current.Name, datasetId, datasetVersion, current.Definition), RetrainingTraffic.Actor, cancellationToken,
                (progress, stage) => context.ReportAsync(5 + progress * 85 / 100, stage, cancellationToken));
        }
        catch (FeatureValidationException ex)
        {
            throw new NonRetryableJobException($"The feature set '{current.Name}' cannot be fitted on the new dataset version: {ex.Message}", ex);
        }

        // Velocity and entity ratios read each entity's history: the challenger needs it online before it shadow-scores.
        Guid? backfill = null;
        if (fitted.Definition.Features.Any(f => f.Entity is not null))
        {
            await context.ReportAsync(95, "queueing the entity history backfill", cancellationToken);
            backfill = (await jobs.EnqueueAsync(FeatureBackfillJobHandler.KindName, new FeatureBackfillRequest(fitted.Id), RetrainingTraffic.Actor, cancellationToken: cancellationToken)).Id;
        }

        await context.ReportAsync(100, $"{fitted.Name} version {fitted.Version}{(created ? "" : " (the same fit existed)")}", cancellationToken);
        return new FeaturesStepResult(fitted.Id, fitted.Name, fitted.Version, fitted.Hash, created, backfill);
    }
}
