using FraudWorkbench.Core.Fairness;

namespace FraudWorkbench.Tests.Fairness;

public sealed class BinomialTests
{
    [Theory]
    [InlineData(10L, 0.5)] // inversion
    [InlineData(1_000L, 0.02)] // inversion, n·p = 20
    [InlineData(1_000L, 0.3)] // BTPE
    [InlineData(40L, 0.9)] // inversion on the smaller side, n·(1 − p) = 4
    [InlineData(500_000L, 0.999_99)] // p near 1: n minus an inversion draw
    [InlineData(2_000L, 0.6)] // BTPE on the smaller side
    [InlineData(1_000_000_000L, 1e-8)] // huge n, tiny p: n·p = 10 by inversion, (1 − p)ⁿ through log1p
    [InlineData(1_000_000_000L, 1e-6)] // huge n, small p: BTPE with n·p = 1,000
    [InlineData(1_000_000_000_000L, 0.25)] // huge n and n·p
    public void Sample_ManyDraws_MeanAndVarianceAsNpAndNpq(long n, double p)
    {
        const int draws = 200_000;
        var random = new Random(42);
        double sum = 0, squares = 0;
        var values = new long[draws];
        for (var i = 0; i < draws; i++)
        {
            var x = values[i] = Binomial.Sample(random, n, p);
            Assert.InRange(x, 0, n);
            sum += x;
        }

        var mean = sum / draws;
        foreach (var x in values) squares += (x - mean) * (x - mean);
        var variance = squares / (draws - 1);
        var expectedMean = n * p;
        var expectedVariance = n * p * (1 - p);
        // Four standard errors of the sample mean; the sample variance's relative standard error is about √(2 / draws) = 0.3 %.
        Assert.InRange(mean, expectedMean - (4 * Math.Sqrt(expectedVariance / draws)), expectedMean + (4 * Math.Sqrt(expectedVariance / draws)));
        Assert.InRange(variance / expectedVariance, 0.985, 1.015);
    }

    [Theory]
    [InlineData(60, 0.3)] // inversion
    [InlineData(100, 0.4)] // BTPE: its triangle, parallelograms, tails and the squeeze all take part
    [InlineData(300, 0.75)] // BTPE on the smaller side
    public void Sample_Histogram_MatchesTheBinomialMassFunction(int n, double p)
    {
        const int draws = 400_000;
        var random = new Random(7);
        var counts = new int[n + 1];
        for (var i = 0; i < draws; i++) counts[Binomial.Sample(random, n, p)]++;

        // The mass function by its recursion from P(0) in logs, so no term underflows on the way.
        var log = new double[n + 1];
        log[0] = n * Math.Log(1 - p);
        for (var k = 1; k <= n; k++) log[k] = log[k - 1] + Math.Log((n - k + 1) / (double)k) + Math.Log(p / (1 - p));
        var chiSquare = 0.0;
        var cells = 0;
        var distance = 0.0;
        for (var k = 0; k <= n; k++)
        {
            var expected = draws * Math.Exp(log[k]);
            distance += Math.Abs((counts[k] / (double)draws) - Math.Exp(log[k])) / 2;
            if (expected < 5) continue;
            chiSquare += (counts[k] - expected) * (counts[k] - expected) / expected;
            cells++;
        }

        // χ² with (cells − 1) degrees of freedom has mean cells − 1 and sd √(2(cells − 1)): six sds is far beyond chance.
        Assert.InRange(chiSquare, 0, cells - 1 + (6 * Math.Sqrt(2 * (cells - 1))));
        Assert.InRange(distance, 0, 0.01);
    }

    [Theory]
    [InlineData(0L, 0.3, 0L)]
    [InlineData(12L, 0.0, 0L)]
    [InlineData(12L, 1.0, 12L)]
    [InlineData(1_000_000_000L, 1.0, 1_000_000_000L)]
    public void Sample_Degenerate_IsCertain(long n, double p, long expected)
    {
        var random = new Random(1);

        for (var i = 0; i < 100; i++) Assert.Equal(expected, Binomial.Sample(random, n, p));
    }

    [Fact]
    public void Sample_SameSeed_SameDraws()
    {
        long[] Draw(int seed)
        {
            var random = new Random(seed);
            return [.. Enumerable.Range(0, 1_000).Select(i => Binomial.Sample(random, 1 + (i * 997L), 0.001 * (1 + (i % 999))))];
        }

        Assert.Equal(Draw(3), Draw(3));
        Assert.NotEqual(Draw(3), Draw(4));
    }
}
