using System.Globalization;
using FraudWorkbench.Core.Features;

namespace FraudWorkbench.Core.Monitoring;

/// <summary>
/// A column's drift, data quality and distributions in a window, from its reference and the window's summed counts.
/// Categories (and numbers with few values) are exact; numbers in quantile bins use the bins: PSI, Jensen-Shannon,
/// Hellinger and chi-square on the reference's deciles (fixed at fit time), KS and Wasserstein on the percentile bins
/// with values spread evenly inside each bin (docs/monitoring.md gives the error this allows).
/// </summary>
public static class DriftCalculator
{
    /// <summary>The most frequent unseen values a quality row lists.</summary>
    public const int ListedUnseenValues = 20;

    /// <param name="rawCurrent">
    /// A uniform sample of the window's raw values, when the test needs them: KS against a reference small enough to
    /// keep its exact values (Evidently's choice for references of at most 1,000 rows).
    /// </param>
    public static ColumnDrift Drift(MonitoredColumn column, ColumnCounts current, ColumnDriftSettings settings, IReadOnlyList<double>? rawCurrent = null)
    {
        var reference = column.Reference;
        var distinct = DistinctValues(reference, current);
        var method = settings.Method ?? DriftMethod.Choose(reference.Rows, reference.IsNumeric, distinct);
        var threshold = settings.Threshold ?? DriftMethod.DefaultThreshold(method);
        var result = new ColumnDrift(column.Name, column.Kind, column.Type, method, null, threshold, null, DriftStatus.Tested,
            current.Rows, reference.Rows, current.Missing, reference.Rows == 0 ? 0 : (double)reference.Missing / reference.Rows, current.Unseen, current.Below + current.Above);
        if (reference.NonMissing == 0 || distinct <= 1 && reference.NonMissing > 0 && current.NonMissing > 0 && current.Unseen == 0 && IsConstant(reference))
        {
            return result with { Status = DriftStatus.NotTestable };
        }

        if (current.NonMissing == 0) return result with { Status = DriftStatus.NoData };
        var value = Score(method, reference, current, rawCurrent);
        if (value is not { } v || double.IsNaN(v)) return result with { Status = DriftStatus.NotTestable };
        return result with { Value = v, Drifted = DriftMethod.IsDrift(method, v, threshold) };
    }

    /// <summary>Distinct values over the reference and the window, as Evidently counts them to choose a test (capped for binned numbers).</summary>
    public static long DistinctValues(ColumnReference reference, ColumnCounts current) =>
        reference.ByValue ? reference.Categories!.Count + current.UnseenValues.Count + (current.Unseen > current.UnseenValues.Values.Sum() ? 1 : 0) : reference.Distinct;

    private static bool IsConstant(ColumnReference reference) => reference.ByValue ? reference.Categories!.Count <= 1 : reference.Min == reference.Max;

    private static double? Score(string method, ColumnReference reference, ColumnCounts current, IReadOnlyList<double>? rawCurrent)
    {
        switch (method)
        {
            case DriftMethod.KolmogorovSmirnov:
                if (!reference.IsNumeric) return null;
                if (reference.Values is { Count: > 0 } exact && rawCurrent is { Count: > 0 }) return DriftStatistics.KolmogorovSmirnov(exact, rawCurrent).PValue;
                var d = KsStatistic(reference, current);
                return DriftStatistics.KolmogorovSmirnovPValue(d, reference.NonMissing, current.NonMissing);
            case DriftMethod.Wasserstein:
                if (!reference.IsNumeric) return null;
                return Wasserstein(reference, current) / Math.Max(reference.Std ?? 0, 0.001);
            case DriftMethod.ProportionZ:
                var (r2, c2) = CategoryBins(reference, current);
                if (r2.Length != 2) return null; // the z-test compares one proportion: exactly two values
                return DriftStatistics.ProportionZ(r2[1], r2[0] + r2[1], c2[1], c2[0] + c2[1]).PValue;
            default:
                var (r, c) = reference.ByValue ? CategoryBins(reference, current) : DecileBins(reference, current);
                return method switch
                {
                    DriftMethod.ChiSquare => DriftStatistics.ChiSquare(r, c).PValue,
                    DriftMethod.JensenShannon => DriftStatistics.JensenShannon(r, c),
                    DriftMethod.Psi => DriftStatistics.Psi(r, c),
                    DriftMethod.Hellinger => DriftStatistics.Hellinger(r, c),
                    _ => null,
                };
        }
    }

    /// <summary>Reference and current counts per value: the reference's values in its order, then each unseen value (reference 0), then the unseen values not kept by name.</summary>
    public static (long[] Reference, long[] Current) CategoryBins(ColumnReference reference, ColumnCounts current)
    {
        var unseen = current.UnseenValues.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).ToList();
        var rest = current.Unseen - unseen.Sum(kv => kv.Value);
        var referenceCounts = reference.CategoryCounts!.Concat(reference.CategoriesTruncated ? [0L] : []).Concat(unseen.Select(_ => 0L)).Concat(rest > 0 ? [0L] : []).ToArray();
        var currentCounts = current.Counts.Concat(unseen.Select(kv => kv.Value)).Concat(rest > 0 ? [rest] : []).ToArray();
        if (reference.CategoriesTruncated)
        {
            // The "other" bin's reference count: rows in no listed category.
            referenceCounts[reference.Categories!.Count] = reference.NonMissing - reference.CategoryCounts!.Sum();
        }

        return (referenceCounts, currentCounts);
    }

    /// <summary>Percentile bins merged into the reference's deciles (every decile is one of the percentile edges).</summary>
    public static (long[] Reference, long[] Current) DecileBins(ColumnReference reference, ColumnCounts current)
    {
        var psi = reference.PsiEdges!;
        var r = new long[psi.Count + 1];
        var c = new long[psi.Count + 1];
        var edges = reference.Edges!;
        var coarse = 0;
        for (var fine = 0; fine < reference.Counts!.Count; fine++)
        {
            // Fine bin i ends at edges[i] (the last one at +∞); it belongs to the first decile bin whose edge is at or above that end.
            while (coarse < psi.Count && fine < edges.Count && psi[coarse] < edges[fine]) coarse++;
            if (fine >= edges.Count) coarse = psi.Count;
            r[coarse] += reference.Counts[fine];
            c[coarse] += current.Counts[fine];
        }

        return (r, c);
    }

    /// <summary>The largest gap between the reference's and the window's CDFs, at the bin edges (exact for counts per value).</summary>
    public static double KsStatistic(ColumnReference reference, ColumnCounts current)
    {
        var (points, r, c) = NumericSteps(reference, current);
        double rn = r.Sum(), cn = c.Sum(), fr = 0, fc = 0, d = 0;
        for (var i = 0; i < points.Length; i++)
        {
            fr += r[i] / rn;
            fc += c[i] / cn;
            d = Math.Max(d, Math.Abs(fr - fc));
        }

        return d;
    }

    /// <summary>
    /// First Wasserstein distance (the area between the CDFs). Per value: exact. Binned: each bin's values spread
    /// evenly between its edges, the outer bins bounded by the smallest and largest value seen (values beyond the
    /// reference's range spread between it and the window's extreme).
    /// </summary>
    public static double Wasserstein(ColumnReference reference, ColumnCounts current)
    {
        if (reference.ByValue)
        {
            var (points, r, c) = NumericSteps(reference, current);
            double rn = r.Sum(), cn = c.Sum(), fr = 0, fc = 0, area = 0;
            for (var i = 0; i < points.Length - 1; i++)
            {
                fr += r[i] / rn;
                fc += c[i] / cn;
                area += Math.Abs(fr - fc) * (points[i + 1] - points[i]);
            }

            return area;
        }

        // Piecewise-linear CDFs on shared breakpoints: both are linear between consecutive breakpoints.
        var refMin = reference.Min!.Value;
        var refMax = reference.Max!.Value;
        var curMin = current.Min ?? refMin;
        var curMax = current.Max ?? refMax;
        var edges = reference.Edges!;
        var breaks = new SortedSet<double> { Math.Min(refMin, curMin), refMin, refMax, Math.Max(refMax, curMax) };
        foreach (var e in edges) breaks.Add(e);
        var xs = breaks.ToArray();
        var fr0 = Cdf(xs, reference.Counts!, edges, refMin, refMax, null);
        var fc0 = Cdf(xs, current.Counts, edges, refMin, refMax, current);
        var total = 0.0;
        for (var i = 0; i < xs.Length - 1; i++)
        {
            double a = fr0[i] - fc0[i], b = fr0[i + 1] - fc0[i + 1], w = xs[i + 1] - xs[i];
            // ∫|linear| over the segment, splitting where it crosses zero.
            total += a * b >= 0 ? Math.Abs(a + b) / 2 * w : (a * a + b * b) / (2 * Math.Abs(a - b)) * w;
        }

        return total;
    }

    /// <summary>A binned side's CDF at each breakpoint, values spread evenly inside their bins.</summary>
    private static double[] Cdf(double[] xs, IReadOnlyList<long> counts, IReadOnlyList<double> edges, double refMin, double refMax, ColumnCounts? current)
    {
        // Segments [lo, hi] with a mass each: the bins, bin 0 from the minimum, the last to the maximum; for the window,
        // its values below / above the reference's range form their own segments out to its extremes.
        var segments = new List<(double Lo, double Hi, double Mass)>();
        var total = (double)counts.Sum();
        for (var b = 0; b < counts.Count; b++)
        {
            var lo = b == 0 ? refMin : edges[b - 1];
            var hi = b == counts.Count - 1 ? refMax : edges[b];
            double mass = counts[b];
            if (current is not null && b == 0 && current.Below > 0)
            {
                segments.Add((current.Min!.Value, refMin, current.Below));
                mass -= current.Below;
            }

            if (current is not null && b == counts.Count - 1 && current.Above > 0)
            {
                segments.Add((refMax, current.Max!.Value, current.Above));
                mass -= current.Above;
            }

            segments.Add((lo, Math.Max(lo, hi), Math.Max(0, mass)));
        }

        var cdf = new double[xs.Length];
        if (total == 0) return cdf;
        for (var i = 0; i < xs.Length; i++)
        {
            var x = xs[i];
            var below = 0.0;
            foreach (var (lo, hi, mass) in segments)
            {
                if (x >= hi) below += mass;
                else if (x > lo) below += mass * (x - lo) / (hi - lo);
            }

            cdf[i] = below / total;
        }

        return cdf;
    }

    /// <summary>The numeric points (sorted) with the reference's and window's counts at each: values when counted per value, bin ends otherwise.</summary>
    private static (double[] Points, long[] Reference, long[] Current) NumericSteps(ColumnReference reference, ColumnCounts current)
    {
        if (!reference.ByValue)
        {
            var ends = reference.Edges!.Append(double.PositiveInfinity).ToArray();
            return (ends, [.. reference.Counts!], [.. current.Counts]);
        }

        var points = new SortedDictionary<double, (long R, long C)>();
        for (var i = 0; i < reference.Categories!.Count; i++)
        {
            var x = double.Parse(reference.Categories[i], CultureInfo.InvariantCulture);
            points[x] = (reference.CategoryCounts![i], current.Counts[i]);
        }

        foreach (var (value, n) in current.UnseenValues)
        {
            if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var x)) continue;
            var (r, c) = points.GetValueOrDefault(x);
            points[x] = (r, c + n);
        }

        return ([.. points.Keys], [.. points.Values.Select(v => v.R)], [.. points.Values.Select(v => v.C)]);
    }

    /// <summary>A column's data quality in a window.</summary>
    public static ColumnQuality Quality(MonitoredColumn column, ColumnCounts current)
    {
        var reference = column.Reference;
        var unseen = current.UnseenValues.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal)
            .Take(ListedUnseenValues).Select(kv => new ValueCount(kv.Key, kv.Value)).ToList();
        return new ColumnQuality(column.Name, column.Kind, column.Type, current.Rows, current.Missing,
            reference.Rows == 0 ? 0 : (double)reference.Missing / reference.Rows, current.Unseen, unseen, current.Below, current.Above, reference.Min, reference.Max);
    }

    /// <summary>Reference and window counts per bin with a label each, for the histograms.</summary>
    public static ColumnDistribution Distribution(MonitoredColumn column, ColumnCounts current)
    {
        var reference = column.Reference;
        if (reference.ByValue)
        {
            var (r, c) = CategoryBins(reference, current);
            var unseen = current.UnseenValues.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Key).ToList();
            var labels = reference.Categories!.Concat(reference.CategoriesTruncated ? ["(other)"] : []).Concat(unseen)
                .Concat(r.Length > reference.BinCount + unseen.Count ? ["(other unseen)"] : []).ToList();
            var isUnseen = labels.Select((_, i) => i >= reference.BinCount).ToList();
            return new ColumnDistribution(column.Name, column.Kind, column.Type, labels, null, r, c, isUnseen);
        }

        var edges = reference.Edges!;
        var names = Enumerable.Range(0, reference.Counts!.Count).Select(b =>
            b == 0 ? $"≤ {Short(edges[0])}" : b == edges.Count ? $"> {Short(edges[^1])}" : $"{Short(edges[b - 1])} – {Short(edges[b])}").ToList();
        return new ColumnDistribution(column.Name, column.Kind, column.Type, names, edges, [.. reference.Counts], [.. current.Counts], [.. names.Select(_ => false)]);
    }

    private static string Short(double x) => x.ToString("G4", CultureInfo.InvariantCulture);
}
