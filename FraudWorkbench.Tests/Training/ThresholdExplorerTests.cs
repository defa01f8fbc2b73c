using FraudWorkbench.Core.Training;

namespace FraudWorkbench.Tests.Training;

/// <summary>
/// Independent values: by hand (shown next to each), and with plain Python written from the definitions
/// (ROC-AUC by counting positive–negative pairs, the Mann–Whitney form, not the trapezoid used here; average
/// precision as scikit-learn's Σ (Rₙ − Rₙ₋₁)·Pₙ; exact binomial quantiles from math.comb). scikit-learn
/// itself was not installed on the machine these were written on.
/// </summary>
public sealed class ThresholdExplorerTests
{
    // Fraud at 0.9, 0.8, 0.6, 0.4; legitimate at 0.7, 0.55, 0.5, 0.3, 0.2, 0.1.
    private static readonly double[] Scores = [0.9, 0.8, 0.7, 0.6, 0.55, 0.5, 0.4, 0.3, 0.2, 0.1];
    private static readonly bool[] Labels = [true, true, false, true, false, false, true, false, false, false];
    private static readonly double[] Amounts = [100, 50, 7, 20, 7, 7, 10, 7, 7, 7];

    [Fact]
    public void At_ThresholdBetweenScores_CountsByHand()
    {
        var table = new ThresholdTable(new ValidationScores(Scores, Labels, Amounts), reviewCost: 5);

        // ≥ 0.65 flags 0.9, 0.8, 0.7: TP 2, FP 1; missed fraud 20 + 10 = 30, plus 3 reviews × 5.
        var point = table.At(0.65);

        Assert.Equal(new ConfusionMatrix(2, 1, 5, 2), point.Confusion);
        Assert.Equal(2.0 / 3, point.Confusion.Precision, 12);
        Assert.Equal(0.5, point.Confusion.Recall, 12);
        Assert.Equal(1.0 / 6, point.Confusion.FalsePositiveRate, 12);
        Assert.Equal(0.3, point.FlaggedShare, 12);
        Assert.Equal(45, point.ExpectedCost!.Value, 9);
    }

    [Fact]
    public void At_ThresholdOnAScore_FlagsThatScore()
    {
        var table = new ThresholdTable(new ValidationScores(Scores, Labels, Amounts), reviewCost: 5);

        // ≥ 0.6 includes the fraud at exactly 0.6: TP 3, FP 1, missed 10, 4 reviews × 5.
        var point = table.At(0.6);

        Assert.Equal(new ConfusionMatrix(3, 1, 5, 1), point.Confusion);
        Assert.Equal(0.75, point.Confusion.Precision, 12);
        Assert.Equal(0.4, point.FlaggedShare, 12);
        Assert.Equal(30, point.ExpectedCost!.Value, 9);
        // The same number as the cost curve the run chose its threshold from.
        var (_, curve) = ThresholdSelection.MinExpectedCost(Scores, Labels, Amounts, 5, 1);
        Assert.Equal(curve.Single(p => p.Threshold == 0.6).Cost, point.ExpectedCost.Value, 9);
    }

    [Fact]
    public void At_Extremes_FlagEverythingOrNothing()
    {
        var table = new ThresholdTable(new ValidationScores(Scores, Labels, null));

        Assert.Equal(new ConfusionMatrix(4, 6, 0, 0), table.At(0).Confusion);
        Assert.Equal(new ConfusionMatrix(0, 0, 6, 4), table.At(0.95).Confusion);
        Assert.Equal(1, table.At(0).FlaggedShare);
        Assert.Null(table.At(0.5).ExpectedCost); // no amounts kept: no cost
    }

    [Fact]
    public void At_SampledValidation_ScalesCostBackToAllRows()
    {
        var table = new ThresholdTable(new ValidationScores(Scores, Labels, Amounts, SampleRate: 0.5), reviewCost: 5);

        Assert.Equal(90, table.At(0.65).ExpectedCost!.Value, 9); // 45 on the kept half ÷ 0.5
    }

    [Fact]
    public void Grid_ManyScores_AscendingAndIncludesChosenThreshold()
    {
        var scores = Enumerable.Range(0, 1000).Select(i => i / 1000.0).ToArray();
        var table = new ThresholdTable(new ValidationScores(scores, [.. scores.Select(s => s > 0.9)], null));

        var grid = table.Grid(points: 50, include: 0.12345);

        Assert.Equal(51, grid.Count);
        Assert.Equal(0, grid[0]);
        Assert.Equal(0.999, grid[^1]);
        Assert.Contains(0.12345, grid);
        Assert.True(grid.Zip(grid.Skip(1)).All(p => p.First < p.Second));
    }

    [Fact]
    public void Compute_PointEstimates_EqualDefinitionValues()
    {
        var intervals = BootstrapIntervals.Compute(Scores, Labels, [0.6], new BootstrapOptions(Resamples: 200));

        // 20 of 24 fraud–legitimate pairs ordered right; AP = .25·1 + .25·1 + .25·(3/4) + .25·(4/7).
        Assert.Equal(0.8333333333333334, intervals.RocAuc.Estimate, 12);
        Assert.Equal(0.8303571428571428, intervals.PrAuc.Estimate, 12);
        var report = ClassificationMetrics.Evaluate(Scores, Labels);
        Assert.Equal(report.RocAuc, intervals.RocAuc.Estimate, 12);
        Assert.Equal(report.AveragePrecision, intervals.PrAuc.Estimate, 12);
    }

    [Fact]
    public void Compute_TiedScores_PointEstimatesMatchTheCurves()
    {
        double[] scores = [0.5, 0.5, 0.9, 0.1, 0.5, 0.9];
        bool[] labels = [true, false, true, false, false, false];

        var intervals = BootstrapIntervals.Compute(scores, labels, [0.5], new BootstrapOptions(Resamples: 50));

        var report = ClassificationMetrics.Evaluate(scores, labels);
        Assert.Equal(report.RocAuc, intervals.RocAuc.Estimate, 12);
        Assert.Equal(report.AveragePrecision, intervals.PrAuc.Estimate, 12);
    }

    [Fact]
    public void Compute_Intervals_ContainEstimateAndNarrowWithMoreRows()
    {
        var (smallScores, smallLabels) = Ramp(100, 1000);
        var (largeScores, largeLabels) = Ramp(400, 4000);

        var small = BootstrapIntervals.Compute(smallScores, smallLabels, [0.4]);
        var large = BootstrapIntervals.Compute(largeScores, largeLabels, [0.4]);

        // Pairs counted in Python: fraud at i/100 against legitimate at 0.5·j/1000.
        Assert.Equal(0.74525, small.RocAuc.Estimate, 12);
        foreach (var interval in new[] { small.RocAuc, small.PrAuc, large.RocAuc, large.PrAuc })
        {
            Assert.True(interval.Contains(interval.Estimate), $"{interval} does not contain its estimate");
            Assert.True(interval.Width > 0);
        }

        // Four times the rows: about half the width (1/√4); wide bounds so the test checks the law, not noise.
        Assert.InRange(large.RocAuc.Width / small.RocAuc.Width, 0.35, 0.65);
        Assert.InRange(large.PrAuc.Width / small.PrAuc.Width, 0.35, 0.65);
    }

    [Fact]
    public void RecallAt_StratifiedBootstrap_MatchesExactBinomialQuantiles()
    {
        // Resampling the 400 fraud rows with replacement makes the flagged count Binomial(400, 0.6):
        // its 2.5 % and 97.5 % quantiles ÷ 400 are 0.5525 and 0.6475 (exact, from math.comb).
        var (scores, labels) = Ramp(400, 4000);
        var intervals = BootstrapIntervals.Compute(scores, labels, [0.4]);
        var observed = new ThresholdTable(new ValidationScores(scores, labels, null)).At(0.4).Confusion;

        var recall = intervals.RecallAt(0, observed);

        Assert.Equal(0.6, recall.Estimate, 12);
        Assert.InRange(recall.Low, 0.5525 - 0.01, 0.5525 + 0.01);
        Assert.InRange(recall.High, 0.6475 - 0.01, 0.6475 + 0.01);
        var precision = intervals.PrecisionAt(0, observed);
        Assert.Equal(240.0 / 1040, precision.Estimate, 12);
        Assert.True(precision.Contains(precision.Estimate));
        var fpr = intervals.FalsePositiveRateAt(0, observed);
        Assert.Equal(0.2, fpr.Estimate, 12);
        Assert.True(fpr.Low < 0.2 && fpr.High > 0.2);
    }

    [Fact]
    public void Compute_SameSeed_SameIntervals_OtherSeed_Differs()
    {
        var (scores, labels) = Ramp(50, 500);

        var first = BootstrapIntervals.Compute(scores, labels, [0.4]);
        var again = BootstrapIntervals.Compute(scores, labels, [0.4]);
        var other = BootstrapIntervals.Compute(scores, labels, [0.4], new BootstrapOptions(Seed: 7));

        Assert.Equal(first.PrAuc, again.PrAuc);
        Assert.Equal(first.RocAuc, again.RocAuc);
        Assert.NotEqual(first.PrAuc, other.PrAuc);
    }

    [Fact]
    public void Compute_OneClassOnly_Throws()
    {
        Assert.Throws<ArgumentException>(() => BootstrapIntervals.Compute([0.1, 0.2], [false, false], [0.5]));
    }

    [Fact]
    public void ValidationScores_RoundTrip_AndSampleKeepsClassShare()
    {
        var scores = new ValidationScores(Scores, Labels, Amounts, 1, 3.5);
        var back = ValidationScores.Deserialize(scores.Serialize());

        Assert.Equal(Scores, back.Probabilities);
        Assert.Equal(Labels, back.Labels);
        Assert.Equal(Amounts, back.Amounts);
        Assert.Equal(3.5, back.Days);
        Assert.Throws<InvalidDataException>(() => ValidationScores.Deserialize(scores.Serialize().AsSpan(0, 30)));

        var (many, manyLabels) = Ramp(1000, 9000);
        var kept = ValidationScores.Keep(many, manyLabels, null, 1, seed: 1, maxRows: 1000);
        Assert.Equal(1000, kept.Count);
        Assert.Equal(100, kept.Labels.Count(l => l)); // 10 % fraud before and after
        Assert.Equal(0.1, kept.SampleRate, 12);
    }

    /// <summary>Fraud scores spread evenly over [0, 1), legitimate ones over [0, 0.5).</summary>
    private static (double[] Scores, bool[] Labels) Ramp(int positives, int negatives) =>
        ([.. Enumerable.Range(0, positives).Select(i => (double)i / positives), .. Enumerable.Range(0, negatives).Select(j => 0.5 * j / negatives)],
         [.. Enumerable.Repeat(true, positives), .. Enumerable.Repeat(false, negatives)]);
}
