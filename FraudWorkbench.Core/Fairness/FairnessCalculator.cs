namespace FraudWorkbench.Core.Fairness;

/// <summary>
/// Group metrics and disparities as Fairlearn defines them (<c>MetricFrame</c>, <c>demographic_parity_*</c>,
/// <c>equalized_odds_*</c> with both aggregations, <c>equal_opportunity_*</c>; see ../shared/REFERENCE.md), with
/// percentile bootstrap intervals on every number. Unlike Fairlearn, which resamples all rows together, each resample
/// draws every group's rows from that group only, so a small group keeps its size and its interval means something.
/// A resample draws cell counts, not rows (<see cref="FairnessCells"/>): its cost follows the number of score bins and
/// groups, not the number of rows, while the point values are computed from the rows themselves.
/// </summary>
/// <remarks>
/// A metric undefined for a group (no fraud for the true positive rate, nothing flagged for precision) is null and the
/// group is left out of that metric's disparities; so is every group below <see cref="FairnessSettings.MinGroupSize"/>.
/// A disparity needs two groups to compare: with fewer it is null (Fairlearn would answer 0, which reads as "fair").
/// </remarks>
public static class FairnessCalculator
{
    private static readonly string[] Metrics = [.. FairnessMetric.All];

    /// <param name="maxParallelism">Cores the resamples may use (-1: all); the results do not depend on it.</param>
    public static GroupingFairness Evaluate(
        Grouping grouping, IReadOnlyList<bool> labels, IReadOnlyList<double> scores, double threshold, FairnessSettings settings, int maxParallelism = -1) =>
        Evaluate(grouping, labels, scores, threshold, settings, maxParallelism, FairnessCells.DefaultBins);

    /// <summary>As above, with the rows already in score order: several groupings of the same rows share one sort.</summary>
    public static GroupingFairness Evaluate(
        Grouping grouping, FairnessCells.ScoreOrder sorted, double threshold, FairnessSettings settings, int maxParallelism = -1) =>
        Evaluate(grouping, sorted, threshold, settings, maxParallelism, FairnessCells.DefaultBins);

    /// <param name="bins">Score bins of the resampled cells (<see cref="FairnessCells"/>); the point values do not depend on it.</param>
    internal static GroupingFairness Evaluate(
        Grouping grouping, IReadOnlyList<bool> labels, IReadOnlyList<double> scores, double threshold, FairnessSettings settings, int maxParallelism, int bins)
    {
        if (labels.Count != scores.Count || grouping.Of.Length != scores.Count) throw new ArgumentException("Labels, scores and groups must have one entry per row.");
        return Evaluate(grouping, FairnessCells.ScoreOrder.Of(labels, scores), threshold, settings, maxParallelism, bins);
    }

    internal static GroupingFairness Evaluate(Grouping grouping, FairnessCells.ScoreOrder sorted, double threshold, FairnessSettings settings, int maxParallelism, int bins)
    {
        var groups = grouping.Count;
        var cells = FairnessCells.Build(grouping, sorted, threshold, bins);
        var point = cells.Exact;
        var sizes = cells.Sizes;
        var eligible = Enumerable.Range(0, groups).Select(g => sizes[g] >= settings.MinGroupSize).ToArray();
        var disparities = Disparities(point, eligible, grouping.Labels);

        // Resamples on every core, each from its own seed, so the intervals are the same however the work is split.
        var samples = new (double?[,] Values, double?[] Disparities)[settings.Resamples];
        Parallel.For(0, settings.Resamples, new ParallelOptions { MaxDegreeOfParallelism = maxParallelism }, () => new FairnessCells.Workspace(cells), (b, _, workspace) =>
        {
            var random = new Random(unchecked((settings.Seed * 1_000_003) + b));
            cells.Resample(random, workspace.Drawn);
            var values = cells.Resampled(workspace, random);
            samples[b] = (values, [.. Disparities(values, eligible, grouping.Labels).Select(d => d.Value.Value)]);
            return workspace;
        }, _ => { });

        var alpha = (1 - settings.Confidence) / 2;
        FairnessValue Interval(double? value, Func<int, double?> sample) =>
            samples.Length == 0 || value is null ? new FairnessValue(value) : Bounds(value, Enumerable.Range(0, samples.Length).Select(sample), alpha);

        var total = grouping.Of.Length;
        GroupMetrics Group(int g, string name) => new(name, g < groups ? sizes[g] : total, total == 0 ? 0 : (g < groups ? (double)sizes[g] : total) / total, cells.Fraud[g],
            g < groups && !eligible[g] ? $"fewer than {settings.MinGroupSize} rows" : null,
            Metrics.Select((m, k) => (m, k)).ToDictionary(x => x.m, x => Interval(point[g, x.k], b => samples[b].Values[g, x.k])));

        var withIntervals = disparities.Select((d, i) => d with { Value = Interval(d.Value.Value, b => samples[b].Disparities[i]) }).ToList();
        var dpRatio = withIntervals.First(d => d.Name == DisparityName.DemographicParity && d.Kind == DisparityName.Ratio && d.Method == DisparityName.BetweenGroups).Value.Value;
        return new GroupingFairness(grouping.Name, grouping.Bucketed, Group(groups, "overall"),
            [.. Enumerable.Range(0, groups).Select(g => Group(g, grouping.Labels[g]))], withIntervals,
            dpRatio is { } ratio ? ratio < FairnessSettings.FourFifthsRule : null);
    }

    /// <summary>The percentile interval of the resampled values (numpy's linear interpolation), ignoring resamples where the value was undefined.</summary>
    public static FairnessValue Bounds(double? value, IEnumerable<double?> resampled, double alpha)
    {
        var sorted = resampled.OfType<double>().ToArray();
        Array.Sort(sorted);
        return sorted.Length == 0 ? new FairnessValue(value) : new FairnessValue(value, Quantile(sorted, alpha), Quantile(sorted, 1 - alpha));
    }

    public static double Quantile(double[] sorted, double q)
    {
        var h = (sorted.Length - 1) * q;
        var low = (int)Math.Floor(h);
        return low + 1 < sorted.Length ? sorted[low] + (h - low) * (sorted[low + 1] - sorted[low]) : sorted[low];
    }

    /// <summary>Every disparity, point values only, from one pass's group values.</summary>
    private static List<Disparity> Disparities(double?[,] values, bool[] eligible, IReadOnlyList<string> labels)
    {
        var overall = eligible.Length;
        var selection = Compare(values, eligible, Array.IndexOf(Metrics, FairnessMetric.SelectionRate));
        var tpr = Compare(values, eligible, Array.IndexOf(Metrics, FairnessMetric.TruePositiveRate));
        var fpr = Compare(values, eligible, Array.IndexOf(Metrics, FairnessMetric.FalsePositiveRate));
        var list = new List<Disparity>();
        foreach (var method in new[] { DisparityName.BetweenGroups, DisparityName.ToOverall })
        {
            var between = method == DisparityName.BetweenGroups;
            Add(DisparityName.DemographicParity, null, selection, between);
            Add(DisparityName.EqualOpportunity, null, tpr, between);
            foreach (var aggregation in new[] { DisparityName.WorstCase, DisparityName.Mean })
            {
                var worse = (tpr.Difference(between) ?? -1) >= (fpr.Difference(between) ?? -1) ? tpr : fpr;
                list.Add(new Disparity(DisparityName.EqualizedOdds, DisparityName.Difference, method, aggregation,
                    new FairnessValue(Combine(tpr.Difference(between), fpr.Difference(between), aggregation == DisparityName.WorstCase ? Math.Max : Mean)),
                    Name(worse.Highest), Name(worse.Lowest)));
                list.Add(new Disparity(DisparityName.EqualizedOdds, DisparityName.Ratio, method, aggregation,
                    new FairnessValue(Combine(tpr.Ratio(between), fpr.Ratio(between), aggregation == DisparityName.WorstCase ? Math.Min : Mean)),
                    Name(worse.Highest), Name(worse.Lowest)));
            }
        }

        return list;

        void Add(string name, string? aggregation, Comparison c, bool between)
        {
            var method = between ? DisparityName.BetweenGroups : DisparityName.ToOverall;
            list.Add(new Disparity(name, DisparityName.Difference, method, aggregation, new FairnessValue(c.Difference(between)), Name(c.Highest), Name(c.Lowest)));
            list.Add(new Disparity(name, DisparityName.Ratio, method, aggregation, new FairnessValue(c.Ratio(between)), Name(c.Highest), Name(c.Lowest)));
        }

        string? Name(int group) => group < 0 || group >= overall ? null : labels[group];
    }

    private static double Mean(double a, double b) => (a + b) / 2;

    private static double? Combine(double? a, double? b, Func<double, double, double> how) => a is { } x && b is { } y ? how(x, y) : null;

    private static Comparison Compare(double?[,] values, bool[] eligible, int metric)
    {
        var groups = new List<(int Group, double Value)>();
        for (var g = 0; g < eligible.Length; g++)
        {
            if (eligible[g] && values[g, metric] is { } v) groups.Add((g, v));
        }

        return new Comparison(groups, values[eligible.Length, metric]);
    }

    /// <summary>The groups that can be compared on one metric, and the metric over all rows (highest and lowest found once: every resample asks for them many times).</summary>
    private sealed class Comparison
    {
        private readonly int count;
        private readonly double max = double.NegativeInfinity;
        private readonly double min = double.PositiveInfinity;
        private readonly double worstToOverall;
        private readonly double? overall;

        public Comparison(List<(int Group, double Value)> groups, double? overall)
        {
            (count, this.overall, Highest, Lowest) = (groups.Count, overall, -1, -1);
            if (count < 2) return;
            foreach (var (group, value) in groups)
            {
                // Strict comparisons keep the first group on ties, as MaxBy and MinBy did.
                if (value > max) (max, Highest) = (value, group);
                if (value < min) (min, Lowest) = (value, group);
            }

            if (overall is { } o)
            {
                worstToOverall = 0;
                foreach (var (_, value) in groups) worstToOverall = Math.Max(worstToOverall, Math.Abs(value - o));
            }
        }

        public int Highest { get; }

        public int Lowest { get; }

        public double? Difference(bool between)
        {
            if (count < 2) return null;
            if (between) return max - min;
            return overall is not null ? worstToOverall : null;
        }

        public double? Ratio(bool between)
        {
            if (count < 2) return null;
            if (between) return max > 0 ? min / max : null;

            // Fairlearn's to_overall ratio: each group / overall, inverted where above 1, the smallest.
            if (overall is not { } o || o <= 0) return null;
            return Math.Min(min / o, max == 0 ? 0 : o / max);
        }
    }
}
