namespace FraudWorkbench.Core.Performance;

/// <summary>
/// Learns how fraud labels arrive after a prediction from the delays seen so far. Recent predictions can only have shown
/// short delays (the data are right-truncated: a label is seen only if its delay ≤ the prediction's age), so the plain
/// share of delays would say labels come faster than they do. The Lynden-Bell estimator corrects for it:
/// F(x) = Π over y &gt; x of (1 − n(y) / R(y)), n(y) the labels after y days, R(y) those with delay ≤ y among
/// predictions at least y days old; F(window) = 1 (labels after the window are not expected).
/// </summary>
public static class LabelArrival
{
    /// <param name="days">Per day of predictions: the longest delay its predictions could have shown by now (their age in
    /// whole days) and its fraud labels by delay in days (<see cref="PerformanceCounts.FraudDelays"/>).</param>
    /// <param name="window">The label window in days.</param>
    public static LabelArrivalCurve Learn(IEnumerable<(int Observable, long[] Delays)> days, int window)
    {
        var arrived = new double[window + 1];
        var atRisk = new double[window + 1];
        long labels = 0;
        foreach (var (observable, delays) in days)
        {
            var cumulative = 0.0;
            var last = Math.Min(window, delays.Length - 1);
            for (var y = 0; y <= last; y++)
            {
                cumulative += delays[y];
                arrived[y] += delays[y];
                labels += delays[y];
                // A label seen after y days proves its prediction was observable that long even if the clock says less.
                if (y <= Math.Max(observable, LastNonZero(delays, last))) atRisk[y] += cumulative;
            }
        }

        var share = new double[window + 1];
        if (labels == 0)
        {
            // Nothing learned yet: labels assumed to arrive evenly over the window.
            for (var x = 0; x <= window; x++) share[x] = (x + 1.0) / (window + 1);
            return new LabelArrivalCurve(share, 0, MedianOf(share));
        }

        share[window] = 1;
        for (var x = window - 1; x >= 0; x--)
        {
            var y = x + 1;
            share[x] = atRisk[y] > 0 ? share[y] * (1 - arrived[y] / atRisk[y]) : share[y];
        }

        return new LabelArrivalCurve(share, labels, MedianOf(share));
    }

    /// <summary>The expected share of a day's eventual fraud labels already in, <paramref name="ageDays"/> after its predictions.</summary>
    public static double Maturity(LabelArrivalCurve curve, double ageDays, int window) => ageDays >= window ? 1 : curve.At(Math.Max(0, ageDays));

    private static int LastNonZero(long[] delays, int last)
    {
        for (var y = last; y >= 0; y--) if (delays[y] != 0) return y;
        return -1;
    }

    private static int? MedianOf(double[] share)
    {
        for (var x = 0; x < share.Length; x++) if (share[x] >= 0.5) return x;
        return null;
    }
}
