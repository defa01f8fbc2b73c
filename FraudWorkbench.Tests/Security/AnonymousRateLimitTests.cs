using System.Net;
using System.Net.Http.Headers;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Tests.Infrastructure;

namespace FraudWorkbench.Tests.Security;

[Trait("Category", "Database")]
public sealed class AnonymousRateLimitTests : IAsyncLifetime
{
    private WorkbenchAppFactory app = default!;

    public async Task InitializeAsync()
    {
        app = new WorkbenchAppFactory(await PostgresServer.CreateDatabaseAsync(), new Dictionary<string, string?> { ["FraudWorkbench:Accounts:AnonymousRequestsPerMinute"] = "20" });
        app.StartServer();
    }

    public async Task DisposeAsync() => await app.DisposeAsync();

    [Fact]
    public async Task BogusKeys_PastTheAddressBudget_429WithRetryAfter_KnownKeysStaticFilesAndHealthStillServed()
    {
        var (_, known) = await app.Get<ApiKeyStore>().CreateAsync("known-partner", [Scopes.Read], null, "test");
        using var client = app.CreateHttpClient();
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(client, known)).StatusCode);

        var statuses = new List<HttpStatusCode>();
        HttpResponseMessage last = default!;
        for (var i = 0; i < 25; i++)
        {
            last = await SendAsync(client, $"fwb_guess_{i:D4}_0000000000000000000000000000");
            statuses.Add(last.StatusCode);
        }

        Assert.Equal(Enumerable.Repeat(HttpStatusCode.Unauthorized, 20), statuses.Take(20));
        Assert.Equal(Enumerable.Repeat(HttpStatusCode.TooManyRequests, 5), statuses.Skip(20));
        Assert.NotNull(last.Headers.RetryAfter);
        Assert.Equal("application/problem+json", last.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(client, known)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/healthz")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/_framework/blazor.web.js")).StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await client.GetAsync("/account/login")).StatusCode);
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpClient client, string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/whoami") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", key) } };
        return await client.SendAsync(request);
    }
}
