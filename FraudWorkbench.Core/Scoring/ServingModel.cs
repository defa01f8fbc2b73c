using FraudWorkbench.Core.Explain;
using FraudWorkbench.Core.Features;
using FraudWorkbench.Core.Training;

namespace FraudWorkbench.Core.Scoring;

/// <summary>
/// One model version loaded for scoring, its artifacts verified: the feature set as fitted for it,
/// the engine, the recalibration and the decision threshold. Immutable and shared by concurrent requests.
/// </summary>
public sealed class ServingModel(
    Guid versionId, string modelName, int version, Guid featureSetVersionId, FittedFeatureSet features,
    IScoringEngine engine, double threshold, PlattCalibration? recalibration, TransactionContract contract, ModelExplainer? explainer = null) : IDisposable
{
    /// <summary>Releases the engine's native session. Only for models nobody serves (jobs' own loads); served ones are shared.</summary>
    public void Dispose() => (engine as IDisposable)?.Dispose();

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

    /// <summary>Null for versions trained before explanations were stored.</summary>
    public ModelExplainer? Explainer => explainer;

    public Attribution Attribution { get; } = new(features);

    /// <summary>The row's raw score split into contributions (TreeSHAP or linear), with the served probability.</summary>
    public TransactionExplanation? Explain(ReadOnlySpan<float> row)
    {
        if (explainer is null) return null;
        var explanation = explainer.Explain(row);
        var probability = new double[1];
        Probabilities(row, 1, probability);
        return Attribution.Explain(explanation, probability[0]);
    }

    /// <summary>Fraud probabilities for feature rows, as validation measured them: recalibrated when training weighted or resampled.</summary>
    public void Probabilities(ReadOnlySpan<float> rows, int count, Span<double> probabilities)
    {
        var scores = new float[count];
        var own = new float[count];
        engine.Score(rows, count, scores, own);
        for (var i = 0; i < count; i++) probabilities[i] = recalibration is { } c ? c.Probability(scores[i]) : own[i];
    }
}
