using System.Text.Json;
using FraudWorkbench.Core.Events;

namespace FraudWorkbench.Core.Jobs;

public static class JobStatus
{
    public const string Queued = "queued";
    public const string Running = "running";
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";
    public const string Cancelled = "cancelled";

    public static readonly IReadOnlyList<string> All = [Queued, Running, Succeeded, Failed, Cancelled];

    public static bool IsFinished(string status) => status is Succeeded or Failed or Cancelled;
}

/// <summary>A row of the <c>jobs</c> table. Payload and result are JSON text.</summary>
public sealed record Job(
    Guid Id,
    string Kind,
    string Payload,
    string Status,
    int Progress,
    string? Stage,
    int Attempts,
    int MaxAttempts,
    bool CancelRequested,
    string? Worker,
    DateTime? HeartbeatAt,
    string? Error,
    string? Result,
    string CreatedBy,
    DateTime CreatedAt,
    DateTime? StartedAt,
    DateTime? FinishedAt)
{
    public bool IsFinished => JobStatus.IsFinished(Status);

    public T? PayloadAs<T>() => JsonSerializer.Deserialize<T>(Payload, EventHub.JsonOptions);

    /// <summary>This job as a change reports it, so a page can follow progress without a query per event.</summary>
    public Job Apply(JobChanged change) => change.Id != Id ? this : this with
    {
        Status = change.Status,
        Progress = change.Progress,
        Stage = change.Stage,
        Attempts = change.Attempts,
        CancelRequested = change.CancelRequested,
        Error = change.Error,
        StartedAt = change.StartedAt,
        FinishedAt = change.FinishedAt,
    };
}

/// <summary>Published on every state or progress change of a job, here and on the other instances.</summary>
[EventName("job.changed")]
public sealed record JobChanged(
    Guid Id,
    string Kind,
    string Status,
    int Progress,
    string? Stage,
    int Attempts,
    bool CancelRequested,
    string? Error,
    DateTime? StartedAt,
    DateTime? FinishedAt)
{
    public static JobChanged From(Job job) => new(
        job.Id, job.Kind, job.Status, job.Progress, Truncate(job.Stage, 200), job.Attempts, job.CancelRequested,
        Truncate(job.Error, 500), job.StartedAt, job.FinishedAt);

    // Kept well under NOTIFY's 8000-byte payload even when every character needs a \u escape, twice.
    private static string? Truncate(string? text, int max) => text is null || text.Length <= max ? text : text[..max] + "…";
}

/// <summary>What a worker learns when it reports on a job it runs.</summary>
public enum JobLease
{
    /// <summary>Still ours, carry on.</summary>
    Held,
    /// <summary>Someone asked to cancel it.</summary>
    CancelRequested,
    /// <summary>No longer ours (declared stale and requeued, or finished elsewhere): stop without writing.</summary>
    Lost,
}

/// <summary>Thrown by a handler for a failure that another attempt cannot fix (bad input, say).</summary>
public sealed class NonRetryableJobException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Runs jobs of one kind. Registered in DI; the worker picks it by <see cref="Kind"/>.</summary>
public interface IJobHandler
{
    string Kind { get; }

    /// <summary>Does the work; the returned object (if any) is stored as the job's JSON result.</summary>
    Task<object?> ExecuteAsync(JobContext context, CancellationToken cancellationToken);
}

public sealed class JobOptions
{
    public const string Section = "FraudWorkbench:Jobs";

    /// <summary>Jobs run at once by this instance.</summary>
    public int Concurrency { get; set; } = 2;

    /// <summary>How often a running job's heartbeat is written.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>A running job without a heartbeat for this long is taken as abandoned.</summary>
    public TimeSpan StaleAfter { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Fallback wake-up when no event announced new work (another instance's notify lost, say).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Least time between two progress writes of one job.</summary>
    public TimeSpan ProgressThrottle { get; set; } = TimeSpan.FromMilliseconds(200);

    public bool Enabled { get; set; } = true;
}
