using FraudWorkbench.Core.Events;
using FraudWorkbench.Core.Jobs;
using FraudWorkbench.Tests.Infrastructure;

namespace FraudWorkbench.Tests.Events;

[Trait("Category", "Database")]
public sealed class CrossInstanceTests
{
    [Fact]
    public async Task JobProgress_TwoAppInstancesOnOneDatabase_BothInstancesSeeEveryStep()
    {
        var connectionString = await PostgresServer.CreateDatabaseAsync();
        await using var a = new WorkbenchAppFactory(connectionString);
        await using var b = new WorkbenchAppFactory(connectionString);
        a.StartServer();
        b.StartServer();
        var seenAtA = new List<int>();
        var seenAtB = new List<int>();
        var doneAtA = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var doneAtB = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void Track(JobChanged c, List<int> seen, TaskCompletionSource done)
        {
            if (c.Kind != StepsJobHandler.KindName) return; // the only job in this fresh database
            lock (seen) seen.Add(c.Progress);
            if (c.Status == JobStatus.Succeeded) done.TrySetResult();
        }

        using var subA = a.Get<EventHub>().Subscribe<JobChanged>(c => Track(c, seenAtA, doneAtA));
        using var subB = b.Get<EventHub>().Subscribe<JobChanged>(c => Track(c, seenAtB, doneAtB));
        // LISTEN is in place on both before anything is published.
        await a.Get<PostgresEventListener>().Listening.WaitAsync(TimeSpan.FromSeconds(10));
        await b.Get<PostgresEventListener>().Listening.WaitAsync(TimeSpan.FromSeconds(10));

        await a.Get<JobStore>().EnqueueAsync(StepsJobHandler.KindName, new StepsPayload(4), "test");
        await Task.WhenAll(doneAtA.Task, doneAtB.Task).WaitAsync(TimeSpan.FromSeconds(30));

        lock (seenAtA) lock (seenAtB)
        {
            Assert.Equal(seenAtA, seenAtB);
            Assert.Equal([0, 0, 25, 50, 75, 100, 100], seenAtA);
        }
    }
}
