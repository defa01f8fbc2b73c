using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Dapper;
using FraudWorkbench.Api;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Features;
using FraudWorkbench.Core.Scoring;
using FraudWorkbench.Tests.Infrastructure;
using FraudWorkbench.Tests.Scoring;
using Npgsql;

namespace FraudWorkbench.Tests.Api;

[Trait("Category", "Database")]
public sealed class ScoringApiTests(ScoringFixture fixture) : IClassFixture<ScoringFixture>, IAsyncLifetime
{
    private const string Model = "cnp-scoring";

    public async Task InitializeAsync()
    {
        if (fixture.App.Get<ModelServer>().Current(Model) is null && await fixture.App.Get<FraudWorkbench.Core.Registry.RegistryStore>().GetProductionAsync(Model) is null)
            await fixture.RegisterAndPromoteAsync(Model, fixture.StrongRun);
    }

    public Task DisposeAsync() => Task.CompletedTask;

    private HttpClient Client(string? key = null) => fixture.Client(key);

    private static async Task<JsonElement> Json(HttpResponseMessage response) => await response.Content.ReadFromJsonAsync<JsonElement>();

    [Fact]
    public async Task Predict_Transaction_ProbabilityDecisionVersionAndLoggedWithFeatures()
    {
        using var client = Client();
        var transaction = fixture.Transaction(321);

        var response = await client.PostAsJsonAsync("/api/v1/predict", new { model = Model, transaction });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var prediction = (await response.Content.ReadFromJsonAsync<PredictionResponse>(DatasetSchema.Json))!;
        Assert.InRange(prediction.Probability, 0, 1);
        Assert.Equal(prediction.Probability >= prediction.Threshold ? "fraud" : "legitimate", prediction.Decision);
        Assert.Equal(Model, prediction.Model);
        Assert.Equal(1, prediction.Version);
        Assert.True(prediction.LatencyMs > 0);
        await fixture.App.Get<PredictionLog>().FlushAsync();
        var logged = await fixture.App.Get<PredictionStore>().GetAsync(prediction.PredictionId!.Value);
        Assert.NotNull(logged);
        Assert.Equal(prediction.Probability, logged.Probability, 12);
        Assert.Equal("api-key:test-partner", logged.Actor);
        Assert.Equal(fixture.App.Get<ModelServer>().Current(Model)!.Features.SlotCount, logged.Features.Length);
        Assert.Equal((string)transaction["customer_id"]!, JsonDocument.Parse(logged.Input).RootElement.GetProperty("customer_id").GetString());
    }

    [Fact]
    public async Task Predict_SameTransactionAsOfflineScoring_SameProbability()
    {
        // A customer never seen online: its velocity features are zero both ways, so the API must match batch scoring of the same row alone.
        var model = fixture.App.Get<ModelServer>().Current(Model)!;
        var transaction = fixture.Transaction(7);
        transaction["customer_id"] = "c_fresh_" + Guid.NewGuid().ToString("N")[..8];
        var row = fixture.Schema.Columns.Select(c => transaction.TryGetValue(c.Name, out var v) && v is not null ? Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture)!.Replace("False", "false").Replace("True", "true") : null).ToArray();
        var offline = FraudWorkbench.Core.Features.BatchFeaturizer.Run(model.Features, [row]);
        var expected = new double[1];
        model.Probabilities(offline, 1, expected);
        using var client = Client();

        var prediction = (await (await client.PostAsJsonAsync("/api/v1/predict", new { model = Model, transaction })).Content.ReadFromJsonAsync<PredictionResponse>(DatasetSchema.Json))!;

        Assert.Equal(expected[0], prediction.Probability, 6);
    }

    [Fact]
    public async Task PredictBatch_Transactions_OnePredictionEachInOrder_VelocitySeesEarlierOnes()
    {
        using var client = Client();
        var customer = "c_batch_" + Guid.NewGuid().ToString("N")[..8];
        var transactions = Enumerable.Range(0, 5).Select(i =>
        {
            var t = fixture.Transaction(1000 + i);
            t["customer_id"] = customer;
            t["event_time"] = $"2026-02-01T10:0{i}:00Z";
            return t;
        }).ToList();

        var response = await client.PostAsJsonAsync("/api/v1/predict/batch", new { model = Model, transactions });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var batch = (await response.Content.ReadFromJsonAsync<BatchPredictionResponse>(DatasetSchema.Json))!;
        Assert.Equal(5, batch.Predictions.Count);
        Assert.Equal(5, batch.Predictions.Select(p => p.PredictionId).Distinct().Count());
        await fixture.App.Get<PredictionLog>().FlushAsync();
        var store = fixture.App.Get<PredictionStore>();
        var model = fixture.App.Get<ModelServer>().Current(Model)!;
        var count1h = model.Features.SlotNames.ToList().FindIndex(n => n.Contains("count") && n.Contains("1h"));
        Assert.True(count1h >= 0, string.Join(", ", model.Features.SlotNames));
        var counts = new List<float>();
        foreach (var p in batch.Predictions) counts.Add((await store.GetAsync(p.PredictionId!.Value))!.Features[count1h]);
        Assert.Equal([0f, 1f, 2f, 3f, 4f], counts); // each transaction sees the earlier ones of the same batch
    }

    [Fact]
    public async Task Predict_Reasons_TopColumnsOfTheExactExplanation_Logged()
    {
        using var client = Client();
        var transaction = fixture.Transaction(555);
        transaction["customer_id"] = "c_explain_" + Guid.NewGuid().ToString("N")[..8];

        var explainResponse = await client.PostAsJsonAsync("/api/v1/models/cnp-scoring/versions/1/explain", new { transaction });
        var predicted = await client.PostAsJsonAsync("/api/v1/predict", new { model = Model, transaction });
        var fewer = await client.PostAsJsonAsync("/api/v1/predict", new { model = Model, transaction, reasons = 2 });
        var none = await client.PostAsJsonAsync("/api/v1/predict", new { model = Model, transaction, explain = false });

        Assert.Equal(HttpStatusCode.OK, explainResponse.StatusCode);
        var explanation = (await explainResponse.Content.ReadFromJsonAsync<FraudWorkbench.Core.Explain.TransactionExplanation>(DatasetSchema.Json))!;
        // Local accuracy in every view, and the probability is the served one of that raw score.
        Assert.Equal(explanation.RawScore, explanation.BaseValue + explanation.Columns.Sum(c => c.Value), 1e-9);
        Assert.Equal(explanation.RawScore, explanation.BaseValue + explanation.Features.Sum(c => c.Value), 1e-9);
        Assert.Equal(explanation.RawScore, explanation.BaseValue + explanation.Inputs.Sum(c => c.Value), 1e-9);
        var model = fixture.App.Get<ModelServer>().Current(Model)!;
        Assert.Equal(model.Recalibration!.Probability(explanation.RawScore), explanation.Probability, 6);
        Assert.Contains(explanation.Columns, c => c.Name == "merchant_category"); // a one-hot group is one column
        Assert.DoesNotContain(explanation.Columns, c => c.Name.StartsWith("merchant_category=", StringComparison.Ordinal));

        var prediction = (await predicted.Content.ReadFromJsonAsync<PredictionResponse>(DatasetSchema.Json))!;
        Assert.Equal(explanation.Probability, prediction.Probability, 6);
        var expectedTop = explanation.Columns.OrderByDescending(c => Math.Abs(c.Value)).Take(5).ToList();
        Assert.Equal(expectedTop.Select(c => c.Name), prediction.Reasons!.Select(r => r.Column));
        Assert.Equal(expectedTop.Select(c => Math.Round(c.Value, 6)), prediction.Reasons!.Select(r => r.Contribution));
        Assert.Equal(2, (await fewer.Content.ReadFromJsonAsync<PredictionResponse>(DatasetSchema.Json))!.Reasons!.Count);
        Assert.Null((await none.Content.ReadFromJsonAsync<PredictionResponse>(DatasetSchema.Json))!.Reasons);
        await fixture.App.Get<PredictionLog>().FlushAsync();
        var logged = (await fixture.App.Get<PredictionStore>().GetAsync(prediction.PredictionId!.Value))!;
        Assert.Contains(expectedTop[0].Name, logged.Reasons);
    }

    [Fact]
    public async Task Explain_BadTransactionOrUnknownVersion_ProblemNamingTheField()
    {
        using var client = Client();
        var bad = fixture.Transaction(1);
        bad["amount"] = "a lot";

        var invalid = await client.PostAsJsonAsync("/api/v1/models/cnp-scoring/versions/1/explain", new { transaction = bad });
        var unknown = await client.PostAsJsonAsync("/api/v1/models/cnp-scoring/versions/42/explain", new { transaction = fixture.Transaction(1) });
        var envelope = await client.PostAsJsonAsync("/api/v1/models/cnp-scoring/versions/1/explain", new { model = Model, transaction = fixture.Transaction(1) });

        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        Assert.Equal("transaction.amount", (await Json(invalid)).GetProperty("field").GetString());
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, envelope.StatusCode);
        Assert.Equal("model", (await Json(envelope)).GetProperty("field").GetString());
    }

    public static TheoryData<string, string, int> BadBodies => new()
    {
        { """{"model":"cnp-scoring","transaction":{"event_time":"2026-02-01T10:00:00Z","customer_id":"c1"}}""", "transaction.amount", 400 },
        { """{"model":"cnp-scoring","transaction":{AMOUNT}}""".Replace("AMOUNT", Fields("\"amount\":\"twelve\"")), "transaction.amount", 400 },
        { """{"model":"cnp-scoring","transaction":{AMOUNT}}""".Replace("AMOUNT", Fields("\"amount\":\"NaN\"")), "transaction.amount", 400 },
        { """{"model":"cnp-scoring","transaction":{AMOUNT}}""".Replace("AMOUNT", Fields("\"amount\":1e400")), "transaction.amount", 400 },
        { """{"model":"cnp-scoring","transaction":{AMOUNT}}""".Replace("AMOUNT", Fields("\"event_time\":\"0001-01-01T00:00:00Z\"")), "transaction.event_time", 400 },
        { """{"model":"cnp-scoring","transaction":{AMOUNT}}""".Replace("AMOUNT", Fields("\"event_time\":\"2999-01-01T00:00:00Z\"")), "transaction.event_time", 400 },
        { """{"model":"cnp-scoring","transaction":{AMOUNT}}""".Replace("AMOUNT", Fields("\"merchant_category\":\"" + new string('x', 1_048_576) + "\"")), "transaction.merchant_category", 400 },
        { """{"model":"cnp-scoring","transaction":{AMOUNT}}""".Replace("AMOUNT", Fields("\"transaction_id\":\"" + new string('x', 1_025) + "\"")), "transaction.transaction_id", 400 },
        { """{"model":"cnp-scoring","transaction":{AMOUNT}}""".Replace("AMOUNT", Fields("\"shipping_address_new\":2")), "transaction.shipping_address_new", 400 },
        { """{"model":"cnp-scoring","transaction":{AMOUNT}}""".Replace("AMOUNT", Fields("\"favourite_colour\":\"blue\"")), "transaction.favourite_colour", 400 },
        { """{"model":"cnp-scoring","transaction":{AMOUNT}}""".Replace("AMOUNT", Fields("\"customer_id\":null")), "transaction.customer_id", 400 },
        { """{"model":"cnp-scoring","transaction":{AMOUNT}}""".Replace("AMOUNT", Fields("\"event_time\":\"yesterday\"")), "transaction.event_time", 400 },
        { """{"model":"cnp-scoring","transaction":{AMOUNT}}""".Replace("AMOUNT", Fields("\"shipping_address_new\":\"maybe\"")), "transaction.shipping_address_new", 400 },
        { """{"model":"cnp-scoring","transaction":{"amount": 12,}""", "body", 400 },
        { """{"model":"cnp-scoring","transaction":[1,2]}""", "transaction", 400 },
        { """{"model":"cnp-scoring","transaction":{}, "debug":true}""", "debug", 400 },
        { """{"model":"no-such-model","transaction":{}}""", "model", 404 },
        { """{"model":"cnp-scoring","version":99,"transaction":{}}""", "version", 404 },
        { """[]""", "body", 400 },
        { """{"model":"cnp-scoring","transaction":{"transaction_id":"\ud800"}}""", "transaction.transaction_id", 400 },
        { """{"model":"cnp-scoring","transaction":{AMOUNT}}""".Replace("AMOUNT", Fields("\"merchant_category\":\"health\\u0000\"")), "transaction.merchant_category", 400 },
        { "", "body", 400 },
    };

    /// <summary>A valid sample transaction as JSON members, with <paramref name="change"/> replacing (or adding) one member.</summary>
    private static string Fields(string change)
    {
        var valid = new Dictionary<string, string>
        {
            ["transaction_id"] = "\"tx_1\"", ["event_time"] = "\"2026-01-01T00:01:22Z\"", ["customer_id"] = "\"c_146399\"", ["amount"] = "50.04",
            ["merchant_category"] = "\"health\"", ["payment_method"] = "\"wallet\"", ["device_type"] = "\"desktop\"", ["ip_country"] = "\"US\"",
            ["home_country"] = "\"US\"", ["shipping_address_new"] = "false", ["account_age_days"] = "100", ["customer_age"] = "54",
            ["customer_gender"] = "\"F\"", ["email_domain"] = "\"icloud.com\"",
        };
        var name = change[1..change.IndexOf('"', 1)];
        valid[name] = change[(change.IndexOf(':') + 1)..];
        return string.Join(",", valid.Select(kv => $"\"{kv.Key}\":{kv.Value}"));
    }

    [Theory]
    [MemberData(nameof(BadBodies))]
    public async Task Predict_BadInput_ProblemNamingTheField_Never5xx(string body, string field, int status)
    {
        using var client = Client();
        var before = await CountPredictionsAsync();

        var response = await client.PostAsync("/api/v1/predict", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        var problem = await Json(response);
        var fields = problem.TryGetProperty("errors", out var errors) ? errors.EnumerateArray().Select(e => e.GetProperty("field").GetString()).ToList() : [problem.GetProperty("field").GetString()];
        Assert.Contains(field, fields);
        Assert.Equal(before, await CountPredictionsAsync()); // nothing logged for a refused request
    }

    [Fact]
    public async Task Predict_ValidFieldsHelper_Scores()
    {
        using var client = Client();
        var response = await client.PostAsync("/api/v1/predict", new StringContent("{\"model\":\"cnp-scoring\",\"transaction\":{" + Fields("\"amount\":75.5") + "}}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Predict_EntityKeyLongerThanPostgresCanIndex_Scored()
    {
        // The online state keys it by its hash (Featurizer.MaxKeyLength); the write would otherwise fail in PostgreSQL.
        // 1,000 random CJK characters (within TransactionContract.MaxTextLength) are 3,000 bytes of UTF-8, beyond the
        // 2,704 a btree entry holds; random, because PostgreSQL would compress a run of one character into an entry it can index.
        var random = new Random(3);
        var key = string.Concat(Enumerable.Range(0, 1_000).Select(_ => (char)(0x4E00 + random.Next(20_000))));
        using var client = Client();
        var response = await client.PostAsync("/api/v1/predict", new StringContent("{\"model\":\"cnp-scoring\",\"transaction\":{" + Fields($"\"customer_id\":\"{key}\"") + "}}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Predict_OversizedBodyOrBatch_413And400()
    {
        using var client = Client();
        var huge = new string('x', 5 * 1024 * 1024);
        var tooBig = await client.PostAsync("/api/v1/predict", new StringContent("{\"model\":\"cnp-scoring\",\"transaction\":{\"transaction_id\":\"" + huge + "\"}}", Encoding.UTF8, "application/json"));
        var tooMany = await client.PostAsJsonAsync("/api/v1/predict/batch", new { model = Model, transactions = Enumerable.Range(0, 1001).Select(_ => new { }).ToList() });

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooBig.StatusCode);
        Assert.Equal("body", (await Json(tooBig)).GetProperty("field").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, tooMany.StatusCode);
        Assert.Equal("transactions", (await Json(tooMany)).GetProperty("field").GetString());
    }

    /// <summary>Four transactions of one customer and a "poison" one third, whose entity writes PostgreSQL refuses while <see cref="PoisonAsync"/> holds.</summary>
    private List<Dictionary<string, object?>> CustomerWithPoisonThird(string customer, string poison) =>
        [.. new[] { customer, customer, poison, customer }.Select((c, i) =>
        {
            var t = fixture.Transaction(2000 + i);
            t["customer_id"] = c;
            t["event_time"] = $"2026-02-02T10:0{i}:00Z";
            return t;
        })];

    /// <summary>A failure inside PostgreSQL itself, for one entity's writes only, until the returned object is disposed.</summary>
    private async Task<IAsyncDisposable> PoisonAsync(string entity)
    {
        var dataSource = fixture.App.Get<NpgsqlDataSource>();
        var function = "fail_" + entity;
        await using (var create = dataSource.CreateCommand($"""
            CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN IF NEW.entity = '{entity}' THEN RAISE EXCEPTION 'injected fault'; END IF; RETURN NEW; END $$;
            CREATE TRIGGER {function} BEFORE INSERT OR UPDATE ON entity_state FOR EACH ROW EXECUTE FUNCTION {function}();
            """))
        {
            await create.ExecuteNonQueryAsync();
        }

        return new Cleanup(async () =>
        {
            await using var drop = dataSource.CreateCommand($"DROP TRIGGER {function} ON entity_state; DROP FUNCTION {function}();");
            await drop.ExecuteNonQueryAsync();
        });
    }

    private sealed class Cleanup(Func<Task> action) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() => await action();
    }

    /// <summary>The 1 h transaction count each prediction's logged features hold.</summary>
    private async Task<List<float>> HourCountsAsync(IEnumerable<Guid> ids)
    {
        await fixture.App.Get<PredictionLog>().FlushAsync();
        var store = fixture.App.Get<PredictionStore>();
        var count1h = fixture.App.Get<ModelServer>().Current(Model)!.Features.SlotNames.ToList().FindIndex(n => n.Contains("count") && n.Contains("1h"));
        var counts = new List<float>();
        foreach (var id in ids) counts.Add((await store.GetAsync(id))!.Features[count1h]);
        return counts;
    }

    private static async Task<List<Guid>> IdsAsync(HttpResponseMessage response) =>
        [.. (await response.Content.ReadFromJsonAsync<BatchPredictionResponse>(DatasetSchema.Json))!.Predictions.Select(p => p.PredictionId!.Value)];

    /// <summary>How many transactions each of the entity's stored histories holds (none when it has no row yet).</summary>
    private async Task<List<int>> StoredEventsAsync(string entity)
    {
        await using var connection = new NpgsqlConnection(fixture.App.ConnectionString);
        var row = await connection.QuerySingleOrDefaultAsync<byte[]>("SELECT state FROM entity_state WHERE entity = @entity", new { entity });
        return [.. EntityRow.Split(row).Values.Select(history => EntityHistory.FromBytes(history.Span).Times.Count)];
    }

    [Fact]
    public async Task PredictBatch_PostgresRefusesOneEntitysWrites_ScoredAt200_OthersStoredMeanwhile_ItOnceAccepted()
    {
        using var client = Client();
        var customer = "c_behind_" + Guid.NewGuid().ToString("N")[..8];
        var poison = "c_poison_" + Guid.NewGuid().ToString("N")[..8];
        var transactions = CustomerWithPoisonThird(customer, poison);
        HttpResponseMessage first, second;
        await using (await PoisonAsync(poison))
        {
            first = await client.PostAsJsonAsync("/api/v1/predict/batch", new { model = Model, transactions = transactions[..3] });
            await Wait.UntilAsync(() => Task.FromResult(fixture.App.Logs.Any(l => l.Contains("Storing") && l.Contains("failed"))), 15, "the writer reports the refused row");
            second = await client.PostAsJsonAsync("/api/v1/predict/batch", new { model = Model, transactions = transactions[3..] });

            // The refused row waits apart instead of failing every later statement: the customer's transaction scored
            // after the refusal is stored while PostgreSQL still refuses the other.
            await Wait.UntilAsync(async () => await StoredEventsAsync(customer) is [3, 3], 15, "the customer's history is stored while another entity's row is refused");
            Assert.Empty(await StoredEventsAsync(poison));
        }

        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK), (first.StatusCode, second.StatusCode));
        Assert.Equal([0f, 1f, 0f, 2f], await HourCountsAsync([.. await IdsAsync(first), .. await IdsAsync(second)]));
        await fixture.App.Get<EntityStateStore>().FlushAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal([1, 1], await StoredEventsAsync(poison)); // the running mean's and the velocity's history
        Assert.Equal([3, 3], await StoredEventsAsync(customer));
    }

    [Fact]
    public async Task PredictBatch_SynchronousEntityWrites_FeatureStoreFailsPartway_503ListsTheRecordedOnes_ResendingTheRestCountsEachOnce()
    {
        // A second instance on the same database and artifacts, waiting for each entity write before it answers.
        await using var synchronous = new WorkbenchAppFactory(fixture.App.ConnectionString, new Dictionary<string, string?>
        {
            ["FraudWorkbench:DataDirectory"] = fixture.App.DataDirectory,
            ["FraudWorkbench:EntityState:WriteBehind"] = "false",
        });
        synchronous.StartServer();
        using var client = synchronous.CreateHttpClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", fixture.ApiKey);
        var customer = "c_partial_" + Guid.NewGuid().ToString("N")[..8];
        var poison = "c_poison_" + Guid.NewGuid().ToString("N")[..8];
        var transactions = CustomerWithPoisonThird(customer, poison);

        HttpResponseMessage failed;
        await using (await PoisonAsync(poison))
        {
            failed = await client.PostAsJsonAsync("/api/v1/predict/batch", new { model = Model, transactions });
        }

        Assert.Equal(HttpStatusCode.ServiceUnavailable, failed.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(1), failed.Headers.RetryAfter?.Delta);
        var problem = await Json(failed);
        Assert.Contains("transactions[2]", problem.GetProperty("detail").GetString());
        var recorded = problem.GetProperty("recorded").EnumerateArray().Select(p => p.GetProperty("predictionId").GetGuid()).ToList();
        Assert.Equal(2, recorded.Count);

        var resent = await client.PostAsJsonAsync("/api/v1/predict/batch", new { model = Model, transactions = transactions[2..] });

        Assert.Equal(HttpStatusCode.OK, resent.StatusCode);
        await synchronous.Get<PredictionLog>().FlushAsync();
        Assert.Equal([0f, 1f, 0f, 2f], await HourCountsAsync(recorded.Concat(await IdsAsync(resent)))); // the recorded two are in the log, and counted once each
    }

    /// <summary>The sample transaction <paramref name="index"/> with a new customer and a payment method training never saw.</summary>
    private Dictionary<string, object?> WithNewPaymentMethod(int index)
    {
        var transaction = fixture.Transaction(index);
        transaction["customer_id"] = "c_unseen_" + Guid.NewGuid().ToString("N")[..8];
        transaction["payment_method"] = "barter";
        return transaction;
    }

    private static void AssertUnseenPaymentMethod(IReadOnlyList<InputWarning> warnings, string field) =>
        Assert.Equal([new InputWarning(field, "barter", "not seen in training; scored as 'other'")], warnings);

    [Fact]
    public async Task Predict_CategoryTrainingNeverSaw_ScoredAsOtherWithAWarning_LoggedWithIt()
    {
        // payment_method is one-hot, and the training profile counted all of its values: 'barter' is new, not rare.
        using var client = Client();
        var transaction = WithNewPaymentMethod(21);
        var model = fixture.App.Get<ModelServer>().Current(Model)!;
        var other = model.Features.SlotNames.ToList().IndexOf("payment_method=(other)");

        var response = await client.PostAsJsonAsync("/api/v1/predict", new { model = Model, transaction });
        var known = await client.PostAsJsonAsync("/api/v1/predict", new { model = Model, transaction = fixture.Transaction(22) });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var prediction = (await response.Content.ReadFromJsonAsync<PredictionResponse>(DatasetSchema.Json))!;
        AssertUnseenPaymentMethod(prediction.Warnings, "transaction.payment_method");
        var knownPrediction = await Json(known);
        Assert.Equal(0, knownPrediction.GetProperty("warnings").GetArrayLength()); // always a list, empty when nothing is new
        await fixture.App.Get<PredictionLog>().FlushAsync();
        var logged = (await fixture.App.Get<PredictionStore>().GetAsync(prediction.PredictionId!.Value))!;
        Assert.Equal(1, logged.Features[other]); // scored as 'other', as the warning says
        Assert.Equal(prediction.Probability, logged.Probability, 12);
        var unseen = JsonDocument.Parse(logged.Unseen!).RootElement.EnumerateArray().Single();
        Assert.Equal(("payment_method", "barter"), (unseen.GetProperty("column").GetString(), unseen.GetProperty("value").GetString()));
        await using var connection = new NpgsqlConnection(fixture.App.ConnectionString);
        Assert.Null(await connection.ExecuteScalarAsync<string?>("SELECT unseen::text FROM predictions WHERE id = @id", new { id = knownPrediction.GetProperty("predictionId").GetGuid() }));
    }

    [Fact]
    public async Task PredictBatch_OneUnseenCategoryAmongGoodTransactions_AllScored_WarningOnItsIndexOnly()
    {
        using var client = Client();
        var transactions = new[] { fixture.Transaction(30), WithNewPaymentMethod(31), fixture.Transaction(32) };

        var response = await client.PostAsJsonAsync("/api/v1/predict/batch", new { model = Model, transactions });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var batch = (await response.Content.ReadFromJsonAsync<BatchPredictionResponse>(DatasetSchema.Json))!;
        Assert.Equal(3, batch.Predictions.Count);
        Assert.All(batch.Predictions, p => Assert.NotNull(p.PredictionId));
        Assert.Empty(batch.Predictions[0].Warnings);
        AssertUnseenPaymentMethod(batch.Predictions[1].Warnings, "transactions[1].payment_method");
        Assert.Empty(batch.Predictions[2].Warnings);
    }

    [Fact]
    public async Task Explain_CategoryTrainingNeverSaw_ExplainedWithTheWarning()
    {
        using var client = Client();
        var transaction = WithNewPaymentMethod(23);

        var response = await client.PostAsJsonAsync("/api/v1/models/cnp-scoring/versions/1/explain", new { transaction });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var explanation = (await response.Content.ReadFromJsonAsync<ExplainResponse>(DatasetSchema.Json))!;
        AssertUnseenPaymentMethod(explanation.Warnings, "transaction.payment_method");
        Assert.Equal(explanation.RawScore, explanation.BaseValue + explanation.Columns.Sum(c => c.Value), 1e-9);
    }

    [Fact]
    public async Task Explain_BooleanInTheSpellingsTheUploadAccepts_SameScoreAsJsonBoolean()
    {
        using var client = Client();
        var transaction = fixture.Transaction(24);
        async Task<double> ScoreAsync(object? flag)
        {
            transaction["shipping_address_new"] = flag;
            var response = await client.PostAsJsonAsync("/api/v1/models/cnp-scoring/versions/1/explain", new { transaction });
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{flag}: {await response.Content.ReadAsStringAsync()}");
            return (await Json(response)).GetProperty("rawScore").GetDouble();
        }

        var yes = await ScoreAsync(true);
        var no = await ScoreAsync(false);

        Assert.NotEqual(yes, no); // the model reads the flag, so a wrong spelling would show
        foreach (var spelling in new object[] { "yes", "YES", "y", "T", "true", "1", 1 }) Assert.Equal(yes, await ScoreAsync(spelling));
        foreach (var spelling in new object[] { "no", "N", "f", "False", "0", 0 }) Assert.Equal(no, await ScoreAsync(spelling));
    }

    [Fact]
    public async Task Predict_BatchWithOneBadTransaction_400NamingItsIndex_NothingScored()
    {
        using var client = Client();
        var bad = fixture.Transaction(3);
        bad["amount"] = "lots";
        var before = await CountPredictionsAsync();

        var response = await client.PostAsJsonAsync("/api/v1/predict/batch", new { model = Model, transactions = new[] { fixture.Transaction(2), bad } });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("transactions[1].amount", (await Json(response)).GetProperty("field").GetString());
        Assert.Equal(before, await CountPredictionsAsync());
    }

    [Fact]
    public async Task Keys_ScopesExpiryAndRevocation_Enforced()
    {
        var keys = fixture.App.Get<ApiKeyStore>();
        var (_, predictOnly) = await keys.CreateAsync("partner-predict", [Scopes.Predict], null, "test");
        var (_, readOnly) = await keys.CreateAsync("partner-read", [Scopes.Read], null, "test");
        var (revoked, revokedSecret) = await keys.CreateAsync("partner-revoked", [Scopes.Predict], null, "test");
        var (expiring, expiringSecret) = await keys.CreateAsync("partner-expiring", [Scopes.Predict], DateTime.UtcNow.AddHours(1), "test");
        var body = new { model = Model, transaction = fixture.Transaction(11) };

        using var partner = Client(predictOnly);
        Assert.Equal(HttpStatusCode.OK, (await partner.PostAsJsonAsync("/api/v1/predict", body)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await partner.GetAsync("/api/v1/datasets")).StatusCode); // scoring keys read nothing
        Assert.Equal(HttpStatusCode.Forbidden, (await partner.PostAsJsonAsync("/api/v1/feedback", new { predictionId = Guid.NewGuid(), isFraud = true })).StatusCode);
        using var reader = Client(readOnly);
        Assert.Equal(HttpStatusCode.Forbidden, (await reader.PostAsJsonAsync("/api/v1/predict", body)).StatusCode);

        using var soonRevoked = Client(revokedSecret);
        Assert.Equal(HttpStatusCode.OK, (await soonRevoked.PostAsJsonAsync("/api/v1/predict", body)).StatusCode);
        await keys.RevokeAsync(revoked.Id, "test");
        Assert.Equal(HttpStatusCode.Unauthorized, (await soonRevoked.PostAsJsonAsync("/api/v1/predict", body)).StatusCode);

        await using (var connection = new NpgsqlConnection(fixture.App.ConnectionString))
            await connection.ExecuteAsync("UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = @Id", new { expiring.Id });
        using var expired = Client(expiringSecret);
        Assert.Equal(HttpStatusCode.Unauthorized, (await expired.PostAsJsonAsync("/api/v1/predict", body)).StatusCode);
        using var anonymous = fixture.App.CreateHttpClient();
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsJsonAsync("/api/v1/predict", body)).StatusCode);
    }

    [Fact]
    public async Task Predict_OverTheKeysRateLimit_429WithRetryAfter_OtherKeysUnaffected()
    {
        var keys = fixture.App.Get<ApiKeyStore>();
        var (_, limited) = await keys.CreateAsync("partner-limited", [Scopes.Predict], null, "test", rateLimitPerMinute: 3);
        var (_, other) = await keys.CreateAsync("partner-other", [Scopes.Predict], null, "test", rateLimitPerMinute: 3);
        var body = new { model = Model, transaction = fixture.Transaction(12) };
        using var client = Client(limited);

        var codes = new List<HttpStatusCode>();
        HttpResponseMessage last = default!;
        for (var i = 0; i < 4; i++) codes.Add((last = await client.PostAsJsonAsync("/api/v1/predict", body)).StatusCode);
        using var otherClient = Client(other);
        var otherStatus = (await otherClient.PostAsJsonAsync("/api/v1/predict", body)).StatusCode;

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests], codes);
        Assert.InRange(int.Parse(last.Headers.GetValues("Retry-After").Single()), 1, 60);
        Assert.Equal(429, (await Json(last)).GetProperty("status").GetInt32());
        Assert.Equal(HttpStatusCode.OK, otherStatus);
    }

    [Fact]
    public async Task Feedback_LabelsJoinedToPredictions_LastLabelWins_UnknownIdsStoreNothing()
    {
        using var client = Client();
        var a = (await (await client.PostAsJsonAsync("/api/v1/predict", new { model = Model, transaction = fixture.Transaction(40) })).Content.ReadFromJsonAsync<PredictionResponse>(DatasetSchema.Json))!;
        var b = (await (await client.PostAsJsonAsync("/api/v1/predict", new { model = Model, transaction = fixture.Transaction(41) })).Content.ReadFromJsonAsync<PredictionResponse>(DatasetSchema.Json))!;

        // Sent straight after scoring: the log may not have written the predictions yet.
        var single = await client.PostAsJsonAsync("/api/v1/feedback", new { predictionId = a.PredictionId, isFraud = true, labelDate = "2026-03-09" });
        // Two different labels for one prediction in one batch are refused (FeedbackCsvApiTests); sent one after the other, the last wins.
        var first = await client.PostAsJsonAsync("/api/v1/feedback/batch", new { items = new object[] { new { predictionId = b.PredictionId, isFraud = true } } });
        var batch = await client.PostAsJsonAsync("/api/v1/feedback/batch", new { items = new object[] { new { predictionId = b.PredictionId, isFraud = false } } });
        var unknown = await client.PostAsJsonAsync("/api/v1/feedback/batch", new { items = new object[] { new { predictionId = a.PredictionId, isFraud = false }, new { predictionId = Guid.NewGuid(), isFraud = true } } });
        var unknownSingle = await client.PostAsJsonAsync("/api/v1/feedback", new { predictionId = Guid.NewGuid(), isFraud = true });
        var malformed = await client.PostAsJsonAsync("/api/v1/feedback", new { predictionId = "yesterday", isFraud = "yes" });

        Assert.Equal(HttpStatusCode.OK, single.StatusCode);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, batch.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        Assert.Equal("items[1].predictionId", (await Json(unknown)).GetProperty("field").GetString());
        Assert.Equal(HttpStatusCode.NotFound, unknownSingle.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        Assert.Equal(["predictionId", "isFraud"], (await Json(malformed)).GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("field").GetString()).ToList());
        var store = fixture.App.Get<PredictionStore>();
        var labelledA = (await store.GetAsync(a.PredictionId!.Value))!;
        Assert.True(labelledA.IsFraud); // the refused batch did not flip it
        Assert.Equal(new DateTime(2026, 3, 9), labelledA.LabelDate);
        Assert.False((await store.GetAsync(b.PredictionId!.Value))!.IsFraud);
    }

    [Fact]
    public async Task Feedback_UnknownIdMadeMomentsAgo_503Retry_OlderOne404()
    {
        // A prediction id made moments ago may still be queued in another instance's log; one from minutes ago is unknown.
        using var client = Client();
        var recent = Guid.CreateVersion7(DateTimeOffset.UtcNow.AddSeconds(-5));
        var older = Guid.CreateVersion7(DateTimeOffset.UtcNow.AddMinutes(-3));

        var retry = await client.PostAsJsonAsync("/api/v1/feedback", new { predictionId = recent, isFraud = true });
        var retryInBatch = await client.PostAsJsonAsync("/api/v1/feedback/batch", new { items = new object[] { new { predictionId = older, isFraud = true }, new { predictionId = recent, isFraud = true } } });
        var notFound = await client.PostAsJsonAsync("/api/v1/feedback", new { predictionId = older, isFraud = true });

        Assert.Equal(HttpStatusCode.ServiceUnavailable, retry.StatusCode);
        var problem = await Json(retry);
        Assert.Contains(recent.ToString(), problem.GetProperty("detail").GetString());
        Assert.Equal(1, problem.GetProperty("retryAfterSeconds").GetInt32());
        Assert.Equal(TimeSpan.FromSeconds(1), retry.Headers.RetryAfter?.Delta); // the header says what the body says
        Assert.Equal(HttpStatusCode.ServiceUnavailable, retryInBatch.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, notFound.StatusCode);
    }

    [Fact]
    public async Task ModelServer_Start_ProductionModelsLoadedAndWarmedBeforeReady()
    {
        // A second server over the same registry and artifacts, as a newly started instance has.
        var server = new ModelServer(fixture.App.Get<FraudWorkbench.Core.Registry.RegistryStore>(), fixture.App.Get<ModelLoader>(), fixture.App.Get<FraudWorkbench.Core.Events.EventHub>(),
            fixture.App.Get<Microsoft.Extensions.Options.IOptions<ScoringOptions>>(), Microsoft.Extensions.Logging.Abstractions.NullLogger<ModelServer>.Instance);
        var check = new ModelsHealthCheck(server);
        var context = new Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckContext();
        Assert.Equal(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Unhealthy, (await check.CheckHealthAsync(context)).Status);

        await server.StartAsync(CancellationToken.None);
        await server.Preloaded.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy, (await check.CheckHealthAsync(context)).Status);
        var production = (await fixture.App.Get<FraudWorkbench.Core.Registry.RegistryStore>().GetProductionAsync(Model))!;
        Assert.Equal(production.Id, server.Current(Model)?.VersionId); // loaded without a request asking for it
        await server.StopAsync(CancellationToken.None);
        using var client = fixture.App.CreateHttpClient();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/readyz")).StatusCode); // the app's own server has preloaded too
    }

    [Fact]
    public async Task OpenApi_DocumentsScoringAndRegistry_InteractivePageServed()
    {
        using var client = Client();
        var document = await client.GetFromJsonAsync<JsonElement>("/openapi/v1.json");
        var paths = document.GetProperty("paths");

        Assert.True(paths.TryGetProperty("/api/v1/predict", out var predict));
        Assert.True(predict.GetProperty("post").TryGetProperty("requestBody", out _));
        // What a transaction may hold, beyond its columns: the boolean spellings, the limits, and what an unseen value does.
        var description = predict.GetProperty("post").GetProperty("description").GetString()!;
        Assert.Contains("yes/no, y/n, t/f, 1/0", description);
        Assert.Contains("between 1970 and 2100", description);
        Assert.Contains("`warnings`", description);
        Assert.True(paths.TryGetProperty("/api/v1/feedback/batch", out _));
        Assert.True(paths.TryGetProperty("/api/v1/models/{name}/versions/{version}/promote", out _));
        var docs = await client.GetAsync("/api/docs/");
        Assert.Equal(HttpStatusCode.OK, docs.StatusCode);
        var html = await docs.Content.ReadAsStringAsync();
        Assert.Contains("FraudWorkbench API", html);
        // The page's script comes from the app itself: the machines running it need no internet.
        var script = System.Text.RegularExpressions.Regex.Match(html, "<script[^>]+src=\"([^\"]+)\"").Groups[1].Value;
        Assert.False(script.StartsWith("http", StringComparison.Ordinal), script);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(new Uri(new Uri(client.BaseAddress!, "/api/docs/"), script))).StatusCode);
    }

    private async Task<long> CountPredictionsAsync()
    {
        await fixture.App.Get<PredictionLog>().FlushAsync();
        await using var connection = new NpgsqlConnection(fixture.App.ConnectionString);
        return await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM predictions");
    }
}
