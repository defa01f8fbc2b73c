namespace FraudWorkbench.Core.Training;

public sealed record ThresholdChoice(string Method, double Threshold, ConfusionMatrix Confusion, double? ExpectedCost = null);

/// <param name="Cost">Missed fraud amounts plus review costs if every score ≥ <see cref="Threshold"/> is reviewed.</param>
public sealed record CostPoint(double Threshold, double Cost, long Reviews, double ReviewsPerDay, bool WithinCap);

/// <summary>Picks the decision threshold: the one with the best F1, or the one with the lowest expected fraud cost.</summary>
public static class ThresholdSelection
{
    /// <summary>The threshold (among the distinct scores) with the highest F1; ties go to the higher threshold.</summary>
    public static ThresholdChoice MaxF1(IReadOnlyList<double> scores, IReadOnlyList<bool> labels)
    {
        var best = (F1: -1.0, Threshold: ClassificationMetrics.FlagNothing);
        foreach (var point in ClassificationMetrics.PrecisionRecallCurve(scores, labels))
        {
            var f1 = point.X + point.Y == 0 ? 0 : 2 * point.X * point.Y / (point.X + point.Y);
            if (f1 > best.F1) best = (f1, point.Threshold);
        }

        return new ThresholdChoice("max_f1", best.Threshold, ClassificationMetrics.Confusion(scores, labels, best.Threshold));
    }

    /// <summary>
    /// Expected cost of each threshold: every missed fraud costs its amount, every flagged transaction costs a
    /// review. With <paramref name="maxReviewsPerDay"/>, thresholds that would flag more per day than the team
    /// can review are left out of the choice (but stay on the curve).
    /// </summary>
    /// <param name="days">How many days the scored rows span, to turn flags into flags per day.</param>
    public static (ThresholdChoice Choice, IReadOnlyList<CostPoint> Curve) MinExpectedCost(
        IReadOnlyList<double> scores, IReadOnlyList<bool> labels, IReadOnlyList<double> amounts, double reviewCost, double days, double? maxReviewsPerDay = null)
    {
        if (amounts.Count != scores.Count) throw new ArgumentException($"{scores.Count} scores but {amounts.Count} amounts.");
        if (reviewCost < 0) throw new ArgumentOutOfRangeException(nameof(reviewCost), "A review cannot cost less than nothing.");
        if (days <= 0) throw new ArgumentOutOfRangeException(nameof(days), "The rows must span a positive number of days.");

        var order = Enumerable.Range(0, scores.Count).OrderByDescending(i => scores[i]).ToArray();
        var missed = 0.0;
        for (var i = 0; i < scores.Count; i++) if (labels[i]) missed += amounts[i];

        // Flag nothing first, then lower the threshold one distinct score at a time.
        var curve = new List<CostPoint> { new(ClassificationMetrics.FlagNothing, missed, 0, 0, true) };
        long reviews = 0;
        for (var k = 0; k < order.Length; k++)
        {
            reviews++;
            if (labels[order[k]]) missed -= amounts[order[k]];
            if (k < order.Length - 1 && scores[order[k + 1]] == scores[order[k]]) continue;
            var perDay = reviews / days;
            curve.Add(new CostPoint(scores[order[k]], missed + reviews * reviewCost, reviews, perDay, maxReviewsPerDay is not double cap || perDay <= cap));
        }

        var best = curve.Where(p => p.WithinCap).MinBy(p => p.Cost)!;
        return (new ThresholdChoice("min_expected_cost", best.Threshold, ClassificationMetrics.Confusion(scores, labels, best.Threshold), best.Cost), curve);
    }
}
