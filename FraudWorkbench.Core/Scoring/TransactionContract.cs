using System.Globalization;
using System.Text.Json;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Features;

namespace FraudWorkbench.Core.Scoring;

/// <summary>A field of a transaction that cannot be scored, named as the caller wrote it (e.g. <c>transactions[3].amount</c>).</summary>
public sealed record InputIssue(string Field, string Message);

/// <summary>
/// What a model accepts as a transaction: the raw columns of the dataset it was trained on. Columns the
/// feature set reads must be present (null means missing, which the features impute; never for the event
/// time or an entity key); columns the dataset does not have are refused; a categorical column whose every
/// training value is known (a closed vocabulary) refuses values it never saw.
/// </summary>
public sealed class TransactionContract
{
    private readonly DatasetSchema schema;
    private readonly Dictionary<string, int> index;
    private readonly HashSet<int> required = [];
    private readonly HashSet<int> notNull = [];
    private readonly Dictionary<int, HashSet<string>> vocabularies = [];

    public TransactionContract(FittedFeatureSet features, DatasetProfile? profile)
    {
        schema = features.Schema;
        index = schema.Columns.Select((c, i) => (c.Name, i)).ToDictionary(x => x.Name, x => x.i, StringComparer.Ordinal);
        var needsTime = false;
        foreach (var spec in features.Definition.Features)
        {
            foreach (var name in new[] { spec.Column, spec.Other, spec.Entity })
                if (name is not null && index.TryGetValue(name, out var i)) required.Add(i);
            if (spec.Entity is not null && index.TryGetValue(spec.Entity, out var e)) notNull.Add(e);
            needsTime |= spec.Kind is FeatureKind.Velocity or FeatureKind.EntityRatio;
        }

        if (needsTime && schema.EventTime is { } time)
        {
            required.Add(index[time.Name]);
            notNull.Add(index[time.Name]);
        }

        foreach (var column in profile?.Columns ?? [])
        {
            if (column.Type != ColumnType.Categorical || column.DistinctAtLeast || column.TopCategories is not { } top || top.Count != column.Distinct) continue;
            if (!index.TryGetValue(column.Name, out var i) || !required.Contains(i)) continue;
            vocabularies[i] = [.. top.Select(c => c.Value)];
        }
    }

    public IReadOnlyList<string> RequiredColumns => [.. required.Order().Select(i => schema.Columns[i].Name)];

    public IReadOnlyDictionary<string, IReadOnlyCollection<string>> Vocabularies =>
        vocabularies.ToDictionary(kv => schema.Columns[kv.Key].Name, kv => (IReadOnlyCollection<string>)kv.Value);

    public DatasetSchema Schema => schema;

    /// <summary>The transaction as a row of cells in the dataset's column order, or the issues that stop it being scored.</summary>
    public string?[]? Parse(JsonElement transaction, string prefix, List<InputIssue> issues)
    {
        var before = issues.Count;
        if (transaction.ValueKind != JsonValueKind.Object)
        {
            issues.Add(new InputIssue(prefix.TrimEnd('.'), "A transaction must be a JSON object of the dataset's columns."));
            return null;
        }

        var row = new string?[schema.Columns.Count];
        var seen = new bool[schema.Columns.Count];
        foreach (var property in transaction.EnumerateObject())
        {
            var field = prefix + property.Name;
            if (!index.TryGetValue(property.Name, out var i))
            {
                issues.Add(new InputIssue(field, $"'{property.Name}' is not a column of the model's dataset."));
                continue;
            }

            if (seen[i])
            {
                issues.Add(new InputIssue(field, "The field appears twice."));
                continue;
            }

            seen[i] = true;
            row[i] = Cell(schema.Columns[i], property.Value, field, issues);
        }

        foreach (var i in required)
        {
            var column = schema.Columns[i];
            if (!seen[i])
            {
                issues.Add(new InputIssue(prefix + column.Name, "This field is required."));
            }
            else if (row[i] is null && notNull.Contains(i))
            {
                issues.Add(new InputIssue(prefix + column.Name, column.Role == ColumnRole.EventTime ? "The event time may not be null." : "An entity key may not be null."));
            }
            else if (row[i] is { } value && vocabularies.TryGetValue(i, out var known) && !known.Contains(value))
            {
                issues.Add(new InputIssue(prefix + column.Name, $"Unknown category '{Shorten(value)}'; the model knows {string.Join(", ", known.Order(StringComparer.Ordinal).Select(k => $"'{k}'"))}."));
            }
        }

        return issues.Count == before ? row : null;
    }

    /// <summary>The string, or null with an issue when it cannot be stored (a lone surrogate escape, a NUL character).</summary>
    public static string? TextOf(JsonElement value, string field, List<InputIssue> issues)
    {
        try
        {
            var text = value.GetString();
            if (text is not null && text.Contains('\0')) issues.Add(new InputIssue(field, "The text contains a NUL character."));
            else return text;
        }
        catch (InvalidOperationException)
        {
            issues.Add(new InputIssue(field, "The text holds an invalid Unicode escape."));
        }

        return null;
    }

    private static string? Cell(DatasetColumn column, JsonElement value, string field, List<InputIssue> issues)
    {
        if (value.ValueKind == JsonValueKind.Null) return null;
        switch (column.Type)
        {
            case ColumnType.Integer or ColumnType.Decimal:
                if (value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var number) && double.IsFinite(number))
                {
                    if (column.Type == ColumnType.Integer && number != Math.Floor(number))
                    {
                        issues.Add(new InputIssue(field, $"Expected a whole number, got {value.GetRawText()}."));
                        return null;
                    }

                    return number.ToString("R", CultureInfo.InvariantCulture);
                }

                issues.Add(new InputIssue(field, value.ValueKind == JsonValueKind.Number || value.ValueKind == JsonValueKind.String && IsNonFinite(TextOf(value, field, []))
                    ? "Expected a finite number (NaN and Infinity are not allowed)."
                    : $"Expected a number, got {Kind(value)}."));
                return null;
            case ColumnType.Boolean:
                if (value.ValueKind is JsonValueKind.True or JsonValueKind.False) return value.GetBoolean() ? "true" : "false";
                issues.Add(new InputIssue(field, $"Expected true or false, got {Kind(value)}."));
                return null;
            case ColumnType.DateTime:
                var format = column.DateFormat ?? ValueParsing.Iso;
                var text = value.ValueKind switch
                {
                    JsonValueKind.String => TextOf(value, field, issues),
                    JsonValueKind.Number when format is ValueParsing.EpochSeconds or ValueParsing.EpochMilliseconds => value.GetRawText(),
                    _ => null,
                };
                if (text is not null && ValueParsing.TryDateTime(text, format, out _)) return text;
                issues.Add(new InputIssue(field, format == ValueParsing.Iso
                    ? "Expected an ISO 8601 date and time, e.g. \"2026-03-01T14:05:00Z\"."
                    : $"Expected a date and time in the dataset's format ({format})."));
                return null;
            default:
                if (value.ValueKind == JsonValueKind.String) return TextOf(value, field, issues);
                if (value.ValueKind == JsonValueKind.Number) return value.GetRawText();
                issues.Add(new InputIssue(field, $"Expected a string, got {Kind(value)}."));
                return null;
        }
    }

    private static bool IsNonFinite(string? text) =>
        text is not null && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && !double.IsFinite(d);

    private static string Kind(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        _ => value.ValueKind.ToString().ToLowerInvariant(),
    };

    private static string Shorten(string value) => value.Length <= 60 ? value : value[..60] + "…";
}
