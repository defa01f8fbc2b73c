using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Dapper;
using FraudWorkbench.Core.Artifacts;
using FraudWorkbench.Core.Data;
using nietras.SeparatedValues;
using Npgsql;

namespace FraudWorkbench.Core.Retraining;

/// <summary>One logged prediction of a model with its label, if one arrived.</summary>
public sealed record TrafficPrediction(Guid Id, DateTime CreatedAt, Guid ModelVersionId, string InputJson, bool? IsFraud);

/// <summary>How a logged prediction counts as training or holdout data.</summary>
public enum TrafficLabel
{
    Fraud,
    Legitimate,
    /// <summary>Unlabelled, and the label window has passed: legitimate, as fraud teams treat chargebacks.</summary>
    LegitimateByWindow,
    /// <summary>Unlabelled inside the label window: a fraud label may still come, so the row says nothing yet.</summary>
    Unknown,
}

/// <summary>
/// What the dataset step and the common recent holdout share: the time windows, the label rule and the prediction log
/// read back as raw rows in a dataset schema.
/// </summary>
public static class RetrainingTraffic
{
    /// <summary>Everything automatic in a workflow acts as this.</summary>
    public const string Actor = "system:retraining";

    /// <summary>The column of a built dataset version that names each traffic row's prediction (empty for the original rows).</summary>
    public const string PredictionIdColumn = "prediction_id";

    /// <summary>
    /// The training window [now − window, now) and in it the common holdout: the latest <paramref name="holdoutDays"/> whole
    /// UTC days that are mature (the day's end plus the label window is not after now), clipped to the window; null when no
    /// mature day falls in the window.
    /// </summary>
    public static (DateTime From, DateTime To, DateTime? HoldoutFrom, DateTime? HoldoutTo) Windows(DateTime now, int trainingWindowDays, int holdoutDays, int labelWindowDays)
    {
        var from = now.AddDays(-trainingWindowDays);
        // The first immature day starts at floor(now − label window): its end plus the window is after now, the day before's is not.
        var immature = now.AddDays(-labelWindowDays).Date;
        var holdoutTo = immature < now ? immature : now;
        var holdoutFrom = holdoutTo.AddDays(-holdoutDays);
        if (holdoutFrom < from) holdoutFrom = from;
        return holdoutTo <= from ? (from, now, null, null) : (from, now, DateTime.SpecifyKind(holdoutFrom, DateTimeKind.Utc), DateTime.SpecifyKind(holdoutTo, DateTimeKind.Utc));
    }

    /// <summary>Labelled rows as labelled; unlabelled ones legitimate once the label window has passed, else unknown.</summary>
    public static TrafficLabel Label(bool? isFraud, DateTime createdAt, DateTime now, int labelWindowDays) => isFraud switch
    {
        true => TrafficLabel.Fraud,
        false => TrafficLabel.Legitimate,
        null => createdAt.AddDays(labelWindowDays) <= now ? TrafficLabel.LegitimateByWindow : TrafficLabel.Unknown,
    };

    /// <summary>
    /// The predictions of every version of the model logged in [from, to), oldest first, with their labels, streamed
    /// (the window can hold millions).
    /// </summary>
    public static async IAsyncEnumerable<TrafficPrediction> ReadAsync(
        NpgsqlDataSource dataSource, Guid registeredModelId, DateTime from, DateTime to, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        const string sql = """
            SELECT p.id, p.created_at, p.model_version_id, p.input::text, f.is_fraud
            FROM predictions p
            JOIN model_versions v ON v.id = p.model_version_id
            LEFT JOIN prediction_feedback f ON f.prediction_id = p.id AND f.prediction_created_at = p.created_at
            WHERE v.registered_model_id = @registeredModelId AND p.created_at >= @from AND p.created_at < @to
            ORDER BY p.created_at, p.id
            """;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddWithValue("registeredModelId", registeredModelId);
        command.Parameters.AddWithValue("from", DateTime.SpecifyKind(from, DateTimeKind.Utc));
        command.Parameters.AddWithValue("to", DateTime.SpecifyKind(to, DateTimeKind.Utc));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            yield return new TrafficPrediction(reader.GetGuid(0), reader.GetDateTime(1), reader.GetGuid(2), reader.GetString(3), reader.IsDBNull(4) ? null : reader.GetBoolean(4));
        }
    }

    /// <summary>
    /// For each prediction <see cref="ReadAsync"/> reads, in its order, an input holding only the named properties (a
    /// missing one as null): enough to read a row's event time through <see cref="ParseRow(string, DatasetSchema)"/> without
    /// sending the whole transaction. An input that is not an object gives nulls, as <see cref="ParseRow(JsonElement, DatasetSchema)"/> reads it.
    /// </summary>
    public static async IAsyncEnumerable<string> ReadPropertiesAsync(
        NpgsqlDataSource dataSource, Guid registeredModelId, DateTime from, DateTime to, IReadOnlyList<string> names, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // jsonb keys are unique and matched exactly, as ParseRow's schema lookup matches them; -> on an array or a scalar is null.
        const string sql = """
            SELECT (SELECT jsonb_object_agg(n, p.input -> n) FROM unnest(@names::text[]) AS n)::text
            FROM predictions p
            JOIN model_versions v ON v.id = p.model_version_id
            WHERE v.registered_model_id = @registeredModelId AND p.created_at >= @from AND p.created_at < @to
            ORDER BY p.created_at, p.id
            """;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddWithValue("names", names.ToArray());
        command.Parameters.AddWithValue("registeredModelId", registeredModelId);
        command.Parameters.AddWithValue("from", DateTime.SpecifyKind(from, DateTimeKind.Utc));
        command.Parameters.AddWithValue("to", DateTime.SpecifyKind(to, DateTimeKind.Utc));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken)) yield return reader.IsDBNull(0) ? "{}" : reader.GetString(0);
    }

    /// <summary>
    /// The predictions named by a dataset version's <see cref="PredictionIdColumn"/> (the traffic rows an earlier workflow
    /// built into it) that were logged in [<paramref name="from"/>, <paramref name="to"/>): none when it has no such column.
    /// The file is read once for the one column and looked up in batches, so memory holds the matches, not every id.
    /// </summary>
    public static async Task<HashSet<Guid>> LoggedPredictionsAsync(
        NpgsqlDataSource dataSource, ArtifactStore artifacts, DatasetVersion version, DateTime from, DateTime to, CancellationToken cancellationToken)
    {
        var found = new HashSet<Guid>();
        var column = version.Schema.IndexOf(PredictionIdColumn);
        if (column < 0 || to <= from) return found;
        const string sql = """
            SELECT id FROM predictions WHERE id = ANY(@ids) AND created_at >= @from AND created_at < @to
            """;
        await using var stream = await artifacts.OpenReadAsync(version.Checksum, cancellationToken);
        using var reader = CsvFile.OpenReader(stream, version.Schema.Delimiter);
        if (!reader.MoveNext()) return found; // the header
        var batch = new List<Guid>(LookupBatch);
        var scratch = new char[64];
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        while (ReadIds(reader, column, batch, ref scratch))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var ids = await connection.QueryAsync<Guid>(new CommandDefinition(sql, new
            {
                ids = batch.ToArray(), from = DateTime.SpecifyKind(from, DateTimeKind.Utc), to = DateTime.SpecifyKind(to, DateTimeKind.Utc),
            }, cancellationToken: cancellationToken));
            found.UnionWith(ids);
            batch.Clear();
        }

        return found;
    }

    private const int LookupBatch = 10_000;

    /// <summary>Fills <paramref name="batch"/> with the next ids of the column (rows without one skipped); false at the end with none.</summary>
    private static bool ReadIds(SepReader reader, int column, List<Guid> batch, ref char[] scratch)
    {
        while (batch.Count < LookupBatch && reader.MoveNext())
        {
            var line = reader.Current;
            if (CsvFile.IsBlank(line) || column >= line.ColCount) continue;
            if (Guid.TryParse(CsvFile.Cell(line[column].Span, ref scratch, out _).Trim(), out var id)) batch.Add(id);
        }

        return batch.Count > 0;
    }

    /// <summary>How many predictions <see cref="ReadAsync"/> will read (for progress).</summary>
    public static async Task<long> CountAsync(NpgsqlDataSource dataSource, Guid registeredModelId, DateTime from, DateTime to, CancellationToken cancellationToken)
    {
        const string sql = """
            SELECT count(*) FROM predictions p JOIN model_versions v ON v.id = p.model_version_id
            WHERE v.registered_model_id = @registeredModelId AND p.created_at >= @from AND p.created_at < @to
            """;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddWithValue("registeredModelId", registeredModelId);
        command.Parameters.AddWithValue("from", DateTime.SpecifyKind(from, DateTimeKind.Utc));
        command.Parameters.AddWithValue("to", DateTime.SpecifyKind(to, DateTimeKind.Utc));
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>
    /// A logged transaction (the request's JSON, named by the dataset's columns) as a row of cells in <paramref name="schema"/>'s
    /// column order, written as the scoring contract reads them; columns it does not name, or values it cannot hold, are missing.
    /// </summary>
    public static string?[] ParseRow(string inputJson, DatasetSchema schema)
    {
        using var document = JsonDocument.Parse(inputJson);
        return ParseRow(document.RootElement, schema);
    }

    public static string?[] ParseRow(JsonElement input, DatasetSchema schema)
    {
        var row = new string?[schema.Columns.Count];
        if (input.ValueKind != JsonValueKind.Object) return row;
        foreach (var property in input.EnumerateObject())
        {
            var i = schema.IndexOf(property.Name);
            if (i >= 0 && row[i] is null) row[i] = Cell(schema.Columns[i], property.Value);
        }

        return row;
    }

    private static string? Cell(DatasetColumn column, JsonElement value)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Null or JsonValueKind.Undefined or JsonValueKind.Object or JsonValueKind.Array:
                return null;
            case JsonValueKind.True or JsonValueKind.False:
                return value.GetBoolean() ? "true" : "false";
        }

        var text = value.ValueKind == JsonValueKind.String ? value.GetString() : value.GetRawText();
        if (text is null) return null;
        switch (column.Type)
        {
            case ColumnType.Integer or ColumnType.Decimal:
                // As the contract stores numbers: the shortest round-trip form, so "12.50" and 12.5 are one value.
                return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && double.IsFinite(number)
                    ? number.ToString("R", CultureInfo.InvariantCulture) : null;
            case ColumnType.Boolean:
                return ValueParsing.TryBoolean(text, out var flag) ? flag ? "true" : "false" : null;
            default:
                return text;
        }
    }

    /// <summary>The label a built row gets for "legitimate": the dataset's own negative value, else one its label column accepts.</summary>
    public static string NegativeLabel(DatasetVersion version)
    {
        var schema = version.Schema;
        if (version.Profile.Label is { Negative: { Length: > 0 } negative } && negative != schema.PositiveLabel) return negative;
        var positive = schema.PositiveLabel ?? "1";
        return schema.Label?.Type == ColumnType.Boolean && ValueParsing.TryBoolean(positive, out var p)
            ? p ? "false" : "true"
            : positive == "0" ? "1" : "0";
    }
}
