namespace FraudWorkbench.Core.Performance;

/// <summary>
/// Scores in <see cref="Count"/> bins of equal width in log-odds over [−10, 10] (the ends catch the rest): fine where
/// fraud scores crowd near 0 or 1, and the same for every version, so cohorts spanning a promotion add up. A bin is a
/// tie group for the curves, so ROC-AUC and average precision equal scikit-learn's whenever no fraud and legitimate
/// score share a bin; otherwise ROC-AUC differs by at most half the share of such pairs, and average precision by a
/// similarly small amount (about 1e-3 on 5,000 scores spread over a few hundred bins; see PerformanceCalculatorTests).
/// </summary>
public static class ScoreBins
{
    public const int Count = 1000;
    private const double Low = -10, High = 10;
    private const double Width = (High - Low) / Count;

    public static int Of(double probability)
    {
        if (!(probability > 0)) return 0;
        if (probability >= 1) return Count - 1;
        var logit = Math.Log(probability / (1 - probability));
        return Math.Clamp((int)Math.Floor((logit - Low) / Width), 0, Count - 1);
    }
}

/// <summary>
/// One version's predictions of one UTC day as performance monitoring keeps them (a <c>performance_counts</c> row, or
/// the change a log batch or a label batch makes to one): counts and sums that add, so any cohort is a sum of days.
/// </summary>
public sealed class PerformanceCounts
{
    /// <summary>Fraud label delays are counted per whole day up to this; the last slot holds this many days or more.</summary>
    public const int MaxDelayDays = 365;

    public long Rows { get; set; }
    public long Flagged { get; set; }
    public double SumP { get; set; }
    public double SumPq { get; set; }
    public double SumPFlagged { get; set; }
    public double AmountFlagged { get; set; }
    public double AmountUnflagged { get; set; }
    public double PAmountFlagged { get; set; }
    public double PAmountUnflagged { get; set; }
    public long[] BinRows { get; set; } = new long[ScoreBins.Count];
    public double[] BinP { get; set; } = new double[ScoreBins.Count];
    public long[] BinFraud { get; set; } = new long[ScoreBins.Count];
    public long FraudFlagged { get; set; }
    public long FraudUnflagged { get; set; }
    public long LegitFlagged { get; set; }
    public long LegitUnflagged { get; set; }
    public double FraudAmountFlagged { get; set; }
    public double FraudAmountUnflagged { get; set; }
    public long[] FraudDelays { get; set; } = new long[MaxDelayDays + 1];

    /// <summary>A labelled set (a validation holdout, a reference chunk) counted as a day of predictions whose labels are all in.</summary>
    public static PerformanceCounts FromLabelled(IReadOnlyList<double> probabilities, IReadOnlyList<bool> labels, double threshold, IReadOnlyList<double>? amounts = null)
    {
        var counts = new PerformanceCounts();
        for (var i = 0; i < probabilities.Count; i++)
        {
            var decision = probabilities[i] >= threshold;
            var amount = amounts?[i];
            counts.AddPrediction(probabilities[i], decision, amount);
            counts.AddLabel(probabilities[i], decision, amount, labels[i], 0, 1);
        }

        return counts;
    }

    public long Labelled => FraudFlagged + FraudUnflagged + LegitFlagged + LegitUnflagged;

    public long FraudLabels => FraudFlagged + FraudUnflagged;

    /// <summary>Counts a logged prediction; <paramref name="amount"/> is null when the version has no amount column or the value is missing.</summary>
    public void AddPrediction(double probability, bool decision, double? amount)
    {
        Rows++;
        SumP += probability;
        SumPq += probability * (1 - probability);
        var bin = ScoreBins.Of(probability);
        BinRows[bin]++;
        BinP[bin] += probability;
        var value = amount ?? 0;
        if (decision)
        {
            Flagged++;
            SumPFlagged += probability;
            AmountFlagged += value;
            PAmountFlagged += probability * value;
        }
        else
        {
            AmountUnflagged += value;
            PAmountUnflagged += probability * value;
        }
    }

    /// <summary>Adds (<paramref name="sign"/> = 1) or takes back (−1) a prediction's label.</summary>
    /// <param name="delayDays">From the prediction to the label (its date when given, else when it was received).</param>
    public void AddLabel(double probability, bool decision, double? amount, bool isFraud, double delayDays, int sign)
    {
        var bin = ScoreBins.Of(probability);
        if (isFraud)
        {
            BinFraud[bin] += sign;
            if (decision)
            {
                FraudFlagged += sign;
                FraudAmountFlagged += sign * (amount ?? 0);
            }
            else
            {
                FraudUnflagged += sign;
                FraudAmountUnflagged += sign * (amount ?? 0);
            }

            FraudDelays[DelaySlot(delayDays)] += sign;
        }
        else
        {
            if (decision) LegitFlagged += sign;
            else LegitUnflagged += sign;
        }
    }

    public static int DelaySlot(double delayDays) => Math.Clamp((int)Math.Floor(delayDays), 0, MaxDelayDays);

    public void Add(PerformanceCounts other)
    {
        Rows += other.Rows;
        Flagged += other.Flagged;
        SumP += other.SumP;
        SumPq += other.SumPq;
        SumPFlagged += other.SumPFlagged;
        AmountFlagged += other.AmountFlagged;
        AmountUnflagged += other.AmountUnflagged;
        PAmountFlagged += other.PAmountFlagged;
        PAmountUnflagged += other.PAmountUnflagged;
        for (var b = 0; b < ScoreBins.Count; b++)
        {
            BinRows[b] += other.BinRows[b];
            BinP[b] += other.BinP[b];
            BinFraud[b] += other.BinFraud[b];
        }

        FraudFlagged += other.FraudFlagged;
        FraudUnflagged += other.FraudUnflagged;
        LegitFlagged += other.LegitFlagged;
        LegitUnflagged += other.LegitUnflagged;
        FraudAmountFlagged += other.FraudAmountFlagged;
        FraudAmountUnflagged += other.FraudAmountUnflagged;
        for (var d = 0; d <= MaxDelayDays; d++) FraudDelays[d] += other.FraudDelays[d];
    }
}
