namespace FraudWorkbench.Core.Monitoring;

/// <summary>
/// Bins two raw samples the way Evidently does before PSI / Jensen-Shannon / Hellinger: a numeric
/// column with more than 20 distinct values gets Sturges' equal-width bins over both samples
/// (numpy's <c>histogram_bin_edges(..., "sturges")</c>, the last bin closed on the right); any other
/// column a bin per value. NaN and infinities are left out (missing values are data quality, not drift).
/// </summary>
public static class DriftBinning
{
    public const int MaxDistinctForValueBins = 20;

    public static (long[] Reference, long[] Current) Numeric(IReadOnlyList<double> reference, IReadOnlyList<double> current)
    {
        var r = reference.Where(double.IsFinite).ToArray();
        var c = current.Where(double.IsFinite).ToArray();
        var all = r.Concat(c).ToArray();
        if (all.Length == 0) return ([], []);
        var distinct = all.Distinct().Count();
        if (distinct <= MaxDistinctForValueBins) return Categorical(r.Select(Key), c.Select(Key));

        var edges = SturgesEdges(all);
        return (Histogram(r, edges), Histogram(c, edges));
    }

    /// <summary>A bin per value seen on either side, in ordinal order; a value only one side has is a bin the other counts 0 in.</summary>
    public static (long[] Reference, long[] Current) Categorical(IEnumerable<string> reference, IEnumerable<string> current)
    {
        var r = CountValues(reference);
        var c = CountValues(current);
        var values = r.Keys.Union(c.Keys).Order(StringComparer.Ordinal).ToList();
        return ([.. values.Select(v => r.GetValueOrDefault(v))], [.. values.Select(v => c.GetValueOrDefault(v))]);
    }

    /// <summary>Rows per value, counted in place (no grouping lists: a million rows of a column is the common case).</summary>
    private static Dictionary<string, long> CountValues(IEnumerable<string> values)
    {
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var v in values) System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(counts, v, out _)++;
        return counts;
    }

    /// <summary>numpy's Sturges edges: ⌈log2 n⌉ + 1 equal-width bins from the minimum to the maximum.</summary>
    public static double[] SturgesEdges(IReadOnlyList<double> values)
    {
        var (min, max) = (values.Min(), values.Max());
        var bins = (int)Math.Ceiling(Math.Log2(values.Count) + 1);
        if (min == max) (min, max) = (min - 0.5, max + 0.5);
        var edges = new double[bins + 1];
        for (var i = 0; i <= bins; i++) edges[i] = min + (max - min) * i / bins;
        edges[^1] = max;
        return edges;
    }

    /// <summary>Counts per bin with numpy's rule: [e_i, e_i+1) except the last, [e_k-1, e_k].</summary>
    public static long[] Histogram(IReadOnlyList<double> values, double[] edges)
    {
        var counts = new long[edges.Length - 1];
        foreach (var v in values)
        {
            if (v < edges[0] || v > edges[^1]) continue;
            var bin = Array.BinarySearch(edges, v);
            bin = bin >= 0 ? bin : ~bin - 1;
            counts[Math.Min(bin, counts.Length - 1)]++;
        }

        return counts;
    }

    private static string Key(double value) => value.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
}
