using System.Security.Claims;
using System.Text.Json;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Explain;
using FraudWorkbench.Core.Features;
using FraudWorkbench.Core.Monitoring;
using FraudWorkbench.Core.Performance;
using FraudWorkbench.Core.Scoring;
using FraudWorkbench.Operations;
using FraudWorkbench.Security;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace FraudWorkbench.Api;

/// <summary>A value the transaction was scored with although training never saw it, e.g. a new merchant category.</summary>
/// <param name="Field">As the request named it, e.g. <c>transaction.merchant_category</c> or <c>transactions[3].merchant_category</c>.</param>
/// <param name="Message">How the model scored it, e.g. "not seen in training; scored as 'other'".</param>
public sealed record InputWarning(string Field, string Value, string Message)
{
    public static IReadOnlyList<InputWarning> From(IReadOnlyList<UnseenValue> unseen, string prefix) =>
        unseen.Count == 0 ? [] : [.. unseen.Select(u => new InputWarning(prefix + u.Column, u.Value, u.Message))];
}

/// <param name="Decision"><c>fraud</c> when the probability reaches the model's threshold, else <c>legitimate</c>.</param>
/// <param name="Reasons">The input columns that moved the score most (log-odds contributions, signed), when asked for.</param>
/// <param name="Warnings">Values scored although training never saw them (empty when none): the transaction is scored all the same.</param>
public sealed record PredictionResponse(Guid? PredictionId, double Probability, string Decision, double Threshold, string Model, int Version, double LatencyMs,
    IReadOnlyList<Reason>? Reasons, IReadOnlyList<InputWarning> Warnings)
{
    public static PredictionResponse From(Prediction p, string prefix) =>
        new(p.PredictionId, p.Probability, p.Decision ? "fraud" : "legitimate", p.Threshold, p.Model, p.Version, p.LatencyMs, p.Reasons, InputWarning.From(p.Unseen, prefix));
}

/// <summary>A transaction's explanation (see <see cref="TransactionExplanation"/>) with the values it was scored with although training never saw them.</summary>
public sealed record ExplainResponse(
    double BaseValue, double RawScore, double Probability, IReadOnlyList<Contribution> Inputs, IReadOnlyList<Contribution> Features, IReadOnlyList<Contribution> Columns,
    IReadOnlyList<InputWarning> Warnings);

public sealed record BatchPredictionResponse(string Model, int Version, IReadOnlyList<PredictionResponse> Predictions, double LatencyMs);

/// <param name="Accepted">Predictions labelled (a label repeated for one prediction counts once).</param>
/// <param name="Fraud">Of those, labelled fraud.</param>
/// <param name="Changed">Labels that were new or different from the one stored (a repeated label changes nothing).</param>
public sealed record FeedbackResponse(int Accepted, int Fraud, int Changed);

/// <summary>
/// The partner-facing API: real-time scoring of transactions in the dataset's raw schema, and confirmed
/// labels back. Bodies are read by hand so that every problem comes back as a 400 naming its field.
/// </summary>
public static class ScoringApi
{
    public const string RateLimitPolicy = "per-key";

    /// <summary>Reasons per prediction unless the request says otherwise (<c>explain: false</c> or <c>reasons: k</c>).</summary>
    public const int DefaultReasons = 5;

    public static IEndpointRouteBuilder MapScoringApi(this IEndpointRouteBuilder app)
    {
        // No request log line per scoring call: each is in the prediction log already (with its latency), and
        // thousands of console lines a second would cost more than scoring itself. Failures still log.
        var api = app.MapGroup("/api/v1").WithTags("Scoring").RequireRateLimiting(RateLimitPolicy).WithHttpLogging(Microsoft.AspNetCore.HttpLogging.HttpLoggingFields.None);
        api.MapPost("/predict", Predict).WithName("Predict").RequireAuthorization(Policies.Predict)
            .Accepts<PredictRequestExample>("application/json")
            .WithSummary("Scores one transaction with a model's production version (or a named version).")
            .WithDescription("""
                Body: `{"model": "card-not-present", "transaction": {"transaction_id": "tx_1", "event_time": "2026-03-01T14:05:00Z", "customer_id": "c_146399", "amount": 129.5, "merchant_category": "electronics", ...}}` (the sample data's columns; the example below is a whole sample transaction).
                `model` is optional (default: the default registered model); `version` picks a specific version.
                The transaction holds the columns of the model's training dataset; columns its features read are required.
                Numbers as JSON numbers; a boolean column as JSON true/false, or as text true/false, yes/no, y/n, t/f, 1/0 (any case), or the numbers 1/0;
                date-times as text in the dataset's format (ISO 8601 unless it used another); the event time between 1970 and 2100; text at most 1,024 characters.
                A category value the model never saw in training is scored as the model treats unknown values ('other' for a one-hot encoding,
                frequency 0, weight of evidence 0) and named in `warnings`: `[{"field": "transaction.merchant_category", "value": "crypto", "message": "not seen in training; scored as 'other'"}]`.
                """);
        api.MapPost("/predict/batch", PredictBatch).WithName("PredictBatch").RequireAuthorization(Policies.Predict)
            .Accepts<PredictBatchRequestExample>("application/json")
            .WithSummary("Scores up to 1,000 transactions (configurable) in one call, in order.")
            .WithDescription("""
                Transactions as for /predict; each prediction carries its own `warnings` (fields named `transactions[i].column`): a value training never saw does not stop the batch.
                A 503 after some transactions were scored lists them in 'recorded' (with their prediction ids): they are logged and in their entities' histories, so resend only the rest.
                """);
        api.MapPost("/models/{name}/versions/{version:int}/explain", Explain).WithName("ExplainTransaction").RequireAuthorization(Policies.Predict)
            .Accepts<ExplainRequestExample>("application/json")
            .WithSummary("Explains one transaction with a version: base value, every contribution (by input, feature and column), raw score and probability, and `warnings` as /predict gives them. Records nothing.");
        api.MapPost("/feedback", Feedback).WithName("Feedback").RequireAuthorization(Policies.Feedback)
            .Accepts<FeedbackItem>("application/json")
            .WithSummary("Attaches a confirmed label to a prediction: {\"predictionId\": \"…\", \"isFraud\": true, \"labelDate\": \"2026-03-09\"}.");
        // Bulk labels take seconds, not a scoring call's milliseconds: they get their own, longer timeout.
        api.MapPost("/feedback/batch", FeedbackBatch).WithName("FeedbackBatch").RequireAuthorization(Policies.Feedback)
            .Accepts<FeedbackBatchExample>("application/json")
            .WithSummary("Attaches up to 10,000 labels (configurable) to predictions, by prediction id or by the transaction's own id; all or none.")
            .WithDescription("""
                Body: `{"model": "card-not-present", "items": [{"predictionId": "…", "isFraud": true, "labelDate": "2026-03-09"}, {"transactionId": "tx_1", "isFraud": false}]}`.
                Each item names its prediction by `predictionId` or by `transactionId` (the value of the dataset's transaction id column, e.g.
                `transaction_id` in the samples); `model` (optional) looks transaction ids up among that model's predictions only. A transaction id
                that was scored more than once is refused (the message lists its predictions): send the `predictionId` of the one the label is for.
                Two items for one prediction must agree (the same label twice is stored once). `labelDate` (yyyy-MM-dd, optional) is when the fraud was
                confirmed; without it the label's delay runs to when it is received. A label different from the one stored replaces it (a chargeback
                reversed) and is audited. Any problem stores nothing and answers a 400 naming `items[i].predictionId`, `items[i].transactionId` or
                `items[i]`; a prediction id made in the last minute that is not in the log yet is a 503 (retry). The answer counts the labels
                `accepted`, of which `fraud`, and `changed` (new or different).
                """)
            .WithRequestTimeout(RequestTimeouts.Bulk);
        api.MapPost("/feedback/csv", FeedbackCsv).WithName("FeedbackCsv").RequireAuthorization(Policies.Feedback)
            .WithSummary("Attaches the labels of a CSV file (a case-management export) to predictions; all or none.")
            .WithDescription("""
                The body is the file itself, `Content-Type: text/csv` (UTF-8; comma, semicolon or tab separated), e.g.
                `curl --data-binary @labels.csv -H 'Content-Type: text/csv' '…/api/v1/feedback/csv?model=card-not-present'`.
                Header: `prediction_id` or `transaction_id` (or the model's own transaction id column when `model` is given), `is_fraud`
                (1/0, true/false, yes/no) and optionally `label_date` (yyyy-MM-dd). At most 100,000 rows and 16 MB (413 beyond). Rows are matched
                as in /feedback/batch; every bad row is named in `errors` as `line N.column` (up to 100) and nothing is stored.
                """)
            .WithRequestTimeout(RequestTimeouts.Bulk);
        return app;
    }

    /// <summary>A transaction of the shipped sample data, so the docs' "try it" works against a model trained on it.</summary>
    private const string SampleTransaction = """
        {"transaction_id": "tx_1", "event_time": "2026-03-01T14:05:00Z", "customer_id": "c_146399", "amount": 129.5,
         "merchant_category": "electronics", "payment_method": "card", "device_type": "mobile", "ip_country": "NG", "home_country": "US",
         "shipping_address_new": true, "account_age_days": 3, "customer_age": 34, "customer_gender": "F", "email_domain": "gmail.com"}
        """;

    private static readonly Dictionary<string, string> RequestExamples = new()
    {
        ["Predict"] = $$"""{"model": "card-not-present", "transaction": {{SampleTransaction}}}""",
        ["PredictBatch"] = $$"""{"model": "card-not-present", "transactions": [{{SampleTransaction}}, {{SampleTransaction.Replace("tx_1", "tx_2").Replace("129.5", "18.2").Replace("\"NG\"", "\"US\"")}}]}""",
        ["ExplainTransaction"] = $$"""{"transaction": {{SampleTransaction}}}""",
        ["Feedback"] = """{"predictionId": "0193f1c2-6a4e-7c1d-9f3a-2b8e5d7c4a10", "isFraud": true, "labelDate": "2026-03-09"}""",
        ["FeedbackBatch"] = """{"model": "card-not-present", "items": [{"predictionId": "0193f1c2-6a4e-7c1d-9f3a-2b8e5d7c4a10", "isFraud": true, "labelDate": "2026-03-09"}, {"transactionId": "tx_2", "isFraud": false}]}""",
    };

    private const string CsvExample = """
        transaction_id,is_fraud,label_date
        tx_1,1,2026-03-09
        tx_2,0,
        """;

    /// <summary>Puts a request example on each scoring operation of the OpenAPI document.</summary>
    public static void AddScoringExamples(this Microsoft.AspNetCore.OpenApi.OpenApiOptions options) =>
        options.AddOperationTransformer((operation, _, _) =>
        {
            if (operation.OperationId is { } id && RequestExamples.TryGetValue(id, out var example)
                && operation.RequestBody?.Content is { } content && content.TryGetValue("application/json", out var media))
            {
                media.Example = System.Text.Json.Nodes.JsonNode.Parse(example);
            }

            // Declared here, not with Accepts(): that would let routing answer other media types with a 415 before the handler can say what to send.
            if (operation.OperationId == "FeedbackCsv")
            {
                operation.RequestBody = new Microsoft.OpenApi.OpenApiRequestBody
                {
                    Required = true,
                    Description = "The label file itself (UTF-8).",
                    Content = new Dictionary<string, Microsoft.OpenApi.OpenApiMediaType>
                    {
                        ["text/csv"] = new() { Schema = new Microsoft.OpenApi.OpenApiSchema { Type = Microsoft.OpenApi.JsonSchemaType.String }, Example = System.Text.Json.Nodes.JsonValue.Create(CsvExample + "\n") },
                    },
                };
            }

            return Task.CompletedTask;
        });

    /// <summary>For the OpenAPI document only: the shape <see cref="Predict"/> reads.</summary>
    public sealed record PredictRequestExample(string? Model, int? Version, Dictionary<string, object?> Transaction);

    public sealed record PredictBatchRequestExample(string? Model, int? Version, List<Dictionary<string, object?>> Transactions);

    public sealed record FeedbackBatchExample(string? Model, List<FeedbackBatchItemExample> Items);

    public sealed record FeedbackBatchItemExample(Guid? PredictionId, string? TransactionId, bool IsFraud, DateOnly? LabelDate);

    public sealed record ExplainRequestExample(Dictionary<string, object?> Transaction);

    public static async Task<Results<Ok<ExplainResponse>, ProblemHttpResult>> Explain(
        string name, int version, HttpContext context, ModelServer server, ScoringService scoring, IOptions<ScoringOptions> options, CancellationToken cancellationToken)
    {
        var (body, problem) = await ReadAsync(context, options.Value.MaxBodyBytes, cancellationToken);
        if (problem is not null) return problem;
        using (body)
        {
            var issues = new List<InputIssue>();
            Envelope(body!.RootElement, "transaction", issues, allowModel: false);
            if (issues.Count > 0) return Invalid(issues);
            ServingModel model;
            TransactionExplanation? explanation;
            IReadOnlyList<UnseenValue> unseen;
            try
            {
                model = await server.ResolveAsync(name, version, cancellationToken);
                if (model.Contract.Parse(body.RootElement.GetProperty("transaction"), "transaction.", issues) is not { } row) return Invalid(issues);
                unseen = model.Contract.Unseen(row);
                explanation = await scoring.ExplainAsync(model, row, cancellationToken);
            }
            catch (ScoringException ex)
            {
                return JobsApi.Problem(ex.Status, ex.Status == 404 ? "Model not found" : "Model unavailable", ex.Message, ex.Field);
            }
            catch (Exception ex) when (IsDatabaseFault(ex, cancellationToken))
            {
                return Unavailable("The feature store is unavailable; retry shortly.");
            }

            return explanation is not { } e
                ? JobsApi.Problem(409, "No explanation", $"{model.ModelName} version {model.Version} was trained before explanations were stored; train it again.", "version")
                : TypedResults.Ok(new ExplainResponse(e.BaseValue, e.RawScore, e.Probability, e.Inputs, e.Features, e.Columns, InputWarning.From(unseen, "transaction.")));
        }
    }

    public static async Task<Results<Ok<PredictionResponse>, ProblemHttpResult>> Predict(
        HttpContext context, ModelServer server, ScoringService scoring, MonitoringStore monitoring, IOptions<ScoringOptions> options, ILogger<ScoringService> logger, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        var (body, problem) = await ReadAsync(context, options.Value.MaxBodyBytes, cancellationToken);
        if (problem is not null) return problem;
        using (body)
        {
            var issues = new List<InputIssue>();
            var (name, version, reasons) = Envelope(body!.RootElement, "transaction", issues);
            if (issues.Count > 0) return Invalid(issues);
            var (outcome, error) = await ScoreAsync(context, server, scoring, monitoring, logger, user, name, version, [body.RootElement.GetProperty("transaction")], single: true, reasons, cancellationToken);
            if (error is not null) return error;
            return TypedResults.Ok(PredictionResponse.From(outcome![0], "transaction."));
        }
    }

    public static async Task<Results<Ok<BatchPredictionResponse>, ProblemHttpResult>> PredictBatch(
        HttpContext context, ModelServer server, ScoringService scoring, MonitoringStore monitoring, IOptions<ScoringOptions> options, ILogger<ScoringService> logger, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        var (body, problem) = await ReadAsync(context, options.Value.MaxBodyBytes, cancellationToken);
        if (problem is not null) return problem;
        using (body)
        {
            var issues = new List<InputIssue>();
            var (name, version, reasons) = Envelope(body!.RootElement, "transactions", issues);
            if (issues.Count > 0) return Invalid(issues);
            var list = body.RootElement.GetProperty("transactions");
            if (list.ValueKind != JsonValueKind.Array) return Invalid([new InputIssue("transactions", "Expected an array of transactions.")]);
            var count = list.GetArrayLength();
            if (count == 0 || count > options.Value.MaxBatch) return Invalid([new InputIssue("transactions", $"Send between 1 and {options.Value.MaxBatch} transactions.")]);
            var start = System.Diagnostics.Stopwatch.GetTimestamp();
            var (outcome, error) = await ScoreAsync(context, server, scoring, monitoring, logger, user, name, version, [.. list.EnumerateArray()], single: false, reasons, cancellationToken);
            if (error is not null) return error;
            return TypedResults.Ok(new BatchPredictionResponse(outcome![0].Model, outcome[0].Version, [.. outcome.Select(BatchItem)],
                Math.Round(System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalMilliseconds, 3)));
        }
    }

    private static async Task<(IReadOnlyList<Prediction>? Predictions, ProblemHttpResult? Problem)> ScoreAsync(
        HttpContext context, ModelServer server, ScoringService scoring, MonitoringStore monitoring, ILogger logger, ClaimsPrincipal user, string? name, int? version, IReadOnlyList<JsonElement> transactions, bool single, int reasons, CancellationToken cancellationToken)
    {
        ServingModel model;
        try
        {
            model = await server.ResolveAsync(name, version, cancellationToken);
            Operations.ScoringRequestCounting.Attribute(context, model.ModelName);
        }
        catch (ScoringException ex)
        {
            return (null, JobsApi.Problem(ex.Status, ex.Status == 404 ? "Model not found" : "Model unavailable", ex.Message, ex.Field));
        }
        catch (Exception ex) when (IsDatabaseFault(ex, cancellationToken))
        {
            logger.LogWarning(ex, "Scoring refused with 503: the registry could not be read");
            return (null, Unavailable("The model registry is unavailable; retry shortly."));
        }

        var issues = new List<InputIssue>();
        var rows = new List<string?[]>(transactions.Count);
        for (var i = 0; i < transactions.Count; i++)
        {
            if (model.Contract.Parse(transactions[i], single ? "transaction." : $"transactions[{i}].", issues) is { } row) rows.Add(row);
        }

        if (issues.Count > 0)
        {
            await RecordRefusedAsync(monitoring, logger, model, transactions.Count - rows.Count, issues, cancellationToken);
            return (null, Invalid(issues));
        }

        try
        {
            return (await scoring.PredictAsync(model, rows, transactions, WorkbenchClaims.Actor(user), dryRun: false, cancellationToken, reasons), null);
        }
        catch (PredictionLogFullException ex)
        {
            return (null, Unavailable(ex.Message));
        }
        catch (PartialBatchException ex) when (IsDatabaseFault(ex.InnerException!, cancellationToken))
        {
            // The first transactions are in the log and in their entities' histories: say which, so that a retry
            // sends only the rest instead of counting these twice.
            logger.LogWarning(ex.InnerException, "Batch scoring stopped with 503 after {Recorded} of {Count} transactions: the feature store failed", ex.Recorded.Count, rows.Count);
            return (null, TypedResults.Problem(
                $"The feature store failed after the first {ex.Recorded.Count} of {rows.Count} transactions were scored and recorded (listed in 'recorded', with their prediction ids). Resend only transactions[{ex.Recorded.Count}] onwards: sending the recorded ones again would count them twice in their entities' histories.",
                statusCode: 503, title: "Scoring is temporarily unavailable",
                extensions: new Dictionary<string, object?> { ["retryAfterSeconds"] = 1, ["recorded"] = ex.Recorded.Select(BatchItem).ToList() }));
        }
        catch (Exception ex) when (IsDatabaseFault(ex, cancellationToken))
        {
            // The entity histories live in PostgreSQL: without it a transaction cannot be scored correctly.
            logger.LogWarning(ex, "Scoring refused with 503: the feature store failed");
            return (null, Unavailable("The feature store is unavailable or overloaded; retry shortly."));
        }
    }

    private static PredictionResponse BatchItem(Prediction prediction, int index) => PredictionResponse.From(prediction, $"transactions[{index}].");

    public static async Task<Results<Ok<FeedbackResponse>, ProblemHttpResult>> Feedback(
        HttpContext context, PredictionStore predictions, IOptions<ScoringOptions> options, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        var (body, problem) = await ReadAsync(context, options.Value.MaxBodyBytes, cancellationToken);
        if (problem is not null) return problem;
        using (body)
        {
            var issues = new List<InputIssue>();
            if (FeedbackOf(body!.RootElement, "", 0, issues, byTransaction: false) is not { PredictionId: { } id } row) return Invalid(issues);
            FeedbackOutcome outcome;
            try
            {
                outcome = await predictions.RecordFeedbackAsync([new FeedbackItem(id, row.IsFraud, row.LabelDate)], WorkbenchClaims.Actor(user), cancellationToken);
            }
            catch (Exception ex) when (IsDatabaseFault(ex, cancellationToken))
            {
                return Unavailable("The prediction log is unavailable; nothing was stored, retry shortly.");
            }

            if (outcome.Unknown.Count == 0) return TypedResults.Ok(new FeedbackResponse(1, row.IsFraud ? 1 : 0, outcome.Changed));
            // Made moments ago, it may still be queued in another instance's log: a retry will find it, "not found" would mislead.
            return predictions.MayStillBeQueued(id)
                ? Unavailable($"Prediction {id} was made in the last minute and may not be written to the log yet; nothing was stored, retry shortly.")
                : JobsApi.Problem(404, "Prediction not found", $"No logged prediction has the id {id}; nothing was stored.", "predictionId");
        }
    }

    public static async Task<Results<Ok<FeedbackResponse>, ProblemHttpResult>> FeedbackBatch(
        HttpContext context, LabelImport labels, PredictionStore predictions, IOptions<ScoringOptions> options, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        var (body, problem) = await ReadAsync(context, options.Value.MaxFeedbackBodyBytes, cancellationToken);
        if (problem is not null) return problem;
        using (body)
        {
            var root = body!.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("items", out var list) || list.ValueKind != JsonValueKind.Array)
                return Invalid([new InputIssue("items", "Expected {\"model\"?: \"…\", \"items\": [ … ]}.")]);
            var issues = new List<InputIssue>();
            string? model = null;
            foreach (var property in root.EnumerateObject())
            {
                if (property.Name == "model")
                {
                    if (property.Value.ValueKind == JsonValueKind.String) model = TransactionContract.TextOf(property.Value, "model", issues);
                    else if (property.Value.ValueKind != JsonValueKind.Null) issues.Add(new InputIssue("model", "Expected the registered model's name."));
                }
                else if (property.Name != "items")
                {
                    issues.Add(new InputIssue(property.Name, "Unknown field; the body holds model and items."));
                }
            }

            if (issues.Count > 0) return Invalid(issues);
            var count = list.GetArrayLength();
            var max = options.Value.MaxFeedbackBatch;
            if (count == 0 || count > max) return Invalid([new InputIssue("items", $"Send between 1 and {max:N0} labels (a larger export goes as several batches, or as a file to /feedback/csv).")]);
            var rows = new List<LabelRow>(count);
            var i = 0;
            foreach (var element in list.EnumerateArray())
            {
                if (FeedbackOf(element, $"items[{i}].", i, issues, byTransaction: true) is { } row) rows.Add(row);
                i++;
                // A batch of 10,000 bad items would answer a megabyte of problems; the first hundred say enough.
                if (issues.Count >= MaxIssues) break;
            }

            return issues.Count > 0 ? Invalid(issues) : await ImportAsync(labels, predictions, string.IsNullOrWhiteSpace(model) ? null : model, rows, user, cancellationToken);
        }
    }

    public static async Task<Results<Ok<FeedbackResponse>, ProblemHttpResult>> FeedbackCsv(
        HttpContext context, LabelImport labels, PredictionStore predictions, ClaimsPrincipal user, CancellationToken cancellationToken,
        [System.ComponentModel.Description("The registered model whose predictions the transaction ids are looked up in; its dataset's transaction id column is also accepted as the header.")] string? model = null)
    {
        if (!IsCsv(context.Request.ContentType))
            return JobsApi.Invalid("Unsupported media type", [("Content-Type", "Send the file itself as the body, with Content-Type: text/csv.")], 415);
        var (file, problem) = await BufferAsync(context, LabelImport.MaxFileBytes, cancellationToken);
        if (problem is not null) return problem;
        model = string.IsNullOrWhiteSpace(model) ? null : model.Trim();
        IReadOnlyList<LabelRow> rows;
        try
        {
            var column = model is null ? null : await labels.TransactionColumnAsync(model, cancellationToken);
            rows = LabelImport.ParseCsv(file!, column);
        }
        catch (LabelImportException ex)
        {
            return JobsApi.Invalid(ex.Message, ex.Issues);
        }
        catch (Exception ex) when (IsDatabaseFault(ex, cancellationToken))
        {
            return Unavailable("The model registry is unavailable; nothing was stored, retry shortly.");
        }
        finally
        {
            await file!.DisposeAsync();
        }

        return await ImportAsync(labels, predictions, model, rows, user, cancellationToken);
    }

    /// <summary>The most problems a refused batch names.</summary>
    private const int MaxIssues = 100;

    /// <summary>Stores labels all or nothing through <see cref="LabelImport"/>, answering its refusals as a 400 naming the rows.</summary>
    private static async Task<Results<Ok<FeedbackResponse>, ProblemHttpResult>> ImportAsync(
        LabelImport labels, PredictionStore predictions, string? model, IReadOnlyList<LabelRow> rows, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        try
        {
            var result = await labels.ImportAsync(model, rows, WorkbenchClaims.Actor(user), cancellationToken);
            return TypedResults.Ok(new FeedbackResponse(result.Accepted, result.Fraud, result.Changed));
        }
        catch (LabelImportException ex)
        {
            // Made moments ago, it may still be queued in another instance's log: a retry will find it, "not found" would mislead.
            if (ex.Unknown.FirstOrDefault(predictions.MayStillBeQueued) is var recent && recent != Guid.Empty)
                return Unavailable($"Prediction {recent} was made in the last minute and may not be written to the log yet; nothing was stored, retry shortly.");
            return JobsApi.Invalid(ex.Message, ex.Issues);
        }
        catch (Exception ex) when (IsDatabaseFault(ex, cancellationToken))
        {
            return Unavailable("The prediction log is unavailable; nothing was stored, retry shortly.");
        }
    }

    private static bool IsCsv(string? contentType) =>
        Microsoft.Net.Http.Headers.MediaTypeHeaderValue.TryParse(contentType, out var media)
        && media.MediaType.Value?.ToLowerInvariant() is "text/csv" or "application/csv" or "text/plain";

    /// <summary>Reads the whole body into memory within <paramref name="maxBytes"/> (the label parser reads synchronously): 413 when larger.</summary>
    private static async Task<(MemoryStream? Body, ProblemHttpResult? Problem)> BufferAsync(HttpContext context, long maxBytes, CancellationToken cancellationToken)
    {
        if (context.Request.ContentLength > maxBytes) return (null, TooLarge(maxBytes, "file"));
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit) limit.MaxRequestBodySize = maxBytes;
        var buffer = new MemoryStream();
        try
        {
            var chunk = new byte[81_920];
            int read;
            while ((read = await context.Request.Body.ReadAsync(chunk, cancellationToken)) > 0)
            {
                if (buffer.Length + read > maxBytes)
                {
                    await buffer.DisposeAsync();
                    return (null, TooLarge(maxBytes, "file"));
                }

                buffer.Write(chunk, 0, read);
            }
        }
        catch (BadHttpRequestException ex)
        {
            await buffer.DisposeAsync();
            return (null, ex.StatusCode == StatusCodes.Status413PayloadTooLarge ? TooLarge(maxBytes, "file") : JobsApi.Problem(ex.StatusCode, "Unreadable body", ex.Message, "body"));
        }

        buffer.Position = 0;
        return (buffer, null);
    }

    /// <summary>Counts the transactions the contract refused for data-quality monitoring, by the fields it named; never fails the answer.</summary>
    private static async Task RecordRefusedAsync(MonitoringStore monitoring, ILogger logger, ServingModel model, int refused, List<InputIssue> issues, CancellationToken cancellationToken)
    {
        // "transactions[3].amount" and "transaction.amount" are both the column amount.
        var fields = issues.Select(i => i.Field[(i.Field.IndexOf('.') + 1)..]).ToList();
        try
        {
            await monitoring.AddRefusedAsync(model.VersionId, refused, fields, cancellationToken);
        }
        catch (Exception ex) when (IsDatabaseFault(ex, cancellationToken))
        {
            logger.LogWarning(ex, "Could not count {Refused} refused transactions for monitoring", refused);
        }
    }

    /// <summary>One label item; <paramref name="byTransaction"/> also accepts <c>transactionId</c> in place of <c>predictionId</c>.</summary>
    private static LabelRow? FeedbackOf(JsonElement element, string prefix, int index, List<InputIssue> issues, bool byTransaction)
    {
        var shape = byTransaction ? "{predictionId or transactionId, isFraud, labelDate?}" : "{predictionId, isFraud, labelDate?}";
        if (element.ValueKind != JsonValueKind.Object)
        {
            issues.Add(new InputIssue(prefix.TrimEnd('.') is { Length: > 0 } p ? p : "body", $"Expected an object {shape}."));
            return null;
        }

        Guid? id = null;
        string? transaction = null;
        bool? fraud = null;
        DateOnly? date = null;
        var before = issues.Count;
        foreach (var property in element.EnumerateObject())
        {
            switch (property.Name)
            {
                case "predictionId":
                    if (property.Value.ValueKind == JsonValueKind.String && property.Value.TryGetGuid(out var g)) id = g;
                    else if (!(byTransaction && property.Value.ValueKind == JsonValueKind.Null))
                        issues.Add(new InputIssue(prefix + "predictionId", "Expected the predictionId a /predict call returned (a UUID)."));
                    break;
                case "transactionId" when byTransaction:
                    // The transaction id column may be numeric in the dataset: a JSON number is its text.
                    if (property.Value.ValueKind == JsonValueKind.String) transaction = TransactionContract.TextOf(property.Value, prefix + "transactionId", issues);
                    else if (property.Value.ValueKind == JsonValueKind.Number) transaction = property.Value.GetRawText();
                    else if (property.Value.ValueKind != JsonValueKind.Null) issues.Add(new InputIssue(prefix + "transactionId", "Expected the transaction's own id, as it was sent to /predict."));
                    if (transaction is { Length: 0 or > 1024 })
                    {
                        issues.Add(new InputIssue(prefix + "transactionId", "A transaction id is 1 to 1,024 characters."));
                        transaction = null;
                    }

                    break;
                case "isFraud":
                    if (property.Value.ValueKind is JsonValueKind.True or JsonValueKind.False) fraud = property.Value.GetBoolean();
                    else issues.Add(new InputIssue(prefix + "isFraud", "Expected true or false."));
                    break;
                case "labelDate":
                    if (property.Value.ValueKind == JsonValueKind.Null) break;
                    if (property.Value.ValueKind == JsonValueKind.String && DateOnly.TryParseExact(property.Value.GetString(), "yyyy-MM-dd", out var d)) date = d;
                    else issues.Add(new InputIssue(prefix + "labelDate", "Expected a date as \"yyyy-MM-dd\"."));
                    break;
                default:
                    issues.Add(new InputIssue(prefix + property.Name, $"Unknown field; an item is {shape}."));
                    break;
            }
        }

        if (id is null && transaction is null && !issues.Any(i => i.Field == prefix + "predictionId" || i.Field == prefix + "transactionId"))
            issues.Add(new InputIssue(prefix + "predictionId", byTransaction ? "Give the predictionId, or the transactionId of a transaction scored once." : "This field is required."));
        if (fraud is null && !issues.Any(i => i.Field == prefix + "isFraud")) issues.Add(new InputIssue(prefix + "isFraud", "This field is required."));
        return issues.Count == before ? new LabelRow($"items[{index}]", id, id is null ? transaction : null, fraud!.Value, date) : null;
    }

    /// <summary>The envelope around transactions: optional model and version, the payload property, nothing else.</summary>
    private static (string? Name, int? Version, int Reasons) Envelope(JsonElement root, string payload, List<InputIssue> issues, bool allowModel = true)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            issues.Add(new InputIssue("body", $"Expected a JSON object with \"{payload}\"."));
            return (null, null, 0);
        }

        string? name = null;
        int? version = null;
        var reasons = DefaultReasons;
        var hasPayload = false;
        foreach (var property in root.EnumerateObject())
        {
            switch (property.Name)
            {
                case "explain" when allowModel:
                    if (property.Value.ValueKind is JsonValueKind.True or JsonValueKind.False) reasons = property.Value.GetBoolean() ? reasons : 0;
                    else issues.Add(new InputIssue("explain", "Expected true or false."));
                    break;
                case "reasons" when allowModel:
                    if (property.Value.ValueKind == JsonValueKind.Number && property.Value.TryGetInt32(out var k) && k is >= 0 and <= 100) reasons = k;
                    else issues.Add(new InputIssue("reasons", "Expected how many reasons to return, 0 to 100."));
                    break;
                case "model" when allowModel:
                    if (property.Value.ValueKind == JsonValueKind.String) name = TransactionContract.TextOf(property.Value, "model", issues);
                    else if (property.Value.ValueKind != JsonValueKind.Null) issues.Add(new InputIssue("model", "Expected the registered model's name."));
                    break;
                case "version" when allowModel:
                    if (property.Value.ValueKind == JsonValueKind.Number && property.Value.TryGetInt32(out var v) && v > 0) version = v;
                    else if (property.Value.ValueKind != JsonValueKind.Null) issues.Add(new InputIssue("version", "Expected a positive whole version number."));
                    break;
                default:
                    if (property.Name == payload) hasPayload = true;
                    else issues.Add(new InputIssue(property.Name, allowModel ? $"Unknown field; the body holds model, version, explain, reasons and {payload}." : $"Unknown field; the body holds {payload}."));
                    break;
            }
        }

        if (!hasPayload) issues.Add(new InputIssue(payload, "This field is required."));
        return (name, version, reasons);
    }

    /// <summary>Reads the body as JSON within the size limit: 413 when larger, 400 (with the position) when malformed.</summary>
    private static async Task<(JsonDocument? Body, ProblemHttpResult? Problem)> ReadAsync(HttpContext context, long maxBytes, CancellationToken cancellationToken)
    {
        if (context.Request.ContentLength > maxBytes) return (null, TooLarge(maxBytes));
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit) limit.MaxRequestBodySize = maxBytes;
        try
        {
            var document = await JsonDocument.ParseAsync(context.Request.Body, new JsonDocumentOptions { MaxDepth = 16 }, cancellationToken);
            if (InvalidText(document.RootElement) is { } path)
            {
                document.Dispose();
                return (null, JobsApi.Problem(400, "Malformed JSON", "The body holds an invalid Unicode escape (a lone surrogate).", path.Length == 0 ? "body" : path));
            }

            return (document, null);
        }
        catch (JsonException ex)
        {
            return (null, JobsApi.Problem(400, "Malformed JSON", $"The body is not valid JSON: {ex.Message}", ex.Path is { Length: > 1 } path ? path.TrimStart('$', '.') : "body"));
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, TooLarge(maxBytes));
        }
        catch (BadHttpRequestException ex)
        {
            // A body cut short or sent too slowly: the client's fault, said as such (if it is still listening).
            return (null, JobsApi.Problem(ex.StatusCode, "Unreadable body", ex.Message, "body"));
        }
    }

    private static bool IsDatabaseFault(Exception ex, CancellationToken cancellationToken) =>
        ex is Npgsql.NpgsqlException or TimeoutException or EntityStateBackloggedException && !cancellationToken.IsCancellationRequested;

    private static ProblemHttpResult Unavailable(string detail) =>
        TypedResults.Problem(detail, statusCode: 503, title: "Scoring is temporarily unavailable", extensions: new Dictionary<string, object?> { ["retryAfterSeconds"] = 1 });

    /// <summary>
    /// Where the first property or string that is not valid UTF-16 is ("" for the root), or null: the parser
    /// accepts lone surrogate escapes and reading them throws. The path is built on the way out, so a
    /// valid body costs one read of each string and nothing more.
    /// </summary>
    private static string? InvalidText(JsonElement element)
    {
        try
        {
            switch (element.ValueKind)
            {
                case JsonValueKind.String:
                    element.GetString();
                    return null;
                case JsonValueKind.Array:
                    var i = 0;
                    foreach (var item in element.EnumerateArray())
                    {
                        if (InvalidText(item) is { } bad) return $"[{i}]{(bad.Length == 0 || bad[0] == '[' ? bad : "." + bad)}";
                        i++;
                    }

                    return null;
                case JsonValueKind.Object:
                    foreach (var property in element.EnumerateObject())
                    {
                        var name = property.Name;
                        if (InvalidText(property.Value) is { } bad) return name + (bad.Length == 0 || bad[0] == '[' ? bad : "." + bad);
                    }

                    return null;
                default:
                    return null;
            }
        }
        catch (InvalidOperationException)
        {
            return "";
        }
    }

    private static ProblemHttpResult TooLarge(long maxBytes, string field = "body") =>
        JobsApi.Problem(413, "Body too large", $"The {(field == "file" ? "file" : "body")} is larger than {maxBytes:N0} bytes; split the {(field == "file" ? "file" : "batch")}.", field);

    private static ProblemHttpResult Invalid(IReadOnlyList<InputIssue> issues) =>
        JobsApi.Invalid("The request cannot be scored", [.. issues.Select(i => (i.Field, i.Message))]);
}
