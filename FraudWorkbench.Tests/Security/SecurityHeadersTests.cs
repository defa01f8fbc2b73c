using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using FraudWorkbench.Tests.Infrastructure;

namespace FraudWorkbench.Tests.Security;

[Trait("Category", "Database")]
public sealed partial class SecurityHeadersTests(AppFixture fixture) : IClassFixture<AppFixture>
{
    [Fact]
    public async Task Get_PagesApiDocsStaticFilesAndErrors_AllCarryTheSecurityHeaders()
    {
        using var signedIn = await fixture.App.SignedInClientAsync();
        using var anonymous = fixture.App.CreateHttpClient();
        using var keyed = fixture.App.CreateHttpClient();
        keyed.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AppFixture.BootstrapApiKey);

        var cases = new (HttpClient Client, string Path, HttpStatusCode Status)[]
        {
            (signedIn, "/", HttpStatusCode.OK),
            (signedIn, "/datasets", HttpStatusCode.OK),
            (anonymous, "/account/login", HttpStatusCode.OK),
            (anonymous, "/", HttpStatusCode.Redirect),
            (keyed, "/api/v1/datasets", HttpStatusCode.OK),
            (anonymous, "/api/v1/datasets", HttpStatusCode.Unauthorized),
            (keyed, $"/api/v1/datasets/{Guid.NewGuid()}", HttpStatusCode.NotFound),
            (keyed, "/api/v1/datasets/not-a-guid", HttpStatusCode.BadRequest),
            (keyed, "/openapi/v1.json", HttpStatusCode.OK),
            (signedIn, "/api/docs/", HttpStatusCode.OK),
            (anonymous, "/_framework/blazor.web.js", HttpStatusCode.OK),
            (anonymous, "/favicon.svg", HttpStatusCode.OK),
            (anonymous, "/healthz", HttpStatusCode.OK),
            (signedIn, "/no-such-page", HttpStatusCode.NotFound),
        };

        foreach (var (client, path, status) in cases)
        {
            var response = await client.GetAsync(path);
            Assert.True(status == response.StatusCode, $"{path}: {response.StatusCode}");
            var policy = Directives(response);
            Assert.True(policy.Count > 0, $"{path}: no Content-Security-Policy");
            Assert.Matches("^'self' 'nonce-[A-Za-z0-9+/]{24}'$", policy["script-src"]);
            Assert.Equal("'self' 'unsafe-inline'", policy["style-src"]);
            Assert.Equal("'self'", policy["default-src"]);
            Assert.Equal("'self'", policy["connect-src"]);
            Assert.Equal("'self' data:", policy["img-src"]);
            Assert.Equal("'none'", policy["frame-ancestors"]);
            Assert.Equal("'none'", policy["object-src"]);
            Assert.Equal("'self'", policy["base-uri"]);
            Assert.Equal("'self'", policy["form-action"]);
            Assert.Equal("nosniff", Header(response, "X-Content-Type-Options"));
            Assert.Equal("no-referrer", Header(response, "Referrer-Policy"));
        }
    }

    [Fact]
    public async Task Get_TwoRequests_EachHasItsOwnNonce()
    {
        using var client = await fixture.App.SignedInClientAsync();

        var first = Directives(await client.GetAsync("/"))["script-src"];
        var second = Directives(await client.GetAsync("/"))["script-src"];

        Assert.NotEqual(first, second);
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/api/docs/")]
    public async Task Get_Page_EveryInlineScriptCarriesTheNonceAndEveryScriptIsSameOrigin(string path)
    {
        using var client = await fixture.App.SignedInClientAsync();

        var response = await client.GetAsync(path);
        var html = await response.Content.ReadAsStringAsync();

        var nonce = NonceInPolicy().Match(Directives(response)["script-src"]).Groups[1].Value;
        var scripts = ScriptTag().Matches(html).Select(m => WebUtility.HtmlDecode(m.Value)).ToList();
        Assert.NotEmpty(scripts);
        foreach (var script in scripts)
        {
            if (SourceAttribute().Match(script) is { Success: true } source)
            {
                Assert.False(source.Groups[1].Value.Contains("//", StringComparison.Ordinal), $"{path}: a script from another host: {script}");
            }
            else
            {
                Assert.Contains($"nonce=\"{nonce}\"", script);
            }
        }

        // Nor a stylesheet or other resource from another host (a CDN bundle, say); what scripts load later is the browser test's part.
        Assert.DoesNotMatch("(src|href)=\"(https?:)?//", html);
    }

    private static string Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) || response.Content.Headers.TryGetValues(name, out values) ? string.Join(",", values) : "";

    private static Dictionary<string, string> Directives(HttpResponseMessage response) =>
        Header(response, "Content-Security-Policy")
            .Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(d => d.Split(' ', 2))
            .ToDictionary(d => d[0], d => d.Length > 1 ? d[1] : "");

    [GeneratedRegex("'nonce-([^']+)'")]
    private static partial Regex NonceInPolicy();

    [GeneratedRegex("<script\\b[^>]*>", RegexOptions.IgnoreCase)]
    private static partial Regex ScriptTag();

    [GeneratedRegex("\\bsrc=\"([^\"]*)\"", RegexOptions.IgnoreCase)]
    private static partial Regex SourceAttribute();
}
