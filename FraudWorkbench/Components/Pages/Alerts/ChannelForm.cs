using FraudWorkbench.Core.Alerts;

namespace FraudWorkbench.Components.Pages.Alerts;

/// <summary>A notification channel as the add form and the edit dialog hold it: text fields, turned into a spec the store validates.</summary>
public sealed class ChannelForm
{
    public string Name { get; set; } = "";
    public string Kind { get; set; } = ChannelKind.Alertmanager;
    public string Url { get; set; } = "";
    public string Recipients { get; set; } = "";
    public string GroupBy { get; set; } = FormatGroupBy(AlertGrouping.Default);
    public string GroupWait { get; set; } = "";
    public string GroupInterval { get; set; } = "";
    public string RepeatInterval { get; set; } = "";
    public bool Global { get; set; } = true;
    public bool SendResolved { get; set; } = true;
    public bool Enabled { get; set; } = true;

    /// <summary>The channel as stored, for editing (a writer's view: the whole URL; never the secret, which is not read back).</summary>
    public static ChannelForm From(NotificationChannel channel) => new()
    {
        Name = channel.Spec.Name,
        Kind = channel.Spec.Kind,
        Url = channel.Spec.Url ?? "",
        Recipients = string.Join(", ", channel.Spec.Recipients ?? []),
        GroupBy = FormatGroupBy(channel.Spec.GroupBy ?? AlertGrouping.Default),
        GroupWait = channel.Spec.GroupWait ?? "",
        GroupInterval = channel.Spec.GroupInterval ?? "",
        RepeatInterval = channel.Spec.RepeatInterval ?? "",
        Global = channel.Spec.Global,
        SendResolved = channel.Spec.SendResolved,
        Enabled = channel.Spec.Enabled,
    };

    public ChannelSpec ToSpec() => new(Name.Trim(), Kind,
        Url: Kind == ChannelKind.Email ? null : Blank(Url),
        Recipients: Kind == ChannelKind.Email ? [.. Recipients.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)] : null,
        Global: Global, SendResolved: SendResolved, Enabled: Enabled,
        GroupWait: Blank(GroupWait), GroupInterval: Blank(GroupInterval), RepeatInterval: Blank(RepeatInterval),
        GroupBy: ParseGroupBy(GroupBy));

    /// <summary>"alertname, model" → [alertname, model]; empty → [] (one group), as the field's help says.</summary>
    public static IReadOnlyList<string> ParseGroupBy(string text) =>
        [.. text.Split([',', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];

    public static string FormatGroupBy(IReadOnlyList<string> groupBy) => string.Join(", ", groupBy);

    /// <summary>Where the server's objection shows: recipients[2] at the recipients field; a field the form does not have, under it (empty).</summary>
    public static string Field(string field)
    {
        var root = field.Split('[', '.')[0];
        return root is "name" or "url" or "recipients" or "groupBy" or "groupWait" or "groupInterval" or "repeatInterval" ? root : "";
    }

    public const string GroupByHelp = "labels, comma-separated: alertname (the rule), model, severity or a rule's label; ... for every label (no grouping); empty for one group";

    private static string? Blank(string text) => string.IsNullOrWhiteSpace(text) ? null : text.Trim();
}
