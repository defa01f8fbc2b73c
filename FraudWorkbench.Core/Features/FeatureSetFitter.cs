using FraudWorkbench.Core.Data;

namespace FraudWorkbench.Core.Features;

/// <summary>
/// Fits a definition on rows of a dataset version (the training fold when training: the caller passes
/// only those rows, so encodings never see validation labels).
/// </summary>
public static class FeatureSetFitter
{
    public const string Other = "(other)";
    private const double WoeSmoothing = 0.5;

    /// <param name="rows">Cells by schema column (unquoted text as in the file).</param>
    public static FittedFeatureSet Fit(FeatureSetDefinition definition, DatasetSchema schema, IReadOnlyList<string?[]> rows, CancellationToken cancellationToken = default)
    {
        FeatureValidation.Validate(definition, schema);
        var normalised = definition.Normalise();
        var labelIndex = schema.Label is { } label ? schema.IndexOf(label.Name) : -1;
        // Features are fitted independently of each other, so on all cores.
        var fitted = normalised.Features.AsParallel().AsOrdered().WithCancellation(cancellationToken).Select(spec =>
        {
            var column = spec.Column is null ? -1 : schema.IndexOf(spec.Column);
            var name = spec.Column ?? spec.Entity ?? spec.Kind;
            return spec.Kind switch
            {
                FeatureKind.Numeric => FitNumeric(spec, rows, column),
                FeatureKind.OneHot => FitOneHot(spec, rows, column),
                FeatureKind.Frequency => new FittedFeature(spec, [$"{name}__freq"], Encoding: Frequencies(rows, column)),
                FeatureKind.TargetEncoding => new FittedFeature(spec, [$"{name}__woe"], Encoding: WeightOfEvidence(rows, column, labelIndex, schema.PositiveLabel!)),
                FeatureKind.DateParts => new FittedFeature(spec, [.. spec.Parts!.Select(p => $"{name}__{p}")]),
                FeatureKind.Mismatch => new FittedFeature(spec, [$"{spec.Column}__ne__{spec.Other}"]),
                FeatureKind.EntityRatio => new FittedFeature(spec, [$"{spec.Column}__ratio_to_{spec.Entity}_mean"]),
                FeatureKind.Velocity => FitVelocity(spec),
                _ => throw new InvalidOperationException(spec.Kind),
            };
        }).ToList();

        return new FittedFeatureSet(normalised, schema, fitted);
    }

    private static FittedFeature FitNumeric(FeatureSpec spec, IReadOnlyList<string?[]> rows, int column)
    {
        var values = new List<double>(rows.Count);
        foreach (var row in rows)
        {
            if (Featurizer.TryNumber(row[column], out var v)) values.Add(v);
        }

        values.Sort();
        var fill = spec.Impute switch
        {
            "constant" => spec.ImputeValue ?? 0,
            "mean" => values.Count == 0 ? 0 : values.Average(),
            _ => values.Count == 0 ? 0 : DatasetProfiler.Quantile([.. values], 0.5),
        };
        double? low = null, high = null;
        if (spec.Clip is [var lo, var hi] && values.Count > 0)
        {
            var sorted = values.ToArray();
            low = DatasetProfiler.Quantile(sorted, lo);
            high = DatasetProfiler.Quantile(sorted, hi);
        }

        var slots = new List<string> { spec.Column! };
        if (spec.MissingIndicator) slots.Add($"{spec.Column}__missing");
        var partial = new FittedFeature(spec, slots, fill, low, high);
        if (!spec.Standardize) return partial;

        // Scaling is fitted on the values as they look after imputation, clipping and log1p.
        var transformed = rows.Select(r => Featurizer.NumericValue(partial, r[column], out _)).ToList();
        var mean = transformed.Count == 0 ? 0 : transformed.Average();
        var variance = transformed.Count < 2 ? 0 : transformed.Sum(x => (x - mean) * (x - mean)) / (transformed.Count - 1);
        return partial with { Mean = mean, Std = variance > 0 ? Math.Sqrt(variance) : 1 };
    }

    private static FittedFeature FitOneHot(FeatureSpec spec, IReadOnlyList<string?[]> rows, int column)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var row in rows)
        {
            var key = Featurizer.CategoryOf(row[column]);
            counts[key] = counts.GetValueOrDefault(key) + 1;
        }

        var top = counts.Where(kv => kv.Key != Other).OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).Take(spec.TopK!.Value).Select(kv => kv.Key).ToList();
        return new FittedFeature(spec, [.. top.Select(c => $"{spec.Column}={c}"), $"{spec.Column}={Other}"], Categories: top);
    }

    private static Dictionary<string, double> Frequencies(IReadOnlyList<string?[]> rows, int column)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var row in rows)
        {
            var key = Featurizer.CategoryOf(row[column]);
            counts[key] = counts.GetValueOrDefault(key) + 1;
        }

        return counts.ToDictionary(kv => kv.Key, kv => rows.Count == 0 ? 0 : (double)kv.Value / rows.Count, StringComparer.Ordinal);
    }

    /// <summary>
    /// Overwrites the target-encoding inputs of a batch with out-of-fold values: each row is encoded by a
    /// fit on the other folds, so no row's value contains its own label (the full fit is for scoring).
    /// </summary>
    public static void ApplyOutOfFoldTargetEncoding(FittedFeatureSet set, IReadOnlyList<string?[]> rows, float[] matrix, int folds = 5)
    {
        var schema = set.Schema;
        if (schema.Label is not { } label) return;
        var labelIndex = schema.IndexOf(label.Name);
        var slot = 0;
        foreach (var feature in set.Features)
        {
            if (feature.Spec.Kind == FeatureKind.TargetEncoding)
            {
                var column = schema.IndexOf(feature.Spec.Column!);
                for (var fold = 0; fold < folds; fold++)
                {
                    var f = fold;
                    var others = rows.Where((_, i) => i % folds != f).ToList();
                    var encoding = WeightOfEvidence(others, column, labelIndex, schema.PositiveLabel!);
                    for (var r = fold; r < rows.Count; r += folds)
                    {
                        matrix[r * set.SlotCount + slot] = (float)encoding.GetValueOrDefault(Featurizer.CategoryOf(rows[r][column]));
                    }
                }
            }

            slot += feature.Slots.Count;
        }
    }

    /// <summary>ln(share of frauds in the category / share of legitimate rows in it), with 0.5 added to every count.</summary>
    private static Dictionary<string, double> WeightOfEvidence(IReadOnlyList<string?[]> rows, int column, int label, string positive)
    {
        var counts = new Dictionary<string, (int Pos, int Neg)>(StringComparer.Ordinal);
        int positives = 0, negatives = 0;
        foreach (var row in rows)
        {
            var y = row[label];
            if (y is null || CsvFile.IsMissing(y)) continue;
            var isPositive = y.Trim() == positive;
            var key = Featurizer.CategoryOf(row[column]);
            var (p, n) = counts.GetValueOrDefault(key);
            counts[key] = isPositive ? (p + 1, n) : (p, n + 1);
            if (isPositive) positives++; else negatives++;
        }

        return counts.ToDictionary(
            kv => kv.Key,
            kv => Math.Log((kv.Value.Pos + WoeSmoothing) / (positives + WoeSmoothing)) - Math.Log((kv.Value.Neg + WoeSmoothing) / (negatives + WoeSmoothing)),
            StringComparer.Ordinal);
    }

    private static FittedFeature FitVelocity(FeatureSpec spec)
    {
        var windows = spec.Windows!.Select(FeatureSetDefinition.ParseWindow).ToList();
        var slots = new List<string>();
        foreach (var w in spec.Windows!)
        {
            slots.Add($"{spec.Entity}__count_{w}");
            if (spec.Column is not null) slots.Add($"{spec.Entity}__sum_{spec.Column}_{w}");
        }

        slots.Add($"{spec.Entity}__seconds_since_previous");
        return new FittedFeature(spec, slots, WindowTicks: [.. windows.Select(w => w.Ticks)]);
    }
}
