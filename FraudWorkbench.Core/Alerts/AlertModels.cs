using System.Security.Cryptography;
using System.Text;
using FraudWorkbench.Core.Events;

namespace FraudWorkbench.Core.Alerts;

public static class AlertSeverity
{
    public const string Info = "info";
    public const string Warning = "warning";
    public const string Critical = "critical";

    public static readonly IReadOnlyList<string> All = [Info, Warning, Critical];

    public static int Rank(string severity) => severity switch { Critical => 2, Warning => 1, _ => 0 };
}

/// <summary>An alert's lifecycle (Prometheus's rule states, with the episode's end kept as history).</summary>
public static class AlertState
{
    /// <summary>The condition is false (or the rule never saw it true): no open alert.</summary>
    public const string Inactive = "inactive";
    /// <summary>The condition holds, not yet for the rule's <c>for</c>.</summary>
    public const string Pending = "pending";
    public const string Firing = "firing";
    /// <summary>The episode is over; kept as history.</summary>
    public const string Resolved = "resolved";

    public static readonly IReadOnlyList<string> Stored = [Pending, Firing, Resolved];
}

/// <summary>What one evaluation decided about a rule's condition.</summary>
public enum AlertOutcome
{
    False,
    True,
    /// <summary>No decision: no value, or fewer observations than the rule's minimum sample. A firing alert keeps firing; a pending one ends.</summary>
    Unknown,
}

/// <summary>An alert's position in the lifecycle, as the state machine needs it.</summary>
/// <param name="ActiveAt">When the condition started holding (the episode's start); null when inactive.</param>
/// <param name="FiredAt">When the alert started firing; null unless it fired in this episode.</param>
/// <param name="LastTrueAt">The last evaluation that found the condition true.</param>
/// <param name="KeepFiringSince">The first evaluation that found a firing alert's condition false again (keep-firing counts from it, as
/// Prometheus's <c>KeepFiringSince</c>); null while the condition holds.</param>
public sealed record AlertStatus(string State, DateTime? ActiveAt, DateTime? FiredAt, DateTime? LastTrueAt, DateTime? KeepFiringSince = null)
{
    public static readonly AlertStatus Inactive = new(AlertState.Inactive, null, null, null);

    public bool IsOpen => State is AlertState.Pending or AlertState.Firing;
}

/// <summary>Published after an evaluation or an ack/silence changed alerts: the bell and the alerts pages reload; new critical ones pop up.</summary>
/// <param name="Fired">Alerts that started firing in this change (one of its parts, when many fired at once: see <see cref="Parts"/>).</param>
[EventName("alerts.changed")]
public sealed record AlertsChanged(IReadOnlyList<AlertNotice> Fired)
{
    /// <summary>
    /// The change as events that each fit the relay between instances: a NOTIFY payload holds under 8000 bytes, a notice
    /// takes some 300 to 900 escaped, so an evaluation that fires a few dozen alerts at once (a rule on every model, the
    /// first run after an outage) is published in several parts rather than reach no other instance. One event when none fired.
    /// </summary>
    public static IReadOnlyList<AlertsChanged> Parts(IReadOnlyList<AlertNotice> fired)
    {
        var name = EventHub.NameOf(typeof(AlertsChanged));
        var empty = PostgresEventRelay.PayloadBytes(name, Json(new AlertsChanged([])));
        var parts = new List<AlertsChanged>();
        var part = new List<AlertNotice>();
        var bytes = empty;
        foreach (var original in fired)
        {
            var notice = original;
            // The escaping is character by character, so a list's payload is the empty one's plus each notice's share and a comma.
            var size = PostgresEventRelay.PayloadBytes(name, Json(new AlertsChanged([notice]))) - empty;
            // Names and summaries are bounded, but a notice that could never fit goes without its summary (the page shows it).
            if (empty + size > PostgresEventRelay.MaxPayloadBytes)
            {
                notice = notice with { Summary = "" };
                size = PostgresEventRelay.PayloadBytes(name, Json(new AlertsChanged([notice]))) - empty;
            }

            var added = part.Count == 0 ? size : size + 1;
            if (part.Count > 0 && bytes + added > PostgresEventRelay.MaxPayloadBytes)
            {
                parts.Add(new AlertsChanged(part));
                (part, bytes, added) = ([], empty, size);
            }

            part.Add(notice);
            bytes += added;
        }

        if (part.Count > 0 || parts.Count == 0) parts.Add(new AlertsChanged(part));
        return parts;
    }

    private static string Json(AlertsChanged change) => System.Text.Json.JsonSerializer.Serialize(change, EventHub.JsonOptions);
}

/// <summary>A newly firing alert, enough for a snackbar and its link, and for whoever acts on a rule's alerts (retraining triggers) to know the rule.</summary>
public sealed record AlertNotice(Guid Id, string Rule, string Model, string Severity, string Summary, Guid? RuleId = null);

/// <summary>Published when a rule is created, changed, enabled, disabled or deleted.</summary>
[EventName("alerts.rules-changed")]
public sealed record AlertRulesChanged(Guid RuleId);

/// <summary>Published when a channel or a delivery changed (sent, failed, dead, resent).</summary>
[EventName("alerts.deliveries-changed")]
public sealed record NotificationsChanged(Guid? ChannelId);

/// <summary>The labels an alert carries (rule labels plus alertname, model and severity) and its fingerprint.</summary>
public static class AlertLabels
{
    public const string AlertName = "alertname";
    public const string Model = "model";
    public const string Severity = "severity";
    /// <summary>The model name of an alert about the whole installation (job failures, scoring errors).</summary>
    public const string AllModels = "*";

    public static IReadOnlyDictionary<string, string> Of(string ruleName, string model, string severity, IReadOnlyDictionary<string, string>? ruleLabels)
    {
        var labels = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in ruleLabels ?? new Dictionary<string, string>()) labels[k] = v;
        labels[AlertName] = ruleName;
        labels[Model] = model;
        labels[Severity] = severity;
        return labels;
    }

    /// <summary>One open alert per rule and model: the same rule and model give the same fingerprint, whatever its labels.</summary>
    public static string Fingerprint(Guid ruleId, string model) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{ruleId:N}\n{model}")))[..16];
}
