using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using FraudWorkbench.Api;
using FraudWorkbench.Core.Artifacts;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Features;
using FraudWorkbench.Core.Jobs;
using FraudWorkbench.Core.Training;
using FraudWorkbench.Tests.Infrastructure;
using FraudWorkbench.Tests.Training;

namespace FraudWorkbench.Tests.Api;

[Trait("Category", "Database")]
public sealed class TrainingApiTests(AppFixture fixture) : IClassFixture<AppFixture>
{
    private static readonly SemaphoreSlim Setup = new(1, 1);
    private static (Guid Dataset, Guid FeatureSet)? prepared;

    private async Task<(Guid Dataset, Guid FeatureSet)> PrepareAsync()
    {
        await Setup.WaitAsync();
        try
        {
            if (prepared is { } done && fixture.App.Get<FeatureSetStore>() is { } store && await store.GetVersionAsync(done.FeatureSet) is not null) return done;
            var ingestor = fixture.App.Get<DatasetIngestor>();
            IngestResult dataset;
            await using (var file = File.OpenRead(Path.Combine(AppContext.BaseDirectory, "samples", "transactions-month-a.csv")))
            {
                dataset = await ingestor.IngestAsync(await ingestor.StageAsync(file, "month-a.csv"), "training-sample", SchemaOverrides.None, "test");
            }

            var (featureSet, _) = await fixture.App.Get<FeatureSetService>().CreateAsync(
                new NewFeatureSet("training-recipes", dataset.Dataset.Id, 1, SampleMatrixFixture.Definition), "test");
            prepared = (dataset.Dataset.Id, featureSet.Id);
            return prepared.Value;
        }
        finally
        {
            Setup.Release();
        }
    }

    private HttpClient Client()
    {
        var client = fixture.App.CreateHttpClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AppFixture.BootstrapApiKey);
        return client;
    }

    private static async Task<TrainingRunResponse> WaitAsync(HttpClient client, Guid id)
    {
        var deadline = DateTime.UtcNow.AddSeconds(120);
        while (true)
        {
            var run = (await client.GetFromJsonAsync<TrainingRunResponse>($"/api/v1/training/runs/{id}", DatasetSchema.Json))!;
            if (run.Status is JobStatus.Succeeded or JobStatus.Failed or JobStatus.Cancelled || DateTime.UtcNow > deadline) return run;
            await Task.Delay(200);
        }
    }

    [Theory]
    [InlineData(ImbalanceStrategy.ClassWeights, "max_f1")]
    [InlineData(ImbalanceStrategy.Smote, "cost")]
    public async Task Post_Run_202ThenSucceedsWithMetricsThresholdAndModel(string strategy, string thresholdMethod)
    {
        var (dataset, featureSet) = await PrepareAsync();
        using var client = Client();
        var request = new TrainingRunRequest(dataset, 1, featureSet,
            new TrainerSettings(Trees: 60),
            new ImbalanceSettings(strategy, TargetRatio: 0.2),
            new SplitSettings(SplitKind.Time, 0.3),
            new ThresholdSettings(thresholdMethod, ReviewCost: 5, AmountColumn: "amount"));

        var response = await client.PostAsJsonAsync("/api/v1/training/runs", request, DatasetSchema.Json);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var accepted = (await response.Content.ReadFromJsonAsync<TrainingRunResponse>(DatasetSchema.Json))!;
        var run = await WaitAsync(client, accepted.Id);
        Assert.True(run.Status == JobStatus.Succeeded, run.Error);
        var baseRate = (double)run.Metrics!.Positives / (run.Metrics.Positives + run.Metrics.Negatives);
        Assert.True(run.Metrics.AveragePrecision > 5 * baseRate, $"PR-AUC {run.Metrics.AveragePrecision:0.000}, base rate {baseRate:0.000}");
        Assert.Equal(thresholdMethod == "cost" ? "min_expected_cost" : "max_f1", run.Threshold!.Method);
        Assert.Equal(12_000, run.Metrics.Positives + run.Metrics.Negatives); // the latest 30 % of 40,000 rows, never resampled
        Assert.True(fixture.App.Get<ArtifactStore>().Exists(run.ModelArtifact!));
        var stored = (await fixture.App.Get<TrainingRunStore>().GetAsync(run.Id))!.Result!;
        Assert.Equal(strategy == ImbalanceStrategy.Smote, stored.SyntheticRows > 0);
        Assert.Equal(28_000, stored.TrainingRows);

        // The files: ONNX checked against ML.NET, metadata with lineage, checksums of the others.
        Assert.True(stored.Artifacts!.Onnx is not null, stored.Artifacts.OnnxProblem);
        Assert.InRange(stored.Artifacts.OnnxMaxDifference!.Value, 0, OnnxExport.Tolerance);
        var checksums = await client.GetStringAsync($"/api/v1/training/runs/{run.Id}/artifacts/checksum.sha256");
        var metadata = await client.GetFromJsonAsync<JsonElement>($"/api/v1/training/runs/{run.Id}/artifacts/metadata.json");
        var onnxBytes = await client.GetByteArrayAsync($"/api/v1/training/runs/{run.Id}/artifacts/model.onnx");
        Assert.Contains($"{Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(onnxBytes)).ToLowerInvariant()}  model.onnx", checksums);
        Assert.Contains(stored.Artifacts.ModelZip + "  model.zip", checksums);
        Assert.Equal(featureSet, metadata.GetProperty("featureSet").GetProperty("id").GetGuid());
        Assert.Equal(64, metadata.GetProperty("dataset").GetProperty("checksum").GetString()!.Length);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/api/v1/training/runs/{run.Id}/artifacts/secrets.txt")).StatusCode);
    }

    [Fact]
    public async Task Post_KFold_EveryRowValidatedOnceAndTheModelTrainedOnAllRows()
    {
        var (dataset, featureSet) = await PrepareAsync();
        using var client = Client();
        var request = new TrainingRunRequest(dataset, 1, featureSet, new TrainerSettings(Trees: 40), new ImbalanceSettings(ImbalanceStrategy.ClassWeights), new SplitSettings(SplitKind.KFold, Folds: 3));

        var accepted = (await (await client.PostAsJsonAsync("/api/v1/training/runs", request, DatasetSchema.Json)).Content.ReadFromJsonAsync<TrainingRunResponse>(DatasetSchema.Json))!;
        var run = await WaitAsync(client, accepted.Id);

        Assert.True(run.Status == JobStatus.Succeeded, run.Error);
        Assert.Equal(40_000, run.Metrics!.Positives + run.Metrics.Negatives);
        var stored = (await fixture.App.Get<TrainingRunStore>().GetAsync(run.Id))!.Result!;
        Assert.Equal(40_000, stored.TrainingRows);
        Assert.True(run.Metrics.RocAuc > 0.85, $"ROC AUC {run.Metrics.RocAuc:0.000}");
    }

    [Fact]
    public async Task Post_InvalidRequest_400NamingEachField()
    {
        var (dataset, featureSet) = await PrepareAsync();
        using var client = Client();
        var request = new TrainingRunRequest(dataset, 7, featureSet, new TrainerSettings("xgboost", Trees: 0), new ImbalanceSettings("oversample"), new SplitSettings("leave_one_out", 0.9));

        var response = await client.PostAsJsonAsync("/api/v1/training/runs", request, DatasetSchema.Json);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var fields = problem.RootElement.GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("field").GetString()).ToList();
        Assert.Equal(["datasetVersion", "trainer.trainer", "trainer.trees", "imbalance.strategy", "split.kind", "split.validationFraction"], fields);
    }
}
