using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Dapper;
using FraudWorkbench.Api;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Jobs;
using FraudWorkbench.Tests.Infrastructure;
using Microsoft.AspNetCore.Mvc;
using Npgsql;

namespace FraudWorkbench.Tests.Api;

[Trait("Category", "Database")]
public sealed class AuthTests(AppFixture fixture) : IClassFixture<AppFixture>
{
    private WorkbenchAppFactory App => fixture.App;

    [Theory]
    [InlineData("/")]
    [InlineData("/jobs")]
    [InlineData("/admin/users")]
    [InlineData("/openapi/v1.json")]
    [InlineData("/api/docs/")]
    public async Task Get_Anonymous_RedirectsToSignIn(string path)
    {
        using var client = App.CreateHttpClient();

        var response = await client.GetAsync(path);

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/account/login", response.Headers.Location!.AbsolutePath);
        Assert.Contains("ReturnUrl=" + Uri.EscapeDataString(path), response.Headers.Location.Query);
    }

    [Fact]
    public async Task Get_HealthAndReadiness_AnonymousAndHealthy()
    {
        using var client = App.CreateHttpClient();

        Assert.Equal("Healthy", await client.GetStringAsync("/healthz"));
        Assert.Equal("Healthy", await client.GetStringAsync("/readyz"));
    }

    [Fact]
    public async Task WhoAmI_ApiKeyAsBearerOrHeader_IdentifiesKeyAndScopes()
    {
        var (_, secret) = await App.Get<ApiKeyStore>().CreateAsync("partner-acme", [Scopes.Predict, Scopes.Read], null, "test");
        using var client = App.CreateHttpClient();

        using var bearer = new HttpRequestMessage(HttpMethod.Get, "/api/v1/whoami") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", secret) } };
        using var header = new HttpRequestMessage(HttpMethod.Get, "/api/v1/whoami") { Headers = { { "X-Api-Key", secret } } };
        var viaBearer = await (await client.SendAsync(bearer)).Content.ReadFromJsonAsync<WhoAmI>();
        var viaHeader = await (await client.SendAsync(header)).Content.ReadFromJsonAsync<WhoAmI>();

        Assert.Equal(("partner-acme", "api-key", "api-key:partner-acme"), (viaBearer!.Name, viaBearer.Kind, viaBearer.Actor));
        Assert.Equal(["predict", "read"], viaBearer.Scopes.Order());
        Assert.Equal(viaBearer.Name, viaHeader!.Name);
    }

    [Fact]
    public async Task WhoAmI_BootstrapKeyFromConfiguration_HasAdminScope()
    {
        using var client = App.CreateHttpClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AppFixture.BootstrapApiKey);

        var me = await client.GetFromJsonAsync<WhoAmI>("/api/v1/whoami");

        Assert.Equal("bootstrap", me!.Name);
        Assert.Equal(["admin"], me.Scopes);
    }

    [Fact]
    public async Task WhoAmI_RevokedExpiredUnknownOrMissingKey_401ProblemDetails()
    {
        var keys = App.Get<ApiKeyStore>();
        var (revoked, revokedSecret) = await keys.CreateAsync("to-revoke", [Scopes.Read], null, "test");
        await keys.RevokeAsync(revoked.Id, "test");
        var (expired, expiredSecret) = await keys.CreateAsync("to-expire", [Scopes.Read], DateTime.UtcNow.AddHours(1), "test");
        await using (var connection = new NpgsqlConnection(App.ConnectionString))
        {
            await connection.ExecuteAsync("UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = @Id", new { expired.Id });
        }

        using var client = App.CreateHttpClient();
        foreach (var secret in new[] { revokedSecret, expiredSecret, "fwb_not_a_real_key_000000000000000000000", null })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/whoami");
            if (secret is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);

            var response = await client.SendAsync(request);

            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
            Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
            var problem = await response.Content.ReadFromJsonAsync<ProblemDetails>();
            Assert.Equal(401, problem!.Status);
        }
    }

    [Fact]
    public async Task CancelJob_ReadOnlyKey_403AndJobUntouched_WriteKey_Cancels()
    {
        var job = await App.Get<JobStore>().EnqueueAsync("test.never-handled", new { }, "test");
        var keys = App.Get<ApiKeyStore>();
        var (_, reader) = await keys.CreateAsync("reader", [Scopes.Read], null, "test");
        var (_, writer) = await keys.CreateAsync("writer", [Scopes.Write], null, "test");
        using var client = App.CreateHttpClient();

        var refused = await SendAsync(client, HttpMethod.Post, $"/api/v1/jobs/{job.Id}/cancel", reader);
        var stillQueued = (await App.Get<JobStore>().GetAsync(job.Id))!.Status;
        var accepted = await SendAsync(client, HttpMethod.Post, $"/api/v1/jobs/{job.Id}/cancel", writer);

        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal(JobStatus.Queued, stillQueued);
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        Assert.Equal(JobStatus.Cancelled, (await accepted.Content.ReadFromJsonAsync<JobResponse>())!.Status);
        var again = await SendAsync(client, HttpMethod.Post, $"/api/v1/jobs/{job.Id}/cancel", writer);
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
    }

    [Fact]
    public async Task Jobs_BadQueryOrUnknownId_ProblemDetailsNamingTheField()
    {
        using var client = App.CreateHttpClient();

        var badStatus = await SendAsync(client, HttpMethod.Get, "/api/v1/jobs?status=exploded", AppFixture.BootstrapApiKey);
        var badLimit = await SendAsync(client, HttpMethod.Get, "/api/v1/jobs?limit=0", AppFixture.BootstrapApiKey);
        var missing = await SendAsync(client, HttpMethod.Get, $"/api/v1/jobs/{Guid.NewGuid()}", AppFixture.BootstrapApiKey);

        Assert.Equal(HttpStatusCode.BadRequest, badStatus.StatusCode);
        Assert.Contains("\"field\":\"status\"", await badStatus.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.BadRequest, badLimit.StatusCode);
        Assert.Contains("\"field\":\"limit\"", await badLimit.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task Reviewer_SignedIn_CanReadButWriteIsRefusedByTheServer()
    {
        await App.Get<UserStore>().CreateAsync("lead@example.com", "Team Lead", Roles.Reviewer, "reviewer-password-1", "test");
        var job = await App.Get<JobStore>().EnqueueAsync("test.never-handled", new { }, "test");
        using var client = await fixture.SignedInClientAsync("lead@example.com", "reviewer-password-1");

        var dashboard = await client.GetAsync("/");
        var jobs = await client.GetAsync("/api/v1/jobs");
        var cancel = await client.PostAsync($"/api/v1/jobs/{job.Id}/cancel", null);
        var admin = await client.GetAsync("/admin/users");

        Assert.Equal(HttpStatusCode.OK, dashboard.StatusCode);
        Assert.Equal(HttpStatusCode.OK, jobs.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, cancel.StatusCode);
        Assert.Equal(JobStatus.Queued, (await App.Get<JobStore>().GetAsync(job.Id))!.Status);
        Assert.Equal(HttpStatusCode.Redirect, admin.StatusCode);
        Assert.Equal("/account/access-denied", admin.Headers.Location!.AbsolutePath);
        var me = await client.GetFromJsonAsync<WhoAmI>("/api/v1/whoami");
        Assert.Equal(("user", "Reviewer", "user:lead@example.com"), (me!.Kind, me.Role, me.Actor));
    }

    [Fact]
    public async Task SignIn_RepeatedWrongPasswords_SlowedDownAlikeForRealAndUnknownAccountsNeverLocked()
    {
        await App.Get<UserStore>().CreateAsync("victim@example.com", "", Roles.DataScientist, "the-right-password", "test");
        using var client = App.CreateHttpClient(cookies: true);

        async Task<List<string>> AttemptsAsync(string email)
        {
            var messages = new List<string>();
            for (var i = 0; i < 6; i++)
            {
                var response = await fixture.SignInAsync(client, email, "wrong-password-" + i);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                messages.Add(System.Text.RegularExpressions.Regex.Match(await response.Content.ReadAsStringAsync(), "data-testid=\"login-error\">([^<]*)<").Groups[1].Value);
            }

            return messages;
        }

        var real = await AttemptsAsync("victim@example.com");
        var unknown = await AttemptsAsync("ghost@example.com");
        await Task.Delay(TimeSpan.FromSeconds(1.2));
        var rightPassword = await fixture.SignInAsync(client, "victim@example.com", "the-right-password");

        Assert.All(real.Take(5), m => Assert.Equal("Wrong email or password.", m));
        Assert.Equal("Too many sign-in attempts. Try again in 1 s.", real[5]);
        Assert.Equal(real, unknown);
        Assert.Equal(HttpStatusCode.Redirect, rightPassword.StatusCode); // slowed down, not locked
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/")).StatusCode);
        var audit = await App.Get<AuditLog>().PageAsync(0, 10, "victim@example.com");
        Assert.Contains(audit.Items, e => e.Action == "user.sign-in-throttled");
    }

    [Fact]
    public async Task SignIn_OneTimePassword_MustChooseANewPasswordFirst()
    {
        await App.Get<UserStore>().CreateAsync("new@example.com", "", Roles.DataScientist, "one-time-password-1", "test", mustChangePassword: true);
        using var client = App.CreateHttpClient(cookies: true);

        var signIn = await fixture.SignInAsync(client, "new@example.com", "one-time-password-1");
        var home = await client.GetAsync("/");

        Assert.Equal("/account/password", new Uri(App.BaseAddress, signIn.Headers.Location!).AbsolutePath);
        Assert.Equal("/account/password", new Uri(App.BaseAddress, home.Headers.Location!).AbsolutePath);
        Assert.Equal(HttpStatusCode.Forbidden, (await client.GetAsync("/api/v1/jobs")).StatusCode); // not through the API either
        Assert.Equal(HttpStatusCode.Forbidden, (await client.GetAsync("/openapi/v1.json")).StatusCode); // nor a path that looks like a file
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/account/password")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/healthz")).StatusCode);
    }

    [Fact]
    public async Task ChangePassword_FromOneTimePassword_NewPasswordWorksOldOneNot()
    {
        await App.Get<UserStore>().CreateAsync("changer@example.com", "", Roles.DataScientist, "one-time-password-2", "test", mustChangePassword: true);
        using var client = App.CreateHttpClient(cookies: true);
        await fixture.SignInAsync(client, "changer@example.com", "one-time-password-2");
        var form = await client.GetStringAsync("/account/password");
        var token = System.Text.RegularExpressions.Regex.Match(form, "name=\"__RequestVerificationToken\" value=\"([^\"]+)\"").Groups[1].Value;
        Assert.Contains("At least 12 characters", form); // the rule is there before the user types

        var mismatch = await client.PostAsync("/account/password", Form(token, "one-time-password-2", "my-own-password-1", "my-own-password-2"));
        var changed = await client.PostAsync("/account/password", Form(token, "one-time-password-2", "my-own-password-1", "my-own-password-1"));
        var home = await client.GetAsync("/");

        Assert.Contains("The two new passwords differ.", await mismatch.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.Redirect, changed.StatusCode);
        Assert.Equal(HttpStatusCode.OK, home.StatusCode);
        var users = App.Get<UserStore>();
        Assert.Equal(SignInStatus.Failed, (await users.SignInAsync("changer@example.com", "one-time-password-2")).Status);
        var signIn = await users.SignInAsync("changer@example.com", "my-own-password-1");
        Assert.Equal((SignInStatus.Succeeded, false), (signIn.Status, signIn.User!.MustChangePassword));

        static FormUrlEncodedContent Form(string token, string current, string next, string confirm) => new(new Dictionary<string, string>
        {
            ["_handler"] = "change-password",
            ["__RequestVerificationToken"] = token,
            ["Input.Current"] = current,
            ["Input.New"] = next,
            ["Input.Confirm"] = confirm,
        });
    }

    [Fact]
    public async Task OpenApi_WithKey_DescribesTheEndpoints()
    {
        using var client = App.CreateHttpClient();

        var document = await SendAsync(client, HttpMethod.Get, "/openapi/v1.json", AppFixture.BootstrapApiKey);

        var json = await document.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, document.StatusCode);
        Assert.Contains("/api/v1/whoami", json);
        Assert.Contains("/api/v1/jobs/{id}/cancel", json);

        // The docs' examples are transactions of the shipped sample data, whose header is the truth here.
        var header = File.ReadLines(Path.Combine(AppContext.BaseDirectory, "samples", "transactions-month-a.csv")).First().Split(',');
        using var parsed = System.Text.Json.JsonDocument.Parse(json);
        var predict = parsed.RootElement.GetProperty("paths").GetProperty("/api/v1/predict").GetProperty("post")
            .GetProperty("requestBody").GetProperty("content").GetProperty("application/json").GetProperty("example");
        var columns = predict.GetProperty("transaction").EnumerateObject().Select(p => p.Name).ToList();
        Assert.Equal(header.Where(c => c != "is_fraud"), columns);
        Assert.Equal(2, parsed.RootElement.GetProperty("paths").GetProperty("/api/v1/predict/batch").GetProperty("post")
            .GetProperty("requestBody").GetProperty("content").GetProperty("application/json").GetProperty("example").GetProperty("transactions").GetArrayLength());
        Assert.DoesNotContain("card_id", json);
    }

    [Fact]
    public async Task RequestLog_ApiCallWithKey_NeverContainsTheKey()
    {
        var (_, secret) = await App.Get<ApiKeyStore>().CreateAsync("log-check", [Scopes.Read], null, "test");
        using var client = App.CreateHttpClient();

        await SendAsync(client, HttpMethod.Get, "/api/v1/whoami", secret);
        await SendAsync(client, HttpMethod.Get, "/api/v1/whoami", secret[..^2] + "xx"); // a wrong key is a secret too

        Assert.Contains(App.Logs, l => l.Contains("/api/v1/whoami"));
        Assert.DoesNotContain(App.Logs, l => l.Contains(secret[8..]) || l.Contains(secret[8..^2]));
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpClient client, HttpMethod method, string path, string key)
    {
        using var request = new HttpRequestMessage(method, path) { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", key) } };
        return await client.SendAsync(request);
    }
}
