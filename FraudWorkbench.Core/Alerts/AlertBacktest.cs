namespace FraudWorkbench.Core.Alerts;

/// <summary>One evaluation of the backtest: the reading, the thresholds it was judged against, the decision and the state after it.</summary>
public sealed record BacktestPoint(DateTime At, double? Value, long Sample, double? Lower, double? Upper, AlertOutcome Outcome, string State);

/// <summary>A stretch during which the rule would have been firing; To null when it still would be.</summary>
public sealed record FiringPeriod(DateTime From, DateTime? To);

/// <summary>"Would this rule have fired?": the metric over the range with its thresholds and the would-be firing periods.</summary>
/// <param name="Step">The time between evaluations replayed (the rule's interval, coarser for long ranges).</param>
/// <param name="Message">Why there is nothing to show (no traffic, no such model), when there is nothing.</param>
public sealed record AlertBacktestResult(
    string Model, AlertRuleSpec Rule, DateTime From, DateTime To, TimeSpan Step, IReadOnlyList<BacktestPoint> Points, IReadOnlyList<FiringPeriod> Firing, string? Message);

/// <summary>
/// Replays a rule over the past: evaluations every step over [now − span, now] (the rule's interval, or span / 720 when
/// that is coarser, so a chart never holds more than ~720 points), each judged and stepped through the state machine
/// exactly as the evaluator does — the same readings, the same reference windows before each point, the same band, the
/// same <c>for</c> and <c>keep firing for</c>. Readings come from the data as it is now (labels that arrived later count).
/// </summary>
public sealed class AlertBacktest(IAlertMetricSource metrics, TimeProvider time)
{
    public static readonly TimeSpan DefaultSpan = TimeSpan.FromDays(30);

    /// <summary>The longest range replayed.</summary>
    public static readonly TimeSpan MaxSpan = TimeSpan.FromDays(400);

    /// <summary>Evaluations replayed at most (the step grows with the span to stay within it).</summary>
    public const int MaxPoints = 720;

    /// <summary>Readings (points and their reference windows together) one backtest asks for at most.</summary>
    public const int MaxReadings = 6_000;

    /// <exception cref="AlertException">A rule that does not validate, or a span outside (0, <see cref="MaxSpan"/>] (400s naming the field).</exception>
    public async Task<AlertBacktestResult> RunAsync(AlertRuleSpec rule, string model, TimeSpan span, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(rule);
        var issues = rule.Validate();
        if (issues.Count > 0) throw AlertException.Invalid(issues);
        if (span <= TimeSpan.Zero || span > MaxSpan) throw AlertException.Invalid([("span", $"The backtest covers more than 0 and at most {MaxSpan.TotalDays:0} days.")]);
        if (string.IsNullOrWhiteSpace(model)) throw AlertException.Invalid([("model", "The backtest needs a model (or * for a metric of the whole installation).")]);

        var now = time.GetUtcNow().UtcDateTime;
        var step = Step(rule.Interval, span);
        var window = rule.WindowSpan;
        var condition = rule.Condition;
        var referenceCount = condition.Kind is AlertConditionKind.OutsideBand or AlertConditionKind.RelativeChange ? condition.ReferenceWindows : 0;

        // Every point and every reference window in one read: the reference times of a point are t − k·window, k = K … 1.
        // Long reference lists over windows off the step's grid multiply the readings; the step doubles until they fit.
        IReadOnlyList<DateTime> times;
        List<DateTime> all;
        while (true)
        {
            // The grid, then now itself: the chart ends on the reading an evaluation now would see (an alert firing in the
            // current hour shows as firing, not as "would not have fired" until the hour closes).
            var grid = Grid(now - span, now, step);
            times = grid.Count > 0 && grid[^1] == now ? grid : [.. grid, now];
            var wanted = new SortedSet<DateTime>(times);
            foreach (var t in times)
                for (var k = 1; k <= referenceCount; k++) wanted.Add(t - window * k);
            all = [.. wanted];
            if (all.Count <= MaxReadings || times.Count <= 2) break;
            step *= 2;
        }

        var series = all.Count == 0 ? [] : await metrics.SeriesAsync(model, rule.Metric, window, all, cancellationToken);
        if (series.Count != all.Count) throw new InvalidOperationException($"The metric source returned {series.Count} readings for {all.Count} times.");
        var byTime = new Dictionary<DateTime, MetricPoint>();
        for (var i = 0; i < all.Count; i++) byTime[all[i]] = series[i];
        var band = condition.Kind == AlertConditionKind.OutsideBand ? await metrics.BandAsync(model, rule.Metric, cancellationToken) : null;

        var status = AlertStatus.Inactive;
        var (pending, keep) = (rule.ForSpan, rule.KeepFiringSpan);
        var points = new List<BacktestPoint>(times.Count);
        var firing = new List<FiringPeriod>();
        DateTime? firingSince = null;
        foreach (var t in times)
        {
            var point = byTime[t];
            var reference = Enumerable.Range(1, referenceCount).Reverse().Select(k => byTime[t - window * k]).ToList();
            var result = AlertConditions.Evaluate(condition, rule.MinSample, point, reference, band);
            // An undecided point still shows a fixed threshold, so the chart's line does not break where the data thins.
            if (result.Outcome == AlertOutcome.Unknown && condition.Kind == AlertConditionKind.Above) result = result with { Upper = condition.Threshold };
            if (result.Outcome == AlertOutcome.Unknown && condition.Kind == AlertConditionKind.Below) result = result with { Lower = condition.Threshold };
            status = AlertStateMachine.Step(status, result.Outcome, t, pending, keep);
            points.Add(new BacktestPoint(t, point.Value, point.Sample, result.Lower, result.Upper, result.Outcome, status.State));
            if (status.State == AlertState.Firing && firingSince is null) firingSince = t;
            else if (status.State != AlertState.Firing && firingSince is { } since)
            {
                firing.Add(new FiringPeriod(since, t));
                firingSince = null;
            }
        }

        if (firingSince is { } open) firing.Add(new FiringPeriod(open, null));
        var from = times.Count > 0 ? times[0] : now - span;
        return new AlertBacktestResult(model, rule, from, now, step, points, firing, Message(rule, model, span, points));
    }

    /// <summary>
    /// The rule's interval, or span / <see cref="MaxPoints"/> when that is coarser: rounded up to a whole minute, and past an
    /// hour to a whole hour, so hour windows fall on clock hours and are read from the hour buckets rather than the log.
    /// </summary>
    public static TimeSpan Step(TimeSpan interval, TimeSpan span)
    {
        var coarse = span / MaxPoints;
        if (coarse <= interval) return interval;
        return coarse > TimeSpan.FromHours(1) ? TimeSpan.FromHours(Math.Ceiling(coarse.TotalHours)) : TimeSpan.FromMinutes(Math.Ceiling(coarse.TotalMinutes));
    }

    /// <summary>The times in [<paramref name="from"/>, <paramref name="to"/>] that are whole multiples of <paramref name="step"/> since the Unix epoch (hours and days fall on clock hours and UTC midnights).</summary>
    public static IReadOnlyList<DateTime> Grid(DateTime from, DateTime to, TimeSpan step)
    {
        var origin = DateTime.UnixEpoch.Ticks;
        var first = (from.Ticks - origin + step.Ticks - 1) / step.Ticks * step.Ticks + origin;
        var times = new List<DateTime>();
        for (var t = first; t <= to.Ticks; t += step.Ticks) times.Add(new DateTime(t, DateTimeKind.Utc));
        return times;
    }

    private static string? Message(AlertRuleSpec rule, string model, TimeSpan span, IReadOnlyList<BacktestPoint> points)
    {
        var title = AlertMetricKind.Find(rule.Metric.Kind)?.Title ?? rule.Metric.Kind;
        var range = AlertDuration.Format(span);
        if (points.Count == 0) return $"No evaluation falls in the last {range}.";
        if (points.All(p => p.Value is null))
            return model == AlertLabels.AllModels ? $"{title} has no readings in the last {range}."
                : rule.Metric.Kind == AlertMetricKind.Realized
                    ? $"{title} of {model} has no readings in the last {range}: each reading covers days whose label window had passed by then (a label window back), and there were none with traffic."
                    : $"{title} of {model} has no readings in the last {range} (no such model, no traffic, or nothing computed for it yet).";
        if (points.All(p => p.Outcome == AlertOutcome.Unknown))
            return rule.MinSample > 0 && points.Any(p => p.Value is not null && p.Sample < rule.MinSample)
                ? $"No evaluation in the last {range} reached the minimum sample of {rule.MinSample}: the rule would never have decided."
                : $"No evaluation in the last {range} could be decided (too few reference windows with readings).";
        return null;
    }
}
