using System.Text.RegularExpressions;
using FraudWorkbench.Core.Data;

namespace FraudWorkbench.Core.Alerts;

/// <summary>An alert episode as stored (<c>alerts</c>).</summary>
/// <param name="Annotations">Rendered texts: <c>summary</c>, <c>description</c>, <c>link</c> (the model's page), <c>threshold</c>.</param>
/// <param name="SilencedBy">The active silence that mutes it now, if any (computed when read).</param>
public sealed record Alert(
    Guid Id, Guid RuleId, string Rule, string Model, string Fingerprint, string State, string Severity, double? Value,
    IReadOnlyDictionary<string, string> Labels, IReadOnlyDictionary<string, string> Annotations,
    DateTime ActiveAt, DateTime? FiredAt, DateTime LastTrueAt, DateTime? ResolvedAt, DateTime LastEvaluatedAt,
    string? AckedBy, DateTime? AckedAt, string? AckComment, Guid? SilencedBy = null)
{
    public bool Acknowledged => AckedAt is not null;
}

/// <summary>Which alerts to list: any null filter matches everything.</summary>
public sealed record AlertFilter(string? State = null, string? Model = null, string? Severity = null, Guid? RuleId = null, DateTime? Since = null, int Take = 200);

public static class MatcherOp
{
    public const string Equal = "=";
    public const string NotEqual = "!=";
    public const string Regex = "=~";
    public const string NotRegex = "!~";

    public static readonly IReadOnlyList<string> All = [Equal, NotEqual, Regex, NotRegex];
}

/// <summary>An Alertmanager matcher on one label; regular expressions are anchored and time-limited.</summary>
public sealed record AlertMatcher(string Label, string Op, string Value)
{
    private static readonly TimeSpan RegexTimeout = TimeSpan.FromMilliseconds(50);

    public bool Matches(IReadOnlyDictionary<string, string> labels)
    {
        var actual = labels.GetValueOrDefault(Label) ?? "";
        return Op switch
        {
            MatcherOp.Equal => actual == Value,
            MatcherOp.NotEqual => actual != Value,
            MatcherOp.Regex => IsMatch(actual),
            MatcherOp.NotRegex => !IsMatch(actual),
            _ => false,
        };
    }

    private bool IsMatch(string actual)
    {
        try
        {
            return System.Text.RegularExpressions.Regex.IsMatch(actual, Anchored(Value), RegexOptions.CultureInvariant, RegexTimeout);
        }
        catch (Exception ex) when (ex is RegexMatchTimeoutException or ArgumentException)
        {
            // A pattern stored before validation checked the anchored form: it matches nothing rather than break every reader.
            return false;
        }
    }

    /// <summary>The pattern as it is matched: anchored at both ends, as Alertmanager's matchers are.</summary>
    private static string Anchored(string value) => $"^(?:{value})$";

    /// <summary>Null when the matcher is well formed; otherwise what is wrong.</summary>
    public string? Problem()
    {
        if (string.IsNullOrWhiteSpace(Label) || Label.Length > 64) return "A matcher names a label (alertname, model, severity or one of the rule's).";
        if (StoredText.Problem(Label, 64) is { } label) return $"label: {label}";
        if (!MatcherOp.All.Contains(Op)) return "A matcher's op is =, !=, =~ or !~.";
        if (Value is null || Value.Length > 400) return "A matcher's value has at most 400 characters.";
        if (StoredText.Problem(Value, 400) is { } value) return $"value: {value}";
        if (Op is MatcherOp.Regex or MatcherOp.NotRegex)
        {
            try
            {
                // The anchored form is what runs: a pattern valid alone can break once wrapped ("(?x)a#" comments out the end).
                _ = new Regex(Anchored(Value), RegexOptions.CultureInvariant, RegexTimeout);
            }
            catch (ArgumentException)
            {
                return $"'{Value}' is not a regular expression.";
            }
        }

        return null;
    }
}

/// <summary>A silence as created: every matcher must match an alert's labels; it mutes notifications between its start and end.</summary>
public sealed record SilenceSpec(IReadOnlyList<AlertMatcher> Matchers, DateTime StartsAt, DateTime EndsAt, string Comment)
{
    public IReadOnlyList<(string Field, string Message)> Validate(DateTime now)
    {
        var issues = new List<(string, string)>();
        if (Matchers is null || Matchers.Count == 0) issues.Add(("matchers", "A silence needs at least one matcher."));
        else if (Matchers.Count > 20) issues.Add(("matchers", "A silence has at most 20 matchers."));
        else
        {
            for (var i = 0; i < Matchers.Count; i++)
            {
                if (Matchers[i] is null) issues.Add(($"matchers[{i}]", "A matcher is {\"label\", \"op\", \"value\"}."));
                else if (Matchers[i].Problem() is { } problem) issues.Add(($"matchers[{i}]", problem));
            }
        }

        if (EndsAt <= StartsAt) issues.Add(("endsAt", "A silence ends after it starts."));
        else if (EndsAt <= now) issues.Add(("endsAt", "A silence must end in the future."));
        else if (EndsAt - StartsAt > TimeSpan.FromDays(366)) issues.Add(("endsAt", "A silence lasts at most a year."));
        if (string.IsNullOrWhiteSpace(Comment)) issues.Add(("comment", "Say why: a silence needs a comment."));
        else if (StoredText.Problem(Comment, 2000, multiline: true) is { } comment) issues.Add(("comment", comment));
        return issues;
    }
}

public sealed record Silence(
    Guid Id, IReadOnlyList<AlertMatcher> Matchers, DateTime StartsAt, DateTime EndsAt, string Comment, string CreatedBy, DateTime CreatedAt,
    string? ExpiredBy, DateTime? ExpiredAt)
{
    public bool IsActive(DateTime now) => ExpiredAt is null && StartsAt <= now && now < EndsAt;

    public bool Mutes(IReadOnlyDictionary<string, string> labels, DateTime now) => IsActive(now) && Matchers.All(m => m.Matches(labels));
}

/// <summary>A request about alerts that cannot be carried out; 400s name their fields.</summary>
public sealed class AlertException(string message, int status = 409, IReadOnlyList<(string Field, string Message)>? issues = null) : Exception(message)
{
    public int Status { get; } = status;

    public IReadOnlyList<(string Field, string Message)> Issues { get; } = issues ?? [];

    public static AlertException Invalid(IReadOnlyList<(string Field, string Message)> issues) =>
        new(string.Join(" ", issues.Select(i => $"{i.Field}: {i.Message}")), 400, issues);

    public static AlertException NotFound(string what) => new($"{what} was not found.", 404);
}
