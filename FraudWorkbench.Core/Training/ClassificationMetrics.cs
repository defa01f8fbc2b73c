namespace FraudWorkbench.Core.Training;

public sealed record ConfusionMatrix(long TruePositives, long FalsePositives, long TrueNegatives, long FalseNegatives)
{
    public double Precision => TruePositives + FalsePositives == 0 ? 0 : (double)TruePositives / (TruePositives + FalsePositives);
    public double Recall => TruePositives + FalseNegatives == 0 ? 0 : (double)TruePositives / (TruePositives + FalseNegatives);
    public double F1 => Precision + Recall == 0 ? 0 : 2 * Precision * Recall / (Precision + Recall);
    public double FalsePositiveRate => FalsePositives + TrueNegatives == 0 ? 0 : (double)FalsePositives / (FalsePositives + TrueNegatives);
}

/// <summary>One point of a curve: the threshold (predict fraud when score ≥ it) and the two rates.</summary>
public sealed record CurvePoint(double Threshold, double X, double Y);

public sealed record CalibrationBin(double MeanPredicted, double ObservedRate, long Count);

public sealed record ClassificationReport(
    double RocAuc,
    double AveragePrecision,
    double LogLoss,
    double Brier,
    double RecallAtOnePercentFpr,
    long Positives,
    long Negatives);

/// <summary>
/// Validation metrics for a binary fraud model, defined as scikit-learn defines them so the numbers can
/// be checked against it: ROC AUC by the trapezoidal rule over the ROC curve (ties form one point),
/// average precision Σ (Rₙ − Rₙ₋₁)·Pₙ without interpolation, log loss with probabilities clipped to
/// [ε, 1 − ε] (ε = 2⁻⁵²), Brier score as the mean squared error of the probability.
/// </summary>
public static class ClassificationMetrics
{
    /// <summary>The threshold that flags nothing; finite, so that curves can be stored as JSON.</summary>
    public const double FlagNothing = double.MaxValue;

    public static ClassificationReport Evaluate(IReadOnlyList<double> probabilities, IReadOnlyList<bool> labels)
    {
        Check(probabilities, labels);
        var roc = RocCurve(probabilities, labels);
        return new ClassificationReport(
            Area(roc), AveragePrecision(probabilities, labels), LogLoss(probabilities, labels), Brier(probabilities, labels),
            RecallAtFalsePositiveRate(roc, 0.01), labels.LongCount(l => l), labels.LongCount(l => !l));
    }

    /// <summary>ROC points from (0, 0) to (1, 1), one per distinct score, highest score first.</summary>
    public static IReadOnlyList<CurvePoint> RocCurve(IReadOnlyList<double> scores, IReadOnlyList<bool> labels)
    {
        var (thresholds, tps, fps) = Cumulative(scores, labels);
        double positives = tps.Count == 0 ? 0 : tps[^1], negatives = fps.Count == 0 ? 0 : fps[^1];
        var points = new List<CurvePoint>(thresholds.Count + 1) { new(FlagNothing, 0, 0) };
        for (var i = 0; i < thresholds.Count; i++)
        {
            points.Add(new CurvePoint(thresholds[i], negatives == 0 ? 0 : fps[i] / negatives, positives == 0 ? 0 : tps[i] / positives));
        }

        return points;
    }

    /// <summary>Precision (Y) against recall (X) per distinct score, highest score first.</summary>
    public static IReadOnlyList<CurvePoint> PrecisionRecallCurve(IReadOnlyList<double> scores, IReadOnlyList<bool> labels)
    {
        var (thresholds, tps, fps) = Cumulative(scores, labels);
        double positives = tps.Count == 0 ? 0 : tps[^1];
        return [.. thresholds.Select((t, i) => new CurvePoint(t, positives == 0 ? 0 : tps[i] / positives, tps[i] / (tps[i] + fps[i])))];
    }

    public static double Area(IReadOnlyList<CurvePoint> curve)
    {
        var area = 0.0;
        for (var i = 1; i < curve.Count; i++) area += (curve[i].X - curve[i - 1].X) * (curve[i].Y + curve[i - 1].Y) / 2;
        return area;
    }

    public static double AveragePrecision(IReadOnlyList<double> scores, IReadOnlyList<bool> labels)
    {
        var curve = PrecisionRecallCurve(scores, labels);
        var previousRecall = 0.0;
        var ap = 0.0;
        foreach (var point in curve)
        {
            ap += (point.X - previousRecall) * point.Y;
            previousRecall = point.X;
        }

        return ap;
    }

    public static double LogLoss(IReadOnlyList<double> probabilities, IReadOnlyList<bool> labels)
    {
        const double epsilon = 2.220446049250313e-16;
        var sum = 0.0;
        for (var i = 0; i < probabilities.Count; i++)
        {
            var p = Math.Clamp(probabilities[i], epsilon, 1 - epsilon);
            sum -= labels[i] ? Math.Log(p) : Math.Log(1 - p);
        }

        return sum / probabilities.Count;
    }

    public static double Brier(IReadOnlyList<double> probabilities, IReadOnlyList<bool> labels)
    {
        var sum = 0.0;
        for (var i = 0; i < probabilities.Count; i++)
        {
            var error = probabilities[i] - (labels[i] ? 1 : 0);
            sum += error * error;
        }

        return sum / probabilities.Count;
    }

    /// <summary>The highest true positive rate among ROC points whose false positive rate is at most <paramref name="maxFpr"/>.</summary>
    public static double RecallAtFalsePositiveRate(IReadOnlyList<CurvePoint> roc, double maxFpr) =>
        roc.Where(p => p.X <= maxFpr + 1e-12).Select(p => p.Y).DefaultIfEmpty(0).Max();

    public static ConfusionMatrix Confusion(IReadOnlyList<double> scores, IReadOnlyList<bool> labels, double threshold)
    {
        long tp = 0, fp = 0, tn = 0, fn = 0;
        for (var i = 0; i < scores.Count; i++)
        {
            var flagged = scores[i] >= threshold;
            if (labels[i]) { if (flagged) tp++; else fn++; }
            else { if (flagged) fp++; else tn++; }
        }

        return new ConfusionMatrix(tp, fp, tn, fn);
    }

    /// <summary>Equal-width probability bins with the mean prediction and the observed fraud rate in each (empty bins left out).</summary>
    public static IReadOnlyList<CalibrationBin> Calibration(IReadOnlyList<double> probabilities, IReadOnlyList<bool> labels, int bins = 10)
    {
        var sums = new double[bins];
        var positives = new long[bins];
        var counts = new long[bins];
        for (var i = 0; i < probabilities.Count; i++)
        {
            var b = Math.Min(bins - 1, (int)(Math.Clamp(probabilities[i], 0, 1) * bins));
            sums[b] += probabilities[i];
            counts[b]++;
            if (labels[i]) positives[b]++;
        }

        return [.. Enumerable.Range(0, bins).Where(b => counts[b] > 0).Select(b => new CalibrationBin(sums[b] / counts[b], (double)positives[b] / counts[b], counts[b]))];
    }

    /// <summary>Distinct scores in descending order with the cumulative true and false positives at or above each.</summary>
    private static (List<double> Thresholds, List<double> Tps, List<double> Fps) Cumulative(IReadOnlyList<double> scores, IReadOnlyList<bool> labels)
    {
        Check(scores, labels);
        var order = Enumerable.Range(0, scores.Count).OrderByDescending(i => scores[i]).ToArray();
        var thresholds = new List<double>();
        var tps = new List<double>();
        var fps = new List<double>();
        double tp = 0, fp = 0;
        for (var k = 0; k < order.Length; k++)
        {
            if (labels[order[k]]) tp++; else fp++;
            if (k == order.Length - 1 || scores[order[k + 1]] != scores[order[k]])
            {
                thresholds.Add(scores[order[k]]);
                tps.Add(tp);
                fps.Add(fp);
            }
        }

        return (thresholds, tps, fps);
    }

    private static void Check(IReadOnlyList<double> scores, IReadOnlyList<bool> labels)
    {
        if (scores.Count != labels.Count) throw new ArgumentException($"{scores.Count} scores but {labels.Count} labels.");
        if (scores.Count == 0) throw new ArgumentException("No rows to evaluate.");
    }
}
