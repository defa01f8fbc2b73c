using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Features;
using FraudWorkbench.Core.Jobs;
using FraudWorkbench.Core.Registry;
using FraudWorkbench.Core.Training;
using FraudWorkbench.Tests.Infrastructure;
using FraudWorkbench.Tests.Training;

namespace FraudWorkbench.Tests.Scoring;

/// <summary>
/// One app with the month A sample, the recipes feature set and two finished training runs (LightGBM with
/// class weights, 40 and 15 trees), for the registry and scoring tests. Each test registers its own model name.
/// </summary>
public class ScoringFixture : IAsyncLifetime
{
    public const string BootstrapApiKey = AppFixture.BootstrapApiKey;

    /// <summary>An admin key without a practical rate limit: these tests send thousands of requests.</summary>
    public string ApiKey { get; private set; } = "";

    /// <summary>A gate every sample model passes: PR-AUC above the fraud base rate, no champion margin worth failing.</summary>
    public static readonly GateSettings LenientGate = new([new GateBaseline(GateMetric.PrAuc, ">=", 0.1)], [GateMetric.PrAuc], 1, 1);

    public WorkbenchAppFactory App { get; private set; } = default!;

    /// <summary>A client of the app sending <paramref name="key"/> (the admin key by default; "" sends none).</summary>
    public HttpClient Client(string? key = null)
    {
        var client = App.CreateHttpClient();
        if (key != "") client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key ?? ApiKey);
        return client;
    }

    public Guid StrongRun { get; private set; }

    public Guid WeakRun { get; private set; }

    public Guid FeatureSetVersion { get; private set; }

    public List<string?[]> Rows { get; private set; } = [];

    public DatasetSchema Schema { get; private set; } = default!;

    /// <summary>Configuration a derived fixture adds to the app's (the alerts tests let webhooks reach loopback).</summary>
    protected virtual IReadOnlyDictionary<string, string?> Settings() => new Dictionary<string, string?>();

    public async Task InitializeAsync()
    {
        var settings = new Dictionary<string, string?> { ["FRAUDWB_BOOTSTRAP_API_KEY"] = BootstrapApiKey };
        foreach (var (key, value) in Settings()) settings[key] = value;
        App = new WorkbenchAppFactory(await PostgresServer.CreateDatabaseAsync(), settings);
        App.StartServer();
        (_, ApiKey) = await App.Get<FraudWorkbench.Core.Accounts.ApiKeyStore>().CreateAsync("test-partner", [FraudWorkbench.Core.Accounts.Scopes.Admin], null, "test", rateLimitPerMinute: 10_000_000);
        var ingestor = App.Get<DatasetIngestor>();
        IngestResult dataset;
        await using (var file = File.OpenRead(Path.Combine(AppContext.BaseDirectory, "samples", "transactions-month-a.csv")))
        {
            dataset = await ingestor.IngestAsync(await ingestor.StageAsync(file, "month-a.csv"), "scoring-sample", SchemaOverrides.None, "test");
        }

        Schema = dataset.Version.Schema;
        await using (var file = File.OpenRead(Path.Combine(AppContext.BaseDirectory, "samples", "transactions-month-a.csv"))) Rows = DatasetRows.Read(file, Schema);
        var (featureSet, _) = await App.Get<FeatureSetService>().CreateAsync(new NewFeatureSet("scoring-recipes", dataset.Dataset.Id, 1, SampleMatrixFixture.Definition), "test");
        FeatureSetVersion = featureSet.Id;
        StrongRun = await TrainAsync(dataset.Dataset.Id, 40);
        WeakRun = await TrainAsync(dataset.Dataset.Id, 15);
    }

    private async Task<Guid> TrainAsync(Guid dataset, int trees)
    {
        var (runId, jobId) = await App.Get<TrainingService>().StartAsync(new TrainingRunRequest(dataset, 1, FeatureSetVersion, new TrainerSettings(Trees: trees)), "test");
        var job = await WaitForJobAsync(jobId);
        Assert.True(job.Status == JobStatus.Succeeded, job.Error);
        return runId;
    }

    public Task<Job> WaitForJobAsync(Guid jobId, int seconds = 120) => WaitForJobAsync(App, jobId, seconds);

    public static async Task<Job> WaitForJobAsync(WorkbenchAppFactory app, Guid jobId, int seconds = 120)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            var job = (await app.Get<JobStore>().GetAsync(jobId))!;
            if (job.Status is JobStatus.Succeeded or JobStatus.Failed or JobStatus.Cancelled) return job;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"Job {jobId} still {job.Status} ({job.Stage}).");
            await Task.Delay(100);
        }
    }

    /// <summary>Registers a run under <paramref name="model"/> with <paramref name="gate"/> and waits for the gate.</summary>
    public Task<ModelVersion> RegisterAsync(string model, Guid run, GateSettings? gate = null) => RegisterAsync(App, model, run, gate);

    public static async Task<ModelVersion> RegisterAsync(WorkbenchAppFactory app, string model, Guid run, GateSettings? gate = null)
    {
        var registry = app.Get<RegistryStore>();
        if (gate is not null)
        {
            // Create the model first so the gate is in place before the version's gate job runs.
            await using var connection = await registry.OpenAsync(default);
            await using var transaction = await connection.BeginTransactionAsync();
            var created = await registry.EnsureModelAsync(transaction, model, "test", default);
            await transaction.CommitAsync();
            await registry.UpdateModelAsync(created.Id, "", gate, "test");
        }

        var version = await app.Get<RegistryService>().RegisterAsync(model, run, ["test"], "registered by a test", "test");
        var job = await WaitForJobAsync(app, version.GateJobId!.Value);
        Assert.True(job.Status is JobStatus.Succeeded or JobStatus.Failed, job.Status);
        return (await registry.GetVersionAsync(version.Id))!;
    }

    public Task<ModelVersion> RegisterAndPromoteAsync(string model, Guid run) => RegisterAndPromoteAsync(App, model, run);

    /// <summary>Registers a run under the lenient gate, checks that it passed and promotes it to production.</summary>
    public static async Task<ModelVersion> RegisterAndPromoteAsync(WorkbenchAppFactory app, string model, Guid run)
    {
        var version = await RegisterAsync(app, model, run, LenientGate);
        Assert.True(version.GateStatus == GateStatus.Passed, version.GateResult?.Error ?? version.GateStatus);
        return await app.Get<RegistryService>().PromoteAsync(version, ModelStage.Production, "test", "test");
    }

    /// <summary>A sample row as the JSON transaction a partner would send (every column but the label).</summary>
    public Dictionary<string, object?> Transaction(int index) => Transaction(Schema, Rows[index]);

    public static Dictionary<string, object?> Transaction(DatasetSchema schema, string?[] row)
    {
        var transaction = new Dictionary<string, object?>();
        for (var c = 0; c < schema.Columns.Count; c++)
        {
            var column = schema.Columns[c];
            if (column.Role == ColumnRole.Label) continue;
            transaction[column.Name] = row[c] is null ? null : column.Type switch
            {
                ColumnType.Integer => long.Parse(row[c]!, System.Globalization.CultureInfo.InvariantCulture),
                ColumnType.Decimal => double.Parse(row[c]!, System.Globalization.CultureInfo.InvariantCulture),
                ColumnType.Boolean => bool.Parse(row[c]!),
                _ => row[c],
            };
        }

        return transaction;
    }

    public async Task DisposeAsync() => await App.DisposeAsync();
}
