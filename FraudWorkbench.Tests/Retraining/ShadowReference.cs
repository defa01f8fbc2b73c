using FraudWorkbench.Core.Retraining;
using FraudWorkbench.Core.Training;

namespace FraudWorkbench.Tests.Retraining;

/// <summary>A shadow prediction with the label its transaction got, if any: what <see cref="ShadowReference.Compare"/> takes.</summary>
internal sealed record ShadowPair(double ChampionProbability, bool ChampionDecision, double Probability, bool Decision, float LatencyMs, DateTime PredictionCreatedAt, bool? IsFraud);

/// <summary>
/// The shadow comparison computed in memory from the pairs, row by row: the reference the tests hold
/// <see cref="ShadowComparer"/>'s SQL aggregation to (the app never holds a period's pairs).
/// </summary>
internal static class ShadowReference
{
    /// <summary>The comparison of shadow predictions in hand.</summary>
    public static ShadowComparison Compare(IReadOnlyList<ShadowPair> pairs, long dropped)
    {
        var n = pairs.Count;
        var champion = new double[n];
        var challenger = new double[n];
        var championFlags = new bool[n];
        var challengerFlags = new bool[n];
        var latency = new double[n];
        for (var i = 0; i < n; i++)
        {
            var p = pairs[i];
            (champion[i], challenger[i], championFlags[i], challengerFlags[i], latency[i]) = (p.ChampionProbability, p.Probability, p.ChampionDecision, p.Decision, p.LatencyMs);
        }

        var labelled = pairs.Where(p => p.IsFraud is not null).ToList();
        var labels = labelled.Select(p => p.IsFraud!.Value).ToList();
        var bothClasses = labels.Contains(true) && labels.Contains(false);
        Array.Sort(latency);
        return new ShadowComparison(
            n, dropped, n == 0 ? null : pairs.Min(p => p.PredictionCreatedAt), n == 0 ? null : pairs.Max(p => p.PredictionCreatedAt),
            Pearson(champion, challenger), Spearman(champion, challenger),
            n == 0 ? null : Enumerable.Range(0, n).Count(i => championFlags[i] == challengerFlags[i]) / (double)n,
            Kappa(championFlags, challengerFlags),
            Rate(championFlags), Rate(challengerFlags), n == 0 ? 0 : champion.Average(), n == 0 ? 0 : challenger.Average(),
            champion.Sum(), challenger.Sum(),
            labelled.Count, labels.Count(l => l),
            bothClasses ? ClassificationMetrics.Evaluate([.. labelled.Select(p => p.ChampionProbability)], labels) : null,
            bothClasses ? ClassificationMetrics.Evaluate([.. labelled.Select(p => p.Probability)], labels) : null,
            n == 0 ? 0 : BootstrapIntervals.Quantile(latency, 0.99));
    }

    private static double Rate(bool[] flags) => flags.Length == 0 ? 0 : flags.Count(f => f) / (double)flags.Length;

    /// <summary>Pearson's correlation; null with fewer than two values or when either side is constant.</summary>
    public static double? Pearson(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        var n = x.Count;
        // A constant side has no correlation; tested on the values, as rounding can leave a constant's deviations from its mean non-zero.
        if (n < 2 || y.Count != n || x.Min() == x.Max() || y.Min() == y.Max()) return null;
        double mx = 0, my = 0;
        for (var i = 0; i < n; i++) (mx, my) = (mx + x[i], my + y[i]);
        (mx, my) = (mx / n, my / n);
        double sxy = 0, sxx = 0, syy = 0;
        for (var i = 0; i < n; i++)
        {
            var (dx, dy) = (x[i] - mx, y[i] - my);
            (sxy, sxx, syy) = (sxy + dx * dy, sxx + dx * dx, syy + dy * dy);
        }

        return Math.Clamp(sxy / Math.Sqrt(sxx * syy), -1, 1);
    }

    /// <summary>Spearman's rank correlation: Pearson's on the ranks, ties given their average rank.</summary>
    public static double? Spearman(IReadOnlyList<double> x, IReadOnlyList<double> y) => x.Count < 2 ? null : Pearson(Ranks(x), Ranks(y));

    /// <summary>1-based ranks, tied values sharing the mean of the ranks they span.</summary>
    public static double[] Ranks(IReadOnlyList<double> values)
    {
        var order = Enumerable.Range(0, values.Count).OrderBy(i => values[i]).ToArray();
        var ranks = new double[values.Count];
        for (var start = 0; start < order.Length;)
        {
            var end = start;
            while (end + 1 < order.Length && values[order[end + 1]] == values[order[start]]) end++;
            var rank = (start + end) / 2.0 + 1;
            for (var k = start; k <= end; k++) ranks[order[k]] = rank;
            start = end + 1;
        }

        return ranks;
    }

    /// <summary>Cohen's kappa of two yes/no ratings; null when chance agreement is certain (both constant and equal) or there is nothing to rate.</summary>
    public static double? Kappa(IReadOnlyList<bool> a, IReadOnlyList<bool> b)
    {
        var n = a.Count;
        if (n == 0 || b.Count != n) return null;
        long agree = 0, aYes = 0, bYes = 0;
        for (var i = 0; i < n; i++)
        {
            if (a[i] == b[i]) agree++;
            if (a[i]) aYes++;
            if (b[i]) bYes++;
        }

        return ShadowStatistics.Kappa(n, agree, aYes, bYes);
    }

}
