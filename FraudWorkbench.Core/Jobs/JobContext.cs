namespace FraudWorkbench.Core.Jobs;

/// <summary>What a handler gets: its job and a way to report progress. Progress writes are throttled.</summary>
public sealed class JobContext(Job job, string worker, JobStore store, TimeProvider time, TimeSpan throttle, Action<JobLease> onLeaseChanged)
{
    private long lastWriteTicks = long.MinValue;
    private string? lastStage = job.Stage;

    public Job Job { get; } = job;

    public T Payload<T>() => Job.PayloadAs<T>() ?? throw new NonRetryableJobException($"Job {Job.Id} has an empty payload.");

    /// <summary>
    /// Reports progress (0–100) and a stage text. Writes to the database and publishes to pages at most
    /// once per throttle interval, except for stage changes and completion, which always go out.
    /// </summary>
    public async Task ReportAsync(int progress, string? stage = null, CancellationToken cancellationToken = default)
    {
        var now = time.GetTimestamp();
        var stageChanged = stage is not null && stage != lastStage;
        if (!stageChanged && progress < 100 && lastWriteTicks != long.MinValue && time.GetElapsedTime(lastWriteTicks, now) < throttle)
        {
            return;
        }

        lastWriteTicks = now;
        lastStage = stage ?? lastStage;
        var lease = await store.ReportAsync(Job.Id, worker, progress, stage, cancellationToken);
        if (lease != JobLease.Held) onLeaseChanged(lease);
        cancellationToken.ThrowIfCancellationRequested();
    }
}
