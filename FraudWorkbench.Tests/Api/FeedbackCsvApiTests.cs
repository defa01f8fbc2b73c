using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Dapper;
using FraudWorkbench.Api;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Registry;
using FraudWorkbench.Core.Scoring;
using FraudWorkbench.Tests.Scoring;
using Npgsql;

namespace FraudWorkbench.Tests.Api;

/// <summary>The bulk-label and performance API tests share one app and its two trained runs (training is the slow part).</summary>
[CollectionDefinition(Name)]
public sealed class PerformanceApiCollection : ICollectionFixture<ScoringFixture>
{
    public const string Name = "performance-api";
}

/// <summary>
/// Labels at volume: feedback batches of up to 10,000 items by prediction id or by the transaction's own id, and
/// label files (CSV) posted as they come out of case management; all or nothing, the bad rows named.
/// </summary>
[Trait("Category", "Database")]
[Collection(PerformanceApiCollection.Name)]
public sealed class FeedbackCsvApiTests(ScoringFixture fixture)
{
    private const string Model = "cnp-labels";

    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static ModelVersion? version;

    private HttpClient Client(string? key = null) => fixture.Client(key);

    private static async Task<JsonElement> Json(HttpResponseMessage response) => await response.Content.ReadFromJsonAsync<JsonElement>();

    private async Task<ModelVersion> VersionAsync()
    {
        await Gate.WaitAsync();
        try
        {
            return version ??= await fixture.RegisterAndPromoteAsync(Model, fixture.WeakRun);
        }
        finally
        {
            Gate.Release();
        }
    }

    /// <summary>Scores sample rows under new transaction ids (so no other test's traffic shares them) and returns (transaction id, prediction id) in order.</summary>
    private async Task<List<(string TransactionId, Guid PredictionId)>> ScoreAsync(HttpClient client, IReadOnlyList<string> transactionIds, string? model = Model)
    {
        await VersionAsync();
        var transactions = transactionIds.Select((id, i) =>
        {
            var t = fixture.Transaction(3000 + i);
            t["transaction_id"] = id;
            return t;
        }).ToList();
        var response = await client.PostAsJsonAsync("/api/v1/predict/batch", new { model, explain = false, transactions });
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var predictions = (await response.Content.ReadFromJsonAsync<BatchPredictionResponse>(DatasetSchema.Json))!.Predictions;
        return [.. transactionIds.Select((id, i) => (id, predictions[i].PredictionId!.Value))];
    }

    private static List<string> NewIds(string prefix, int count) => [.. Enumerable.Range(0, count).Select(i => $"{prefix}-{Guid.NewGuid():N}-{i}")];

    private static StringContent Csv(string text) => new(text, Encoding.UTF8, "text/csv");

    private static List<string?> Fields(JsonElement problem) => [.. problem.GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("field").GetString())];

    private async Task<LoggedPrediction> StoredAsync(Guid id)
    {
        // A refused request may have left the predictions it names still queued in the log.
        await fixture.App.Get<PredictionLog>().FlushAsync();
        return (await fixture.App.Get<PredictionStore>().GetAsync(id))!;
    }

    [Fact]
    public async Task FeedbackBatch_TenThousandItems_AcceptedWithCounts_OneMoreRefusedNamingItems()
    {
        var v = await VersionAsync();
        var log = fixture.App.Get<PredictionLog>();
        var at = DateTime.UtcNow.AddMinutes(-10);
        var ids = new List<Guid>();
        var prefix = "bulk-" + Guid.NewGuid().ToString("N")[..8];
        var input = JsonSerializer.Serialize(fixture.Transaction(1));
        // Written straight to the log, as scoring writes them: the counts come from the same sinks.
        foreach (var chunk in Enumerable.Range(0, 10_000).Chunk(2_000))
        {
            Assert.True(log.TryReserve(chunk.Length));
            foreach (var i in chunk)
            {
                var id = Guid.CreateVersion7(new DateTimeOffset(at.AddMilliseconds(i)));
                ids.Add(id);
                log.Write(new PredictionRecord(id, at.AddMilliseconds(i), v.Id, "test", input, [], 0.1, false, 1, Row: fixture.Rows[1], TransactionId: $"{prefix}-{i}"));
            }
        }

        await log.FlushAsync();
        // Half by prediction id, half by transaction id; every tenth is fraud.
        var items = Enumerable.Range(0, 10_000).Select(i => i % 2 == 0
            ? (object)new { predictionId = ids[i], isFraud = i % 10 == 0, labelDate = "2026-12-01" }
            : new { transactionId = $"{prefix}-{i}", isFraud = i % 10 == 0 }).ToList();
        using var client = Client();

        var started = System.Diagnostics.Stopwatch.StartNew();
        var response = await client.PostAsJsonAsync("/api/v1/feedback/batch", new { model = Model, items });
        var elapsed = started.Elapsed;
        var tooMany = await client.PostAsJsonAsync("/api/v1/feedback/batch", new { items = items.Append(items[0]).ToList() });

        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var body = await Json(response);
        Assert.Equal(10_000, body.GetProperty("accepted").GetInt32());
        Assert.Equal(1_000, body.GetProperty("fraud").GetInt32());
        Assert.Equal(10_000, body.GetProperty("changed").GetInt32());
        Assert.True(elapsed < TimeSpan.FromSeconds(10), $"10,000 labels took {elapsed}");
        Assert.Equal(HttpStatusCode.BadRequest, tooMany.StatusCode);
        var problem = await Json(tooMany);
        Assert.Equal("items", problem.GetProperty("field").GetString());
        Assert.Contains("10,000", problem.GetProperty("detail").GetString());
        await using var connection = new NpgsqlConnection(fixture.App.ConnectionString);
        Assert.Equal(1_000, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM prediction_feedback WHERE prediction_id = ANY(@ids) AND is_fraud", new { ids = ids.ToArray() }));
        Assert.Equal(10_000, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM prediction_feedback WHERE prediction_id = ANY(@ids)", new { ids = ids.ToArray() }));
    }

    [Fact]
    public async Task FeedbackBatch_TransactionIds_ScoredTwiceRefusedUnlessPredictionIdGiven_NothingStoredMeanwhile()
    {
        using var client = Client();
        var once = (await ScoreAsync(client, NewIds("once", 1)))[0];
        var twice = NewIds("twice", 1)[0];
        var first = (await ScoreAsync(client, [twice]))[0];
        var second = (await ScoreAsync(client, [twice]))[0];

        var refused = await client.PostAsJsonAsync("/api/v1/feedback/batch", new { model = Model, items = new object[]
        {
            new { transactionId = once.TransactionId, isFraud = true },
            new { transactionId = twice, isFraud = true },
        } });
        var unknownModel = await client.PostAsJsonAsync("/api/v1/feedback/batch", new { model = "no-such-model", items = new object[] { new { transactionId = once.TransactionId, isFraud = true } } });
        var neither = await client.PostAsJsonAsync("/api/v1/feedback/batch", new { items = new object[] { new { isFraud = true } } });

        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        var problem = await Json(refused);
        Assert.Equal(["items[1].transactionId"], Fields(problem));
        Assert.Contains("scored 2 times", problem.GetProperty("detail").GetString());
        Assert.Contains(first.PredictionId.ToString(), problem.GetProperty("detail").GetString());
        Assert.Null((await StoredAsync(once.PredictionId)).IsFraud); // all or nothing
        Assert.Equal(HttpStatusCode.BadRequest, unknownModel.StatusCode);
        Assert.Equal("model", (await Json(unknownModel)).GetProperty("field").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, neither.StatusCode);
        Assert.Equal("items[0].predictionId", (await Json(neither)).GetProperty("field").GetString());

        // With the prediction id the label is for, the same batch goes through; without a model, every model's predictions are searched.
        var accepted = await client.PostAsJsonAsync("/api/v1/feedback/batch", new { items = new object[]
        {
            new { transactionId = once.TransactionId, isFraud = true },
            new { transactionId = twice, predictionId = second.PredictionId, isFraud = true },
        } });
        Assert.True(accepted.StatusCode == HttpStatusCode.OK, await accepted.Content.ReadAsStringAsync());
        var body = await Json(accepted);
        Assert.Equal(2, body.GetProperty("accepted").GetInt32());
        Assert.Equal(2, body.GetProperty("fraud").GetInt32());
        Assert.Equal(2, body.GetProperty("changed").GetInt32());
        Assert.True((await StoredAsync(once.PredictionId)).IsFraud);
        Assert.True((await StoredAsync(second.PredictionId)).IsFraud);
        Assert.Null((await StoredAsync(first.PredictionId)).IsFraud);
    }

    [Fact]
    public async Task FeedbackBatch_ConflictingDuplicatesRefused_SameLabelTwiceStoredOnce()
    {
        using var client = Client();
        var scored = await ScoreAsync(client, NewIds("dup", 2));

        var conflicting = await client.PostAsJsonAsync("/api/v1/feedback/batch", new { items = new object[]
        {
            new { predictionId = scored[0].PredictionId, isFraud = true },
            new { predictionId = scored[1].PredictionId, isFraud = false },
            new { transactionId = scored[0].TransactionId, isFraud = false },
        } });
        var repeated = await client.PostAsJsonAsync("/api/v1/feedback/batch", new { items = new object[]
        {
            new { predictionId = scored[0].PredictionId, isFraud = true },
            new { transactionId = scored[0].TransactionId, isFraud = true },
        } });

        Assert.Equal(HttpStatusCode.BadRequest, conflicting.StatusCode);
        var problem = await Json(conflicting);
        Assert.Equal(["items[2]"], Fields(problem));
        Assert.Contains("items[0] and items[2]", problem.GetProperty("detail").GetString());
        Assert.Null((await StoredAsync(scored[1].PredictionId)).IsFraud);
        Assert.Equal(HttpStatusCode.OK, repeated.StatusCode);
        Assert.Equal(1, (await Json(repeated)).GetProperty("accepted").GetInt32());
    }

    [Fact]
    public async Task FeedbackCsv_ValidFile_StoredWithDatesAndCounts()
    {
        using var client = Client();
        var scored = await ScoreAsync(client, NewIds("csv", 3));
        // Transaction ids and a prediction id mixed in one file, a blank label date, and "no" for legitimate.
        var csv = $"prediction_id,transaction_id,is_fraud,label_date\n,{scored[0].TransactionId},1,2026-11-20\n,{scored[1].TransactionId},no,\n{scored[2].PredictionId},,true,2026-11-21\n";

        var response = await client.PostAsync($"/api/v1/feedback/csv?model={Model}", Csv(csv));

        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var body = await Json(response);
        Assert.Equal(3, body.GetProperty("accepted").GetInt32());
        Assert.Equal(2, body.GetProperty("fraud").GetInt32());
        Assert.Equal(3, body.GetProperty("changed").GetInt32());
        var first = await StoredAsync(scored[0].PredictionId);
        Assert.True(first.IsFraud);
        Assert.Equal(new DateTime(2026, 11, 20), first.LabelDate);
        Assert.False((await StoredAsync(scored[1].PredictionId)).IsFraud);
        Assert.True((await StoredAsync(scored[2].PredictionId)).IsFraud);
        await using var connection = new NpgsqlConnection(fixture.App.ConnectionString);
        Assert.Contains("\"count\": 3", await connection.ExecuteScalarAsync<string>(
            "SELECT summary::text FROM audit_log WHERE action = 'prediction.feedback' AND actor = 'api-key:test-partner' ORDER BY id DESC LIMIT 1"));
    }

    [Fact]
    public async Task FeedbackCsv_ExportShapedFile_BomCrlfQuotedCommasQuestionMarks_Stored()
    {
        using var client = Client();
        var ids = NewIds("export", 3);
        ids[0] = $"ORD, {ids[0]}"; // a comma inside the id: quoted in the file
        var scored = await ScoreAsync(client, ids);
        // As a spreadsheet or case-management tool writes it: a byte-order mark, CRLF, every field quoted, capitalised
        // headers, "?" for an unknown confirmation date, Yes / NO.
        var csv = "\uFEFF\"Transaction_ID\",\"Is_Fraud\",\"Label_Date\"\r\n" +
            $"\"{scored[0].TransactionId}\",\"Yes\",\"2026-11-20\"\r\n\"{scored[1].TransactionId}\",\"NO\",\"?\"\r\n\"{scored[2].TransactionId}\",\"1\",?\r\n";

        var response = await client.PostAsync($"/api/v1/feedback/csv?model={Model}", Csv(csv));

        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var body = await Json(response);
        Assert.Equal((3, 2), (body.GetProperty("accepted").GetInt32(), body.GetProperty("fraud").GetInt32()));
        var first = await StoredAsync(scored[0].PredictionId);
        Assert.Equal((true, new DateTime(2026, 11, 20)), (first.IsFraud, first.LabelDate));
        var second = await StoredAsync(scored[1].PredictionId);
        Assert.Equal((false, (DateTime?)null), (second.IsFraud, second.LabelDate));
        var third = await StoredAsync(scored[2].PredictionId);
        Assert.Equal((true, (DateTime?)null), (third.IsFraud, third.LabelDate));
    }

    [Fact]
    public async Task FeedbackCsv_BadRows_400NamingLineAndColumn_NothingStored()
    {
        using var client = Client();
        var scored = await ScoreAsync(client, NewIds("csvbad", 1));
        var csv = $"prediction_id,is_fraud,label_date\n{scored[0].PredictionId},1,2026-11-20\nnot-a-uuid,1,\n{scored[0].PredictionId},maybe,\n{scored[0].PredictionId},0,20/11/2026\n";

        var response = await client.PostAsync("/api/v1/feedback/csv", Csv(csv));
        var noHeader = await client.PostAsync("/api/v1/feedback/csv", Csv("id,label\nx,1\n"));
        var empty = await client.PostAsync("/api/v1/feedback/csv", Csv(""));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(["line 3.prediction_id", "line 4.is_fraud", "line 5.label_date"], Fields(await Json(response)));
        Assert.Null((await StoredAsync(scored[0].PredictionId)).IsFraud);
        Assert.Equal(HttpStatusCode.BadRequest, noHeader.StatusCode);
        Assert.Equal("header", (await Json(noHeader)).GetProperty("field").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, empty.StatusCode);
        Assert.Equal("file", (await Json(empty)).GetProperty("field").GetString());
    }

    [Fact]
    public async Task FeedbackCsv_TransactionScoredTwiceOrUnknown_400NamingLine_NothingStored()
    {
        using var client = Client();
        var once = (await ScoreAsync(client, NewIds("csvonce", 1)))[0];
        var twice = NewIds("csvtwice", 1)[0];
        await ScoreAsync(client, [twice]);
        await ScoreAsync(client, [twice]);
        var old = Guid.CreateVersion7(DateTimeOffset.UtcNow.AddMinutes(-30));

        var response = await client.PostAsync($"/api/v1/feedback/csv?model={Model}", Csv($"transaction_id,is_fraud\n{once.TransactionId},1\n{twice},1\nnever-scored,0\n"));
        var unknownPrediction = await client.PostAsync("/api/v1/feedback/csv", Csv($"prediction_id,is_fraud\n{once.PredictionId},1\n{old},1\n"));
        var recent = await client.PostAsync("/api/v1/feedback/csv", Csv($"prediction_id,is_fraud\n{Guid.CreateVersion7(DateTimeOffset.UtcNow.AddSeconds(-2))},1\n"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await Json(response);
        Assert.Equal(["line 3.transactionId", "line 4.transactionId"], Fields(problem));
        Assert.Contains("scored 2 times", problem.GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, unknownPrediction.StatusCode);
        Assert.Equal(["line 3.predictionId"], Fields(await Json(unknownPrediction)));
        Assert.Null((await StoredAsync(once.PredictionId)).IsFraud);
        // A prediction id from the last minute may still be queued in another instance's log: retry, not "unknown".
        Assert.Equal(HttpStatusCode.ServiceUnavailable, recent.StatusCode);
        Assert.NotNull(recent.Headers.RetryAfter);
    }

    [Fact]
    public async Task FeedbackCsv_Duplicates_SameLabelOnceConflictingRefused()
    {
        using var client = Client();
        var scored = (await ScoreAsync(client, NewIds("csvdup", 1)))[0];

        var repeated = await client.PostAsync("/api/v1/feedback/csv", Csv($"prediction_id,transaction_id,is_fraud\n{scored.PredictionId},,1\n,{scored.TransactionId},1\n"));
        var conflicting = await client.PostAsync("/api/v1/feedback/csv", Csv($"prediction_id,is_fraud\n{scored.PredictionId},0\n{scored.PredictionId},1\n{scored.PredictionId},0\n"));

        Assert.Equal(HttpStatusCode.OK, repeated.StatusCode);
        Assert.Equal(1, (await Json(repeated)).GetProperty("accepted").GetInt32());
        Assert.Equal(HttpStatusCode.BadRequest, conflicting.StatusCode);
        var problem = await Json(conflicting);
        Assert.Equal(["line 4"], Fields(problem));
        Assert.Contains("line 2 and line 3 and line 4", problem.GetProperty("detail").GetString());
        Assert.True((await StoredAsync(scored.PredictionId)).IsFraud); // the refused file changed nothing
    }

    [Fact]
    public async Task FeedbackCsv_ChargebackReversed_LatestKeptChangedOneAndAudited()
    {
        using var client = Client();
        var scored = await ScoreAsync(client, NewIds("csvrev", 2));
        var file = $"prediction_id,is_fraud\n{scored[0].PredictionId},1\n{scored[1].PredictionId},0\n";
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/api/v1/feedback/csv", Csv(file))).StatusCode);

        // The same export again with the first chargeback reversed: one label changes.
        var response = await client.PostAsync("/api/v1/feedback/csv", Csv(file.Replace($"{scored[0].PredictionId},1", $"{scored[0].PredictionId},0")));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await Json(response);
        Assert.Equal(2, body.GetProperty("accepted").GetInt32());
        Assert.Equal(0, body.GetProperty("fraud").GetInt32());
        Assert.Equal(1, body.GetProperty("changed").GetInt32());
        Assert.False((await StoredAsync(scored[0].PredictionId)).IsFraud);
        await using var connection = new NpgsqlConnection(fixture.App.ConnectionString);
        var audit = await connection.ExecuteScalarAsync<string>(
            "SELECT summary::text FROM audit_log WHERE action = 'prediction.feedback' AND summary::text LIKE @id ORDER BY id DESC LIMIT 1", new { id = $"%{scored[0].PredictionId}%" });
        Assert.Contains("\"reversed\"", audit);
        Assert.Contains("\"to\": false", audit);
    }

    [Fact]
    public async Task FeedbackCsv_WrongScopeOrNoKey_Refused_WrongMediaTypeOrTooLarge_Refused()
    {
        var keys = fixture.App.Get<ApiKeyStore>();
        var (_, predictOnly) = await keys.CreateAsync("csv-predict", [Scopes.Predict], null, "test");
        var (_, readOnly) = await keys.CreateAsync("csv-read", [Scopes.Read], null, "test");
        var (_, feedbackOnly) = await keys.CreateAsync("csv-feedback", [Scopes.Feedback], null, "test");
        using var predictor = Client(predictOnly);
        using var reader = Client(readOnly);
        using var partner = Client(feedbackOnly);
        using var anonymous = Client("");
        var file = $"prediction_id,is_fraud\n{Guid.NewGuid()},1\n";

        Assert.Equal(HttpStatusCode.Forbidden, (await predictor.PostAsync("/api/v1/feedback/csv", Csv(file))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await reader.PostAsync("/api/v1/feedback/csv", Csv(file))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsync("/api/v1/feedback/csv", Csv(file))).StatusCode);
        // The feedback scope is enough (an unknown, old-style id is a 400, not a refusal of the key).
        Assert.Equal(HttpStatusCode.BadRequest, (await partner.PostAsync("/api/v1/feedback/csv", Csv(file))).StatusCode);

        var json = await partner.PostAsJsonAsync("/api/v1/feedback/csv", new { items = Array.Empty<object>() });
        var multipart = await partner.PostAsync("/api/v1/feedback/csv", new MultipartFormDataContent { { Csv(file), "file", "labels.csv" } });
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, json.StatusCode);
        var problem = await Json(json);
        Assert.Equal("Content-Type", problem.GetProperty("field").GetString());
        Assert.Contains("text/csv", problem.GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, multipart.StatusCode);
        var huge = await partner.PostAsync("/api/v1/feedback/csv", Csv("prediction_id,is_fraud\n" + new string('x', 17 * 1024 * 1024)));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, huge.StatusCode);
        Assert.Equal("file", (await Json(huge)).GetProperty("field").GetString());
    }

    [Fact]
    public async Task OpenApi_FeedbackOperations_DocumentedWithExamples()
    {
        using var client = Client();

        var document = await client.GetFromJsonAsync<JsonElement>("/openapi/v1.json");

        var paths = document.GetProperty("paths");
        var batch = paths.GetProperty("/api/v1/feedback/batch").GetProperty("post");
        Assert.Contains("transactionId", batch.GetProperty("description").GetString());
        Assert.Equal("tx_2", batch.GetProperty("requestBody").GetProperty("content").GetProperty("application/json").GetProperty("example").GetProperty("items")[1].GetProperty("transactionId").GetString());
        var csv = paths.GetProperty("/api/v1/feedback/csv").GetProperty("post");
        Assert.Equal("FeedbackCsv", csv.GetProperty("operationId").GetString());
        Assert.StartsWith("transaction_id,is_fraud,label_date", csv.GetProperty("requestBody").GetProperty("content").GetProperty("text/csv").GetProperty("example").GetString());
        Assert.Equal(["model"], csv.GetProperty("parameters").EnumerateArray().Select(p => p.GetProperty("name").GetString()).ToList());
    }
}
