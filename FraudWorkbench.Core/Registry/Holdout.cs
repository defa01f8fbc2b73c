using FraudWorkbench.Core.Artifacts;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Features;
using FraudWorkbench.Core.Jobs;
using FraudWorkbench.Core.Scoring;
using FraudWorkbench.Core.Training;

namespace FraudWorkbench.Core.Registry;

/// <summary>
/// A model version's holdout rebuilt from its training run: the run's split of its dataset version (for
/// k-fold runs, which validated every row once, the whole version). The training rows stay along because
/// they feed the entity histories the holdout rows see.
/// </summary>
public sealed record Holdout(DatasetSchema Schema, List<string?[]> Train, List<string?[]> Rows)
{
    public static async Task<Holdout> LoadAsync(TrainingRun run, DatasetStore datasets, ArtifactStore artifacts, CancellationToken cancellationToken)
    {
        var dataset = await datasets.GetVersionAsync(run.DatasetId, run.DatasetVersion, cancellationToken)
            ?? throw new NonRetryableJobException("The training dataset version no longer exists.");
        var rows = await DatasetRows.ReadAsync(artifacts, dataset, cancellationToken);
        var split = run.Config.Split ?? new SplitSettings();
        var (train, holdout) = split.Kind == SplitKind.KFold ? ([], rows) : TrainingJobHandler.Split(rows, dataset.Schema, split, (run.Config.Trainer ?? new TrainerSettings()).Seed);
        return new Holdout(dataset.Schema, train, holdout);
    }

    /// <summary>The labelled holdout rows as <paramref name="model"/>'s inputs (its own feature fit, point-in-time), their labels and raw rows.</summary>
    public (float[] Features, bool[] Labels, List<string?[]> Rows) Featurize(ServingModel model)
    {
        var map = model.Features.Schema.Columns.Select(c => Schema.IndexOf(c.Name)).ToArray();
        var missing = model.Contract.RequiredColumns.Where(c => Schema.IndexOf(c) < 0).ToList();
        if (missing.Count > 0) throw new NonRetryableJobException($"{model.ModelName} version {model.Version} needs column(s) {string.Join(", ", missing)}, which the holdout's dataset does not have.");
        var all = Train.Concat(Rows).Select(r => map.Select(i => i < 0 ? null : r[i]).ToArray()).ToList();
        var matrix = BatchFeaturizer.Run(model.Features, all);
        var width = model.Features.SlotCount;
        var labels = FeatureSetService.Labels(Schema, Rows) ?? throw new NonRetryableJobException("The holdout has no label column.");
        var keep = Enumerable.Range(0, Rows.Count).Where(i => labels[i] >= 0).ToArray();
        var features = new float[keep.Length * width];
        for (var k = 0; k < keep.Length; k++) matrix.AsSpan((Train.Count + keep[k]) * width, width).CopyTo(features.AsSpan(k * width, width));
        return (features, [.. keep.Select(i => labels[i] == 1)], [.. keep.Select(i => all[Train.Count + i])]);
    }
}
