using Dapper;
using FraudWorkbench.Core.Artifacts;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Features;
using FraudWorkbench.Core.Jobs;
using FraudWorkbench.Core.Registry;
using FraudWorkbench.Core.Training;
using Microsoft.Extensions.Options;
using Npgsql;

namespace FraudWorkbench.Core.Retraining;

/// <summary>
/// The feature step: the production version's feature set definition refitted on the workflow's dataset version (a new
/// feature set version), and its entity histories backfilled up to a cut in the prediction log, from which the shadow
/// tailer (<see cref="ShadowScorer"/>) carries them on until the promotion.
/// </summary>
public sealed class RetrainingFeatureFitter(
    RegistryStore registry, TrainingRunStore runs, FeatureSetStore featureSets, FeatureSetService service, DatasetStore datasets, ArtifactStore artifacts,
    EntityStateStore entities, ShadowStore shadow, NpgsqlDataSource dataSource, TimeProvider time, IOptions<RetrainingOptions> options)
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

        // The log a little behind now, as the tailer reads it: rows logged just before now may not be committed yet, and
        // one committed behind the cut would be in neither the replay nor the tail.
        var cut = LogPosition.Microseconds(time.GetUtcNow().UtcDateTime - options.Value.ShadowTailLag);
        // Velocity and entity ratios read each entity's history: the challenger needs it online before it shadow-scores.
        if (fitted.Definition.Features.Any(f => f.Entity is not null))
        {
            await context.ReportAsync(92, "replaying the original rows and the window's traffic into the challenger's entity histories", cancellationToken);
            await BackfillAsync(workflow, fitted, cut, cancellationToken);
        }

        // Only once the replay is stored: the tailer takes the workflow up when the engine records this step's result.
        await shadow.StartHistoriesAsync(workflow.Id, cut, cancellationToken);

        await context.ReportAsync(100, $"{fitted.Name} version {fitted.Version}{(created ? "" : " (the same fit existed)")}", cancellationToken);
        return new FeaturesStepResult(fitted.Id, fitted.Name, fitted.Version, fitted.Hash, created);
    }

    /// <summary>
    /// The challenger's entity histories as the champion's saw the customers: the original rows of its dataset version,
    /// then every prediction of the model from the window's start until <paramref name="cut"/>, whatever its label. Not the
    /// built dataset alone, which leaves out the holdout days and the unlabelled recent traffic: velocity features would start
    /// thinner than production's. Replaces the version's state, so a retried step replays the same (and sets the tailer's
    /// start again). The tailer records the traffic from the cut on.
    /// </summary>
    private async Task BackfillAsync(RetrainingWorkflow workflow, FeatureSetVersion fitted, DateTime cut, CancellationToken cancellationToken)
    {
        var version = await datasets.GetVersionAsync(fitted.DatasetId, fitted.DatasetVersion, cancellationToken)
            ?? throw new NonRetryableJobException("The dataset version the features were fitted on no longer exists.");
        var schema = version.Schema;
        var prediction = schema.IndexOf(RetrainingTraffic.PredictionIdColumn);
        var rows = (await DatasetRows.ReadAsync(artifacts, version, cancellationToken)).Where(r => prediction < 0 || string.IsNullOrEmpty(r[prediction])).ToList();
        const string sql = "SELECT window_from FROM retraining_dataset_lineage WHERE workflow_id = @workflowId ORDER BY created_at DESC LIMIT 1";
        DateTime? from;
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        {
            from = await connection.QuerySingleOrDefaultAsync<DateTime?>(new CommandDefinition(sql, new { workflowId = workflow.Id }, cancellationToken: cancellationToken));
        }

        if (from is { } start)
        {
            await foreach (var traffic in RetrainingTraffic.ReadAsync(dataSource, workflow.RegisteredModelId, start, cut, cancellationToken))
                rows.Add(RetrainingTraffic.ParseRow(traffic.InputJson, schema));
        }

        await entities.BackfillAsync(fitted.Id, fitted.Fitted, rows, cancellationToken);
    }
}
