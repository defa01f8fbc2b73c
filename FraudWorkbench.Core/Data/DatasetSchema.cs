using System.Text.Json;
using System.Text.Json.Serialization;

namespace FraudWorkbench.Core.Data;

/// <summary>What the values of a column are.</summary>
public static class ColumnType
{
    public const string Integer = "integer";
    public const string Decimal = "decimal";
    public const string Boolean = "boolean";
    public const string DateTime = "datetime";
    public const string Categorical = "categorical";
    /// <summary>Identifiers and free text: too many distinct values to be a category.</summary>
    public const string Text = "text";

    public static readonly IReadOnlyList<string> All = [Integer, Decimal, Boolean, DateTime, Categorical, Text];

    public static bool IsNumeric(string type) => type is Integer or Decimal;
}

/// <summary>What a column is for.</summary>
public static class ColumnRole
{
    public const string Feature = "feature";
    public const string Label = "label";
    public const string EventTime = "event_time";
    public const string EntityKey = "entity_key";
    public const string Protected = "protected";
    public const string Ignore = "ignore";

    public static readonly IReadOnlyList<string> All = [Feature, Label, EventTime, EntityKey, Protected, Ignore];
}

/// <param name="Name">As in the file's header.</param>
/// <param name="DateFormat">For datetime columns: <c>iso</c>, <c>epoch</c> (seconds) or a .NET exact format.</param>
/// <param name="AgeBands">For a protected numeric attribute such as age: band lower bounds, e.g. [18, 25, 35, 45, 55, 65].</param>
public sealed record DatasetColumn(
    string Name,
    string Type,
    string Role,
    string? DateFormat = null,
    IReadOnlyList<double>? AgeBands = null);

/// <param name="Delimiter">The field separator found in the file.</param>
/// <param name="PositiveLabel">The label value that means fraud; set when a column has the label role.</param>
public sealed record DatasetSchema(char Delimiter, IReadOnlyList<DatasetColumn> Columns, string? PositiveLabel = null)
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public DatasetColumn? Label => Columns.FirstOrDefault(c => c.Role == ColumnRole.Label);

    public DatasetColumn? EventTime => Columns.FirstOrDefault(c => c.Role == ColumnRole.EventTime);

    /// <summary>
    /// The column holding each transaction's own id, by which case-management exports name it in labels: the first
    /// ignored column named like an id (<c>transaction_id</c>, <c>txn_no</c>, <c>id</c>). Null when there is none.
    /// </summary>
    public DatasetColumn? TransactionId => Columns.FirstOrDefault(c => c.Role == ColumnRole.Ignore && SchemaInference.IsIdName(c.Name));

    public int IndexOf(string name)
    {
        for (var i = 0; i < Columns.Count; i++) if (Columns[i].Name == name) return i;
        return -1;
    }

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static DatasetSchema FromJson(string json) => JsonSerializer.Deserialize<DatasetSchema>(json, Json)!;
}

/// <summary>A user's changes to the inferred schema: per column a type and/or role, and the positive label value.</summary>
public sealed record SchemaOverrides(IReadOnlyDictionary<string, ColumnOverride>? Columns = null, string? PositiveLabel = null)
{
    public static readonly SchemaOverrides None = new();
}

public sealed record ColumnOverride(string? Type = null, string? Role = null, string? DateFormat = null, IReadOnlyList<double>? AgeBands = null);
