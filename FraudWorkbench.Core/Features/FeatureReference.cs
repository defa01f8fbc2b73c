namespace FraudWorkbench.Core.Features;

/// <summary>
/// What the features looked like on the rows they were fitted on: the baseline that monitoring compares
/// live traffic with (fixed quantile bin edges and counts per slot), plus the preview the editor shows.
/// </summary>
/// <param name="Categories">For each categorical input column: every category's share of the rows (the top 1,000).</param>
/// <param name="Columns">Every monitored raw column's values (<see cref="ColumnReference"/>): the baseline drift and data quality compare with; null for fits made before they were kept.</param>
public sealed record FeatureReference(
    long Rows, IReadOnlyList<SlotReference> Slots, IReadOnlyList<string> PreviewColumns, IReadOnlyList<float[]> PreviewRows,
    IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>>? Categories = null, IReadOnlyList<ColumnReference>? Columns = null);

/// <param name="Edges">Inner bin edges from the deciles of the slot's values (duplicates removed); bins are (−∞, e0], (e0, e1], …, (eN, ∞).</param>
/// <param name="Counts">Rows per bin, one more than the edges.</param>
/// <param name="Positives">Fraud rows per bin, when the rows are labelled.</param>
/// <param name="InformationValue">Σ (share of frauds − share of legitimate) · ln(their ratio) over the bins, with 0.5 added to each count.</param>
/// <param name="Auc">ROC AUC of the slot alone as a score (0.5 = no signal; below 0.5 = signal in the other direction).</param>
public sealed record SlotReference(
    string Name, double Min, double Max, double Mean, IReadOnlyList<double> Edges, IReadOnlyList<long> Counts,
    IReadOnlyList<long>? Positives, double? InformationValue, double? Auc);

public static class FeatureReferenceBuilder
{
    public const int PreviewRowCount = 50;

    /// <param name="matrix">Row-major features of <paramref name="rows"/> rows.</param>
    /// <param name="labels">Per row: 1 fraud, 0 legitimate, −1 unknown; null without a label.</param>
    public static FeatureReference Build(FittedFeatureSet set, float[] matrix, int rows, sbyte[]? labels, IReadOnlyList<string?[]>? data = null)
    {
        var width = set.SlotCount;
        var slots = new List<SlotReference>(width);
        var values = new double[rows];
        for (var s = 0; s < width; s++)
        {
            for (var r = 0; r < rows; r++) values[r] = matrix[r * width + s];
            slots.Add(Slot(set.SlotNames[s], values, labels));
        }

        var preview = Enumerable.Range(0, Math.Min(PreviewRowCount, rows)).Select(r => matrix.AsSpan(r * width, width).ToArray()).ToList();
        return new FeatureReference(rows, slots, set.SlotNames, preview, data is null ? null : CategoryShares(set, data),
            data is null ? null : ColumnReferenceBuilder.Build(set, data));
    }

    private static Dictionary<string, IReadOnlyDictionary<string, double>> CategoryShares(FittedFeatureSet set, IReadOnlyList<string?[]> data)
    {
        var result = new Dictionary<string, IReadOnlyDictionary<string, double>>(StringComparer.Ordinal);
        var columns = set.Features.Where(f => f.Spec.Kind is FeatureKind.OneHot or FeatureKind.Frequency or FeatureKind.TargetEncoding).Select(f => f.Spec.Column!).Distinct();
        foreach (var column in columns)
        {
            var index = set.Schema.IndexOf(column);
            var counts = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var row in data)
            {
                var key = Featurizer.CategoryOf(row[index]);
                counts[key] = counts.GetValueOrDefault(key) + 1;
            }

            result[column] = counts.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).Take(1000)
                .ToDictionary(kv => kv.Key, kv => (double)kv.Value / data.Count, StringComparer.Ordinal);
        }

        return result;
    }

    private static SlotReference Slot(string name, double[] values, sbyte[]? labels)
    {
        var sorted = (double[])values.Clone();
        Array.Sort(sorted);
        var edges = new List<double>();
        for (var d = 1; d <= 9; d++)
        {
            var edge = Data.DatasetProfiler.Quantile(sorted, d / 10.0);
            if (edges.Count == 0 || edge > edges[^1]) edges.Add(edge);
        }

        if (edges.Count > 0 && edges[^1] >= sorted[^1]) edges.RemoveAt(edges.Count - 1); // no empty last bin
        var counts = new long[edges.Count + 1];
        var positives = labels is null ? null : new long[edges.Count + 1];
        var negatives = new long[edges.Count + 1];
        for (var i = 0; i < values.Length; i++)
        {
            var bin = edges.BinarySearch(values[i]);
            bin = bin >= 0 ? bin : ~bin;
            counts[bin]++;
            if (labels is not null && labels[i] == 1) positives![bin]++;
            if (labels is not null && labels[i] == 0) negatives[bin]++;
        }

        double? iv = null, auc = null;
        if (labels is not null && positives is not null && positives.Sum() > 0 && negatives.Sum() > 0)
        {
            double p = positives.Sum(), n = negatives.Sum();
            iv = Enumerable.Range(0, counts.Length).Sum(b =>
            {
                var sp = (positives[b] + 0.5) / (p + 0.5);
                var sn = (negatives[b] + 0.5) / (n + 0.5);
                return (sp - sn) * Math.Log(sp / sn);
            });
            auc = Auc(values, labels);
        }

        return new SlotReference(name, sorted.Length == 0 ? 0 : sorted[0], sorted.Length == 0 ? 0 : sorted[^1], values.Length == 0 ? 0 : values.Average(),
            edges, counts, positives, iv, auc);
    }

    /// <summary>Mann–Whitney: the probability that a random fraud scores above a random legitimate row, ties counting half.</summary>
    public static double Auc(double[] scores, sbyte[] labels)
    {
        var pairs = scores.Select((s, i) => (Score: s, Label: labels[i])).Where(p => p.Label >= 0).OrderBy(p => p.Score).ToList();
        double positives = pairs.Count(p => p.Label == 1), negatives = pairs.Count - positives;
        if (positives == 0 || negatives == 0) return 0.5;
        double rankSum = 0;
        var i = 0;
        while (i < pairs.Count)
        {
            var j = i;
            while (j < pairs.Count && pairs[j].Score == pairs[i].Score) j++;
            var averageRank = (i + 1 + j) / 2.0; // ranks i+1..j share their mean
            for (var k = i; k < j; k++) if (pairs[k].Label == 1) rankSum += averageRank;
            i = j;
        }

        return (rankSum - positives * (positives + 1) / 2) / (positives * negatives);
    }
}
