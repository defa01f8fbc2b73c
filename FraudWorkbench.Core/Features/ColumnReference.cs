using System.Globalization;
using FraudWorkbench.Core.Data;

namespace FraudWorkbench.Core.Features;

/// <summary>
/// A raw column's values on the rows a feature set was fitted on, kept for monitoring: what live transactions
/// are compared with. Categories (and numbers with at most <see cref="ColumnReferenceBuilder.MaxValueBins"/>
/// distinct values) keep every value's count; other numbers keep <see cref="ColumnReferenceBuilder.FineBins"/>
/// quantile bins, and the exact values when the reference is small (for an exact Kolmogorov-Smirnov test).
/// </summary>
/// <param name="Role">The column's role in the dataset (feature, protected, ignore).</param>
/// <param name="IsInput">True when a feature of the set reads the column.</param>
/// <param name="Rows">Reference rows, missing values included.</param>
/// <param name="Categories">The values, most frequent first (numbers formatted as <see cref="ColumnReferenceBuilder.Format"/>); null for binned numbers.</param>
/// <param name="CategoryCounts">Rows per category.</param>
/// <param name="CategoriesTruncated">More distinct values than kept: values not in the list may be rare ones, not unseen.</param>
/// <param name="Edges">Inner edges of the quantile bins (−∞, e0], (e0, e1], …, (eN, ∞); null for categories.</param>
/// <param name="Counts">Rows per quantile bin, one more than the edges.</param>
/// <param name="BinSums">The sum of each quantile bin's values: with them the area between two CDFs over a bin is exact (Wasserstein).</param>
/// <param name="PsiEdges">The deciles among <paramref name="Edges"/>: PSI's fixed bins (each is one of the fine edges, so fine counts merge into them exactly).</param>
/// <param name="Distinct">Distinct non-missing values, counted up to <see cref="ColumnReferenceBuilder.MaxValueBins"/> + 1.</param>
/// <param name="Values">Every non-missing value, sorted, when the reference has at most <see cref="ColumnReferenceBuilder.ExactValuesUpTo"/> rows.</param>
public sealed record ColumnReference(
    string Name, string Type, string Role, bool IsInput, long Rows, long Missing,
    IReadOnlyList<string>? Categories, IReadOnlyList<long>? CategoryCounts, bool CategoriesTruncated,
    IReadOnlyList<double>? Edges, IReadOnlyList<long>? Counts, IReadOnlyList<double>? PsiEdges,
    double? Min, double? Max, double? Mean, double? Std, long Distinct, IReadOnlyList<double>? Values, IReadOnlyList<double>? BinSums = null)
{
    public bool IsNumeric => ColumnType.IsNumeric(Type);

    /// <summary>True when the column's values are counted per value (categories, booleans, numbers with few values).</summary>
    public bool ByValue => Categories is not null;

    /// <summary>Bins current values are counted into: one per category or one per quantile bin.</summary>
    public int BinCount => ByValue ? Categories!.Count + (CategoriesTruncated ? 1 : 0) : Counts!.Count;

    public long NonMissing => Rows - Missing;

    /// <summary>The category of a raw value (null when missing) as this reference counts it.</summary>
    public string? Category(string? raw) => ColumnReferenceBuilder.Normalise(Type, raw);

    /// <summary>The number of a raw value, null when missing or not a number.</summary>
    public static double? Number(string? raw) => Featurizer.TryNumber(raw, out var x) && double.IsFinite(x) ? x : null;

    /// <summary>The quantile bin of <paramref name="value"/>: bins are closed on the right, as the edges were cut.</summary>
    public int Bin(double value)
    {
        var edges = Edges!;
        int lo = 0, hi = edges.Count;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (edges[mid] < value) lo = mid + 1;
            else hi = mid;
        }

        return lo;
    }
}

public static class ColumnReferenceBuilder
{
    /// <summary>Quantile bins per binned numeric column (half a percent of the reference each), before the finer tails.</summary>
    public const int FineBins = 200;

    /// <summary>
    /// Extra cut points in the tails, where heavy-tailed columns (amounts) spread a half-percent bin over most of their
    /// range: Wasserstein weighs distance, so the tails carry most of the binning error.
    /// </summary>
    public static readonly IReadOnlyList<double> TailQuantiles = [0.0001, 0.0005, 0.001, 0.002, 0.998, 0.999, 0.9995, 0.9999];

    /// <summary>Numbers with at most this many distinct values (ages, counts, small integers) are counted per value: exact for every test.</summary>
    public const int MaxValueBins = 100;

    /// <summary>Categories kept per column; more distinct values than this and the rest count as one "other" bin.</summary>
    public const int MaxCategories = 1_000;

    /// <summary>References up to this many rows keep their exact values: Evidently tests them with KS.</summary>
    public const int ExactValuesUpTo = 1_000;

    /// <summary>Whether a column of this type and role is monitored: not ids or free text, not the event time, entity keys or the label.</summary>
    public static bool IsMonitored(DatasetColumn column) =>
        column.Role is ColumnRole.Feature or ColumnRole.Protected or ColumnRole.Ignore
        && column.Type is ColumnType.Integer or ColumnType.Decimal or ColumnType.Boolean or ColumnType.Categorical;

    public static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>A raw value as a category: trimmed text, booleans as true/false, numbers in one spelling; null when missing.</summary>
    public static string? Normalise(string type, string? raw)
    {
        if (raw is null || CsvFile.IsMissing(raw)) return null;
        return type switch
        {
            ColumnType.Boolean => ValueParsing.TryBoolean(raw, out var b) ? (b ? "true" : "false") : null,
            ColumnType.Integer or ColumnType.Decimal => ColumnReference.Number(raw) is { } x ? Format(x) : null,
            _ => raw.Trim(),
        };
    }

    /// <summary>The references of every monitored column of <paramref name="set"/>'s schema from the raw rows it was fitted on.</summary>
    public static IReadOnlyList<ColumnReference> Build(FittedFeatureSet set, IReadOnlyList<string?[]> rows)
    {
        var inputs = set.Features.SelectMany(f => new[] { f.Spec.Column, f.Spec.Other }).OfType<string>().ToHashSet(StringComparer.Ordinal);
        var result = new List<ColumnReference>();
        for (var c = 0; c < set.Schema.Columns.Count; c++)
        {
            var column = set.Schema.Columns[c];
            if (!IsMonitored(column)) continue;
            var index = c;
            result.Add(Build(column, inputs.Contains(column.Name), rows.Select(r => r[index])));
        }

        return result;
    }

    public static ColumnReference Build(DatasetColumn column, bool isInput, IEnumerable<string?> raw)
    {
        long rows = 0, missing = 0;
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        var numbers = new List<double>();
        var numeric = ColumnType.IsNumeric(column.Type);
        foreach (var value in raw)
        {
            rows++;
            var category = Normalise(column.Type, value);
            if (category is null)
            {
                missing++;
                continue;
            }

            if (numeric) numbers.Add(ColumnReference.Number(value)!.Value);
            // Past a limit the per-value counts are not needed for numbers (they are binned) and capped for categories below.
            if (!numeric || counts.Count <= MaxValueBins) counts[category] = counts.GetValueOrDefault(category) + 1;
        }

        if (!numeric || counts.Count <= MaxValueBins)
        {
            var ordered = counts.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).ToList();
            var kept = ordered.Take(MaxCategories).ToList();
            var stats = numeric ? Moments(numbers) : default;
            return new ColumnReference(column.Name, column.Type, column.Role, isInput, rows, missing,
                [.. kept.Select(kv => kv.Key)], [.. kept.Select(kv => kv.Value)], ordered.Count > MaxCategories,
                null, null, null, stats.Min, stats.Max, stats.Mean, stats.Std, counts.Count,
                numeric && rows <= ExactValuesUpTo ? [.. numbers.Order()] : null);
        }

        return Binned(column.Name, column.Type, column.Role, isInput, rows, missing, numbers);
    }

    /// <summary>Quantile bins of numbers (also the validation scores' reference for score drift).</summary>
    public static ColumnReference Binned(string name, string type, string role, bool isInput, long rows, long missing, IReadOnlyList<double> numbers)
    {
        var sorted = numbers.Order().ToArray();
        var edges = new List<double>();
        var psi = new List<double>();
        var cuts = Enumerable.Range(1, FineBins - 1).Select(k => (double)k / FineBins).Concat(TailQuantiles).Order().ToList();
        foreach (var p in cuts)
        {
            var edge = DatasetProfiler.Quantile(sorted, p);
            if (edges.Count == 0 || edge > edges[^1]) edges.Add(edge);
            // Deciles are the same quantiles as the fine cuts k / FineBins, so each is one of the fine edges.
            if (Math.Abs(p * 10 - Math.Round(p * 10)) < 1e-9 && (psi.Count == 0 || edge > psi[^1])) psi.Add(edge);
        }

        // No empty last bin: the maximum closes the last edge's bin.
        if (edges.Count > 0 && edges[^1] >= sorted[^1]) edges.RemoveAt(edges.Count - 1);
        if (psi.Count > 0 && psi[^1] >= sorted[^1]) psi.RemoveAt(psi.Count - 1);
        var reference = new ColumnReference(name, type, role, isInput, rows, missing, null, null, false, edges, null, psi,
            null, null, null, null, MaxValueBins + 1, null);
        var counts = new long[edges.Count + 1];
        var sums = new double[edges.Count + 1];
        foreach (var x in sorted)
        {
            var bin = reference.Bin(x);
            counts[bin]++;
            sums[bin] += x;
        }

        var stats = Moments(sorted);
        long distinct = 0;
        for (var i = 0; i < sorted.Length && distinct <= MaxValueBins; i++) if (i == 0 || sorted[i] != sorted[i - 1]) distinct++;
        return reference with
        {
            Counts = counts, BinSums = sums, Min = stats.Min, Max = stats.Max, Mean = stats.Mean, Std = stats.Std, Distinct = distinct,
            Values = rows <= ExactValuesUpTo ? sorted : null,
        };
    }

    /// <summary>Minimum, maximum, mean and population standard deviation (Evidently norms Wasserstein by numpy's default std).</summary>
    private static (double? Min, double? Max, double? Mean, double? Std) Moments(IReadOnlyList<double> values)
    {
        if (values.Count == 0) return default;
        double mean = 0, m2 = 0, min = double.PositiveInfinity, max = double.NegativeInfinity;
        for (var i = 0; i < values.Count; i++)
        {
            var x = values[i];
            var delta = x - mean;
            mean += delta / (i + 1);
            m2 += delta * (x - mean);
            min = Math.Min(min, x);
            max = Math.Max(max, x);
        }

        return (min, max, mean, Math.Sqrt(m2 / values.Count));
    }
}
