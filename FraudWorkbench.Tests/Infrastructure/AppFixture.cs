using System.Net;
using System.Text.RegularExpressions;

namespace FraudWorkbench.Tests.Infrastructure;

/// <summary>One running app (real Kestrel, own database) shared by the tests of a class.</summary>
public sealed class AppFixture : IAsyncLifetime
{
    public const string BootstrapApiKey = "fwb_bootstrap_key_for_tests_0123456789abcdef";

    public WorkbenchAppFactory App { get; private set; } = default!;

    public async Task InitializeAsync()
    {
        App = new WorkbenchAppFactory(await PostgresServer.CreateDatabaseAsync(), new Dictionary<string, string?>
        {
            ["FRAUDWB_BOOTSTRAP_API_KEY"] = BootstrapApiKey,
        });
        App.StartServer();
    }

    public async Task DisposeAsync() => await App.DisposeAsync();

    /// <summary>Signs in through the real form (antiforgery token included) and returns the response to the POST.</summary>
    public async Task<HttpResponseMessage> SignInAsync(HttpClient client, string email, string password)
    {
        var page = await client.GetStringAsync("/account/login");
        var token = Regex.Match(page, "name=\"__RequestVerificationToken\" value=\"([^\"]+)\"").Groups[1].Value;
        Assert.False(string.IsNullOrEmpty(token), "the sign-in form must carry an antiforgery token");
        return await client.PostAsync("/account/login", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["_handler"] = "login",
            ["__RequestVerificationToken"] = token,
            ["Input.Email"] = email,
            ["Input.Password"] = password,
        }));
    }

    public async Task<HttpClient> SignedInClientAsync(string email, string password)
    {
        var client = App.CreateHttpClient(cookies: true);
        var response = await SignInAsync(client, email, password);
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        return client;
    }
}
