using System.Diagnostics;

namespace FraudWorkbench.Bench;

/// <summary>How the latency benches time a call and summarise the times.</summary>
internal static class Timing
{
    /// <summary>Milliseconds of each call after one untimed warm-up call.</summary>
    public static async Task<List<double>> TimeAsync(int calls, Func<Task> call)
    {
        await call();
        var times = new List<double>(calls);
        for (var i = 0; i < calls; i++)
        {
            var watch = Stopwatch.StartNew();
            await call();
            times.Add(watch.Elapsed.TotalMilliseconds);
        }

        return times;
    }

    /// <summary>Nearest-rank percentile.</summary>
    public static double Percentile(IReadOnlyList<double> values, double share)
    {
        var sorted = values.Order().ToArray();
        return sorted[Math.Clamp((int)Math.Ceiling(share * sorted.Length) - 1, 0, sorted.Length - 1)];
    }
}
