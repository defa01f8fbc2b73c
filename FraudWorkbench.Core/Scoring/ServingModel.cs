using FraudWorkbench.Core.Features;
using FraudWorkbench.Core.Training;

namespace FraudWorkbench.Core.Scoring;

/// <summary>
/// One model version loaded for scoring, its artifacts verified: the feature set as fitted for it,
/// the engine, the recalibration and the decision threshold. Immutable and shared by concurrent requests.
/// </summary>
public sealed class ServingModel(
    Guid versionId, string modelName, int version, Guid featureSetVersionId, FittedFeatureSet features,
    IScoringEngine engine, double threshold, PlattCalibration? recalibration, TransactionContract contract)
{
    public Guid VersionId => versionId;

    public string ModelName => modelName;

    public int Version => version;

    public Guid FeatureSetVersionId => featureSetVersionId;

    public FittedFeatureSet Features => features;

    public Featurizer Featurizer { get; } = new(features);

    public IScoringEngine Engine => engine;

    public double Threshold => threshold;

    public PlattCalibration? Recalibration => recalibration;

    public TransactionContract Contract => contract;

    /// <summary>Fraud probabilities for feature rows, as validation measured them: recalibrated when training weighted or resampled.</summary>
    public void Probabilities(ReadOnlySpan<float> rows, int count, Span<double> probabilities)
    {
        var scores = new float[count];
        var own = new float[count];
        engine.Score(rows, count, scores, own);
        for (var i = 0; i < count; i++) probabilities[i] = recalibration is { } c ? c.Probability(scores[i]) : own[i];
    }
}
