using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace FraudWorkbench.Core.Alerts;

/// <summary>One alert as a notification carries it (Alertmanager's alert, plus what Slack and e-mail show).</summary>
/// <param name="Status">firing or resolved.</param>
/// <param name="StartsAt">When it started firing.</param>
/// <param name="EndsAt">When it resolved; null while firing.</param>
public sealed record NotificationAlert(
    string Status, IReadOnlyDictionary<string, string> Labels, IReadOnlyDictionary<string, string> Annotations, DateTime StartsAt, DateTime? EndsAt,
    string GeneratorUrl, string Fingerprint, string Rule, string Model, string Severity, double? Value);

/// <summary>One notification: a group's alerts as one channel receives them.</summary>
/// <param name="Receiver">The channel's name.</param>
/// <param name="Status">firing when any alert fires, else resolved.</param>
/// <param name="ExternalUrl">The app's address (from <see cref="AlertsOptions.PublicUrl"/>), empty when not configured.</param>
public sealed record NotificationMessage(
    string Receiver, string Status, string GroupKey, IReadOnlyDictionary<string, string> GroupLabels, IReadOnlyList<NotificationAlert> Alerts, string ExternalUrl,
    bool Test = false)
{
    public int FiringCount => Alerts.Count(a => a.Status == AlertState.Firing);

    /// <summary>Labels every alert has with the same value (Alertmanager's commonLabels).</summary>
    public IReadOnlyDictionary<string, string> CommonLabels => Common(a => a.Labels);

    public IReadOnlyDictionary<string, string> CommonAnnotations => Common(a => a.Annotations);

    /// <summary>
    /// Alertmanager's default title: <c>[FIRING:2] Dataset drift · card-fraud</c>, <c>[RESOLVED] …</c>; the rule and the model
    /// when the group's alerts share them, else how many (<c>[FIRING:3] Dataset drift · 3 models</c>).
    /// </summary>
    public string Title
    {
        get
        {
            var status = Status == AlertState.Firing ? $"FIRING:{FiringCount}" : "RESOLVED";
            var common = CommonLabels;
            var rules = Alerts.Select(a => a.Rule).Distinct(StringComparer.Ordinal).Count();
            var names = GroupLabels.GetValueOrDefault(AlertLabels.AlertName) ?? common.GetValueOrDefault(AlertLabels.AlertName)
                ?? (rules > 1 ? $"{rules} rules" : Alerts.FirstOrDefault()?.Rule ?? "alerts");
            var models = Alerts.Select(a => a.Model).Distinct(StringComparer.Ordinal).Count();
            // "*" (an installation-wide alert) says nothing worth a title unless the group is keyed by it.
            var model = GroupLabels.GetValueOrDefault(AlertLabels.Model)
                ?? (common.GetValueOrDefault(AlertLabels.Model) is { } shared && shared != AlertLabels.AllModels ? shared : models > 1 ? $"{models} models" : null);
            return $"{(Test ? "[TEST] " : "")}[{status}] {names}{(string.IsNullOrEmpty(model) ? "" : $" · {model}")}";
        }
    }

    private SortedDictionary<string, string> Common(Func<NotificationAlert, IReadOnlyDictionary<string, string>> of)
    {
        var common = new SortedDictionary<string, string>(StringComparer.Ordinal);
        if (Alerts.Count == 0) return common;
        foreach (var (k, v) in of(Alerts[0]))
        {
            if (Alerts.All(a => of(a).TryGetValue(k, out var other) && other == v)) common[k] = v;
        }

        return common;
    }
}

/// <summary>The webhook bodies: Alertmanager's webhook format (version 4) and Slack's incoming webhook.</summary>
public static class AlertPayloads
{
    /// <summary>Alertmanager writes a firing alert's endsAt as Go's zero time.</summary>
    public const string ZeroTime = "0001-01-01T00:00:00Z";

    /// <summary>At most this many alerts go into one payload; the rest are counted in <c>truncatedAlerts</c>.</summary>
    public const int MaxAlerts = 100;

    private static readonly JsonSerializerOptions Options = new() { WriteIndented = false };

    /// <summary>RFC 3339 in UTC, fractional seconds only when there are any (as Go prints them).</summary>
    public static string Time(DateTime at) =>
        DateTime.SpecifyKind(at, DateTimeKind.Utc).ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture);

    /// <summary>The body for the channel kind; e-mail keeps its rendered subject and bodies.</summary>
    public static string Render(string kind, NotificationMessage message) => kind switch
    {
        ChannelKind.Alertmanager => Alertmanager(message),
        ChannelKind.Slack => Slack(message),
        ChannelKind.Email => AlertEmail.Render(message).ToJson(),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown channel kind."),
    };

    public static string Alertmanager(NotificationMessage message)
    {
        var alerts = new JsonArray();
        foreach (var alert in message.Alerts.Take(MaxAlerts))
        {
            alerts.Add(new JsonObject
            {
                ["status"] = alert.Status,
                ["labels"] = Object(alert.Labels),
                ["annotations"] = Object(alert.Annotations),
                ["startsAt"] = Time(alert.StartsAt),
                ["endsAt"] = alert.EndsAt is { } ended ? Time(ended) : ZeroTime,
                ["generatorURL"] = alert.GeneratorUrl,
                ["fingerprint"] = alert.Fingerprint,
            });
        }

        var body = new JsonObject
        {
            ["version"] = "4",
            ["groupKey"] = message.GroupKey,
            ["truncatedAlerts"] = Math.Max(0, message.Alerts.Count - MaxAlerts),
            ["status"] = message.Status,
            ["receiver"] = message.Receiver,
            ["groupLabels"] = Object(message.GroupLabels),
            ["commonLabels"] = Object(message.CommonLabels),
            ["commonAnnotations"] = Object(message.CommonAnnotations),
            ["externalURL"] = message.ExternalUrl,
            ["alerts"] = alerts,
        };
        return body.ToJsonString(Options);
    }

    /// <summary>Slack's incoming webhook: a plain <c>text</c> (notifications and clients without blocks) and one coloured attachment per alert.</summary>
    public static string Slack(NotificationMessage message)
    {
        var attachments = new JsonArray();
        foreach (var alert in message.Alerts.Take(20))
        {
            var summary = alert.Annotations.GetValueOrDefault("summary") ?? alert.Annotations.GetValueOrDefault("description") ?? alert.Rule;
            var link = alert.Annotations.GetValueOrDefault("link") is { Length: > 0 } l && Uri.IsWellFormedUriString(l, UriKind.Absolute) ? l : alert.GeneratorUrl;
            var text = $"*{Escape(alert.Status == AlertState.Firing ? "Firing" : "Resolved")}: {Escape(alert.Rule)}* · {Escape(alert.Model)}\n{Escape(summary)}";
            var fields = new JsonArray
            {
                Field("Model", alert.Model),
                Field("Severity", alert.Severity),
                Field("Value", AlertTemplate.Number(alert.Value)),
                Field(alert.EndsAt is { } ended ? "Resolved" : "Since", Time(alert.EndsAt ?? alert.StartsAt)),
            };
            var blocks = new JsonArray
            {
                new JsonObject { ["type"] = "section", ["text"] = Markdown(text), ["fields"] = fields },
            };
            if (Uri.IsWellFormedUriString(link, UriKind.Absolute))
                blocks.Add(new JsonObject { ["type"] = "context", ["elements"] = new JsonArray { Markdown($"<{link.Replace(">", "%3E")}|Open in FraudWorkbench>") } });
            attachments.Add(new JsonObject
            {
                ["color"] = alert.Status == AlertState.Resolved ? "#2e7d32" : Colour(alert.Severity),
                ["fallback"] = $"{alert.Rule} · {alert.Model}: {AlertTemplate.Number(alert.Value)}",
                ["blocks"] = blocks,
            });
        }

        var more = message.Alerts.Count - attachments.Count;
        var body = new JsonObject
        {
            // The top-level text is mrkdwn too (notifications, fallbacks): escaped, so a rule named "<!channel>" pings no one.
            ["text"] = Escape(message.Title) + (more > 0 ? $" (and {more} more)" : ""),
            ["blocks"] = new JsonArray { new JsonObject { ["type"] = "section", ["text"] = Markdown($"*{Escape(message.Title)}*") } },
            ["attachments"] = attachments,
        };
        return body.ToJsonString(Options);
    }

    /// <summary>Slack's colour for a severity (Material red, amber, blue).</summary>
    public static string Colour(string severity) => severity switch
    {
        AlertSeverity.Critical => "#d32f2f",
        AlertSeverity.Warning => "#f9a825",
        _ => "#1976d2",
    };

    /// <summary>Slack's mrkdwn needs &amp;, &lt; and &gt; escaped; everything else is text.</summary>
    private static string Escape(string text) => text.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;");

    private static JsonObject Markdown(string text) => new() { ["type"] = "mrkdwn", ["text"] = text };

    private static JsonObject Field(string title, string value) => Markdown($"*{Escape(title)}*\n{Escape(value)}");

    private static JsonObject Object(IReadOnlyDictionary<string, string> values)
    {
        var o = new JsonObject();
        foreach (var (k, v) in values.OrderBy(p => p.Key, StringComparer.Ordinal)) o[k] = v;
        return o;
    }
}
