using FraudWorkbench.Core.Retraining;
using FraudWorkbench.Core.Training;

namespace FraudWorkbench.Tests.Retraining;

public sealed class ShadowComparerTests
{
    // Champion and challenger probabilities of 12 transactions, ties included (0.20 three times on one side, 0.30 and 0.15 tied across).
    private static readonly double[] Champion = [0.10, 0.20, 0.20, 0.35, 0.50, 0.05, 0.90, 0.65, 0.20, 0.80, 0.15, 0.40];
    private static readonly double[] Challenger = [0.12, 0.18, 0.30, 0.30, 0.55, 0.02, 0.70, 0.75, 0.25, 0.60, 0.15, 0.45];
    private static readonly float[] Latency = [0.5f, 1.2f, 0.8f, 3.0f, 0.7f, 0.9f, 1.1f, 0.6f, 0.75f, 2.5f, 0.4f, 0.95f];

    // The decisions: champion at threshold 0.5, challenger at 0.4.
    private static IReadOnlyList<ShadowPair> Pairs(Func<int, bool?>? label = null) =>
        [.. Enumerable.Range(0, Champion.Length).Select(i => new ShadowPair(Champion[i], Champion[i] >= 0.5, Challenger[i], Challenger[i] >= 0.4, Latency[i],
            new DateTime(2026, 12, 1, 0, i, 0, DateTimeKind.Utc), label?.Invoke(i)))];

    [Fact]
    public void Compare_FixedPairs_StatisticsMatchScipyAndSklearn()
    {
        // Expected values from /usr/bin/python3 (scipy 1.10, scikit-learn 1.2) on the arrays above:
        //   scipy.stats.pearsonr(a, b)[0]                   = 0.9383412583856371
        //   scipy.stats.spearmanr(a, b)[0]                  = 0.9665038284285544   (average ranks for ties)
        //   sklearn.metrics.cohen_kappa_score(a>=.5, b>=.4) = 0.8235294117647058
        //   numpy.percentile(latency, 99)                    = 2.9450000000000003   (linear interpolation)
        var comparison = ShadowReference.Compare(Pairs(), dropped: 7);

        Assert.Equal(12, comparison.Transactions);
        Assert.Equal(7, comparison.Dropped);
        Assert.Equal(0.9383412583856371, comparison.ScoreCorrelation!.Value, 12);
        Assert.Equal(0.9665038284285544, comparison.RankCorrelation!.Value, 12);
        Assert.Equal(0.8235294117647058, comparison.Kappa!.Value, 12);
        // By hand: the decisions differ only on the 12th transaction (0.40 < 0.5, 0.45 >= 0.4).
        Assert.Equal(11 / 12.0, comparison.FlagAgreement!.Value, 12);
        Assert.Equal(4 / 12.0, comparison.ChampionFlagRate, 12);
        Assert.Equal(5 / 12.0, comparison.ChallengerFlagRate, 12);
        Assert.Equal(4.5, comparison.ChampionExpectedFraud, 12);
        Assert.Equal(4.37, comparison.ChallengerExpectedFraud, 12);
        Assert.Equal(4.5 / 12, comparison.ChampionMeanScore, 12);
        Assert.Equal(4.37 / 12, comparison.ChallengerMeanScore, 12);
        Assert.Equal(2.945, comparison.ChallengerLatencyP99Ms, 5); // float latencies: 3.0f and 2.5f are exact
        Assert.Equal(new DateTime(2026, 12, 1, 0, 0, 0, DateTimeKind.Utc), comparison.From);
        Assert.Equal(new DateTime(2026, 12, 1, 0, 11, 0, DateTimeKind.Utc), comparison.To);
        Assert.Equal(0, comparison.Labelled);
        Assert.Null(comparison.ChampionRealized);
        Assert.Null(comparison.ChallengerRealized);
    }

    [Fact]
    public void Compare_SomeLabelled_RealizedMetricsOnTheLabelledRowsOnly()
    {
        // Labels on the first 8 transactions: fraud where the champion scored 0.5 or more, plus the 4th (0.35).
        var comparison = ShadowReference.Compare(Pairs(i => i < 8 ? Champion[i] >= 0.5 || i == 3 : null), dropped: 0);

        Assert.Equal(8, comparison.Labelled);
        Assert.Equal(4, comparison.LabelledFraud);
        bool[] labels = [false, false, false, true, true, false, true, true];
        var champion = ClassificationMetrics.Evaluate(Champion[..8], labels);
        var challenger = ClassificationMetrics.Evaluate(Challenger[..8], labels);
        Assert.Equal(champion, comparison.ChampionRealized);
        Assert.Equal(challenger, comparison.ChallengerRealized);
        // The champion ranks the four fraud above the four legitimate: a perfect ROC AUC; the challenger ties 0.30 (fraud) with 0.30 (legitimate).
        Assert.Equal(1.0, comparison.ChampionRealized!.RocAuc, 12);
        Assert.Equal(15.5 / 16, comparison.ChallengerRealized!.RocAuc, 12);
    }

    [Fact]
    public void Compare_LabelsOfOneClassOnly_NoRealizedMetrics()
    {
        var comparison = ShadowReference.Compare(Pairs(i => i < 5 ? false : null), dropped: 0);

        Assert.Equal(5, comparison.Labelled);
        Assert.Equal(0, comparison.LabelledFraud);
        Assert.Null(comparison.ChampionRealized);
        Assert.Null(comparison.ChallengerRealized);
    }

    [Fact]
    public void Compare_Nothing_ZeroesAndNulls()
    {
        var comparison = ShadowReference.Compare([], dropped: 3);

        Assert.Equal((0L, 3L, (DateTime?)null), (comparison.Transactions, comparison.Dropped, comparison.From));
        Assert.Null(comparison.ScoreCorrelation);
        Assert.Null(comparison.RankCorrelation);
        Assert.Null(comparison.FlagAgreement);
        Assert.Null(comparison.Kappa);
        Assert.Equal(0, comparison.ChallengerLatencyP99Ms);
    }

    [Fact]
    public void Statistics_ConstantSide_CorrelationAndKappaUndefined()
    {
        Assert.Null(ShadowReference.Pearson([0.2, 0.2, 0.2], [0.1, 0.5, 0.9]));
        Assert.Null(ShadowReference.Spearman([0.3, 0.3], [0.1, 0.2]));
        Assert.Null(ShadowReference.Kappa([false, false], [false, false]));
        // One side constant, the other not: chance agreement below 1, kappa 0 (sklearn gives 0.0 too).
        Assert.Equal(0.0, ShadowReference.Kappa([false, false, false, false], [true, false, false, false])!.Value, 12);
    }

    [Fact]
    public void Ranks_Ties_ShareTheirAverageRank()
    {
        // scipy.stats.rankdata([0.2, 0.1, 0.2, 0.5, 0.2]) = [3., 1., 3., 5., 3.]
        Assert.Equal([3.0, 1.0, 3.0, 5.0, 3.0], ShadowReference.Ranks([0.2, 0.1, 0.2, 0.5, 0.2]));
    }
}
