using System.Globalization;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Registry;
using FraudWorkbench.Core.Scoring;
using nietras.SeparatedValues;

namespace FraudWorkbench.Core.Performance;

/// <summary>A label as sent in a batch or a CSV row: for a prediction id, or for the transaction's own id.</summary>
/// <param name="Field">How errors name it: <c>items[3]</c> in a batch, <c>line 5</c> in a file.</param>
public sealed record LabelRow(string Field, Guid? PredictionId, string? TransactionId, bool IsFraud, DateOnly? LabelDate);

/// <param name="Changed">Labels that were new or different (a repeated label changes nothing).</param>
public sealed record LabelImportResult(int Accepted, int Fraud, int Changed);

/// <summary>A label batch or file that cannot be stored; nothing was. <see cref="Issues"/> name the rows and fields.</summary>
/// <param name="unknown">Prediction ids that match no logged prediction (one made in the last minute may still be queued in another instance's log).</param>
public sealed class LabelImportException(string title, IReadOnlyList<(string Field, string Message)> issues, IReadOnlyList<Guid>? unknown = null) : Exception(title)
{
    public IReadOnlyList<(string Field, string Message)> Issues { get; } = issues;

    public IReadOnlyList<Guid> Unknown { get; } = unknown ?? [];
}

/// <summary>
/// Labels in bulk, as case-management exports send them: a batch or a CSV of (prediction id or transaction id, is_fraud,
/// label date), all or nothing. A transaction id scored more than once is refused unless the row gives the prediction id.
/// </summary>
public sealed class LabelImport(PredictionStore predictions, RegistryStore registry, PerformanceReferences references)
{
    public const int MaxFileRows = 100_000;
    public const long MaxFileBytes = 16 * 1024 * 1024;
    private const int MaxIssues = 100;

    private static readonly string[] PredictionNames = ["prediction_id", "predictionid"];
    private static readonly string[] TransactionNames = ["transaction_id", "transactionid"];
    private static readonly string[] FraudNames = ["is_fraud", "isfraud", "fraud", "label"];
    private static readonly string[] DateNames = ["label_date", "labeldate"];

    /// <summary>Reads a label file; every bad row is named (up to 100) and then nothing is returned.</summary>
    /// <param name="transactionColumn">The model's transaction id column, also accepted as the header of the transaction ids.</param>
    public static IReadOnlyList<LabelRow> ParseCsv(Stream csv, string? transactionColumn = null)
    {
        using var buffer = new MemoryStream();
        csv.CopyTo(buffer);
        if (buffer.Length == 0) throw Invalid("The file is empty", [("file", "Upload a CSV with a header: prediction_id or transaction_id, is_fraud, and optionally label_date.")]);
        if (buffer.Length > MaxFileBytes) throw Invalid("The file is too large", [("file", $"A label file holds at most {MaxFileBytes / (1024 * 1024)} MB; split it.")]);
        string text;
        try
        {
            text = CsvFile.StrictUtf8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
        }
        catch (System.Text.DecoderFallbackException)
        {
            throw Invalid("The file is not UTF-8", [("file", "Save the file as UTF-8 (with or without BOM).")]);
        }

        var headerEnd = text.IndexOfAny(['\r', '\n']);
        var delimiter = CsvFile.DetectDelimiter(headerEnd < 0 ? text : text[..headerEnd]);
        buffer.Position = 0;
        using var reader = CsvFile.OpenReader(buffer, delimiter);
        if (!reader.MoveNext()) throw Invalid("The file is empty", [("file", "The file has no header.")]);
        IReadOnlyList<string> names;
        try
        {
            names = CsvFile.HeaderNames(reader.Current);
        }
        catch (DatasetValidationException ex)
        {
            throw Invalid("The header cannot be read", [("header", ex.Message)]);
        }

        int Find(IEnumerable<string> candidates) => names.Select((n, i) => (Key: Key(n), i)).FirstOrDefault(x => candidates.Contains(x.Key), (Key: "", i: -1)).i;
        var predictionColumn = Find(PredictionNames);
        var transactionIndex = Find(transactionColumn is null ? TransactionNames : [.. TransactionNames, Key(transactionColumn)]);
        var fraudColumn = Find(FraudNames);
        var dateColumn = Find(DateNames);
        var header = new List<(string, string)>();
        if (predictionColumn < 0 && transactionIndex < 0)
            header.Add(("header", $"Name the prediction in a prediction_id column or the transaction in a {transactionColumn ?? "transaction_id"} column (found: {string.Join(", ", names)})."));
        if (fraudColumn < 0) header.Add(("header", $"The label goes in an is_fraud column (found: {string.Join(", ", names)})."));
        if (header.Count > 0) throw Invalid("The header does not name the label columns", header);

        var rows = new List<LabelRow>();
        var issues = new List<(string Field, string Message)>();
        var scratch = new char[256];
        foreach (var row in reader)
        {
            if (CsvFile.IsBlank(row)) continue;
            var line = $"line {row.LineNumberFrom}";
            if (rows.Count + issues.Count >= MaxFileRows)
            {
                issues.Add(("file", $"A label file holds at most {MaxFileRows:N0} rows; split it."));
                break;
            }

            var before = issues.Count;
            var cells = new string?[names.Count];
            for (var i = 0; i < cells.Length && i < row.ColCount; i++)
            {
                var value = CsvFile.Cell(row[i].Span, ref scratch, out var malformed);
                if (malformed) issues.Add(($"{line}.{names[i]}", CsvFile.MalformedQuoteMessage + "."));
                cells[i] = CsvFile.IsMissing(value) ? null : value.ToString().Trim();
            }

            string? Cell(int index) => index >= 0 ? cells[index] : null;

            var predictionText = Cell(predictionColumn);
            var transaction = Cell(transactionIndex);
            var fraudText = Cell(fraudColumn);
            var dateText = Cell(dateColumn);
            Guid? prediction = null;
            if (predictionText is not null)
            {
                if (Guid.TryParse(predictionText, out var g)) prediction = g;
                else issues.Add(($"{line}.{names[predictionColumn]}", $"'{Clip(predictionText)}' is not a prediction id (a UUID)."));
            }

            if (predictionText is null && transaction is null)
                issues.Add(($"{line}.{names[predictionColumn >= 0 ? predictionColumn : transactionIndex]}", "Give the prediction id or the transaction id."));
            var fraud = ParseFraud(fraudText);
            if (fraud is null) issues.Add(($"{line}.{names[fraudColumn]}", fraudText is null ? "The label is missing." : $"'{Clip(fraudText)}' is not a label: use 1 / 0, true / false or yes / no."));
            DateOnly? date = null;
            if (dateText is not null)
            {
                if (DateOnly.TryParseExact(dateText, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d)) date = d;
                else issues.Add(($"{line}.{names[dateColumn]}", $"'{Clip(dateText)}' is not a date as yyyy-MM-dd."));
            }

            if (issues.Count == before) rows.Add(new LabelRow(line, prediction, transaction, fraud!.Value, date));
            if (issues.Count >= MaxIssues) break;
        }

        if (issues.Count > 0) throw Invalid("Some rows cannot be read; nothing was stored", issues);
        if (rows.Count == 0) throw Invalid("The file has no labels", [("file", "The file has a header but no rows.")]);
        return rows;
    }

    /// <summary>
    /// Stores labels all or nothing: transaction ids resolved among <paramref name="model"/>'s predictions (or every
    /// model's), conflicting duplicates and unknown or ambiguous ids refused with the rows named.
    /// </summary>
    public async Task<LabelImportResult> ImportAsync(string? model, IReadOnlyList<LabelRow> rows, string actor, CancellationToken cancellationToken = default)
    {
        Guid? modelId = null;
        if (model is not null)
        {
            modelId = (await registry.GetModelAsync(model, cancellationToken))?.Id
                ?? throw Invalid("Unknown model", [("model", $"No registered model is named '{model}'.")]);
        }

        var issues = new List<(string Field, string Message)>();
        var byTransaction = new Dictionary<string, IReadOnlyList<Guid>>(StringComparer.Ordinal);
        var transactionIds = rows.Where(r => r.PredictionId is null && r.TransactionId is not null).Select(r => r.TransactionId!).Distinct(StringComparer.Ordinal).ToList();
        if (transactionIds.Count > 0) byTransaction = new(await predictions.FindByTransactionIdAsync(modelId, transactionIds, cancellationToken), StringComparer.Ordinal);

        var items = new List<(LabelRow Row, FeedbackItem Item)>();
        foreach (var row in rows)
        {
            if (row.PredictionId is { } id)
            {
                items.Add((row, new FeedbackItem(id, row.IsFraud, row.LabelDate)));
                continue;
            }

            var matches = byTransaction.GetValueOrDefault(row.TransactionId!) ?? [];
            if (matches.Count == 1) items.Add((row, new FeedbackItem(matches[0], row.IsFraud, row.LabelDate)));
            else if (matches.Count == 0) issues.Add(($"{row.Field}.transactionId", $"No logged prediction{(model is null ? "" : $" of {model}")} is for transaction '{Clip(row.TransactionId!)}'."));
            else issues.Add(($"{row.Field}.transactionId",
                $"Transaction '{Clip(row.TransactionId!)}' was scored {matches.Count} times (predictions {string.Join(", ", matches.Take(3))}{(matches.Count > 3 ? ", …" : "")}); give the prediction id of the one this label is for."));
            if (issues.Count >= MaxIssues) break;
        }

        // Two rows for one prediction must agree; the same label twice is stored once.
        foreach (var group in items.GroupBy(i => i.Item.PredictionId).Where(g => g.Select(i => (i.Item.IsFraud, i.Item.LabelDate)).Distinct().Count() > 1))
        {
            var fields = group.Select(g => g.Row.Field).ToList();
            issues.Add((fields[^1], $"Prediction {group.Key} has different labels in {string.Join(" and ", fields.Take(3))}; keep one."));
            if (issues.Count >= MaxIssues) break;
        }

        if (issues.Count > 0) throw Invalid("Some labels cannot be matched; nothing was stored", issues);
        var unique = items.GroupBy(i => i.Item.PredictionId).Select(g => g.First()).ToList();
        var result = await predictions.RecordFeedbackAsync([.. unique.Select(u => u.Item)], actor, cancellationToken);
        if (result.Unknown.Count > 0)
        {
            var unknown = result.Unknown.ToHashSet();
            throw new LabelImportException("Unknown predictions; nothing was stored",
                [.. unique.Where(u => unknown.Contains(u.Item.PredictionId)).Take(MaxIssues).Select(u => ($"{u.Row.Field}.predictionId", $"No logged prediction has the id {u.Item.PredictionId}."))],
                result.Unknown);
        }

        return new LabelImportResult(unique.Count, unique.Count(u => u.Item.IsFraud), result.Changed);
    }

    /// <summary>The model's transaction id column (as its production or newest version's dataset names it), for the file's header.</summary>
    public async Task<string?> TransactionColumnAsync(string model, CancellationToken cancellationToken = default)
    {
        if (await registry.GetModelAsync(model, cancellationToken) is not { } registered) return null;
        var versions = await registry.ListVersionsAsync(registered.Id, cancellationToken);
        var version = versions.FirstOrDefault(v => v.Stage == ModelStage.Production) ?? versions.OrderByDescending(v => v.Version).FirstOrDefault();
        return version is null ? null : (await references.GetAsync(version.Id, cancellationToken))?.TransactionColumn;
    }

    private static bool? ParseFraud(string? text) => text?.ToLowerInvariant() switch
    {
        "1" or "true" or "yes" or "y" or "fraud" or "1.0" => true,
        "0" or "false" or "no" or "n" or "legit" or "legitimate" or "0.0" => false,
        _ => null,
    };

    private static string Key(string name) => name.Trim().ToLowerInvariant().Replace(" ", "_").Replace("-", "_");

    private static string Clip(string value) => value.Length <= 60 ? value : value[..60] + "…";

    private static LabelImportException Invalid(string title, IReadOnlyList<(string, string)> issues) => new(title, issues);
}
