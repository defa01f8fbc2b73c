namespace FraudWorkbench.Core.Performance;

/// <summary>
/// Realized performance (from labels) and CBPE's estimated performance (from calibrated probabilities) of a set of
/// predictions kept as <see cref="PerformanceCounts"/>. Definitions as scikit-learn's (curves over tie groups, here the
/// score bins) and NannyML's CBPE (expected confusion matrix, expected curves from cumulative Σ p).
/// </summary>
public static class PerformanceCalculator
{
    /// <summary>Unlabelled predictions count as legitimate: final once the cohort's label window has passed, provisional before.</summary>
    public static RealizedPerformance Realized(PerformanceCounts c, double reviewCost, bool hasAmount)
    {
        var confusion = new Confusion(c.FraudFlagged, c.Flagged - c.FraudFlagged, c.FraudUnflagged, c.Rows - c.Flagged - c.FraudUnflagged);
        var positives = new double[ScoreBins.Count];
        var negatives = new double[ScoreBins.Count];
        for (var b = 0; b < ScoreBins.Count; b++)
        {
            positives[b] = c.BinFraud[b];
            negatives[b] = c.BinRows[b] - c.BinFraud[b];
        }

        var metrics = Metrics(confusion, positives, negatives, c.BinRows);
        var money = hasAmount ? new Money(c.FraudAmountFlagged, c.FraudAmountUnflagged, reviewCost * c.Flagged, c.FraudAmountUnflagged + reviewCost * c.Flagged) : null;
        return new RealizedPerformance(c.Rows, c.Labelled, c.FraudLabels, confusion, metrics, money);
    }

    /// <summary>
    /// CBPE: TP = Σ p over flagged, FP = Σ (1 − p) over flagged, FN = Σ p over the rest, TN = Σ (1 − p) over the rest;
    /// curves from the expected positives and negatives per score bin. Bands from <paramref name="reference"/>.
    /// </summary>
    public static EstimatedPerformance Estimated(PerformanceCounts c, CbpeReference? reference, double reviewCost, bool hasAmount)
    {
        var flaggedLegit = c.Flagged - c.SumPFlagged;
        var missed = c.SumP - c.SumPFlagged;
        var confusion = new Confusion(c.SumPFlagged, flaggedLegit, missed, c.Rows - c.Flagged - missed);
        var positives = new double[ScoreBins.Count];
        var negatives = new double[ScoreBins.Count];
        for (var b = 0; b < ScoreBins.Count; b++)
        {
            positives[b] = c.BinP[b];
            negatives[b] = Math.Max(0, c.BinRows[b] - c.BinP[b]);
        }

        var values = Metrics(confusion, positives, negatives, c.BinRows);
        var metrics = values.ToDictionary(kv => kv.Key, kv =>
        {
            if (kv.Value is not { } value) return new Estimate(null, null, null);
            if (reference?.StandardError(kv.Key, c) is not { } se) return new Estimate(value, null, null);
            return new Estimate(value, Math.Max(0, value - 3 * se), Math.Min(1, value + 3 * se));
        });
        var spread = 3 * Math.Sqrt(c.SumPq);
        var expectedFraud = new Estimate(c.SumP, Math.Max(0, c.SumP - spread), c.SumP + spread);
        var money = hasAmount ? new Money(c.PAmountFlagged, c.PAmountUnflagged, reviewCost * c.Flagged, c.PAmountUnflagged + reviewCost * c.Flagged) : null;
        return new EstimatedPerformance(confusion, metrics, expectedFraud, hasAmount ? c.PAmountFlagged : null, hasAmount ? c.PAmountUnflagged : null, money);
    }

    private static Dictionary<string, double?> Metrics(Confusion confusion, double[] positives, double[] negatives, long[] rows) => new()
    {
        [PerformanceMetric.RocAuc] = RocAuc(positives, negatives, rows),
        [PerformanceMetric.AveragePrecision] = AveragePrecision(positives, negatives, rows),
        [PerformanceMetric.Recall] = confusion.Recall,
        [PerformanceMetric.Precision] = confusion.Precision,
        [PerformanceMetric.FalsePositiveRate] = confusion.FalsePositiveRate,
        [PerformanceMetric.FlagRate] = confusion.FlagRate,
        [PerformanceMetric.FraudRate] = confusion.FraudRate,
    };

    /// <summary>
    /// Area under the ROC curve by the trapezoidal rule, each non-empty bin one tie group, highest score first (as
    /// scikit-learn's <c>roc_auc_score</c>); null unless there are both positives and negatives.
    /// </summary>
    public static double? RocAuc(double[] positives, double[] negatives, long[]? rows = null)
    {
        double p = positives.Sum(), n = negatives.Sum();
        if (p <= 1e-12 || n <= 1e-12) return null;
        double tp = 0, fp = 0, area = 0;
        for (var b = positives.Length - 1; b >= 0; b--)
        {
            if (rows is not null && rows[b] == 0) continue;
            var tp2 = tp + positives[b];
            var fp2 = fp + negatives[b];
            area += (fp2 - fp) / n * (tp2 + tp) / p / 2;
            tp = tp2;
            fp = fp2;
        }

        return area;
    }

    /// <summary>Σ (Rₙ − Rₙ₋₁) Pₙ over the tie groups, highest score first (scikit-learn's <c>average_precision_score</c>); null without positives.</summary>
    public static double? AveragePrecision(double[] positives, double[] negatives, long[]? rows = null)
    {
        var p = positives.Sum();
        if (p <= 1e-12) return null;
        double tp = 0, fp = 0, ap = 0;
        for (var b = positives.Length - 1; b >= 0; b--)
        {
            if (rows is not null && rows[b] == 0) continue;
            if (positives[b] + negatives[b] <= 0) continue;
            var recallBefore = tp / p;
            tp += positives[b];
            fp += negatives[b];
            ap += (tp / p - recallBefore) * (tp / (tp + fp));
        }

        return ap;
    }
}
