using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Fairness;
using FraudWorkbench.Core.Performance;
using FraudWorkbench.Core.Registry;

namespace FraudWorkbench.Core.Alerts;

public static class AlertConditionKind
{
    public const string Above = "above";
    public const string Below = "below";
    /// <summary>Outside the reference band: the metric's own (CBPE thresholds) when it has one, else mean ± k σ of the reference windows.</summary>
    public const string OutsideBand = "outside_band";
    /// <summary>|value − mean of the reference windows| / |mean| above the threshold (a fraction: 0.5 = 50 %).</summary>
    public const string RelativeChange = "relative_change";

    public static readonly IReadOnlyList<string> All = [Above, Below, OutsideBand, RelativeChange];
}

public static class AlertDirection
{
    public const string Either = "either";
    public const string Up = "up";
    public const string Down = "down";

    public static readonly IReadOnlyList<string> All = [Either, Up, Down];
}

/// <param name="Threshold">The value for above/below (strictly), the fraction for relative_change.</param>
/// <param name="K">Standard deviations for outside_band (default 3).</param>
/// <param name="Direction">For outside_band and relative_change: either side, only up, or only down.</param>
/// <param name="Inclusive">For above/below: the threshold itself counts (≥, ≤) — "drift share ≥ 0.5".</param>
/// <param name="ReferenceWindows">How many windows before the evaluated one form the reference (outside_band, relative_change).</param>
public sealed record AlertCondition(string Kind, double? Threshold = null, double? K = null, string Direction = AlertDirection.Either, int ReferenceWindows = 14, bool Inclusive = false);

/// <summary>A rule's whole definition, as created and edited.</summary>
/// <param name="Model">A registered model's name, or null for every model (each gets its own alert).</param>
/// <param name="Window">How much time one reading covers (<see cref="AlertDuration"/>).</param>
/// <param name="MinSample">Below this many observations in the window, no decision.</param>
/// <param name="EvaluationInterval">How often it is evaluated.</param>
/// <param name="For">How long the condition must hold before the alert fires (pending until then).</param>
/// <param name="KeepFiringFor">How long it keeps firing after the condition clears (against flapping).</param>
/// <param name="Description">A template: <c>{{value}}</c>, <c>{{threshold}}</c>, <c>{{model}}</c>, <c>{{rule}}</c>, <c>{{severity}}</c>, <c>{{metric}}</c>, <c>{{link}}</c>, <c>{{labels.NAME}}</c>.</param>
/// <param name="Channels">Notification channels for this rule, besides the global ones.</param>
public sealed partial record AlertRuleSpec(
    string Name, string? Model, AlertMetricSpec Metric, AlertCondition Condition,
    string Window = "1h", long MinSample = 0, string EvaluationInterval = "1m", string For = "0s", string KeepFiringFor = "0s",
    string Severity = AlertSeverity.Warning, IReadOnlyDictionary<string, string>? Labels = null, string? Description = null,
    IReadOnlyList<Guid>? Channels = null, bool Enabled = true)
{
    // Room for a default rule's title and the longest model name (100).
    public const int MaxNameLength = 200;
    public const int MaxDescriptionLength = 2000;
    public const int MaxLabels = 20;

    // Parsed forms of the duration texts, for code; the JSON carries the texts only.
    [JsonIgnore]
    public TimeSpan WindowSpan => AlertDuration.Parse(Window);

    [JsonIgnore]
    public TimeSpan Interval => AlertDuration.Parse(EvaluationInterval);

    [JsonIgnore]
    public TimeSpan ForSpan => AlertDuration.Parse(For);

    [JsonIgnore]
    public TimeSpan KeepFiringSpan => AlertDuration.Parse(KeepFiringFor);

    /// <summary>Every problem, naming its field (JSON path as the API takes it).</summary>
    public IReadOnlyList<(string Field, string Message)> Validate()
    {
        var issues = new List<(string, string)>();
        if (string.IsNullOrWhiteSpace(Name)) issues.Add(("name", "A rule needs a name."));
        else if (Name.Length > MaxNameLength) issues.Add(("name", $"A rule's name has at most {MaxNameLength} characters."));
        else if (StoredText.Problem(Name, MaxNameLength) is { } nameProblem) issues.Add(("name", nameProblem));
        if (Model is not null && !RegistryService.IsValidName(Model)) issues.Add(("model", $"'{Model}' is not a model name; leave it out for every model."));

        var info = AlertMetricKind.Find(Metric?.Kind);
        if (Metric is null || info is null)
        {
            issues.Add(("metric.kind", $"The metric is one of {string.Join(", ", AlertMetricKind.All.Select(m => m.Kind))}."));
        }
        else
        {
            if (info.Column && string.IsNullOrWhiteSpace(Metric.Column)) issues.Add(("metric.column", $"{info.Title} needs a column."));
            if (!info.Column && info.Kind != AlertMetricKind.Unseen && Metric.Column is not null) issues.Add(("metric.column", $"{info.Title} takes no column."));
            if (StoredText.Problem(Metric.Column, 200) is { } column) issues.Add(("metric.column", column));
            if (info.Performance && !PerformanceMetric.All.Contains(Metric.Metric ?? ""))
                issues.Add(("metric.metric", $"{info.Title} needs a metric: {string.Join(", ", PerformanceMetric.All)}."));
            if (info.Action && string.IsNullOrWhiteSpace(Metric.Metric))
                issues.Add(("metric.metric", $"{info.Title} needs the audited action to count, such as {AuditActions.RetrainingFail}."));
            else if (info.Action && !AuditActions.IsValid(Metric.Metric))
                issues.Add(("metric.metric", $"'{Shorten(Metric.Metric!)}' is not an audited action: lower case letters, digits, '.', '-' and '_', starting with a letter, 2 to 64 characters (such as {AuditActions.RetrainingFail})."));
            if (!info.Performance && !info.Action && Metric.Metric is not null) issues.Add(("metric.metric", $"{info.Title} takes no performance metric."));
            if (info.Fairness && !AlertMetricKind.Disparities.Contains(Metric.Disparity ?? ""))
                issues.Add(("metric.disparity", $"{info.Title} needs a disparity: {string.Join(", ", AlertMetricKind.Disparities)}."));
            if (!info.Fairness && (Metric.Disparity is not null || Metric.Grouping is not null)) issues.Add(("metric.disparity", $"{info.Title} takes no disparity or grouping."));
            if (StoredText.Problem(Metric.Grouping, 400) is { } grouping) issues.Add(("metric.grouping", grouping));
        }

        // An installation-wide metric without models (job failures) would silently ignore the model a rule names.
        if (Model is not null && info is not null && !AlertMetricScope.TakesModel(info.Kind)) issues.Add(("model", $"{info.Title} is about the whole installation: leave the model out."));

        if (!AlertDuration.TryParse(Window, out var window) || window < TimeSpan.FromMinutes(1) || window > TimeSpan.FromDays(30))
            issues.Add(("window", "The window is a duration from 1m to 30d, such as 5m, 1h or 1d."));
        else if (info?.Windows is { } allowed && !allowed.Any(a => AlertDuration.Parse(a) == window))
            issues.Add(("window", $"{info.Title} is read over {string.Join(" or ", allowed)} windows."));
        if (!AlertDuration.TryParse(EvaluationInterval, out var interval) || interval < TimeSpan.FromSeconds(10) || interval > TimeSpan.FromDays(1))
            issues.Add(("evaluationInterval", "The evaluation interval is a duration from 10s to 1d."));
        // A fairness range longer than a day is computed from the log with its bootstrap at each reading: hourly is plenty
        // for a number that moves by days, and keeps a few such rules from occupying the evaluator.
        else if (info?.Fairness == true && window > TimeSpan.FromDays(1) && interval < TimeSpan.FromHours(1))
            issues.Add(("evaluationInterval", "A fairness disparity over more than a day is evaluated at most hourly (1h or more)."));
        if (!AlertDuration.TryParse(For, out var pending) || pending > TimeSpan.FromDays(30)) issues.Add(("for", "'for' is a duration up to 30d (0s fires at once)."));
        if (!AlertDuration.TryParse(KeepFiringFor, out var keep) || keep > TimeSpan.FromDays(30)) issues.Add(("keepFiringFor", "'keepFiringFor' is a duration up to 30d."));
        if (MinSample < 0 || MinSample > 1_000_000_000) issues.Add(("minSample", "The minimum sample is from 0 to 1,000,000,000."));
        if (!AlertSeverity.All.Contains(Severity)) issues.Add(("severity", "The severity is info, warning or critical."));

        if (Condition is null || !AlertConditionKind.All.Contains(Condition.Kind))
        {
            issues.Add(("condition.kind", "The condition is above, below, outside_band or relative_change."));
        }
        else
        {
            if (Condition.Kind is AlertConditionKind.Above or AlertConditionKind.Below or AlertConditionKind.RelativeChange
                && (Condition.Threshold is not { } t || !double.IsFinite(t)))
                issues.Add(("condition.threshold", $"A {Condition.Kind} condition needs a finite threshold."));
            if (Condition.Kind == AlertConditionKind.RelativeChange && Condition.Threshold is <= 0) issues.Add(("condition.threshold", "A relative change is a positive fraction (0.5 = 50 %)."));
            if (Condition.K is { } k && (!double.IsFinite(k) || k <= 0 || k > 100)) issues.Add(("condition.k", "k is a number of standard deviations above 0 and at most 100."));
            if (!AlertDirection.All.Contains(Condition.Direction ?? "")) issues.Add(("condition.direction", "The direction is either, up or down."));
            if (Condition.ReferenceWindows is < 2 or > 365) issues.Add(("condition.referenceWindows", "The reference is 2 to 365 windows."));
        }

        var labels = Labels ?? new Dictionary<string, string>();
        if (labels.Count > MaxLabels) issues.Add(("labels", $"A rule has at most {MaxLabels} labels."));
        foreach (var (name, value) in labels)
        {
            if (!LabelName().IsMatch(name ?? "")) issues.Add(($"labels.{name}", "A label name is letters, digits and underscores, starting with a letter or underscore, at most 64."));
            else if (name is AlertLabels.AlertName or AlertLabels.Model or AlertLabels.Severity) issues.Add(($"labels.{name}", $"'{name}' is set by the rule itself."));
            if (value is null || StoredText.Problem(value, 200) is not null) issues.Add(($"labels.{name}", "A label value has at most 200 characters and no control characters or broken Unicode."));
        }

        if (Description is { } description)
        {
            if (StoredText.Problem(description, MaxDescriptionLength, multiline: true) is { } problem0) issues.Add(("description", problem0));
            else if (AlertTemplate.Validate(description) is { } problem) issues.Add(("description", problem));
        }

        if (Channels is { Count: > 20 }) issues.Add(("channels", "A rule names at most 20 channels."));
        return issues;
    }

    // A refused value is echoed in the message: never a whole megabyte of it, nor a control character.
    private static string Shorten(string value)
    {
        var shown = value.Length > 64 ? value[..64] + "…" : value;
        return new string([.. shown.Select(c => char.IsControl(c) ? '?' : c)]);
    }

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]{0,63}$", RegexOptions.CultureInvariant)]
    private static partial Regex LabelName();
}

/// <summary>A stored rule.</summary>
public sealed record AlertRule(Guid Id, AlertRuleSpec Spec, int Revision, string CreatedBy, DateTime CreatedAt, string UpdatedBy, DateTime UpdatedAt)
{
    public string Name => Spec.Name;

    public bool Enabled => Spec.Enabled;
}
