using FraudWorkbench.Core.Fairness;
using FraudWorkbench.Core.Performance;

namespace FraudWorkbench.Core.Alerts;

/// <summary>Realized and estimated performance (the performance day rows) and fairness disparities (the stored day windows).</summary>
public sealed partial class AlertMetricReader
{
    /// <summary>Multi-day fairness windows are computed on demand (the stored windows are single days): only this many of the latest per call.</summary>
    public const int MaxFairnessRanges = 4;

    /// <summary>The closed UTC days a window ending at <paramref name="t"/> covers: from the day of t − window up to, not including, the day of t.</summary>
    private static (DateOnly First, DateOnly End) Days(DateTime t, TimeSpan window)
    {
        var first = DateOnly.FromDateTime(t - window);
        var end = DateOnly.FromDateTime(t);
        return (first, end);
    }

    /// <summary>
    /// The closed UTC days a realized-performance reading at <paramref name="t"/> covers: the latest run of whole days as long
    /// as the window that are all mature at t (a day is mature once its label window has passed: day + 1 + labelWindow ≤ t,
    /// as the Performance tab and retraining count mature days), i.e. the window shifted back to end at the last mature day.
    /// </summary>
    public static (DateOnly First, DateOnly End) MatureDays(DateTime t, TimeSpan window, int labelWindowDays)
    {
        var (first, end) = Days(t, window);
        return (first.AddDays(-labelWindowDays), end.AddDays(-labelWindowDays));
    }

    /// <summary>
    /// CBPE's estimate over the window's days, or the realized value over the latest window of mature days
    /// (<see cref="MatureDays"/>): the window's days summed over every version that served them. Realized figures of days
    /// still inside their label window are provisional (an unlabelled fraud looks legitimate until its chargeback), so a
    /// rule never judges them: with a 90-day label window a reading taken now is about the days that ended 90 days ago.
    /// </summary>
    private async Task<IReadOnlyList<(double? Value, long Sample)>> PerformanceAsync(ModelScope scope, bool realized, string metric, TimeSpan window, DateTime[] ends, CancellationToken cancellationToken)
    {
        var config = await performanceStore.ConfigAsync(scope.Model.Id, cancellationToken);
        var spans = ends.Select(t => realized ? MatureDays(t, window, config.LabelWindowDays) : Days(t, window)).ToArray();
        var first = spans.Min(s => s.First);
        var last = spans.Max(s => s.End).AddDays(-1);
        if (last < first) return Nothing(ends.Length);
        var days = await performanceStore.ReadAsync(scope.Model.Id, first, last, cancellationToken);

        // Bands, thresholds and money from the version that served most of the range (the production one, mostly), as the report does.
        var main = days.GroupBy(d => d.Version).OrderByDescending(g => g.Sum(d => d.Counts.Rows)).Select(g => (Guid?)g.Key).FirstOrDefault() ?? scope.Production?.Id;
        var version = main is { } id ? await performanceReferences.GetAsync(id, cancellationToken) : null;
        var reviewCost = version?.ReviewCost ?? 0;
        var hasAmount = version?.AmountColumn is not null;

        var byDay = days.GroupBy(d => d.Day).ToDictionary(g => g.Key, g =>
        {
            var sum = new PerformanceCounts();
            foreach (var d in g) sum.Add(d.Counts);
            return sum;
        });

        return [.. spans.Select(span =>
        {
            var counts = new PerformanceCounts();
            for (var day = span.First; day < span.End; day = day.AddDays(1))
            {
                if (byDay.TryGetValue(day, out var member) && member.Rows > 0) counts.Add(member);
            }

            if (counts.Rows == 0) return ((double?)null, 0L);
            if (!realized)
            {
                var estimated = PerformanceCalculator.Estimated(counts, version?.Cbpe, reviewCost, hasAmount);
                return (estimated.Metrics.GetValueOrDefault(metric)?.Value, counts.Rows);
            }

            return (PerformanceCalculator.Realized(counts, reviewCost, hasAmount).Metrics.GetValueOrDefault(metric), counts.Labelled);
        })];
    }

    /// <summary>
    /// A disparity of one grouping, or the worst over the groupings (lowest ratio, highest difference), between groups; the
    /// estimated figures (labels where in, calibrated probabilities discounted by maturity elsewhere), which equal the
    /// realized ones once the days are mature. One-day windows read the stored day windows; longer ones are computed.
    /// </summary>
    private async Task<IReadOnlyList<(double? Value, long Sample)>> DisparityAsync(ModelScope scope, string disparity, string? grouping, TimeSpan window, DateTime[] ends, CancellationToken cancellationToken)
    {
        var parts = disparity.Split('.');
        if (parts.Length != 2) return Nothing(ends.Length);
        var (name, kind) = (parts[0], parts[1]);
        var result = Nothing(ends.Length);
        var spans = ends.Select(t => Days(t, window)).ToArray();
        if (window == TimeSpan.FromDays(1))
        {
            var first = spans.Min(s => s.First);
            var last = spans.Max(s => s.First);
            var names = grouping is not null ? [grouping] : await fairnessStore.GroupingNamesAsync(scope.Model.Id, first, last, cancellationToken);
            var readings = new List<(DateOnly Day, double Value, long Sample)>();
            foreach (var g in names)
            {
                var windows = await fairnessStore.WindowsAsync(scope.Model.Id, first, last, g, cancellationToken);
                // The busiest version of each day.
                foreach (var day in windows.Where(w => w.Grouping is not null).GroupBy(w => w.Day))
                {
                    var top = day.OrderByDescending(w => w.Predictions).First();
                    if (Pick(top.Grouping!.Estimated, name, kind) is { } reading) readings.Add((day.Key, reading.Value, reading.Sample));
                }
            }

            for (var i = 0; i < spans.Length; i++)
            {
                var candidates = readings.Where(r => r.Day == spans[i].First).ToList();
                if (candidates.Count == 0) continue;
                var worst = kind == DisparityName.Ratio ? candidates.MinBy(c => c.Value) : candidates.MaxBy(c => c.Value);
                result[i] = (worst.Value, worst.Sample);
            }

            return result;
        }

        // Longer windows: computed from the log, the latest few only (each is a full fairness report with its bootstrap).
        var latest = spans.Select((s, i) => (s, i)).Where(x => x.s.End > x.s.First).OrderByDescending(x => x.s.End).Take(MaxFairnessRanges).ToList();
        foreach (var (span, i) in latest)
        {
            ProductionFairnessRange? range;
            try
            {
                range = await fairness.RangeAsync(scope.Model.Name, span.First, span.End.AddDays(-1), null, grouping, cancellationToken);
            }
            catch (ArgumentOutOfRangeException)
            {
                continue; // a grouping the version does not have: no reading
            }

            var candidates = (range?.Report?.Groupings ?? []).Select(g => Pick(g.Estimated, name, kind)).OfType<(double Value, long Sample)>().ToList();
            if (candidates.Count == 0) continue;
            var worst = kind == DisparityName.Ratio ? candidates.MinBy(c => c.Value) : candidates.MaxBy(c => c.Value);
            result[i] = (worst.Value, worst.Sample);
        }

        return result;
    }

    /// <summary>The between-groups disparity of <paramref name="name"/> and <paramref name="kind"/> (worst case for equalized odds) and the smallest counted group.</summary>
    private static (double Value, long Sample)? Pick(GroupingFairness fairness, string name, string kind)
    {
        var found = fairness.Disparities.FirstOrDefault(d => d.Name == name && d.Kind == kind && d.Method == DisparityName.BetweenGroups
            && (d.Aggregation is null || d.Aggregation == DisparityName.WorstCase));
        if (found?.Value.Value is not { } value) return null;
        var counted = fairness.Groups.Where(g => g.TooSmall is null).Select(g => g.Count).DefaultIfEmpty(0).Min();
        return (value, counted);
    }
}
