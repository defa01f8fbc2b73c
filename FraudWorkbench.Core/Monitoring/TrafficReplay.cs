using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Artifacts;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Jobs;
using FraudWorkbench.Core.Scoring;
using Npgsql;

namespace FraudWorkbench.Core.Monitoring;

/// <summary>Score a dataset version's rows as live traffic of a model (all of them, or the first <paramref name="MaxRows"/>).</summary>
public sealed record TrafficReplayRequest(string Model, Guid DatasetId, int DatasetVersion, int? MaxRows = null);

/// <summary>
/// Sends a dataset's rows through a model exactly as partners' transactions arrive: each row as the JSON a partner
/// would send, through the version's contract (refusals counted as the API counts them), scored, logged and counted
/// for monitoring, entity histories updated. For trying monitoring on a held-back month before real traffic exists,
/// and for backtesting a candidate on recent data. Predictions carry the time they are made, not the rows' event times.
/// </summary>
public sealed class TrafficReplayJobHandler(
    ModelServer server, ScoringService scoring, PredictionLog log, DatasetStore datasets, ArtifactStore artifacts, MonitoringStore monitoring,
    NpgsqlDataSource dataSource, TimeProvider time) : IJobHandler
{
    public const string KindName = "monitoring.replay";
    private const int Batch = 500;

    public string Kind => KindName;

    public async Task<object?> ExecuteAsync(JobContext context, CancellationToken cancellationToken)
    {
        var request = context.Payload<TrafficReplayRequest>();
        ServingModel model;
        try
        {
            model = await server.ResolveAsync(request.Model, null, cancellationToken);
        }
        catch (ScoringException ex) when (ex.Status is 404 or 409)
        {
            throw new NonRetryableJobException(ex.Message);
        }

        var version = await datasets.GetVersionAsync(request.DatasetId, request.DatasetVersion, cancellationToken)
            ?? throw new NonRetryableJobException($"Dataset version {request.DatasetVersion} of {request.DatasetId} does not exist.");
        await context.ReportAsync(5, "reading the dataset", cancellationToken);
        var rows = await DatasetRows.ReadAsync(artifacts, version, cancellationToken);
        if (request.MaxRows is { } max && rows.Count > max) rows = rows[..max];

        var actor = $"replay:{context.Job.CreatedBy}";
        // Columns the model's dataset did not have are left out, as a partner's integration would not send them.
        var known = model.Contract.Schema.Columns.Select(c => c.Name).ToHashSet(StringComparer.Ordinal);
        long scored = 0, refused = 0;
        for (var start = 0; start < rows.Count; start += Batch)
        {
            var inputs = new List<JsonElement>();
            var parsed = new List<string?[]>();
            var issues = new List<InputIssue>();
            var refusedFields = new List<string>();
            var batchRefused = 0;
            foreach (var row in rows.Skip(start).Take(Batch))
            {
                var input = ToJson(version.Schema, row, known);
                var before = issues.Count;
                if (model.Contract.Parse(input, "", issues) is { } contractRow)
                {
                    inputs.Add(input);
                    parsed.Add(contractRow);
                }
                else
                {
                    batchRefused++;
                    refusedFields.AddRange(issues.Skip(before).Select(i => i.Field));
                }
            }

            refused += batchRefused;
            if (batchRefused > 0) await monitoring.AddRefusedAsync(model.VersionId, batchRefused, refusedFields, cancellationToken);
            if (parsed.Count > 0) scored += await ScoreAsync(model, parsed, inputs, actor, cancellationToken);
            await context.ReportAsync(5 + (int)(90.0 * Math.Min(rows.Count, start + Batch) / Math.Max(1, rows.Count)),
                $"scored {scored:N0} of {rows.Count:N0} rows{(refused > 0 ? $", {refused:N0} refused by the contract" : "")}", cancellationToken);
        }

        await log.FlushAsync(cancellationToken);
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            await AuditLog.WriteAsync(transaction, time.GetUtcNow().UtcDateTime, context.Job.CreatedBy, "model.replay", "model", model.ModelName,
                new { version = model.Version, dataset = request.DatasetId, datasetVersion = request.DatasetVersion, scored, refused }, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }

        return new { model = model.ModelName, version = model.Version, scored, refused };
    }

    /// <summary>Scores a batch, waiting while the log is full (as a partner retrying a 503 would) instead of failing the replay.</summary>
    private async Task<int> ScoreAsync(ServingModel model, List<string?[]> rows, List<JsonElement> inputs, string actor, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return (await scoring.PredictAsync(model, rows, inputs, actor, dryRun: false, cancellationToken)).Count;
            }
            catch (PredictionLogFullException) when (attempt < 100)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken);
            }
        }
    }

    /// <summary>A dataset row as the JSON a partner sends: numbers as numbers, booleans as booleans, the label and unknown columns left out, missing values as null.</summary>
    public static JsonElement ToJson(DatasetSchema schema, string?[] row, IReadOnlySet<string> known)
    {
        var json = new JsonObject();
        for (var c = 0; c < schema.Columns.Count; c++)
        {
            var column = schema.Columns[c];
            if (column.Role == ColumnRole.Label || !known.Contains(column.Name)) continue;
            var text = row[c];
            json[column.Name] = text is null || CsvFile.IsMissing(text) ? null : column.Type switch
            {
                ColumnType.Integer or ColumnType.Decimal when double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var x) => JsonValue.Create(x),
                ColumnType.Boolean when ValueParsing.TryBoolean(text, out var b) => JsonValue.Create(b),
                _ => JsonValue.Create(text),
            };
        }

        return JsonSerializer.SerializeToElement(json);
    }
}
