using FraudWorkbench.Core.Performance;
using Xunit.Abstractions;

namespace FraudWorkbench.Tests.Performance;

/// <summary>
/// CBPE (NannyML's confidence-based performance estimation): the expected confusion matrix worked by hand, and on
/// synthetic scores calibrated by construction the estimates agree with the realized values within their ± 3 SE bands.
/// </summary>
public sealed class CbpeTests(ITestOutputHelper output)
{
    private const double Threshold = 0.2;

    [Fact]
    public void Estimated_FiveRows_ExpectedConfusionMatrixByHand()
    {
        // p = 0.9, 0.6 flagged at 0.5; 0.4, 0.2, 0.05 let through.
        //   TP = 0.9 + 0.6 = 1.5            FP = 0.1 + 0.4 = 0.5
        //   FN = 0.4 + 0.2 + 0.05 = 0.65    TN = 0.6 + 0.8 + 0.95 = 2.35
        // precision 1.5 / 2, recall 1.5 / 2.15, FPR 0.5 / 2.85, flag rate 2 / 5, expected fraud 2.15.
        // Money: caught Σ p·amount flagged = 0.9·100 + 0.6·200 = 210; loss Σ p·amount let through = 0.4·50 + 0.2·300 + 0.05·1000 = 130;
        // review cost 5 × 2 flagged = 10; net 140.
        // Expected ROC-AUC, highest score first (each row its own bin): cumulative TP = Σ p = 0.9, 1.5, 1.9, 2.1, 2.15 and
        // FP = k − TP = 0.1, 0.5, 1.1, 1.9, 2.85; trapezoids Σ ΔFP·(TP + TP₋₁)/2 = 0.045 + 0.48 + 1.02 + 1.6 + 2.01875 = 5.16375,
        // ÷ (2.15 · 2.85) = 0.8427172582619339.
        // Expected average precision Σ ΔR·P = (0.9·0.9 + 0.6·0.75 + 0.4·1.9/3 + 0.2·2.1/4 + 0.05·2.15/5) / 2.15 = 0.7627131782945737.
        double[] p = [0.9, 0.6, 0.4, 0.2, 0.05];
        double[] amounts = [100, 200, 50, 300, 1000];
        var counts = new PerformanceCounts();
        for (var i = 0; i < p.Length; i++) counts.AddPrediction(p[i], p[i] >= 0.5, amounts[i]);

        var estimated = PerformanceCalculator.Estimated(counts, null, 5, true);

        Assert.Equal(1.5, estimated.Confusion.TruePositives, 12);
        Assert.Equal(0.5, estimated.Confusion.FalsePositives, 12);
        Assert.Equal(0.65, estimated.Confusion.FalseNegatives, 12);
        Assert.Equal(2.35, estimated.Confusion.TrueNegatives, 12);
        Assert.Equal(0.75, estimated.Metrics[PerformanceMetric.Precision].Value!.Value, 12);
        Assert.Equal(1.5 / 2.15, estimated.Metrics[PerformanceMetric.Recall].Value!.Value, 12);
        Assert.Equal(0.5 / 2.85, estimated.Metrics[PerformanceMetric.FalsePositiveRate].Value!.Value, 12);
        Assert.Equal(0.4, estimated.Metrics[PerformanceMetric.FlagRate].Value!.Value, 12);
        Assert.Equal(0.43, estimated.Metrics[PerformanceMetric.FraudRate].Value!.Value, 12);
        Assert.Equal(0.8427172582619339, estimated.Metrics[PerformanceMetric.RocAuc].Value!.Value, 12);
        Assert.Equal(0.7627131782945737, estimated.Metrics[PerformanceMetric.AveragePrecision].Value!.Value, 12);
        Assert.Equal(2.15, estimated.ExpectedFraud.Value!.Value, 12);
        // Σ p(1 − p) = 0.09 + 0.24 + 0.24 + 0.16 + 0.0475 = 0.7775: the band is ± 3 √0.7775.
        Assert.Equal(2.15 + 3 * Math.Sqrt(0.7775), estimated.ExpectedFraud.Upper!.Value, 12);
        Assert.Equal(0.0, estimated.ExpectedFraud.Lower!.Value, 12); // 2.15 − 2.645 clipped at no fraud
        Assert.Equal(210, estimated.ExpectedFraudCaught!.Value, 12);
        Assert.Equal(130, estimated.ExpectedFraudLoss!.Value, 12);
        Assert.Equal(210, estimated.Money!.FraudCaught, 12);
        Assert.Equal(130, estimated.Money.FraudMissed, 12);
        Assert.Equal(10, estimated.Money.ReviewCost, 12);
        Assert.Equal(140, estimated.Money.NetLoss, 12);
        // Without a reference there is no band.
        Assert.Null(estimated.Metrics[PerformanceMetric.Recall].Lower);
    }

    /// <summary>Scores whose logits are normal around <paramref name="mean"/>; labels Bernoulli(p), or Bernoulli(p²) when miscalibrated.</summary>
    private static (double[] Scores, bool[] Labels) Sample(Random random, int n, double mean, bool miscalibrated = false)
    {
        var scores = new double[n];
        var labels = new bool[n];
        for (var i = 0; i < n; i++)
        {
            var z = mean + 1.5 * Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
            scores[i] = 1 / (1 + Math.Exp(-z));
            var truth = miscalibrated ? scores[i] * scores[i] : scores[i];
            labels[i] = random.NextDouble() < truth;
        }

        return (scores, labels);
    }

    private sealed record Coverage(int Cohorts)
    {
        public Dictionary<string, int> Inside { get; } = [];

        public void Count(string what, bool inside)
        {
            Inside.TryAdd(what, 0);
            if (inside) Inside[what]++;
        }

        public double Share(string what) => (double)Inside[what] / Cohorts;

        public override string ToString() => string.Join(", ", Inside.Select(kv => $"{kv.Key} {kv.Value}/{Cohorts}"));
    }

    /// <summary>200 cohorts of 2,000 rows (covariate shift: each cohort's mean logit moves by up to ± 0.5), checked against a 20,000-row reference.</summary>
    private static Coverage Simulate(bool miscalibrated)
    {
        var random = new Random(1717);
        var (refScores, refLabels) = Sample(random, 20_000, -3.5);
        var reference = new CbpeReference(refScores, refLabels, Threshold);
        var coverage = new Coverage(200);
        for (var c = 0; c < coverage.Cohorts; c++)
        {
            var (scores, labels) = Sample(random, 2_000, -3.5 + (random.NextDouble() - 0.5), miscalibrated);
            var counts = PerformanceCounts.FromLabelled(scores, labels, Threshold);
            var realized = PerformanceCalculator.Realized(counts, 0, false);
            var estimated = PerformanceCalculator.Estimated(counts, reference, 0, false);

            // The confusion cells' bands, computed here from the rows: a cell is a sum of Bernoulli(p) over its rows,
            // variance Σ p(1 − p) (TP and FP share the flagged rows' variance, FN and TN the others').
            double flaggedVariance = 0, otherVariance = 0;
            for (var i = 0; i < scores.Length; i++)
            {
                if (scores[i] >= Threshold) flaggedVariance += scores[i] * (1 - scores[i]);
                else otherVariance += scores[i] * (1 - scores[i]);
            }

            bool Within(double real, double expected, double variance) => Math.Abs(real - expected) <= 3 * Math.Sqrt(variance);
            coverage.Count("TP", Within(realized.Confusion.TruePositives, estimated.Confusion.TruePositives, flaggedVariance));
            coverage.Count("FP", Within(realized.Confusion.FalsePositives, estimated.Confusion.FalsePositives, flaggedVariance));
            coverage.Count("FN", Within(realized.Confusion.FalseNegatives, estimated.Confusion.FalseNegatives, otherVariance));
            coverage.Count("TN", Within(realized.Confusion.TrueNegatives, estimated.Confusion.TrueNegatives, otherVariance));
            coverage.Count("fraud", realized.FraudLabels >= estimated.ExpectedFraud.Lower && realized.FraudLabels <= estimated.ExpectedFraud.Upper);
            foreach (var metric in new[] { PerformanceMetric.Precision, PerformanceMetric.Recall, PerformanceMetric.RocAuc, PerformanceMetric.AveragePrecision, PerformanceMetric.FalsePositiveRate })
            {
                var estimate = estimated.Metrics[metric];
                Assert.NotNull(estimate.Lower);
                coverage.Count(metric, realized.Metrics[metric] is { } r && r >= estimate.Lower && r <= estimate.Upper);
            }
        }

        return coverage;
    }

    [Fact]
    public void Estimated_CalibratedScores_RealizedInsideTheBandsInAtLeast95PercentOfCohorts()
    {
        var coverage = Simulate(miscalibrated: false);
        output.WriteLine(coverage.ToString());

        foreach (var what in new[] { "TP", "FP", "FN", "TN", "fraud", PerformanceMetric.Precision, PerformanceMetric.Recall, PerformanceMetric.RocAuc, PerformanceMetric.FalsePositiveRate })
        {
            Assert.True(coverage.Share(what) >= 0.95, $"{what} inside in {coverage.Share(what):P1}: {coverage}");
        }
    }

    [Fact]
    public void Estimated_MiscalibratedScores_RealizedOftenOutsideTheBands()
    {
        // Labels from p² while the model says p: far fewer frauds than CBPE expects (concept drift, as CBPE cannot see).
        var coverage = Simulate(miscalibrated: true);
        output.WriteLine(coverage.ToString());

        // Seen: 1–2 % of cohorts inside for these (against ≥ 99 % when calibrated).
        foreach (var what in new[] { "TP", "fraud", PerformanceMetric.Precision, PerformanceMetric.Recall })
        {
            Assert.True(coverage.Share(what) <= 0.1, $"{what} inside in {coverage.Share(what):P1}: {coverage}");
        }
    }

    [Fact]
    public void Reference_CalibratedHoldout_ThresholdsAroundTheValueAndBandsShrinkWithSize()
    {
        var random = new Random(17);
        var (scores, labels) = Sample(random, 20_000, -3.5);
        var reference = new CbpeReference(scores, labels, Threshold);

        foreach (var metric in reference.Metrics.Where(m => m.Value is not null))
        {
            Assert.True(metric.Lower <= metric.Value && metric.Value <= metric.Upper, $"{metric}");
        }

        // Ten reference chunks of 2,000 rows: the thresholds (mean ± 3 σ of the chunks) are about as wide as a 2,000-row
        // cohort's band; a cohort four times larger has a band half as wide (SE ∝ 1 / √n).
        var small = PerformanceCounts.FromLabelled(scores[..2_000], labels[..2_000], Threshold);
        var large = PerformanceCounts.FromLabelled(scores[..8_000], labels[..8_000], Threshold);
        foreach (var metric in new[] { PerformanceMetric.Recall, PerformanceMetric.Precision, PerformanceMetric.RocAuc })
        {
            var ratio = reference.StandardError(metric, small)!.Value / reference.StandardError(metric, large)!.Value;
            Assert.True(Math.Abs(ratio - 2) < 0.3, $"{metric}: SE ratio {ratio}");
        }

        // Recall's SE is the binomial one: √(r (1 − r)) over √(expected fraud).
        var recall = PerformanceCalculator.Realized(PerformanceCounts.FromLabelled(scores, labels, Threshold), 0, false).Metrics[PerformanceMetric.Recall]!.Value;
        Assert.Equal(Math.Sqrt(recall * (1 - recall)) / Math.Sqrt(small.SumP), reference.StandardError(PerformanceMetric.Recall, small)!.Value, 12);
    }
}
