using FraudWorkbench.Core.Performance;

namespace FraudWorkbench.Tests.Performance;

/// <summary>
/// Realized metrics of fixed cohorts against scikit-learn. Expected values from Debian's python3-sklearn 1.2.1:
/// <code>
/// import math
/// from sklearn.metrics import roc_auc_score, average_precision_score, confusion_matrix
/// def show(name, p, y, t):
///     tn, fp, fn, tp = confusion_matrix(y, [int(x &gt;= t) for x in p], labels=[0, 1]).ravel()
///     print(name, repr(roc_auc_score(y, p)), repr(average_precision_score(y, p)), tp, fp, fn, tn)
/// show("ties", [0.9, 0.9, 0.8, 0.8, 0.8, 0.5, 0.3, 0.3, 0.1, 0.1, 0.05, 0.05], [1, 0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 1], 0.5)
/// z = [-6 + 0.8 * i for i in range(16)]
/// show("distinct", [1 / (1 + math.exp(-v)) for v in z], [0, 0, 1, 0, 0, 0, 1, 0, 0, 1, 0, 1, 1, 0, 1, 1], 0.5)
/// n = 5000
/// y = [1 if (i * math.sqrt(2)) % 1.0 &lt; 0.05 else 0 for i in range(1, n + 1)]
/// p = [1 / (1 + math.exp(-(-3 + 1.5 * y[i - 1] + 4 * ((i * 0.6180339887498949) % 1.0 - 0.5)))) for i in range(1, n + 1)]
/// show("continuous", p, y, 0.2)
/// b = [min(max(math.floor((math.log(x / (1 - x)) + 10) / 0.02), 0), 999) for x in p]  # each score replaced by its bin
/// print("binned", repr(roc_auc_score(y, b)), repr(average_precision_score(y, b)))
/// # ties       0.6142857142857143 0.5233333333333333 3 3 2 4
/// # distinct   0.761904761904762  0.7663265306122449 5 3 2 6
/// # continuous 0.7999570526315789 0.4588525241976927 117 462 133 4288
/// # binned     0.800104           0.4575549211507369
/// </code>
/// </summary>
public sealed class PerformanceCalculatorTests
{
    private static readonly double[] TiedScores = [0.9, 0.9, 0.8, 0.8, 0.8, 0.5, 0.3, 0.3, 0.1, 0.1, 0.05, 0.05];
    private static readonly bool[] TiedLabels = Labels(1, 0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 1);
    private static readonly double[] TiedAmounts = [120, 80, 40, 60, 10, 25, 300, 5, 15, 20, 35, 500];

    private static bool[] Labels(params int[] values) => [.. values.Select(v => v == 1)];

    private static RealizedPerformance Realized(IReadOnlyList<double> scores, IReadOnlyList<bool> labels, double threshold, IReadOnlyList<double>? amounts = null, double reviewCost = 0) =>
        PerformanceCalculator.Realized(PerformanceCounts.FromLabelled(scores, labels, threshold, amounts), reviewCost, amounts is not null);

    private static void AssertConfusion(RealizedPerformance realized, long tp, long fp, long fn, long tn)
    {
        Assert.Equal((double)tp, realized.Confusion.TruePositives);
        Assert.Equal((double)fp, realized.Confusion.FalsePositives);
        Assert.Equal((double)fn, realized.Confusion.FalseNegatives);
        Assert.Equal((double)tn, realized.Confusion.TrueNegatives);
    }

    [Fact]
    public void Realized_TiedScores_EqualsSklearnWithTieGroups()
    {
        var realized = Realized(TiedScores, TiedLabels, 0.5);

        Assert.Equal(0.6142857142857143, realized.Metrics[PerformanceMetric.RocAuc]!.Value, 12);
        Assert.Equal(0.5233333333333333, realized.Metrics[PerformanceMetric.AveragePrecision]!.Value, 12);
        AssertConfusion(realized, 3, 3, 2, 4);
        Assert.Equal(3.0 / 6, realized.Metrics[PerformanceMetric.Precision]!.Value, 12);
        Assert.Equal(3.0 / 5, realized.Metrics[PerformanceMetric.Recall]!.Value, 12);
        Assert.Equal(3.0 / 7, realized.Metrics[PerformanceMetric.FalsePositiveRate]!.Value, 12);
        Assert.Equal(6.0 / 12, realized.Metrics[PerformanceMetric.FlagRate]!.Value, 12);
        Assert.Equal(5.0 / 12, realized.Metrics[PerformanceMetric.FraudRate]!.Value, 12);
        Assert.Equal((12L, 12L, 5L), (realized.Predictions, realized.Labelled, realized.FraudLabels));
    }

    [Fact]
    public void Realized_ScoresInDistinctBins_EqualsSklearnExactly()
    {
        // Logits 0.8 apart: every score has its own bin (0.02 wide), so the bins are sklearn's distinct thresholds.
        var scores = Enumerable.Range(0, 16).Select(i => 1 / (1 + Math.Exp(-(-6 + 0.8 * i)))).ToArray();
        Assert.Equal(16, scores.Select(ScoreBins.Of).Distinct().Count());
        var realized = Realized(scores, Labels(0, 0, 1, 0, 0, 0, 1, 0, 0, 1, 0, 1, 1, 0, 1, 1), 0.5);

        Assert.Equal(0.761904761904762, realized.Metrics[PerformanceMetric.RocAuc]!.Value, 12);
        Assert.Equal(0.7663265306122449, realized.Metrics[PerformanceMetric.AveragePrecision]!.Value, 12);
        AssertConfusion(realized, 5, 3, 2, 6);
    }

    [Fact]
    public void Realized_ContinuousScores_BinsMergeCloseScoresWithinOneThousandth()
    {
        const int n = 5000;
        var labels = Enumerable.Range(1, n).Select(i => i * Math.Sqrt(2) % 1.0 < 0.05).ToArray();
        var scores = Enumerable.Range(1, n).Select(i => 1 / (1 + Math.Exp(-(-3 + 1.5 * (labels[i - 1] ? 1 : 0) + 4 * (i * 0.6180339887498949 % 1.0 - 0.5))))).ToArray();
        // The bins really do merge here (5,000 distinct scores over a few hundred bins), so this is the approximate case.
        Assert.True(scores.Select(ScoreBins.Of).Distinct().Count() < 500);

        var realized = Realized(scores, labels, 0.2);

        // Given the bins, the curves are exactly sklearn's on the bin indices (each bin one tie group).
        var auc = realized.Metrics[PerformanceMetric.RocAuc]!.Value;
        var ap = realized.Metrics[PerformanceMetric.AveragePrecision]!.Value;
        Assert.Equal(0.800104, auc, 12);
        Assert.Equal(0.4575549211507369, ap, 12);
        // Against sklearn on the raw scores: ROC-AUC within 1e-3 (the bins' bound: a fraud and a legitimate score sharing a
        // bin count as half a pair; here 1.5e-4 off). Average precision has no such bound: merging a bin's scores changes
        // the precision at each fraud inside it; here it is 1.3e-3 off, so its bound is stated as 2e-3.
        Assert.True(Math.Abs(auc - 0.7999570526315789) <= 1e-3, $"ROC-AUC {auc}");
        Assert.True(Math.Abs(ap - 0.4588525241976927) <= 2e-3, $"average precision {ap}");
        // The confusion matrix depends on the threshold only, never on the bins: exact.
        AssertConfusion(realized, 117, 462, 133, 4288);
    }

    [Fact]
    public void Realized_WithAmounts_MoneyByHand()
    {
        // Flagged (p ≥ 0.5): rows 0–5; fraud among them rows 0, 2, 3 → 120 + 40 + 60 caught. Fraud let through: rows 6
        // and 11 → 300 + 500 missed. Review cost 2 × 6 flagged = 12; net loss 800 + 12.
        var realized = Realized(TiedScores, TiedLabels, 0.5, TiedAmounts, reviewCost: 2);

        Assert.Equal(new Money(220, 800, 12, 812), realized.Money);
        Assert.Null(Realized(TiedScores, TiedLabels, 0.5).Money);
    }

    [Fact]
    public void Realized_NoFraud_CurvesAndRecallUndefined()
    {
        var realized = Realized([0.9, 0.2, 0.1], [false, false, false], 0.5);

        Assert.Null(realized.Metrics[PerformanceMetric.RocAuc]);
        Assert.Null(realized.Metrics[PerformanceMetric.AveragePrecision]);
        Assert.Null(realized.Metrics[PerformanceMetric.Recall]);
        Assert.Equal(0.0, realized.Metrics[PerformanceMetric.Precision]);
        Assert.Equal(1.0 / 3, realized.Metrics[PerformanceMetric.FalsePositiveRate]!.Value, 12);
        Assert.Equal(0.0, realized.Metrics[PerformanceMetric.FraudRate]);
    }

    [Fact]
    public void Realized_UnlabelledPredictions_CountAsLegitimate()
    {
        // Three predictions, one fraud label: the other two are legitimate until a label says otherwise.
        var counts = new PerformanceCounts();
        counts.AddPrediction(0.9, true, 50);
        counts.AddPrediction(0.7, true, 20);
        counts.AddPrediction(0.1, false, 10);
        counts.AddLabel(0.9, true, 50, isFraud: true, delayDays: 3, sign: 1);

        var realized = PerformanceCalculator.Realized(counts, 1, true);

        Assert.Equal((3L, 1L, 1L), (realized.Predictions, realized.Labelled, realized.FraudLabels));
        Assert.Equal(new Confusion(1, 1, 0, 1), realized.Confusion);
        Assert.Equal(1.0, realized.Metrics[PerformanceMetric.RocAuc]);
        Assert.Equal(new Money(50, 0, 2, 2), realized.Money);
        Assert.Equal(1, counts.FraudDelays[3]);
    }

    [Fact]
    public void ScoreBins_Ends_CatchTheRest()
    {
        Assert.Equal(0, ScoreBins.Of(0));
        Assert.Equal(0, ScoreBins.Of(double.NaN));
        Assert.Equal(0, ScoreBins.Of(1e-9)); // logit −20.7, below the range
        Assert.Equal(ScoreBins.Count - 1, ScoreBins.Of(1));
        Assert.Equal(ScoreBins.Count - 1, ScoreBins.Of(1 - 1e-9));
        Assert.Equal(500, ScoreBins.Of(0.5)); // logit 0 starts the middle bin
        Assert.Equal(499, ScoreBins.Of(0.4999));
        // At 2 % a bin is about 0.0004 wide in probability: 0.02 and 0.0201 (0.005 apart in log-odds) share bin 305 = ⌊(ln(0.02/0.98) + 10) / 0.02⌋.
        Assert.Equal(305, ScoreBins.Of(0.02));
        Assert.Equal(305, ScoreBins.Of(0.0201));
    }
}
