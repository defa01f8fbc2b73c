using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Tests.Infrastructure;

namespace FraudWorkbench.Tests.Db;

/// <summary>The app reaching its database through a proxy that can stall it (connections open, nothing answers) or cut it.</summary>
[Trait("Category", "Database")]
public sealed class DatabaseStallTests : IAsyncLifetime
{
    private TcpProxy proxy = default!;
    private WorkbenchAppFactory app = default!;

    public async Task InitializeAsync()
    {
        (proxy, var connectionString) = TcpProxy.For(await PostgresServer.CreateDatabaseAsync());
        // Shorter timeouts than the defaults (5 s to connect, 10 s per command) keep the test short; the bound has the
        // same form: the command timeout, then up to two connect timeouts spent asking the stalled server to cancel.
        connectionString += ";Timeout=3;Command Timeout=2";
        app = new WorkbenchAppFactory(connectionString, new Dictionary<string, string?> { ["FraudWorkbench:Api:RequestTimeout"] = "00:00:02" });
        app.StartServer();
    }

    public async Task DisposeAsync()
    {
        proxy.Restore();
        await app.DisposeAsync();
        await proxy.DisposeAsync();
    }

    [Fact]
    public async Task ApiRead_DatabaseStalled_Fast503WithRetryAfter_ThenRecovers()
    {
        var (_, key) = await app.Get<ApiKeyStore>().CreateAsync("stall-reader", [Scopes.Read], null, "test");
        using var client = app.CreateHttpClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/jobs")).StatusCode);

        proxy.Stall();
        var clock = Stopwatch.StartNew();
        var stalled = await client.GetAsync("/api/v1/jobs");
        var stalledTook = clock.Elapsed;
        clock.Restart();
        var ready = await client.GetAsync("/readyz");
        var readyTook = clock.Elapsed;
        proxy.Restore();

        Assert.Equal(HttpStatusCode.ServiceUnavailable, stalled.StatusCode);
        Assert.NotNull(stalled.Headers.RetryAfter);
        Assert.Equal("application/problem+json", stalled.Content.Headers.ContentType?.MediaType);
        Assert.True(stalledTook < TimeSpan.FromSeconds(2 + 2 * 3 + 1.5), $"the stalled read took {stalledTook}: {await stalled.Content.ReadAsStringAsync()}");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.True(readyTook < TimeSpan.FromSeconds(2.5), $"/readyz took {readyTook}"); // the check gives up after 1 s; the rest is a busy 2-core machine
        await Wait.UntilAsync(async () => (await client.GetAsync("/api/v1/jobs")).StatusCode == HttpStatusCode.OK, 30, "reads answer again");
    }

    [Fact]
    public async Task SignedInPage_DatabaseCut_503PageNot500()
    {
        using var client = await app.SignedInClientAsync();

        proxy.Cut();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/jobs") { Headers = { Accept = { new MediaTypeWithQualityHeaderValue("text/html") } } };
        var page = await client.SendAsync(request);
        proxy.Restore();

        Assert.Equal(HttpStatusCode.ServiceUnavailable, page.StatusCode);
        Assert.NotNull(page.Headers.RetryAfter);
        Assert.Contains("The database is unavailable", await page.Content.ReadAsStringAsync());
    }
}
