using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Dapper;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Alerts;
using FraudWorkbench.Tests.Alerts;
using FraudWorkbench.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace FraudWorkbench.Tests.Api;

/// <summary>The real app with scripted readings (the metrics are the lifecycle's input; storage, evaluation, auth and HTTP are real).</summary>
public sealed class AlertsAppFixture : IAsyncLifetime
{
    public const string ReviewerEmail = "alerts-reviewer@example.com";
    public const string ReviewerPassword = "reviewer-password-1";

    public ScriptedMetricSource Metrics { get; } = new();

    public WorkbenchAppFactory App { get; private set; } = default!;

    public string WriteKey { get; private set; } = "";

    public string ReadKey { get; private set; } = "";

    public async Task InitializeAsync()
    {
        App = new ScriptedApp(await PostgresServer.CreateDatabaseAsync(), Metrics);
        App.StartServer();
        var keys = App.Get<ApiKeyStore>();
        (_, WriteKey) = await keys.CreateAsync("alerts-writer", [Scopes.Write], null, "test");
        (_, ReadKey) = await keys.CreateAsync("alerts-reader", [Scopes.Read], null, "test");
        await App.Get<UserStore>().CreateAsync(ReviewerEmail, "Reviewer", Roles.Reviewer, ReviewerPassword, "test");
        // The models the tests' rules name (a rule must name a registered model); registered by name only.
        await using var connection = new NpgsqlConnection(App.ConnectionString);
        await connection.ExecuteAsync("""
            INSERT INTO registered_models (id, name, gate, created_by, created_at)
            SELECT gen_random_uuid(), n, @gate::jsonb, 'test', now() FROM unnest(@names) AS n
            """, new
        {
            names = new[] { "api-crud", "api-ack", "api-silence", "api-live", "api-refs", "api-audit" },
            gate = JsonSerializer.Serialize(Scoring.ScoringFixture.LenientGate, FraudWorkbench.Core.Data.DatasetSchema.Json),
        });
    }

    public async Task DisposeAsync() => await App.DisposeAsync();

    public HttpClient Client(string key)
    {
        var client = App.CreateHttpClient();
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    private sealed class ScriptedApp(string connectionString, IAlertMetricSource metrics) : WorkbenchAppFactory(connectionString)
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            base.ConfigureWebHost(builder);
            builder.ConfigureTestServices(services => services.AddSingleton(metrics));
        }
    }
}

[Trait("Category", "Database")]
public sealed class AlertsApiTests(AlertsAppFixture fixture) : IClassFixture<AlertsAppFixture>
{
    private static object Rule(string name, string model, double threshold = 50) => new
    {
        name, model, metric = new { kind = "scoring.latency_p99" }, condition = new { kind = "above", threshold }, window = "5m", severity = "critical",
        labels = new Dictionary<string, string> { ["team"] = "risk" },
    };

    private static async Task<JsonElement> JsonAsync(HttpResponseMessage response) => await response.Content.ReadFromJsonAsync<JsonElement>();

    [Fact]
    public async Task Rules_CreateReadUpdateDelete_OverHttp_AuditedAsTheKey()
    {
        using var client = fixture.Client(fixture.WriteKey);

        var created = await client.PostAsJsonAsync("/api/v1/alerts/rules", Rule("api crud", "api-crud"));
        var rule = await JsonAsync(created);
        var id = rule.GetProperty("id").GetString();
        var clash = await client.PostAsJsonAsync("/api/v1/alerts/rules", Rule("API CRUD", "api-crud"));
        var updated = await client.PutAsJsonAsync($"/api/v1/alerts/rules/{id}", Rule("api crud", "api-crud", 80));
        var disabled = await client.PostAsync($"/api/v1/alerts/rules/{id}/disable", null);
        var listed = await client.GetFromJsonAsync<JsonElement>("/api/v1/alerts/rules");
        var deleted = await client.DeleteAsync($"/api/v1/alerts/rules/{id}");
        var gone = await client.GetAsync($"/api/v1/alerts/rules/{id}");

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal($"/api/v1/alerts/rules/{id}", created.Headers.Location!.OriginalString);
        Assert.Equal(("api crud", 1, "risk"), (rule.GetProperty("spec").GetProperty("name").GetString(), rule.GetProperty("revision").GetInt32(), rule.GetProperty("spec").GetProperty("labels").GetProperty("team").GetString()));
        Assert.Equal(HttpStatusCode.Conflict, clash.StatusCode);
        Assert.Equal("name", (await JsonAsync(clash)).GetProperty("field").GetString());
        var after = await JsonAsync(updated);
        Assert.Equal((2, 80.0), (after.GetProperty("revision").GetInt32(), after.GetProperty("spec").GetProperty("condition").GetProperty("threshold").GetDouble()));
        Assert.False((await JsonAsync(disabled)).GetProperty("enabled").GetBoolean());
        Assert.Contains(listed.EnumerateArray(), r => r.GetProperty("id").GetString() == id);
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        await using var connection = new NpgsqlConnection(fixture.App.ConnectionString);
        var actions = await connection.QueryAsync<(string, string)>("SELECT action, actor FROM audit_log WHERE object_id = @id ORDER BY id", new { id });
        Assert.Equal([("alert.rule-create", "api-key:alerts-writer"), ("alert.rule-update", "api-key:alerts-writer"), ("alert.rule-disable", "api-key:alerts-writer"), ("alert.rule-delete", "api-key:alerts-writer")], actions);
    }

    [Theory]
    [InlineData("""{"name":"r","metric":{"kind":"scoring.latency_p99"},"condition":{"kind":"above"}}""", "condition.threshold", "Invalid request")]
    [InlineData("""{"name":"r","metric":{"kind":"scoring.latency_p99"},"condition":{"kind":"above","threshold":1},"window":"5 minutes"}""", "window", "Invalid request")]
    [InlineData("""{"name":"r","metric":{"kind":"nope"},"condition":{"kind":"above","threshold":1}}""", "metric.kind", "Invalid request")]
    [InlineData("""{"name":"r","metric":{"kind":"scoring.latency_p99"},"condition":{"kind":"above","threshold":1},"labels":{"severity":"x"}}""", "labels.severity", "Invalid request")]
    [InlineData("""{"name":"r","metric":{"kind":"scoring.latency_p99"},"condition":{"kind":"above","threshold":"high"}}""", "condition.threshold", "Wrong type")]
    [InlineData("""{"name":"r","metric":{"kind":"scoring.latency_p99"},"conditon":{"kind":"above","threshold":1}}""", "conditon", "Unknown field")]
    [InlineData("""{"name":"r","metric":{"kind":"scoring.latency_p99"},"condition":{"kind":"above","threshold":1},""", "body", "Malformed JSON")]
    [InlineData("""{"name":"r","metric":{"kind":"audit.events"},"condition":{"kind":"above","threshold":0}}""", "metric.metric", "Invalid request")]
    [InlineData("""{"name":"r","metric":{"kind":"audit.events","metric":"Retraining Fail"},"condition":{"kind":"above","threshold":0}}""", "metric.metric", "Invalid request")]
    public async Task CreateRule_BadInput_400NamingTheField_NothingWritten(string body, string field, string title)
    {
        using var client = fixture.Client(fixture.WriteKey);

        var response = await client.PostAsync("/api/v1/alerts/rules", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await JsonAsync(response);
        Assert.Equal((field, title), (problem.GetProperty("field").GetString(), problem.GetProperty("title").GetString()));
        Assert.DoesNotContain((await fixture.App.Get<AlertRuleStore>().ListAsync()), r => r.Name == "r");
    }

    [Fact]
    public async Task CreateRule_AuditedAction_201_StoredWithItsAction_InstallationWideOrForAModel()
    {
        using var client = fixture.Client(fixture.WriteKey);

        var installation = await client.PostAsJsonAsync("/api/v1/alerts/rules", new
        {
            name = "api failed workflows", metric = new { kind = "audit.events", metric = "retraining.fail" }, condition = new { kind = "above", threshold = 0 }, window = "1h",
        });
        var model = await client.PostAsJsonAsync("/api/v1/alerts/rules", new
        {
            name = "api stage changes", model = "api-audit", metric = new { kind = "audit.events", metric = "model-version.stage" }, condition = new { kind = "above", threshold = 2 }, window = "1d",
        });

        Assert.Equal((HttpStatusCode.Created, HttpStatusCode.Created), (installation.StatusCode, model.StatusCode));
        var spec = (await JsonAsync(installation)).GetProperty("spec");
        Assert.Equal(("audit.events", "retraining.fail", JsonValueKind.Null), (spec.GetProperty("metric").GetProperty("kind").GetString(),
            spec.GetProperty("metric").GetProperty("metric").GetString(), spec.TryGetProperty("model", out var m) ? m.ValueKind : JsonValueKind.Null));
        var stored = (await fixture.App.Get<AlertRuleStore>().ListAsync()).Single(r => r.Name == "api stage changes");
        Assert.Equal(("api-audit", new AlertMetricSpec(AlertMetricKind.AuditEvents, Metric: "model-version.stage")), (stored.Spec.Model, stored.Spec.Metric));
    }

    [Fact]
    public async Task Reviewer_ReadsAndAcknowledges_ButCannotEditRulesOrSilences()
    {
        await fixture.App.Get<AlertRuleStore>().CreateAsync(AlertsWorld.Latency("api ack", "api-ack"), "test");
        fixture.Metrics.Set("api-ack", AlertMetricKind.LatencyP99, 95);
        await fixture.App.Get<AlertEvaluator>().EvaluateAsync(force: true);
        using var reviewer = await fixture.App.SignedInClientAsync(AlertsAppFixture.ReviewerEmail, AlertsAppFixture.ReviewerPassword);
        using var reader = fixture.Client(fixture.ReadKey);
        var alerts = await reviewer.GetFromJsonAsync<JsonElement>("/api/v1/alerts?state=firing&model=api-ack");
        var id = alerts.EnumerateArray().Single().GetProperty("id").GetString();
        var ruleId = alerts[0].GetProperty("ruleId").GetString();

        var create = await reviewer.PostAsJsonAsync("/api/v1/alerts/rules", Rule("reviewer rule", "api-ack"));
        var update = await reviewer.PutAsJsonAsync($"/api/v1/alerts/rules/{ruleId}", Rule("api ack", "api-ack", 1));
        var delete = await reviewer.DeleteAsync($"/api/v1/alerts/rules/{ruleId}");
        var silence = await reviewer.PostAsJsonAsync("/api/v1/alerts/silences", new { matchers = new[] { new { label = "model", op = "=", value = "api-ack" } }, endsAt = DateTime.UtcNow.AddHours(1), comment = "c" });
        var readKeyAck = await reader.PostAsJsonAsync($"/api/v1/alerts/{id}/ack", new { comment = "on it" });
        var noComment = await reviewer.PostAsJsonAsync($"/api/v1/alerts/{id}/ack", new { comment = "  " });
        var ack = await reviewer.PostAsJsonAsync($"/api/v1/alerts/{id}/ack", new { comment = "Paging the platform team." });
        var rules = await reviewer.GetAsync("/api/v1/alerts/rules");

        Assert.Equal([HttpStatusCode.Forbidden, HttpStatusCode.Forbidden, HttpStatusCode.Forbidden, HttpStatusCode.Forbidden, HttpStatusCode.Forbidden],
            new[] { create, update, delete, silence, readKeyAck }.Select(r => r.StatusCode));
        Assert.Equal(HttpStatusCode.OK, rules.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, noComment.StatusCode);
        Assert.Equal("comment", (await JsonAsync(noComment)).GetProperty("field").GetString());
        Assert.Equal(HttpStatusCode.OK, ack.StatusCode);
        var acked = await JsonAsync(ack);
        Assert.Equal(($"user:{AlertsAppFixture.ReviewerEmail}", "Paging the platform team."), (acked.GetProperty("ackedBy").GetString(), acked.GetProperty("ackComment").GetString()));
        Assert.Equal(1, (await fixture.App.Get<AlertRuleStore>().GetAsync(Guid.Parse(ruleId!)))!.Revision);
    }

    [Fact]
    public async Task Silences_MuteTheBellAndShowOnTheAlert_ExpireOverHttp_BadOnes400ByField()
    {
        await fixture.App.Get<AlertRuleStore>().CreateAsync(AlertsWorld.Latency("api silence", "api-silence") with { Labels = new Dictionary<string, string> { ["team"] = "payments" } }, "test");
        fixture.Metrics.Set("api-silence", AlertMetricKind.LatencyP99, 95);
        await fixture.App.Get<AlertEvaluator>().EvaluateAsync(force: true);
        using var client = fixture.Client(fixture.WriteKey);
        var id = (await client.GetFromJsonAsync<JsonElement>("/api/v1/alerts?model=api-silence"))[0].GetProperty("id").GetString();
        var before = await client.GetFromJsonAsync<AlertCounts>("/api/v1/alerts/counts");

        var created = await client.PostAsJsonAsync("/api/v1/alerts/silences", new { matchers = new[] { new { label = "team", op = "=", value = "payments" } }, endsAt = DateTime.UtcNow.AddHours(1), comment = "payments deploy" });
        var silenceId = (await JsonAsync(created)).GetProperty("id").GetString();
        var muted = await client.GetFromJsonAsync<JsonElement>($"/api/v1/alerts/{id}");
        var during = await client.GetFromJsonAsync<AlertCounts>("/api/v1/alerts/counts");
        var expired = await client.DeleteAsync($"/api/v1/alerts/silences/{silenceId}");
        var after = await client.GetFromJsonAsync<JsonElement>($"/api/v1/alerts/{id}");
        var listed = await client.GetFromJsonAsync<JsonElement>("/api/v1/alerts/silences?includeExpired=true");

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal(silenceId, muted.GetProperty("silencedBy").GetString());
        Assert.Equal(before!.Firing - 1, during!.Firing);
        Assert.Equal(HttpStatusCode.OK, expired.StatusCode);
        Assert.Equal(JsonValueKind.Null, after.GetProperty("silencedBy").ValueKind);
        Assert.Contains(listed.EnumerateArray(), s => s.GetProperty("id").GetString() == silenceId && s.GetProperty("expiredBy").GetString() == "api-key:alerts-writer");

        var bad = new (object Body, string Field)[]
        {
            (new { matchers = Array.Empty<object>(), endsAt = DateTime.UtcNow.AddHours(1), comment = "c" }, "matchers"),
            (new { matchers = new[] { new { label = "model", op = "~~", value = "x" } }, endsAt = DateTime.UtcNow.AddHours(1), comment = "c" }, "matchers[0]"),
            (new { matchers = new[] { new { label = "model", op = "=", value = "x" } }, endsAt = DateTime.UtcNow.AddHours(-1), comment = "c" }, "endsAt"),
            (new { matchers = new[] { new { label = "model", op = "=", value = "x" } }, comment = "c" }, "endsAt"),
            (new { matchers = new[] { new { label = "model", op = "=", value = "x" } }, endsAt = DateTime.UtcNow.AddHours(1), comment = "" }, "comment"),
        };
        foreach (var (body, field) in bad)
        {
            var response = await client.PostAsJsonAsync("/api/v1/alerts/silences", body);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal(field, (await JsonAsync(response)).GetProperty("field").GetString());
        }
    }

    [Theory]
    [InlineData("/api/v1/alerts?state=open", "state")]
    [InlineData("/api/v1/alerts?severity=page", "severity")]
    [InlineData("/api/v1/alerts?take=5000", "take")]
    [InlineData("/api/v1/alerts?rule=not-a-guid", "rule")]
    [InlineData("/api/v1/alerts?since=yesterday", "since")]
    [InlineData("/api/v1/alerts/not-a-guid", "id")]
    [InlineData("/api/v1/alerts/rules/not-a-guid", "id")]
    public async Task Query_BadValue_400NamingTheParameter(string url, string field)
    {
        using var client = fixture.Client(fixture.ReadKey);

        var response = await client.GetAsync(url);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(field, (await JsonAsync(response)).GetProperty("field").GetString());
    }

    [Theory]
    [InlineData("""{"model":"m"}""", "rule")]
    [InlineData("""{"rule":{"name":"r","metric":{"kind":"scoring.latency_p99"},"condition":{"kind":"above"}},"model":"m"}""", "rule.condition.threshold")]
    [InlineData("""{"rule":{"name":"r","metric":{"kind":"scoring.latency_p99"},"condition":{"kind":"above","threshold":1}}}""", "model")]
    [InlineData("""{"rule":{"name":"r","metric":{"kind":"scoring.latency_p99"},"condition":{"kind":"above","threshold":1}},"model":"m","days":91}""", "days")]
    [InlineData("""{"rule":{"name":"r","metric":{"kind":"scoring.latency_p99"},"condition":{"kind":"above","threshold":1}},"model":"m","days":0}""", "days")]
    public async Task Backtest_BadRequest_400NamingTheField(string body, string field)
    {
        using var client = fixture.Client(fixture.WriteKey);

        var response = await client.PostAsync("/api/v1/alerts/rules/backtest", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(field, (await JsonAsync(response)).GetProperty("field").GetString());
    }

    [Fact]
    public async Task Backtest_ThreeHoursOverTheThreshold_OneFiringPeriodAtTheRightPlace()
    {
        // 30 days at a 1-minute interval replay at span / 720 = one point an hour, on clock hours.
        var now = DateTime.UtcNow;
        var start = new DateTime(now.Year, now.Month, now.Day, now.Hour, 0, 0, DateTimeKind.Utc).AddDays(-5);
        fixture.Metrics.Set("api-backtest", AlertMetricKind.LatencyP99, at => new MetricPoint(at, at >= start && at < start.AddHours(3) ? 80 : 10, 500));
        using var client = fixture.Client(fixture.WriteKey);

        var response = await client.PostAsJsonAsync("/api/v1/alerts/rules/backtest", new { rule = Rule("api backtest", "api-backtest"), model = "api-backtest", days = 30 });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var result = await JsonAsync(response);
        var firing = result.GetProperty("firing");
        Assert.Equal(1, firing.GetArrayLength());
        Assert.Equal(start, firing[0].GetProperty("from").GetDateTime().ToUniversalTime());
        Assert.Equal(start.AddHours(3), firing[0].GetProperty("to").GetDateTime().ToUniversalTime());
        var points = result.GetProperty("points").EnumerateArray().ToList();
        Assert.InRange(points.Count, 719, 721);
        Assert.Equal(3, points.Count(p => p.GetProperty("state").GetString() == AlertState.Firing));
        Assert.All(points, p => Assert.Equal(50, p.GetProperty("upper").GetDouble()));
    }

    [Fact]
    public async Task CreateRule_UnknownModelOrChannel_OrAModelOnJobFailures_400NamingTheField()
    {
        using var client = fixture.Client(fixture.WriteKey);
        var jobs = new { name = "api refs jobs", model = "api-refs", metric = new { kind = "jobs.failed" }, condition = new { kind = "above", threshold = 0 }, window = "1h" };
        var channel = new { name = "api refs channel", model = "api-refs", metric = new { kind = "scoring.latency_p99" }, condition = new { kind = "above", threshold = 50 }, window = "5m", channels = new[] { Guid.NewGuid() } };

        var unknownModel = await client.PostAsJsonAsync("/api/v1/alerts/rules", Rule("api refs model", "never-registered"));
        var unknownChannel = await client.PostAsJsonAsync("/api/v1/alerts/rules", channel);
        var jobsWithModel = await client.PostAsJsonAsync("/api/v1/alerts/rules", jobs);
        var jobsWithout = await client.PostAsJsonAsync("/api/v1/alerts/rules", jobs with { model = (string)null! });

        Assert.Equal([HttpStatusCode.BadRequest, HttpStatusCode.BadRequest, HttpStatusCode.BadRequest, HttpStatusCode.Created],
            new[] { unknownModel, unknownChannel, jobsWithModel, jobsWithout }.Select(r => r.StatusCode));
        var fields = new List<string?>();
        foreach (var refused in new[] { unknownModel, unknownChannel, jobsWithModel }) fields.Add((await JsonAsync(refused)).GetProperty("field").GetString());
        Assert.Equal(["model", "channels", "model"], fields);
        var written = (await fixture.App.Get<AlertRuleStore>().ListAsync()).Where(r => r.Name.StartsWith("api refs", StringComparison.Ordinal)).ToList();
        Assert.Equal([("api refs jobs", (string?)null)], written.Select(r => (r.Name, r.Spec.Model)));
    }

    [Fact]
    public async Task Backtest_ReviewerOrReadKey_AllowedAsInTheEditor_ItChangesNothing()
    {
        fixture.Metrics.Set("api-backtest-read", AlertMetricKind.LatencyP99, 10);
        using var reviewer = await fixture.App.SignedInClientAsync(AlertsAppFixture.ReviewerEmail, AlertsAppFixture.ReviewerPassword);
        using var reader = fixture.Client(fixture.ReadKey);
        var body = new { rule = Rule("api backtest read", "api-backtest-read"), model = "api-backtest-read", days = 1 };
        var rulesBefore = (await fixture.App.Get<AlertRuleStore>().ListAsync()).Count;

        var byReviewer = await reviewer.PostAsJsonAsync("/api/v1/alerts/rules/backtest", body);
        var byReadKey = await reader.PostAsJsonAsync("/api/v1/alerts/rules/backtest", body);

        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK), (byReviewer.StatusCode, byReadKey.StatusCode));
        Assert.Equal("api-backtest-read", (await JsonAsync(byReviewer)).GetProperty("model").GetString());
        Assert.Equal(rulesBefore, (await fixture.App.Get<AlertRuleStore>().ListAsync()).Count);
    }

    [Fact]
    public async Task AddDefaults_UnknownModel404_BadName400_RegisteredModelGetsFourThenNone()
    {
        using var client = fixture.Client(fixture.WriteKey);
        await using (var connection = new NpgsqlConnection(fixture.App.ConnectionString))
        {
            var gate = JsonSerializer.Serialize(Scoring.ScoringFixture.LenientGate, FraudWorkbench.Core.Data.DatasetSchema.Json);
            await connection.ExecuteAsync("INSERT INTO registered_models (id, name, gate, created_by, created_at) VALUES (gen_random_uuid(), 'api-defaults', @gate::jsonb, 'test', now())", new { gate });
        }

        var unknown = await client.PostAsJsonAsync("/api/v1/alerts/rules/defaults", new { model = "never-registered" });
        var badName = await client.PostAsJsonAsync("/api/v1/alerts/rules/defaults", new { model = "no spaces please" });
        var first = await client.PostAsJsonAsync("/api/v1/alerts/rules/defaults", new { model = "api-defaults" });
        var second = await client.PostAsJsonAsync("/api/v1/alerts/rules/defaults", new { model = "api-defaults" });

        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal((HttpStatusCode.BadRequest, "model"), (badName.StatusCode, (await JsonAsync(badName)).GetProperty("field").GetString()));
        Assert.Equal(4, (await JsonAsync(first)).GetArrayLength());
        Assert.Equal(0, (await JsonAsync(second)).GetArrayLength());
    }

    [Fact]
    public async Task Evaluation_RuleCreatedOverHttp_TheBackgroundServiceRaisesItWithoutBeingAsked()
    {
        // Creating a rule signals the evaluation service, which evaluates at once (not at the next 10 s tick).
        fixture.Metrics.Set("api-live", AlertMetricKind.LatencyP99, 120);
        using var client = fixture.Client(fixture.WriteKey);
        var started = DateTime.UtcNow;

        Assert.Equal(HttpStatusCode.Created, (await client.PostAsJsonAsync("/api/v1/alerts/rules", Rule("api live", "api-live"))).StatusCode);
        await Wait.UntilAsync(async () => (await client.GetFromJsonAsync<JsonElement>("/api/v1/alerts?model=api-live&state=firing")).GetArrayLength() == 1, 8, "the alert");

        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(8));
    }
}
