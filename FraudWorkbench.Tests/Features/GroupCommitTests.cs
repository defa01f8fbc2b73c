using FraudWorkbench.Core.Features;

namespace FraudWorkbench.Tests.Features;

public sealed class GroupCommitTests
{
    [Fact]
    public async Task RunAsync_CallersArrivingDuringAFlush_ShareTheNextOne_OneFlushAtATime_EachGetsItsOwnResult()
    {
        var batches = new List<List<int>>();
        var running = 0;
        var overlapped = false;
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var group = new GroupCommit<int, int, string>(async items =>
        {
            overlapped |= Interlocked.Increment(ref running) > 1;
            lock (batches) batches.Add(items);
            if (batches.Count == 1) await release.Task; // hold the first flush while the others queue
            Interlocked.Decrement(ref running);
            return [.. items.Select(i => $"item {i}")];
        });

        var first = group.RunAsync(0);
        while (batches.Count == 0) await Task.Delay(1);
        var rest = Enumerable.Range(1, 20).Select(group.RunAsync).ToList();
        release.SetResult();
        var results = await Task.WhenAll([first, .. rest]);

        Assert.Equal(Enumerable.Range(0, 21).Select(i => $"item {i}"), results);
        Assert.False(overlapped);
        Assert.Equal([0], batches[0]);
        Assert.Equal(Enumerable.Range(1, 20), batches[1]); // everyone who waited, in one flush
        Assert.Equal(2, batches.Count);
    }

    [Fact]
    public async Task RunAsync_ItemsSharingAKey_NeverInOneFlush()
    {
        var batches = new List<List<(int Id, string Key)>>();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var group = new GroupCommit<(int Id, string Key), string, int>(async items =>
        {
            lock (batches) batches.Add(items);
            if (batches.Count == 1) await release.Task;
            return [.. items.Select(i => i.Id)];
        }, item => [item.Key]);

        var first = group.RunAsync((0, "a"));
        while (batches.Count == 0) await Task.Delay(1);
        var rest = new[] { (1, "a"), (2, "b"), (3, "a"), (4, "c") }.Select(group.RunAsync).ToList();
        release.SetResult();
        await Task.WhenAll([first, .. rest]);

        Assert.All(batches, b => Assert.Equal(b.Count, b.Select(i => i.Key).Distinct().Count()));
        Assert.Equal([(1, "a"), (2, "b"), (4, "c")], batches[1]); // the second "a" waits, the others do not
        Assert.Equal([(3, "a")], batches[2]);
    }

    [Fact]
    public async Task RunAsync_FlushFails_EveryCallerInThatFlushSeesTheError_TheNextFlushStillRuns()
    {
        var flushes = 0;
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var group = new GroupCommit<int, int, int>(async items =>
        {
            var n = Interlocked.Increment(ref flushes);
            if (n == 1) await release.Task; // the others queue meanwhile and share the second flush
            if (n == 2) throw new InvalidOperationException("database gone");
            return [.. items];
        });

        var first = group.RunAsync(0);
        while (Volatile.Read(ref flushes) == 0) await Task.Delay(1);
        var failing = new[] { 1, 2, 3 }.Select(group.RunAsync).ToList();
        release.SetResult();
        await first;
        var errors = await Task.WhenAll(failing.Select(t => Assert.ThrowsAsync<InvalidOperationException>(() => t)));
        var after = await group.RunAsync(4);

        Assert.All(errors, e => Assert.Equal("database gone", e.Message));
        Assert.Equal(3, Volatile.Read(ref flushes)); // caller 0's, callers 1-3's together (failed), caller 4's
        Assert.Equal(4, after);
    }

    [Fact]
    public async Task RunAsync_KeysCannotBeRead_ThatCallerFails_NobodyHangs()
    {
        var group = new GroupCommit<int, int, int>(items => Task.FromResult(items.ToArray()), item => item < 0 ? throw new ArgumentException("no keys") : [item]);

        await Assert.ThrowsAsync<ArgumentException>(() => group.RunAsync(-1));
        var after = await group.RunAsync(5).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(5, after);
    }
}
