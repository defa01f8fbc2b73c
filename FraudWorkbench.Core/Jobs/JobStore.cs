using System.Text.Json;
using Dapper;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Events;
using Npgsql;

namespace FraudWorkbench.Core.Jobs;

public sealed record JobCounts(int Queued, int Running, int Succeeded, int Failed, int Cancelled)
{
    public int Total => Queued + Running + Succeeded + Failed + Cancelled;
}

public enum CancelOutcome { NotFound, AlreadyFinished, Cancelled, CancelRequested }

/// <summary>
/// The jobs table. Every method that changes a row publishes <see cref="JobChanged"/> after the change is
/// committed, never cancelled half way: a committed change whose event is lost would leave pages stale.
/// The <c>worker</c> column holds the lease of the claim that runs the job; only that lease may report on it.
/// </summary>
public sealed class JobStore(NpgsqlDataSource dataSource, EventHub events, TimeProvider time)
{
    private const string Columns = """
        id, kind, payload::text AS payload, status, progress, stage, attempts, max_attempts, cancel_requested, worker,
        heartbeat_at, error, result::text AS result, created_by, created_at, started_at, finished_at
        """;

    public async Task<Job> EnqueueAsync(string kind, object payload, string actor, int maxAttempts = 2, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var job = await InsertAsync(transaction, kind, payload, actor, maxAttempts, time, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        await events.PublishAsync(JobChanged.From(job), CancellationToken.None);
        return job;
    }

    /// <summary>
    /// Queues a job inside the caller's transaction, so it exists exactly when the caller's own rows do
    /// (a training run and its job). The caller publishes <see cref="JobChanged"/> after committing.
    /// </summary>
    public static async Task<Job> InsertAsync(NpgsqlTransaction transaction, string kind, object payload, string actor, int maxAttempts, TimeProvider time, CancellationToken cancellationToken, Guid? jobId = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(kind);
        var id = jobId ?? Guid.CreateVersion7(time.GetUtcNow());
        var now = time.GetUtcNow().UtcDateTime;
        var json = JsonSerializer.Serialize(payload, EventHub.JsonOptions);
        const string sql = $"""
            INSERT INTO jobs (id, kind, payload, status, max_attempts, created_by, created_at)
            VALUES (@id, @kind, @json::jsonb, 'queued', @maxAttempts, @actor, @now)
            RETURNING {Columns}
            """;
        var job = await transaction.Connection!.QuerySingleAsync<Job>(new CommandDefinition(
            sql, new { id, kind, json, maxAttempts, actor, now }, transaction, cancellationToken: cancellationToken));
        await AuditLog.WriteAsync(transaction, now, actor, "job.enqueue", "job", id.ToString(), new { kind }, cancellationToken);
        return job;
    }

    public async Task<Job?> GetAsync(Guid id, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        const string sql = $"SELECT {Columns} FROM jobs WHERE id = @id";
        return await connection.QuerySingleOrDefaultAsync<Job>(new CommandDefinition(sql, new { id }, cancellationToken: cancellationToken));
    }

    /// <summary>The jobs with these ids, by id (missing ids are left out).</summary>
    public async Task<IReadOnlyDictionary<Guid, Job>> GetManyAsync(IReadOnlyCollection<Guid> ids, CancellationToken cancellationToken = default)
    {
        if (ids.Count == 0) return new Dictionary<Guid, Job>();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        const string sql = $"SELECT {Columns} FROM jobs WHERE id = ANY(@ids)";
        return (await connection.QueryAsync<Job>(new CommandDefinition(sql, new { ids = ids.ToArray() }, cancellationToken: cancellationToken))).ToDictionary(j => j.Id);
    }

    public async Task<IReadOnlyList<Job>> ListAsync(string? status = null, int limit = 100, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        const string sql = $"""
            SELECT {Columns} FROM jobs
            WHERE (@status::text IS NULL OR status = @status)
            ORDER BY created_at DESC
            LIMIT @limit
            """;
        return [.. await connection.QueryAsync<Job>(new CommandDefinition(sql, new { status, limit }, cancellationToken: cancellationToken))];
    }

    public async Task<JobCounts> CountAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        const string sql = """
            SELECT count(*) FILTER (WHERE status = 'queued')::int    AS queued,
                   count(*) FILTER (WHERE status = 'running')::int   AS running,
                   count(*) FILTER (WHERE status = 'succeeded')::int AS succeeded,
                   count(*) FILTER (WHERE status = 'failed')::int    AS failed,
                   count(*) FILTER (WHERE status = 'cancelled')::int AS cancelled
            FROM jobs
            """;
        return await connection.QuerySingleAsync<JobCounts>(new CommandDefinition(sql, cancellationToken: cancellationToken));
    }

    /// <summary>Claims the oldest queued job of the given kinds; concurrent claimers skip each other's locked rows.</summary>
    public async Task<Job?> ClaimNextAsync(string worker, IReadOnlyCollection<string> kinds, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        const string sql = $"""
            UPDATE jobs SET status = 'running', attempts = attempts + 1, worker = @worker,
                            started_at = @now, heartbeat_at = @now, finished_at = NULL, progress = 0
            WHERE id = (SELECT id FROM jobs
                        WHERE status = 'queued' AND kind = ANY(@kinds)
                        ORDER BY created_at
                        LIMIT 1
                        FOR UPDATE SKIP LOCKED)
            RETURNING {Columns}
            """;
        var job = await connection.QuerySingleOrDefaultAsync<Job>(new CommandDefinition(
            sql, new { worker, kinds = kinds.ToArray(), now = Now }, cancellationToken: cancellationToken));
        if (job is not null) await events.PublishAsync(JobChanged.From(job), CancellationToken.None);
        return job;
    }

    /// <summary>Writes progress and heartbeat for a job this worker holds.</summary>
    public async Task<JobLease> ReportAsync(Guid id, string worker, int? progress, string? stage, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        const string sql = $"""
            UPDATE jobs SET heartbeat_at = @now,
                            progress = coalesce(@progress, progress),
                            stage = coalesce(@stage, stage)
            WHERE id = @id AND status = 'running' AND worker = @worker
            RETURNING {Columns}
            """;
        var job = await connection.QuerySingleOrDefaultAsync<Job>(new CommandDefinition(
            sql, new { id, worker, progress = progress is int p ? Math.Clamp(p, 0, 100) : (int?)null, stage, now = Now }, cancellationToken: cancellationToken));
        if (job is null) return JobLease.Lost;
        if (progress is not null || stage is not null) await events.PublishAsync(JobChanged.From(job), CancellationToken.None);
        return job.CancelRequested ? JobLease.CancelRequested : JobLease.Held;
    }

    public Task<Job?> CompleteAsync(Guid id, string worker, object? result, CancellationToken cancellationToken = default)
    {
        var json = result is null ? null : JsonSerializer.Serialize(result, EventHub.JsonOptions);
        const string sql = $"""
            UPDATE jobs SET status = 'succeeded', progress = 100, result = @json::jsonb, error = NULL, finished_at = @now, heartbeat_at = @now
            WHERE id = @id AND status = 'running' AND worker = @worker
            RETURNING {Columns}
            """;
        return TransitionAsync(sql, new { id, worker, json, now = Now }, cancellationToken);
    }

    /// <summary>Records a failure; the job goes back to the queue while it has attempts left and <paramref name="retry"/> allows.</summary>
    public Task<Job?> FailAsync(Guid id, string worker, string error, bool retry, CancellationToken cancellationToken = default)
    {
        const string sql = $"""
            UPDATE jobs SET status = CASE WHEN @retry AND attempts < max_attempts THEN 'queued' ELSE 'failed' END,
                            error = CASE WHEN @retry AND attempts < max_attempts
                                         THEN 'attempt ' || attempts || ' failed, retrying: ' || @error
                                         ELSE @error END,
                            finished_at = CASE WHEN @retry AND attempts < max_attempts THEN NULL ELSE @now END,
                            worker = CASE WHEN @retry AND attempts < max_attempts THEN NULL ELSE worker END
            WHERE id = @id AND status = 'running' AND worker = @worker
            RETURNING {Columns}
            """;
        return TransitionAsync(sql, new { id, worker, error, retry, now = Now }, cancellationToken);
    }

    public Task<Job?> MarkCancelledAsync(Guid id, string worker, CancellationToken cancellationToken = default)
    {
        const string sql = $"""
            UPDATE jobs SET status = 'cancelled', finished_at = @now, error = 'cancelled while running'
            WHERE id = @id AND status = 'running' AND worker = @worker
            RETURNING {Columns}
            """;
        return TransitionAsync(sql, new { id, worker, now = Now }, cancellationToken);
    }

    /// <summary>A graceful shutdown interrupted the job: it goes back to the queue without spending an attempt.</summary>
    public Task<Job?> ReleaseAsync(Guid id, string worker, CancellationToken cancellationToken = default)
    {
        const string sql = $"""
            UPDATE jobs SET status = 'queued', attempts = greatest(attempts - 1, 0), worker = NULL,
                            stage = 'interrupted by a shutdown; queued again'
            WHERE id = @id AND status = 'running' AND worker = @worker
            RETURNING {Columns}
            """;
        return TransitionAsync(sql, new { id, worker }, cancellationToken);
    }

    /// <summary>Cancels a queued job at once, or asks the worker running it to stop.</summary>
    public async Task<(CancelOutcome Outcome, Job? Job)> CancelAsync(Guid id, string actor, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        const string sql = $"""
            UPDATE jobs SET status = CASE WHEN status = 'queued' THEN 'cancelled' ELSE status END,
                            finished_at = CASE WHEN status = 'queued' THEN @now ELSE finished_at END,
                            cancel_requested = true
            WHERE id = @id AND status IN ('queued', 'running')
            RETURNING {Columns}
            """;
        var job = await connection.QuerySingleOrDefaultAsync<Job>(new CommandDefinition(sql, new { id, now = Now }, transaction, cancellationToken: cancellationToken));
        if (job is null)
        {
            var exists = await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
                "SELECT EXISTS (SELECT 1 FROM jobs WHERE id = @id)", new { id }, transaction, cancellationToken: cancellationToken));
            return (exists ? CancelOutcome.AlreadyFinished : CancelOutcome.NotFound, null);
        }

        await AuditLog.WriteAsync(transaction, Now, actor, "job.cancel", "job", id.ToString(), new { job.Kind, job.Status }, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        await events.PublishAsync(JobChanged.From(job), CancellationToken.None);
        return (job.Status == JobStatus.Cancelled ? CancelOutcome.Cancelled : CancelOutcome.CancelRequested, job);
    }

    /// <summary>
    /// Running jobs whose heartbeat is older than <paramref name="staleAfter"/> lost their worker (crash, kill).
    /// Each is queued again while it has attempts left, otherwise failed with the reason.
    /// </summary>
    public async Task<IReadOnlyList<Job>> RecoverStaleAsync(TimeSpan staleAfter, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        const string sql = $"""
            UPDATE jobs SET
                status = CASE WHEN cancel_requested THEN 'cancelled'
                              WHEN attempts < max_attempts THEN 'queued' ELSE 'failed' END,
                error = 'worker ' || coalesce(worker, '?') || ' stopped sending heartbeats (last at '
                        || to_char(heartbeat_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || ' UTC) during attempt ' || attempts
                        || CASE WHEN cancel_requested THEN '; it had been asked to cancel'
                                WHEN attempts < max_attempts THEN '; queued again' ELSE '; no attempts left' END,
                finished_at = CASE WHEN cancel_requested OR attempts >= max_attempts THEN @now ELSE NULL END,
                worker = NULL
            WHERE status = 'running' AND heartbeat_at < @cutoff
            RETURNING {Columns}
            """;
        var jobs = (await connection.QueryAsync<Job>(new CommandDefinition(
            sql, new { now = Now, cutoff = Now - staleAfter }, cancellationToken: cancellationToken))).ToList();
        foreach (var job in jobs) await events.PublishAsync(JobChanged.From(job), CancellationToken.None);
        return jobs;
    }

    private DateTime Now => time.GetUtcNow().UtcDateTime;

    private async Task<Job?> TransitionAsync(string sql, object parameters, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var job = await connection.QuerySingleOrDefaultAsync<Job>(new CommandDefinition(sql, parameters, cancellationToken: cancellationToken));
        if (job is not null) await events.PublishAsync(JobChanged.From(job), CancellationToken.None);
        return job;
    }
}
