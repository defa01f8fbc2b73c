using FraudWorkbench.Core.Alerts;

namespace FraudWorkbench.Components.Pages.Alerts;

/// <summary>
/// The rule editor's fields, mutable for binding. <see cref="ToSpec"/> keeps only what the chosen metric and condition take
/// (a column left over from another metric would be a 400), so switching the metric back and forth loses nothing typed.
/// </summary>
public sealed class AlertRuleForm
{
    public sealed class Label
    {
        public string Name { get; set; } = "";
        public string Value { get; set; } = "";
    }

    /// <summary>The model select's value for "every model" (MudSelect cannot hold null as an item).</summary>
    public const string EveryModel = "";

    public string Name { get; set; } = "";
    public string Model { get; set; } = EveryModel;
    public string MetricKind { get; set; } = AlertMetricKind.DriftShare;
    public string Column { get; set; } = "";
    public string PerformanceMetric { get; set; } = Core.Performance.PerformanceMetric.Recall;
    public string Disparity { get; set; } = AlertMetricKind.Disparities[0];
    public string Grouping { get; set; } = "";
    /// <summary>For audited actions: the action counted (free text; the editor suggests <see cref="AuditActions.Known"/>). Null when the field was cleared.</summary>
    public string? AuditAction { get; set; } = "";
    public string Window { get; set; } = "1d";
    public string ConditionKind { get; set; } = AlertConditionKind.Above;
    public double? Threshold { get; set; } = 0.5;
    public bool Inclusive { get; set; }
    public double? K { get; set; } = 3;
    public string Direction { get; set; } = AlertDirection.Either;
    public int ReferenceWindows { get; set; } = 14;
    public long MinSample { get; set; }
    public string EvaluationInterval { get; set; } = "1m";
    public string For { get; set; } = "0s";
    public string KeepFiringFor { get; set; } = "0s";
    public string Severity { get; set; } = AlertSeverity.Warning;
    public List<Label> Labels { get; set; } = [];
    public string Description { get; set; } = "";
    public IReadOnlyCollection<Guid> Channels { get; set; } = [];
    public bool Enabled { get; set; } = true;

    public AlertMetricInfo? Info => AlertMetricKind.Find(MetricKind);

    /// <summary>Whether the metric can be read for one model (installation-wide ones such as job failures cannot).</summary>
    public bool TakesModel => AlertMetricScope.TakesModel(MetricKind);

    public bool TakesThreshold => ConditionKind is AlertConditionKind.Above or AlertConditionKind.Below or AlertConditionKind.RelativeChange;

    public bool TakesReference => ConditionKind is AlertConditionKind.OutsideBand or AlertConditionKind.RelativeChange;

    public static AlertRuleForm From(AlertRuleSpec spec) => new()
    {
        Name = spec.Name,
        Model = spec.Model ?? EveryModel,
        MetricKind = spec.Metric.Kind,
        Column = spec.Metric.Column ?? "",
        PerformanceMetric = AlertMetricKind.Find(spec.Metric.Kind) is { Performance: true } && spec.Metric.Metric is { } performance ? performance : Core.Performance.PerformanceMetric.Recall,
        AuditAction = AlertMetricKind.Find(spec.Metric.Kind) is { Action: true } ? spec.Metric.Metric ?? "" : "",
        Disparity = spec.Metric.Disparity ?? AlertMetricKind.Disparities[0],
        Grouping = spec.Metric.Grouping ?? "",
        Window = spec.Window,
        ConditionKind = spec.Condition.Kind,
        Threshold = spec.Condition.Threshold,
        Inclusive = spec.Condition.Inclusive,
        K = spec.Condition.K ?? 3,
        Direction = spec.Condition.Direction,
        ReferenceWindows = spec.Condition.ReferenceWindows,
        MinSample = spec.MinSample,
        EvaluationInterval = spec.EvaluationInterval,
        For = spec.For,
        KeepFiringFor = spec.KeepFiringFor,
        Severity = spec.Severity,
        Labels = [.. (spec.Labels ?? new Dictionary<string, string>()).Select(l => new Label { Name = l.Key, Value = l.Value })],
        Description = spec.Description ?? "",
        Channels = [.. spec.Channels ?? []],
        Enabled = spec.Enabled,
    };

    /// <summary>Picks a metric; its default window when the current one is not one it is read over.</summary>
    public void SetMetric(string kind)
    {
        MetricKind = kind;
        if (AlertMetricKind.Find(kind) is { } info && info.Windows is { } allowed && !allowed.Contains(Window)) Window = info.DefaultWindow;
    }

    public AlertRuleSpec ToSpec()
    {
        var info = Info;
        var metric = new AlertMetricSpec(
            MetricKind,
            Column: info is { Column: true } || (MetricKind == AlertMetricKind.Unseen && Column.Trim().Length > 0) ? Column.Trim() : null,
            Metric: info switch
            {
                { Performance: true } => PerformanceMetric,
                { Action: true } => AuditAction?.Trim() is { Length: > 0 } action ? action : null,
                _ => null,
            },
            Disparity: info is { Fairness: true } ? Disparity : null,
            Grouping: info is { Fairness: true } && Grouping.Trim().Length > 0 ? Grouping.Trim() : null);
        var condition = new AlertCondition(
            ConditionKind,
            Threshold: TakesThreshold ? Threshold : null,
            K: ConditionKind == AlertConditionKind.OutsideBand ? K : null,
            Direction: TakesReference ? Direction : AlertDirection.Either,
            ReferenceWindows: ReferenceWindows,
            Inclusive: ConditionKind is AlertConditionKind.Above or AlertConditionKind.Below && Inclusive);
        var labels = Labels.Where(l => l.Name.Trim().Length > 0 || l.Value.Length > 0)
            .GroupBy(l => l.Name.Trim()).ToDictionary(g => g.Key, g => g.Last().Value);
        return new AlertRuleSpec(
            Name.Trim(), Model == EveryModel || !TakesModel ? null : Model, metric, condition, Window.Trim(), MinSample, EvaluationInterval.Trim(), For.Trim(), KeepFiringFor.Trim(),
            Severity, labels.Count == 0 ? null : labels, Description.Trim().Length == 0 ? null : Description, Channels.Any() ? [.. Channels] : null, Enabled);
    }
}
