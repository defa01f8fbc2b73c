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

/// <summary>Replays a rule over the past (STUB: implemented by the metrics work).</summary>
public sealed class AlertBacktest
{
    public static readonly TimeSpan DefaultSpan = TimeSpan.FromDays(30);

    public Task<AlertBacktestResult> RunAsync(AlertRuleSpec rule, string model, TimeSpan span, CancellationToken cancellationToken) => throw new NotImplementedException();
}
