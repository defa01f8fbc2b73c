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

    [Fact]
    public async Task Post_NameAndDescription_SavedReturnedAndEditable_DefaultNameWhenEmpty()
    {
        var (dataset, featureSet) = await PrepareAsync();
        using var client = Client();
        var named = new TrainingRunRequest(dataset, 1, featureSet, new TrainerSettings(Trees: 5), Name: "  weights baseline ", Description: "first try");
        var unnamed = new TrainingRunRequest(dataset, 1, featureSet, new TrainerSettings(TrainerKind.FastTree, Trees: 5));

        var first = (await (await client.PostAsJsonAsync("/api/v1/training/runs", named, DatasetSchema.Json)).Content.ReadFromJsonAsync<TrainingRunResponse>(DatasetSchema.Json))!;
        var second = (await (await client.PostAsJsonAsync("/api/v1/training/runs", unnamed, DatasetSchema.Json)).Content.ReadFromJsonAsync<TrainingRunResponse>(DatasetSchema.Json))!;

        Assert.Equal("weights baseline", first.Name);
        Assert.Equal("first try", first.Description);
        Assert.Equal("fasttree · training-sample v1", second.Name);
        Assert.Null(second.Description);
        // Name and description live beside the config, which stays what was trained.
        Assert.Null(first.Config.Name);
        var listed = (await client.GetFromJsonAsync<List<TrainingRunResponse>>("/api/v1/training/runs", DatasetSchema.Json))!;
        Assert.Equal("weights baseline", listed.Single(r => r.Id == first.Id).Name);

        var patched = await client.PatchAsJsonAsync($"/api/v1/training/runs/{first.Id}", new { name = "weights v2", description = "" });
        Assert.Equal(HttpStatusCode.OK, patched.StatusCode);
        var renamed = (await client.GetFromJsonAsync<TrainingRunResponse>($"/api/v1/training/runs/{first.Id}", DatasetSchema.Json))!;
        Assert.Equal("weights v2", renamed.Name);
        Assert.Null(renamed.Description);
        var (audit, _) = await fixture.App.Get<FraudWorkbench.Core.Accounts.AuditLog>().PageAsync(0, 50, "training-run.describe");
        Assert.Contains(audit, e => e.ObjectId == first.Id.ToString());

        var empty = await client.PatchAsJsonAsync($"/api/v1/training/runs/{first.Id}", new { name = " ", description = "x" });
        Assert.Equal(HttpStatusCode.BadRequest, empty.StatusCode);
        using var problem = JsonDocument.Parse(await empty.Content.ReadAsStringAsync());
        Assert.Equal("name", problem.RootElement.GetProperty("field").GetString());
        var tooLong = await client.PostAsJsonAsync("/api/v1/training/runs", named with { Name = new string('n', TrainingRun.MaxNameLength + 1) }, DatasetSchema.Json);
        Assert.Equal(HttpStatusCode.BadRequest, tooLong.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.PatchAsJsonAsync($"/api/v1/training/runs/{Guid.NewGuid()}", new { name = "x" })).StatusCode);
    }

    [Fact]
    public async Task Cancel_RunningOrQueuedRun_EndsCancelled_FinishedRun409()
    {
        var (dataset, featureSet) = await PrepareAsync();
        using var client = Client();
        // Long enough (5,000 trees on 28,000 rows) that the cancel reaches it queued or running, never finished.
        var slow = new TrainingRunRequest(dataset, 1, featureSet, new TrainerSettings(Trees: 5000, Leaves: 64, LearningRate: 0.01), Name: "to cancel");
        var accepted = (await (await client.PostAsJsonAsync("/api/v1/training/runs", slow, DatasetSchema.Json)).Content.ReadFromJsonAsync<TrainingRunResponse>(DatasetSchema.Json))!;

        // The same service call the runs table's cancel makes.
        var response = await client.PostAsync($"/api/v1/training/runs/{accepted.Id}/cancel", null);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var run = await WaitAsync(client, accepted.Id);
        Assert.Equal(JobStatus.Cancelled, run.Status);
        Assert.Null((await fixture.App.Get<TrainingRunStore>().GetAsync(accepted.Id))!.Result);
        Assert.Equal(HttpStatusCode.Conflict, (await client.PostAsync($"/api/v1/training/runs/{accepted.Id}/cancel", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.PostAsync($"/api/v1/training/runs/{Guid.NewGuid()}/cancel", null)).StatusCode);
    }

    [Fact]
    public async Task Post_Run_KeepsValidationScoresForTheThresholdExplorer()
    {
        var (dataset, featureSet) = await PrepareAsync();
        using var client = Client();
        var request = new TrainingRunRequest(dataset, 1, featureSet, new TrainerSettings(Trees: 30), new ImbalanceSettings(ImbalanceStrategy.ClassWeights),
            new SplitSettings(SplitKind.Time, 0.3), new ThresholdSettings("cost", ReviewCost: 5, AmountColumn: "amount"));

        var accepted = (await (await client.PostAsJsonAsync("/api/v1/training/runs", request, DatasetSchema.Json)).Content.ReadFromJsonAsync<TrainingRunResponse>(DatasetSchema.Json))!;
        var finished = await WaitAsync(client, accepted.Id);
        Assert.True(finished.Status == JobStatus.Succeeded, finished.Error);
        var run = (await fixture.App.Get<TrainingRunStore>().GetAsync(accepted.Id))!;

        var explorer = (await ThresholdExplorerData.LoadAsync(run, fixture.App.Get<ArtifactStore>(), new BootstrapOptions(Resamples: 100)))!;

        // The stored scores reproduce the run's own numbers: metrics, and the chosen threshold's matrix and cost.
        Assert.Equal(12_000, explorer.Table.Rows);
        Assert.Equal(run.Result!.Metrics.AveragePrecision, explorer.Intervals.PrAuc.Estimate, 9);
        Assert.Equal(run.Result.Metrics.RocAuc, explorer.Intervals.RocAuc.Estimate, 9);
        var chosen = explorer.Table.At(explorer.Grid[explorer.ChosenIndex]);
        Assert.Equal(run.Result.Threshold.Confusion, chosen.Confusion);
        Assert.Equal(run.Result.Threshold.ExpectedCost!.Value, chosen.ExpectedCost!.Value, 6);
        Assert.True(explorer.Intervals.PrAuc.Contains(explorer.Intervals.PrAuc.Estimate));
    }
}
