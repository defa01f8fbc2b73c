using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Dapper;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Db;
using FraudWorkbench.Core.Features;
using FraudWorkbench.Core.Jobs;
using FraudWorkbench.Core.Scoring;
using FraudWorkbench.Core.Training;
using FraudWorkbench.Tests.Infrastructure;
using FraudWorkbench.Tests.Scoring;
using FraudWorkbench.Tests.Training;
using Npgsql;

namespace FraudWorkbench.Tests.Db;

/// <summary>
/// The app on its own private cluster (zero configuration), its postmaster killed under scoring load:
/// no answer is a 500, every prediction answered 200 is in the log afterwards, and everything recovers
/// without restarting the app.
/// </summary>
[Trait("Category", "Database")]
public sealed class DatabaseOutageTests : IAsyncLifetime
{
    private const string Key = AppFixture.BootstrapApiKey;
    private WorkbenchAppFactory app = default!;

    public async Task InitializeAsync()
    {
        app = new WorkbenchAppFactory("", new Dictionary<string, string?> { ["FRAUDWB_BOOTSTRAP_API_KEY"] = Key });
        app.StartServer();
        await Task.CompletedTask;
    }

    public async Task DisposeAsync() => await app.DisposeAsync();

    [Fact]
    public async Task Scoring_PostmasterKilledUnderLoad_No500NoLostPredictionAndRecovers()
    {
        var (schema, rows) = await PromoteAModelAsync();
        var (_, key) = await app.Get<FraudWorkbench.Core.Accounts.ApiKeyStore>().CreateAsync("load", [FraudWorkbench.Core.Accounts.Scopes.Admin], null, "test", rateLimitPerMinute: 10_000_000);
        using var client = app.CreateHttpClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        // The first 300 transactions' customers are known to this instance before the outage; later ones are not.
        for (var i = 0; i < 300; i++) Assert.Equal(HttpStatusCode.OK, (await PredictAsync(client, schema, rows[i])).StatusCode);

        var answered = new ConcurrentBag<(HttpStatusCode Status, Guid? Id, bool RetryAfter, DateTime At)>();
        var killedAt = DateTime.MaxValue;
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(12));
        var load = Enumerable.Range(0, 4).Select(worker => Task.Run(async () =>
        {
            for (var n = worker; !stop.IsCancellationRequested; n += 4)
            {
                var row = rows[n % 5 == 0 ? 300 + n % (rows.Count - 300) : n % 300];
                using var response = await PredictAsync(client, schema, row);
                Guid? id = response.StatusCode == HttpStatusCode.OK
                    ? (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("predictionId").GetGuid()
                    : null;
                answered.Add((response.StatusCode, id, response.Headers.RetryAfter is not null, DateTime.UtcNow));
                await Task.Delay(5);
            }
        })).ToList();

        await Task.Delay(2000);
        var cluster = app.Get<DatabaseEndpoint>().Cluster!;
        var pid = int.Parse(File.ReadLines(Path.Combine(cluster.ClusterDirectory, "postmaster.pid")).First());
        DateTime restoredAt;
        HttpResponseMessage read, ready, monitoring;
        var readiness = new Stopwatch();
        // Holding the cluster's start lock keeps the watchdog from restarting the server until the outage has been looked at.
        await using (new FileStream(Path.Combine(Path.GetDirectoryName(cluster.ClusterDirectory)!, "cluster.lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None))
        {
            using (var postmaster = Process.GetProcessById(pid)) postmaster.Kill();
            killedAt = DateTime.UtcNow;

            // Backends notice their postmaster's death a moment later; from then on, while it is down: readiness
            // says so within a second, and a read is a 503 with Retry-After, not a 500.
            await Wait.UntilAsync(async () => (await client.GetAsync("/readyz")).StatusCode == HttpStatusCode.ServiceUnavailable, 10, "/readyz sees the outage");
            readiness.Start();
            ready = await client.GetAsync("/readyz");
            readiness.Stop();
            read = await client.GetAsync("/api/v1/models");
            monitoring = await client.GetAsync("/api/v1/monitoring/models/outage/drift?window=hour");
            await Task.Delay(3000);
            restoredAt = DateTime.UtcNow;
        }

        await Task.WhenAll(load);
        await Wait.UntilAsync(async () => (await client.GetAsync("/readyz")).StatusCode == HttpStatusCode.OK, 60, "/readyz healthy again");
        await app.Get<PredictionLog>().FlushAsync();
        var after = await PredictAsync(client, schema, rows[301]);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, read.StatusCode);
        Assert.NotNull(read.Headers.RetryAfter);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, monitoring.StatusCode);
        Assert.NotNull(monitoring.Headers.RetryAfter);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Contains("database", await ready.Content.ReadAsStringAsync());
        Assert.True(readiness.Elapsed < TimeSpan.FromSeconds(2.5), $"/readyz took {readiness.Elapsed}"); // the check gives up after 1 s
        var statuses = answered.GroupBy(a => a.Status).ToDictionary(g => g.Key, g => g.Count());
        Assert.True(statuses.Keys.All(s => s is HttpStatusCode.OK or HttpStatusCode.ServiceUnavailable), string.Join(", ", statuses));
        Assert.All(answered.Where(a => a.Status == HttpStatusCode.ServiceUnavailable), a => Assert.True(a.RetryAfter));
        Assert.Contains(answered, a => a.Status == HttpStatusCode.OK && a.At > killedAt.AddMilliseconds(500) && a.At < restoredAt); // scoring went on from memory
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        var ids = answered.Where(a => a.Id is not null).Select(a => a.Id!.Value).ToArray();
        await using var connection = new NpgsqlConnection(app.Get<DatabaseEndpoint>().ConnectionString);
        var logged = await connection.ExecuteScalarAsync<int>("SELECT count(*)::int FROM predictions WHERE id = ANY(@ids)", new { ids });
        Assert.Equal(ids.Length, logged);
    }

    private static async Task<HttpResponseMessage> PredictAsync(HttpClient client, DatasetSchema schema, string?[] row)
    {
        try
        {
            return await client.PostAsJsonAsync("/api/v1/predict", new { model = "outage", explain = false, transaction = ScoringFixture.Transaction(schema, row) });
        }
        catch (HttpRequestException ex)
        {
            throw new InvalidOperationException("the app dropped a connection instead of answering", ex);
        }
    }

    private async Task<(DatasetSchema Schema, List<string?[]> Rows)> PromoteAModelAsync()
    {
        var dataset = await SampleMonth.IngestAsync(app, "outage-sample");
        List<string?[]> rows;
        await using (var file = File.OpenRead(Path.Combine(AppContext.BaseDirectory, "samples", "transactions-month-a.csv"))) rows = DatasetRows.Read(file, dataset.Version.Schema);
        var (featureSet, _) = await app.Get<FeatureSetService>().CreateAsync(new NewFeatureSet("outage-recipes", dataset.Dataset.Id, 1, SampleMatrixFixture.Definition), "test");
        var (run, job) = await app.Get<TrainingService>().StartAsync(new TrainingRunRequest(dataset.Dataset.Id, 1, featureSet.Id, new TrainerSettings(Trees: 10)), "test");
        Assert.Equal(JobStatus.Succeeded, (await ScoringFixture.WaitForJobAsync(app, job, 180)).Status);
        await ScoringFixture.RegisterAndPromoteAsync(app, "outage", run);
        return (dataset.Version.Schema, rows);
    }
}
