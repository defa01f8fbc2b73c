using FraudWorkbench.Core.Artifacts;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Events;
using FraudWorkbench.Core.Features;
using FraudWorkbench.Core.Jobs;
using FraudWorkbench.Core.Scoring;
using FraudWorkbench.Core.Training;

namespace FraudWorkbench.Core.Registry;

/// <summary>
/// The validation gate as a job: rebuilds the candidate's holdout (its run's split of its dataset version),
/// scores it with the candidate and with the production version through the serving path (each with its own
/// feature fit, point-in-time), and applies the registered model's baselines and champion margins, then the checks
/// newer capabilities add through <see cref="IGateCheck"/>.
/// </summary>
public sealed class ModelValidationJobHandler(
    RegistryStore registry, TrainingRunStore runs, DatasetStore datasets, ArtifactStore artifacts, ModelLoader loader, EventHub events, TimeProvider time,
    IEnumerable<IGateCheck> extraChecks) : IJobHandler
{
    public const string KindName = "registry.validate";

    public string Kind => KindName;

    public async Task<object?> ExecuteAsync(JobContext context, CancellationToken cancellationToken)
    {
        var payload = context.Payload<ModelValidationPayload>();
        var version = await registry.GetVersionAsync(payload.VersionId, cancellationToken) ?? throw new NonRetryableJobException($"Model version {payload.VersionId} does not exist.");
        var model = await registry.GetModelAsync(version.ModelName, cancellationToken) ?? throw new NonRetryableJobException($"Model {version.ModelName} does not exist.");
        try
        {
            var result = await EvaluateAsync(version, model, context, cancellationToken);
            var status = GateStatus.Of(result.Checks);
            await registry.SetGateAsync(version.Id, status, result, CancellationToken.None, context.Job.Id);
            await events.PublishAsync(new ModelGateChanged(model.Id, version.Id, status), CancellationToken.None);
            return new { result.Passed, status, checks = result.Checks.Count, failed = result.Checks.Count(c => !c.Passed && !c.Inconclusive), inconclusive = result.Checks.Count(c => c.Inconclusive) };
        }
        catch (Exception ex) when (ex is ModelLoadException or NonRetryableJobException)
        {
            var error = new GateResult(false, [], new ClassificationReport(0, 0, 0, 0, 0, 0, 0), null, null, null, 0, time.GetUtcNow().UtcDateTime, ex.Message);
            await registry.SetGateAsync(version.Id, GateStatus.Error, error, CancellationToken.None, context.Job.Id);
            await events.PublishAsync(new ModelGateChanged(model.Id, version.Id, GateStatus.Error), CancellationToken.None);
            if (ex is ModelLoadException) await registry.RecordIncidentAsync("artifact-verification", "model-version", version.Id.ToString(), ex.Message, CancellationToken.None);
            throw new NonRetryableJobException(ex.Message);
        }
        catch (Exception ex) when (ex is not OperationCanceledException && context.Job.Attempts >= context.Job.MaxAttempts)
        {
            // The last attempt failed: the gate must not stay "pending" for ever.
            var error = new GateResult(false, [], new ClassificationReport(0, 0, 0, 0, 0, 0, 0), null, null, null, 0, time.GetUtcNow().UtcDateTime, "The gate could not be evaluated: " + ex.Message);
            await registry.SetGateAsync(version.Id, GateStatus.Error, error, CancellationToken.None, context.Job.Id);
            await events.PublishAsync(new ModelGateChanged(model.Id, version.Id, GateStatus.Error), CancellationToken.None);
            throw;
        }
    }

    private async Task<GateResult> EvaluateAsync(ModelVersion version, RegisteredModel model, JobContext context, CancellationToken cancellationToken)
    {
        await context.ReportAsync(5, "loading and verifying the candidate's artifacts", cancellationToken);
        using var candidate = await loader.LoadAsync(version, cancellationToken);
        var champion = await registry.GetProductionAsync(model.Name, cancellationToken);
        if (champion?.Id == version.Id) champion = null;
        using var championModel = champion is null ? null : await loader.LoadAsync(champion, cancellationToken);

        await context.ReportAsync(20, "rebuilding the candidate's holdout", cancellationToken);
        var run = await runs.GetAsync(version.RunId, cancellationToken) ?? throw new NonRetryableJobException("The version's training run no longer exists.");
        var holdout = await Holdout.LoadAsync(run, datasets, artifacts, cancellationToken);

        await context.ReportAsync(45, "scoring the holdout with the candidate", cancellationToken);
        var scored = Score(candidate, holdout);
        var candidateMetrics = ClassificationMetrics.Evaluate(scored.Probabilities, scored.Labels);
        ClassificationReport? championMetrics = null;
        double[]? championScores = null;
        if (championModel is not null)
        {
            await context.ReportAsync(70, $"scoring the same holdout with production version {champion!.Version}", cancellationToken);
            // The same labelled rows in the same order (the labels come from the holdout, not the model), scored through the champion's own feature fit.
            championScores = Score(championModel, holdout).Probabilities;
            championMetrics = ClassificationMetrics.Evaluate(championScores, scored.Labels);
        }

        var checks = ValidationGate.Evaluate(model.Gate, candidateMetrics, championMetrics).ToList();
        var evidence = new GateEvidence(model, version, candidate, scored.Rows, scored.Labels, scored.Probabilities, champion, championModel, championScores);
        foreach (var extra in extraChecks)
        {
            checks.AddRange(await extra.EvaluateAsync(evidence, context, cancellationToken));
        }

        return new GateResult(GateStatus.Of(checks) == GateStatus.Passed, checks, candidateMetrics, championMetrics, champion?.Id, champion?.Version, scored.Labels.Length, time.GetUtcNow().UtcDateTime);
    }

    /// <summary>The model's probabilities on the holdout's labelled rows, scored through the serving path.</summary>
    private static (double[] Probabilities, bool[] Labels, List<string?[]> Rows) Score(ServingModel model, Holdout holdout)
    {
        var (features, truth, rows) = holdout.Featurize(model);
        if (!truth.Contains(true) || !truth.Contains(false)) throw new NonRetryableJobException("The holdout needs both fraud and legitimate labelled rows.");
        var probabilities = new double[truth.Length];
        model.Probabilities(features, truth.Length, probabilities);
        return (probabilities, truth, rows);
    }
}
