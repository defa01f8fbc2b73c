using System.Globalization;

namespace FraudWorkbench.Core.Explain;

/// <summary>
/// The numbers behind the explanation charts (beeswarm, dependence, bar charts): computed here, without a page or a
/// plotting library, so they can be checked by hand. The web project only draws them.
/// </summary>
public static class ExplanationPlots
{
    private static bool TryNumber(string? text, out double value) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value) && double.IsFinite(value);

    /// <summary>Whether a column's raw cells are numbers: at least one value, and every non-missing one parses (invariant culture).</summary>
    public static bool IsNumeric(IReadOnlyList<string?> values) => values.Any(v => v is not null) && values.All(v => v is null || TryNumber(v, out _));

    /// <summary>
    /// Each value's rank within its column scaled to [0, 1] (0 the lowest, 1 the highest, ties share their mean rank; a single
    /// distinct value is 0.5). Null for a missing value, and for every value of a column that is not numeric.
    /// </summary>
    public static double?[] ValueRanks(IReadOnlyList<string?> values)
    {
        var ranks = new double?[values.Count];
        if (!IsNumeric(values)) return ranks;
        var numbers = values.Select((v, i) => (Index: i, Ok: TryNumber(v, out var x), Value: x)).Where(p => p.Ok).OrderBy(p => p.Value).ToList();
        var last = numbers.Count - 1;
        for (var start = 0; start < numbers.Count;)
        {
            var end = start;
            while (end + 1 < numbers.Count && numbers[end + 1].Value == numbers[start].Value) end++;
            var rank = last == 0 ? 0.5 : (start + end) / 2.0 / last;
            for (var k = start; k <= end; k++) ranks[numbers[k].Index] = rank;
            start = end + 1;
        }

        return ranks;
    }

    /// <summary>Categorical values as indices 0..n−1 of their distinct values in ordinal order, a missing value as "(missing)" last.</summary>
    public static (double[] X, IReadOnlyList<string> Categories) CategoryIndex(IReadOnlyList<string?> values)
    {
        const string Missing = "(missing)";
        var categories = values.OfType<string>().Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        if (values.Any(v => v is null)) categories.Add(Missing);
        var index = categories.Select((c, i) => (c, i)).ToDictionary(p => p.c, p => (double)p.i, StringComparer.Ordinal);
        return ([.. values.Select(v => index[v ?? Missing])], categories);
    }

    /// <summary>Columns by mean |contribution|, largest first (ties by name), at most <paramref name="top"/>.</summary>
    public static IReadOnlyList<(string Name, double Value)> MeanAbsoluteBars(IReadOnlyList<ColumnSummary> columns, int top = 15) =>
        [.. columns.OrderByDescending(c => c.MeanAbsolute).ThenBy(c => c.Column, StringComparer.Ordinal).Take(top).Select(c => (c.Column, c.MeanAbsolute))];

    /// <summary>Inputs by PR-AUC drop, largest first (ties by name), at most <paramref name="top"/>.</summary>
    public static IReadOnlyList<PermutationImportance> PermutationBars(IReadOnlyList<PermutationImportance> items, int top = 15) =>
        [.. items.OrderByDescending(p => p.Drop).ThenBy(p => p.Input, StringComparer.Ordinal).Take(top)];

    /// <summary><paramref name="max"/> indices spread evenly over 0..<paramref name="count"/>−1 (all of them when there are no more).</summary>
    public static int[] EvenSample(int count, int max) =>
        count <= max ? [.. Enumerable.Range(0, count)] : [.. Enumerable.Range(0, max).Select(i => (int)((long)i * count / max))];

    /// <summary>
    /// Vertical offsets for a beeswarm row: uniform jitter from a fixed seed, scaled by how crowded the point's stretch of the
    /// x axis is (<paramref name="bins"/> equal bins over the points' range), so a dense region spreads up to
    /// ±<paramref name="spread"/> and a lone point stays near the line.
    /// </summary>
    public static double[] SwarmOffsets(IReadOnlyList<double> xs, double spread = 0.38, int seed = 7, int bins = 30)
    {
        var offsets = new double[xs.Count];
        if (xs.Count == 0) return offsets;
        var crowding = SwarmCrowding(xs, bins);
        var random = new Random(seed);
        for (var i = 0; i < xs.Count; i++) offsets[i] = (random.NextDouble() * 2 - 1) * spread * crowding[i];
        return offsets;
    }

    /// <summary>
    /// How crowded each point's stretch of the x axis is, in (0, 1]: the count of its bin (<paramref name="bins"/> equal bins
    /// from the smallest to the largest x, the largest x in the last bin) over the count of the fullest bin.
    /// </summary>
    public static double[] SwarmCrowding(IReadOnlyList<double> xs, int bins = 30)
    {
        var crowding = new double[xs.Count];
        if (xs.Count == 0) return crowding;
        double low = xs.Min(), high = xs.Max(), width = high - low;
        int Bin(double x) => width <= 0 ? 0 : Math.Min(bins - 1, (int)((x - low) / width * bins));
        var counts = new int[bins];
        foreach (var x in xs) counts[Bin(x)]++;
        double most = counts.Max();
        for (var i = 0; i < xs.Count; i++) crowding[i] = counts[Bin(xs[i])] / most;
        return crowding;
    }

    /// <summary>
    /// The points of a dependence plot: x the row's value (numbers parsed; categories as <see cref="CategoryIndex"/> indices,
    /// named in <c>Categories</c>), y the contribution. For a numeric column a missing value has no x: those rows are counted in
    /// <c>Missing</c> and left out.
    /// </summary>
    public static (double[] X, double[] Y, IReadOnlyList<string>? Categories, int Missing) DependencePoints(ColumnSummary column)
    {
        var values = column.Points.Select(p => p.Value).ToList();
        if (IsNumeric(values))
        {
            var present = column.Points.Where(p => p.Value is not null).ToList();
            return ([.. present.Select(p => double.Parse(p.Value!, NumberStyles.Float, CultureInfo.InvariantCulture))], [.. present.Select(p => p.Contribution)], null, column.Points.Count - present.Count);
        }

        var (x, categories) = CategoryIndex(values);
        return (x, [.. column.Points.Select(p => p.Contribution)], categories, 0);
    }
}
