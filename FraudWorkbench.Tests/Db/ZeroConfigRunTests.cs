using System.Text.RegularExpressions;
using FraudWorkbench.Tests.Infrastructure;

namespace FraudWorkbench.Tests.Db;

/// <summary>The README's run command: no connection string, the app runs its own PostgreSQL.</summary>
[Trait("Category", "Database")]
public sealed class ZeroConfigRunTests : IDisposable
{
    private readonly string dataDirectory = Path.Combine(Path.GetTempPath(), "fwb-zero-" + Guid.NewGuid().ToString("N")[..8]);

    private Dictionary<string, string> Environment => new() { ["FRAUDWB_DATA_DIR"] = dataDirectory };

    [Fact]
    public async Task Run_NoConfiguration_StartsOwnClusterPrintsAdminWhenReadyStopsItAndReusesIt()
    {
        var url = $"http://127.0.0.1:{AppProcess.FreePort()}";
        string password;
        await using (var first = AppProcess.Start(Environment, "--urls", url))
        {
            await first.WaitForOutputAsync("FraudWorkbench is ready", TimeSpan.FromSeconds(90));
            password = Regex.Match(first.Output, @"password: (\S+)").Groups[1].Value;
            using var client = new HttpClient { BaseAddress = new Uri(url) };
            Assert.Equal("Healthy", await client.GetStringAsync("/readyz"));
            await client.GetAsync("/api/v1/whoami");

            // The second banner comes after the host's start-up lines and says where to go and with what.
            var ready = first.Output[first.Output.LastIndexOf("FraudWorkbench is ready", StringComparison.Ordinal)..];
            Assert.True(first.Output.IndexOf("Application started", StringComparison.Ordinal) < first.Output.LastIndexOf("FraudWorkbench is ready", StringComparison.Ordinal));
            Assert.Contains($"open {url}", ready);
            Assert.Contains($"password: {password}", ready);
            Assert.Equal(2, Regex.Matches(first.Output, Regex.Escape(password)).Count);
            Assert.True(File.Exists(Path.Combine(dataDirectory, "postgres", "PG_VERSION")));

            await first.InterruptAsync(TimeSpan.FromSeconds(60));
            Assert.Equal(0, first.ExitCode);
            Assert.DoesNotContain("/api/v1/whoami", first.Output); // request logging is off unless configured
        }

        Assert.Matches("^[A-Za-z0-9]{20,}$", password);
        Assert.False(File.Exists(Path.Combine(dataDirectory, "postgres", "postmaster.pid")), "the app stops its cluster on shutdown");

        // The operator command line on the same, stopped cluster: it starts it, works, and stops it again.
        var (exit, output, errors) = await AppProcess.RunAsync(Environment, "api-key", "create", "--name", "zero-config", "--scopes", "read");
        Assert.True(exit == 0, errors);
        var key = output.Trim().Split('\n')[^1];
        Assert.StartsWith("fwb_", key);
        Assert.False(File.Exists(Path.Combine(dataDirectory, "postgres", "postmaster.pid")));

        await using var second = AppProcess.Start(Environment, "--urls", url);
        await second.WaitForOutputAsync("Application started", TimeSpan.FromSeconds(90));
        using var api = new HttpClient { BaseAddress = new Uri(url) };
        api.DefaultRequestHeaders.Authorization = new("Bearer", key);
        var me = await api.GetStringAsync("/api/v1/whoami");
        await second.InterruptAsync(TimeSpan.FromSeconds(60));

        Assert.Contains("\"name\":\"zero-config\"", me);
        Assert.DoesNotContain("password:", second.Output); // the admin exists: nothing new printed
        Assert.DoesNotContain(password, second.Output + second.Errors);
    }

    public void Dispose()
    {
        try { Directory.Delete(dataDirectory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
