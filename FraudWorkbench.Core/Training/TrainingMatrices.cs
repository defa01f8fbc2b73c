using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Features;

namespace FraudWorkbench.Core.Training;

/// <summary>
/// Model inputs for a train/validation split: the feature set is fitted on the training rows only,
/// both parts are featurized point-in-time in one pass (validation rows see the training history),
/// target encodings of the training rows are out-of-fold, and unlabelled rows are left out.
/// </summary>
public sealed record TrainingMatrices(FittedFeatureSet Set, TrainingData Train, TrainingData Validation, List<string?[]> ValidationRows)
{
    public static TrainingMatrices Build(FeatureSetDefinition definition, DatasetSchema schema, List<string?[]> train, List<string?[]> validation)
    {
        var set = FeatureSetFitter.Fit(definition, schema, train);
        var width = set.SlotCount;
        var matrix = BatchFeaturizer.Run(set, [.. train, .. validation]);
        var trainMatrix = matrix[..(train.Count * width)];
        FeatureSetFitter.ApplyOutOfFoldTargetEncoding(set, train, trainMatrix);
        var labels = FeatureSetService.Labels(schema, [.. train, .. validation])!;
        var trainData = Labelled(trainMatrix, labels[..train.Count], width);
        var validationData = Labelled(matrix[(train.Count * width)..], labels[train.Count..], width);
        var validationRows = validation.Where((_, i) => labels[train.Count + i] >= 0).ToList();
        return new TrainingMatrices(set, trainData, validationData, validationRows);
    }

    /// <summary>Rows with a known label only (unlabelled rows still fed the entity histories when featurizing).</summary>
    private static TrainingData Labelled(float[] matrix, sbyte[] labels, int width)
    {
        var keep = Enumerable.Range(0, labels.Length).Where(i => labels[i] >= 0).ToArray();
        var result = new float[keep.Length * width];
        for (var k = 0; k < keep.Length; k++) matrix.AsSpan(keep[k] * width, width).CopyTo(result.AsSpan(k * width, width));
        return new TrainingData(result, width, [.. keep.Select(i => labels[i] == 1)]);
    }
}
