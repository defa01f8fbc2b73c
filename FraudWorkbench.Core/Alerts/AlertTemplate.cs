using System.Globalization;
using System.Text.RegularExpressions;

namespace FraudWorkbench.Core.Alerts;

/// <summary>
/// A rule's description: text with <c>{{name}}</c> placeholders replaced by values, nothing else. No expressions, no
/// code, no markup: a template is data and is shown as text (HTML-encoded by the page and the e-mail).
/// </summary>
public static partial class AlertTemplate
{
    public static readonly IReadOnlyList<string> Names = ["value", "threshold", "model", "rule", "severity", "metric", "link", "window"];

    /// <summary>The default when a rule has no description.</summary>
    public const string Default = "{{rule}}: {{metric}} of {{model}} is {{value}} (threshold {{threshold}}). {{link}}";

    /// <summary>Null when every placeholder is known; otherwise what is wrong.</summary>
    public static string? Validate(string template)
    {
        var open = template.Split("{{").Length - 1;
        var placeholders = Placeholder().Matches(template);
        if (open != placeholders.Count) return "A placeholder is written {{name}}; a '{{' here is not closed by '}}' around a name.";
        foreach (Match m in placeholders)
        {
            var name = m.Groups[1].Value;
            if (!Names.Contains(name) && !name.StartsWith("labels.", StringComparison.Ordinal))
                return $"Unknown placeholder {{{{{name}}}}}; use {string.Join(", ", Names.Select(n => "{{" + n + "}}"))} or {{{{labels.NAME}}}}.";
        }

        return null;
    }

    /// <summary>The template with its placeholders replaced; an unknown label becomes empty.</summary>
    public static string Render(string template, IReadOnlyDictionary<string, string> values, IReadOnlyDictionary<string, string> labels) =>
        Placeholder().Replace(template, m =>
        {
            var name = m.Groups[1].Value;
            return name.StartsWith("labels.", StringComparison.Ordinal)
                ? labels.GetValueOrDefault(name["labels.".Length..]) ?? ""
                : values.GetValueOrDefault(name) ?? "";
        });

    /// <summary>A metric value as people read it: four significant digits, invariant culture; "no value" for null.</summary>
    public static string Number(double? value) => value is { } v ? v.ToString("G4", CultureInfo.InvariantCulture) : "no value";

    [GeneratedRegex(@"\{\{\s*([A-Za-z_][A-Za-z0-9_.]{0,80})\s*\}\}", RegexOptions.CultureInvariant)]
    private static partial Regex Placeholder();
}
