using System.Globalization;
using System.Text.Json;
using FraudWorkbench.Core.Data;

namespace FraudWorkbench.Core.Scoring;

/// <summary>One input of the "try it" form: a raw column the model's features read, with what the form offers for it.</summary>
/// <param name="Typical">The prefilled value: a typical value from the training dataset's profile, null when it has none.</param>
/// <param name="Vocabulary">The closed vocabulary of a categorical column (sorted), when the model refuses values it never saw.</param>
/// <param name="Hint">A short note on what to type, or null.</param>
public sealed record TryItField(DatasetColumn Column, string? Typical, IReadOnlyList<string>? Vocabulary, string? Hint);

/// <summary>
/// The "try it" form of a model version: its fields follow the model's transaction contract (the columns its features
/// read), prefilled with typical values from the training dataset's profile — not a real transaction.
/// </summary>
public static class TryItDefaults
{
    /// <summary>The profile's stand-in for values outside the top categories; not a value anyone can type.</summary>
    public const string OtherValues = "(other values)";

    /// <summary>One field per required column of <paramref name="contract"/>, in the contract's order.</summary>
    public static IReadOnlyList<TryItField> Fields(TransactionContract contract, DatasetProfile? profile)
    {
        var vocabularies = contract.Vocabularies;
        var fields = new List<TryItField>();
        foreach (var name in contract.RequiredColumns)
        {
            var column = contract.Schema.Columns.First(c => c.Name == name);
            var stats = profile?.Columns.FirstOrDefault(c => c.Name == name);
            var top = TopValues(stats);
            fields.Add(new TryItField(
                column,
                Typical(column, stats),
                vocabularies.TryGetValue(name, out var known) ? [.. known.Order(StringComparer.Ordinal)] : null,
                Hint(column, top)));
        }

        return fields;
    }

    /// <summary>
    /// A typical value of the column as the form's text: the median (P50) for numbers (whole for integers, two decimals
    /// for decimals), the latest event time in the column's own format, and the most frequent category otherwise.
    /// </summary>
    public static string? Typical(DatasetColumn column, ColumnProfile? stats)
    {
        if (stats is null) return null;
        switch (column.Type)
        {
            case ColumnType.Integer:
                return stats.Numeric is { } i ? Math.Round(i.P50, MidpointRounding.AwayFromZero).ToString(CultureInfo.InvariantCulture) : null;
            case ColumnType.Decimal:
                return stats.Numeric is { } d ? Math.Round(d.P50, 2, MidpointRounding.AwayFromZero).ToString(CultureInfo.InvariantCulture) : null;
            case ColumnType.DateTime:
                if (stats.Range is not { } range) return null;
                var latest = DateTime.SpecifyKind(range.To, DateTimeKind.Utc);
                return (column.DateFormat ?? ValueParsing.Iso) switch
                {
                    ValueParsing.Iso => latest.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
                    ValueParsing.EpochSeconds => ((long)(latest - DateTime.UnixEpoch).TotalSeconds).ToString(CultureInfo.InvariantCulture),
                    ValueParsing.EpochMilliseconds => ((long)(latest - DateTime.UnixEpoch).TotalMilliseconds).ToString(CultureInfo.InvariantCulture),
                    var format => latest.ToString(format, CultureInfo.InvariantCulture),
                };
            default:
                return TopValues(stats).FirstOrDefault();
        }
    }

    /// <summary>The profile's top categories, most frequent first, without the "(other values)" bucket of a capped count.</summary>
    private static List<string> TopValues(ColumnProfile? stats) =>
        stats?.TopCategories?.Where(c => !(stats.DistinctAtLeast && c.Value == OtherValues))
            .OrderByDescending(c => c.Count).Select(c => c.Value).ToList() ?? [];

    private static string? Hint(DatasetColumn column, List<string> top) => column.Type switch
    {
        ColumnType.Integer => "a whole number",
        ColumnType.Decimal => "a number",
        ColumnType.DateTime => (column.DateFormat ?? ValueParsing.Iso) == ValueParsing.Iso ? "ISO 8601, e.g. 2026-03-01T14:05:00Z" : $"format {column.DateFormat}",
        _ => top.Count > 1 ? "e.g. " + string.Join(", ", top.Take(4)) : column.Role == ColumnRole.EntityKey ? "an entity key" : null,
    };

    /// <summary>
    /// The form as the JSON transaction the scoring API takes: numbers as numbers, booleans as true/false, empty as null,
    /// anything else as text (the contract then names what it expected).
    /// </summary>
    public static JsonElement Transaction(IEnumerable<(DatasetColumn Column, string? Value)> values)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var (column, value) in values)
            {
                writer.WritePropertyName(column.Name);
                var text = value?.Trim() ?? "";
                if (text.Length == 0)
                {
                    writer.WriteNullValue();
                }
                else if (ColumnType.IsNumeric(column.Type) && decimal.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var exact))
                {
                    writer.WriteNumberValue(exact);
                }
                else if (ColumnType.IsNumeric(column.Type) && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && double.IsFinite(number))
                {
                    writer.WriteNumberValue(number);
                }
                else if (column.Type == ColumnType.Boolean && bool.TryParse(text, out var flag))
                {
                    writer.WriteBooleanValue(flag);
                }
                else
                {
                    writer.WriteStringValue(text);
                }
            }

            writer.WriteEndObject();
        }

        using var document = JsonDocument.Parse(buffer.ToArray());
        return document.RootElement.Clone();
    }
}
