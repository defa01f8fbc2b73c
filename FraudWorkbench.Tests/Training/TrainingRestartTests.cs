using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Features;
using FraudWorkbench.Core.Jobs;
using FraudWorkbench.Core.Training;
using FraudWorkbench.Tests.Infrastructure;

namespace FraudWorkbench.Tests.Training;

[Trait("Category", "Database")]
public sealed class TrainingRestartTests : IDisposable
{
    private readonly string dataDirectory = Directory.CreateTempSubdirectory("fwb-restart-").FullName;

    [Fact]
    public async Task Run_AppStoppedWhileTraining_IsQueuedAgainAndFinishedByTheNextStart()
    {
        var database = await PostgresServer.CreateDatabaseAsync();
        var settings = new Dictionary<string, string?> { ["FraudWorkbench:DataDirectory"] = dataDirectory, ["FraudWorkbench:Jobs:Concurrency"] = "1" };
        Guid runId, jobId;
        await using (var first = new WorkbenchAppFactory(database, settings))
        {
            first.StartServer();
            var ingestor = first.Get<DatasetIngestor>();
            IngestResult dataset;
            await using (var file = File.OpenRead(Path.Combine(AppContext.BaseDirectory, "samples", "transactions-month-a.csv")))
            {
                dataset = await ingestor.IngestAsync(await ingestor.StageAsync(file, "month-a.csv"), "restart-sample", SchemaOverrides.None, "test");
            }

            var (featureSet, _) = await first.Get<FeatureSetService>().CreateAsync(new NewFeatureSet("restart-recipes", dataset.Dataset.Id, 1, SampleMatrixFixture.Definition), "test");
            (runId, jobId) = await first.Get<TrainingService>().StartAsync(
                new TrainingRunRequest(dataset.Dataset.Id, 1, featureSet.Id, new TrainerSettings(Trees: 800, Leaves: 63)), "test");
            var jobs = first.Get<JobStore>();
            await Wait.UntilAsync(async () => (await jobs.GetAsync(jobId))!.Stage?.Contains("training") == true, seconds: 60);
        } // the restart: a graceful stop in the middle of training

        await using var probe = Npgsql.NpgsqlDataSource.Create(database);
        var store = new JobStore(probe, new Core.Events.EventHub(Microsoft.Extensions.Logging.Abstractions.NullLogger<Core.Events.EventHub>.Instance), TimeProvider.System);
        var interrupted = (await store.GetAsync(jobId))!;
        Assert.Equal(JobStatus.Queued, interrupted.Status);

        await using var second = new WorkbenchAppFactory(database, settings);
        second.StartServer();
        var runs = second.Get<TrainingRunStore>();
        await Wait.UntilAsync(async () => (await runs.GetAsync(runId))!.Status is JobStatus.Succeeded or JobStatus.Failed, seconds: 180);

        var run = (await runs.GetAsync(runId))!;
        Assert.True(run.Status == JobStatus.Succeeded, run.Error);
        Assert.NotNull(run.Result!.Artifacts);
        Assert.Equal(1, (await second.Get<JobStore>().GetAsync(jobId))!.Attempts); // the interruption did not spend an attempt
    }

    public void Dispose()
    {
        try { Directory.Delete(dataDirectory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
