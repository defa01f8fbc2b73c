using FraudWorkbench.Core.Data;

namespace FraudWorkbench.Tests.Data;

public sealed class HistogramBinningTests
{
    private static double[] Sorted(IEnumerable<double> values) => [.. values.Order()];

    [Fact]
    public void ChooseKind_LogNormalAmounts_LogBins_UniformLinear_NegativeHeavyTailQuantile()
    {
        var random = new Random(3);
        double Normal() => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
        var logNormal = Sorted(Enumerable.Range(0, 5000).Select(_ => Math.Exp(4 + 1.1 * Normal())));
        var uniform = Sorted(Enumerable.Range(0, 5000).Select(_ => random.NextDouble() * 1000));
        var normal = Sorted(Enumerable.Range(0, 5000).Select(_ => 50 + 10 * Normal()));
        var profitAndLoss = Sorted(logNormal.Select(v => v - 100)); // the same tail, shifted below zero

        Assert.Equal(HistogramBinning.Log, HistogramBinning.ChooseKind(logNormal));
        Assert.Equal(HistogramBinning.Linear, HistogramBinning.ChooseKind(uniform));
        Assert.Equal(HistogramBinning.Linear, HistogramBinning.ChooseKind(normal));
        Assert.Equal(HistogramBinning.Quantile, HistogramBinning.ChooseKind(profitAndLoss));
        // Too few values to judge a tail: linear whatever the shape.
        Assert.Equal(HistogramBinning.Linear, HistogramBinning.ChooseKind(Sorted([1, 1, 1, 2, 1000])));
    }

    [Fact]
    public void Edges_HandExamples_LinearLogAndQuantile()
    {
        // log(1 + x) from 0 to log 1000 in three equal steps: 1 + x = 1, 10, 100, 1000.
        var log = HistogramBinning.Edges(HistogramBinning.Log, [0, 5, 50, 999], 3);
        Assert.Equal([0, 9, 99, 999], log.Select(e => Math.Round(e, 9)));

        // Quantiles at 0, 1/3, 2/3, 1 of ten values (h = 9k/3 = 0, 3, 6, 9): 1, 4, 7, 100.
        double[] ten = [1, 2, 3, 4, 5, 6, 7, 8, 9, 100];
        Assert.Equal([1, 4, 7, 100], HistogramBinning.Edges(HistogramBinning.Quantile, ten, 3));
        // Repeated quantiles are merged: six of ten values are 0, so q(1/3) = q(0) = 0.
        Assert.Equal([0, 0.5, 9], HistogramBinning.Edges(HistogramBinning.Quantile, [0, 0, 0, 0, 0, 0, 0.5, 1, 5, 9], 3));

        Assert.Equal([1, 34, 67, 100], HistogramBinning.Edges(HistogramBinning.Linear, ten, 3));
    }

    [Fact]
    public void BinOf_LowerEdgeInclusive_TopEdgeInLastBin()
    {
        double[] edges = [0, 9, 99, 999];
        Assert.Equal([0, 0, 1, 1, 2, 2], new[] { 0, 8.99, 9, 98, 99, 999 }.Select(v => HistogramBinning.BinOf(edges, v)));
    }

    [Fact]
    public void ShowsFraudRate_NearEmptyBins_Omitted()
    {
        // 10,000 rows: a bin needs 20 labelled rows and 100 rows (1 %) for its rate to be drawn.
        Assert.True(HistogramBinning.ShowsFraudRate(new HistogramBin(0, 1, 100, 5, 100), 10_000));
        Assert.False(HistogramBinning.ShowsFraudRate(new HistogramBin(0, 1, 99, 5, 99), 10_000)); // under 1 % of rows
        Assert.False(HistogramBinning.ShowsFraudRate(new HistogramBin(0, 1, 19, 19, 19), 100)); // 19 % of rows but 19 rows
        Assert.False(HistogramBinning.ShowsFraudRate(new HistogramBin(0, 1, 500, 5, 19), 10_000)); // 19 labelled
        Assert.False(HistogramBinning.ShowsFraudRate(new HistogramBin(0, 1, 500, null, null), 10_000)); // no label
    }
}
