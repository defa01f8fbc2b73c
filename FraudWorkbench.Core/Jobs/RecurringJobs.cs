using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace FraudWorkbench.Core.Jobs;

/// <summary>
/// A job kind queued once per window of <paramref name="Period"/> (windows aligned to UTC midnight of
/// 1 January 2001, so an hour is a clock hour and a day a UTC day), for the window that has just
/// closed. After downtime the missed windows are queued too, up to <paramref name="CatchUpWindows"/>
/// of them, newest first dropped last; the first time a kind is scheduled, only the window just closed. The job's payload is <see cref="RecurringWindow"/>.
/// </summary>
public sealed record RecurringJob(string Kind, TimeSpan Period, string Actor, int CatchUpWindows = 1, int MaxAttempts = 2)
{
    public static readonly DateTime Origin = new(2001, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    /// <summary>The start of the window that contains <paramref name="at"/>.</summary>
    public DateTime WindowContaining(DateTime at) => Origin + Period * Math.Floor((at - Origin) / Period);
}

/// <summary>The window a recurring job's run covers: [Start, End).</summary>
public sealed record RecurringWindow(DateTime Start, DateTime End);

/// <summary>Queues the recurring jobs' closed windows; every instance runs one, the database decides who queues.</summary>
public sealed class RecurringJobScheduler(
    NpgsqlDataSource dataSource, IEnumerable<RecurringJob> jobs, TimeProvider time, ILogger<RecurringJobScheduler> logger) : BackgroundService
{
    /// <summary>How often due windows are looked for: well under the shortest period, cheap when nothing is due.</summary>
    public static readonly TimeSpan Tick = TimeSpan.FromMinutes(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Tick, time);
        do
        {
            foreach (var job in jobs)
            {
                try
                {
                    await EnqueueDueAsync(job, stoppingToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // The next tick catches up: a failed or slow run never blocks anything else.
                    logger.LogWarning(ex, "Could not queue the recurring job {Kind}; trying again at the next tick", job.Kind);
                }
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <summary>Queues every closed window of <paramref name="job"/> not queued yet (at most its catch-up count); returns the windows it queued.</summary>
    public async Task<IReadOnlyList<RecurringWindow>> EnqueueDueAsync(RecurringJob job, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var current = job.WindowContaining(now);
        var due = Enumerable.Range(1, Math.Max(1, job.CatchUpWindows)).Select(k => current - job.Period * k).Reverse().ToList();

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        // Only windows after the last one queued: a kind never queued before starts with the window just closed (a new
        // install has no downtime to catch up, and its jobs page would otherwise open on a day of empty hourly runs).
        const string latest = "SELECT max(window_start) FROM recurring_runs WHERE kind = @kind";
        var last = await connection.ExecuteScalarAsync<DateTime?>(new CommandDefinition(latest, new { kind = job.Kind }, cancellationToken: cancellationToken));
        // Nothing after the last window can be queued yet; another instance queueing the same window now loses its claim below.
        var missing = last is { } l ? due.Where(w => w > l).ToList() : [due[^1]];
        if (missing.Count == 0) return [];

        var added = new List<RecurringWindow>();
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        foreach (var start in missing)
        {
            // Claim the window first: of two instances, the second finds it taken and queues nothing.
            const string claim = """
                INSERT INTO recurring_runs (kind, window_start, job_id, queued_at)
                SELECT @kind, @start, @jobId, @now
                WHERE pg_try_advisory_xact_lock(hashtextextended(@kind || @start::text, 0))
                ON CONFLICT DO NOTHING
                """;
            var window = new RecurringWindow(start, start + job.Period);
            var jobId = Guid.CreateVersion7(time.GetUtcNow());
            var claimed = await connection.ExecuteAsync(new CommandDefinition(claim, new { kind = job.Kind, start, jobId, now }, transaction, cancellationToken: cancellationToken));
            if (claimed == 0) continue;
            await JobStore.InsertAsync(transaction, job.Kind, window, job.Actor, job.MaxAttempts, time, cancellationToken, jobId);
            added.Add(window);
        }

        await transaction.CommitAsync(cancellationToken);
        return added;
    }
}

public static class RecurringJobServiceCollectionExtensions
{
    /// <summary>Registers <paramref name="job"/> with the one scheduler that queues every recurring job.</summary>
    public static IServiceCollection AddRecurringJob(this IServiceCollection services, RecurringJob job)
    {
        services.AddSingleton(job);
        return services;
    }
}
