using FraudWorkbench.Core.Events;
using FraudWorkbench.Core.Jobs;
using FraudWorkbench.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace FraudWorkbench.Tests.Jobs;

[Trait("Category", "Database")]
public sealed class JobWorkerTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    private static readonly JobOptions FastOptions = new()
    {
        Concurrency = 2,
        HeartbeatInterval = TimeSpan.FromMilliseconds(200),
        // No test here waits for a stale job to be taken over; at 1 s a loaded machine delayed a heartbeat long enough
        // for the other worker to take a running job and run it twice.
        StaleAfter = TimeSpan.FromSeconds(10),
        PollInterval = TimeSpan.FromMilliseconds(200),
        ProgressThrottle = TimeSpan.Zero,
    };

    private JobWorker NewWorker(EventHub hub) => new(
        db.Jobs(hub), hub, [new StepsJobHandler(), new FlakyJobHandler()], Options.Create(FastOptions), TimeProvider.System, NullLogger<JobWorker>.Instance);

    [Fact]
    public async Task Workers_TwoInstancesThirtyJobs_EachJobRunsExactlyOnce()
    {
        var (hubA, hubB) = (db.NewHub(), db.NewHub());
        using var a = NewWorker(hubA);
        using var b = NewWorker(hubB);
        var store = db.Jobs(hubA);
        var ids = new List<Guid>();
        for (var i = 0; i < 30; i++) ids.Add((await store.EnqueueAsync(StepsJobHandler.KindName, new StepsPayload(2), "test")).Id);

        await a.StartAsync(CancellationToken.None);
        await b.StartAsync(CancellationToken.None);
        await Wait.UntilAsync(async () => (await Task.WhenAll(ids.Select(id => store.GetAsync(id)))).All(j => j!.Status == JobStatus.Succeeded));
        await a.StopAsync(CancellationToken.None);
        await b.StopAsync(CancellationToken.None);

        Assert.All(ids, id => Assert.Equal(1, StepsJobHandler.Executions[id]));
        var jobs = await Task.WhenAll(ids.Select(id => store.GetAsync(id)));
        Assert.All(jobs, j => Assert.Equal((100, 1, "step 2 of 2"), (j!.Progress, j.Attempts, j.Stage)));
        Assert.Contains(jobs, j => j!.Worker!.StartsWith(a.WorkerId + "/"));
        Assert.Contains(jobs, j => j!.Worker!.StartsWith(b.WorkerId + "/"));
    }

    [Fact]
    public async Task Worker_ProgressReported_PublishedAsJobChangedEvents()
    {
        var hub = db.NewHub();
        var progress = new List<int>();
        using var subscription = hub.Subscribe<JobChanged>(c => { lock (progress) progress.Add(c.Progress); });
        using var worker = NewWorker(hub);
        var job = await db.Jobs(hub).EnqueueAsync(StepsJobHandler.KindName, new StepsPayload(4), "test");

        await worker.StartAsync(CancellationToken.None);
        await Wait.UntilAsync(async () => (await db.Jobs().GetAsync(job.Id))!.Status == JobStatus.Succeeded);
        await worker.StopAsync(CancellationToken.None);

        lock (progress)
        {
            Assert.Equal([0, 0, 25, 50, 75, 100, 100], progress); // enqueued, claimed, four steps, completed
        }
    }

    [Fact]
    public async Task Worker_CancelWhileRunning_StopsHandlerAndMarksCancelled()
    {
        var hub = db.NewHub();
        using var worker = NewWorker(hub);
        var store = db.Jobs(hub);
        var gate = Guid.NewGuid().ToString();
        var job = await store.EnqueueAsync(StepsJobHandler.KindName, new StepsPayload(5, gate), "test");
        await worker.StartAsync(CancellationToken.None);
        StepsJobHandler.Gate(gate).Release();
        await Wait.UntilAsync(async () => (await store.GetAsync(job.Id))!.Progress == 20);

        await store.CancelAsync(job.Id, "user:lead@example.com");
        await Wait.UntilAsync(async () => (await store.GetAsync(job.Id))!.IsFinished);
        await worker.StopAsync(CancellationToken.None);

        var final = (await store.GetAsync(job.Id))!;
        Assert.Equal((JobStatus.Cancelled, 20), (final.Status, final.Progress));
    }

    [Fact]
    public async Task Worker_TransientFailure_RetriedOnceAndSucceeds_NonRetryable_FailsAtOnce()
    {
        var hub = db.NewHub();
        using var worker = NewWorker(hub);
        var store = db.Jobs(hub);
        var flaky = await store.EnqueueAsync(FlakyJobHandler.KindName, new FlakyJobHandler.Payload(false), "test");
        var broken = await store.EnqueueAsync(FlakyJobHandler.KindName, new FlakyJobHandler.Payload(true), "test");

        await worker.StartAsync(CancellationToken.None);
        await Wait.UntilAsync(async () => (await store.GetAsync(flaky.Id))!.IsFinished && (await store.GetAsync(broken.Id))!.IsFinished);
        await worker.StopAsync(CancellationToken.None);

        var ok = (await store.GetAsync(flaky.Id))!;
        var failed = (await store.GetAsync(broken.Id))!;
        Assert.Equal((JobStatus.Succeeded, 2, """{"attempt": 2}"""), (ok.Status, ok.Attempts, ok.Result));
        Assert.Equal((JobStatus.Failed, 1, "the input can never work"), (failed.Status, failed.Attempts, failed.Error));
    }

    [Fact]
    public async Task Worker_StoppedMidJob_JobIsRequeuedAndFinishedByTheNextWorker()
    {
        var hub = db.NewHub();
        var store = db.Jobs(hub);
        var gate = Guid.NewGuid().ToString();
        var job = await store.EnqueueAsync(StepsJobHandler.KindName, new StepsPayload(2, gate), "test");
        var first = NewWorker(hub);
        await first.StartAsync(CancellationToken.None);
        // Claimed is not yet started: wait until the handler itself runs (it then waits at the gate).
        await Wait.UntilAsync(async () => (await store.GetAsync(job.Id))!.Status == JobStatus.Running && StepsJobHandler.Executions.ContainsKey(job.Id));

        await first.StopAsync(CancellationToken.None); // the restart
        first.Dispose();
        var interrupted = (await store.GetAsync(job.Id))!;
        using var second = NewWorker(hub);
        await second.StartAsync(CancellationToken.None);
        StepsJobHandler.Gate(gate).Release(2);
        await Wait.UntilAsync(async () => (await store.GetAsync(job.Id))!.IsFinished);
        await second.StopAsync(CancellationToken.None);

        Assert.Equal((JobStatus.Queued, 0), (interrupted.Status, interrupted.Attempts));
        var final = (await store.GetAsync(job.Id))!;
        Assert.Equal((JobStatus.Succeeded, 1), (final.Status, final.Attempts));
        Assert.StartsWith(second.WorkerId + "/", final.Worker);
        Assert.Equal(2, StepsJobHandler.Executions[job.Id]);
    }

    [Fact]
    public async Task Worker_JobOfACrashedWorker_IsRecoveredAndRun()
    {
        var hub = db.NewHub();
        var store = db.Jobs(hub);
        var job = await store.EnqueueAsync(StepsJobHandler.KindName, new StepsPayload(1), "test");
        Assert.NotNull(await store.ClaimNextAsync("crashed-host/1234", [StepsJobHandler.KindName])); // and never heard from again

        using var worker = NewWorker(hub);
        await worker.StartAsync(CancellationToken.None);
        await Wait.UntilAsync(async () => (await store.GetAsync(job.Id))!.IsFinished);
        await worker.StopAsync(CancellationToken.None);

        var final = (await store.GetAsync(job.Id))!;
        Assert.Equal((JobStatus.Succeeded, 2), (final.Status, final.Attempts));
    }
}
