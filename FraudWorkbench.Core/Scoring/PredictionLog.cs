using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;

namespace FraudWorkbench.Core.Scoring;

/// <summary>One scored transaction as the log stores it.</summary>
/// <param name="UnseenJson">The category values it held that training never saw (<see cref="UnseenValue"/>s), null when none: for data-quality monitoring.</param>
/// <param name="Row">The transaction as the contract parsed it, in the dataset's column order: what log sinks count (not stored as such).</param>
public sealed record PredictionRecord(
    Guid Id, DateTime CreatedAt, Guid ModelVersionId, string Actor, string InputJson, float[] Features, double Probability, bool Decision, float LatencyMs,
    string? ReasonsJson = null, string? UnseenJson = null, string?[]? Row = null, string? TransactionId = null);

/// <summary>
/// Writes something derived from every batch of predictions in the batch's own transaction (monitoring's counts), so
/// the log and what is derived from it never disagree: both are written or neither is, and a retried batch counts once.
/// </summary>
public interface IPredictionLogSink
{
    Task WriteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyList<PredictionRecord> batch, CancellationToken cancellationToken);
}

/// <summary>
/// Writes predictions to PostgreSQL off the request path: requests hand records to a channel and a single
/// writer copies them in batches. Capacity is reserved before a request does any work, so a full log makes
/// scoring answer 503 instead of dropping rows; stopping the app drains everything still queued.
/// </summary>
public sealed class PredictionLog(
    NpgsqlDataSource dataSource, IOptions<ScoringOptions> options, ILogger<PredictionLog> logger, IEnumerable<IPredictionLogSink>? sinks = null) : BackgroundService
{
    private abstract record Item;

    private sealed record Prediction(PredictionRecord Record) : Item;

    private sealed record Flush(TaskCompletionSource Done) : Item;

    private static readonly TimeSpan Linger = TimeSpan.FromMilliseconds(20);
    private readonly IPredictionLogSink[] sinks = [.. sinks ?? []];
    private readonly Channel<Item> channel = Channel.CreateUnbounded<Item>(new UnboundedChannelOptions { SingleReader = true });
    private int reserved;
    private long written;

    /// <summary>Predictions accepted but not yet written.</summary>
    public int Pending => Volatile.Read(ref reserved);

    public long Written => Interlocked.Read(ref written);

    /// <summary>Claims room for <paramref name="count"/> records; false when the log is full (the caller answers 503).</summary>
    public bool TryReserve(int count)
    {
        var capacity = options.Value.LogCapacity;
        while (true)
        {
            var current = Volatile.Read(ref reserved);
            if (current + count > capacity) return false;
            if (Interlocked.CompareExchange(ref reserved, current + count, current) == current) return true;
        }
    }

    /// <summary>Gives back room claimed for records that will not be written (the request failed first).</summary>
    public void Release(int count) => Interlocked.Add(ref reserved, -count);

    /// <summary>Queues a record whose room was reserved.</summary>
    public void Write(PredictionRecord record)
    {
        if (!channel.Writer.TryWrite(new Prediction(record)))
        {
            Release(1);
            logger.LogError("Prediction {Id} arrived after the log closed for shutdown and was not written", record.Id);
        }
    }

    /// <summary>Completes when every record queued before the call is in the database.</summary>
    public Task FlushAsync(CancellationToken cancellationToken = default)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        return channel.Writer.TryWrite(new Flush(done)) ? done.Task.WaitAsync(cancellationToken) : Task.CompletedTask;
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        // The web server has stopped taking requests by now; closing the channel lets the writer drain and finish.
        channel.Writer.TryComplete();
        await base.StopAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<PredictionRecord>();
        var flushes = new List<TaskCompletionSource>();
        var reader = channel.Reader;
        // Not stoppingToken: on shutdown the channel completes and the loop ends once it is drained.
        while (await reader.WaitToReadAsync(CancellationToken.None))
        {
            // A moment for the next records to join the first: one COPY (and one set of monitoring counts) per 20 ms under load, not per scoring or two.
            if (!stoppingToken.IsCancellationRequested) await Task.Delay(Linger, CancellationToken.None);
            while (batch.Count < options.Value.LogBatchSize && reader.TryRead(out var item))
            {
                if (item is Prediction p) batch.Add(p.Record);
                else if (item is Flush f) flushes.Add(f.Done);
            }

            await WriteWithRetryAsync(batch, stoppingToken);
            Interlocked.Add(ref reserved, -batch.Count);
            Interlocked.Add(ref written, batch.Count);
            batch.Clear();
            foreach (var flush in flushes) flush.TrySetResult();
            flushes.Clear();
        }
    }

    private async Task WriteWithRetryAsync(List<PredictionRecord> batch, CancellationToken stoppingToken)
    {
        if (batch.Count == 0) return;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await CopyAsync(batch);
                return;
            }
            catch (PostgresException ex) when (ex.SqlState.StartsWith("22", StringComparison.Ordinal) || ex.SqlState.StartsWith("23", StringComparison.Ordinal))
            {
                // Data the database refuses (it will refuse it forever): write the rows one by one so only the bad ones are lost, loudly.
                foreach (var record in batch)
                {
                    try
                    {
                        await CopyAsync([record]);
                    }
                    catch (PostgresException rowError) when (rowError.SqlState.StartsWith("22", StringComparison.Ordinal) || rowError.SqlState.StartsWith("23", StringComparison.Ordinal))
                    {
                        logger.LogError("Prediction {Id} was refused by the database ({State}: {Message}) and is not in the log", record.Id, rowError.SqlState, rowError.MessageText);
                    }
                }

                return;
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
            {
                // Keep the batch: while it waits, reserved room stays taken and scoring turns to 503s, never to silent loss.
                if (stoppingToken.IsCancellationRequested && attempt >= 5)
                {
                    logger.LogError(ex, "Shutting down with {Count} predictions that could not be written", batch.Count);
                    return;
                }

                logger.LogWarning(ex, "Writing {Count} predictions failed (attempt {Attempt}); retrying", batch.Count, attempt);
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(5_000, 100 * attempt * attempt)), CancellationToken.None);
            }
        }
    }

    private async Task CopyAsync(List<PredictionRecord> batch)
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        await using var transaction = sinks.Length == 0 ? null : await connection.BeginTransactionAsync();
        await ImportAsync(connection, batch);
        if (transaction is null) return;
        foreach (var sink in sinks) await sink.WriteAsync(connection, transaction, batch, CancellationToken.None);
        await transaction.CommitAsync();
    }

    private static async Task ImportAsync(NpgsqlConnection connection, List<PredictionRecord> batch)
    {
        await using var importer = await connection.BeginBinaryImportAsync(
            "COPY predictions (id, created_at, model_version_id, actor, input, features, probability, decision, latency_ms, reasons, unseen, transaction_id) FROM STDIN (FORMAT BINARY)");
        foreach (var r in batch)
        {
            await importer.StartRowAsync();
            await importer.WriteAsync(r.Id, NpgsqlDbType.Uuid);
            await importer.WriteAsync(r.CreatedAt, NpgsqlDbType.TimestampTz);
            await importer.WriteAsync(r.ModelVersionId, NpgsqlDbType.Uuid);
            await importer.WriteAsync(r.Actor, NpgsqlDbType.Text);
            await importer.WriteAsync(r.InputJson, NpgsqlDbType.Jsonb);
            await importer.WriteAsync(r.Features, NpgsqlDbType.Array | NpgsqlDbType.Real);
            await importer.WriteAsync(r.Probability, NpgsqlDbType.Double);
            await importer.WriteAsync(r.Decision, NpgsqlDbType.Boolean);
            await importer.WriteAsync(r.LatencyMs, NpgsqlDbType.Real);
            if (r.ReasonsJson is null) await importer.WriteNullAsync();
            else await importer.WriteAsync(r.ReasonsJson, NpgsqlDbType.Jsonb);
            if (r.UnseenJson is null) await importer.WriteNullAsync();
            else await importer.WriteAsync(r.UnseenJson, NpgsqlDbType.Jsonb);
            if (r.TransactionId is null) await importer.WriteNullAsync();
            else await importer.WriteAsync(r.TransactionId, NpgsqlDbType.Text);
        }

        await importer.CompleteAsync();
    }
}
