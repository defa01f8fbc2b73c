using System.Buffers.Binary;

namespace FraudWorkbench.Core.Features;

/// <summary>
/// What one entity (a customer, a card) has done, for point-in-time features: its events within the
/// longest window and running totals over all of its history. The batch path keeps one per entity in
/// memory while it walks a dataset in time order; the scoring path loads and saves the same object in
/// PostgreSQL. Queries only ever see events strictly earlier than the instant asked about.
/// </summary>
public sealed class EntityHistory
{
    public List<long> Times { get; set; } = [];   // ticks, ascending
    public List<double> Values { get; set; } = [];

    /// <summary>Count and sum of the events already dropped from <see cref="Times"/> (all older than what is kept).</summary>
    public long OlderCount { get; set; }
    public double OlderSum { get; set; }

    /// <summary>Records an event; events older than <paramref name="keep"/> before it are forgotten.</summary>
    public void Observe(long ticks, double value, long keep)
    {
        var index = Times.Count;
        while (index > 0 && Times[index - 1] > ticks) index--; // online events may arrive slightly out of order
        Times.Insert(index, ticks);
        Values.Insert(index, value);
        var cutoff = Times[^1] - keep;
        var drop = 0;
        while (drop < Times.Count && Times[drop] < cutoff)
        {
            OlderCount++;
            OlderSum += Values[drop];
            drop++;
        }

        if (drop > 0)
        {
            Times.RemoveRange(0, drop);
            Values.RemoveRange(0, drop);
        }
    }

    /// <summary>Count and sum of events in [t − window, t), strictly before <paramref name="ticks"/>.</summary>
    public (int Count, double Sum) Window(long ticks, long window)
    {
        var count = 0;
        var sum = 0.0;
        for (var i = Times.Count - 1; i >= 0; i--)
        {
            if (Times[i] >= ticks) continue;
            if (Times[i] < ticks - window) break;
            count++;
            sum += Values[i];
        }

        return (count, sum);
    }

    /// <summary>Mean of every value strictly before <paramref name="ticks"/>, or null without one.</summary>
    public double? MeanBefore(long ticks)
    {
        // Summed forwards over what is strictly earlier, never by subtracting later events, so the
        // batch and scoring paths round identically whatever else the state holds.
        var count = OlderCount;
        var sum = OlderSum;
        for (var i = 0; i < Times.Count && Times[i] < ticks; i++)
        {
            count++;
            sum += Values[i];
        }

        return count > 0 ? sum / count : null;
    }

    /// <summary>Seconds since the latest event strictly before <paramref name="ticks"/>, or null when none is remembered.</summary>
    public double? SecondsSincePrevious(long ticks)
    {
        for (var i = Times.Count - 1; i >= 0; i--)
        {
            if (Times[i] < ticks) return (ticks - Times[i]) / (double)TimeSpan.TicksPerSecond;
        }

        return null;
    }

    private const byte FormatVersion = 1;
    private const int HeaderBytes = 1 + 8 + 8;

    /// <summary>
    /// The stored form: a format byte (1), the older count (int64) and sum (float64), then each kept event's ticks
    /// (int64) and value (float64), all big-endian, as PostgreSQL's int8send and float8send write them (migration
    /// 0009 converted the earlier JSON with those). Exact, and a fraction of JSON's size and cost to read and write.
    /// </summary>
    public byte[] ToBytes()
    {
        var bytes = new byte[HeaderBytes + Times.Count * 16];
        bytes[0] = FormatVersion;
        BinaryPrimitives.WriteInt64BigEndian(bytes.AsSpan(1), OlderCount);
        BinaryPrimitives.WriteDoubleBigEndian(bytes.AsSpan(9), OlderSum);
        for (var i = 0; i < Times.Count; i++)
        {
            BinaryPrimitives.WriteInt64BigEndian(bytes.AsSpan(HeaderBytes + i * 16), Times[i]);
            BinaryPrimitives.WriteDoubleBigEndian(bytes.AsSpan(HeaderBytes + i * 16 + 8), Values[i]);
        }

        return bytes;
    }

    /// <exception cref="InvalidDataException">The bytes are not a history in the stored form.</exception>
    public static EntityHistory FromBytes(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < HeaderBytes || bytes[0] != FormatVersion || (bytes.Length - HeaderBytes) % 16 != 0)
            throw new InvalidDataException($"An entity history of {bytes.Length} bytes is not in stored format {FormatVersion}.");
        var count = (bytes.Length - HeaderBytes) / 16;
        var history = new EntityHistory
        {
            OlderCount = BinaryPrimitives.ReadInt64BigEndian(bytes[1..]),
            OlderSum = BinaryPrimitives.ReadDoubleBigEndian(bytes[9..]),
            Times = new List<long>(count + 1),
            Values = new List<double>(count + 1),
        };
        for (var i = 0; i < count; i++)
        {
            history.Times.Add(BinaryPrimitives.ReadInt64BigEndian(bytes[(HeaderBytes + i * 16)..]));
            history.Values.Add(BinaryPrimitives.ReadDoubleBigEndian(bytes[(HeaderBytes + i * 16 + 8)..]));
        }

        return history;
    }
}

/// <summary>
/// The stored form of one entity's row: the histories its entity features keep, each as a feature index (int32),
/// a length (int32) and <see cref="EntityHistory.ToBytes"/>, big-endian, in feature order (migration 0010 joined
/// the rows of one entity with int4send). One row per entity: a transaction rewrites one row, not one per feature.
/// </summary>
public static class EntityRow
{
    /// <summary>Each feature's stored history in the row (none for a null row).</summary>
    /// <exception cref="InvalidDataException">The bytes are not a row in the stored form.</exception>
    public static Dictionary<int, ReadOnlyMemory<byte>> Split(byte[]? row)
    {
        var parts = new Dictionary<int, ReadOnlyMemory<byte>>();
        for (var at = 0; row is not null && at < row.Length;)
        {
            if (row.Length - at < 8) throw new InvalidDataException($"An entity row of {row.Length} bytes ends inside a header at {at}.");
            var feature = BinaryPrimitives.ReadInt32BigEndian(row.AsSpan(at));
            var length = BinaryPrimitives.ReadInt32BigEndian(row.AsSpan(at + 4));
            if (length < 0 || length > row.Length - at - 8) throw new InvalidDataException($"An entity row of {row.Length} bytes has a history of {length} bytes at {at}.");
            parts[feature] = row.AsMemory(at + 8, length);
            at += 8 + length;
        }

        return parts;
    }

    /// <summary>The row holding <paramref name="parts"/>, in feature order.</summary>
    public static byte[] Join(IEnumerable<KeyValuePair<int, ReadOnlyMemory<byte>>> parts)
    {
        var ordered = parts.OrderBy(p => p.Key).ToList();
        var row = new byte[ordered.Sum(p => 8 + p.Value.Length)];
        var at = 0;
        foreach (var (feature, history) in ordered)
        {
            BinaryPrimitives.WriteInt32BigEndian(row.AsSpan(at), feature);
            BinaryPrimitives.WriteInt32BigEndian(row.AsSpan(at + 4), history.Length);
            history.Span.CopyTo(row.AsSpan(at + 8));
            at += 8 + history.Length;
        }

        return row;
    }
}
