namespace FraudWorkbench.Core.Alerts;

/// <summary>Which models a rule on a metric may name and covers.</summary>
public static class AlertMetricScope
{
    /// <summary>
    /// Whether a rule on the metric may name a model: every per-model metric, and the installation-wide ones a rule may
    /// narrow (<see cref="AlertMetricInfo.ByModel"/>: the scoring error rate, audited actions). Job failures have no model.
    /// </summary>
    public static bool TakesModel(string? kind) => AlertMetricKind.Find(kind) is { } info && (!info.Global || info.ByModel);

    /// <summary>
    /// The models a rule is evaluated for when that follows from the rule alone: its model, or <c>*</c> for an
    /// installation-wide reading; null when it covers every production model (the metric source lists them).
    /// </summary>
    public static IReadOnlyList<string>? Models(AlertRuleSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var info = AlertMetricKind.Find(spec.Metric?.Kind);
        // A model stored on a metric that has none (before validation refused it) is ignored: the reading is the installation's.
        if (info is { Global: true } && (spec.Model is null || !TakesModel(info.Kind))) return [AlertLabels.AllModels];
        return spec.Model is { } model ? [model] : null;
    }
}
