using FraudWorkbench.Core.Performance;

namespace FraudWorkbench.Core.Alerts;

/// <summary>The rules offered when a model is first promoted: the seed's four things worth waking someone for.</summary>
public static class DefaultAlertRules
{
    /// <summary>The label every default rule carries, so people can tell (and silence) them.</summary>
    public const string Label = "default";

    private static readonly IReadOnlyDictionary<string, string> Labels = new Dictionary<string, string> { [Label] = "true" };

    public static IReadOnlyList<AlertRuleSpec> For(string model) =>
    [
        // Daily metrics change when the monitoring job writes a window (which evaluates at once); the interval is only a safety net.
        new($"Dataset drift · {model}", model, new AlertMetricSpec(AlertMetricKind.DriftShare),
            new AlertCondition(AlertConditionKind.Above, 0.5, Inclusive: true),
            Window: "1d", EvaluationInterval: "15m", For: "0s", Severity: AlertSeverity.Warning, Labels: Labels,
            Description: "Half or more of {{model}}'s inputs drifted over the last day (share {{value}}, threshold {{threshold}}). "
                + "Check the drifted columns before trusting its scores: {{link}}"),
        new($"Estimated recall below reference · {model}", model, new AlertMetricSpec(AlertMetricKind.Estimated, Metric: PerformanceMetric.Recall),
            new AlertCondition(AlertConditionKind.OutsideBand, Direction: AlertDirection.Down),
            Window: "1d", EvaluationInterval: "15m", For: "0s", Severity: AlertSeverity.Warning, Labels: Labels,
            Description: "{{model}}'s estimated recall (CBPE, before labels arrive) fell to {{value}}, below its reference band ({{threshold}}): "
                + "it may be missing fraud it used to catch. {{link}}"),
        new($"Scoring p99 latency · {model}", model, new AlertMetricSpec(AlertMetricKind.LatencyP99),
            new AlertCondition(AlertConditionKind.Above, 50),
            Window: "1m", MinSample: 20, EvaluationInterval: "1m", For: "5m", Severity: AlertSeverity.Critical, Labels: Labels,
            Description: "{{model}}'s 99th percentile scoring latency has been {{value}} ms, over 50 ms for five minutes: "
                + "callers waiting on a decision are slowed or timing out. {{link}}"),
        new($"No feedback · {model}", model, new AlertMetricSpec(AlertMetricKind.LabelFreshness),
            new AlertCondition(AlertConditionKind.Above, 14),
            Window: "1d", EvaluationInterval: "1h", For: "0s", Severity: AlertSeverity.Warning, Labels: Labels,
            Description: "No feedback labels (fraud or legitimate) for {{model}} in {{value}} days (threshold {{threshold}}): realized performance "
                + "cannot be measured until feedback flows again. {{link}}"),
    ];
}
