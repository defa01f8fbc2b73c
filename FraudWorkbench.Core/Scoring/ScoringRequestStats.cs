using Dapper;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace FraudWorkbench.Core.Scoring;

/// <summary>Scoring requests and the 5xx answers among them in one minute.</summary>
public sealed record ScoringRequestMinute(DateTime Minute, string Model, long Requests, long Errors);

/// <summary>
/// Counts the scoring requests this instance answered, per minute and status class, in memory (the request path never
/// waits on the database for it) and adds them to <c>scoring_requests</c> every few seconds. A flush that fails keeps its
/// counts for the next one, so an outage of the database — when 503s are most worth counting — loses nothing once it is
/// back; only beyond <see cref="MaxPendingMinutes"/> minutes held are the oldest dropped, so memory stays bounded.
/// </summary>
public sealed class ScoringRequestStats(NpgsqlDataSource dataSource, TimeProvider time, ILogger<ScoringRequestStats> logger) : BackgroundService
{
    /// <summary>The model of a request whose model is not known cheaply: the counts are the installation's.</summary>
    public const string AnyModel = "*";

    /// <summary>Minute rows held unflushed at most (a week of one model's minutes).</summary>
    public const int MaxPendingMinutes = 7 * 24 * 60;

    private readonly object gate = new();
    private readonly SemaphoreSlim flushing = new(1, 1);
    private Dictionary<(DateTime Minute, string Model), (long Requests, long Errors)> pending = [];
    private long dropped;

    /// <summary>How often counts are written; tests shorten it.</summary>
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Minute rows counted but not yet in the database.</summary>
    public int Pending
    {
        get
        {
            lock (gate) return pending.Count;
        }
    }

    /// <summary>Minute rows dropped because the database stayed away longer than the bound.</summary>
    public long Dropped => Interlocked.Read(ref dropped);

    /// <summary>Counts one answered request by its final status (5xx, 503 included, is an error).</summary>
    public void Count(int statusCode, string? model = null)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var minute = new DateTime(now.Ticks - now.Ticks % TimeSpan.TicksPerMinute, DateTimeKind.Utc);
        var error = statusCode >= 500 ? 1 : 0;
        lock (gate)
        {
            var key = (minute, model ?? AnyModel);
            var (requests, errors) = pending.GetValueOrDefault(key);
            pending[key] = (requests + 1, errors + error);
            if (pending.Count > MaxPendingMinutes) DropOldest();
        }
    }

    /// <summary>Writes every count held; false (counts kept for the next try) when the database cannot take them.</summary>
    public async Task<bool> FlushAsync(CancellationToken cancellationToken = default)
    {
        await flushing.WaitAsync(cancellationToken);
        try
        {
            Dictionary<(DateTime Minute, string Model), (long Requests, long Errors)> batch;
            lock (gate)
            {
                if (pending.Count == 0) return true;
                (batch, pending) = (pending, []);
            }

            try
            {
                await WriteAsync(batch, cancellationToken);
                return true;
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException or OperationCanceledException)
            {
                lock (gate)
                {
                    foreach (var (key, (requests, errors)) in batch)
                    {
                        var (r, e) = pending.GetValueOrDefault(key);
                        pending[key] = (r + requests, e + errors);
                    }

                    while (pending.Count > MaxPendingMinutes) DropOldest();
                }

                if (ex is OperationCanceledException && cancellationToken.IsCancellationRequested) throw;
                logger.LogWarning("Scoring request counts ({Minutes} minutes) could not be written and are kept for the next try: {Error}", batch.Count, ex.GetBaseException().Message);
                return false;
            }
        }
        finally
        {
            flushing.Release();
        }
    }

    /// <summary>The stored minutes in [<paramref name="from"/>, <paramref name="to"/>), every model's.</summary>
    public async Task<IReadOnlyList<ScoringRequestMinute>> ReadAsync(DateTime from, DateTime to, CancellationToken cancellationToken = default)
    {
        const string sql = """
            SELECT minute, model, requests, errors FROM scoring_requests WHERE minute >= @from AND minute < @to ORDER BY minute, model
            """;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return [.. await connection.QueryAsync<ScoringRequestMinute>(new CommandDefinition(sql, new { from, to }, cancellationToken: cancellationToken))];
    }

    private async Task WriteAsync(Dictionary<(DateTime Minute, string Model), (long Requests, long Errors)> batch, CancellationToken cancellationToken)
    {
        // Added, not replaced: every instance writes its own counts into the same minute rows.
        const string sql = """
            INSERT INTO scoring_requests AS s (minute, model, requests, errors)
            SELECT * FROM unnest(@minutes, @models, @requests, @errors)
            ON CONFLICT (minute, model) DO UPDATE SET requests = s.requests + excluded.requests, errors = s.errors + excluded.errors
            """;
        // One order for every writer, so two instances adding to the same minutes never wait on each other in a cycle.
        var rows = batch.OrderBy(kv => kv.Key.Minute).ThenBy(kv => kv.Key.Model, StringComparer.Ordinal).ToList();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(sql, new
        {
            minutes = rows.Select(r => r.Key.Minute).ToArray(),
            models = rows.Select(r => r.Key.Model).ToArray(),
            requests = rows.Select(r => r.Value.Requests).ToArray(),
            errors = rows.Select(r => r.Value.Errors).ToArray(),
        }, cancellationToken: cancellationToken));
    }

    private void DropOldest()
    {
        var oldest = pending.Keys.MinBy(k => k.Minute);
        pending.Remove(oldest);
        if (Interlocked.Increment(ref dropped) == 1) logger.LogError("Scoring request counts are being dropped: the database has been unavailable for more than {Minutes} minutes of counts", MaxPendingMinutes);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(FlushInterval, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            try
            {
                await FlushAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                logger.LogError(ex, "Flushing scoring request counts failed");
            }
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        // The web server has stopped taking requests by now: what is left goes out once, if the database lets it.
        try
        {
            await FlushAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            logger.LogWarning("Stopping with {Minutes} minutes of scoring request counts unwritten", Pending);
        }
    }
}
