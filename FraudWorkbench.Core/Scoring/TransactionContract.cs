using System.Globalization;
using System.Text.Json;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Features;

namespace FraudWorkbench.Core.Scoring;

/// <summary>A field of a transaction that cannot be scored, named as the caller wrote it (e.g. <c>transactions[3].amount</c>).</summary>
public sealed record InputIssue(string Field, string Message);

/// <summary>A value the model scored without having seen it in training, and how it scored it (e.g. as 'other').</summary>
public sealed record UnseenValue(string Column, string Value, string Message);

/// <summary>
/// What a model accepts as a transaction: the raw columns of the dataset it was trained on. Columns the
/// feature set reads must be present (null means missing, which the features impute; never for the event
/// time or an entity key); columns the dataset does not have are refused. A category value the model never
/// saw is not bad input: it is scored as the model treats unknown values, and <see cref="Unseen"/> says so.
/// </summary>
public sealed class TransactionContract
{
    /// <summary>Event times before this are refused: no transaction is that old, and such a time would be read as the oldest event of its entity.</summary>
    public static readonly DateTime EarliestEventTime = new(1970, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    /// <summary>Event times from this on are refused: a far-future event would stay "the latest" in its entity's history.</summary>
    public static readonly DateTime LatestEventTime = new(2100, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    /// <summary>Longest text value of a transaction, in characters: categories, keys and ids are short, and every value is logged.</summary>
    public const int MaxTextLength = 1_024;

    private static readonly IReadOnlyList<UnseenValue> None = [];

    private readonly DatasetSchema schema;
    private readonly Dictionary<string, int> index;
    private readonly HashSet<int> required = [];
    private readonly HashSet<int> notNull = [];
    private readonly Dictionary<int, HashSet<string>> vocabularies = [];
    private readonly Featurizer featurizer;
    private readonly int[] categoryFeatures;

    public TransactionContract(FittedFeatureSet features, DatasetProfile? profile)
    {
        schema = features.Schema;
        featurizer = new Featurizer(features);
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

        categoryFeatures = [.. Enumerable.Range(0, features.Features.Count)
            .Where(i => features.Features[i].Spec.Kind is FeatureKind.OneHot or FeatureKind.Frequency or FeatureKind.TargetEncoding)];

        // A one-hot fit keeps only its top K; the profile tells a rare value (in 'other' in training too) from a new one
        // when it counted every value of the column (as true/false for booleans, as the featurizer compares them).
        foreach (var column in profile?.Columns ?? [])
        {
            if (column.Type is not (ColumnType.Categorical or ColumnType.Boolean) || column.DistinctAtLeast || column.TopCategories is not { } top || top.Count != column.Distinct) continue;
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
        var invalid = new bool[schema.Columns.Count]; // refused already: not also "may not be null"
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
            var count = issues.Count;
            row[i] = Cell(schema.Columns[i], property.Value, field, issues);
            invalid[i] = issues.Count > count;
        }

        foreach (var i in required)
        {
            var column = schema.Columns[i];
            if (!seen[i])
            {
                issues.Add(new InputIssue(prefix + column.Name, "This field is required."));
            }
            else if (row[i] is null && !invalid[i] && notNull.Contains(i))
            {
                issues.Add(new InputIssue(prefix + column.Name, column.Role == ColumnRole.EventTime ? "The event time may not be null." : "An entity key may not be null."));
            }
        }

        return issues.Count == before ? row : null;
    }

    /// <summary>
    /// The row's category values the model did not see in training, one per column, saying how each was scored: as
    /// 'other' by a one-hot encoding (known only when the training profile counted every value of the column; a value
    /// outside the top K but in the profile is a rare one, scored as 'other' just as in training), with frequency 0, or
    /// with weight of evidence 0 (no evidence either way: the training population's odds).
    /// </summary>
    public IReadOnlyList<UnseenValue> Unseen(string?[] row)
    {
        List<UnseenValue>? unseen = null;
        foreach (var f in categoryFeatures)
        {
            if (featurizer.Knows(f, row) is not false) continue;
            var spec = featurizer.Set.Features[f].Spec;
            var value = featurizer.CategoryValue(f, row);
            if (spec.Kind == FeatureKind.OneHot && !(vocabularies.TryGetValue(index[spec.Column!], out var known) && !known.Contains(value))) continue;
            var treatment = spec.Kind switch
            {
                FeatureKind.OneHot => "'other'",
                FeatureKind.Frequency => "frequency 0",
                _ => "weight of evidence 0 (the training prior)",
            };
            unseen ??= [];
            var previous = unseen.FindIndex(u => u.Column == spec.Column);
            if (previous < 0) unseen.Add(new UnseenValue(spec.Column!, value, "not seen in training; scored as " + treatment));
            else if (!unseen[previous].Message.Contains(treatment, StringComparison.Ordinal)) unseen[previous] = unseen[previous] with { Message = unseen[previous].Message + ", " + treatment };
        }

        return unseen ?? None;
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
        string? text = null;
        if (value.ValueKind == JsonValueKind.String)
        {
            // Read once; a text that cannot be stored (NUL, lone surrogate) is an issue already.
            if ((text = TextOf(value, field, issues)) is null) return null;
            if (text.Length > MaxTextLength)
            {
                issues.Add(new InputIssue(field, string.Create(CultureInfo.InvariantCulture, $"The value is {text.Length:N0} characters long; at most {MaxTextLength:N0} are accepted.")));
                return null;
            }
        }

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

                issues.Add(new InputIssue(field, value.ValueKind == JsonValueKind.Number || IsNonFinite(text)
                    ? "Expected a finite number (NaN and Infinity are not allowed)."
                    : $"Expected a number, got {Kind(value)}."));
                return null;
            case ColumnType.Boolean:
                // The spellings a CSV upload accepts: true/false, yes/no, y/n, t/f, 1/0 in any case, as text or 1/0 as numbers.
                var flag = value.ValueKind switch
                {
                    JsonValueKind.True or JsonValueKind.False => value.GetBoolean(),
                    JsonValueKind.String when ValueParsing.TryBoolean(text, out var b) => b,
                    JsonValueKind.Number when ValueParsing.TryBoolean(value.GetRawText(), out var b) => b,
                    _ => (bool?)null,
                };
                if (flag is { } f) return f ? "true" : "false";
                issues.Add(new InputIssue(field, $"Expected true or false ({BooleanForms}), got {Kind(value)}."));
                return null;
            case ColumnType.DateTime:
                var format = column.DateFormat ?? ValueParsing.Iso;
                var time = value.ValueKind switch
                {
                    JsonValueKind.String => text,
                    JsonValueKind.Number when format is ValueParsing.EpochSeconds or ValueParsing.EpochMilliseconds => value.GetRawText(),
                    _ => null,
                };
                if (time is not null && ValueParsing.TryDateTime(time, format, out var instant))
                {
                    if (column.Role != ColumnRole.EventTime || (instant >= EarliestEventTime && instant < LatestEventTime)) return time;
                    issues.Add(new InputIssue(field, string.Create(CultureInfo.InvariantCulture,
                        $"The event time {instant:yyyy-MM-dd'T'HH:mm:ss'Z'} is outside {EarliestEventTime:yyyy-MM-dd} to {LatestEventTime:yyyy-MM-dd} (exclusive).")));
                    return null;
                }

                issues.Add(new InputIssue(field, format == ValueParsing.Iso
                    ? "Expected an ISO 8601 date and time, e.g. \"2026-03-01T14:05:00Z\"."
                    : $"Expected a date and time in the dataset's format ({format})."));
                return null;
            default:
                if (value.ValueKind == JsonValueKind.String) return text;
                if (value.ValueKind == JsonValueKind.Number) return value.GetRawText();
                issues.Add(new InputIssue(field, $"Expected a string, got {Kind(value)}."));
                return null;
        }
    }

    /// <summary>How a boolean column may be sent, for messages and the API description.</summary>
    public const string BooleanForms = "JSON true/false, or as text true/false, yes/no, y/n, t/f, 1/0 in any case, or the numbers 1/0";

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

}
