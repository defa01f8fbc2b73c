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
    public Task<HttpResponseMessage> SignInAsync(HttpClient client, string email, string password) => WorkbenchAppFactory.SignInAsync(client, email, password);

    public Task<HttpClient> SignedInClientAsync(string email, string password) => App.SignedInClientAsync(email, password);
}
