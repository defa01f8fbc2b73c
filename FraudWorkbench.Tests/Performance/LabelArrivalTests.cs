using FraudWorkbench.Core.Performance;

namespace FraudWorkbench.Tests.Performance;

public sealed class LabelArrivalTests
{
    private static long[] Delays(params (int Days, long Labels)[] labels)
    {
        var delays = new long[PerformanceCounts.MaxDelayDays + 1];
        foreach (var (days, count) in labels) delays[days] += count;
        return delays;
    }

    [Fact]
    public void Learn_NoTruncation_EqualsTheEmpiricalCdf()
    {
        // Every day is older than the window, so every delay it will ever show is in: the curve is the plain share of
        // labels in by each day. Delays 0, 2, 2, 5, 5, 5, 9 and one after the window (not expected, not counted).
        var days = new[]
        {
            (Observable: 40, Delays: Delays((0, 1), (2, 2), (5, 1))),
            (Observable: 25, Delays: Delays((5, 2), (9, 1), (12, 1))),
        };

        var curve = LabelArrival.Learn(days, 10);

        double[] ecdf = [1 / 7.0, 1 / 7.0, 3 / 7.0, 3 / 7.0, 3 / 7.0, 6 / 7.0, 6 / 7.0, 6 / 7.0, 6 / 7.0, 1, 1];
        Assert.Equal(ecdf.Length, curve.Share.Count);
        for (var x = 0; x < ecdf.Length; x++) Assert.Equal(ecdf[x], curve.Share[x], 12);
        Assert.Equal(7, curve.Labels);
        Assert.Equal(5, curve.MedianDays);
    }

    [Fact]
    public void Learn_RightTruncated_MatchesAnIndependentLyndenBell()
    {
        // Labels as (delay, days the prediction could have waited): (1,10) ×2, (3,10), (8,10), (0,4), (2,4) ×2, (1,2).
        // Independent implementation, label by label (python3):
        //   F(x) = Π over y in (x, window] of (1 − n(y) / R(y)), R(y) = #{labels with d ≤ y ≤ T}, n(y) = #{d = y}
        //   labels = [(1,10),(1,10),(3,10),(8,10),(0,4),(2,4),(2,4),(1,2)]; window = 10
        //   → 0.10416666666666669, 0.41666666666666674, 0.625, 0.75, 0.75, 0.75, 0.75, 0.75, 1.0, 1.0, 1.0
        // By hand: y = 8: 1 of the 4 ten-day labels → ¾; y = 3: 1 of 6 → ⅝; y = 2: 2 of 6 → 5/12; y = 1: 3 of 4 → 5/48.
        var days = new[]
        {
            (Observable: 10, Delays: Delays((1, 2), (3, 1), (8, 1))),
            (Observable: 4, Delays: Delays((0, 1), (2, 2))),
            (Observable: 2, Delays: Delays((1, 1))),
        };

        var curve = LabelArrival.Learn(days, 10);

        double[] expected = [0.10416666666666669, 0.41666666666666674, 0.625, 0.75, 0.75, 0.75, 0.75, 0.75, 1.0, 1.0, 1.0];
        for (var x = 0; x < expected.Length; x++) Assert.Equal(expected[x], curve.Share[x], 12);
        Assert.Equal(2, curve.MedianDays);
        // The naive share of seen delays (5 of 8 by day 2) would say labels come faster.
        Assert.True(curve.Share[2] < 6 / 8.0);
    }

    [Fact]
    public void Learn_SimulatedTruncatedDelays_RecoversTheTrueMedianWhereTheNaiveCdfIsTooFast()
    {
        // Fraud labels take Exponential(mean 14 days); window 60. True median of whole-day delays given ≤ 60:
        // (1 − e^(−(x+1)/14)) / (1 − e^(−60/14)) ≥ ½ first at x = 9. Traffic grew: 20 frauds a day 61–120 days ago,
        // 300 a day over the last 30 days, so most labels seen so far come from young days and are the quick ones.
        const int window = 60;
        var random = new Random(42);
        var days = new List<(int Observable, long[] Delays)>();
        var naive = new long[window + 1];
        for (var age = 0; age <= 120; age++)
        {
            var volume = age <= 30 ? 300 : age > 60 ? 20 : 0;
            var delays = new long[PerformanceCounts.MaxDelayDays + 1];
            for (var i = 0; i < volume; i++)
            {
                var delay = -14 * Math.Log(1 - random.NextDouble());
                if (delay > age) continue; // not in yet
                delays[PerformanceCounts.DelaySlot(delay)]++;
                if (delay <= window) naive[(int)delay]++;
            }

            days.Add((age, delays));
        }

        var curve = LabelArrival.Learn(days, window);

        var total = naive.Sum();
        var naiveMedian = Enumerable.Range(0, window + 1).First(x => naive[..(x + 1)].Sum() >= total / 2.0);
        Assert.True(naiveMedian <= 6, $"naive median {naiveMedian} days");
        Assert.True(Math.Abs(curve.MedianDays!.Value - 9) <= 1, $"Lynden-Bell median {curve.MedianDays} days (true 9, naive {naiveMedian})");
        // The whole curve, not only its median: within 0.05 of the truth at 5, 14 and 30 days.
        foreach (var x in new[] { 5, 14, 30 })
        {
            var truth = (1 - Math.Exp(-(x + 1) / 14.0)) / (1 - Math.Exp(-window / 14.0));
            Assert.True(Math.Abs(curve.Share[x] - truth) < 0.05, $"day {x}: {curve.Share[x]} vs {truth}");
        }
    }

    [Fact]
    public void Learn_NoLabelsYet_AssumesEvenArrivalOverTheWindow()
    {
        var curve = LabelArrival.Learn([], 9);

        Assert.Equal(0, curve.Labels);
        Assert.Equal(0.1, curve.Share[0], 12);
        Assert.Equal(0.5, curve.Share[4], 12);
        Assert.Equal(1, curve.Share[9], 12);
        Assert.Equal(4, curve.MedianDays);
    }

    [Fact]
    public void Maturity_AtZeroAndAtTheWindow_FirstShareThenComplete()
    {
        var curve = LabelArrival.Learn([(Observable: 30, Delays: Delays((0, 1), (2, 1), (6, 2)))], 10);

        Assert.Equal(0.25, LabelArrival.Maturity(curve, 0, 10), 12);
        Assert.Equal(0.25, LabelArrival.Maturity(curve, -1, 10), 12); // a clock a little behind
        Assert.Equal(0.375, LabelArrival.Maturity(curve, 1.5, 10), 12); // between days, interpolated: 0.25 + (0.5 − 0.25) · ½
        Assert.Equal(0.5, LabelArrival.Maturity(curve, 4.5, 10), 12);
        Assert.Equal(1, LabelArrival.Maturity(curve, 10, 10));
        Assert.Equal(1, LabelArrival.Maturity(curve, 400, 10));
    }
}
