using System.Text.RegularExpressions;

namespace FraudWorkbench.Core.Alerts;

/// <summary>
/// Alertmanager's <c>group_by</c>: a channel's alerts whose values of the listed labels are equal form one group, sent as one
/// notification. <c>...</c> alone groups by every label (so each alert is its own group); an empty list is one group.
/// </summary>
public static partial class AlertGrouping
{
    /// <summary>Alertmanager's "group by every label".</summary>
    public const string AllLabels = "...";

    public const int MaxLabels = 10;

    /// <summary>By rule: one rule firing on many models is one notification listing them.</summary>
    public static readonly IReadOnlyList<string> Default = [AlertLabels.AlertName];

    /// <summary>What is wrong with a group_by list, or null: Prometheus label names, at most <see cref="MaxLabels"/>, no repeats, <c>...</c> alone.</summary>
    public static string? Problem(IReadOnlyList<string?> groupBy)
    {
        if (groupBy.Count > MaxLabels) return $"groupBy lists at most {MaxLabels} labels.";
        if (groupBy.Contains(AllLabels))
            return groupBy.Count == 1 ? null : "\"...\" (group by every label) stands alone in groupBy.";
        foreach (var label in groupBy)
        {
            if (label is null || !LabelName().IsMatch(label))
                return $"'{Shorten(label)}' is not a label name: a letter or _, then letters, digits or _ (as Prometheus), or \"...\" for every label.";
        }

        if (groupBy.GroupBy(l => l, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } twice)
            return $"groupBy names '{twice.Key}' twice.";
        return null;
    }

    /// <summary>
    /// The group labels of an alert: its values of the listed labels (a label the alert does not have is left out, as in
    /// Alertmanager), or all of them for <c>...</c>.
    /// </summary>
    public static SortedDictionary<string, string> Labels(IReadOnlyList<string> groupBy, IReadOnlyDictionary<string, string> labels)
    {
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var all = groupBy is [AllLabels];
        foreach (var (name, value) in labels)
        {
            if (value.Length > 0 && (all || groupBy.Contains(name))) result[name] = value;
        }

        return result;
    }

    /// <summary>The group's key in Alertmanager's form (the route's matchers, none here, then the group labels): <c>{}:{alertname="Dataset drift"}</c>.</summary>
    public static string Key(IReadOnlyDictionary<string, string> groupLabels) =>
        "{}:{" + string.Join(", ", groupLabels.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={Quote(p.Value)}")) + "}";

    /// <summary>The list in words, for the channels table.</summary>
    public static string Describe(IReadOnlyList<string>? groupBy) => groupBy switch
    {
        null => string.Join(", ", Default),
        [] => "one group",
        [AllLabels] => "every label (no grouping)",
        _ => string.Join(", ", groupBy),
    };

    private static string Quote(string value) => "\"" + value.Replace("\\", "\\\\").Replace("\"", "\\\"").ReplaceLineEndings("\\n") + "\"";

    private static string Shorten(string? label) => label is null ? "null" : label.Length > 60 ? label[..60] + "…" : label;

    [GeneratedRegex(@"^[a-zA-Z_][a-zA-Z0-9_]*\z", RegexOptions.CultureInvariant)]
    private static partial Regex LabelName();
}
