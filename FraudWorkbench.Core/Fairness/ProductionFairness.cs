using System.Globalization;
using FraudWorkbench.Core.Data;

namespace FraudWorkbench.Core.Fairness;

/// <summary>One logged prediction as production fairness reads it: its label if one came (null while none has), and the protected columns' values the caller sent (null when not sent).</summary>
public sealed record ProductionRow(DateTime CreatedAt, double Probability, bool? Label, string?[] Cells);

/// <summary>How many of the computed predictions carried a protected column's value: partners send protected columns only when they have them.</summary>
public sealed record ColumnCoverage(string Column, long Sent, long Missing);

/// <summary>
/// One grouping of production traffic, twice: <paramref name="Realized"/> from the labels in so far (an unlabelled
/// prediction counts as legitimate, as performance monitoring counts it: final once the label window has passed,
/// provisional before), and <paramref name="Estimated"/> with the labels where they are in and, where not, the
/// calibrated probability discounted by the day's label maturity (see <see cref="ProductionFairness.ExpectedFraud"/>).
/// Selection rate and mean score need no labels and are the same in both.
/// </summary>
public sealed record ProductionGrouping(string Name, GroupingFairness Realized, GroupingFairness Estimated);

/// <summary>
/// How one model version treated the groups of its protected columns in production over [<paramref name="From"/>,
/// <paramref name="To"/>] (UTC days, inclusive).
/// </summary>
/// <param name="Predictions">The version's predictions in the range.</param>
/// <param name="Sampled">Of them, those computed on (all, up to the cap; a deterministic uniform sample beyond).</param>
/// <param name="Labelled">Of the computed ones, those with a label so far; <paramref name="FraudLabels"/> of them fraud.</param>
/// <param name="Maturity">The expected share of the computed predictions' eventual fraud labels already in (weighted by Σ p per day).</param>
/// <param name="Mature">The label window has passed for every day: the realized numbers are final.</param>
public sealed record ProductionFairnessReport(
    string Model, Guid VersionId, int Version, DateOnly From, DateOnly To, long Predictions, int Sampled, long Labelled, long FraudLabels,
    double Maturity, bool Mature, int LabelWindowDays, double Threshold, IReadOnlyList<ProtectedColumn> Columns, IReadOnlyList<ColumnCoverage> Coverage,
    FairnessSettings Settings, IReadOnlyList<ProductionGrouping> Groupings, DateTime ComputedAt)
{
    /// <summary>What the range covers, in the words a report file uses.</summary>
    public string Subject => string.Create(CultureInfo.InvariantCulture,
        $"production {From:yyyy-MM-dd} to {To:yyyy-MM-dd} ({Predictions:N0} predictions{(Sampled < Predictions ? $", a uniform sample of {Sampled:N0} computed on" : "")}; {Labelled:N0} labelled, {FraudLabels:N0} fraud; labels {(Mature ? "mature: final" : $"{Maturity:0%} in: provisional")})");

    /// <summary>
    /// The range as a report document, for the same HTML and PDF files as a holdout report: every grouping twice, realized
    /// (unlabelled predictions counted as legitimate) then estimated (CBPE-style), named so.
    /// </summary>
    public FairnessReport AsReport() => new(VersionId, Model, Version, Subject, Sampled, FraudLabels, Threshold, Columns, Settings,
        [.. Groupings.SelectMany(g => new[] { g.Realized with { Name = g.Name + RealizedSuffix }, g.Estimated with { Name = g.Name + EstimatedSuffix } })], ComputedAt);

    public const string RealizedSuffix = " · realized";
    public const string EstimatedSuffix = " · estimated (CBPE-style)";
}

/// <summary>
/// Production fairness from logged predictions: the same groups and the same calculator as the holdout report for the
/// realized numbers, and a CBPE-style estimate for the rows whose labels are not in yet.
/// </summary>
public static class ProductionFairness
{
    /// <summary>
    /// The probability that a prediction is fraud given what is known now: 1 or 0 when labelled; otherwise its calibrated
    /// probability p conditioned on no fraud label having come yet, when a share <paramref name="maturity"/> of a day's
    /// fraud labels is expected in: p (1 − m) / (1 − p m). At maturity 0 that is CBPE's p; once the label window has
    /// passed (m = 1) it is 0, an unlabelled prediction counting as legitimate as performance monitoring counts it.
    /// </summary>
    public static double ExpectedFraud(bool? label, double probability, double maturity)
    {
        if (label is { } known) return known ? 1 : 0;
        var m = Math.Clamp(maturity, 0, 1);
        if (m >= 1) return 0;
        var denominator = 1 - probability * m;
        return denominator <= 0 ? 0 : probability * (1 - m) / denominator;
    }

    /// <summary>Realized (the holdout report's calculator on the same rows) and estimated fairness of one grouping.</summary>
    /// <param name="labels">Fraud label so far (false while unlabelled).</param>
    /// <param name="expected">Each row's <see cref="ExpectedFraud"/>.</param>
    public static ProductionGrouping Evaluate(
        Grouping grouping, IReadOnlyList<bool> labels, IReadOnlyList<double> scores, IReadOnlyList<double> expected, double threshold, FairnessSettings settings, int maxParallelism = -1)
    {
        var realized = FairnessCalculator.Evaluate(grouping, labels, scores, threshold, settings, maxParallelism);
        return new ProductionGrouping(grouping.Name, realized, Estimate(grouping, realized, scores, expected, threshold, settings));
    }

    private static readonly string[] EstimatedMetrics =
        [FairnessMetric.TruePositiveRate, FairnessMetric.FalsePositiveRate, FairnessMetric.FalseNegativeRate, FairnessMetric.Precision, FairnessMetric.FraudRate];

    /// <summary>
    /// CBPE's expected confusion per group with q = <see cref="ExpectedFraud"/>: TP = Σ q over flagged, FP = Σ (1 − q)
    /// over flagged, FN = Σ q over the rest, TN = Σ (1 − q) over the rest; the rates follow. Intervals from the same
    /// within-group bootstrap as the realized numbers. The curves (ROC-AUC, PR-AUC) are not estimated.
    /// </summary>
    public static GroupingFairness Estimate(
        Grouping grouping, GroupingFairness realized, IReadOnlyList<double> scores, IReadOnlyList<double> expected, double threshold, FairnessSettings settings)
    {
        var groups = grouping.Count;
        // Rows laid out group after group, as the bootstrap's weights index them.
        var order = Enumerable.Range(0, scores.Count).OrderBy(r => grouping.Of[r]).ToArray();
        var sizes = new int[groups];
        foreach (var g in grouping.Of) sizes[g]++;
        var group = order.Select(r => grouping.Of[r]).ToArray();
        var q = order.Select(r => expected[r]).ToArray();
        var flagged = order.Select(r => scores[r] >= threshold).ToArray();
        var eligible = realized.Groups.Select(g => g.TooSmall is null).ToArray();

        var point = Sums(group, q, flagged, groups, null);
        var resamples = settings.Resamples;
        var sampled = new double?[resamples][,];
        var sampledDisparities = new double?[resamples][];
        var weights = new int[order.Length];
        for (var b = 0; b < resamples; b++)
        {
            Resample(sizes, new Random(unchecked((settings.Seed * 1_000_003) + b)), weights);
            sampled[b] = Sums(group, q, flagged, groups, weights);
            sampledDisparities[b] = [.. Disparities(sampled[b], eligible, grouping.Labels).Select(d => d.Value.Value)];
        }

        var alpha = (1 - settings.Confidence) / 2;
        FairnessValue Interval(double? value, Func<int, double?> sample) =>
            value is null || resamples == 0 ? new FairnessValue(value) : FairnessCalculator.Bounds(value, Enumerable.Range(0, resamples).Select(sample), alpha);

        GroupMetrics Group(int g, GroupMetrics shown)
        {
            var metrics = new Dictionary<string, FairnessValue>
            {
                [FairnessMetric.SelectionRate] = shown.Metrics[FairnessMetric.SelectionRate],
                [FairnessMetric.MeanScore] = shown.Metrics[FairnessMetric.MeanScore],
                [FairnessMetric.RocAuc] = new(null),
                [FairnessMetric.AveragePrecision] = new(null),
            };
            for (var k = 0; k < EstimatedMetrics.Length; k++)
            {
                var metric = k;
                metrics[EstimatedMetrics[k]] = Interval(point[g, k], b => sampled[b][g, metric]);
            }

            return shown with { Fraud = (long)Math.Round(point[g, ExpectedFraudSlot]!.Value), Metrics = metrics };
        }

        var pointDisparities = Disparities(point, eligible, grouping.Labels);
        var disparities = new List<Disparity>();
        for (var i = 0; i < pointDisparities.Count; i++)
        {
            var d = pointDisparities[i];
            var index = i;
            // Demographic parity needs no labels: the realized one, interval and all.
            disparities.Add(d.Name == DisparityName.DemographicParity
                ? realized.Disparities.First(r => r.Name == d.Name && r.Kind == d.Kind && r.Method == d.Method)
                : d with { Value = Interval(d.Value.Value, b => sampledDisparities[b][index]) });
        }

        return new GroupingFairness(realized.Name, realized.Bucketed, Group(groups, realized.Overall),
            [.. Enumerable.Range(0, groups).Select(g => Group(g, realized.Groups[g]))], disparities, realized.FourFifths);
    }

    private const int ExpectedFraudSlot = 5;

    /// <summary>
    /// One within-group bootstrap resample of rows laid out group after group: how many times each position is drawn when
    /// every group draws as many rows as it has from its own rows. Rows, not cells, because each row carries its own
    /// expected fraud q; the range's row cap keeps this to at most a few tens of thousands of draws per resample.
    /// </summary>
    private static void Resample(IReadOnlyList<int> sizes, Random random, int[] weights)
    {
        Array.Clear(weights);
        var offset = 0;
        foreach (var size in sizes)
        {
            for (var i = 0; i < size; i++) weights[offset + random.Next(size)]++;
            offset += size;
        }
    }

    /// <summary>Per group (and overall, the last row): TPR, FPR, FNR, precision, fraud rate, and the expected fraud count.</summary>
    private static double?[,] Sums(int[] group, double[] q, bool[] flagged, int groups, int[]? weights)
    {
        var tp = new double[groups + 1];
        var fn = new double[groups + 1];
        var flaggedCount = new double[groups + 1];
        var n = new double[groups + 1];
        for (var i = 0; i < q.Length; i++)
        {
            var w = weights is null ? 1 : weights[i];
            if (w == 0) continue;
            var g = group[i];
            n[g] += w;
            if (flagged[i])
            {
                flaggedCount[g] += w;
                tp[g] += w * q[i];
            }
            else
            {
                fn[g] += w * q[i];
            }
        }

        // Overall (the last slot) is the sum of the groups: every row is in exactly one.
        for (var g = 0; g < groups; g++)
        {
            n[groups] += n[g];
            flaggedCount[groups] += flaggedCount[g];
            tp[groups] += tp[g];
            fn[groups] += fn[g];
        }

        var result = new double?[groups + 1, 6];
        for (var g = 0; g <= groups; g++)
        {
            if (n[g] == 0) continue;
            var positives = tp[g] + fn[g];
            var negatives = n[g] - positives;
            const double tiny = 1e-12;
            result[g, 0] = positives > tiny ? tp[g] / positives : null;
            result[g, 1] = negatives > tiny ? (flaggedCount[g] - tp[g]) / negatives : null;
            result[g, 2] = positives > tiny ? fn[g] / positives : null;
            result[g, 3] = flaggedCount[g] > 0 ? tp[g] / flaggedCount[g] : null;
            result[g, 4] = positives / n[g];
            result[g, ExpectedFraudSlot] = positives;
        }

        return result;
    }

    /// <summary>
    /// The label-dependent disparities on estimated rates, as the holdout report lists them (demographic parity as a
    /// placeholder, replaced by the realized one): for each method, parity, equal opportunity, equalized odds worst case then mean.
    /// </summary>
    private static List<Disparity> Disparities(double?[,] values, bool[] eligible, IReadOnlyList<string> labels)
    {
        var overall = eligible.Length;
        var list = new List<Disparity>();
        foreach (var method in new[] { DisparityName.BetweenGroups, DisparityName.ToOverall })
        {
            var between = method == DisparityName.BetweenGroups;
            var tpr = Compare(values, eligible, 0, between);
            var fpr = Compare(values, eligible, 1, between);
            list.Add(new Disparity(DisparityName.DemographicParity, DisparityName.Difference, method, null, new FairnessValue(null), null, null));
            list.Add(new Disparity(DisparityName.DemographicParity, DisparityName.Ratio, method, null, new FairnessValue(null), null, null));
            list.Add(new Disparity(DisparityName.EqualOpportunity, DisparityName.Difference, method, null, new FairnessValue(tpr.Difference), Name(tpr.Highest), Name(tpr.Lowest)));
            list.Add(new Disparity(DisparityName.EqualOpportunity, DisparityName.Ratio, method, null, new FairnessValue(tpr.Ratio), Name(tpr.Highest), Name(tpr.Lowest)));
            var worse = (tpr.Difference ?? -1) >= (fpr.Difference ?? -1) ? tpr : fpr;
            foreach (var aggregation in new[] { DisparityName.WorstCase, DisparityName.Mean })
            {
                Func<double, double, double> how = aggregation == DisparityName.WorstCase ? Math.Max : (a, b) => (a + b) / 2;
                Func<double, double, double> ratioHow = aggregation == DisparityName.WorstCase ? Math.Min : (a, b) => (a + b) / 2;
                list.Add(new Disparity(DisparityName.EqualizedOdds, DisparityName.Difference, method, aggregation,
                    new FairnessValue(tpr.Difference is { } a && fpr.Difference is { } b ? how(a, b) : null), Name(worse.Highest), Name(worse.Lowest)));
                list.Add(new Disparity(DisparityName.EqualizedOdds, DisparityName.Ratio, method, aggregation,
                    new FairnessValue(tpr.Ratio is { } c && fpr.Ratio is { } d ? ratioHow(c, d) : null), Name(worse.Highest), Name(worse.Lowest)));
            }
        }

        return list;

        string? Name(int g) => g < 0 || g >= overall ? null : labels[g];
    }

    /// <summary>Fairlearn's difference and ratio of one metric over the groups large enough to judge that have it.</summary>
    private static (double? Difference, double? Ratio, int Highest, int Lowest) Compare(double?[,] values, bool[] eligible, int metric, bool between)
    {
        var groups = new List<(int Group, double Value)>();
        for (var g = 0; g < eligible.Length; g++)
        {
            if (eligible[g] && values[g, metric] is { } v) groups.Add((g, v));
        }

        if (groups.Count < 2) return (null, null, -1, -1);
        var (max, min) = (groups.MaxBy(g => g.Value), groups.MinBy(g => g.Value));
        if (between) return (max.Value - min.Value, max.Value > 0 ? min.Value / max.Value : null, max.Group, min.Group);
        if (values[eligible.Length, metric] is not { } o) return (null, null, max.Group, min.Group);
        var difference = groups.Max(g => Math.Abs(g.Value - o));
        double? ratio = o > 0 ? groups.Min(g => g.Value <= o ? g.Value / o : g.Value == 0 ? 0 : o / g.Value) : null;
        return (difference, ratio, max.Group, min.Group);
    }
}
