using System.Globalization;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Features;
using FraudWorkbench.Core.Retraining;

namespace FraudWorkbench.Tests.Retraining;

/// <summary>The streaming point-in-time featurizer of the common recent holdout against the batch featurizer it replaces.</summary>
public sealed class PointInTimeStreamTests
{
    private static readonly DatasetSchema Schema = new(',',
    [
        new DatasetColumn("event_time", ColumnType.DateTime, ColumnRole.EventTime, ValueParsing.Iso),
        new DatasetColumn("customer_id", ColumnType.Categorical, ColumnRole.EntityKey),
        new DatasetColumn("card_id", ColumnType.Categorical, ColumnRole.EntityKey),
        new DatasetColumn("amount", ColumnType.Decimal, ColumnRole.Feature),
        new DatasetColumn("ip_country", ColumnType.Categorical, ColumnRole.Feature),
        new DatasetColumn("home_country", ColumnType.Categorical, ColumnRole.Feature),
        new DatasetColumn("is_fraud", ColumnType.Boolean, ColumnRole.Label),
    ], "1");

    private static readonly FeatureSetDefinition Definition = new(
    [
        new FeatureSpec(FeatureKind.Numeric, Column: "amount", Log1p: true),
        new FeatureSpec(FeatureKind.Mismatch, Column: "ip_country", Other: "home_country"),
        new FeatureSpec(FeatureKind.Velocity, Column: "amount", Entity: "customer_id", Windows: ["1h", "24h"]),
        new FeatureSpec(FeatureKind.EntityRatio, Column: "amount", Entity: "customer_id"),
        new FeatureSpec(FeatureKind.Velocity, Entity: "card_id", Windows: ["10m", "6h"]),
    ]);

    private static readonly DateTime Start = new(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    /// <summary>
    /// Rows in the order a log would hold them: event times 30 s apart with ties, missing and unparseable ones, missing
    /// keys and amounts; each logged 0 to 10 minutes after its event, and one in 40 up to 12 hours late.
    /// </summary>
    private static List<string?[]> Arrivals(int count, int seed)
    {
        var random = new Random(seed);
        var logged = new List<(double At, string?[] Row)>();
        var time = Start;
        for (var i = 0; i < count; i++)
        {
            if (random.NextDouble() > 0.06) time = time.AddSeconds(1 + random.Next(60)); // else: the previous row's instant
            var cell = time.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
            var shape = random.NextDouble();
            string? eventTime = shape < 0.02 ? null : shape < 0.03 ? "not a time" : cell;
            string? customer = random.NextDouble() < 0.02 ? null : $"c{random.Next(60)}";
            string? amount = random.NextDouble() < 0.03 ? "" : (random.NextDouble() * 500).ToString("0.00", CultureInfo.InvariantCulture);
            string?[] row = [eventTime, customer, $"k{random.Next(90)}", amount, random.NextDouble() < 0.1 ? "NG" : "DE", "DE", random.NextDouble() < 0.05 ? "1" : "0"];
            var delay = random.NextDouble() < 0.025 ? random.NextDouble() * 12 * 3600 : random.NextDouble() * 600;
            logged.Add(((time - Start).TotalSeconds + delay, row));
        }

        return [.. logged.OrderBy(l => l.At).Select(l => l.Row)];
    }

    private static (Dictionary<int, float[]> Features, long MaxHeld, PointInTimeStream Stream) Stream(FittedFeatureSet set, IReadOnlyList<string?[]> rows, long lateness, Func<int, bool> asked, int chunkRows = 7)
    {
        var features = new Dictionary<int, float[]>();
        var width = set.SlotCount;
        var stream = new PointInTimeStream(set, lateness, chunkRows, (keys, matrix) =>
        {
            for (var k = 0; k < keys.Length; k++) features.Add(keys[k], matrix.Slice(k * width, width).ToArray());
        });
        long maxHeld = 0;
        for (var r = 0; r < rows.Count; r++)
        {
            Assert.True(stream.Add(rows[r], asked(r) ? r : -1), $"row {r} refused");
            maxHeld = Math.Max(maxHeld, stream.HeldRows);
        }

        stream.Complete();
        return (features, maxHeld, stream);
    }

    private static long Lateness(FittedFeatureSet set, IEnumerable<string?[]> rows)
    {
        var featurizer = new Featurizer(set);
        var meter = new LatenessMeter();
        foreach (var row in rows) meter.Add(featurizer.EventTicks(row));
        return meter.Lateness;
    }

    [Fact]
    public void Stream_BackdatedArrivalsWithTiesAndMissingTimes_EqualsTheBatchBitForBit()
    {
        var rows = Arrivals(6_000, seed: 11);
        var set = FeatureSetFitter.Fit(Definition, Schema, rows);
        var featurizer = new Featurizer(set);
        var ticks = rows.Select(featurizer.EventTicks).ToList();
        // The data has what the test is about: arrivals out of event-time order, shared instants, rows without a time.
        Assert.Contains(ticks.Zip(ticks.Skip(1)), p => p.First > p.Second);
        Assert.True(ticks.OfType<long>().GroupBy(t => t).Count(g => g.Count() > 1) > 100);
        Assert.True(ticks.Count(t => t is null) > 100);

        var batch = BatchFeaturizer.Run(set, rows);
        var lateness = Lateness(set, rows);
        var (features, maxHeld, stream) = Stream(set, rows, lateness, r => r % 3 != 1);

        var width = set.SlotCount;
        var asked = Enumerable.Range(0, rows.Count).Where(r => r % 3 != 1).ToList();
        Assert.Equal(asked.Order(), features.Keys.Order());
        foreach (var r in asked) Assert.True(batch.AsSpan(r * width, width).SequenceEqual(features[r]), $"row {r}: [{string.Join(", ", features[r])}] vs the batch's [{string.Join(", ", batch.AsSpan(r * width, width).ToArray())}]");
        // The velocity and ratio slots say something (not just defaults), so equality is not trivial.
        Assert.True(asked.Count(r => features[r][2] > 0) > rows.Count / 3);
        Assert.Contains(asked, r => features[r][7] is not 0 and not 1);

        // Up to 12 hours late: the stream held back a few hundred rows at most, not the whole stream.
        Assert.InRange(TimeSpan.FromTicks(lateness).TotalHours, 6, 12);
        Assert.InRange(maxHeld, 1, rows.Count / 4);
        Assert.Equal(0, stream.HeldRows);
        // One history per (feature, entity) that recorded an event: customers for the velocity and, where an amount was
        // given, the ratio; cards for the card velocity.
        bool Timed(string?[] row) => featurizer.EventTicks(row) is not null;
        var customers = rows.Where(r => Timed(r) && r[1] is not null).Select(r => r[1]).Distinct().Count();
        var customersWithAmount = rows.Where(r => Timed(r) && r[1] is not null && r[3] is not "").Select(r => r[1]).Distinct().Count();
        var cards = rows.Where(Timed).Select(r => r[2]).Distinct().Count();
        Assert.Equal(customers + customersWithAmount + cards, stream.Histories);
        Assert.InRange(stream.Events, rows.Count, 3L * rows.Count); // each timed row is in up to three histories, kept 24 h and more
        Assert.True(stream.EstimatedBytes > stream.Histories * PointInTimeStream.HistoryBytes);
    }

    [Fact]
    public void Stream_InEventTimeOrder_HoldsNoMoreThanOneInstant()
    {
        var rows = Arrivals(3_000, seed: 5);
        var featurizer = new Featurizer(FeatureSetFitter.Fit(Definition, Schema, rows));
        var ordered = BatchFeaturizer.TimeOrder([.. rows.Select(featurizer.EventTicks)]).Select(r => rows[r]).ToList();
        var set = featurizer.Set;
        Assert.Equal(0, Lateness(set, ordered));

        var (features, maxHeld, _) = Stream(set, ordered, 0, _ => true, chunkRows: 1000);

        var batch = BatchFeaturizer.Run(set, ordered);
        var width = set.SlotCount;
        Assert.All(Enumerable.Range(0, ordered.Count), r => Assert.True(batch.AsSpan(r * width, width).SequenceEqual(features[r]), $"row {r}"));
        var largestInstant = ordered.Select(featurizer.EventTicks).OfType<long>().GroupBy(t => t).Max(g => g.Count());
        Assert.InRange(maxHeld, 1, largestInstant);
    }

    [Fact]
    public void Add_ArrivalLaterThanTheLateness_RefusedAndNothingRecorded()
    {
        string?[] At(string time, string amount) => [time, "c1", "k1", amount, "DE", "DE", "0"];
        var rows = new List<string?[]> { At("2026-01-01T10:00:00Z", "10"), At("2026-01-01T11:00:00Z", "20"), At("2026-01-01T10:30:00Z", "40") };
        var set = FeatureSetFitter.Fit(Definition, Schema, rows);
        Assert.Equal(TimeSpan.FromMinutes(30).Ticks, Lateness(set, rows));

        // Measured lateness: accepted, and the late row sees the 10:00 event only.
        var (features, _, _) = Stream(set, rows, TimeSpan.FromMinutes(30).Ticks, _ => true);
        Assert.Equal(BatchFeaturizer.Run(set, rows).AsSpan(2 * set.SlotCount, set.SlotCount).ToArray(), features[2]);
        Assert.Equal([1, 10, 1, 10], features[2][2..6]);

        // Less than that: the late row is refused rather than featurized out of order.
        var stream = new PointInTimeStream(set, TimeSpan.FromMinutes(29).Ticks, 4, (_, _) => { });
        Assert.True(stream.Add(rows[0], 0));
        Assert.True(stream.Add(rows[1], 1));
        var histories = stream.Histories;
        Assert.False(stream.Add(rows[2], 2));
        Assert.Equal(histories, stream.Histories);
    }
}
