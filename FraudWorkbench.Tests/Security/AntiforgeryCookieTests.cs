using FraudWorkbench.Tests.Infrastructure;

namespace FraudWorkbench.Tests.Security;

/// <summary>Behind a TLS-terminating proxy (forwarded headers on, as the README asks), the antiforgery cookie must not travel over plain HTTP.</summary>
[Trait("Category", "Database")]
public sealed class AntiforgeryCookieTests : IAsyncLifetime
{
    private WorkbenchAppFactory app = default!;

    public async Task InitializeAsync()
    {
        app = new WorkbenchAppFactory(await PostgresServer.CreateDatabaseAsync(), new Dictionary<string, string?> { ["FORWARDEDHEADERS_ENABLED"] = "true" });
        app.StartServer();
    }

    public async Task DisposeAsync() => await app.DisposeAsync();

    [Fact]
    public async Task GetSignInForm_OverHttpsBehindAProxy_AntiforgeryCookieIsSecure()
    {
        var cookie = await AntiforgeryCookieAsync(forwardedProto: "https");

        Assert.Contains("; secure", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("; httponly", cookie, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task GetSignInForm_OverPlainHttp_AntiforgeryCookieStillSetSoALaptopWorks()
    {
        var cookie = await AntiforgeryCookieAsync(forwardedProto: null);

        Assert.DoesNotContain("; secure", cookie, StringComparison.OrdinalIgnoreCase);
    }

    private async Task<string> AntiforgeryCookieAsync(string? forwardedProto)
    {
        using var client = app.CreateHttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/account/login");
        if (forwardedProto is not null) request.Headers.Add("X-Forwarded-Proto", forwardedProto);

        var response = await client.SendAsync(request);

        response.EnsureSuccessStatusCode();
        Assert.True(response.Headers.TryGetValues("Set-Cookie", out var cookies), "the sign-in form sets the antiforgery cookie");
        return Assert.Single(cookies, c => c.StartsWith(".AspNetCore.Antiforgery.", StringComparison.Ordinal));
    }
}
