using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Alerts;
using FraudWorkbench.Tests.Alerts;
using FraudWorkbench.Tests.Infrastructure;

namespace FraudWorkbench.Tests.Api;

/// <summary>The app with webhooks allowed to reach loopback (the test's receiver) and short retries.</summary>
public sealed class AlertChannelsAppFixture : IAsyncLifetime
{
    public WorkbenchAppFactory App { get; private set; } = default!;

    public string WriterKey { get; private set; } = "";

    public string ReaderKey { get; private set; } = "";

    public async Task InitializeAsync()
    {
        App = new WorkbenchAppFactory(await PostgresServer.CreateDatabaseAsync(), new Dictionary<string, string?>
        {
            ["FRAUDWB_BOOTSTRAP_API_KEY"] = AppFixture.BootstrapApiKey,
            ["FraudWorkbench:Alerts:AllowPrivateNetworks"] = "true",
            ["FraudWorkbench:Alerts:InitialBackoff"] = "00:00:00.100",
            ["FraudWorkbench:Alerts:MaxBackoff"] = "00:00:00.200",
            ["FraudWorkbench:Alerts:MaxAttempts"] = "2",
        });
        App.StartServer();
        (_, WriterKey) = await App.Get<ApiKeyStore>().CreateAsync("alerts-writer", [Scopes.Write], null, "test", rateLimitPerMinute: 1_000_000);
        (_, ReaderKey) = await App.Get<ApiKeyStore>().CreateAsync("alerts-reader", [Scopes.Read], null, "test", rateLimitPerMinute: 1_000_000);
    }

    public HttpClient Client(string key)
    {
        var client = App.CreateHttpClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    public async Task DisposeAsync() => await App.DisposeAsync();
}

/// <summary>Channels, test sends, dead letters and resend over the real API, with a real receiver; the secret is shown once and never again.</summary>
[Trait("Category", "Database")]
public sealed class AlertChannelsApiTests(AlertChannelsAppFixture fixture) : IClassFixture<AlertChannelsAppFixture>, IAsyncLifetime
{
    private WebhookReceiver receiver = default!;

    public async Task InitializeAsync() => receiver = await WebhookReceiver.StartAsync();

    public async Task DisposeAsync() => await receiver.DisposeAsync();

    private static bool Signed(string secret, WebhookReceiver.Received request)
    {
        var timestamp = request.Headers["X-FraudWorkbench-Timestamp"];
        return request.Headers["X-FraudWorkbench-Signature"]
            == "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes($"{timestamp}.{request.Body}")));
    }

    private async Task<(Guid Id, string Secret)> CreateAsync(HttpClient client, string name)
    {
        var response = await client.PostAsJsonAsync("/api/v1/alerts/channels", new { name, kind = "alertmanager", url = receiver.Url().ToString(), global = false });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        var id = body.GetProperty("channel").GetProperty("id").GetGuid();
        Assert.Equal($"/api/v1/alerts/channels/{id}", response.Headers.Location!.OriginalString);
        return (id, body.GetProperty("secret").GetString()!);
    }

    [Fact]
    public async Task Channel_CreateTestRotate_SecretShownOnceNeverInAGetOrTheLog()
    {
        using var client = fixture.Client(fixture.WriterKey);
        var (id, secret) = await CreateAsync(client, "api-ops");

        var list = await client.GetStringAsync("/api/v1/alerts/channels");
        var one = await client.GetStringAsync($"/api/v1/alerts/channels/{id}");
        var tested = await client.PostAsync($"/api/v1/alerts/channels/{id}/test", null);
        await Wait.UntilAsync(() => Task.FromResult(receiver.Requests.Count == 1), 20, "the test notification");
        var rotated = await (await client.PostAsync($"/api/v1/alerts/channels/{id}/secret", null)).Content.ReadFromJsonAsync<JsonElement>();
        var newSecret = rotated.GetProperty("secret").GetString()!;
        Assert.Equal(HttpStatusCode.Accepted, (await client.PostAsync($"/api/v1/alerts/channels/{id}/test", null)).StatusCode);
        await Wait.UntilAsync(() => Task.FromResult(receiver.Requests.Count == 2), 20, "the second test notification");
        var afterRotation = await client.GetStringAsync($"/api/v1/alerts/channels/{id}");
        var deliveries = await client.GetStringAsync("/api/v1/alerts/deliveries");

        Assert.Matches("^[0-9a-f]{64}$", secret);
        Assert.NotEqual(secret, newSecret);
        Assert.Equal(HttpStatusCode.Accepted, tested.StatusCode);
        var first = receiver.Requests.First();
        var second = receiver.Requests.Last();
        Assert.True(Signed(secret, first));
        Assert.True(Signed(newSecret, second));
        Assert.False(Signed(secret, second));
        var payload = JsonDocument.Parse(first.Body).RootElement;
        Assert.Equal(("4", "api-ops", "Test notification"),
            (payload.GetProperty("version").GetString(), payload.GetProperty("receiver").GetString(), payload.GetProperty("alerts")[0].GetProperty("labels").GetProperty("alertname").GetString()));
        var channel = JsonDocument.Parse(one).RootElement;
        Assert.True(channel.GetProperty("hasSecret").GetBoolean());
        Assert.Equal("api-ops", channel.GetProperty("spec").GetProperty("name").GetString());
        foreach (var text in new[] { list, one, afterRotation, deliveries })
        {
            Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
            Assert.DoesNotContain(newSecret, text, StringComparison.Ordinal);
        }

        Assert.DoesNotContain(fixture.App.Logs, l => l.Contains(secret, StringComparison.Ordinal) || l.Contains(newSecret, StringComparison.Ordinal));
        var delivered = JsonDocument.Parse(await client.GetStringAsync("/api/v1/alerts/deliveries?status=delivered&take=10")).RootElement;
        Assert.Equal(2, delivered.EnumerateArray().Count(d => d.GetProperty("channelId").GetGuid() == id));
    }

    [Fact]
    public async Task Notifier_AlertFiresInTheApp_WebhookReceivedWithinFiveSeconds()
    {
        using var client = fixture.Client(fixture.WriterKey);
        var created = await client.PostAsJsonAsync("/api/v1/alerts/channels", new { name = "api-global", kind = "alertmanager", url = receiver.Url().ToString(), global = true, groupWait = "0s" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var ruleId = Guid.NewGuid();
        var now = DateTime.UtcNow;
        await using (var connection = new Npgsql.NpgsqlConnection(fixture.App.ConnectionString))
        {
            await connection.OpenAsync();
            await Dapper.SqlMapper.ExecuteAsync(connection, """
                INSERT INTO alert_rules (id, name, spec, enabled, created_by, created_at, updated_by, updated_at)
                VALUES (@ruleId, 'Scoring latency', '{"name":"Scoring latency"}', true, 'test', @now, 'test', @now);
                INSERT INTO alerts (id, rule_id, rule_name, model_name, fingerprint, state, severity, value, labels, annotations, active_at, fired_at, last_true_at, last_evaluated_at)
                VALUES (gen_random_uuid(), @ruleId, 'Scoring latency', 'card-fraud', @fingerprint, 'firing', 'critical', 73.5,
                    '{"alertname":"Scoring latency","model":"card-fraud","severity":"critical"}', '{"summary":"p99 73.5 ms"}', @now, @now, @now, @now)
                """, new { ruleId, now, fingerprint = AlertLabels.Fingerprint(ruleId, "card-fraud") });
        }

        // As the evaluator announces a newly firing alert; the notifier wakes on it rather than waiting for its tick.
        var published = DateTime.UtcNow;
        await fixture.App.Get<FraudWorkbench.Core.Events.EventHub>().PublishAsync(new AlertsChanged([new AlertNotice(Guid.NewGuid(), "Scoring latency", "card-fraud", "critical", "p99 73.5 ms")]));
        await Wait.UntilAsync(() => Task.FromResult(receiver.Requests.Any(r => r.Body.Contains("Scoring latency", StringComparison.Ordinal))), 5, "the webhook within 5 s");

        var request = receiver.Requests.First(r => r.Body.Contains("Scoring latency", StringComparison.Ordinal));
        Assert.True(request.At - published < TimeSpan.FromSeconds(5), $"{(request.At - published).TotalMilliseconds} ms");
        var body = JsonDocument.Parse(request.Body).RootElement;
        Assert.Equal(("firing", "api-global", "p99 73.5 ms"),
            (body.GetProperty("status").GetString(), body.GetProperty("receiver").GetString(), body.GetProperty("commonAnnotations").GetProperty("summary").GetString()));
        // Neither background loop failed along the way (each logs and carries on, which the receiver alone would not show).
        Assert.DoesNotContain(fixture.App.Logs, l => l.Contains("Grouping alerts into notifications failed", StringComparison.Ordinal)
            || l.Contains("The notification dispatcher failed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task DeadLetter_400FromReceiver_ListedThenResentAndDelivered()
    {
        receiver.Then(400);
        using var client = fixture.Client(fixture.WriterKey);
        var (id, _) = await CreateAsync(client, "api-dead-letters");

        var queued = await (await client.PostAsync($"/api/v1/alerts/channels/{id}/test", null)).Content.ReadFromJsonAsync<JsonElement>();
        var deliveryId = queued.GetProperty("id").GetGuid();
        JsonElement dead = default;
        await Wait.UntilAsync(async () =>
        {
            var list = JsonDocument.Parse(await client.GetStringAsync("/api/v1/alerts/deliveries?status=dead")).RootElement;
            dead = list.EnumerateArray().FirstOrDefault(d => d.GetProperty("id").GetGuid() == deliveryId);
            return dead.ValueKind == JsonValueKind.Object;
        }, 20, "the dead letter");
        var resent = await client.PostAsync($"/api/v1/alerts/deliveries/{deliveryId}/resend", null);
        var resentId = (await resent.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        await Wait.UntilAsync(async () => (await fixture.App.Get<NotificationChannelStore>().GetDeliveryAsync(resentId))!.Status == DeliveryStatus.Delivered, 20, "the resent delivery");
        var again = await client.PostAsync($"/api/v1/alerts/deliveries/{resentId}/resend", null);

        Assert.Equal((1, 400, "HTTP 400 Bad Request: scripted 400"), (dead.GetProperty("attempts").GetInt32(), dead.GetProperty("lastStatus").GetInt32(), dead.GetProperty("lastError").GetString()));
        Assert.Equal(HttpStatusCode.Accepted, resent.StatusCode);
        Assert.NotEqual(deliveryId, resentId);
        Assert.Equal(2, receiver.Requests.Count);
        Assert.Equal(receiver.Requests.First().Body, receiver.Requests.Last().Body);
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
    }

    [Fact]
    public async Task BadInput_EachA4xxNamingTheField_ReviewerKeyReadsButCannotWrite()
    {
        using var client = fixture.Client(fixture.WriterKey);
        using var reader = fixture.Client(fixture.ReaderKey);
        await CreateAsync(client, "api-taken");

        async Task<(HttpStatusCode, string?)> Send(HttpMethod method, string url, object? body = null)
        {
            using var request = new HttpRequestMessage(method, url) { Content = body is null ? null : JsonContent.Create(body) };
            var response = await client.SendAsync(request);
            var text = await response.Content.ReadAsStringAsync();
            return (response.StatusCode, text.Length > 0 && JsonDocument.Parse(text).RootElement.TryGetProperty("field", out var f) ? f.GetString() : null);
        }

        Assert.Equal((HttpStatusCode.BadRequest, "url"), await Send(HttpMethod.Post, "/api/v1/alerts/channels", new { name = "x", kind = "slack", url = "ftp://example.com/hook" }));
        Assert.Equal((HttpStatusCode.BadRequest, "kind"), await Send(HttpMethod.Post, "/api/v1/alerts/channels", new { name = "x", kind = "email", recipients = new[] { "ops@example.com" } }));
        Assert.Equal((HttpStatusCode.BadRequest, "recipients"), await Send(HttpMethod.Post, "/api/v1/alerts/channels", new { name = "x", kind = "alertmanager", url = receiver.Url().ToString(), recipients = new[] { "a@b.c" } }));
        Assert.Equal((HttpStatusCode.BadRequest, "groupWait"), await Send(HttpMethod.Post, "/api/v1/alerts/channels", new { name = "x", kind = "alertmanager", url = receiver.Url().ToString(), groupWait = "forever" }));
        Assert.Equal((HttpStatusCode.BadRequest, "groupBy"), await Send(HttpMethod.Post, "/api/v1/alerts/channels", new { name = "x", kind = "alertmanager", url = receiver.Url().ToString(), groupBy = new[] { "alert name" } }));
        Assert.Equal((HttpStatusCode.BadRequest, "groupBy"), await Send(HttpMethod.Post, "/api/v1/alerts/channels", new { name = "x", kind = "alertmanager", url = receiver.Url().ToString(), groupBy = new[] { "...", "model" } }));
        Assert.Equal((HttpStatusCode.BadRequest, "groupBy"), await Send(HttpMethod.Post, "/api/v1/alerts/channels", new { name = "x", kind = "alertmanager", url = receiver.Url().ToString(), groupBy = Enumerable.Range(0, 11).Select(i => $"l{i}").ToArray() }));
        Assert.Equal((HttpStatusCode.BadRequest, "groupBy"), await Send(HttpMethod.Post, "/api/v1/alerts/channels", new { name = "x", kind = "alertmanager", url = receiver.Url().ToString(), groupBy = "alertname" }));
        Assert.Equal((HttpStatusCode.BadRequest, "global"), await Send(HttpMethod.Post, "/api/v1/alerts/channels", new { name = "x", kind = "alertmanager", url = receiver.Url().ToString(), global = "yes" }));
        Assert.Equal((HttpStatusCode.Conflict, "name"), await Send(HttpMethod.Post, "/api/v1/alerts/channels", new { name = "API-TAKEN", kind = "alertmanager", url = receiver.Url().ToString() }));
        Assert.Equal((HttpStatusCode.BadRequest, "id"), await Send(HttpMethod.Get, "/api/v1/alerts/channels/not-a-guid"));
        Assert.Equal((HttpStatusCode.NotFound, "id"), await Send(HttpMethod.Get, $"/api/v1/alerts/channels/{Guid.NewGuid()}"));
        Assert.Equal((HttpStatusCode.NotFound, "id"), await Send(HttpMethod.Put, $"/api/v1/alerts/channels/{Guid.NewGuid()}", new { name = "x", kind = "alertmanager", url = receiver.Url().ToString() }));
        Assert.Equal((HttpStatusCode.NotFound, "id"), await Send(HttpMethod.Delete, $"/api/v1/alerts/channels/{Guid.NewGuid()}"));
        Assert.Equal((HttpStatusCode.NotFound, "id"), await Send(HttpMethod.Post, $"/api/v1/alerts/channels/{Guid.NewGuid()}/test"));
        Assert.Equal((HttpStatusCode.NotFound, "id"), await Send(HttpMethod.Post, $"/api/v1/alerts/deliveries/{Guid.NewGuid()}/resend"));
        Assert.Equal((HttpStatusCode.BadRequest, "status"), await Send(HttpMethod.Get, "/api/v1/alerts/deliveries?status=lost"));
        Assert.Equal((HttpStatusCode.BadRequest, "take"), await Send(HttpMethod.Get, "/api/v1/alerts/deliveries?take=0"));
        Assert.Equal((HttpStatusCode.BadRequest, "take"), await Send(HttpMethod.Get, "/api/v1/alerts/deliveries?take=many"));

        // A reader sees where a webhook points, not its path (a Slack webhook's path is its key); the writer sees it whole.
        var full = receiver.Url().ToString();
        var asReader = await reader.GetFromJsonAsync<JsonElement>("/api/v1/alerts/channels");
        var asWriter = await client.GetFromJsonAsync<JsonElement>("/api/v1/alerts/channels");
        string UrlOf(JsonElement list) => list.EnumerateArray().Single(c => c.GetProperty("spec").GetProperty("name").GetString() == "api-taken").GetProperty("spec").GetProperty("url").GetString()!;
        Assert.Equal(full, UrlOf(asWriter));
        Assert.Equal($"{receiver.Url().Scheme}://{receiver.Url().Authority}/…", UrlOf(asReader));
        Assert.Equal(HttpStatusCode.OK, (await reader.GetAsync("/api/v1/alerts/deliveries")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await reader.PostAsJsonAsync("/api/v1/alerts/channels", new { name = "r", kind = "alertmanager", url = receiver.Url().ToString() })).StatusCode);
        using var anonymous = fixture.App.CreateHttpClient();
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/v1/alerts/channels")).StatusCode);
        Assert.DoesNotContain(await fixture.App.Get<NotificationChannelStore>().ListAsync(), c => c.Name is "x" or "r");
    }
}
