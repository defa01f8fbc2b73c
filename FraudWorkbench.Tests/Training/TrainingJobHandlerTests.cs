using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using FraudWorkbench.Api;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Features;
using FraudWorkbench.Core.Jobs;
using FraudWorkbench.Core.Training;
using FraudWorkbench.Tests.Infrastructure;

namespace FraudWorkbench.Tests.Training;

[Trait("Category", "Database")]
public sealed class TrainingJobHandlerTests(AppFixture fixture) : IClassFixture<AppFixture>
{
    [Fact]
    public async Task Execute_CancelledDuringTheLightGbmFit_RunCancelledWithinSeconds()
    {
        var dataset = await SampleMonth.IngestAsync(fixture.App, "cancel-sample");
        var (featureSet, _) = await fixture.App.Get<FeatureSetService>().CreateAsync(new NewFeatureSet("cancel-recipes", dataset.Dataset.Id, 1, SampleMatrixFixture.Definition), "test");
        // LightGBM, one thread, 3,000 trees of 127 leaves: about 20 s of fitting on this machine if nothing stopped it.
        var (runId, jobId) = await fixture.App.Get<TrainingService>().StartAsync(
            new TrainingRunRequest(dataset.Dataset.Id, 1, featureSet.Id, new TrainerSettings(Trees: 3000, Leaves: 127, MinimumExamplesPerLeaf: 1, Threads: 1)), "test");
        var jobs = fixture.App.Get<JobStore>();
        // The stage counts the seconds of the fit: the job is visibly alive while ML.NET reports nothing.
        await Wait.UntilAsync(async () => (await jobs.GetAsync(jobId))!.Stage is { } stage && stage.StartsWith("fitting lightgbm (3000 trees) on the training rows, ", StringComparison.Ordinal)
            && stage.EndsWith(" s so far", StringComparison.Ordinal), seconds: 60, what: "the run seconds into the fit");
        using var client = fixture.App.CreateHttpClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AppFixture.BootstrapApiKey);
        var watch = Stopwatch.StartNew();

        var cancel = await client.PostAsync($"/api/v1/jobs/{jobId}/cancel", null);
        await Wait.UntilAsync(async () => (await client.GetFromJsonAsync<TrainingRunResponse>($"/api/v1/training/runs/{runId}", DatasetSchema.Json))!.Status == JobStatus.Cancelled,
            seconds: 60, what: "the run cancelled");
        var cancelledAfter = watch.Elapsed;

        Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
        Assert.True(cancelledAfter < TimeSpan.FromSeconds(5), $"cancelled {cancelledAfter.TotalSeconds:0.0} s after the request");
        Assert.Equal(JobStatus.Cancelled, (await jobs.GetAsync(jobId))!.Status);
        // ML.NET's LightGBM checks for cancellation every boosting round: the fit itself stopped too, and nothing holds its memory.
        // (generous: other classes may cancel fits of their own at the same time on two busy cores)
        await ModelTrainer.Abandoned.WaitAsync(TimeSpan.FromSeconds(30));
    }
}
