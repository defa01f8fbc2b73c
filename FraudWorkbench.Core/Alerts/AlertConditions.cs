namespace FraudWorkbench.Core.Alerts;

/// <summary>One evaluation's decision and the thresholds it was judged against, in the metric's units (for charts and messages).</summary>
public sealed record ConditionResult(AlertOutcome Outcome, double? Lower, double? Upper)
{
    public static readonly ConditionResult Unknown = new(AlertOutcome.Unknown, null, null);

    /// <summary>The thresholds in words ("&gt; 0.5", "outside [0.61, 0.74]").</summary>
    public string Describe() => (Lower, Upper) switch
    {
        ({ } l, { } u) => $"outside [{AlertTemplate.Number(l)}, {AlertTemplate.Number(u)}]",
        (null, { } u) => $"> {AlertTemplate.Number(u)}",
        ({ } l, null) => $"< {AlertTemplate.Number(l)}",
        _ => "no threshold",
    };
}

/// <summary>Decides a rule's condition on one reading.</summary>
public static class AlertConditions
{
    public const double DefaultK = 3;

    /// <param name="reference">The readings of the windows before this one (outside_band, relative_change), oldest first.</param>
    /// <param name="band">The metric's own reference band, when it has one (it wins over mean ± kσ).</param>
    public static ConditionResult Evaluate(AlertCondition condition, long minSample, MetricPoint point, IReadOnlyList<MetricPoint> reference, MetricBand? band)
    {
        if (point.Value is not { } v || !double.IsFinite(v) || point.Sample < minSample) return ConditionResult.Unknown;
        switch (condition.Kind)
        {
            case AlertConditionKind.Above:
                return new(v > condition.Threshold!.Value || condition.Inclusive && v == condition.Threshold.Value ? AlertOutcome.True : AlertOutcome.False, null, condition.Threshold);
            case AlertConditionKind.Below:
                return new(v < condition.Threshold!.Value || condition.Inclusive && v == condition.Threshold.Value ? AlertOutcome.True : AlertOutcome.False, condition.Threshold, null);
            case AlertConditionKind.OutsideBand:
            {
                double? lower, upper;
                if (band is { } b && (b.Lower is not null || b.Upper is not null))
                {
                    (lower, upper) = (b.Lower, b.Upper);
                }
                else
                {
                    var values = Usable(reference, minSample);
                    if (values.Count < 2) return ConditionResult.Unknown;
                    var mean = values.Average();
                    var sd = Math.Sqrt(values.Sum(x => (x - mean) * (x - mean)) / (values.Count - 1));
                    var k = condition.K ?? DefaultK;
                    (lower, upper) = (mean - k * sd, mean + k * sd);
                }

                return Sided(condition.Direction, v, lower, upper);
            }

            case AlertConditionKind.RelativeChange:
            {
                var values = Usable(reference, minSample);
                if (values.Count == 0) return ConditionResult.Unknown;
                var mean = values.Average();
                if (mean == 0) return ConditionResult.Unknown; // no scale to measure a relative change against
                var t = condition.Threshold!.Value;
                var lower = mean - t * Math.Abs(mean);
                var upper = mean + t * Math.Abs(mean);
                return Sided(condition.Direction, v, lower, upper);
            }

            default:
                return ConditionResult.Unknown;
        }
    }

    private static ConditionResult Sided(string direction, double v, double? lower, double? upper) => direction switch
    {
        AlertDirection.Up => new(upper is { } u && v > u ? AlertOutcome.True : AlertOutcome.False, null, upper),
        AlertDirection.Down => new(lower is { } l && v < l ? AlertOutcome.True : AlertOutcome.False, lower, null),
        _ => new((upper is { } u2 && v > u2) || (lower is { } l2 && v < l2) ? AlertOutcome.True : AlertOutcome.False, lower, upper),
    };

    private static List<double> Usable(IReadOnlyList<MetricPoint> reference, long minSample) =>
        [.. reference.Where(p => p.Value is { } x && double.IsFinite(x) && p.Sample >= minSample).Select(p => p.Value!.Value)];
}

/// <summary>
/// Prometheus's rule state machine: a true condition makes an alert pending, and firing once it has held for <c>for</c>;
/// a false one resolves it, unless <c>keepFiringFor</c> holds it: it stays firing that long after it clears, counted from the
/// first false reading (Prometheus's <c>KeepFiringSince</c>; a true reading in between starts the count again). No decision
/// (<see cref="AlertOutcome.Unknown"/>) keeps a firing alert (it does not resolve because its data stopped) but ends a
/// pending one: <c>for</c> means the condition was seen true at every evaluation, as in Prometheus, not twice with a gap.
/// </summary>
public static class AlertStateMachine
{
    public static AlertStatus Step(AlertStatus current, AlertOutcome outcome, DateTime now, TimeSpan @for, TimeSpan keepFiringFor)
    {
        var state = current.State == AlertState.Resolved ? AlertStatus.Inactive : current;
        switch (outcome)
        {
            case AlertOutcome.Unknown when state.State == AlertState.Pending:
                return state with { State = AlertState.Resolved };
            case AlertOutcome.Unknown:
                return current;
            case AlertOutcome.True when state.State == AlertState.Inactive:
                return @for <= TimeSpan.Zero ? new(AlertState.Firing, now, now, now) : new(AlertState.Pending, now, null, now);
            case AlertOutcome.True when state.State == AlertState.Pending:
                return now - state.ActiveAt!.Value >= @for ? state with { State = AlertState.Firing, FiredAt = now, LastTrueAt = now } : state with { LastTrueAt = now };
            case AlertOutcome.True:
                return state with { LastTrueAt = now, KeepFiringSince = null };
            case AlertOutcome.False when state.State == AlertState.Pending:
                return state with { State = AlertState.Resolved };
            case AlertOutcome.False when state.State == AlertState.Firing:
            {
                // Counted from the first false reading, not the last true one: with keep-firing no longer than the interval
                // the alert would otherwise resolve at the first false reading, as if the setting were not there.
                var since = state.KeepFiringSince ?? now;
                return keepFiringFor > TimeSpan.Zero && now - since < keepFiringFor
                    ? state with { KeepFiringSince = since }
                    : state with { State = AlertState.Resolved };
            }
            default:
                return state;
        }
    }
}
