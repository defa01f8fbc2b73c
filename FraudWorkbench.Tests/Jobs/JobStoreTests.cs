using FraudWorkbench.Core.Jobs;
using FraudWorkbench.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace FraudWorkbench.Tests.Jobs;

[Trait("Category", "Database")]
public sealed class JobStoreTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    [Fact]
    public async Task EnqueueAsync_NewJob_IsQueuedAuditedAndPublished()
    {
        var hub = db.NewHub();
        var changes = new List<JobChanged>();
        using var _ = hub.Subscribe<JobChanged>(changes.Add);
        var store = db.Jobs(hub);

        var job = await store.EnqueueAsync("store.audit", new { datasetId = 5 }, "user:ann@example.com");

        Assert.Equal(JobStatus.Queued, job.Status);
        Assert.Equal(0, job.Attempts);
        Assert.Equal(5, job.PayloadAs<Dictionary<string, int>>()!["datasetId"]);
        Assert.Equal(job.Id, Assert.Single(changes).Id);
        var audit = await new Core.Accounts.AuditLog(db.DataSource).PageAsync(0, 10, job.Id.ToString());
        var entry = Assert.Single(audit.Items);
        Assert.Equal(("user:ann@example.com", "job.enqueue"), (entry.Actor, entry.Action));
    }

    [Fact]
    public async Task ClaimNextAsync_EightWorkersRacing_EachJobClaimedExactlyOnce()
    {
        var store = db.Jobs();
        var kinds = new[] { "store.race" };
        for (var i = 0; i < 200; i++) await store.EnqueueAsync("store.race", new { i }, "test");
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // On two busy cores one worker could drain all 200 before the others start, and the test
        // would then prove nothing about concurrent claims: every worker holds its first claim
        // until all eight have one, so at least eight claims overlap.
        var firstClaims = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var waiting = 8;

        async Task<List<Guid>> DrainAsync(string worker)
        {
            await start.Task;
            var claimed = new List<Guid>();
            if (await store.ClaimNextAsync(worker, kinds) is { } first) claimed.Add(first.Id);
            if (Interlocked.Decrement(ref waiting) == 0) firstClaims.SetResult();
            await firstClaims.Task;
            while (await store.ClaimNextAsync(worker, kinds) is { } job) claimed.Add(job.Id);
            return claimed;
        }

        var drains = Enumerable.Range(0, 8).Select(i => Task.Run(() => DrainAsync("w" + i))).ToList();
        start.SetResult();
        var results = await Task.WhenAll(drains);

        var all = results.SelectMany(r => r).ToList();
        Assert.Equal(200, all.Count);
        Assert.Equal(200, all.Distinct().Count());
        Assert.All(results, r => Assert.NotEmpty(r));
    }

    [Fact]
    public async Task ClaimNextAsync_OldestFirstAndOnlyRequestedKinds()
    {
        var store = db.Jobs();
        var other = await store.EnqueueAsync("store.other", new { }, "test");
        var first = await store.EnqueueAsync("store.order", new { n = 1 }, "test");
        var second = await store.EnqueueAsync("store.order", new { n = 2 }, "test");

        var a = await store.ClaimNextAsync("w", ["store.order"]);
        var b = await store.ClaimNextAsync("w", ["store.order"]);
        var c = await store.ClaimNextAsync("w", ["store.order"]);

        Assert.Equal([first.Id, second.Id], [a!.Id, b!.Id]);
        Assert.Null(c);
        Assert.Equal(JobStatus.Queued, (await store.GetAsync(other.Id))!.Status);
        Assert.Equal((JobStatus.Running, 1, "w"), (a.Status, a.Attempts, a.Worker));
    }

    [Fact]
    public async Task RecoverStaleAsync_HeartbeatLost_RequeuedOnceThenFailedWithReason()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));
        var store = db.Jobs(time: time);
        var job = await store.EnqueueAsync("store.stale", new { }, "test");
        var kinds = new[] { "store.stale" };

        await store.ClaimNextAsync("crashed-1", kinds);
        time.Advance(TimeSpan.FromSeconds(30));
        Assert.Empty(await store.RecoverStaleAsync(TimeSpan.FromSeconds(60))); // still fresh
        time.Advance(TimeSpan.FromSeconds(31));
        var requeued = Assert.Single(await store.RecoverStaleAsync(TimeSpan.FromSeconds(60)), j => j.Id == job.Id);

        Assert.Equal(JobStatus.Queued, requeued.Status);
        Assert.Contains("crashed-1 stopped sending heartbeats (last at 2026-03-01 12:00:00 UTC) during attempt 1; queued again", requeued.Error);
        Assert.Null(requeued.Worker);

        var retried = await store.ClaimNextAsync("crashed-2", kinds);
        Assert.Equal((job.Id, 2), (retried!.Id, retried.Attempts));
        time.Advance(TimeSpan.FromMinutes(5));
        var failed = Assert.Single(await store.RecoverStaleAsync(TimeSpan.FromSeconds(60)), j => j.Id == job.Id);

        Assert.Equal(JobStatus.Failed, failed.Status);
        Assert.Contains("during attempt 2; no attempts left", failed.Error);
        Assert.Equal(time.GetUtcNow().UtcDateTime, failed.FinishedAt);
        Assert.Null(await store.ClaimNextAsync("w", kinds));
    }

    [Fact]
    public async Task ReportAsync_AfterJobWasRequeued_OldWorkerLearnsItLostTheLease()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var store = db.Jobs(time: time);
        var job = await store.EnqueueAsync("store.lease", new { }, "test");
        await store.ClaimNextAsync("slow", ["store.lease"]);

        Assert.Equal(JobLease.Held, await store.ReportAsync(job.Id, "slow", 10, "working"));
        time.Advance(TimeSpan.FromMinutes(2));
        await store.RecoverStaleAsync(TimeSpan.FromMinutes(1));

        Assert.Equal(JobLease.Lost, await store.ReportAsync(job.Id, "slow", 20, null));
        Assert.Null(await store.CompleteAsync(job.Id, "slow", null));
        Assert.Equal(JobStatus.Queued, (await store.GetAsync(job.Id))!.Status);
    }

    [Fact]
    public async Task CancelAsync_QueuedJob_CancelledAtOnce_RunningJob_CancelRequested_FinishedJob_Refused()
    {
        var store = db.Jobs();
        var queued = await store.EnqueueAsync("store.cancel-q", new { }, "test");
        var running = await store.EnqueueAsync("store.cancel-r", new { }, "test");
        await store.ClaimNextAsync("w", ["store.cancel-r"]);

        var (q, qJob) = await store.CancelAsync(queued.Id, "user:x@example.com");
        var (r, rJob) = await store.CancelAsync(running.Id, "user:x@example.com");
        var (again, _) = await store.CancelAsync(queued.Id, "user:x@example.com");
        var (missing, _) = await store.CancelAsync(Guid.NewGuid(), "user:x@example.com");

        Assert.Equal((CancelOutcome.Cancelled, JobStatus.Cancelled), (q, qJob!.Status));
        Assert.Equal((CancelOutcome.CancelRequested, JobStatus.Running, true), (r, rJob!.Status, rJob.CancelRequested));
        Assert.Equal(CancelOutcome.AlreadyFinished, again);
        Assert.Equal(CancelOutcome.NotFound, missing);
        Assert.Equal(JobLease.CancelRequested, await store.ReportAsync(running.Id, "w", null, null));
    }

    [Fact]
    public async Task FailAsync_RetryAllowed_RequeuesUntilAttemptsRunOut()
    {
        var store = db.Jobs();
        var job = await store.EnqueueAsync("store.fail", new { }, "test");

        await store.ClaimNextAsync("w", ["store.fail"]);
        var first = await store.FailAsync(job.Id, "w", "disk full", retry: true);
        await store.ClaimNextAsync("w", ["store.fail"]);
        var second = await store.FailAsync(job.Id, "w", "disk full", retry: true);

        Assert.Equal((JobStatus.Queued, "attempt 1 failed, retrying: disk full"), (first!.Status, first.Error));
        Assert.Equal((JobStatus.Failed, "disk full", 2), (second!.Status, second.Error, second.Attempts));
    }
}
