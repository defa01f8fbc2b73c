using FraudWorkbench.Core.Registry;

namespace FraudWorkbench.Core.Performance;

/// <summary>
/// Realized and estimated performance of a model per cohort, from the day rows kept as predictions are logged and as
/// their labels arrive: any range and cohort size on demand, the open cohort included.
/// </summary>
public sealed class PerformanceService(RegistryStore registry, PerformanceStore store, PerformanceReferences references, TimeProvider time)
{
    /// <summary>The longest range a report covers, in days.</summary>
    public const int MaxRangeDays = 800;

    /// <summary>Mature cohorts the calibration check looks back over.</summary>
    public const int CalibrationCohorts = 4;

    /// <summary>The performance of <paramref name="model"/> over the cohorts covering [<paramref name="from"/>, <paramref name="to"/>]; null when there is no such model.</summary>
    public async Task<PerformanceReport?> ReportAsync(string model, DateOnly from, DateOnly to, string cohort, CancellationToken cancellationToken = default)
    {
        if (!CohortSize.IsValid(cohort)) throw new ArgumentOutOfRangeException(nameof(cohort), cohort, "Cohorts are day, week or month.");
        if (to < from || to.DayNumber - from.DayNumber > MaxRangeDays) throw new ArgumentOutOfRangeException(nameof(to), $"A range runs forwards and covers at most {MaxRangeDays} days.");
        if (await registry.GetModelAsync(model, cancellationToken) is not { } registered) return null;
        var config = await store.ConfigAsync(registered.Id, cancellationToken);
        var now = time.GetUtcNow().UtcDateTime;
        var starts = CohortSize.Covering(cohort, from, to).ToList();
        var first = starts[0];
        var last = CohortSize.Next(cohort, starts[^1]).AddDays(-1);
        var days = await store.ReadAsync(registered.Id, first, last, cancellationToken);

        var window = config.LabelWindowDays;
        var today = DateOnly.FromDateTime(now);
        var delays = await store.DelaysAsync(registered.Id, today.AddDays(-(window + PerformanceCounts.MaxDelayDays)), cancellationToken);
        var arrival = LabelArrival.Learn(delays.Select(d => (Observable: Math.Max(0, (int)Math.Floor(AgeDays(d.Day, now))), d.Delays)), window);

        // Bands, thresholds and money from the version that served most of the range (the production one, mostly).
        var main = days.GroupBy(d => d.Version).OrderByDescending(g => g.Sum(d => d.Counts.Rows)).Select(g => g.Key).Cast<Guid?>().FirstOrDefault();
        main ??= (await registry.ListVersionsAsync(registered.Id, cancellationToken)).Where(v => v.Stage == ModelStage.Production).Select(v => v.Id).Cast<Guid?>().FirstOrDefault();
        var version = main is { } id ? await references.GetAsync(id, cancellationToken) : null;
        var reviewCost = version?.ReviewCost ?? 0;
        var hasAmount = version?.AmountColumn is not null;

        var byDay = days.GroupBy(d => d.Day).ToDictionary(g => g.Key, g => Sum(g.Select(d => d.Counts)));
        var cohorts = new List<CohortPerformance>();
        foreach (var start in starts)
        {
            var end = CohortSize.Next(cohort, start);
            var members = new List<(DateOnly Day, PerformanceCounts Counts)>();
            for (var day = start; day < end; day = day.AddDays(1))
                if (byDay.TryGetValue(day, out var counts)) members.Add((day, counts));
            cohorts.Add(Cohort(start, end, end > today, members, now, arrival, config, version, reviewCost, hasAmount));
        }

        var range = Cohort(first, CohortSize.Next(cohort, starts[^1]), cohorts[^1].Open, [.. byDay.Select(kv => (kv.Key, kv.Value))], now, arrival, config, version, reviewCost, hasAmount);
        var recent = cohorts.Where(c => c.Mature && c.Realized.Predictions > 0).TakeLast(CalibrationCohorts).ToList();
        var calibration = Calibration(recent, byDay, cohort);
        var reference = version?.Cbpe?.Metrics ?? [.. PerformanceMetric.All.Select(m => new MetricReference(m, null, null, null))];
        return new PerformanceReport(registered.Name, first, last, cohort, config, version?.AmountColumn, reviewCost, reference, cohorts, range, arrival, calibration, now);
    }

    private static CohortPerformance Cohort(
        DateOnly start, DateOnly end, bool open, IReadOnlyList<(DateOnly Day, PerformanceCounts Counts)> members, DateTime now,
        LabelArrivalCurve arrival, PerformanceConfig config, VersionPerformance? version, double reviewCost, bool hasAmount)
    {
        var counts = Sum(members.Select(m => m.Counts));
        var window = config.LabelWindowDays;
        // Each day weighs by the fraud it is expected to hold: a quiet day's immaturity matters less.
        double weight = 0, weighted = 0;
        var mature = !open;
        for (var day = start; day < end; day = day.AddDays(1))
        {
            var dayMature = now >= day.AddDays(1).ToDateTime(TimeOnly.MinValue).AddDays(window);
            mature &= dayMature;
            var member = members.FirstOrDefault(m => m.Day == day).Counts;
            if (member is null || member.Rows == 0) continue;
            var w = member.SumP > 0 ? member.SumP : member.Rows;
            weight += w;
            weighted += w * (dayMature ? 1 : LabelArrival.Maturity(arrival, AgeDays(day, now), window));
        }

        var maturity = mature ? 1 : weight > 0 ? weighted / weight : 0;
        var alertable = counts.Rows > 0 && (mature || maturity >= config.AlertMaturity);
        var realized = PerformanceCalculator.Realized(counts, reviewCost, hasAmount);
        var estimated = PerformanceCalculator.Estimated(counts, version?.Cbpe, reviewCost, hasAmount);
        var alerts = new List<string>();
        if (version?.Cbpe is { } cbpe && counts.Rows > 0)
        {
            foreach (var reference in cbpe.Metrics)
            {
                if (reference.Metric == PerformanceMetric.FraudRate) continue; // the base rate moves with the world, not the model
                if (alertable && Outside(realized.Metrics.GetValueOrDefault(reference.Metric), reference)) alerts.Add(reference.Metric);
                if (Outside(estimated.Metrics.GetValueOrDefault(reference.Metric)?.Value, reference)) alerts.Add("estimated:" + reference.Metric);
            }
        }

        return new CohortPerformance(start, end, open, maturity, mature, alertable, realized, estimated, alerts);
    }

    private static bool Outside(double? value, MetricReference reference) =>
        value is { } v && (reference.Lower is { } lower && v < lower || reference.Upper is { } upper && v > upper);

    private static CalibrationCheck Calibration(IReadOnlyList<CohortPerformance> cohorts, Dictionary<DateOnly, PerformanceCounts> byDay, string size)
    {
        double expected = 0, variance = 0, observed = 0;
        foreach (var c in cohorts)
        {
            for (var day = c.Start; day < c.End; day = day.AddDays(1))
            {
                if (!byDay.TryGetValue(day, out var counts)) continue;
                expected += counts.SumP;
                variance += counts.SumPq;
                observed += counts.FraudLabels;
            }
        }

        var spread = 3 * Math.Sqrt(variance);
        return new CalibrationCheck(cohorts.Count, expected, observed, Math.Max(0, expected - spread), expected + spread);
    }

    /// <summary>How old the middle of <paramref name="day"/>'s predictions is at <paramref name="now"/>, in days.</summary>
    private static double AgeDays(DateOnly day, DateTime now) => (now - day.ToDateTime(new TimeOnly(12, 0))).TotalDays;

    private static PerformanceCounts Sum(IEnumerable<PerformanceCounts> counts)
    {
        var sum = new PerformanceCounts();
        foreach (var c in counts) sum.Add(c);
        return sum;
    }

    public async Task<PerformanceConfig?> ConfigAsync(string model, CancellationToken cancellationToken = default) =>
        await registry.GetModelAsync(model, cancellationToken) is { } registered ? await store.ConfigAsync(registered.Id, cancellationToken) : null;

    /// <summary>Validates and stores a model's settings (audited); the problems, naming their fields, when refused; null when there is no such model.</summary>
    public async Task<IReadOnlyList<(string Field, string Message)>?> SaveConfigAsync(string model, PerformanceConfig config, string actor, CancellationToken cancellationToken = default)
    {
        if (await registry.GetModelAsync(model, cancellationToken) is not { } registered) return null;
        var issues = config.Validate();
        if (issues.Count > 0) return issues;
        await store.SaveConfigAsync(registered.Id, registered.Name, config, actor, cancellationToken);
        return [];
    }
}
