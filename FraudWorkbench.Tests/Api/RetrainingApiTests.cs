using System.Net;
using System.Net.Http.Json;
using System.Security.Claims;
using System.Text.Json;
using Dapper;
using FraudWorkbench.Api;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Alerts;
using FraudWorkbench.Core.Retraining;
using FraudWorkbench.Tests.Infrastructure;
using Npgsql;

namespace FraudWorkbench.Tests.Api;

public sealed class RetrainingApiFixture : IAsyncLifetime
{
    public const string Model = "retrain-api";
    public const string ReviewerEmail = "retrain-reviewer@example.com";
    public const string ScientistEmail = "retrain-scientist@example.com";
    public const string Password = "retrain-password-1";

    public WorkbenchAppFactory App { get; private set; } = default!;

    public string WriteKey { get; private set; } = "";

    public string ReadKey { get; private set; } = "";

    public Guid ModelId { get; private set; }

    public async Task InitializeAsync()
    {
        App = new WorkbenchAppFactory(await PostgresServer.CreateDatabaseAsync());
        App.StartServer();
        var keys = App.Get<ApiKeyStore>();
        (_, WriteKey) = await keys.CreateAsync("retrain-writer", [Scopes.Write], null, "test");
        (_, ReadKey) = await keys.CreateAsync("retrain-reader", [Scopes.Read], null, "test");
        await App.Get<UserStore>().CreateAsync(ReviewerEmail, "Reviewer", Roles.Reviewer, Password, "test");
        await App.Get<UserStore>().CreateAsync(ScientistEmail, "Scientist", Roles.DataScientist, Password, "test");
        ModelId = await RetrainingRows.InsertModelAsync(App.ConnectionString, Model);
    }

    public async Task DisposeAsync() => await App.DisposeAsync();

    public HttpClient Client(string key)
    {
        var client = App.CreateHttpClient();
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        return client;
    }
}

[Trait("Category", "Database")]
public sealed class RetrainingApiTests(RetrainingApiFixture fixture) : IClassFixture<RetrainingApiFixture>
{
    private const string Policy = $"/api/v1/models/{RetrainingApiFixture.Model}/retraining/policy";
    private const string Workflows = $"/api/v1/models/{RetrainingApiFixture.Model}/retraining/workflows";

    private static async Task<JsonElement> JsonAsync(HttpResponseMessage response) => await response.Content.ReadFromJsonAsync<JsonElement>();

    [Theory]
    [InlineData("GET", Policy)]
    [InlineData("PUT", Policy)]
    [InlineData("GET", Workflows)]
    [InlineData("POST", Workflows)]
    [InlineData("POST", $"{Workflows}/00000000-0000-0000-0000-000000000001/approve")]
    [InlineData("POST", $"{Workflows}/00000000-0000-0000-0000-000000000001/cancel")]
    [InlineData("GET", $"/api/v1/models/{RetrainingApiFixture.Model}/versions/1/audit-chain")]
    public async Task Endpoints_Anonymous_401(string method, string url)
    {
        using var client = fixture.App.CreateHttpClient();

        var response = await client.SendAsync(new HttpRequestMessage(new HttpMethod(method), url) { Content = method == "GET" ? null : JsonContent.Create(new { }) });

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task Policy_Reviewer_ReadsButCannotSave_403()
    {
        using var reviewer = await fixture.App.SignedInClientAsync(RetrainingApiFixture.ReviewerEmail, RetrainingApiFixture.Password);
        using var reader = fixture.Client(fixture.ReadKey);

        var read = await reviewer.GetAsync(Policy);
        var keyRead = await reader.GetAsync(Policy);
        var save = await reviewer.PutAsJsonAsync(Policy, new { enabled = true });
        var keySave = await reader.PutAsJsonAsync(Policy, new { enabled = true });
        var start = await reviewer.PostAsJsonAsync(Workflows, new { });

        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        Assert.Equal(HttpStatusCode.OK, keyRead.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, save.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, keySave.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, start.StatusCode);
    }

    [Fact]
    public async Task Policy_Unsaved_DefaultsWithoutUpdatedBy()
    {
        var other = "retrain-api-defaults";
        await RetrainingRows.InsertModelAsync(fixture.App.ConnectionString, other);
        using var client = fixture.Client(fixture.ReadKey);

        var policy = await JsonAsync(await client.GetAsync($"/api/v1/models/{other}/retraining/policy"));

        Assert.Equal(other, policy.GetProperty("modelName").GetString());
        Assert.Equal(JsonValueKind.Null, policy.GetProperty("updatedBy").ValueKind);
        var p = policy.GetProperty("policy");
        Assert.False(p.GetProperty("enabled").GetBoolean());
        Assert.Equal(7, p.GetProperty("cooldownDays").GetDouble());
        Assert.Equal(28, p.GetProperty("trainingWindowDays").GetInt32());
        Assert.Equal("manual", p.GetProperty("promotionMode").GetString());
        Assert.Equal("admin", p.GetProperty("approver").GetString());
    }

    [Fact]
    public async Task Policy_SaveThenRead_RoundTripsAndAuditsBeforeAndAfter()
    {
        var model = "retrain-api-roundtrip";
        var modelId = await RetrainingRows.InsertModelAsync(fixture.App.ConnectionString, model);
        var rule = (await fixture.App.Get<AlertRuleStore>().CreateAsync(AlertJson.Deserialize<AlertRuleSpec>(
            $$"""{"name":"retrain-api-drift","model":"{{model}}","metric":{"kind":"drift.share"},"condition":{"kind":"above","threshold":0.3},"window":"1h"}"""), "test")).Id;
        using var client = fixture.Client(fixture.WriteKey);
        var body = new
        {
            enabled = true, triggerRuleIds = new[] { rule }, scheduleDays = 14, cooldownDays = 3.5, maxPerWeek = 2, minMatureDays = 10, trainingWindowDays = 42,
            holdoutDays = 7, dataMode = "replace", minImprovement = 0.01, promotionMode = "automatic", approver = "reviewer", shadowHours = 6,
            shadowTransactions = (long?)null, watchHours = 48,
        };

        var saved = await client.PutAsJsonAsync($"/api/v1/models/{model}/retraining/policy", body);
        var read = await JsonAsync(await client.GetAsync($"/api/v1/models/{model}/retraining/policy"));

        Assert.Equal(HttpStatusCode.OK, saved.StatusCode);
        Assert.Equal("api-key:retrain-writer", read.GetProperty("updatedBy").GetString());
        var stored = RetrainingPolicy.FromJson(read.GetProperty("policy").GetRawText());
        Assert.Equal(new RetrainingPolicy(true, null, 14, 3.5, 2, 10, 42, 7, "replace", null, 0.01, "automatic", "reviewer", 6, null, 48), stored with { TriggerRuleIds = null });
        Assert.Equal([rule], stored.Rules);
        await using var db = new NpgsqlConnection(fixture.App.ConnectionString);
        var audit = await db.QuerySingleAsync<(string Actor, string Summary)>(
            "SELECT actor, summary::text FROM audit_log WHERE action = 'retraining.policy.save' AND object_id = @id", new { id = modelId.ToString() });
        Assert.Equal("api-key:retrain-writer", audit.Actor);
        Assert.Contains("\"after\"", audit.Summary);
        Assert.Contains("\"shadowHours\": 6", audit.Summary);
    }

    [Fact]
    public async Task Policy_Invalid_400NamingEachField_NothingSaved()
    {
        var model = "retrain-api-invalid";
        await RetrainingRows.InsertModelAsync(fixture.App.ConnectionString, model);
        using var client = fixture.Client(fixture.WriteKey);

        var response = await client.PutAsJsonAsync($"/api/v1/models/{model}/retraining/policy", new { maxPerWeek = 0, trainingWindowDays = 7, holdoutDays = 7, approver = "anyone" });
        var problem = await JsonAsync(response);
        var after = await JsonAsync(await client.GetAsync($"/api/v1/models/{model}/retraining/policy"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("maxPerWeek", problem.GetProperty("field").GetString());
        var fields = problem.GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("field").GetString()).ToList();
        Assert.Equal(["maxPerWeek", "holdoutDays", "approver"], fields);
        Assert.Equal(JsonValueKind.Null, after.GetProperty("updatedBy").ValueKind);
    }

    [Theory]
    [InlineData("GET", "/api/v1/models/never-registered/retraining/policy", "name")]
    [InlineData("PUT", "/api/v1/models/never-registered/retraining/policy", "model")]
    [InlineData("GET", "/api/v1/models/never-registered/retraining/workflows", "name")]
    [InlineData("GET", $"{Workflows}/00000000-0000-0000-0000-000000000001", "id")]
    [InlineData("POST", $"{Workflows}/00000000-0000-0000-0000-000000000001/cancel", "id")]
    public async Task Unknown_404NamingTheField(string method, string url, string field)
    {
        using var client = fixture.Client(fixture.WriteKey);

        var response = await client.SendAsync(new HttpRequestMessage(new HttpMethod(method), url) { Content = method == "GET" ? null : JsonContent.Create(new { }) });

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal(field, (await JsonAsync(response)).GetProperty("field").GetString());
    }

    [Fact]
    public async Task Workflows_ListNewestFirst_DetailHasNineStepsWithResults()
    {
        var model = "retrain-api-list";
        var modelId = await RetrainingRows.InsertModelAsync(fixture.App.ConnectionString, model);
        var old = await RetrainingRows.InsertWorkflowAsync(fixture.App.ConnectionString, modelId, model, RetrainingStatus.Failed, RetrainingStep.Gate,
            DateTime.UtcNow.AddDays(-8), error: "gate failed: pr_auc 0.41 < 0.5");
        var current = await RetrainingRows.InsertWorkflowAsync(fixture.App.ConnectionString, modelId, model, RetrainingStatus.Running, RetrainingStep.Features);
        var datasetId = Guid.NewGuid();
        await RetrainingRows.SetResultAsync(fixture.App.ConnectionString, current, RetrainingStep.Dataset, new DatasetStepResult(
            datasetId, "retrain-api-list-traffic", 3, Guid.NewGuid(), "abc123", 1200, 1000, 200, 12, 700, 288, 40,
            new DateTime(2026, 11, 1, 0, 0, 0, DateTimeKind.Utc), new DateTime(2026, 11, 29, 0, 0, 0, DateTimeKind.Utc), null, null, "ff00"));
        using var client = fixture.Client(fixture.ReadKey);

        var list = await JsonAsync(await client.GetAsync($"/api/v1/models/{model}/retraining/workflows"));
        var detail = await JsonAsync(await client.GetAsync($"/api/v1/models/{model}/retraining/workflows/{current}"));
        var elsewhere = await client.GetAsync($"{Workflows}/{current}");
        var badTake = await client.GetAsync($"/api/v1/models/{model}/retraining/workflows?take=0");

        Assert.Equal([current, old], list.EnumerateArray().Select(w => w.GetProperty("id").GetGuid()).ToList());
        Assert.Equal("gate failed: pr_auc 0.41 < 0.5", list[1].GetProperty("error").GetString());
        Assert.Equal(7, list[0].GetProperty("policy").GetProperty("cooldownDays").GetDouble());
        var steps = detail.GetProperty("steps").EnumerateArray().ToList();
        Assert.Equal([.. RetrainingStep.All], steps.Select(s => s.GetProperty("step").GetString()!).ToList());
        Assert.Equal(["succeeded", "running", "pending"], steps.Take(3).Select(s => s.GetProperty("status").GetString()).ToList());
        Assert.Equal("Fit the feature set", steps[1].GetProperty("title").GetString());
        var dataset = steps[0].GetProperty("result");
        Assert.Equal(datasetId, dataset.GetProperty("datasetId").GetGuid());
        Assert.Equal(1200, dataset.GetProperty("rows").GetInt64());
        Assert.Equal(JsonValueKind.Null, steps[1].GetProperty("result").ValueKind);
        Assert.Equal("features", detail.GetProperty("workflow").GetProperty("step").GetString());
        Assert.Equal(HttpStatusCode.NotFound, elsewhere.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, badTake.StatusCode);
        Assert.Equal("take", (await JsonAsync(badTake)).GetProperty("field").GetString());
    }

    [Fact]
    public async Task Approve_ApiKeyOrDataScientist_403_AnotherModelsWorkflow_404()
    {
        var model = "retrain-api-approve";
        var modelId = await RetrainingRows.InsertModelAsync(fixture.App.ConnectionString, model);
        var waiting = await RetrainingRows.InsertWorkflowAsync(fixture.App.ConnectionString, modelId, model, RetrainingStatus.AwaitingApproval, RetrainingStep.Approval);
        using var key = fixture.Client(fixture.WriteKey);
        using var scientist = await fixture.App.SignedInClientAsync(RetrainingApiFixture.ScientistEmail, RetrainingApiFixture.Password);
        using var reviewer = await fixture.App.SignedInClientAsync(RetrainingApiFixture.ReviewerEmail, RetrainingApiFixture.Password);

        var byKey = await key.PostAsJsonAsync($"/api/v1/models/{model}/retraining/workflows/{waiting}/approve", new { comment = "looks good" });
        var byScientist = await scientist.PostAsJsonAsync($"/api/v1/models/{model}/retraining/workflows/{waiting}/reject", new { comment = "no" });
        var wrongModel = await reviewer.PostAsJsonAsync($"{Workflows}/{waiting}/approve", new { comment = "looks good" });

        Assert.Equal(HttpStatusCode.Forbidden, byKey.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, byScientist.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, wrongModel.StatusCode);
        Assert.Equal("id", (await JsonAsync(wrongModel)).GetProperty("field").GetString());
        await using var db = new NpgsqlConnection(fixture.App.ConnectionString);
        Assert.Equal("awaiting_approval", await db.ExecuteScalarAsync<string>("SELECT status FROM retraining_workflows WHERE id = @waiting", new { waiting }));
    }

    [Fact]
    public async Task AuditChain_UnknownFormat_400NamingIt()
    {
        using var client = fixture.Client(fixture.ReadKey);

        var response = await client.GetAsync($"/api/v1/models/{RetrainingApiFixture.Model}/versions/1/audit-chain?format=xml");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("format", (await JsonAsync(response)).GetProperty("field").GetString());
    }

    [Theory]
    [InlineData(Roles.Admin, "admin")]
    [InlineData(Roles.Reviewer, "reviewer")]
    [InlineData(Roles.DataScientist, null)]
    public void ApproverRoleOf_Role_TheApproverRole(string role, string? expected)
    {
        var user = new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, "u"), new Claim(ClaimTypes.Role, role)], "test"));

        Assert.Equal(expected, RetrainingApi.ApproverRoleOf(user));
    }

    [Fact]
    public void FileName_ModelNameWithOddCharacters_SafeFileName()
    {
        var document = new AuditChainDocument("fraud model/é", 3, "{}", new string('0', 64));

        Assert.Equal("audit-chain-fraud-model---v3.json", RetrainingApi.FileName(document));
    }
}
