using FraudWorkbench.Core.Features;

namespace FraudWorkbench.Core.Explain;

/// <summary>A signed share of the raw score (log-odds) credited to one input, feature or column.</summary>
public sealed record Contribution(string Name, double Value);

/// <summary>
/// One transaction explained three ways: per model input (slot), per feature-set feature (a one-hot group
/// is one feature) and per raw input column. <c>BaseValue + Σ contributions = RawScore</c> in each view;
/// <see cref="Probability"/> is the served probability (after recalibration) of that raw score.
/// </summary>
public sealed record TransactionExplanation(
    double BaseValue, double RawScore, double Probability,
    IReadOnlyList<Contribution> Inputs, IReadOnlyList<Contribution> Features, IReadOnlyList<Contribution> Columns);

/// <summary>
/// Sums slot contributions back to the features and columns they came from. A feature reading several
/// columns (a mismatch, an entity's velocity) is credited to its primary column: the compared or summed
/// value, or the entity key when it sums nothing.
/// </summary>
public sealed class Attribution
{
    private readonly int[] featureOfSlot;
    private readonly string[] featureNames;
    private readonly int[] columnOfFeature;
    private readonly string[] columnNames;

    public Attribution(FittedFeatureSet set)
    {
        Slots = set.SlotNames;
        featureOfSlot = [.. set.Features.SelectMany((f, i) => f.Slots.Select(_ => i))];
        featureNames = [.. set.Features.Select(Name)];
        var columns = set.Features.Select(f => f.Spec.Column ?? f.Spec.Entity ?? "(none)").ToList();
        columnNames = [.. columns.Distinct()];
        columnOfFeature = [.. columns.Select(c => Array.IndexOf(columnNames, c))];
    }

    public IReadOnlyList<string> Slots { get; }

    /// <summary>The raw input column a model input (slot) is credited to.</summary>
    public string ColumnOf(int slot) => columnNames[columnOfFeature[featureOfSlot[slot]]];

    public static string Name(FittedFeature f) => f.Spec.Kind switch
    {
        FeatureKind.Mismatch => $"{f.Spec.Column} ≠ {f.Spec.Other}",
        FeatureKind.EntityRatio => $"{f.Spec.Column} ÷ {f.Spec.Entity}'s mean",
        FeatureKind.Velocity => $"{f.Spec.Entity} velocity{(f.Spec.Column is null ? "" : " of " + f.Spec.Column)}",
        FeatureKind.Numeric => f.Spec.Column!,
        _ => $"{f.Spec.Column} ({f.Spec.Kind.Replace('_', ' ')})",
    };

    public TransactionExplanation Explain(Explanation explanation, double probability)
    {
        var features = new double[featureNames.Length];
        for (var s = 0; s < explanation.Contributions.Length; s++) features[featureOfSlot[s]] += explanation.Contributions[s];
        return new TransactionExplanation(explanation.BaseValue, explanation.RawScore, probability,
            [.. Slots.Select((name, s) => new Contribution(name, explanation.Contributions[s]))],
            [.. featureNames.Select((name, f) => new Contribution(name, features[f]))],
            Columns(explanation));
    }

    /// <summary>The contributions by raw input column only: what a prediction's reasons need, on every scored transaction.</summary>
    public IReadOnlyList<Contribution> Columns(Explanation explanation)
    {
        var columns = new double[columnNames.Length];
        for (var s = 0; s < explanation.Contributions.Length; s++) columns[columnOfFeature[featureOfSlot[s]]] += explanation.Contributions[s];
        return [.. columnNames.Select((name, c) => new Contribution(name, columns[c]))];
    }
}
