using System.Runtime.InteropServices;
using FraudWorkbench.Core.Features;

namespace FraudWorkbench.Core.Retraining;

/// <summary>Receives finished feature rows: the caller's index of each row and its features, row-major.</summary>
public delegate void FeatureChunk(ReadOnlySpan<int> keys, ReadOnlySpan<float> features);

/// <summary>
/// The features <see cref="BatchFeaturizer.Run"/> would give chosen rows of a stream, computed while the stream is read
/// instead of over all of it at once: memory holds the entity histories, the rows waiting to be put back in event-time
/// order and one chunk of finished rows, not every row and a feature matrix over all of them.
/// </summary>
/// <remarks>
/// The batch walks rows by event time, rows without one first, ties in arrival order; each row sees the histories of the
/// rows strictly earlier in event time (never itself nor a row of the same instant), and a whole instant is recorded
/// after all its rows were computed. Here the stream arrives in another order (the prediction log is read by the time each
/// prediction was logged), so rows wait in a queue keyed by (event time, arrival) until no later arrival can come before
/// them: given the stream's <i>lateness</i> L (how far an arrival's event time can lie behind the latest one before it,
/// measured by <see cref="LatenessMeter"/> over the same stream first), every later arrival is at or after
/// latest − L, so a queued row at or before that is final. A row released at exactly latest − L may still get twins of
/// its instant (with later arrival, so after it in the batch's order too): an instant is recorded only when the first
/// row of a later one is released. Rows without an event time or without an entity key read no history and record none,
/// so they are finished on arrival. The result is the batch's, bit for bit: the same rows are recorded into the same
/// histories in the same order, and read at the same points (an entity never seen reads as the empty history the batch
/// creates for it).
/// </remarks>
public sealed class PointInTimeStream
{
    /// <summary>Rough bytes of one entity's history of one feature, empty: the object, its two lists and the dictionary entry.</summary>
    public const long HistoryBytes = 320;

    /// <summary>Bytes of one remembered event (ticks and value, in lists that grow by doubling).</summary>
    public const long EventBytes = 32;

    private readonly record struct Held(string?[] Row, long Ticks, int Key, long Bytes);

    private readonly Featurizer featurizer;
    private readonly int width;
    private readonly int[] entityFeatures;
    private readonly Dictionary<string, EntityHistory>[] histories;
    private readonly long lateness;
    private readonly FeatureChunk finished;
    private readonly PriorityQueue<Held, (long Ticks, long Arrival)> queue = new();
    private readonly List<Held> instant = [];
    private readonly Func<int, string, EntityHistory?> find;
    private readonly Func<int, string, EntityHistory> record;
    private readonly (EntityHistory History, int Before)[] touched;
    private readonly int[] chunkKeys;
    private readonly float[] chunk;
    private int chunkCount;
    private long instantTicks;
    private long? latest;
    private long arrivals;
    private int touchedCount;

    /// <param name="set">The fitted features.</param>
    /// <param name="lateness">The stream's lateness in ticks (<see cref="LatenessMeter"/>); an arrival later than that is refused.</param>
    /// <param name="chunkRows">How many finished rows are handed to <paramref name="finished"/> at once.</param>
    public PointInTimeStream(FittedFeatureSet set, long lateness, int chunkRows, FeatureChunk finished)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(lateness);
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkRows, 1);
        featurizer = new Featurizer(set);
        width = set.SlotCount;
        this.lateness = lateness;
        this.finished = finished;
        entityFeatures = [.. Enumerable.Range(0, set.Features.Count).Where(featurizer.IsEntityFeature)];
        histories = [.. Enumerable.Range(0, set.Features.Count).Select(_ => new Dictionary<string, EntityHistory>(StringComparer.Ordinal))];
        touched = new (EntityHistory, int)[set.Features.Count];
        chunkKeys = new int[chunkRows];
        chunk = new float[chunkRows * width];
        // An entity without a history reads exactly as one with an empty history, so lookups create nothing.
        find = (f, key) => histories[f].GetValueOrDefault(key);
        record = (f, key) =>
        {
            ref var h = ref CollectionsMarshal.GetValueRefOrAddDefault(histories[f], key, out var exists);
            if (!exists)
            {
                h = new EntityHistory();
                Histories++;
                KeyBytes += 24 + 2L * key.Length;
            }

            touched[touchedCount++] = (h!, h!.Times.Count);
            return h;
        };
    }

    /// <summary>Entity histories kept (one per feature and entity).</summary>
    public long Histories { get; private set; }

    /// <summary>Events the histories remember (older ones are folded into their totals).</summary>
    public long Events { get; private set; }

    /// <summary>Rows waiting for their place in event-time order, or for the end of their instant.</summary>
    public long HeldRows { get; private set; }

    private long KeyBytes { get; set; }

    private long HeldBytes { get; set; }

    /// <summary>An estimate of the memory this holds: histories, held rows and the chunk buffer.</summary>
    public long EstimatedBytes => Histories * HistoryBytes + KeyBytes + Events * EventBytes + HeldBytes + chunk.Length * 4L + chunkKeys.Length * 4L;

    /// <summary>
    /// The next row of the stream; <paramref name="key"/> ≥ 0 asks for its features under that key, −1 only records it.
    /// False when the row comes later than the lateness allows (the stream is not the one measured): nothing is recorded.
    /// </summary>
    public bool Add(string?[] row, int key)
    {
        var arrival = arrivals++;
        if (entityFeatures.Length == 0 || featurizer.EventTicks(row) is not long ticks)
        {
            // No history to read or write: finished now, wherever the batch would have placed it.
            if (key >= 0) Emit(row, null, key);
            return true;
        }

        if (latest is long seen && ticks < seen - lateness) return false;
        latest = latest is long l ? Math.Max(l, ticks) : ticks;
        // A row without an entity key reads and records no history: finished now, like a row without an event time.
        if (!HasEntity(row))
        {
            if (key >= 0) Emit(row, ticks, key);
        }
        else
        {
            var bytes = RowBytes(row);
            queue.Enqueue(new Held(row, ticks, key, bytes), (ticks, arrival));
            HeldRows++;
            HeldBytes += bytes;
        }

        var final = latest.Value - lateness;
        while (queue.TryPeek(out _, out var next) && next.Ticks <= final) Release(queue.Dequeue());
        return true;
    }

    /// <summary>The end of the stream: releases every held row and hands over the last chunk.</summary>
    public void Complete(CancellationToken cancellationToken = default)
    {
        var n = 0;
        while (queue.TryDequeue(out var held, out _))
        {
            if ((++n & 0xFFFF) == 0) cancellationToken.ThrowIfCancellationRequested();
            Release(held);
        }

        EndInstant();
        Flush();
    }

    private bool HasEntity(string?[] row)
    {
        foreach (var f in entityFeatures)
        {
            if (featurizer.EntityOf(f, row) is not null) return true;
        }

        return false;
    }

    private void Release(Held held)
    {
        if (instant.Count > 0 && held.Ticks != instantTicks) EndInstant();
        instantTicks = held.Ticks;
        // Its instant's rows are not recorded yet: it sees what is strictly earlier, as in the batch.
        if (held.Key >= 0) Emit(held.Row, held.Ticks, held.Key);
        instant.Add(held);
    }

    /// <summary>Records the instant's rows in arrival order, once all of them have been computed.</summary>
    private void EndInstant()
    {
        foreach (var held in instant)
        {
            touchedCount = 0;
            featurizer.Observe(held.Row, held.Ticks, record);
            for (var i = 0; i < touchedCount; i++) Events += touched[i].History.Times.Count - touched[i].Before;
            HeldRows--;
            HeldBytes -= held.Bytes;
        }

        instant.Clear();
    }

    private void Emit(string?[] row, long? ticks, int key)
    {
        var output = chunk.AsSpan(chunkCount * width, width);
        featurizer.ComputeRowFeatures(row, output);
        featurizer.ComputeEntityFeatures(row, ticks, find, output);
        chunkKeys[chunkCount++] = key;
        if (chunkCount == chunkKeys.Length) Flush();
    }

    private void Flush()
    {
        if (chunkCount == 0) return;
        finished(chunkKeys.AsSpan(0, chunkCount), chunk.AsSpan(0, chunkCount * width));
        chunkCount = 0;
    }

    /// <summary>The row's array and strings, and its place in the queue.</summary>
    private static long RowBytes(string?[] row)
    {
        var bytes = 32L + 8L * row.Length + 48;
        foreach (var cell in row) if (cell is not null) bytes += 24 + 2L * cell.Length;
        return bytes;
    }
}

/// <summary>
/// How far behind in event time a stream's rows arrive: the most any row's event time lies before the latest event time
/// of the rows that arrived before it (0 when the stream is in event-time order). Rows without an event time are ignored.
/// </summary>
public sealed class LatenessMeter
{
    private long? latest;

    public long Lateness { get; private set; }

    public void Add(long? ticks)
    {
        if (ticks is not long t) return;
        if (latest is long l)
        {
            if (l - t > Lateness) Lateness = l - t;
            if (t > l) latest = t;
        }
        else
        {
            latest = t;
        }
    }
}
