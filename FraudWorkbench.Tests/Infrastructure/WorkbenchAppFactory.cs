using System.Collections.Concurrent;
using FraudWorkbench.Core;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FraudWorkbench.Tests.Infrastructure;

/// <summary>
/// The real app on real Kestrel (a loopback port), against its own fresh database, with a
/// configured first Admin and the test job kinds registered.
/// </summary>
public class WorkbenchAppFactory : WebApplicationFactory<Program>
{
    public const string AdminEmail = "admin@example.com";
    public const string AdminPassword = "correct-horse-battery";

    private readonly Dictionary<string, string?> settings = new();
    private readonly string dataDirectory = Path.Combine(Path.GetTempPath(), "fwb-app-" + Guid.NewGuid().ToString("N")[..8]);

    public WorkbenchAppFactory(string connectionString, IDictionary<string, string?>? extra = null)
    {
        ConnectionString = connectionString;
        settings["ConnectionStrings:Postgres"] = connectionString;
        settings["FraudWorkbench:DataDirectory"] = dataDirectory;
        settings["FraudWorkbench:Accounts:AdminEmail"] = AdminEmail;
        settings["FraudWorkbench:Accounts:AdminPassword"] = AdminPassword;
        settings["FraudWorkbench:RequestLogging"] = "true"; // AuthTests read the request log for leaked keys
        settings["FraudWorkbench:Jobs:HeartbeatInterval"] = "00:00:00.500";
        settings["FraudWorkbench:Jobs:StaleAfter"] = "00:00:05";
        settings["FraudWorkbench:Jobs:PollInterval"] = "00:00:01";
        settings["FraudWorkbench:Jobs:ProgressThrottle"] = "00:00:00";
        foreach (var (key, value) in extra ?? new Dictionary<string, string?>()) settings[key] = value;
        UseKestrel(0);
    }

    public string ConnectionString { get; }

    /// <summary>Where this app keeps its artifacts; a second app given the same directory and database serves the same models.</summary>
    public string DataDirectory => settings["FraudWorkbench:DataDirectory"]!;

    /// <summary>Every log message the app wrote, formatted, for checks that secrets never reach the log.</summary>
    public ConcurrentQueue<string> Logs { get; } = new();

    public T Get<T>() where T : notnull => Services.GetRequiredService<T>();

    /// <summary>The server's base address, e.g. http://127.0.0.1:41234.</summary>
    public Uri BaseAddress
    {
        get
        {
            StartServer();
            var address = Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            return new Uri(address.Replace("[::]", "127.0.0.1").Replace("localhost", "127.0.0.1"));
        }
    }

    /// <summary>An HttpClient over real HTTP, with its own cookie jar and no automatic redirects.</summary>
    public HttpClient CreateHttpClient(bool cookies = false) =>
        new(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = cookies, CookieContainer = new System.Net.CookieContainer() })
        {
            BaseAddress = BaseAddress,
        };

    /// <summary>Signs in through the real form (antiforgery token included) and returns the response to the POST.</summary>
    public static async Task<HttpResponseMessage> SignInAsync(HttpClient client, string email, string password)
    {
        var page = await client.GetStringAsync("/account/login");
        var token = System.Text.RegularExpressions.Regex.Match(page, "name=\"__RequestVerificationToken\" value=\"([^\"]+)\"").Groups[1].Value;
        Assert.False(string.IsNullOrEmpty(token), "the sign-in form must carry an antiforgery token");
        return await client.PostAsync("/account/login", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["_handler"] = "login",
            ["__RequestVerificationToken"] = token,
            ["Input.Email"] = email,
            ["Input.Password"] = password,
        }));
    }

    /// <summary>A client with its own cookie jar, signed in as <paramref name="email"/> (the configured Admin by default).</summary>
    public async Task<HttpClient> SignedInClientAsync(string email = AdminEmail, string password = AdminPassword)
    {
        var client = CreateHttpClient(cookies: true);
        var response = await SignInAsync(client, email, password);
        Assert.Equal(System.Net.HttpStatusCode.Redirect, response.StatusCode);
        return client;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        foreach (var (key, value) in settings) builder.UseSetting(key, value);
        builder.ConfigureLogging(logging => logging.AddProvider(new CapturingLoggerProvider(Logs)));
        builder.ConfigureTestServices(services =>
        {
            services.AddJobHandler<StepsJobHandler>();
            services.AddJobHandler<FlakyJobHandler>();
        });
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        try { Directory.Delete(dataDirectory, recursive: true); } catch (DirectoryNotFoundException) { }
    }
}

internal sealed class CapturingLoggerProvider(ConcurrentQueue<string> sink) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, sink);

    public void Dispose() { }

    private sealed class Logger(string category, ConcurrentQueue<string> sink) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            // State too: structured properties (request headers, say) would land in a log store even if the message omits them.
            var properties = state is IEnumerable<KeyValuePair<string, object?>> pairs ? string.Join(";", pairs.Select(p => $"{p.Key}={p.Value}")) : "";
            sink.Enqueue($"{category}: {formatter(state, exception)} {properties} {exception}");
        }
    }
}
