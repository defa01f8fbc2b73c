using FraudWorkbench.Core.Training;

namespace FraudWorkbench.Tests.Training;

public sealed class ClassificationMetricsTests
{
    private static bool[] Labels(params int[] y) => [.. y.Select(v => v == 1)];

    [Fact]
    public void RocAucAndAveragePrecision_ScikitLearnDocumentationExample()
    {
        // sklearn.metrics.roc_auc_score / average_precision_score docstrings: 0.75 and 0.8333…
        double[] scores = [0.1, 0.4, 0.35, 0.8];
        var labels = Labels(0, 0, 1, 1);

        var report = ClassificationMetrics.Evaluate(scores, labels);

        Assert.Equal(0.75, report.RocAuc, 12);
        Assert.Equal(0.8333333333333333, report.AveragePrecision, 12);
        // By hand: thresholds 0.8 (R .5, P 1), 0.4 (R .5, P .5), 0.35 (R 1, P .667), 0.1 (R 1, P .5) -> .5·1 + .5·(2/3).
    }

    [Fact]
    public void LogLossAndBrier_ScikitLearnDocumentationExamples()
    {
        // log_loss(["spam","ham","ham","spam"], [[.1,.9],[.9,.1],[.8,.2],[.35,.65]]) = 0.21616…
        Assert.Equal(0.21616187468057912, ClassificationMetrics.LogLoss([0.9, 0.1, 0.2, 0.65], Labels(1, 0, 0, 1)), 12);
        // brier_score_loss([0, 1, 1, 0], [0.1, 0.9, 0.8, 0.3]) = 0.0375
        Assert.Equal(0.0375, ClassificationMetrics.Brier([0.1, 0.9, 0.8, 0.3], Labels(0, 1, 1, 0)), 12);
        // A certain, wrong prediction is clipped, not infinite: −ln(2⁻⁵²)/1.
        Assert.Equal(36.04365338911715, ClassificationMetrics.LogLoss([0.0], Labels(1)), 9);
    }

    [Fact]
    public void RocAuc_TiedScores_CountHalf()
    {
        // One positive and one negative share a score: the pair counts ½, as in the Mann–Whitney statistic.
        var report = ClassificationMetrics.Evaluate([0.5, 0.5, 0.9, 0.1], Labels(1, 0, 1, 0));

        Assert.Equal((1 + 1 + 1 + 0.5) / 4, report.RocAuc, 12);
    }

    [Fact]
    public void RecallAtOnePercentFpr_HighestTprWithFprAtMostOnePercent()
    {
        // 200 negatives, 198 of them below 0.66 and two at 0.96 and 0.99: the 1 % budget allows exactly those two.
        var scores = new List<double>();
        var labels = new List<bool>();
        for (var i = 0; i < 198; i++) { scores.Add(i / 300.0); labels.Add(false); }
        scores.AddRange([0.96, 0.99]); labels.AddRange([false, false]);
        scores.AddRange([0.999, 0.998, 0.97, 0.95, 0.9, 0.8, 0.7, 0.6, 0.5, 0.1]); labels.AddRange(Enumerable.Repeat(true, 10));

        var report = ClassificationMetrics.Evaluate(scores, labels);

        // At threshold 0.7 the two high negatives are flagged (FPR 0.01) with 7 of 10 frauds; one step lower passes a third negative.
        Assert.Equal(0.7, report.RecallAtOnePercentFpr, 12);
        // scikit-learn 1.2 on the same scores: average_precision_score 0.6152542372881354, roc_auc_score 0.87625.
        Assert.Equal(0.6152542372881354, report.AveragePrecision, 12);
        Assert.Equal(0.87625, report.RocAuc, 12);
        Assert.Equal((10L, 200L), (report.Positives, report.Negatives));
    }

    [Fact]
    public void Confusion_AtThreshold_CountsAndRates()
    {
        var confusion = ClassificationMetrics.Confusion([0.9, 0.8, 0.3, 0.6, 0.2], Labels(1, 0, 1, 1, 0), 0.5);

        Assert.Equal(new ConfusionMatrix(2, 1, 1, 1), confusion);
        Assert.Equal((2.0 / 3, 2.0 / 3, 2.0 / 3, 0.5), (confusion.Precision, confusion.Recall, confusion.F1, confusion.FalsePositiveRate));
    }

    [Fact]
    public void Calibration_BinsMeanPredictionAgainstObservedRate()
    {
        var bins = ClassificationMetrics.Calibration([0.05, 0.08, 0.91, 0.95], Labels(0, 1, 1, 1), bins: 10);

        Assert.Equal([new CalibrationBin(0.065, 0.5, 2), new CalibrationBin(0.93, 1, 2)], bins.Select(b => b with { MeanPredicted = Math.Round(b.MeanPredicted, 12) }));
    }

    [Fact]
    public void MaxF1_PicksTheBestThreshold()
    {
        // Thresholds 0.9: P1 R.33 F.5; 0.8: P.5 R.33; 0.6: P.67 R.67 F.67; 0.3: P.75 R1 F.857; 0.2: P.6 R1 F.75
        var choice = ThresholdSelection.MaxF1([0.9, 0.8, 0.3, 0.6, 0.2], Labels(1, 0, 1, 1, 0));

        Assert.Equal(0.3, choice.Threshold);
        Assert.Equal(new ConfusionMatrix(3, 1, 1, 0), choice.Confusion);
    }

    [Fact]
    public void MinExpectedCost_MissedAmountsAgainstReviewCosts_AndTheDailyCap()
    {
        double[] scores = [0.9, 0.8, 0.7, 0.4, 0.2];
        var labels = Labels(1, 0, 1, 0, 1);
        double[] amounts = [500, 20, 30, 40, 5];

        // Review cost 10: flag none 535; ≥0.9: 35+10; ≥0.8: 35+20; ≥0.7: 5+30; ≥0.4: 5+40; ≥0.2: 0+50.
        var (choice, curve) = ThresholdSelection.MinExpectedCost(scores, labels, amounts, reviewCost: 10, days: 1);
        var (capped, _) = ThresholdSelection.MinExpectedCost(scores, labels, amounts, reviewCost: 10, days: 1, maxReviewsPerDay: 2);

        Assert.Equal([535, 45, 55, 35, 45, 50], curve.Select(p => p.Cost));
        Assert.Equal((0.7, 35.0), (choice.Threshold, choice.ExpectedCost!.Value));
        Assert.Equal((0.9, 45.0), (capped.Threshold, capped.ExpectedCost!.Value)); // three reviews a day would be over the cap
    }
}
