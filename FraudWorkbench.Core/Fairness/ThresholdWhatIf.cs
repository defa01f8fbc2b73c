namespace FraudWorkbench.Core.Fairness;

/// <summary>One group's rates at every threshold of the grid (null where the group has no fraud, or no legitimate rows).</summary>
public sealed record GroupCurve(string Group, long Count, bool TooSmall, double[] SelectionRate, double?[] TruePositiveRate, double?[] FalsePositiveRate);

/// <summary>What other thresholds would do to each group of one protected column: selection rate, TPR and FPR per threshold.</summary>
public sealed record ThresholdCurves(string Grouping, double[] Thresholds, IReadOnlyList<GroupCurve> Groups);

/// <summary>
/// The threshold what-if: per group, the rates a single, different threshold would give (flagged when score ≥ t), so a
/// reviewer sees who would gain and who would lose. Only a view: scoring keeps one threshold for everyone, because
/// per-group thresholds need the protected attribute at prediction time and treat people differently by it.
/// </summary>
public static class ThresholdWhatIf
{
    /// <summary>0, 0.01, …, 1.</summary>
    public static readonly double[] Grid = [.. Enumerable.Range(0, 101).Select(i => i / 100.0)];

    public static ThresholdCurves Compute(Grouping grouping, IReadOnlyList<bool> labels, IReadOnlyList<double> scores, int minGroupSize, double[]? thresholds = null)
    {
        thresholds ??= Grid;
        var fraud = Enumerable.Range(0, grouping.Count).Select(_ => new List<double>()).ToArray();
        var legit = Enumerable.Range(0, grouping.Count).Select(_ => new List<double>()).ToArray();
        for (var r = 0; r < scores.Count; r++) (labels[r] ? fraud : legit)[grouping.Of[r]].Add(scores[r]);
        var curves = new List<GroupCurve>(grouping.Count);
        for (var g = 0; g < grouping.Count; g++)
        {
            var f = fraud[g].Order().ToArray();
            var l = legit[g].Order().ToArray();
            var n = f.Length + l.Length;
            var selection = new double[thresholds.Length];
            var tpr = new double?[thresholds.Length];
            var fpr = new double?[thresholds.Length];
            for (var k = 0; k < thresholds.Length; k++)
            {
                long tp = AtOrAbove(f, thresholds[k]), fp = AtOrAbove(l, thresholds[k]);
                selection[k] = n == 0 ? 0 : (double)(tp + fp) / n;
                tpr[k] = f.Length == 0 ? null : (double)tp / f.Length;
                fpr[k] = l.Length == 0 ? null : (double)fp / l.Length;
            }

            curves.Add(new GroupCurve(grouping.Labels[g], n, n < minGroupSize, selection, tpr, fpr));
        }

        return new ThresholdCurves(grouping.Name, thresholds, curves);
    }

    /// <summary>How many of the ascending <paramref name="sorted"/> are ≥ <paramref name="threshold"/>.</summary>
    private static int AtOrAbove(double[] sorted, double threshold)
    {
        int low = 0, high = sorted.Length;
        while (low < high)
        {
            var mid = (low + high) >>> 1;
            if (sorted[mid] < threshold) low = mid + 1;
            else high = mid;
        }

        return sorted.Length - low;
    }
}
