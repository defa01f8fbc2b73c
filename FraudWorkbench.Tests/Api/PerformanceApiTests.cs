using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dapper;
using FraudWorkbench.Api;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Performance;
using FraudWorkbench.Core.Registry;
using FraudWorkbench.Core.Scoring;
using FraudWorkbench.Tests.Scoring;
using Npgsql;

namespace FraudWorkbench.Tests.Api;

/// <summary>
/// The performance API over real traffic: a promoted month A model scores 600 month A rows today (the open cohort)
/// and the same transactions were "scored" on three past days too (written to the prediction log with those days'
/// times, so the counts come from the same sinks as live traffic). With a 7-day label window the cohorts of 10 and 9
/// days ago are mature, the one of 3 days ago is provisional and today's is open.
/// </summary>
[Trait("Category", "Database")]
[Collection(PerformanceApiCollection.Name)]
public sealed class PerformanceApiTests(ScoringFixture fixture)
{
    private const string Model = "cnp-performance";
    private const int Rows = 600;
    private const int LabelWindowDays = 7;
    private static readonly int[] PastDays = [10, 9, 3];

    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static Traffic? traffic;

    /// <summary>What was logged per day: each prediction's probability, decision and the label sent (null: none).</summary>
    private sealed record Logged(double Probability, bool Decision, bool? Label, double Amount);

    private sealed record Traffic(DateOnly Today, Dictionary<DateOnly, List<Logged>> Days);

    private HttpClient Client(string? key = null) => fixture.Client(key);

    private static async Task<JsonElement> Json(HttpResponseMessage response) => await response.Content.ReadFromJsonAsync<JsonElement>();

    private static string Day(DateOnly day) => day.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);

    private async Task<Traffic> TrafficAsync()
    {
        await Gate.WaitAsync();
        try
        {
            return traffic ??= await ScoreAsync();
        }
        finally
        {
            Gate.Release();
        }
    }

    private async Task<Traffic> ScoreAsync()
    {
        var version = await fixture.RegisterAndPromoteAsync(Model, fixture.StrongRun);
        Assert.Empty((await fixture.App.Get<PerformanceService>().SaveConfigAsync(Model, new PerformanceConfig(LabelWindowDays, 0.8), "test"))!);
        var schema = fixture.Schema;
        var label = schema.IndexOf(schema.Label!.Name);
        var amount = schema.IndexOf("amount");
        var indexes = Enumerable.Range(0, Rows).Select(i => i * 20).ToList();
        using var client = Client();

        // Today: scored through the API.
        var predictions = new List<PredictionResponse>();
        foreach (var chunk in indexes.Chunk(300))
        {
            var response = await client.PostAsJsonAsync("/api/v1/predict/batch", new { model = Model, explain = false, transactions = chunk.Select(fixture.Transaction).ToList() });
            Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
            predictions.AddRange((await response.Content.ReadFromJsonAsync<BatchPredictionResponse>(DatasetSchema.Json))!.Predictions);
        }

        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        var days = new Dictionary<DateOnly, List<Logged>>();
        bool IsFraud(int index) => fixture.Rows[index][label] is "1" or "true" or "True";

        // Today's labels: the first 100 transactions, by the transaction's own id.
        var todayItems = indexes.Take(100).Select(i => new { transactionId = fixture.Rows[i][schema.IndexOf("transaction_id")], isFraud = IsFraud(i) }).ToList();
        var labelled = await client.PostAsJsonAsync("/api/v1/feedback/batch", new { model = Model, items = todayItems });
        Assert.True(labelled.StatusCode == HttpStatusCode.OK, await labelled.Content.ReadAsStringAsync());
        days[today] = [.. indexes.Select((row, i) => new Logged(predictions[i].Probability, predictions[i].Decision == "fraud", i < 100 ? IsFraud(row) : null, Amount(row)))];

        // Past days: the same transactions with that day's time; every fraud and every other legitimate one labelled, some days later.
        var log = fixture.App.Get<PredictionLog>();
        var items = new List<object>();
        foreach (var ago in PastDays)
        {
            var day = today.AddDays(-ago);
            var at = day.ToDateTime(new TimeOnly(12, 0), DateTimeKind.Utc);
            Assert.True(log.TryReserve(Rows));
            var logged = new List<Logged>();
            for (var i = 0; i < Rows; i++)
            {
                var row = indexes[i];
                var id = Guid.CreateVersion7(new DateTimeOffset(at.AddSeconds(i)));
                log.Write(new PredictionRecord(id, at.AddSeconds(i), version.Id, "test", JsonSerializer.Serialize(fixture.Transaction(row)), [], predictions[i].Probability,
                    predictions[i].Decision == "fraud", 1, Row: fixture.Rows[row], TransactionId: $"past-{ago}-{i}"));
                bool? sent = IsFraud(row) ? true : i % 2 == 0 ? false : null;
                // Delays of 0 to 7 days on the mature days, 0 to 3 on the recent one (all it could have seen so far).
                var delay = ago >= LabelWindowDays ? i % (LabelWindowDays + 1) : i % (ago + 1);
                if (sent is { } s) items.Add(new { predictionId = id, isFraud = s, labelDate = Day(day.AddDays(delay)) });
                logged.Add(new Logged(predictions[i].Probability, predictions[i].Decision == "fraud", sent, Amount(row)));
            }

            days[day] = logged;
        }

        await log.FlushAsync();
        var past = await client.PostAsJsonAsync("/api/v1/feedback/batch", new { items });
        Assert.True(past.StatusCode == HttpStatusCode.OK, await past.Content.ReadAsStringAsync());
        return new Traffic(today, days);

        double Amount(int row) => double.Parse(fixture.Rows[row][amount]!, System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The report without what moves with the clock between two computations (the time, and maturity, which grows continuously).</summary>
    private static JsonNode Stable(JsonNode report, List<double> maturities)
    {
        report.AsObject().Remove("computedAt");
        foreach (var cohort in report["cohorts"]!.AsArray().Append(report["range"]))
        {
            maturities.Add(cohort!["maturity"]!.GetValue<double>());
            cohort.AsObject().Remove("maturity");
        }

        return report;
    }

    [Fact]
    public async Task GetPerformance_DayCohorts_SameAsServiceAndCountsOfWhatWasSent()
    {
        var t = await TrafficAsync();
        using var client = Client();
        var from = t.Today.AddDays(-12);

        var response = await client.GetAsync($"/api/v1/monitoring/models/{Model}/performance?from={Day(from)}&to={Day(t.Today)}&cohort=day");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync();
        var expected = await fixture.App.Get<PerformanceService>().ReportAsync(Model, from, t.Today, CohortSize.Day);
        // Every number the service computes, through HTTP and JSON unchanged (doubles round-trip exactly).
        var (apiMaturity, serviceMaturity) = (new List<double>(), new List<double>());
        var api = Stable(JsonNode.Parse(body)!, apiMaturity);
        var service = Stable(JsonSerializer.SerializeToNode(expected, new JsonSerializerOptions(JsonSerializerDefaults.Web))!, serviceMaturity);
        Assert.Equal(service.ToJsonString(), api.ToJsonString());
        Assert.Equal(serviceMaturity.Count, apiMaturity.Count);
        for (var i = 0; i < apiMaturity.Count; i++) Assert.Equal(serviceMaturity[i], apiMaturity[i], 1e-3);

        var report = JsonDocument.Parse(body).RootElement;
        Assert.Equal(Day(from), report.GetProperty("from").GetString()); // dates as yyyy-MM-dd
        Assert.Equal("day", report.GetProperty("cohort").GetString());
        Assert.Equal(LabelWindowDays, report.GetProperty("config").GetProperty("labelWindowDays").GetInt32());
        Assert.Equal("amount", report.GetProperty("amountColumn").GetString());
        var cohorts = report.GetProperty("cohorts").EnumerateArray().ToDictionary(c => DateOnly.Parse(c.GetProperty("start").GetString()!, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(13, cohorts.Count);
        foreach (var (day, sent) in t.Days)
        {
            var cohort = cohorts[day];
            var realized = cohort.GetProperty("realized");
            Assert.Equal(sent.Count, realized.GetProperty("predictions").GetInt64());
            Assert.Equal(sent.Count(s => s.Label is not null), realized.GetProperty("labelled").GetInt64());
            // Unlabelled predictions count as legitimate.
            var confusion = realized.GetProperty("confusion");
            Assert.Equal(sent.Count(s => s.Label == true && s.Decision), confusion.GetProperty("truePositives").GetDouble());
            Assert.Equal(sent.Count(s => s.Label != true && s.Decision), confusion.GetProperty("falsePositives").GetDouble());
            Assert.Equal(sent.Count(s => s.Label == true && !s.Decision), confusion.GetProperty("falseNegatives").GetDouble());
            Assert.Equal(sent.Count(s => s.Label != true && !s.Decision), confusion.GetProperty("trueNegatives").GetDouble());
            var metrics = realized.GetProperty("metrics");
            Assert.Equal(PerformanceMetric.All, metrics.EnumerateObject().Select(m => m.Name).ToList());
            var fraud = sent.Count(s => s.Label == true);
            Assert.True(fraud > 0, $"{day}: no fraud labelled"); // 15 of the 600 rows are fraud, 2 of the first 100
            Assert.Equal((double)sent.Count(s => s.Label == true && s.Decision) / fraud, metrics.GetProperty("recall").GetDouble(), 1e-12);
            Assert.Equal((double)sent.Count(s => s.Decision) / sent.Count, metrics.GetProperty("flagRate").GetDouble(), 1e-12);
            // Exact ROC-AUC over the rows; the service's ties are its 1,000 score bins, so close rather than equal.
            Assert.Equal(ExactRocAuc(sent), metrics.GetProperty("rocAuc").GetDouble(), 0.01);
            var money = realized.GetProperty("money");
            Assert.Equal(sent.Where(s => s.Label == true && !s.Decision).Sum(s => s.Amount), money.GetProperty("fraudMissed").GetDouble(), 1e-6);
            // CBPE: expected fraud Σ p and the expected confusion matrix, labels or not.
            var estimated = cohort.GetProperty("estimated");
            Assert.Equal(sent.Sum(s => s.Probability), estimated.GetProperty("expectedFraud").GetProperty("value").GetDouble(), 1e-6);
            Assert.Equal(sent.Where(s => s.Decision).Sum(s => s.Probability), estimated.GetProperty("confusion").GetProperty("truePositives").GetDouble(), 1e-6);
            Assert.Equal(sent.Where(s => !s.Decision).Sum(s => s.Probability * s.Amount), estimated.GetProperty("expectedFraudLoss").GetDouble(), 1e-4);
            var recall = estimated.GetProperty("metrics").GetProperty("recall");
            Assert.Equal(sent.Where(s => s.Decision).Sum(s => s.Probability) / sent.Sum(s => s.Probability), recall.GetProperty("value").GetDouble(), 1e-9);
            Assert.True(recall.GetProperty("lower").GetDouble() <= recall.GetProperty("value").GetDouble());
            Assert.True(recall.GetProperty("upper").GetDouble() >= recall.GetProperty("value").GetDouble());
        }

        // 10 and 9 days ago: past the 7-day window, final, and the estimate's error shown; 3 days ago provisional; today open.
        var mature = cohorts[t.Today.AddDays(-10)];
        Assert.True(mature.GetProperty("mature").GetBoolean());
        Assert.Equal(1, mature.GetProperty("maturity").GetDouble());
        Assert.True(mature.GetProperty("alertable").GetBoolean());
        var error = mature.GetProperty("estimateError").GetProperty("recall").GetDouble();
        Assert.Equal(Math.Abs(mature.GetProperty("realized").GetProperty("metrics").GetProperty("recall").GetDouble()
            - mature.GetProperty("estimated").GetProperty("metrics").GetProperty("recall").GetProperty("value").GetDouble()), error, 1e-12);
        var provisional = cohorts[t.Today.AddDays(-3)];
        Assert.False(provisional.GetProperty("mature").GetBoolean());
        Assert.InRange(provisional.GetProperty("maturity").GetDouble(), 0, 0.999_999);
        Assert.Equal(JsonValueKind.Null, provisional.GetProperty("estimateError").GetProperty("recall").ValueKind);
        var open = cohorts[t.Today];
        Assert.True(open.GetProperty("open").GetBoolean());
        Assert.False(cohorts[t.Today.AddDays(-4)].GetProperty("open").GetBoolean());
        Assert.Equal(0, cohorts[t.Today.AddDays(-4)].GetProperty("realized").GetProperty("predictions").GetInt64());
        // The whole range as one cohort, and the arrival curve learned from the delays: a cohort 3 days old has not all its fraud labels yet.
        Assert.Equal(t.Days.Values.Sum(d => d.Count), report.GetProperty("range").GetProperty("realized").GetProperty("predictions").GetInt64());
        var arrival = report.GetProperty("arrival");
        Assert.Equal(LabelWindowDays + 1, arrival.GetProperty("share").GetArrayLength());
        Assert.True(arrival.GetProperty("labels").GetInt64() > 0);
        Assert.Equal(PerformanceMetric.All, report.GetProperty("reference").EnumerateArray().Select(r => r.GetProperty("metric").GetString()!).ToList());
        Assert.True(report.GetProperty("calibration").TryGetProperty("drifted", out _));
    }

    /// <summary>ROC-AUC as scikit-learn's roc_auc_score: the probability a fraud scores above a legitimate one, ties counting half.</summary>
    private static double ExactRocAuc(List<Logged> sent)
    {
        var fraud = sent.Where(s => s.Label == true).Select(s => s.Probability).ToList();
        var legit = sent.Where(s => s.Label != true).Select(s => s.Probability).ToList();
        double wins = 0;
        foreach (var f in fraud)
            foreach (var l in legit)
                wins += f > l ? 1 : f == l ? 0.5 : 0;
        return wins / fraud.Count / legit.Count;
    }

    [Fact]
    public async Task GetPerformance_NoQuery_LastThirtyDaysInWeeks()
    {
        var t = await TrafficAsync();
        using var client = Client();

        var report = await Json(await client.GetAsync($"/api/v1/monitoring/models/{Model}/performance"));

        Assert.Equal("week", report.GetProperty("cohort").GetString());
        Assert.Equal(Day(CohortSize.Start(CohortSize.Week, t.Today.AddDays(-29))), report.GetProperty("from").GetString());
        Assert.Equal(Day(CohortSize.Start(CohortSize.Week, t.Today).AddDays(6)), report.GetProperty("to").GetString());
        var cohorts = report.GetProperty("cohorts").EnumerateArray().ToList();
        Assert.True(cohorts[^1].GetProperty("open").GetBoolean());
        Assert.Equal(t.Days.Values.Sum(d => d.Count), cohorts.Sum(c => c.GetProperty("realized").GetProperty("predictions").GetInt64()));
    }

    [Theory]
    [InlineData("cohort=hour", "cohort", "day, week, month")]
    [InlineData("from=yesterday", "from", "yyyy-MM-dd")]
    [InlineData("to=2026-13-01", "to", "yyyy-MM-dd")]
    [InlineData("from=2026-03-01T00:00:00Z", "from", "yyyy-MM-dd")]
    [InlineData("from=1900-01-01", "from", "between 1970 and 2100")]
    [InlineData("to=2200-01-01", "to", "between 1970 and 2100")]
    [InlineData("from=2026-03-02&to=2026-03-01", "from", "must not be after to")]
    [InlineData("from=2024-01-01&to=2026-03-12", "from", "801 days")]
    public async Task GetPerformance_BadQuery_400NamingParameter(string query, string field, string message)
    {
        using var client = Client();

        var response = await client.GetAsync($"/api/v1/monitoring/models/{Model}/performance?{query}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await Json(response);
        Assert.Equal(field, problem.GetProperty("field").GetString());
        Assert.Contains(message, problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task GetPerformance_RangeOfExactlyMaxDays_AcceptedOneMoreRefused()
    {
        using var client = Client();
        var from = new DateOnly(2025, 1, 1);

        // An unknown model answers after the range is checked: 404 means the range passed.
        var atLimit = await client.GetAsync($"/api/v1/monitoring/models/no-such-model/performance?from={Day(from)}&to={Day(from.AddDays(PerformanceService.MaxRangeDays))}");
        var overLimit = await client.GetAsync($"/api/v1/monitoring/models/no-such-model/performance?from={Day(from)}&to={Day(from.AddDays(PerformanceService.MaxRangeDays + 1))}");

        Assert.Equal(HttpStatusCode.NotFound, atLimit.StatusCode);
        Assert.Equal("name", (await Json(atLimit)).GetProperty("field").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, overLimit.StatusCode);
    }

    [Fact]
    public async Task GetPerformance_DatabaseStalled_503WithRetryAfter()
    {
        await TrafficAsync();
        using var client = Client();
        // A stall rather than an outage: the day counts are locked, so the report's read waits until the request's timeout.
        await using var connection = new NpgsqlConnection(fixture.App.ConnectionString);
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await connection.ExecuteAsync("LOCK TABLE performance_counts IN ACCESS EXCLUSIVE MODE", transaction: transaction);

        var response = await client.GetAsync($"/api/v1/monitoring/models/{Model}/performance");
        await transaction.RollbackAsync();

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.NotNull(response.Headers.RetryAfter);
        Assert.Equal(503, (await Json(response)).GetProperty("status").GetInt32());
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/api/v1/monitoring/models/{Model}/performance")).StatusCode);
    }

    [Theory]
    [InlineData("performance")]
    [InlineData("performance/config")]
    public async Task Get_UnknownModel_404NamingName(string path)
    {
        using var client = Client();

        var response = await client.GetAsync($"/api/v1/monitoring/models/no-such-model/{path}");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        var problem = await Json(response);
        Assert.Equal("name", problem.GetProperty("field").GetString());
        Assert.Contains("no-such-model", problem.GetProperty("detail").GetString());
    }

    /// <summary>A registered model without versions: enough for its settings, and its report is empty rather than an error.</summary>
    private async Task<string> EmptyModelAsync(string name)
    {
        var registry = fixture.App.Get<RegistryStore>();
        await using var connection = await registry.OpenAsync(default);
        await using var transaction = await connection.BeginTransactionAsync();
        await registry.EnsureModelAsync(transaction, name, "test", default);
        await transaction.CommitAsync();
        return name;
    }

    [Fact]
    public async Task PutConfig_RoundTrip_SavedAuditedAndInTheReport()
    {
        var model = await EmptyModelAsync("cnp-performance-config");
        using var client = Client();

        var initial = await Json(await client.GetAsync($"/api/v1/monitoring/models/{model}/performance/config"));
        var put = await client.PutAsJsonAsync($"/api/v1/monitoring/models/{model}/performance/config", new { labelWindowDays = 30, alertMaturity = 0.9 });

        Assert.Equal(90, initial.GetProperty("labelWindowDays").GetInt32());
        Assert.Equal(0.8, initial.GetProperty("alertMaturity").GetDouble());
        Assert.Equal(["labelWindowDays", "alertMaturity"], initial.EnumerateObject().Select(p => p.Name).ToList());
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        Assert.Equal(30, (await Json(put)).GetProperty("labelWindowDays").GetInt32());
        var saved = await Json(await client.GetAsync($"/api/v1/monitoring/models/{model}/performance/config"));
        Assert.Equal(30, saved.GetProperty("labelWindowDays").GetInt32());
        Assert.Equal(0.9, saved.GetProperty("alertMaturity").GetDouble());
        // What GET answers can be sent back as it is.
        Assert.Equal(HttpStatusCode.OK, (await client.PutAsync($"/api/v1/monitoring/models/{model}/performance/config", JsonContent.Create(saved))).StatusCode);
        await using (var connection = new NpgsqlConnection(fixture.App.ConnectionString))
        {
            var audit = (await connection.QueryAsync<(string Actor, string Summary)>(
                "SELECT actor, summary::text FROM audit_log WHERE action = 'model.performance' AND object_id = @model ORDER BY id", new { model })).ToList();
            Assert.Equal(2, audit.Count);
            Assert.Equal("api-key:test-partner", audit[0].Actor);
            Assert.Contains("30", audit[0].Summary);
        }

        var report = await client.GetAsync($"/api/v1/monitoring/models/{model}/performance?cohort=month");
        Assert.True(report.StatusCode == HttpStatusCode.OK, await report.Content.ReadAsStringAsync());
        var body = await Json(report);
        Assert.Equal(30, body.GetProperty("config").GetProperty("labelWindowDays").GetInt32());
        Assert.Equal(0, body.GetProperty("range").GetProperty("realized").GetProperty("predictions").GetInt64());
        Assert.Equal(JsonValueKind.Null, body.GetProperty("amountColumn").ValueKind);
    }

    [Fact]
    public async Task PutConfig_BadSettings_400NamingEachFieldAndNothingSaved()
    {
        var model = await EmptyModelAsync("cnp-performance-bad-config");
        using var client = Client();

        var response = await client.PutAsJsonAsync($"/api/v1/monitoring/models/{model}/performance/config", new { labelWindowDays = 0, alertMaturity = 1.5 });
        var unknownField = await client.PutAsJsonAsync($"/api/v1/monitoring/models/{model}/performance/config", new { labelWindowDays = 30, windowDays = 30 });
        var wrongType = await client.PutAsJsonAsync($"/api/v1/monitoring/models/{model}/performance/config", new { labelWindowDays = "ninety" });
        var unknownModel = await client.PutAsJsonAsync("/api/v1/monitoring/models/no-such-model/performance/config", new { labelWindowDays = 30 });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(["labelWindowDays", "alertMaturity"], (await Json(response)).GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("field").GetString()).ToList());
        Assert.Equal(HttpStatusCode.BadRequest, unknownField.StatusCode);
        Assert.Equal("windowDays", (await Json(unknownField)).GetProperty("field").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, wrongType.StatusCode);
        Assert.Equal("labelWindowDays", (await Json(wrongType)).GetProperty("field").GetString());
        Assert.Equal(HttpStatusCode.NotFound, unknownModel.StatusCode);
        Assert.Equal(90, (await Json(await client.GetAsync($"/api/v1/monitoring/models/{model}/performance/config"))).GetProperty("labelWindowDays").GetInt32());
        await using var connection = new NpgsqlConnection(fixture.App.ConnectionString);
        Assert.Equal(0, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM audit_log WHERE action = 'model.performance' AND object_id = @model", new { model }));
    }

    [Fact]
    public async Task PutConfig_ReadScopeOrNoKey_Refused_ReadingNeedsReadScope()
    {
        var model = await EmptyModelAsync("cnp-performance-scopes");
        var (_, reader) = await fixture.App.Get<ApiKeyStore>().CreateAsync("performance-reader", [Scopes.Read], null, "test");
        var (_, partner) = await fixture.App.Get<ApiKeyStore>().CreateAsync("performance-partner", [Scopes.Predict, Scopes.Feedback], null, "test");
        using var readOnly = Client(reader);
        using var scoringOnly = Client(partner);
        using var anonymous = Client("");
        var body = new { labelWindowDays = 10 };

        Assert.Equal(HttpStatusCode.Forbidden, (await readOnly.PutAsJsonAsync($"/api/v1/monitoring/models/{model}/performance/config", body)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PutAsJsonAsync($"/api/v1/monitoring/models/{model}/performance/config", body)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync($"/api/v1/monitoring/models/{model}/performance")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await scoringOnly.GetAsync($"/api/v1/monitoring/models/{model}/performance")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await readOnly.GetAsync($"/api/v1/monitoring/models/{model}/performance")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await readOnly.GetAsync($"/api/v1/monitoring/models/{model}/performance/config")).StatusCode);
    }

    [Fact]
    public async Task OpenApi_PerformanceOperations_DocumentedWithResponsesAndExample()
    {
        using var client = Client();

        var document = await client.GetFromJsonAsync<JsonElement>("/openapi/v1.json");

        var paths = document.GetProperty("paths");
        var get = paths.GetProperty("/api/v1/monitoring/models/{name}/performance").GetProperty("get");
        Assert.Equal("GetModelPerformance", get.GetProperty("operationId").GetString());
        Assert.Contains("averagePrecision", get.GetProperty("description").GetString());
        foreach (var status in new[] { "200", "400", "404", "503" }) Assert.True(get.GetProperty("responses").TryGetProperty(status, out _), status);
        Assert.Equal(["name", "from", "to", "cohort"], get.GetProperty("parameters").EnumerateArray().Select(p => p.GetProperty("name").GetString()).ToList());
        var config = paths.GetProperty("/api/v1/monitoring/models/{name}/performance/config");
        Assert.True(config.TryGetProperty("get", out _));
        var put = config.GetProperty("put");
        Assert.True(put.GetProperty("responses").TryGetProperty("403", out _));
        Assert.Equal(60, put.GetProperty("requestBody").GetProperty("content").GetProperty("application/json").GetProperty("example").GetProperty("labelWindowDays").GetInt32());
        var schemas = document.GetProperty("components").GetProperty("schemas");
        Assert.True(schemas.GetProperty("CohortPerformance").GetProperty("properties").TryGetProperty("estimateError", out _));
        Assert.False(schemas.GetProperty("Confusion").GetProperty("properties").TryGetProperty("precision", out _));
    }
}
