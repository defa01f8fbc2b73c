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
/// feature fit, point-in-time), and applies the registered model's baselines and champion margins.
/// </summary>
public sealed class ModelValidationJobHandler(
    RegistryStore registry, TrainingRunStore runs, DatasetStore datasets, ArtifactStore artifacts, ModelLoader loader, EventHub events, TimeProvider time) : IJobHandler
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
            await registry.SetGateAsync(version.Id, result.Passed ? GateStatus.Passed : GateStatus.Failed, result, CancellationToken.None);
            await events.PublishAsync(new ModelGateChanged(model.Id, version.Id, result.Passed ? GateStatus.Passed : GateStatus.Failed), CancellationToken.None);
            return new { result.Passed, checks = result.Checks.Count, failed = result.Checks.Count(c => !c.Passed) };
        }
        catch (Exception ex) when (ex is ModelLoadException or NonRetryableJobException)
        {
            var error = new GateResult(false, [], new ClassificationReport(0, 0, 0, 0, 0, 0, 0), null, null, null, 0, time.GetUtcNow().UtcDateTime, ex.Message);
            await registry.SetGateAsync(version.Id, GateStatus.Error, error, CancellationToken.None);
            await events.PublishAsync(new ModelGateChanged(model.Id, version.Id, GateStatus.Error), CancellationToken.None);
            if (ex is ModelLoadException) await registry.RecordIncidentAsync("artifact-verification", "model-version", version.Id.ToString(), ex.Message, CancellationToken.None);
            throw new NonRetryableJobException(ex.Message);
        }
    }

    private async Task<GateResult> EvaluateAsync(ModelVersion version, RegisteredModel model, JobContext context, CancellationToken cancellationToken)
    {
        await context.ReportAsync(5, "loading and verifying the candidate's artifacts", cancellationToken);
        var candidate = await loader.LoadAsync(version, cancellationToken);
        var champion = await registry.GetProductionAsync(model.Name, cancellationToken);
        if (champion?.Id == version.Id) champion = null;
        var championModel = champion is null ? null : await loader.LoadAsync(champion, cancellationToken);

        await context.ReportAsync(20, "rebuilding the candidate's holdout", cancellationToken);
        var run = await runs.GetAsync(version.RunId, cancellationToken) ?? throw new NonRetryableJobException("The version's training run no longer exists.");
        var dataset = await datasets.GetVersionAsync(run.DatasetId, run.DatasetVersion, cancellationToken) ?? throw new NonRetryableJobException("The training dataset version no longer exists.");
        List<string?[]> rows;
        await using (var file = await artifacts.OpenReadAsync(dataset.Checksum, cancellationToken)) rows = DatasetRows.Read(file, dataset.Schema);
        var split = run.Config.Split ?? new SplitSettings();
        // k-fold runs validated every row once; their holdout is the whole dataset version.
        var (train, holdout) = split.Kind == SplitKind.KFold ? ([], rows) : TrainingJobHandler.Split(rows, dataset.Schema, split, (run.Config.Trainer ?? new TrainerSettings()).Seed);

        await context.ReportAsync(45, "scoring the holdout with the candidate", cancellationToken);
        var (candidateMetrics, holdoutRows) = Score(candidate, dataset.Schema, train, holdout);
        ClassificationReport? championMetrics = null;
        if (championModel is not null)
        {
            await context.ReportAsync(70, $"scoring the same holdout with production version {champion!.Version}", cancellationToken);
            (championMetrics, _) = Score(championModel, dataset.Schema, train, holdout);
        }

        var checks = ValidationGate.Evaluate(model.Gate, candidateMetrics, championMetrics);
        return new GateResult(checks.All(c => c.Passed), checks, candidateMetrics, championMetrics, champion?.Id, champion?.Version, holdoutRows, time.GetUtcNow().UtcDateTime);
    }

    /// <summary>The model's metrics on the holdout; the training rows only feed entity histories.</summary>
    private static (ClassificationReport Metrics, int Rows) Score(ServingModel model, DatasetSchema schema, List<string?[]> train, List<string?[]> holdout)
    {
        var target = model.Features.Schema;
        var map = target.Columns.Select(c => schema.IndexOf(c.Name)).ToArray();
        var missing = model.Contract.RequiredColumns.Where(c => schema.IndexOf(c) < 0).ToList();
        if (missing.Count > 0) throw new NonRetryableJobException($"{model.ModelName} version {model.Version} needs column(s) {string.Join(", ", missing)}, which the holdout's dataset does not have.");
        var all = train.Concat(holdout).Select(r => map.Select(i => i < 0 ? null : r[i]).ToArray()).ToList();
        var matrix = BatchFeaturizer.Run(model.Features, all);
        var width = model.Features.SlotCount;
        var labels = FeatureSetService.Labels(schema, holdout) ?? throw new NonRetryableJobException("The holdout has no label column.");
        var keep = Enumerable.Range(0, holdout.Count).Where(i => labels[i] >= 0).ToArray();
        var features = new float[keep.Length * width];
        for (var k = 0; k < keep.Length; k++) matrix.AsSpan((train.Count + keep[k]) * width, width).CopyTo(features.AsSpan(k * width, width));
        var probabilities = new double[keep.Length];
        model.Probabilities(features, keep.Length, probabilities);
        var truth = keep.Select(i => labels[i] == 1).ToArray();
        if (!truth.Contains(true) || !truth.Contains(false)) throw new NonRetryableJobException("The holdout needs both fraud and legitimate labelled rows.");
        return (ClassificationMetrics.Evaluate(probabilities, truth), keep.Length);
    }
}
