using System.Globalization;
using System.Text.Json;

namespace FraudWorkbench.Core.Accounts;

/// <summary>One line of an audit entry as a person reads it: a field and its value, or what it was and what it became.</summary>
public sealed record AuditChange(string Field, string? Before, string? After, bool IsChange);

/// <summary>
/// Turns an audit entry's JSON into readable lines: for an update, the fields that differ from the
/// same object's previous update; for a summary that carries <c>before</c> and <c>after</c>, their
/// difference; otherwise the fields with their values. Nested values are flattened to dotted paths
/// ("gate.baselines[0].threshold"), so a change deep inside a settings object is one line.
/// </summary>
public static class AuditChanges
{
    private const int MaxValueLength = 120;

    public static IReadOnlyList<AuditChange> Describe(AuditEntry entry)
    {
        var current = Flatten(entry.Summary);
        if (entry.PreviousSummary is not null)
        {
            return Diff(Flatten(entry.PreviousSummary), current);
        }

        if (current.Keys.Any(k => k.StartsWith("before", StringComparison.Ordinal)) && current.Keys.Any(k => k.StartsWith("after", StringComparison.Ordinal)))
        {
            // {"before": "Reviewer", "after": "Admin"} under "user.set-role" reads as "role: Reviewer → Admin".
            var subject = entry.Action[(entry.Action.LastIndexOf('.') + 1)..];
            subject = subject.StartsWith("set-", StringComparison.Ordinal) ? subject[4..] : subject;
            var before = Strip(current, "before", subject);
            var after = Strip(current, "after", subject);
            var rest = current.Where(p => !IsUnder(p.Key, "before") && !IsUnder(p.Key, "after"));
            return [.. Diff(before, after), .. rest.Select(p => new AuditChange(p.Key, null, p.Value, false))];
        }

        return [.. current.Select(p => new AuditChange(p.Key, null, p.Value, false))];
    }

    /// <summary>The name a person knows the object by, when the entry says it; else null.</summary>
    public static string? NameOf(AuditEntry entry)
    {
        var fields = Flatten(entry.Summary);
        if (fields.TryGetValue("model", out var model) && fields.TryGetValue("version", out var version)) return $"{model} v{version}";
        if (fields.TryGetValue("name", out var name)) return name;
        return null;
    }

    /// <summary>Lines for fields that were added, removed or changed, in the order of the newer value.</summary>
    public static IReadOnlyList<AuditChange> Diff(IReadOnlyDictionary<string, string?> before, IReadOnlyDictionary<string, string?> after)
    {
        var lines = new List<AuditChange>();
        foreach (var (field, value) in after)
        {
            if (!before.TryGetValue(field, out var old)) lines.Add(new(field, null, value, true));
            else if (old != value) lines.Add(new(field, old, value, true));
        }

        lines.AddRange(before.Where(p => !after.ContainsKey(p.Key)).Select(p => new AuditChange(p.Key, p.Value, null, true)));
        return lines;
    }

    /// <summary>Leaf values by dotted path; arrays of plain values become one comma-separated value.</summary>
    public static IReadOnlyDictionary<string, string?> Flatten(string? json)
    {
        var fields = new Dictionary<string, string?>(StringComparer.Ordinal);
        if (string.IsNullOrWhiteSpace(json)) return fields;
        using var document = JsonDocument.Parse(json);
        Walk(document.RootElement, "", fields);
        return fields;
    }

    private static void Walk(JsonElement element, string path, Dictionary<string, string?> fields)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject()) Walk(property.Value, path.Length == 0 ? property.Name : $"{path}.{property.Name}", fields);
                break;
            case JsonValueKind.Array when element.EnumerateArray().All(e => e.ValueKind is not (JsonValueKind.Object or JsonValueKind.Array)):
                fields[path] = Shorten(string.Join(", ", element.EnumerateArray().Select(Scalar)));
                break;
            case JsonValueKind.Array:
                var index = 0;
                foreach (var item in element.EnumerateArray()) Walk(item, $"{path}[{index++}]", fields);
                break;
            default:
                fields[path.Length == 0 ? "value" : path] = element.ValueKind == JsonValueKind.Null ? null : Shorten(Scalar(element));
                break;
        }
    }

    private static string Scalar(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.String when element.TryGetDateTime(out var at) && element.GetString()!.Length >= 19 => at.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture),
        JsonValueKind.String => element.GetString()!,
        JsonValueKind.True => "yes",
        JsonValueKind.False => "no",
        _ => element.GetRawText(),
    };

    private static string Shorten(string value) => value.Length <= MaxValueLength ? value : value[..(MaxValueLength - 1)] + "…";

    private static bool IsUnder(string key, string root) => key == root || key.StartsWith(root + ".", StringComparison.Ordinal) || key.StartsWith(root + "[", StringComparison.Ordinal);

    private static Dictionary<string, string?> Strip(IReadOnlyDictionary<string, string?> fields, string root, string subject) =>
        fields.Where(p => IsUnder(p.Key, root)).ToDictionary(
            p => p.Key == root ? subject : p.Key[root.Length] == '.' ? p.Key[(root.Length + 1)..] : subject + p.Key[root.Length..],
            p => p.Value,
            StringComparer.Ordinal);
}
