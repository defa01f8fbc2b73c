using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Dapper;
using FraudWorkbench.Api;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Monitoring;
using FraudWorkbench.Core.Scoring;
using FraudWorkbench.Tests.Scoring;
using Npgsql;

namespace FraudWorkbench.Tests.Api;

/// <summary>
/// The monitoring API over real traffic: a promoted month A model scores 1,000 month A rows (every 40th, so the whole
/// month is sampled) and then the last 3,000 month B rows, after the Polish and Portuguese cohort arrived
/// (data-samples/README.md, "Month B: what drifts"). Everything lands in the hour still open, so every report here is
/// computed on demand.
/// </summary>
[Trait("Category", "Database")]
public sealed class MonitoringApiTests(ScoringFixture fixture) : IClassFixture<ScoringFixture>
{
    private const string Model = "cnp-monitoring";
    private const int MonthARows = 1_000;
    private const int MonthBRows = 3_000;

    // Scored once for the class: four thousand predictions are worth sharing between the tests that read them.
    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static Traffic? traffic;

    private sealed record Traffic(DateTime From, DateTime To, List<string?[]> MonthB, JsonElement DriftBeforeMonthB);

    private HttpClient Client(string? key = null) => fixture.Client(key);

    private static async Task<JsonElement> Json(HttpResponseMessage response) => await response.Content.ReadFromJsonAsync<JsonElement>();

    private static string Iso(DateTime at) => at.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);

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
        await fixture.RegisterAndPromoteAsync(Model, fixture.StrongRun);
        var from = WindowSize.Start(WindowSize.Day, DateTime.UtcNow) - TimeSpan.FromDays(1);
        using var client = Client();
        await ScoreRowsAsync(client, [.. Enumerable.Range(0, MonthARows).Select(i => fixture.Rows[i * 40])]);
        await fixture.App.Get<PredictionLog>().FlushAsync();
        var before = await Json(await client.GetAsync($"/api/v1/monitoring/models/{Model}/drift?from={Iso(from)}&to={Iso(from + TimeSpan.FromDays(3))}&window=week"));

        List<string?[]> monthB;
        await using (var file = File.OpenRead(Path.Combine(AppContext.BaseDirectory, "samples", "transactions-month-b.csv"))) monthB = DatasetRows.Read(file, fixture.Schema);
        monthB = monthB[^MonthBRows..];
        await ScoreRowsAsync(client, monthB);
        await fixture.App.Get<PredictionLog>().FlushAsync();
        return new Traffic(from, from + TimeSpan.FromDays(3), monthB, before);
    }

    private async Task ScoreRowsAsync(HttpClient client, IReadOnlyList<string?[]> rows)
    {
        foreach (var chunk in rows.Chunk(500))
        {
            var transactions = chunk.Select(r => ScoringFixture.Transaction(fixture.Schema, r)).ToList();
            var response = await client.PostAsJsonAsync("/api/v1/predict/batch", new { model = Model, explain = false, transactions });
            Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        }
    }

    /// <summary>The single window holding all the traffic (a week, unless the test crossed Monday 00:00 UTC).</summary>
    private static JsonElement Busiest(JsonElement report) =>
        report.GetProperty("windows").EnumerateArray().MaxBy(w => w.GetProperty("predictions").GetInt64());

    private static Dictionary<string, JsonElement> ColumnsOf(JsonElement window) =>
        window.GetProperty("columns").EnumerateArray().ToDictionary(c => c.GetProperty("column").GetString()!);

    [Fact]
    public async Task GetDrift_MonthAThenMonthB_SameAsServiceFlagsShiftedInputsOnly()
    {
        var t = await TrafficAsync();
        using var client = Client();

        var response = await client.GetAsync($"/api/v1/monitoring/models/{Model}/drift?from={Iso(t.From)}&to={Iso(t.To)}&window=week");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync();
        var expected = await fixture.App.Get<MonitoringService>().DriftAsync(Model, MonitoringRange.Covering(t.From, t.To, WindowSize.Week));
        var actual = JsonSerializer.Deserialize<DriftReport>(body, DatasetSchema.Json)!;
        // Every number, method and verdict the service computes, through HTTP and JSON unchanged (doubles round-trip exactly).
        Assert.Equal(JsonSerializer.Serialize(expected, DatasetSchema.Json), JsonSerializer.Serialize(actual, DatasetSchema.Json));
        // Inputs is a repeat of the columns and Severity may be infinite: neither is sent.
        Assert.DoesNotContain("\"inputs\"", body);
        Assert.DoesNotContain("\"severity\"", body);

        var window = Busiest(JsonDocument.Parse(body).RootElement);
        Assert.Equal(MonthARows + MonthBRows, window.GetProperty("predictions").GetInt64());
        var columns = ColumnsOf(window);
        // The reference is the training rows (over 1,000): Evidently's large-reference tests, normed Wasserstein and Jensen-Shannon at 0.1.
        Assert.Equal(DriftMethod.Wasserstein, columns["account_age_days"].GetProperty("method").GetString());
        Assert.Equal(DriftMethod.JensenShannon, columns["home_country"].GetProperty("method").GetString());
        // scipy on the same rows against all of month A (not the training part the model keeps): home_country 0.156,
        // ip_country 0.147, account_age_days 0.125; merchant_category 0.016, payment_method 0.015, shipping_address_new 0.009.
        foreach (var shifted in new[] { "home_country", "ip_country", "account_age_days" })
            Assert.True(columns[shifted].GetProperty("drifted").GetBoolean(), $"{shifted}: {columns[shifted]}");
        foreach (var stable in new[] { "merchant_category", "payment_method", "shipping_address_new" })
            Assert.False(columns[stable].GetProperty("drifted").GetBoolean(), $"{stable}: {columns[stable]}");
        Assert.Equal("input", columns["home_country"].GetProperty("kind").GetString());
        Assert.Equal(":score", window.GetProperty("columns")[0].GetProperty("column").GetString());
        // The unseen Portuguese accounts are counted with the drift row as well.
        Assert.Equal(t.MonthB.Count(r => r[fixture.Schema.IndexOf("home_country")] == "PT"), columns["home_country"].GetProperty("unseen").GetInt64());

        // Month A alone, before month B was sent: no input drifted.
        var before = ColumnsOf(Busiest(t.DriftBeforeMonthB));
        Assert.Equal(MonthARows, Busiest(t.DriftBeforeMonthB).GetProperty("predictions").GetInt64());
        Assert.All(before.Values.Where(c => c.GetProperty("kind").GetString() == "input"),
            c => Assert.False(c.GetProperty("drifted").GetBoolean(), c.ToString()));
    }

    [Fact]
    public async Task GetDrift_HourWindows_OpenHourComputedNow()
    {
        await TrafficAsync();
        using var client = Client();
        var hour = WindowSize.Start(WindowSize.Hour, DateTime.UtcNow);

        // No 'to': up to now, so the last window is the hour still open.
        var report = await Json(await client.GetAsync($"/api/v1/monitoring/models/{Model}/drift?from={Iso(hour - TimeSpan.FromHours(3))}&window=hour"));

        var windows = report.GetProperty("windows").EnumerateArray().ToList();
        Assert.Equal(4, windows.Count);
        var open = windows[^1];
        Assert.Equal(hour, open.GetProperty("start").GetDateTime().ToUniversalTime());
        Assert.False(open.GetProperty("stored").GetBoolean());
        Assert.Equal(JsonValueKind.Null, open.GetProperty("computedAt").ValueKind);
        // Scored in the last minutes: all in the open hour, unless the test started just before it.
        Assert.Equal(MonthARows + MonthBRows, windows.Sum(w => w.GetProperty("predictions").GetInt64()));
        Assert.True(open.GetProperty("predictions").GetInt64() > 0);
        Assert.Equal("hour", report.GetProperty("range").GetProperty("window").GetString());
    }

    [Fact]
    public async Task GetQuality_UnseenValuesAndRefusedTransaction_CountedWithField()
    {
        var t = await TrafficAsync();
        using var client = Client();
        var bad = fixture.Transaction(5);
        bad["amount"] = "twelve euros";
        var refused = await client.PostAsJsonAsync("/api/v1/predict", new { model = Model, transaction = bad });
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Equal("transaction.amount", (await Json(refused)).GetProperty("field").GetString());

        var response = await client.GetAsync($"/api/v1/monitoring/models/{Model}/quality?from={Iso(t.From)}&to={Iso(t.To)}&window=week");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var window = Busiest(await Json(response));
        Assert.Equal(MonthARows + MonthBRows, window.GetProperty("predictions").GetInt64());
        Assert.Equal(1, window.GetProperty("refused").GetInt64());
        var fields = window.GetProperty("refusedFields").EnumerateArray().ToList();
        Assert.Equal("amount", Assert.Single(fields).GetProperty("value").GetString());
        var columns = ColumnsOf(window);
        var home = columns["home_country"];
        var portugal = t.MonthB.Count(r => r[fixture.Schema.IndexOf("home_country")] == "PT");
        Assert.True(portugal > 100, $"{portugal} Portuguese rows"); // the cohort of the last three weeks
        Assert.Equal(portugal, home.GetProperty("unseen").GetInt64());
        var unseen = home.GetProperty("unseenValues").EnumerateArray().ToDictionary(v => v.GetProperty("value").GetString()!, v => v.GetProperty("count").GetInt64());
        Assert.Equal(portugal, unseen["PT"]);
        Assert.True(home.GetProperty("hasProblem").GetBoolean());
        Assert.Equal(0, columns["merchant_category"].GetProperty("unseen").GetInt64());
        Assert.True(window.GetProperty("problems").GetInt32() >= 2); // home_country and the refusal at least
    }

    [Fact]
    public async Task GetDistribution_HomeCountry_UnseenPortugalLastAndCountsSum()
    {
        var t = await TrafficAsync();
        using var client = Client();

        var response = await client.GetAsync($"/api/v1/monitoring/models/{Model}/columns/home_country/distribution?from={Iso(t.From)}&to={Iso(t.To)}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var distribution = (await response.Content.ReadFromJsonAsync<ColumnDistribution>(DatasetSchema.Json))!;
        Assert.Equal(MonthARows + MonthBRows, distribution.CurrentTotal); // home_country is never missing in the samples
        Assert.Equal("PT", distribution.Labels[^1]);
        Assert.True(distribution.IsUnseen[^1]);
        Assert.Equal(0, distribution.Reference[^1]);
        var column = fixture.Schema.IndexOf("home_country");
        var sent = Enumerable.Range(0, MonthARows).Select(i => fixture.Rows[i * 40][column]).Concat(t.MonthB.Select(r => r[column]));
        Assert.Equal(sent.Count(v => v == "PL"), distribution.Current[distribution.Labels.ToList().IndexOf("PL")]);

        var unknown = await client.GetAsync($"/api/v1/monitoring/models/{Model}/columns/transaction_id/distribution");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        var problem = await Json(unknown);
        Assert.Equal("column", problem.GetProperty("field").GetString());
        Assert.Contains("home_country", problem.GetProperty("detail").GetString());
        var noModel = await client.GetAsync("/api/v1/monitoring/models/no-such-model/columns/amount/distribution");
        Assert.Equal(HttpStatusCode.NotFound, noModel.StatusCode);
        Assert.Equal("name", (await Json(noModel)).GetProperty("field").GetString());
    }

    [Fact]
    public async Task GetHealth_PromotedModelWithTraffic_ListedWithPredictions()
    {
        await TrafficAsync();
        using var client = Client();

        var health = await client.GetFromJsonAsync<List<ModelHealth>>("/api/v1/monitoring/health", DatasetSchema.Json);

        var model = Assert.Single(health!, h => h.Model == Model);
        Assert.Equal(1, model.ProductionVersion);
        Assert.Equal(MonthARows + MonthBRows, model.Predictions24h);
        Assert.True(model.TestedInputs > 0);
        Assert.True(model.QualityProblems >= 1); // the unseen Portuguese accounts
    }

    [Fact]
    public async Task PutConfig_RoundTrip_SavedAuditedAndUsedByDrift()
    {
        const string model = "cnp-monitoring-config";
        await fixture.RegisterAndPromoteAsync(model, fixture.WeakRun);
        using var client = Client();

        var initial = await Json(await client.GetAsync($"/api/v1/monitoring/models/{model}/config"));
        Assert.Equal(DriftMethod.DefaultDriftShare, initial.GetProperty("driftShare").GetDouble());
        var monitored = initial.GetProperty("monitored").EnumerateArray().ToDictionary(c => c.GetProperty("name").GetString()!);
        Assert.Equal("input", monitored["amount"].GetProperty("kind").GetString());
        Assert.Equal(DriftMethod.Wasserstein, monitored["amount"].GetProperty("automaticMethod").GetString());
        Assert.Equal(DriftMethod.JensenShannon, monitored["merchant_category"].GetProperty("automaticMethod").GetString());
        Assert.Equal(0.1, monitored["merchant_category"].GetProperty("defaultThreshold").GetDouble());
        Assert.Equal("protected", monitored["customer_gender"].GetProperty("kind").GetString());
        Assert.True(monitored.ContainsKey(MonitoredColumns.Score));
        Assert.False(monitored.ContainsKey("transaction_id")); // ids, entity keys and the event time are not monitored
        Assert.False(monitored.ContainsKey("customer_id"));

        var put = await client.PutAsJsonAsync($"/api/v1/monitoring/models/{model}/config",
            new { driftShare = 0.3, columns = new Dictionary<string, object?> { ["amount"] = new { method = "psi", threshold = 0.2 }, ["merchant_category"] = new { method = (string?)null, threshold = 0.15 },
                // A p-value threshold just under 1: nearly everything drifts (1 itself is refused: it would call every column drifted).
                ["shipping_address_new"] = new { method = "z", threshold = 0.99 } } });

        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        var saved = await Json(await client.GetAsync($"/api/v1/monitoring/models/{model}/config"));
        Assert.Equal(0.3, saved.GetProperty("driftShare").GetDouble());
        Assert.Equal("psi", saved.GetProperty("columns").GetProperty("amount").GetProperty("method").GetString());
        Assert.Equal(0.15, saved.GetProperty("columns").GetProperty("merchant_category").GetProperty("threshold").GetDouble());
        // What GET answers can be sent back as it is.
        Assert.Equal(HttpStatusCode.OK, (await client.PutAsync($"/api/v1/monitoring/models/{model}/config", JsonContent.Create(saved))).StatusCode);
        await using (var connection = new NpgsqlConnection(fixture.App.ConnectionString))
        {
            var audit = (await connection.QueryAsync<(string Actor, string Summary)>(
                "SELECT actor, summary::text FROM audit_log WHERE action = 'model.monitoring' AND object_id = @model ORDER BY id", new { model })).ToList();
            Assert.Equal(2, audit.Count);
            Assert.Equal("api-key:test-partner", audit[0].Actor);
            Assert.Contains("\"psi\"", audit[0].Summary);
        }

        // The drift report judges this model's traffic with the configuration.
        var transactions = Enumerable.Range(0, 50).Select(i => fixture.Transaction(i * 100)).ToList();
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync("/api/v1/predict/batch", new { model, explain = false, transactions })).StatusCode);
        await fixture.App.Get<PredictionLog>().FlushAsync();
        var driftResponse = await client.GetAsync($"/api/v1/monitoring/models/{model}/drift?window=week");
        Assert.True(driftResponse.StatusCode == HttpStatusCode.OK, await driftResponse.Content.ReadAsStringAsync());
        var drift = await Json(driftResponse);
        var window = Busiest(drift);
        Assert.Equal(50, window.GetProperty("predictions").GetInt64());
        Assert.Equal(0.3, window.GetProperty("driftShareThreshold").GetDouble());
        var columns = ColumnsOf(window);
        Assert.Equal("psi", columns["amount"].GetProperty("method").GetString());
        Assert.Equal(0.2, columns["amount"].GetProperty("threshold").GetDouble());
        Assert.Equal(DriftStatus.Tested, columns["amount"].GetProperty("status").GetString());
        Assert.Equal(DriftMethod.JensenShannon, columns["merchant_category"].GetProperty("method").GetString());
        Assert.Equal(0.15, columns["merchant_category"].GetProperty("threshold").GetDouble());
        Assert.Equal(DriftMethod.JensenShannon, columns["payment_method"].GetProperty("method").GetString());
        Assert.Equal(0.1, columns["payment_method"].GetProperty("threshold").GetDouble());
        Assert.Equal(DriftMethod.ProportionZ, columns["shipping_address_new"].GetProperty("method").GetString());
        Assert.True(columns["shipping_address_new"].GetProperty("drifted").GetBoolean());
    }

    [Fact]
    public async Task PutConfig_BadSettings_400NamingEachFieldAndNothingSaved()
    {
        const string model = "cnp-monitoring-bad-config";
        await fixture.RegisterAndPromoteAsync(model, fixture.WeakRun);
        using var client = Client();

        var response = await client.PutAsJsonAsync($"/api/v1/monitoring/models/{model}/config",
            new { driftShare = 1.5, columns = new Dictionary<string, object?> { ["amount"] = new { method = "anova", threshold = (double?)null }, ["home_country"] = new { method = "ks", threshold = (double?)null }, ["no_such_column"] = new { method = (string?)null, threshold = 0.1 }, ["merchant_category"] = new { method = "jensenshannon", threshold = 0 } } });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await Json(response);
        var fields = problem.GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("field").GetString()).ToList();
        Assert.Equal(["driftShare", "columns.amount.method", "columns.home_country.method", "columns.no_such_column", "columns.merchant_category.threshold"], fields);
        var unknownField = await client.PutAsJsonAsync($"/api/v1/monitoring/models/{model}/config", new { driftShare = 0.5, colums = new { } });
        Assert.Equal(HttpStatusCode.BadRequest, unknownField.StatusCode);
        Assert.Equal("colums", (await Json(unknownField)).GetProperty("field").GetString());
        var wrongType = await client.PutAsJsonAsync($"/api/v1/monitoring/models/{model}/config", new { driftShare = "half" });
        Assert.Equal(HttpStatusCode.BadRequest, wrongType.StatusCode);
        Assert.Equal("driftShare", (await Json(wrongType)).GetProperty("field").GetString());
        var unknownModel = await client.PutAsJsonAsync("/api/v1/monitoring/models/no-such-model/config", new { driftShare = 0.5 });
        Assert.Equal(HttpStatusCode.NotFound, unknownModel.StatusCode);
        Assert.Equal(DriftMethod.DefaultDriftShare, (await Json(await client.GetAsync($"/api/v1/monitoring/models/{model}/config"))).GetProperty("driftShare").GetDouble());
        await using var connection = new NpgsqlConnection(fixture.App.ConnectionString);
        Assert.Equal(0, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM audit_log WHERE action = 'model.monitoring' AND object_id = @model", new { model }));
    }

    [Fact]
    public async Task PutConfig_ReadScopeOrNoKey_Refused()
    {
        var (_, reader) = await fixture.App.Get<ApiKeyStore>().CreateAsync("monitoring-reader", [Scopes.Read], null, "test");
        using var readOnly = Client(reader);
        using var anonymous = Client("");
        var body = new { driftShare = 0.4 };

        Assert.Equal(HttpStatusCode.Forbidden, (await readOnly.PutAsJsonAsync($"/api/v1/monitoring/models/{Model}/config", body)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PutAsJsonAsync($"/api/v1/monitoring/models/{Model}/config", body)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync($"/api/v1/monitoring/models/{Model}/drift")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/v1/monitoring/health")).StatusCode);
        // Reading needs the read scope only.
        Assert.Equal(HttpStatusCode.OK, (await readOnly.GetAsync("/api/v1/monitoring/health")).StatusCode);
    }

    [Theory]
    [InlineData("window=minute", "window", "hour, day, week")]
    [InlineData("from=yesterday", "from", "ISO 8601")]
    [InlineData("to=2026-13-01T00:00:00Z", "to", "ISO 8601")]
    [InlineData("from=1900-01-01T00:00:00Z", "from", "between 1970 and 2100")]
    [InlineData("from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z", "from", "must be before to")]
    [InlineData("from=2026-03-01T00:00:00Z&to=2026-03-01T00:00:00Z", "from", "must be before to")]
    // 2026-01-01 to 2026-12-01 is 334 days: 8,016 hour windows.
    [InlineData("from=2026-01-01T00:00:00Z&to=2026-12-01T00:00:00Z&window=hour", "window", "8,016 hour windows")]
    public async Task GetDriftAndQuality_BadQuery_400NamingField(string query, string field, string message)
    {
        using var client = Client();
        foreach (var report in new[] { "drift", "quality" })
        {
            var response = await client.GetAsync($"/api/v1/monitoring/models/{Model}/{report}?{query}");

            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            var problem = await Json(response);
            Assert.Equal(field, problem.GetProperty("field").GetString());
            Assert.Contains(message, problem.GetProperty("detail").GetString());
        }
    }

    [Fact]
    public async Task GetDrift_RangeOfExactlyMaxWindows_Accepted()
    {
        using var client = Client();
        // 2,000 hours from a whole hour: the limit itself is allowed (an unknown model answers after the range is checked).
        var from = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);

        var atLimit = await client.GetAsync($"/api/v1/monitoring/models/no-such-model/drift?from={Iso(from)}&to={Iso(from.AddHours(MonitoringApi.MaxWindows))}&window=hour");
        var overLimit = await client.GetAsync($"/api/v1/monitoring/models/no-such-model/drift?from={Iso(from)}&to={Iso(from.AddHours(MonitoringApi.MaxWindows).AddMinutes(1))}&window=hour");

        Assert.Equal(HttpStatusCode.NotFound, atLimit.StatusCode);
        Assert.Equal("name", (await Json(atLimit)).GetProperty("field").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, overLimit.StatusCode);
        Assert.Contains("2,001 hour windows", (await Json(overLimit)).GetProperty("detail").GetString());
    }

    [Theory]
    [InlineData("drift")]
    [InlineData("quality")]
    [InlineData("config")]
    public async Task Get_UnknownModel_404NamingName(string report)
    {
        using var client = Client();

        var response = await client.GetAsync($"/api/v1/monitoring/models/no-such-model/{report}");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        var problem = await Json(response);
        Assert.Equal("name", problem.GetProperty("field").GetString());
        Assert.Contains("no-such-model", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task OpenApi_MonitoringOperations_DocumentedWithResponsesAndExample()
    {
        using var client = Client();

        var document = await client.GetFromJsonAsync<JsonElement>("/openapi/v1.json");

        var paths = document.GetProperty("paths");
        var drift = paths.GetProperty("/api/v1/monitoring/models/{name}/drift").GetProperty("get");
        Assert.Equal("GetModelDrift", drift.GetProperty("operationId").GetString());
        Assert.Contains("2,000 windows", drift.GetProperty("description").GetString());
        foreach (var status in new[] { "200", "400", "404", "503" }) Assert.True(drift.GetProperty("responses").TryGetProperty(status, out _), status);
        var parameters = drift.GetProperty("parameters").EnumerateArray().Select(p => p.GetProperty("name").GetString()).ToList();
        Assert.Equal(["name", "from", "to", "window"], parameters);
        Assert.True(paths.GetProperty("/api/v1/monitoring/models/{name}/quality").GetProperty("get").GetProperty("responses").TryGetProperty("200", out _));
        Assert.True(paths.GetProperty("/api/v1/monitoring/models/{name}/columns/{column}/distribution").TryGetProperty("get", out _));
        Assert.True(paths.GetProperty("/api/v1/monitoring/health").TryGetProperty("get", out _));
        var config = paths.GetProperty("/api/v1/monitoring/models/{name}/config");
        Assert.True(config.TryGetProperty("get", out _));
        var put = config.GetProperty("put");
        Assert.True(put.GetProperty("responses").TryGetProperty("403", out _));
        var example = put.GetProperty("requestBody").GetProperty("content").GetProperty("application/json").GetProperty("example");
        Assert.Equal("psi", example.GetProperty("columns").GetProperty("amount").GetProperty("method").GetString());
        // The drift report's schema carries the columns but not the repeated inputs.
        var schemas = document.GetProperty("components").GetProperty("schemas");
        Assert.True(schemas.GetProperty("DriftWindow").GetProperty("properties").TryGetProperty("columns", out _));
        Assert.False(schemas.GetProperty("DriftWindow").GetProperty("properties").TryGetProperty("inputs", out _));
    }
}
