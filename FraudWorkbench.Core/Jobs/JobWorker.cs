using System.Collections.Concurrent;
using FraudWorkbench.Core.Events;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FraudWorkbench.Core.Jobs;

/// <summary>
/// Runs queued jobs in this instance: <see cref="JobOptions.Concurrency"/> slots claim work with
/// SKIP LOCKED, a heartbeat keeps the lease, and a sweeper requeues jobs whose worker died.
/// New work and cancellations arrive as events; a slow poll covers a missed notification.
/// </summary>
public sealed class JobWorker(
    JobStore store,
    EventHub events,
    IEnumerable<IJobHandler> handlers,
    IOptions<JobOptions> options,
    TimeProvider time,
    ILogger<JobWorker> logger) : BackgroundService
{
    private readonly Dictionary<string, IJobHandler> handlersByKind = handlers.ToDictionary(h => h.Kind);
    // Keyed by lease (one per claim), so a job that was taken away and claimed again here never shares state with its old run.
    private readonly ConcurrentDictionary<string, Running> running = new();
    private readonly SemaphoreSlim wakeUp = new(0);

    /// <summary>This instance's worker name; each claim adds its own lease suffix (<c>WorkerId/xxxxxxxx</c>).</summary>
    public string WorkerId { get; } = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid().ToString("N")[..6]}";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        if (!settings.Enabled)
        {
            return;
        }

        using var subscription = events.Subscribe<JobChanged>(OnJobChanged);
        // The sweeper runs even without local handlers: it rescues jobs for the instances that have them.
        var loops = new List<Task> { SweepStaleAsync(settings, stoppingToken) };
        if (handlersByKind.Count > 0)
        {
            loops.AddRange(Enumerable.Range(0, settings.Concurrency).Select(_ => RunSlotAsync(settings, stoppingToken)));
        }

        await Task.WhenAll(loops);
    }

    private void OnJobChanged(JobChanged change)
    {
        if (change.Status == JobStatus.Queued && handlersByKind.ContainsKey(change.Kind))
        {
            wakeUp.Release();
        }
        else if (change.CancelRequested)
        {
            foreach (var run in running.Values.Where(r => r.JobId == change.Id)) run.RequestCancel();
        }
    }

    private async Task RunSlotAsync(JobOptions settings, CancellationToken stoppingToken)
    {
        var kinds = handlersByKind.Keys.ToArray();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var job = await store.ClaimNextAsync($"{WorkerId}/{Guid.NewGuid().ToString("N")[..8]}", kinds, stoppingToken);
                if (job is null)
                {
                    await wakeUp.WaitAsync(settings.PollInterval, stoppingToken);
                    continue;
                }

                await RunJobAsync(job, settings, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                logger.LogError(ex, "Job worker slot failed; retrying shortly");
                try { await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken); } catch (OperationCanceledException) { return; }
            }
        }
    }

    private async Task RunJobAsync(Job job, JobOptions settings, CancellationToken stoppingToken)
    {
        var lease = job.Worker!;
        using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var state = new Running(job.Id, cancellation);
        running[lease] = state;
        using var heartbeatStop = new CancellationTokenSource();
        var heartbeat = HeartbeatAsync(job.Id, lease, state, settings.HeartbeatInterval, heartbeatStop.Token);
        var handler = handlersByKind[job.Kind];
        var context = new JobContext(job, lease, store, time, settings.ProgressThrottle, state.OnLease);
        logger.LogInformation("Running job {JobId} ({Kind}), attempt {Attempt}", job.Id, job.Kind, job.Attempts);

        try
        {
            if (job.CancelRequested) state.RequestCancel();
            cancellation.Token.ThrowIfCancellationRequested();
            var result = await handler.ExecuteAsync(context, cancellation.Token);
            await StopHeartbeatAsync();
            await store.CompleteAsync(job.Id, lease, result, CancellationToken.None);
            logger.LogInformation("Job {JobId} ({Kind}) succeeded", job.Id, job.Kind);
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            await StopHeartbeatAsync();
            if (state.Lost)
            {
                logger.LogWarning("Job {JobId} was taken away from this worker; its result is discarded", job.Id);
            }
            else if (state.CancelRequested)
            {
                await store.MarkCancelledAsync(job.Id, lease, CancellationToken.None);
                logger.LogInformation("Job {JobId} ({Kind}) cancelled", job.Id, job.Kind);
            }
            else
            {
                await store.ReleaseAsync(job.Id, lease, CancellationToken.None);
                logger.LogInformation("Job {JobId} ({Kind}) interrupted by shutdown and queued again", job.Id, job.Kind);
            }
        }
        catch (Exception ex)
        {
            await StopHeartbeatAsync();
            var retry = ex is not NonRetryableJobException;
            var failed = await store.FailAsync(job.Id, lease, ex.Message, retry, CancellationToken.None);
            logger.LogError(ex, "Job {JobId} ({Kind}) failed on attempt {Attempt}; now {Status}", job.Id, job.Kind, job.Attempts, failed?.Status);
        }
        finally
        {
            running.TryRemove(lease, out _);
        }

        async Task StopHeartbeatAsync()
        {
            await heartbeatStop.CancelAsync();
            try { await heartbeat; } catch (OperationCanceledException) { }
        }
    }

    private async Task HeartbeatAsync(Guid jobId, string lease, Running state, TimeSpan interval, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            await Task.Delay(interval, time, stop);
            try
            {
                state.OnLease(await store.ReportAsync(jobId, lease, null, null, stop));
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogWarning(ex, "Heartbeat for job {JobId} failed", jobId);
            }
        }
    }

    private async Task SweepStaleAsync(JobOptions settings, CancellationToken stoppingToken)
    {
        var interval = TimeSpan.FromTicks(Math.Max(settings.StaleAfter.Ticks / 4, TimeSpan.FromMilliseconds(200).Ticks));
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                foreach (var job in await store.RecoverStaleAsync(settings.StaleAfter, stoppingToken))
                {
                    logger.LogWarning("Job {JobId} ({Kind}) lost its worker: {Error}", job.Id, job.Kind, job.Error);
                }

                await Task.Delay(interval, time, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                logger.LogWarning(ex, "Sweeping stale jobs failed");
                try { await Task.Delay(interval, time, stoppingToken); } catch (OperationCanceledException) { return; }
            }
        }
    }

    public override void Dispose()
    {
        wakeUp.Dispose();
        base.Dispose();
    }

    private sealed class Running(Guid jobId, CancellationTokenSource cancellation)
    {
        public Guid JobId { get; } = jobId;

        public bool CancelRequested { get; private set; }
        public bool Lost { get; private set; }

        public void RequestCancel()
        {
            if (!Lost) CancelRequested = true;
            TryCancel();
        }

        public void OnLease(JobLease lease)
        {
            if (lease == JobLease.Lost) MarkLost();
            else if (lease == JobLease.CancelRequested) RequestCancel();
        }

        public void MarkLost()
        {
            Lost = true;
            TryCancel();
        }

        private void TryCancel()
        {
            try { cancellation.Cancel(); } catch (ObjectDisposedException) { }
        }
    }
}
