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
        var method = MethodFor(reference, current, settings);
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

    /// <summary>
    /// The test a column is judged by: the configured one, else Evidently's automatic choice from the distinct values
    /// over the reference and the window (the reference's alone when <paramref name="current"/> is null, as a settings form shows it).
    /// </summary>
    public static string MethodFor(ColumnReference reference, ColumnCounts? current, ColumnDriftSettings settings) =>
        settings.Method ?? DriftMethod.Choose(reference.Rows, reference.IsNumeric, DistinctValues(reference, current));

    /// <summary>Distinct values over the reference and the window, as Evidently counts them to choose a test (capped for binned numbers).</summary>
    public static long DistinctValues(ColumnReference reference, ColumnCounts? current) =>
        !reference.ByValue ? reference.Distinct
        : current is null ? reference.Categories!.Count
        : reference.Categories!.Count + current.UnseenValues.Count + (current.Unseen > current.UnseenValues.Values.Sum() ? 1 : 0);

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
            double rTotal = r.Sum(), cTotal = c.Sum(), rCdf = 0, cCdf = 0, area = 0;
            for (var i = 0; i < points.Length - 1; i++)
            {
                rCdf += r[i] / rTotal;
                cCdf += c[i] / cTotal;
                area += Math.Abs(rCdf - cCdf) * (points[i + 1] - points[i]);
            }

            return area;
        }

        // Per bin [a, b] holding all its values on both sides, ∫ₐᵇ F = F(a)·(b − a) + (count·b − sum) / N exactly, from
        // the bin's count and sum. The area between the CDFs over the bin is |∫(Fr − Fc)| unless they cross inside
        // it; where the gap changes sign between the bin's ends, the values are taken as spread evenly.
        var edges = reference.Edges!;
        var last = reference.Counts!.Count - 1;
        var lo = Math.Min(reference.Min!.Value, current.Min ?? reference.Min.Value);
        var hi = Math.Max(reference.Max!.Value, current.Max ?? reference.Max.Value);
        double rn = reference.Counts.Sum(), cn = current.Counts.Sum(), fr = 0, fc = 0, total = 0;
        for (var b = 0; b <= last; b++)
        {
            var start = b == 0 ? lo : edges[b - 1];
            var end = b == last ? hi : edges[b];
            double rc = reference.Counts[b], cc = current.Counts[b];
            var rs = reference.BinSums is { } referenceSums ? referenceSums[b] : rc * (start + end) / 2;
            var cs = current.Sums.Length > 0 ? current.Sums[b] : cc * (start + end) / 2;
            double frEnd = fr + rc / rn, fcEnd = fc + cc / cn, width = end - start;
            if (width > 0)
            {
                double gapStart = fr - fc, gapEnd = frEnd - fcEnd;
                if (gapStart * gapEnd >= 0)
                {
                    var areaR = fr * width + (rc * end - rs) / rn;
                    var areaC = fc * width + (cc * end - cs) / cn;
                    total += Math.Abs(areaR - areaC);
                }
                else
                {
                    total += (gapStart * gapStart + gapEnd * gapEnd) / (2 * Math.Abs(gapStart - gapEnd)) * width;
                }
            }

            (fr, fc) = (frEnd, fcEnd);
        }

        return total;
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

    /// <summary>A bin edge as a short label: no exponents (scores near 0 read 0.0001, not 5.331E-05), four significant digits at most.</summary>
    private static string Short(double x)
    {
        var magnitude = Math.Abs(x);
        var format = magnitude >= 1000 ? "#,0" : magnitude >= 100 ? "0.#" : magnitude >= 1 ? "0.##" : magnitude >= 0.01 ? "0.###" : "0.####";
        return x.ToString(format, CultureInfo.InvariantCulture);
    }
}
