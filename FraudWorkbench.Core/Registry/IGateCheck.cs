using FraudWorkbench.Core.Jobs;
using FraudWorkbench.Core.Scoring;

namespace FraudWorkbench.Core.Registry;

/// <summary>
/// What the gate job has in hand once it scored the candidate's holdout: the rows (in the candidate's feature schema
/// order, protected columns included), their labels, and both versions' probabilities on the same rows.
/// </summary>
/// <param name="ChampionScores">The production version's probabilities on the same rows, aligned with <paramref name="Labels"/>; null without one.</param>
public sealed record GateEvidence(
    RegisteredModel Model, ModelVersion Candidate, ServingModel CandidateModel, IReadOnlyList<string?[]> Rows, bool[] Labels, double[] CandidateScores,
    ModelVersion? Champion, ServingModel? ChampionModel, double[]? ChampionScores);

/// <summary>
/// Checks that capabilities built on the registry add to the validation gate (fairness limits, say), so the registry
/// runs them without knowing them. Each is registered as a singleton <see cref="IGateCheck"/>.
/// </summary>
public interface IGateCheck
{
    /// <summary>The checks to add to the gate's own; none when the model asks for nothing of this kind.</summary>
    Task<IReadOnlyList<GateCheck>> EvaluateAsync(GateEvidence evidence, JobContext context, CancellationToken cancellationToken);
}
