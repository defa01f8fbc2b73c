using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dapper;
using FraudWorkbench.Core.Alerts;
using FraudWorkbench.Core.Features;
using FraudWorkbench.Core.Registry;
using FraudWorkbench.Core.Training;
using FraudWorkbench.Tests.Scoring;
using Npgsql;

namespace FraudWorkbench.Tests.Api;

/// <summary>
/// The API's one rule for bad input, walked over every write endpoint: malformed JSON, a wrong type, a
/// non-finite number, a NUL in a string, an unknown field and an oversize value each answer a 4xx
/// ProblemDetails that names the field, never a 5xx, and write nothing.
/// </summary>
[Trait("Category", "Database")]
public sealed class BadInputTests(ScoringFixture fixture) : IClassFixture<ScoringFixture>
{
    private const string Model = "bad-input";

    /// <summary>Every table a write endpoint can touch; API keys (last use) and predictions are not written by these endpoints.</summary>
    private static readonly string[] Tables =
    [
        "datasets", "dataset_versions", "feature_sets", "feature_set_versions", "training_runs", "jobs", "registered_models", "model_versions",
        "model_stage_history", "model_explanations", "audit_log", "alert_rules", "alert_silences", "notification_channels", "notification_deliveries",
        "retraining_policies", "retraining_workflows", "retraining_steps",
    ];

    /// <param name="Text">A string field; <paramref name="Number"/> a number field (null when the body has none);
    /// <paramref name="Typed"/> a field and a value of the wrong JSON type for it.</param>
    private sealed record Endpoint(string Name, HttpMethod Method, string Url, string Body, string Text, string? Number, string Typed, string WrongValue);

    private async Task<IReadOnlyList<Endpoint>> EndpointsAsync()
    {
        var registry = fixture.App.Get<RegistryStore>();
        if (await registry.GetModelAsync(Model) is null)
        {
            // A failed gate, so the override below is one that would otherwise be carried out.
            await fixture.RegisterAsync(Model, fixture.StrongRun, new GateSettings([new GateBaseline(GateMetric.PrAuc, ">=", 0.99)], [], 0.01, 0.05));
        }

        var channels = fixture.App.Get<NotificationChannelStore>();
        var channel = (await channels.ListAsync()).FirstOrDefault(c => c.Name == "bad-input-channel")
            ?? (await channels.CreateAsync(new ChannelSpec("bad-input-channel", ChannelKind.Alertmanager, "https://93.184.216.34/hook"), "test")).Channel;

        var featureSet = (await fixture.App.Get<FeatureSetStore>().GetVersionAsync(fixture.FeatureSetVersion))!;
        var dataset = featureSet.DatasetId;
        var versions = $"/api/v1/models/{Model}/versions";
        const string rule = """{"name":"bad-input-rule","model":"bad-input","metric":{"kind":"scoring.latency_p99"},"condition":{"kind":"above","threshold":50},"window":"5m"}""";
        var rules = fixture.App.Get<AlertRuleStore>();
        var ruleId = (await rules.ListAsync()).FirstOrDefault(r => r.Name == "bad-input-rule")?.Id
            ?? (await rules.CreateAsync(AlertJson.Deserialize<AlertRuleSpec>(rule), "test")).Id;
        return
        [
            new("create feature set", HttpMethod.Post, "/api/v1/feature-sets",
                $$"""{"name":"bad-input-features","datasetId":"{{dataset}}","datasetVersion":1,"features":[{"kind":"numeric","column":"amount","impute":"constant","imputeValue":0,"clip":[0.01,0.99]}]}""",
                "name", "features[0].imputeValue", "datasetVersion", "\"one\""),
            new("start training run", HttpMethod.Post, "/api/v1/training/runs",
                $$$"""{"datasetId":"{{{dataset}}}","datasetVersion":1,"featureSetVersionId":"{{{featureSet.Id}}}","trainer":{"trees":5},"threshold":{"method":"max_f1","reviewCost":5,"amountColumn":"amount"}}""",
                "threshold.amountColumn", "threshold.reviewCost", "featureSetVersionId", "\"not-a-guid\""),
            new("update model", HttpMethod.Put, $"/api/v1/models/{Model}",
                """{"description":"d","gate":{"baselines":[{"metric":"pr_auc","operator":">=","threshold":0.1}],"compareMetrics":["pr_auc"],"maxAbsoluteDrop":1,"maxRelativeDrop":1}}""",
                "description", "gate.baselines[0].threshold", "gate.compareMetrics", "\"pr_auc\""),
            new("register version", HttpMethod.Post, versions,
                $$"""{"runId":"{{fixture.WeakRun}}","tags":["weekly"],"notes":"n"}""", "notes", null, "runId", "12345"),
            new("update version", HttpMethod.Patch, $"{versions}/1", """{"tags":["weekly"],"notes":"n"}""", "tags[0]", null, "tags", "\"weekly\""),
            new("promote", HttpMethod.Post, $"{versions}/1/promote", """{"stage":"staging","reason":"r"}""", "reason", null, "stage", "1"),
            new("override gate", HttpMethod.Post, $"{versions}/1/gate/override", """{"reason":"the holdout is known to be stale"}""", "reason", null, "reason", "[]"),
            new("rollback", HttpMethod.Post, $"/api/v1/models/{Model}/rollback", """{"reason":"r"}""", "reason", null, "reason", "{}"),
            new("monitoring config", HttpMethod.Put, $"/api/v1/monitoring/models/{Model}/config",
                """{"driftShare":0.5,"columns":{"merchant_category":{"method":"jensenshannon","threshold":0.2}}}""",
                "columns.merchant_category.method", "driftShare", "columns", "[]"),
            new("fairness gate", HttpMethod.Put, $"/api/v1/models/{Model}/fairness/gate",
                """{"limits":[{"disparity":"demographicParity","kind":"ratio","threshold":0.8,"grouping":"customer_gender"}],"nonRegression":false,"maxRegression":0.02}""",
                "limits[0].grouping", "limits[0].threshold", "nonRegression", "\"yes\""),
            new("create alert channel", HttpMethod.Post, "/api/v1/alerts/channels",
                """{"name":"bad-input-new-channel","kind":"alertmanager","url":"https://93.184.216.34/hook","global":false,"groupWait":"30s"}""",
                "name", null, "global", "\"yes\""),
            new("update alert channel", HttpMethod.Put, $"/api/v1/alerts/channels/{channel.Id}",
                """{"name":"bad-input-channel","kind":"alertmanager","url":"https://93.184.216.34/hook","sendResolved":true,"repeatInterval":"4h"}""",
                "url", null, "sendResolved", "1"),
            new("create alert rule", HttpMethod.Post, "/api/v1/alerts/rules", rule.Replace("bad-input-rule", "bad-input-rule-2"), "name", "condition.threshold", "condition", "\"above\""),
            new("update alert rule", HttpMethod.Put, $"/api/v1/alerts/rules/{ruleId}", rule, "name", "condition.threshold", "labels", "[]"),
            new("backtest alert rule", HttpMethod.Post, "/api/v1/alerts/rules/backtest", $$"""{"rule":{{rule}},"model":"bad-input","days":30}""",
                "model", "days", "rule.condition.threshold", "\"high\""),
            new("default alert rules", HttpMethod.Post, "/api/v1/alerts/rules/defaults", """{"model":"bad-input"}""", "model", null, "model", "1"),
            new("acknowledge alert", HttpMethod.Post, $"/api/v1/alerts/{Guid.NewGuid()}/ack", """{"comment":"on it"}""", "comment", null, "comment", "[]"),
            new("create silence", HttpMethod.Post, "/api/v1/alerts/silences",
                $$"""{"matchers":[{"label":"model","op":"=","value":"bad-input"}],"endsAt":"{{DateTime.UtcNow.AddDays(30):O}}","comment":"deploy"}""",
                "comment", null, "endsAt", "12345"),
            new("retraining policy", HttpMethod.Put, $"/api/v1/models/{Model}/retraining/policy",
                """{"enabled":true,"cooldownDays":7,"maxPerWeek":1,"dataMode":"append","promotionMode":"manual"}""", "dataMode", "cooldownDays", "enabled", "\"yes\""),
            new("retrain now", HttpMethod.Post, $"/api/v1/models/{Model}/retraining/workflows", """{"detail":"drift seen in the dashboard"}""", "detail", null, "detail", "[]"),
        ];
    }

    [Fact]
    public Task AllWriteEndpoints_MalformedJson_400NamingTheBody() =>
        WalkAsync(e => e.Body[..^4], _ => null, "Malformed JSON");

    [Fact]
    public Task AllWriteEndpoints_WrongJsonType_400NamingTheField() =>
        WalkAsync(e => With(e.Body, e.Typed, JsonNode.Parse(e.WrongValue)), e => e.Typed);

    [Fact]
    public Task AllWriteEndpoints_NonFiniteNumber_400NamingTheField() =>
        WalkAsync(e => e.Number is null ? null : With(e.Body, e.Number, "NaN"), e => e.Number, "Wrong type",
            then: e => e.Number is null ? null : With(e.Body, e.Number, "-Infinity"));

    [Fact]
    public Task AllWriteEndpoints_NulInString_400NamingTheField() =>
        WalkAsync(e => With(e.Body, e.Text, "bad\u0000value"), e => e.Text);

    [Fact]
    public Task AllWriteEndpoints_UnknownField_400NamingTheField() =>
        WalkAsync(e => With(e.Body, "bogus", true), _ => "bogus", "Unknown field");

    [Fact]
    public Task AllWriteEndpoints_OversizeString_400NamingTheField() =>
        WalkAsync(e => With(e.Body, e.Text, new string('x', 1_000_000)), e => e.Text);

    [Fact]
    public async Task UnknownField_Nested_400NamingItsPath()
    {
        var create = (await EndpointsAsync())[0];
        var body = JsonNode.Parse(create.Body)!;
        body["features"]![0]!["imputeValu"] = 1;

        var (status, problem) = await SendAsync(create.Method, create.Url, body.ToJsonString());

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("features[0].imputeValu", problem.GetProperty("field").GetString());
        Assert.Equal("features[0].imputeValu", problem.GetProperty("errors")[0].GetProperty("field").GetString());
    }

    [Fact]
    public async Task NumberOutOfRange_Int32Overflow_400NamingTheField()
    {
        var create = (await EndpointsAsync())[0];

        var (status, problem) = await SendAsync(create.Method, create.Url, With(create.Body, "datasetVersion", JsonNode.Parse("99999999999")));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("datasetVersion", problem.GetProperty("field").GetString());
        Assert.Contains("whole number", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task NumberAsString_Refused_400NamingTheField()
    {
        // The web default reads "0.5" as a number, and with it "NaN"; the API reads JSON numbers only.
        var training = (await EndpointsAsync())[1];

        var (status, problem) = await SendAsync(training.Method, training.Url, With(training.Body, "threshold.reviewCost", "5"));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("threshold.reviewCost", problem.GetProperty("field").GetString());
    }

    [Theory]
    [InlineData("/api/v1/jobs?limit=abc", "limit")]
    [InlineData("/api/v1/jobs?limit=99999999999", "limit")]
    [InlineData("/api/v1/datasets?includeArchived=maybe", "includeArchived")]
    [InlineData("/api/v1/jobs/not-a-guid", "id")]
    [InlineData("/api/v1/training/runs/not-a-guid", "id")]
    [InlineData("/api/v1/feature-sets/versions/not-a-guid", "versionId")]
    [InlineData("/api/v1/models/bad-input/versions/first", "version")]
    public async Task QueryOrRouteValue_WrongType_400NamingTheParameter(string url, string field)
    {
        using var client = Client();

        var response = await client.GetAsync(url);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(field, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("field").GetString());
    }

    [Fact]
    public async Task RouteGuid_OnWriteEndpoint_400NamingTheParameter_NothingWritten()
    {
        var before = await SnapshotAsync();

        var (status, problem) = await SendAsync(HttpMethod.Post, "/api/v1/jobs/not-a-guid/cancel", null);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("id", problem.GetProperty("field").GetString());
        Assert.Equal(before, await SnapshotAsync());
    }

    [Fact]
    public async Task MissingOrNonJsonBody_4xxNamingTheBody()
    {
        var create = (await EndpointsAsync())[0];

        var (empty, emptyProblem) = await SendAsync(create.Method, create.Url, "");
        using var client = Client();
        var text = await client.PostAsync(create.Url, new StringContent(create.Body, Encoding.UTF8, "text/plain"));

        Assert.Equal(HttpStatusCode.BadRequest, empty);
        Assert.Equal("body", emptyProblem.GetProperty("field").GetString());
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, text.StatusCode);
        Assert.Equal("Content-Type", (await text.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("field").GetString());
    }

    [Theory]
    [InlineData("not json", "schema", "Malformed JSON")]
    [InlineData("{\"bogus\":1}", "schema.bogus", "Unknown field")]
    [InlineData("{\"columns\":{\"customer_age\":{\"ageBands\":[\"NaN\"]}}}", "schema.columns.customer_age.ageBands[0]", "Wrong type")]
    [InlineData("{\"positiveLabel\":\"1\\u0000\"}", "schema.positiveLabel", "Invalid value")]
    public async Task UploadDataset_BadSchemaJson_400NamingTheField_NothingWritten(string schema, string field, string title)
    {
        var before = await SnapshotAsync();
        using var form = Upload("bad-input-upload", "tx.csv", schema);

        var (status, problem) = await SendAsync(HttpMethod.Post, "/api/v1/datasets", form);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(field, problem.GetProperty("field").GetString());
        Assert.Equal(title, problem.GetProperty("title").GetString());
        Assert.Equal(before, await SnapshotAsync());
    }

    [Theory]
    [InlineData("name", "bad\u0000name", "tx.csv")]
    [InlineData("file", "bad-input-upload", "tx\u0000.csv")]
    public async Task UploadDataset_NulInNameOrFileName_400NamingTheField_NothingWritten(string field, string name, string fileName)
    {
        var before = await SnapshotAsync();
        using var form = Upload(name, fileName, null);

        var (status, problem) = await SendAsync(HttpMethod.Post, "/api/v1/datasets", form);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(field, problem.GetProperty("field").GetString());
        Assert.Contains("NUL", problem.GetProperty("detail").GetString());
        Assert.Equal(before, await SnapshotAsync());
    }

    [Theory]
    [InlineData("schemas", "schemas")]
    [InlineData("file", "file")]
    [InlineData("name-over-1mb", "name")]
    public async Task UploadDataset_UnknownRepeatedOrOversizeFormField_400NamingIt_NothingWritten(string extra, string field)
    {
        var before = await SnapshotAsync();
        using var form = Upload(extra == "name-over-1mb" ? new string('n', (1 << 20) + 1) : "bad-input-upload", "tx.csv", null);
        if (extra != "name-over-1mb") form.Add(new StringContent("{}"), extra, "again.csv");

        var (status, problem) = await SendAsync(HttpMethod.Post, "/api/v1/datasets", form);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(field, problem.GetProperty("field").GetString());
        Assert.Equal(before, await SnapshotAsync());
    }

    [Fact]
    public async Task UpdateModel_GateThresholdOutsideTheMetricsRange_400NamingEachThreshold()
    {
        var update = (await EndpointsAsync()).Single(e => e.Name == "update model");
        var body = JsonNode.Parse(update.Body)!;
        body["gate"]!["baselines"] = JsonNode.Parse("""[{"metric":"pr_auc","operator":">=","threshold":1.5},{"metric":"log_loss","operator":"<=","threshold":-0.1},{"metric":"roc_auc","operator":">=","threshold":0.7}]""");
        var before = await SnapshotAsync();

        var (status, problem) = await SendAsync(update.Method, update.Url, body.ToJsonString());

        Assert.Equal(HttpStatusCode.BadRequest, status);
        var fields = problem.GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("field").GetString()).ToList();
        Assert.Equal(["baselines[0].threshold", "baselines[1].threshold"], fields);
        Assert.Equal(before, await SnapshotAsync());
    }

    [Fact]
    public async Task UpdateModelAsync_ThroughTheServiceAsThePageSaves_LongDescriptionOrNulRefused()
    {
        await EndpointsAsync();
        var service = fixture.App.Get<RegistryService>();
        var model = (await fixture.App.Get<RegistryStore>().GetModelAsync(Model))!;

        var tooLong = await Assert.ThrowsAsync<RegistryException>(() => service.UpdateModelAsync(model, new string('d', 2001), model.Gate, "test"));
        var nul = await Assert.ThrowsAsync<RegistryException>(() => service.UpdateModelAsync(model, "a\0b", model.Gate, "test"));
        await service.UpdateModelAsync(model, "line one\nline two", model.Gate, "test");

        Assert.Equal(("description", 400), (tooLong.Field, tooLong.Status));
        Assert.Equal("description", nul.Field);
        Assert.Equal("line one\nline two", (await fixture.App.Get<RegistryStore>().GetModelAsync(Model))!.Description);
    }

    [Fact]
    public async Task StartAsync_ThroughTheServiceAsThePageStarts_NaNSettingsRefusedNamingEach()
    {
        var channels = fixture.App.Get<NotificationChannelStore>();
        var channel = (await channels.ListAsync()).FirstOrDefault(c => c.Name == "bad-input-channel")
            ?? (await channels.CreateAsync(new ChannelSpec("bad-input-channel", ChannelKind.Alertmanager, "https://93.184.216.34/hook"), "test")).Channel;

        var featureSet = (await fixture.App.Get<FeatureSetStore>().GetVersionAsync(fixture.FeatureSetVersion))!;
        var request = new TrainingRunRequest(featureSet.DatasetId, 1, featureSet.Id, new TrainerSettings(LearningRate: double.NaN),
            new ImbalanceSettings(TargetRatio: double.NaN, PositiveWeight: double.NaN), new SplitSettings(SplitKind.Stratified, ValidationFraction: double.NaN),
            new ThresholdSettings("cost", ReviewCost: double.NaN, MaxReviewsPerDay: double.PositiveInfinity, AmountColumn: "amount"));
        var before = await SnapshotAsync();

        var refused = await Assert.ThrowsAsync<TrainingValidationException>(() => fixture.App.Get<TrainingService>().StartAsync(request, "test"));

        Assert.Equal(["trainer.learningRate", "imbalance.targetRatio", "imbalance.positiveWeight", "split.validationFraction", "threshold.reviewCost", "threshold.maxReviewsPerDay"],
            refused.Issues.Select(i => i.Field));
        Assert.Equal(before, await SnapshotAsync());
    }

    [Fact]
    public async Task CreateAsync_ThroughTheServiceAsThePageSaves_NulInNameRefused()
    {
        var channels = fixture.App.Get<NotificationChannelStore>();
        var channel = (await channels.ListAsync()).FirstOrDefault(c => c.Name == "bad-input-channel")
            ?? (await channels.CreateAsync(new ChannelSpec("bad-input-channel", ChannelKind.Alertmanager, "https://93.184.216.34/hook"), "test")).Channel;

        var featureSet = (await fixture.App.Get<FeatureSetStore>().GetVersionAsync(fixture.FeatureSetVersion))!;
        var before = await SnapshotAsync();

        var refused = await Assert.ThrowsAsync<FeatureValidationException>(() => fixture.App.Get<FeatureSetService>().CreateAsync(
            new NewFeatureSet("bad\0name", featureSet.DatasetId, 1, featureSet.Definition), "test"));

        Assert.Equal("name", Assert.Single(refused.Issues).Field);
        Assert.Equal(before, await SnapshotAsync());
    }

    /// <summary>Sends each endpoint's bad body; every one must be a 4xx ProblemDetails naming the expected field, with nothing written.</summary>
    private async Task WalkAsync(Func<Endpoint, string?> bad, Func<Endpoint, string?> field, string? title = null, Func<Endpoint, string?>? then = null)
    {
        var endpoints = await EndpointsAsync();
        var before = await SnapshotAsync();
        var wrong = new List<string>();
        foreach (var endpoint in endpoints)
        {
            foreach (var body in new[] { bad(endpoint), then?.Invoke(endpoint) })
            {
                if (body is null) continue;
                var (status, problem) = await SendAsync(endpoint.Method, endpoint.Url, body);
                var named = problem.ValueKind == JsonValueKind.Object && problem.TryGetProperty("field", out var f) ? f.GetString() : null;
                var expected = field(endpoint);
                if ((int)status is < 400 or >= 500) wrong.Add($"{endpoint.Name}: {(int)status} {problem}");
                else if (expected is null ? string.IsNullOrEmpty(named) : named != expected) wrong.Add($"{endpoint.Name}: field '{named}', expected '{expected ?? "any"}' ({problem})");
                else if (title is not null && problem.GetProperty("title").GetString() != title) wrong.Add($"{endpoint.Name}: title '{problem.GetProperty("title")}' ({problem})");
            }
        }

        Assert.Empty(wrong);
        Assert.Equal(before, await SnapshotAsync());
    }

    private async Task<(HttpStatusCode Status, JsonElement Problem)> SendAsync(HttpMethod method, string url, object? body)
    {
        using var client = Client();
        using var request = new HttpRequestMessage(method, url)
        {
            Content = body switch
            {
                string json => new StringContent(json, Encoding.UTF8, "application/json"),
                HttpContent content => content,
                _ => null,
            },
        };
        var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        if ((int)response.StatusCode >= 400) Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return (response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    private HttpClient Client()
    {
        var client = fixture.App.CreateHttpClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", fixture.ApiKey);
        return client;
    }

    /// <summary>The body with <paramref name="path"/> (e.g. <c>features[0].imputeValue</c>) set to <paramref name="value"/>.</summary>
    private static string With(string body, string path, JsonNode? value)
    {
        var root = JsonNode.Parse(body)!;
        var parts = path.Replace("]", "").Split('.', '[');
        var node = root;
        for (var i = 0; i < parts.Length - 1; i++) node = int.TryParse(parts[i], out var at) ? node[at]! : node[parts[i]]!;
        if (int.TryParse(parts[^1], out var index)) node.AsArray()[index] = value;
        else node.AsObject()[parts[^1]] = value;
        return root.ToJsonString();
    }

    private static MultipartFormDataContent Upload(string name, string fileName, string? schema)
    {
        var form = new MultipartFormDataContent();
        var file = new ByteArrayContent(Encoding.UTF8.GetBytes("event_time,customer_id,amount,customer_age,is_fraud\n2026-01-01T10:00:00Z,c1,10.5,30,0\n2026-01-01T10:05:00Z,c2,99.9,40,1\n"));
        file.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
        // Set by hand: the percent-encoded filename* carries the NUL through the header.
        file.Headers.ContentDisposition = new ContentDispositionHeaderValue("form-data") { Name = "\"file\"", FileNameStar = fileName };
        form.Add(file);
        form.Add(new StringContent(name), "name");
        if (schema is not null) form.Add(new StringContent(schema), "schema");
        return form;
    }

    private async Task<string> SnapshotAsync()
    {
        await using var connection = new NpgsqlConnection(fixture.App.ConnectionString);
        var hashes = new List<string>();
        foreach (var table in Tables)
            hashes.Add(await connection.ExecuteScalarAsync<string>($"SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {table} t") ?? "");
        return string.Join(",", Tables.Zip(hashes, (t, h) => $"{t}={h}"));
    }
}
