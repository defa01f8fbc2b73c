namespace FraudWorkbench.Core.Fairness;

/// <summary>
/// Group metrics and disparities as Fairlearn defines them (<c>MetricFrame</c>, <c>demographic_parity_*</c>,
/// <c>equalized_odds_*</c> with both aggregations, <c>equal_opportunity_*</c>; see ../shared/REFERENCE.md), with
/// percentile bootstrap intervals on every number. Unlike Fairlearn, which resamples all rows together, each resample
/// draws every group's rows from that group only, so a small group keeps its size and its interval means something.
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
        Grouping grouping, IReadOnlyList<bool> labels, IReadOnlyList<double> scores, double threshold, FairnessSettings settings, int maxParallelism = -1)
    {
        if (labels.Count != scores.Count || grouping.Of.Length != scores.Count) throw new ArgumentException("Labels, scores and groups must have one entry per row.");
        var groups = grouping.Count;
        var pass = new Pass(grouping, labels, scores, threshold);
        var point = pass.Run(null);
        var sizes = pass.Sizes;
        var eligible = Enumerable.Range(0, groups).Select(g => sizes[g] >= settings.MinGroupSize).ToArray();
        var disparities = Disparities(point, eligible, grouping.Labels);

        // Resamples on every core, each from its own seed, so the intervals are the same however the work is split.
        var samples = new (double?[,] Values, double?[] Disparities)[settings.Resamples];
        Parallel.For(0, settings.Resamples, new ParallelOptions { MaxDegreeOfParallelism = maxParallelism }, () => new int[scores.Count], (b, _, weights) =>
        {
            Resample(sizes, new Random(unchecked((settings.Seed * 1_000_003) + b)), weights);
            var values = pass.Run(weights);
            samples[b] = (values, [.. Disparities(values, eligible, grouping.Labels).Select(d => d.Value.Value)]);
            return weights;
        }, _ => { });

        var alpha = (1 - settings.Confidence) / 2;
        FairnessValue Interval(double? value, Func<int, double?> sample) =>
            samples.Length == 0 || value is null ? new FairnessValue(value) : Bounds(value, Enumerable.Range(0, samples.Length).Select(sample), alpha);

        var total = scores.Count;
        GroupMetrics Group(int g, string name) => new(name, g < groups ? sizes[g] : total, total == 0 ? 0 : (g < groups ? (double)sizes[g] : total) / total, pass.Fraud(g),
            g < groups && !eligible[g] ? $"fewer than {settings.MinGroupSize} rows" : null,
            Metrics.Select((m, k) => (m, k)).ToDictionary(x => x.m, x => Interval(point[g, x.k], b => samples[b].Values[g, x.k])));

        var withIntervals = disparities.Select((d, i) => d with { Value = Interval(d.Value.Value, b => samples[b].Disparities[i]) }).ToList();
        var dpRatio = withIntervals.First(d => d.Name == DisparityName.DemographicParity && d.Kind == DisparityName.Ratio && d.Method == DisparityName.BetweenGroups).Value.Value;
        return new GroupingFairness(grouping.Name, grouping.Bucketed, Group(groups, "overall"),
            [.. Enumerable.Range(0, groups).Select(g => Group(g, grouping.Labels[g]))], withIntervals,
            dpRatio is { } ratio ? ratio < FairnessSettings.FourFifthsRule : null);
    }

    /// <summary>
    /// One bootstrap resample of rows laid out group after group (<paramref name="sizes"/> in order): how many times each
    /// position is drawn when every group draws as many rows as it has, from its own rows only (so every group keeps its
    /// size, however small).
    /// </summary>
    public static void Resample(IReadOnlyList<int> sizes, Random random, int[] weights)
    {
        Array.Clear(weights);
        var offset = 0;
        foreach (var size in sizes)
        {
            for (var i = 0; i < size; i++) weights[offset + random.Next(size)]++;
            offset += size;
        }
    }

    /// <summary>The percentile interval of the resampled values (numpy's linear interpolation), ignoring resamples where the value was undefined.</summary>
    private static FairnessValue Bounds(double? value, IEnumerable<double?> resampled, double alpha)
    {
        var sorted = resampled.Where(v => v is not null).Select(v => v!.Value).Order().ToArray();
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

    /// <summary>The groups that can be compared on one metric, and the metric over all rows.</summary>
    private sealed class Comparison(List<(int Group, double Value)> groups, double? overall)
    {
        public int Highest => groups.Count < 2 ? -1 : groups.MaxBy(g => g.Value).Group;

        public int Lowest => groups.Count < 2 ? -1 : groups.MinBy(g => g.Value).Group;

        public double? Difference(bool between)
        {
            if (groups.Count < 2) return null;
            if (between) return groups.Max(g => g.Value) - groups.Min(g => g.Value);
            return overall is { } o ? groups.Max(g => Math.Abs(g.Value - o)) : null;
        }

        public double? Ratio(bool between)
        {
            if (groups.Count < 2) return null;
            if (between)
            {
                var max = groups.Max(g => g.Value);
                return max > 0 ? groups.Min(g => g.Value) / max : null;
            }

            // Fairlearn's to_overall ratio: each group / overall, inverted where above 1, the smallest.
            if (overall is not { } o || o <= 0) return null;
            return groups.Min(g => g.Value <= o ? g.Value / o : g.Value == 0 ? 0 : o / g.Value);
        }
    }

    /// <summary>
    /// One computation of every metric for every group (and overall, the last row), with each row counted by its weight.
    /// The rows are laid out group after group, each from its highest score down, in plain arrays: a resample walks them
    /// in memory order; all rows in score order (for overall) is a list of those positions.
    /// </summary>
    private sealed class Pass
    {
        private readonly double[] score;
        private readonly bool[] fraud;
        private readonly bool[] flagged;
        private readonly int[][] walks;

        public Pass(Grouping grouping, IReadOnlyList<bool> labels, IReadOnlyList<double> scores, double threshold)
        {
            var n = scores.Count;
            Sizes = new int[grouping.Count];
            foreach (var g in grouping.Of) Sizes[g]++;
            var offsets = new int[grouping.Count];
            for (var g = 1; g < grouping.Count; g++) offsets[g] = offsets[g - 1] + Sizes[g - 1];
            var byScore = Enumerable.Range(0, n).OrderByDescending(r => scores[r]).ToArray();
            var next = (int[])offsets.Clone();
            var position = new int[n];
            (score, fraud, flagged) = (new double[n], new bool[n], new bool[n]);
            // Rows taken in score order fill each group's block in score order too.
            foreach (var r in byScore)
            {
                var p = position[r] = next[grouping.Of[r]]++;
                (score[p], fraud[p], flagged[p]) = (scores[r], labels[r], scores[r] >= threshold);
            }

            walks = new int[grouping.Count + 1][];
            for (var g = 0; g < grouping.Count; g++) walks[g] = [.. Enumerable.Range(offsets[g], Sizes[g])];
            walks[grouping.Count] = [.. byScore.Select(r => position[r])];
        }

        public int[] Sizes { get; }

        public long Fraud(int group) => walks[group].LongCount(p => fraud[p]);

        public double?[,] Run(int[]? weights)
        {
            var result = new double?[walks.Length, Metrics.Length];
            for (var g = 0; g < walks.Length; g++)
            {
                double tp = 0, fp = 0, tn = 0, fn = 0, scoreSum = 0;
                // The curves, walked from the highest score with ties as one step: sklearn's ROC-AUC (trapezoids) and average precision.
                double curveTp = 0, curveFp = 0, lastTp = 0, lastFp = 0, area = 0, precisionSum = 0;
                var rows = walks[g];
                for (var i = 0; i < rows.Length; i++)
                {
                    var r = rows[i];
                    var w = weights is null ? 1 : weights[r];
                    if (w != 0)
                    {
                        if (fraud[r])
                        {
                            if (flagged[r]) tp += w;
                            else fn += w;
                            curveTp += w;
                        }
                        else
                        {
                            if (flagged[r]) fp += w;
                            else tn += w;
                            curveFp += w;
                        }

                        scoreSum += w * score[r];
                    }

                    if (i + 1 == rows.Length || score[rows[i + 1]] != score[r])
                    {
                        area += (curveFp - lastFp) * (curveTp + lastTp) / 2;
                        if (curveTp > lastTp) precisionSum += (curveTp - lastTp) * curveTp / (curveTp + curveFp);
                        (lastTp, lastFp) = (curveTp, curveFp);
                    }
                }

                double n = tp + fp + tn + fn, positives = tp + fn, negatives = fp + tn, flaggedCount = tp + fp;
                if (n == 0) continue;
                result[g, 0] = flaggedCount / n;
                result[g, 1] = positives > 0 ? tp / positives : null;
                result[g, 2] = negatives > 0 ? fp / negatives : null;
                result[g, 3] = positives > 0 ? fn / positives : null;
                result[g, 4] = flaggedCount > 0 ? tp / flaggedCount : null;
                result[g, 5] = positives / n;
                result[g, 6] = positives > 0 && negatives > 0 ? area / (positives * negatives) : null;
                result[g, 7] = positives > 0 ? precisionSum / positives : null;
                result[g, 8] = scoreSum / n;
            }

            return result;
        }
    }
}
