using FraudWorkbench.Core.Explain;

namespace FraudWorkbench.Tests.Explain;

public sealed class ExplanationPlotsTests
{
    [Fact]
    public void ValueRanks_HandExample_TiesShareTheirMeanRankScaledByTheLast()
    {
        // 2, 2, 10, 30 take ranks 0..3; the two 2s share (0 + 1) / 2 = 0.5; each is divided by the last rank, 3.
        var ranks = ExplanationPlots.ValueRanks(["10", "2", null, "30", "2"]);

        Assert.Equal<double?>([2 / 3.0, 0.5 / 3, null, 1, 0.5 / 3], ranks);
        Assert.Equal<double?>([null, null], ExplanationPlots.ValueRanks(["a", "1"])); // one word: not a numeric column
    }

    [Fact]
    public void SwarmCrowding_HandExample_BinCountOverTheFullestBin()
    {
        // Two bins over 0..1: 0, 0.1 and 0.2 in the first (3 points), 1 in the last (1 point).
        Assert.Equal([1, 1, 1, 1 / 3.0], ExplanationPlots.SwarmCrowding([0, 0.1, 0.2, 1], bins: 2));
        Assert.Equal([1, 1], ExplanationPlots.SwarmCrowding([5, 5], bins: 2)); // no range: one bin
    }

    [Fact]
    public void SwarmOffsets_HandExample_SeededJitterScaledBySpreadAndCrowding()
    {
        var offsets = ExplanationPlots.SwarmOffsets([0, 0.1, 0.2, 1], spread: 0.4, seed: 7, bins: 2);

        // The same uniform draws as Random(7), mapped to [−1, 1), times 0.4 and the crowding 1, 1, 1, 1/3.
        var random = new Random(7);
        double[] draws = [.. Enumerable.Range(0, 4).Select(_ => random.NextDouble() * 2 - 1)];
        Assert.Equal(draws[0] * 0.4, offsets[0], 12);
        Assert.Equal(draws[3] * 0.4 / 3, offsets[3], 12);
        Assert.InRange(Math.Abs(offsets[3]), 0, 0.4 / 3);
        Assert.Empty(ExplanationPlots.SwarmOffsets([]));
    }

    [Fact]
    public void DependencePoints_NumericMissingLeftOut_CategoricalIndexedWithMissingLast()
    {
        var amount = new ColumnSummary("amount", 0.5, [new(1.2, "250"), new(-0.3, "10"), new(0.1, null), new(-0.2, "3e1")]);
        var (x, y, categories, missing) = ExplanationPlots.DependencePoints(amount);
        Assert.Equal([250, 10, 30], x);
        Assert.Equal([1.2, -0.3, -0.2], y);
        Assert.Null(categories);
        Assert.Equal(1, missing);

        var country = new ColumnSummary("country", 0.4, [new(0.5, "FR"), new(-0.1, "DE"), new(0.2, null), new(0.3, "FR")]);
        (x, y, categories, missing) = ExplanationPlots.DependencePoints(country);
        Assert.Equal([1, 0, 2, 1], x);
        Assert.Equal([0.5, -0.1, 0.2, 0.3], y);
        Assert.Equal(["DE", "FR", "(missing)"], categories);
        Assert.Equal(0, missing);
    }

    [Fact]
    public void EvenSample_TenIntoFour_FloorOfIStepTenQuarters()
    {
        Assert.Equal([0, 2, 5, 7], ExplanationPlots.EvenSample(10, 4)); // 0, 2.5, 5, 7.5 floored
        Assert.Equal([0, 1], ExplanationPlots.EvenSample(2, 5));
    }
}
