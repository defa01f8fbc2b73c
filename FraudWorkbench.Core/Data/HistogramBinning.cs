namespace FraudWorkbench.Core.Data;

/// <summary>
/// How a numeric column's histogram is cut. Equal-width bins suit most columns, but a heavy-tailed one (amounts) puts
/// nearly every row in the first bar: such columns get log-spaced bins (non-negative values) or equal-count quantile bins.
/// The kind is stored with the profile so the chart can say which it drew.
/// </summary>
public static class HistogramBinning
{
    public const string Linear = "linear";
    public const string Log = "log";
    public const string Quantile = "quantile";

    /// <summary>Below this many values linear bins are readable whatever the shape, and skewness is too noisy to trust.</summary>
    public const int MinValuesForTailCheck = 50;

    /// <summary>Sample skewness from which a column counts as heavy-tailed (a log-normal amount is around 6; exponential 2).</summary>
    public const double HeavySkewness = 3;

    /// <summary>A bin's fraud rate is drawn only from this many labelled rows…</summary>
    public const int MinRowsForRate = 20;

    /// <summary>…and this share of all rows: a rate from a handful of rows is noise that draws the eye.</summary>
    public const double MinShareForRate = 0.01;

    /// <summary>
    /// The kind of bins for ascending <paramref name="sorted"/> values: <see cref="Linear"/> unless the column is heavy-tailed
    /// (sample skewness ≥ <see cref="HeavySkewness"/>), then
    /// <see cref="Log"/> when no value is negative and <see cref="Quantile"/> otherwise.
    /// </summary>
    public static string ChooseKind(IReadOnlyList<double> sorted)
    {
        var n = sorted.Count;
        if (n < MinValuesForTailCheck || sorted[0] == sorted[^1]) return Linear;
        double mean = 0;
        foreach (var v in sorted) mean += v;
        mean /= n;
        double m2 = 0, m3 = 0;
        foreach (var v in sorted)
        {
            var d = v - mean;
            m2 += d * d;
            m3 += d * d * d;
        }

        m2 /= n;
        m3 /= n;
        var skewness = m2 == 0 ? 0 : m3 / Math.Pow(m2, 1.5);
        if (skewness < HeavySkewness) return Linear;
        return sorted[0] >= 0 ? Log : Quantile;
    }

    /// <summary>
    /// The <paramref name="bins"/> + 1 ascending edges from the smallest to the largest value. Linear: equal widths. Log:
    /// equal widths of log(1 + x) (so zero is allowed). Quantile: the values' quantiles at k / bins (linear interpolation),
    /// repeated edges merged, so there may be fewer bins.
    /// </summary>
    public static double[] Edges(string kind, IReadOnlyList<double> sorted, int bins)
    {
        double min = sorted[0], max = sorted[^1];
        if (min == max) return [min, max];
        var edges = new double[bins + 1];
        switch (kind)
        {
            case Log:
                double low = Math.Log(1 + min), high = Math.Log(1 + max);
                for (var k = 0; k <= bins; k++) edges[k] = Math.Exp(low + (high - low) * k / bins) - 1;
                break;
            case Quantile:
                var array = sorted as double[] ?? [.. sorted];
                for (var k = 0; k <= bins; k++) edges[k] = DatasetProfiler.Quantile(array, (double)k / bins);
                edges = [.. edges.Distinct()];
                break;
            default:
                var width = (max - min) / bins;
                for (var k = 0; k <= bins; k++) edges[k] = min + k * width;
                break;
        }

        // Rounding must not move the ends: every value lies within them.
        edges[0] = min;
        edges[^1] = max;
        return edges;
    }

    /// <summary>The bin of <paramref name="value"/>: the last bin whose lower edge is at most the value (the top edge belongs to the last bin).</summary>
    public static int BinOf(double[] edges, double value)
    {
        var bins = edges.Length - 1;
        if (bins <= 1) return 0;
        var at = Array.BinarySearch(edges, value);
        var bin = at >= 0 ? at : ~at - 1;
        return Math.Clamp(bin, 0, bins - 1);
    }

    /// <summary>
    /// Whether a bin's fraud rate is worth drawing: it has one, from at least <see cref="MinRowsForRate"/> labelled rows, and the
    /// bin holds at least <see cref="MinShareForRate"/> of the <paramref name="totalRows"/>.
    /// </summary>
    public static bool ShowsFraudRate(HistogramBin bin, long totalRows) =>
        bin.FraudRate is not null && bin.Labelled >= MinRowsForRate && bin.Count >= MinShareForRate * totalRows;
}
