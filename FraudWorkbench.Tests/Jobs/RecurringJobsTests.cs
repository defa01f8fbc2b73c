using Dapper;
using FraudWorkbench.Core.Jobs;
using FraudWorkbench.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Npgsql;

namespace FraudWorkbench.Tests.Jobs;

[Trait("Category", "Database")]
public sealed class RecurringJobsTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    private static readonly DateTimeOffset Morning = new(2026, 12, 7, 5, 30, 0, TimeSpan.Zero);

    private RecurringJobScheduler Scheduler(RecurringJob job, TimeProvider time, NpgsqlDataSource? source = null) =>
        new(source ?? db.DataSource, [job], time, NullLogger<RecurringJobScheduler>.Instance);

    private async Task<List<RecurringWindow>> QueuedAsync(string kind)
    {
        await using var connection = await db.DataSource.OpenConnectionAsync();
        var payloads = await connection.QueryAsync<string>("SELECT payload::text FROM jobs WHERE kind = @kind ORDER BY payload ->> 'start'", new { kind });
        return [.. payloads.Select(p => System.Text.Json.JsonSerializer.Deserialize<RecurringWindow>(p, FraudWorkbench.Core.Events.EventHub.JsonOptions)!)];
    }

    private static DateTime At(int hour) => new(2026, 12, 7, hour, 0, 0, DateTimeKind.Utc);

    [Fact]
    public async Task EnqueueDue_HourlyJob_TheClosedHourOnceThenNothingUntilTheNextHourCloses()
    {
        var job = new RecurringJob("test.hourly", TimeSpan.FromHours(1), "test");
        var time = new FakeTimeProvider(Morning);
        var scheduler = Scheduler(job, time);

        Assert.Equal([new RecurringWindow(At(4), At(5))], await scheduler.EnqueueDueAsync(job, default));
        Assert.Empty(await scheduler.EnqueueDueAsync(job, default));
        time.SetUtcNow(new DateTimeOffset(At(5).AddMinutes(59)));
        Assert.Empty(await scheduler.EnqueueDueAsync(job, default)); // 05:00-06:00 is still open
        time.SetUtcNow(new DateTimeOffset(At(6).AddSeconds(1)));
        Assert.Equal([new RecurringWindow(At(5), At(6))], await scheduler.EnqueueDueAsync(job, default));

        Assert.Equal([new RecurringWindow(At(4), At(5)), new RecurringWindow(At(5), At(6))], await QueuedAsync("test.hourly"));
    }

    [Fact]
    public async Task EnqueueDue_AfterDowntime_CatchesUpTheMissedWindowsItKeeps()
    {
        var job = new RecurringJob("test.catch-up", TimeSpan.FromHours(1), "test", CatchUpWindows: 3);
        var time = new FakeTimeProvider(Morning);
        var scheduler = Scheduler(job, time);

        Assert.Equal([At(4)], (await scheduler.EnqueueDueAsync(job, default)).Select(w => w.Start)); // first run: nothing to catch up
        time.SetUtcNow(new DateTimeOffset(At(10).AddMinutes(30))); // down from 05:30 to 10:30
        Assert.Equal([At(7), At(8), At(9)], (await scheduler.EnqueueDueAsync(job, default)).Select(w => w.Start)); // 05:00 and 06:00 are past the catch-up

        Assert.Equal([4, 7, 8, 9], (await QueuedAsync("test.catch-up")).Select(w => w.Start.Hour));
    }

    [Fact]
    public async Task EnqueueDue_TwoInstancesAtOnce_EachWindowQueuedOnce()
    {
        var job = new RecurringJob("test.race", TimeSpan.FromDays(1), "test", CatchUpWindows: 2);
        var time = new FakeTimeProvider(Morning);
        await using var other = NpgsqlDataSource.Create(db.ConnectionString); // another instance: its own pool
        var instances = new[] { Scheduler(job, time), Scheduler(job, time, other) };

        var results = await Task.WhenAll(Enumerable.Range(0, 10).Select(i => instances[i % 2].EnqueueDueAsync(job, default)));

        Assert.Equal(1, results.Sum(r => r.Count));
        Assert.Equal([At(0).AddDays(-1)], (await QueuedAsync("test.race")).Select(w => w.Start));

        // Two days later both instances catch up the missed day and the one just closed, each once.
        time.Advance(TimeSpan.FromDays(2));
        results = await Task.WhenAll(Enumerable.Range(0, 10).Select(i => instances[i % 2].EnqueueDueAsync(job, default)));
        Assert.Equal(2, results.Sum(r => r.Count));
        Assert.Equal([At(0).AddDays(-1), At(0), At(0).AddDays(1)], (await QueuedAsync("test.race")).Select(w => w.Start));
    }

    [Fact]
    public void WindowContaining_DaysAndHours_AlignedToUtcClockBoundaries()
    {
        Assert.Equal(At(0), new RecurringJob("d", TimeSpan.FromDays(1), "t").WindowContaining(At(13).AddMinutes(7)));
        Assert.Equal(At(13), new RecurringJob("h", TimeSpan.FromHours(1), "t").WindowContaining(At(13).AddMinutes(7)));
        Assert.Equal(At(12), new RecurringJob("w", TimeSpan.FromHours(6), "t").WindowContaining(At(13)));
    }
}
