using FraudWorkbench.Core.Fairness;
using FraudWorkbench.Core.Training;

namespace FraudWorkbench.Tests.Fairness;

public sealed class FairnessCalculatorTests
{
    private const double Threshold = 0.5;

    /// <summary>
    /// Three groups worked by hand (flagged = score 0.9, not flagged = 0.1):
    /// A: y 1 1 0 0 0, ŷ 1 0 1 0 0 → selection 2/5, TPR 1/2, FPR 1/3;
    /// B: y 1 1 1 0 0, ŷ 1 1 1 1 0 → selection 4/5, TPR 1, FPR 1/2;
    /// C: y 1 0 0 0, ŷ 0 0 0 1 → selection 1/4, TPR 0, FPR 1/3;
    /// overall (14 rows): selection 7/14, TPR 4/6, FPR 3/8.
    /// </summary>
    private static (Grouping Grouping, bool[] Labels, double[] Scores) HandWorked()
    {
        (string Group, bool Fraud, bool Flagged)[] rows =
        [
            ("A", true, true), ("A", true, false), ("A", false, true), ("A", false, false), ("A", false, false),
            ("B", true, true), ("B", true, true), ("B", true, true), ("B", false, true), ("B", false, false),
            ("C", true, false), ("C", false, false), ("C", false, false), ("C", false, true),
        ];
        var grouping = FairnessGroups.FromValues("segment", [.. rows.Select(r => r.Group)]);
        return (grouping, [.. rows.Select(r => r.Fraud)], [.. rows.Select(r => r.Flagged ? 0.9 : 0.1)]);
    }

    private static GroupingFairness Point(Grouping grouping, bool[] labels, double[] scores, int minGroupSize = 1) =>
        FairnessCalculator.Evaluate(grouping, labels, scores, Threshold, new FairnessSettings(MinGroupSize: minGroupSize, Resamples: 0));

    private static double? Value(GroupingFairness result, string name, string kind, string method, string? aggregation = null) =>
        result.Disparities.Single(d => d.Name == name && d.Kind == kind && d.Method == method && d.Aggregation == aggregation).Value.Value;

    [Fact]
    public void Evaluate_HandWorkedGroups_GroupRatesAsFairlearn()
    {
        var (grouping, labels, scores) = HandWorked();

        var result = Point(grouping, labels, scores);

        var groups = result.Groups.ToDictionary(g => g.Group);
        Assert.Equal(["A", "B", "C"], result.Groups.Select(g => g.Group));
        Assert.Equal((5L, 5L, 4L), (groups["A"].Count, groups["B"].Count, groups["C"].Count));
        Assert.Equal(5.0 / 14, groups["A"].Share, 12);
        double? M(GroupMetrics g, string metric) => g.Metrics[metric].Value;
        Assert.Equal([0.4, 0.8, 0.25], result.Groups.Select(g => M(g, FairnessMetric.SelectionRate)!.Value));
        Assert.Equal([0.5, 1.0, 0.0], result.Groups.Select(g => M(g, FairnessMetric.TruePositiveRate)!.Value));
        Assert.Equal([0.5, 0.0, 1.0], result.Groups.Select(g => M(g, FairnessMetric.FalseNegativeRate)!.Value));
        Assert.Equal(1.0 / 3, M(groups["A"], FairnessMetric.FalsePositiveRate)!.Value, 12);
        Assert.Equal(0.5, M(groups["B"], FairnessMetric.FalsePositiveRate)!.Value, 12);
        Assert.Equal(0.75, M(groups["B"], FairnessMetric.Precision)!.Value, 12); // 3 of the 4 flagged are fraud
        Assert.Equal(0.0, M(groups["C"], FairnessMetric.Precision)!.Value, 12);
        Assert.Equal(0.6, M(groups["B"], FairnessMetric.FraudRate)!.Value, 12);
        Assert.Equal((0.9 * 2 + 0.1 * 3) / 5, M(groups["A"], FairnessMetric.MeanScore)!.Value, 12);
        Assert.Equal(0.5, M(result.Overall, FairnessMetric.SelectionRate)!.Value, 12);
        Assert.Equal(4.0 / 6, M(result.Overall, FairnessMetric.TruePositiveRate)!.Value, 12);
        Assert.Equal(3.0 / 8, M(result.Overall, FairnessMetric.FalsePositiveRate)!.Value, 12);
    }

    [Fact]
    public void Evaluate_HandWorkedGroups_DisparitiesAsFairlearnBothMethodsBothAggregations()
    {
        var (grouping, labels, scores) = HandWorked();

        var result = Point(grouping, labels, scores);

        // Demographic parity on selection rate: 0.8 − 0.25; 0.25 / 0.8; to overall 0.5: max |g − 0.5| = 0.3, min(0.4/0.5, 0.5/0.8, 0.25/0.5) = 0.5.
        Assert.Equal(0.55, Value(result, DisparityName.DemographicParity, "difference", DisparityName.BetweenGroups)!.Value, 12);
        Assert.Equal(0.3125, Value(result, DisparityName.DemographicParity, "ratio", DisparityName.BetweenGroups)!.Value, 12);
        Assert.Equal(0.3, Value(result, DisparityName.DemographicParity, "difference", DisparityName.ToOverall)!.Value, 12);
        Assert.Equal(0.5, Value(result, DisparityName.DemographicParity, "ratio", DisparityName.ToOverall)!.Value, 12);
        // Equal opportunity on TPR (0.5, 1, 0; overall 2/3): 1 and 0; to overall max(1/6, 1/3, 2/3), min(0.75, 2/3, 0).
        Assert.Equal(1.0, Value(result, DisparityName.EqualOpportunity, "difference", DisparityName.BetweenGroups)!.Value, 12);
        Assert.Equal(0.0, Value(result, DisparityName.EqualOpportunity, "ratio", DisparityName.BetweenGroups)!.Value, 12);
        Assert.Equal(2.0 / 3, Value(result, DisparityName.EqualOpportunity, "difference", DisparityName.ToOverall)!.Value, 12);
        Assert.Equal(0.0, Value(result, DisparityName.EqualOpportunity, "ratio", DisparityName.ToOverall)!.Value, 12);
        // Equalized odds: FPR 1/3, 1/2, 1/3 (overall 3/8) → difference 1/6 and ratio 2/3 between groups; 1/8 and 3/4 to overall.
        Assert.Equal(1.0, Value(result, DisparityName.EqualizedOdds, "difference", DisparityName.BetweenGroups, DisparityName.WorstCase)!.Value, 12);
        Assert.Equal((1 + 1.0 / 6) / 2, Value(result, DisparityName.EqualizedOdds, "difference", DisparityName.BetweenGroups, DisparityName.Mean)!.Value, 12);
        Assert.Equal(0.0, Value(result, DisparityName.EqualizedOdds, "ratio", DisparityName.BetweenGroups, DisparityName.WorstCase)!.Value, 12);
        Assert.Equal(1.0 / 3, Value(result, DisparityName.EqualizedOdds, "ratio", DisparityName.BetweenGroups, DisparityName.Mean)!.Value, 12);
        Assert.Equal(2.0 / 3, Value(result, DisparityName.EqualizedOdds, "difference", DisparityName.ToOverall, DisparityName.WorstCase)!.Value, 12);
        Assert.Equal((2.0 / 3 + 1.0 / 8) / 2, Value(result, DisparityName.EqualizedOdds, "difference", DisparityName.ToOverall, DisparityName.Mean)!.Value, 12);
        Assert.Equal(0.0, Value(result, DisparityName.EqualizedOdds, "ratio", DisparityName.ToOverall, DisparityName.WorstCase)!.Value, 12);
        Assert.Equal(0.375, Value(result, DisparityName.EqualizedOdds, "ratio", DisparityName.ToOverall, DisparityName.Mean)!.Value, 12);
        var dp = result.Disparities.First(d => d.Name == DisparityName.DemographicParity);
        Assert.Equal(("B", "C"), (dp.Highest, dp.Lowest));
        Assert.True(result.FourFifths); // 0.3125 < 0.8
        Assert.Equal(16, result.Disparities.Count);
    }

    [Fact]
    public void Evaluate_GroupBelowMinimum_TooSmallAndLeftOutOfDisparities()
    {
        var (grouping, labels, scores) = HandWorked();

        // C has 4 rows: below a minimum of 5 it is shown but not compared; A and B remain.
        var result = Point(grouping, labels, scores, minGroupSize: 5);

        Assert.Equal("fewer than 5 rows", result.Groups.Single(g => g.Group == "C").TooSmall);
        Assert.Null(result.Groups.Single(g => g.Group == "A").TooSmall);
        Assert.Equal(0.4, Value(result, DisparityName.DemographicParity, "difference", DisparityName.BetweenGroups)!.Value, 12); // 0.8 − 0.4
        Assert.Equal(0.5, Value(result, DisparityName.DemographicParity, "ratio", DisparityName.BetweenGroups)!.Value, 12);
        // The overall value still counts every row, as Fairlearn's overall does.
        Assert.Equal(0.5, result.Overall.Metrics[FairnessMetric.SelectionRate].Value!.Value, 12);

        var alone = Point(grouping, labels, scores, minGroupSize: 6);
        Assert.All(alone.Disparities, d => Assert.Null(d.Value.Value)); // nothing to compare is not "fair"
        Assert.Null(alone.FourFifths);
    }

    [Fact]
    public void Evaluate_GroupWithoutFraud_TprUndefinedAndLeftOutOfEqualOpportunityOnly()
    {
        var grouping = FairnessGroups.FromValues("g", ["x", "x", "x", "y", "y", "y"]);
        bool[] labels = [true, false, false, false, false, false];
        double[] scores = [0.9, 0.9, 0.1, 0.9, 0.1, 0.1];

        var result = Point(grouping, labels, scores);

        var y = result.Groups.Single(g => g.Group == "y");
        Assert.Null(y.Metrics[FairnessMetric.TruePositiveRate].Value);
        Assert.Null(y.Metrics[FairnessMetric.RocAuc].Value);
        Assert.Null(Value(result, DisparityName.EqualOpportunity, "difference", DisparityName.BetweenGroups));
        Assert.Equal(1.0 / 3, Value(result, DisparityName.DemographicParity, "difference", DisparityName.BetweenGroups)!.Value, 12); // x flags 2/3, y 1/3
    }

    [Fact]
    public void Evaluate_ScoresWithTies_GroupAucAndAveragePrecisionEqualSklearnDefinitions()
    {
        var random = new Random(7);
        var n = 3_000;
        var values = Enumerable.Range(0, n).Select(_ => random.Next(3) switch { 0 => "a", 1 => "b", _ => "c" }).ToArray();
        // Scores rounded to two decimals, so ties are many.
        var scores = Enumerable.Range(0, n).Select(_ => Math.Round(random.NextDouble(), 2)).ToArray();
        var labels = scores.Select(s => random.NextDouble() < s * 0.6).ToArray();
        var grouping = FairnessGroups.FromValues("g", values);

        var result = Point(grouping, labels, scores);

        foreach (var group in result.Groups)
        {
            var rows = Enumerable.Range(0, n).Where(i => values[i] == group.Group).ToArray();
            var s = rows.Select(i => scores[i]).ToArray();
            var l = rows.Select(i => labels[i]).ToArray();
            Assert.Equal(ClassificationMetrics.Area(ClassificationMetrics.RocCurve(s, l)), group.Metrics[FairnessMetric.RocAuc].Value!.Value, 12);
            Assert.Equal(ClassificationMetrics.AveragePrecision(s, l), group.Metrics[FairnessMetric.AveragePrecision].Value!.Value, 12);
        }

        Assert.Equal(ClassificationMetrics.AveragePrecision(scores, labels), result.Overall.Metrics[FairnessMetric.AveragePrecision].Value!.Value, 12);
    }

    [Fact]
    public void Resample_WithinGroups_EveryGroupKeepsItsSizeAndDrawsOnlyItsCells()
    {
        // Groups of 3, 10 and 1 rows (row draws) and of 5,000 (binomials over its cells): every resample keeps each size.
        var (grouping, labels, scores) = Generated(new Random(2), [3, 10, 1, 5_000]);
        var cells = FairnessCells.Build(grouping, labels, scores, Threshold);
        var drawn = new int[cells.Cells];
        var random = new Random(1);
        var moved = 0;

        for (var b = 0; b < 200; b++)
        {
            cells.Resample(random, drawn);

            for (var g = 0; g < cells.Groups; g++)
            {
                var (start, end) = cells.CellsOf(g);
                Assert.Equal(cells.Sizes[g], drawn[start..end].Sum());
            }

            moved += Enumerable.Range(0, cells.Cells).Count(c => drawn[c] != cells.Count(c));
        }

        Assert.Equal([3, 10, 1, 5_000], cells.Sizes);
        Assert.True(moved > 200, $"{moved}"); // the counts do vary
    }

    [Fact]
    public void Resample_LargeGroup_CellCountsHaveMultinomialMeanAndVariance()
    {
        // A cell with share s of a group of n rows: mean n·s, variance n·s·(1 − s), as drawing the rows would give.
        var (grouping, labels, scores) = Generated(new Random(4), [20_000]);
        var cells = FairnessCells.Build(grouping, labels, scores, Threshold, bins: 25);
        var drawn = new int[cells.Cells];
        var random = new Random(8);
        const int resamples = 4_000;
        var sums = new double[cells.Cells];
        var squares = new double[cells.Cells];
        for (var b = 0; b < resamples; b++)
        {
            cells.Resample(random, drawn);
            for (var c = 0; c < cells.Cells; c++) (sums[c], squares[c]) = (sums[c] + drawn[c], squares[c] + ((double)drawn[c] * drawn[c]));
        }

        Assert.True(cells.Cells > 40, $"{cells.Cells}"); // up to 25 bins a class, both labels in most
        foreach (var c in new[] { 0, cells.Cells / 2, cells.Cells - 1 })
        {
            var share = cells.Count(c) / 20_000.0;
            var mean = sums[c] / resamples;
            var variance = (squares[c] / resamples) - (mean * mean);
            Assert.InRange(mean, (20_000 * share) - (4 * Math.Sqrt(20_000 * share * (1 - share) / resamples)), (20_000 * share) + (4 * Math.Sqrt(20_000 * share * (1 - share) / resamples)));
            Assert.InRange(variance / (20_000 * share * (1 - share)), 0.9, 1.1);
        }
    }

    [Fact]
    public void Evaluate_OneResample_SameAsThePointMetricsOfTheDrawnCellsRepeated()
    {
        // Scores in steps of 0.02 (51 values): each score is its own bin, so a resample of cells is a resample of rows. With
        // one resample the interval's bounds are that resample's values: they must equal the metrics of a data set
        // holding each cell's score and label as many times as the cell was drawn.
        var random = new Random(5);
        var n = 400;
        var values = Enumerable.Range(0, n).Select(_ => random.Next(3) == 0 ? "a" : "b").ToArray();
        var scores = Enumerable.Range(0, n).Select(_ => Math.Round(random.NextDouble() * 50) / 50).ToArray();
        var labels = scores.Select(s => random.NextDouble() < s * 0.5).ToArray();
        var grouping = FairnessGroups.FromValues("g", values);
        var settings = new FairnessSettings(MinGroupSize: 1, Resamples: 1, Seed: 9);

        var resampled = FairnessCalculator.Evaluate(grouping, labels, scores, Threshold, settings);

        var cells = FairnessCells.Build(grouping, labels, scores, Threshold);
        Assert.Equal(scores.Distinct().Count(), cells.Bins);
        var drawn = new int[cells.Cells];
        cells.Resample(new Random(9 * 1_000_003), drawn);
        var rows = Enumerable.Range(0, cells.Groups).SelectMany(g => Enumerable.Range(cells.CellsOf(g).Start, cells.CellsOf(g).End - cells.CellsOf(g).Start)
            .SelectMany(c => Enumerable.Repeat((Group: g, Fraud: cells.IsFraud(c), Score: cells.Mean(c)), drawn[c]))).ToArray();
        var repeated = FairnessCalculator.Evaluate(new Grouping("g", grouping.Labels, [.. rows.Select(r => r.Group)]),
            [.. rows.Select(r => r.Fraud)], [.. rows.Select(r => r.Score)], Threshold, settings with { Resamples = 0 });

        foreach (var (sample, truth) in resampled.Groups.Append(resampled.Overall).Zip(repeated.Groups.Append(repeated.Overall)))
        {
            foreach (var metric in FairnessMetric.All)
            {
                Assert.Equal(truth.Metrics[metric].Value!.Value, sample.Metrics[metric].Lower!.Value, 12);
                Assert.Equal(truth.Metrics[metric].Value!.Value, sample.Metrics[metric].Upper!.Value, 12);
            }
        }

        foreach (var (sample, truth) in resampled.Disparities.Zip(repeated.Disparities))
            Assert.Equal(truth.Value.Value!.Value, sample.Value.Lower!.Value, 12);
    }

    /// <summary>20,000 rows with distinct scores in three groups (12,000, 6,000, 2,000; 10 % fraud), and their per-row bootstrap, computed once for the class.</summary>
    private static readonly Lazy<(Grouping Grouping, bool[] Labels, double[] Scores, FairnessSettings Settings, GroupingFairness Rows)> Continuous = new(() =>
    {
        var (grouping, labels, scores) = Generated(new Random(6), [12_000, 6_000, 2_000]);
        var settings = new FairnessSettings(MinGroupSize: 30, Resamples: 1_000, Seed: 21);
        return (grouping, labels, scores, settings, RowBootstrap(grouping, labels, scores, settings));
    });

    [Theory]
    [InlineData(FairnessCells.DefaultBins)]
    [InlineData(25)]
    [InlineData(100)]
    public void Evaluate_ContinuousScores_CellIntervalsAgreeWithTheRowBootstrap(int bins)
    {
        // The cell bootstrap against the per-row bootstrap it replaced (rows drawn within each group, every metric
        // recomputed from the drawn rows), 1,000 resamples each. Both are Monte Carlo: the cells with every score its
        // own bin (the row bootstrap's distribution, other random numbers) differed from it by 9.4 % of an interval's
        // width on these data; 15 % is above that noise and far below a wrong spread or a shifted level.
        var (grouping, labels, scores, settings, rows) = Continuous.Value;

        var cells = FairnessCalculator.Evaluate(grouping, labels, scores, Threshold, settings, -1, bins);

        var compared = 0;
        var worst = 0.0;
        foreach (var (cell, row) in Values(cells).Zip(Values(rows)))
        {
            Assert.Equal(row.Value, cell.Value);
            if (row.Lower is not { } lo || row.Upper is not { } hi || hi - lo < 1e-12) continue;
            var width = hi - lo;
            worst = Math.Max(worst, Math.Max(Math.Abs(cell.Lower!.Value - lo), Math.Abs(cell.Upper!.Value - hi)) / width);
            compared++;
        }

        Assert.Equal((4 * 9) + 16, compared);
        Assert.InRange(worst, 0, 0.15);
    }

    [Fact]
    public void ScoreOrder_ScoresWithTiesSignsAndZeros_HighestFirstEqualScoresInRowOrder()
    {
        var random = new Random(3);
        // Ties (two decimals), negatives, both zeros, tiny and huge magnitudes: every byte of the bit patterns varies.
        var scores = Enumerable.Range(0, 50_000).Select(i => (i % 7) switch
        {
            0 => Math.Round(random.NextDouble(), 2),
            1 => -Math.Round(random.NextDouble(), 2),
            2 => i % 2 == 0 ? 0.0 : -0.0,
            3 => random.NextDouble() * 1e-300,
            4 => random.NextDouble() * 1e300,
            _ => random.NextDouble(),
        }).ToArray();
        var labels = scores.Select((_, i) => i % 3 == 0).ToArray();

        var sorted = FairnessCells.ScoreOrder.Of(labels, scores);

        // The order LINQ's stable OrderByDescending gives (0.0 and −0.0 are one value there too, kept in row order).
        var expected = Enumerable.Range(0, scores.Length).OrderByDescending(r => scores[r]).ToArray();
        Assert.Equal(expected, sorted.Rows);
        Assert.Equal(expected.Select(r => scores[r]), sorted.Scores);
        Assert.Equal(expected.Select(r => labels[r]), sorted.Labels);
    }

    /// <summary>Every number with its interval: each group's metrics, overall's, then the disparities.</summary>
    private static IEnumerable<FairnessValue> Values(GroupingFairness result) =>
        result.Groups.Append(result.Overall).SelectMany(g => FairnessMetric.All.Select(m => g.Metrics[m])).Concat(result.Disparities.Select(d => d.Value));

    /// <summary>The bootstrap the calculator used before the cells: each group's rows drawn with replacement from that group, all metrics recomputed.</summary>
    private static GroupingFairness RowBootstrap(Grouping grouping, bool[] labels, double[] scores, FairnessSettings settings)
    {
        var point = FairnessCalculator.Evaluate(grouping, labels, scores, Threshold, settings with { Resamples = 0 });
        var members = Enumerable.Range(0, grouping.Count).Select(g => Enumerable.Range(0, scores.Length).Where(r => grouping.Of[r] == g).ToArray()).ToArray();
        var samples = new List<FairnessValue>[settings.Resamples];
        Parallel.For(0, settings.Resamples, b =>
        {
            var random = new Random(1_000 + b);
            var drawn = members.SelectMany(rows => rows.Select(_ => rows[random.Next(rows.Length)])).ToArray();
            var result = FairnessCalculator.Evaluate(new Grouping(grouping.Name, grouping.Labels, [.. drawn.Select(r => grouping.Of[r])]),
                [.. drawn.Select(r => labels[r])], [.. drawn.Select(r => scores[r])], Threshold, settings with { Resamples = 0 });
            samples[b] = [.. Values(result)];
        });

        var alpha = (1 - settings.Confidence) / 2;
        var bounds = Values(point).Select((v, i) =>
        {
            var sorted = samples.Select(s => s[i].Value).OfType<double>().Order().ToArray();
            return sorted.Length == 0 ? v : v with { Lower = FairnessCalculator.Quantile(sorted, alpha), Upper = FairnessCalculator.Quantile(sorted, 1 - alpha) };
        }).ToArray();
        var metrics = FairnessMetric.All.Count;
        GroupMetrics With(GroupMetrics g, int index) => g with { Metrics = FairnessMetric.All.Select((m, k) => (m, k)).ToDictionary(x => x.m, x => bounds[(index * metrics) + x.k]) };
        return point with
        {
            Groups = [.. point.Groups.Select(With)],
            Overall = With(point.Overall, point.Groups.Count),
            Disparities = [.. point.Disparities.Select((d, i) => d with { Value = bounds[((point.Groups.Count + 1) * metrics) + i] })],
        };
    }

    /// <summary>Groups of the given sizes with distinct probability scores (log-odds −2.5 for legitimate rows, +0.5 for fraud, sd 1.2; 10 % fraud).</summary>
    private static (Grouping Grouping, bool[] Labels, double[] Scores) Generated(Random random, int[] sizes)
    {
        var names = sizes.SelectMany((size, g) => Enumerable.Repeat("g" + g, size)).ToArray();
        var labels = names.Select(_ => random.NextDouble() < 0.1).ToArray();
        var scores = labels.Select((fraud, i) =>
        {
            var z = Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
            var logOdds = (fraud ? 0.5 : -2.5) + (0.3 * (i % 3)) + (1.2 * z);
            return 1 / (1 + Math.Exp(-logOdds));
        }).ToArray();
        return (FairnessGroups.FromValues("g", names), labels, scores);
    }

    [Fact]
    public void Evaluate_SameSeed_SameIntervals_OtherSeed_Different()
    {
        var (grouping, labels, scores) = HandWorked();
        var settings = new FairnessSettings(MinGroupSize: 1, Resamples: 200, Seed: 3);

        var first = FairnessCalculator.Evaluate(grouping, labels, scores, Threshold, settings);
        var again = FairnessCalculator.Evaluate(grouping, labels, scores, Threshold, settings);
        var other = FairnessCalculator.Evaluate(grouping, labels, scores, Threshold, settings with { Seed = 4 });
        var oneCore = FairnessCalculator.Evaluate(grouping, labels, scores, Threshold, settings, maxParallelism: 1);

        string Bounds(GroupingFairness r) => string.Join(";", r.Groups.Concat([r.Overall]).SelectMany(g => g.Metrics.Values).Concat(r.Disparities.Select(d => d.Value))
            .Select(v => $"{v.Lower:R},{v.Upper:R}"));
        Assert.Equal(Bounds(first), Bounds(again));
        Assert.Equal(Bounds(first), Bounds(oneCore)); // however many cores the resamples ran on
        Assert.NotEqual(Bounds(first), Bounds(other));
        var a = first.Groups[0].Metrics[FairnessMetric.SelectionRate];
        Assert.True(a.Lower <= a.Value && a.Value <= a.Upper, $"{a}");
    }

    [Fact]
    public void Evaluate_KnownRates_IntervalsCoverTheTruthAtAboutTheNominalRate()
    {
        // 300 simulated holdouts, two groups of 200 with true selection rates 0.3 and 0.2 (disparity 0.1);
        // 95 % intervals from 400 resamples each should cover the truth in about 95 % of them.
        var random = new Random(11);
        int coveredRate = 0, coveredDifference = 0;
        const int trials = 300;
        var grouping = FairnessGroups.FromValues("g", [.. Enumerable.Repeat("a", 200), .. Enumerable.Repeat("b", 200)]);
        var labels = new bool[400];
        for (var t = 0; t < trials; t++)
        {
            var scores = Enumerable.Range(0, 400).Select(i => random.NextDouble() < (i < 200 ? 0.3 : 0.2) ? 0.9 : 0.1).ToArray();
            var result = FairnessCalculator.Evaluate(grouping, labels, scores, Threshold, new FairnessSettings(Resamples: 400, Seed: t));
            var a = result.Groups[0].Metrics[FairnessMetric.SelectionRate];
            if (a.Lower <= 0.3 && 0.3 <= a.Upper) coveredRate++;
            var d = result.Disparities.Single(x => x.Name == DisparityName.DemographicParity && x.Kind == "difference" && x.Method == DisparityName.BetweenGroups).Value;
            if (d.Lower <= 0.1 && 0.1 <= d.Upper) coveredDifference++;
        }

        Assert.InRange(coveredRate / (double)trials, 0.91, 0.99);
        Assert.InRange(coveredDifference / (double)trials, 0.90, 0.99);
    }
}
