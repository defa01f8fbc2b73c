using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using FraudWorkbench.Core.Artifacts;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Features;
using FraudWorkbench.Core.Jobs;
using FraudWorkbench.Core.Training;
using FraudWorkbench.Tests.Infrastructure;

namespace FraudWorkbench.Tests.Training;

[Trait("Category", "Database")]
public sealed class TrainingServiceTests
{
    [Fact]
    public async Task Start_DatasetOverTheMemoryBudget_400NamingTheDatasetVersion_NoRunNoJob_BackfillRefused()
    {
        // A 1 MB budget: the 40,000-row sample needs tens of megabytes to fit.
        await using var app = new WorkbenchAppFactory(await PostgresServer.CreateDatabaseAsync(), new Dictionary<string, string?>
        {
            ["FRAUDWB_BOOTSTRAP_API_KEY"] = AppFixture.BootstrapApiKey,
            ["FraudWorkbench:Features:MaxFitMemoryBytes"] = "1048576",
        });
        app.StartServer();
        var dataset = await SampleMonth.IngestAsync(app, "budget-sample");

        // Fitted where the budget allowed it (another instance, or before the budget was lowered).
        var roomy = new FeatureSetService(app.Get<DatasetStore>(), app.Get<ArtifactStore>(), app.Get<FeatureSetStore>());
        var (featureSet, _) = await roomy.CreateAsync(new NewFeatureSet("budget-recipes", dataset.Dataset.Id, 1, SampleMatrixFixture.Definition), "test");
        using var client = app.CreateHttpClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AppFixture.BootstrapApiKey);

        var run = await client.PostAsJsonAsync("/api/v1/training/runs", new TrainingRunRequest(dataset.Dataset.Id, 1, featureSet.Id), DatasetSchema.Json);
        var fit = await client.PostAsJsonAsync("/api/v1/feature-sets",
            new { name = "too-big", datasetId = dataset.Dataset.Id, datasetVersion = 1, features = new[] { new { kind = "numeric", column = "amount" } } });

        foreach (var response in new[] { run, fit })
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            var error = Assert.Single((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").EnumerateArray());
            Assert.Equal("datasetVersion", error.GetProperty("field").GetString());
            Assert.Contains("FraudWorkbench:Features:MaxFitMemoryBytes", error.GetProperty("message").GetString());
        }

        Assert.Empty(await app.Get<TrainingRunStore>().ListAsync());
        Assert.DoesNotContain(await app.Get<JobStore>().ListAsync(), j => j.Kind is TrainingJobHandler.KindName or FeatureSetFitJobHandler.KindName);

        // A backfill reads every row too: its job stops before reading, saying why, and is not retried.
        var backfill = await app.Get<JobStore>().EnqueueAsync(FeatureBackfillJobHandler.KindName, new FeatureBackfillRequest(featureSet.Id), "test");
        await Wait.UntilAsync(async () => (await app.Get<JobStore>().GetAsync(backfill.Id))!.Status is JobStatus.Failed or JobStatus.Succeeded, what: "the backfill finished");
        var failed = (await app.Get<JobStore>().GetAsync(backfill.Id))!;
        Assert.Equal((JobStatus.Failed, 1), (failed.Status, failed.Attempts));
        Assert.Contains("MaxFitMemoryBytes", failed.Error);
    }
}
