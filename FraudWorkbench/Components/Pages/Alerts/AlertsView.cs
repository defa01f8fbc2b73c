using System.Globalization;
using FraudWorkbench.Core.Alerts;
using MudBlazor;

namespace FraudWorkbench.Components.Pages.Alerts;

/// <summary>How rules, alerts and backtests read on the alerts pages.</summary>
public static class AlertsView
{
    public static Color SeverityColor(string severity) => severity switch
    {
        AlertSeverity.Critical => Color.Error,
        AlertSeverity.Warning => Color.Warning,
        _ => Color.Info,
    };

    public static Color StateColor(string state) => state switch
    {
        AlertState.Firing => Color.Error,
        AlertState.Pending => Color.Warning,
        AlertState.Resolved => Color.Success,
        _ => Color.Default,
    };

    /// <summary>An alert's model: global alerts (job failures, scoring errors) carry <c>*</c>.</summary>
    public static string ModelName(string model) => model == AlertLabels.AllModels ? "the installation" : model;

    /// <summary>A link an annotation carries, only when it is the app's own path or http(s): never <c>javascript:</c>.</summary>
    public static string? SafeLink(string? link) =>
        link is null ? null
        : link.StartsWith('/') && !link.StartsWith("//", StringComparison.Ordinal) ? link
        : Uri.TryCreate(link, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps) ? link
        : null;

    public static string Number(double? value) => AlertTemplate.Number(value);

    /// <summary>The metric a rule watches, in words: "PSI of a column (amount)", "Estimated performance (CBPE): recall".</summary>
    public static string Metric(AlertMetricSpec metric)
    {
        var info = AlertMetricKind.Find(metric.Kind);
        var title = info?.Title ?? metric.Kind;
        if (metric.Column is { } column) title += $" ({column})";
        if (metric.Metric is { } m) title += $": {m}";
        if (metric.Disparity is { } d) title += $": {d}{(metric.Grouping is { } g ? $" by {g}" : " (worst grouping)")}";
        return title;
    }

    /// <summary>The condition in words: "above 0.5 (inclusive) over 1d windows"; "retraining.fail audited > 0 in 1h" for audited actions.</summary>
    public static string Condition(AlertRuleSpec rule)
    {
        var c = rule.Condition;
        var sample = rule.MinSample > 0 ? $", at least {rule.MinSample.ToString("#,0", CultureInfo.InvariantCulture)} in a window" : "";
        var pending = AlertDuration.TryParse(rule.For, out var f) && f > TimeSpan.Zero ? $", for {rule.For}" : "";
        // A count of one action reads best as the count itself; the band and change conditions keep their general wording.
        if (AlertMetricKind.Find(rule.Metric.Kind) is { Action: true } && c.Kind is AlertConditionKind.Above or AlertConditionKind.Below)
        {
            var op = (c.Kind, c.Inclusive) switch { (AlertConditionKind.Above, false) => ">", (AlertConditionKind.Above, true) => "≥", (_, false) => "<", _ => "≤" };
            sample = rule.MinSample > 0 ? $", at least {rule.MinSample.ToString("#,0", CultureInfo.InvariantCulture)} audited entries of any action in a window" : "";
            return $"{rule.Metric.Metric} audited {op} {Number(c.Threshold)} in {rule.Window}{sample}{pending}";
        }

        var text = c.Kind switch
        {
            AlertConditionKind.Above => $"{(c.Inclusive ? "at or above" : "above")} {Number(c.Threshold)}",
            AlertConditionKind.Below => $"{(c.Inclusive ? "at or below" : "below")} {Number(c.Threshold)}",
            AlertConditionKind.OutsideBand => $"outside the reference band ({Side(c.Direction)}; mean ± {Number(c.K ?? 3)} σ of {c.ReferenceWindows} windows, or the metric's own band)",
            AlertConditionKind.RelativeChange => $"changes by more than {Number((c.Threshold ?? 0) * 100)} % ({Side(c.Direction)}) against the mean of {c.ReferenceWindows} windows",
            _ => c.Kind,
        };
        return $"{text} over {rule.Window} windows{sample}{pending}";
    }

    private static string Side(string direction) => direction switch
    {
        AlertDirection.Up => "upwards",
        AlertDirection.Down => "downwards",
        _ => "either way",
    };

    /// <summary>"would have fired 3 times, 41 h in total" (or "would not have fired").</summary>
    public static string Summary(AlertBacktestResult result)
    {
        if (result.Firing.Count == 0) return $"Would not have fired for {result.Model} between {result.From:yyyy-MM-dd HH:mm} and {result.To:yyyy-MM-dd HH:mm} UTC.";
        var total = result.Firing.Sum(p => ((p.To ?? result.To) - p.From).TotalHours);
        var times = result.Firing.Count == 1 ? "once" : $"{result.Firing.Count} times";
        var still = result.Firing[^1].To is null ? ", and would be firing now" : "";
        return string.Create(CultureInfo.InvariantCulture, $"Would have fired {times} for {result.Model}, {Hours(total)} in total{still}.");
    }

    public static string Hours(double hours) => hours >= 10 ? $"{hours:0} h" : hours >= 1 ? $"{hours:0.#} h" : $"{hours * 60:0} min";

    /// <summary>How long ago, coarsely: "12 s", "5 min", "3 h", "2 d".</summary>
    public static string Since(DateTime at, DateTime now)
    {
        var d = now - at;
        if (d < TimeSpan.Zero) d = TimeSpan.Zero;
        return d.TotalSeconds < 60 ? $"{d.TotalSeconds:0} s" : d.TotalMinutes < 60 ? $"{d.TotalMinutes:0} min" : d.TotalHours < 48 ? $"{d.TotalHours:0} h" : $"{d.TotalDays:0} d";
    }

    public static string Time(DateTime? at) => at is { } t ? t.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) + " UTC" : "—";
}
