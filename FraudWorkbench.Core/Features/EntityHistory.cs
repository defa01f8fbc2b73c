namespace FraudWorkbench.Core.Features;

/// <summary>
/// What one entity (a customer, a card) has done, for point-in-time features: its events within the
/// longest window and running totals over all of its history. The batch path keeps one per entity in
/// memory while it walks a dataset in time order; the scoring path loads and saves the same object in
/// PostgreSQL. Queries only ever see events strictly earlier than the instant asked about.
/// </summary>
public sealed class EntityHistory
{
    public List<long> Times { get; set; } = [];   // ticks, ascending
    public List<double> Values { get; set; } = [];

    /// <summary>Count and sum of the events already dropped from <see cref="Times"/> (all older than what is kept).</summary>
    public long OlderCount { get; set; }
    public double OlderSum { get; set; }

    /// <summary>Records an event; events older than <paramref name="keep"/> before it are forgotten.</summary>
    public void Observe(long ticks, double value, long keep)
    {
        var index = Times.Count;
        while (index > 0 && Times[index - 1] > ticks) index--; // online events may arrive slightly out of order
        Times.Insert(index, ticks);
        Values.Insert(index, value);
        var cutoff = Times[^1] - keep;
        var drop = 0;
        while (drop < Times.Count && Times[drop] < cutoff)
        {
            OlderCount++;
            OlderSum += Values[drop];
            drop++;
        }

        if (drop > 0)
        {
            Times.RemoveRange(0, drop);
            Values.RemoveRange(0, drop);
        }
    }

    /// <summary>Count and sum of events in [t − window, t), strictly before <paramref name="ticks"/>.</summary>
    public (int Count, double Sum) Window(long ticks, long window)
    {
        var count = 0;
        var sum = 0.0;
        for (var i = Times.Count - 1; i >= 0; i--)
        {
            if (Times[i] >= ticks) continue;
            if (Times[i] < ticks - window) break;
            count++;
            sum += Values[i];
        }

        return (count, sum);
    }

    /// <summary>Mean of every value strictly before <paramref name="ticks"/>, or null without one.</summary>
    public double? MeanBefore(long ticks)
    {
        // Summed forwards over what is strictly earlier, never by subtracting later events, so the
        // batch and scoring paths round identically whatever else the state holds.
        var count = OlderCount;
        var sum = OlderSum;
        for (var i = 0; i < Times.Count && Times[i] < ticks; i++)
        {
            count++;
            sum += Values[i];
        }

        return count > 0 ? sum / count : null;
    }

    /// <summary>Seconds since the latest event strictly before <paramref name="ticks"/>, or null when none is remembered.</summary>
    public double? SecondsSincePrevious(long ticks)
    {
        for (var i = Times.Count - 1; i >= 0; i--)
        {
            if (Times[i] < ticks) return (ticks - Times[i]) / (double)TimeSpan.TicksPerSecond;
        }

        return null;
    }
}
