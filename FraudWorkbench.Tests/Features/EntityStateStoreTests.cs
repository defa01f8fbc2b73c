using Dapper;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Features;
using Microsoft.Extensions.Options;

namespace FraudWorkbench.Tests.Features;

/// <summary>The online entity histories, in both write modes: behind the responses (the default) and synchronous.</summary>
[Trait("Category", "Database")]
public sealed class EntityStateStoreTests(SampleDatasetFixture fixture) : IClassFixture<SampleDatasetFixture>, IAsyncLifetime
{
    private readonly List<EntityStateStore> stores = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var store in stores)
        {
            await store.StopAsync(CancellationToken.None);
            store.Dispose();
        }
    }

    /// <summary>An instance's store as the app runs it, its writer started.</summary>
    private async Task<EntityStateStore> StoreAsync(bool writeBehind = true, int maxUnwritten = 100_000, bool start = true)
    {
        var store = new EntityStateStore(fixture.Db.DataSource, TimeProvider.System, Options.Create(new EntityStateOptions { WriteBehind = writeBehind, MaxUnwritten = maxUnwritten }));
        if (start) await store.StartAsync(CancellationToken.None);
        stores.Add(store);
        return store;
    }

    /// <summary>What another instance, knowing nothing yet, computes for <paramref name="row"/> from the stored histories.</summary>
    private async Task<float[]> StoredAsync(Guid versionId, Featurizer featurizer, string?[] row) =>
        await (await StoreAsync()).ComputeAsync(versionId, featurizer, row, record: false);

    private NewFeatureSet Request(string name, FeatureSetDefinition definition) =>
        new(name, fixture.Sample.Dataset.Id, fixture.Sample.Version.Version, definition);

    /// <summary>A feature set counting each customer's events over seven days: most tests' subject.</summary>
    private async Task<(FeatureSetVersion Version, Featurizer Featurizer)> WeeklyVelocityAsync(string name)
    {
        var (version, _) = await fixture.Service.CreateAsync(Request(name, new FeatureSetDefinition([new FeatureSpec(FeatureKind.Velocity, Entity: "customer_id", Windows: ["7d"])])), "test");
        return (version, new Featurizer(version.Fitted));
    }

    /// <summary>A feature set with each customer's running mean amount and seven-day velocity: slots ratio, count, sum, seconds since the last event.</summary>
    private async Task<(FeatureSetVersion Version, Featurizer Featurizer)> MeanAndVelocityAsync(string name)
    {
        var definition = new FeatureSetDefinition(
        [
            new FeatureSpec(FeatureKind.EntityRatio, Column: "amount", Entity: "customer_id"),
            new FeatureSpec(FeatureKind.Velocity, Column: "amount", Entity: "customer_id", Windows: ["7d"]),
        ]);
        var (version, _) = await fixture.Service.CreateAsync(Request(name, definition), "test");
        return (version, new Featurizer(version.Fitted));
    }

    /// <summary><see cref="Event"/> with an amount (or none).</summary>
    private string?[] Payment(string customer, string day, int minute, string? amount)
    {
        var row = Event(customer, day, minute);
        row[fixture.Sample.Version.Schema.IndexOf("amount")] = amount;
        return row;
    }

    /// <summary>A sample-schema row with only the event time (10:<paramref name="minute"/> on <paramref name="day"/>) and the customer.</summary>
    private string?[] Event(string customer, string day, int minute)
    {
        var schema = fixture.Sample.Version.Schema;
        var row = new string?[schema.Columns.Count];
        row[schema.IndexOf("event_time")] = $"{day}T10:{minute:00}:00Z";
        row[schema.IndexOf("customer_id")] = customer;
        return row;
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ComputeAsync_FirstEventsOfANewEntityOnThirtyInstancesAtOnce_NoneLost(bool writeBehind)
    {
        var (version, featurizer) = await WeeklyVelocityAsync("concurrent-" + writeBehind);
        string?[] Transaction(int minute) => Event("brand-new-customer", "2026-03-01", minute);
        var instances = new List<EntityStateStore>();
        for (var i = 0; i < 30; i++) instances.Add(await StoreAsync(writeBehind));

        await Task.WhenAll(instances.Select((store, i) => Task.Run(() => store.ComputeAsync(version.Id, featurizer, Transaction(i), record: true))));
        await Task.WhenAll(instances.Select(store => store.FlushAsync()));

        Assert.Equal(30, (await StoredAsync(version.Id, featurizer, Transaction(59)))[0]);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ComputeAsync_FortyConcurrentScoringsOfOneEntityOnOneInstance_TakeTurns_NoneLostOneRead(bool writeBehind)
    {
        var (version, featurizer) = await WeeklyVelocityAsync("hot-entity-" + writeBehind);
        string?[] Transaction(int minute) => Event("hot-customer", "2026-03-04", minute);
        var store = await StoreAsync(writeBehind);

        // More than the attempts a synchronous call may take: racing each other, some would have given up.
        await Task.WhenAll(Enumerable.Range(0, 40).Select(i => Task.Run(() => store.ComputeAsync(version.Id, featurizer, Transaction(i), record: true))));
        await store.FlushAsync();

        Assert.Equal(40, (await StoredAsync(version.Id, featurizer, Transaction(59)))[0]);
        Assert.Equal(1, store.Lookups); // the first call read the (absent) history; every later one used the copy the one before left
    }

    [Fact]
    public async Task ComputeAsync_Synchronous_TwoInstancesAlternating_EachSeesTheOthersEvents_NoneLost()
    {
        var (version, featurizer) = await WeeklyVelocityAsync("two-instances-synchronous");
        string?[] Transaction(int minute) => Event("shared-customer", "2026-03-02", minute);

        // Each store keeps what it wrote; every write by one makes the other's copy stale.
        var a = await StoreAsync(writeBehind: false);
        var b = await StoreAsync(writeBehind: false);
        var counts = new List<float>();
        for (var i = 0; i < 6; i++) counts.Add((await (i % 2 == 0 ? a : b).ComputeAsync(version.Id, featurizer, Transaction(i), record: true))[0]);
        await Task.WhenAll(Enumerable.Range(6, 20).Select(i => Task.Run(() => (i % 2 == 0 ? a : b).ComputeAsync(version.Id, featurizer, Transaction(i), record: true))));

        Assert.Equal([0f, 1f, 2f, 3f, 4f, 5f], counts); // a stale copy is noticed at write time, read again and the features computed again
        Assert.Equal(26, (await a.ComputeAsync(version.Id, featurizer, Transaction(59), record: false))[0]);
    }

    [Fact]
    public async Task ComputeAsync_WriteBehind_TwoInstancesAlternating_TheOthersLatestEventReachesTheNextWrite_NoneLost()
    {
        var (version, featurizer) = await WeeklyVelocityAsync("two-instances-write-behind");
        string?[] Transaction(int minute) => Event("shared-customer", "2026-03-02", minute);

        var a = await StoreAsync();
        var b = await StoreAsync();
        var counts = new List<float>();
        for (var i = 0; i < 6; i++)
        {
            var store = i % 2 == 0 ? a : b;
            counts.Add((await store.ComputeAsync(version.Id, featurizer, Transaction(i), record: true))[0]);
            await store.FlushAsync();
        }

        await Task.WhenAll(Enumerable.Range(6, 20).Select(i => Task.Run(() => (i % 2 == 0 ? a : b).ComputeAsync(version.Id, featurizer, Transaction(i), record: true))));
        await Task.WhenAll(a.FlushAsync(), b.FlushAsync());

        // b reads the entity once (a's first event); from then on each scores from its copy, which misses the other's
        // event since its own last write. That write finds the row changed, reads it and adds its own event to it.
        Assert.Equal([0f, 1f, 1f, 2f, 3f, 4f], counts);
        Assert.Equal(26, (await StoredAsync(version.Id, featurizer, Transaction(59)))[0]);
        Assert.Equal(0, a.Unwritten + b.Unwritten);
    }

    [Theory]
    [InlineData(true, 0f, 0)]   // taken for new, counted without b's event; the writer's insert finds b's row and adds a's event to it
    [InlineData(false, 1f, 1)]  // the insert finds b's row, so the call reads it and counts b's event
    public async Task ComputeAsync_WarmSnapshot_KnownAndNewEntitiesNeedNoRead_OneCreatedElsewhereAfterwardsIsStillStored(bool writeBehind, float lateCount, int lateReads)
    {
        var (version, featurizer) = await WeeklyVelocityAsync("warm-snapshot-" + writeBehind);
        string?[] Transaction(string customer, int minute) => Event(customer, "2026-03-03", minute);

        var a = await StoreAsync(writeBehind);
        var b = await StoreAsync(writeBehind);
        await b.ComputeAsync(version.Id, featurizer, Transaction("regular", 0), record: true);
        await b.FlushAsync();

        Assert.Null(await a.WarmAsync(version.Id, limit: 0)); // more histories than it may keep: no snapshot
        Assert.Equal(1, await a.WarmAsync(version.Id));
        await b.ComputeAsync(version.Id, featurizer, Transaction("late", 1), record: true); // after a's snapshot
        await b.FlushAsync();
        var before = a.Lookups;
        var regular = (await a.ComputeAsync(version.Id, featurizer, Transaction("regular", 2), record: true))[0];
        var brandNew = (await a.ComputeAsync(version.Id, featurizer, Transaction("brand-new", 3), record: true))[0];
        var readsForThose = a.Lookups - before;
        var late = (await a.ComputeAsync(version.Id, featurizer, Transaction("late", 4), record: true))[0];
        await a.FlushAsync();

        Assert.Equal((1f, 0f, lateCount), (regular, brandNew, late));
        Assert.Equal(0, readsForThose);
        Assert.Equal(lateReads, a.Lookups - before);
        Assert.Equal(2, (await StoredAsync(version.Id, featurizer, Transaction("late", 59)))[0]);
        Assert.Equal(2, (await StoredAsync(version.Id, featurizer, Transaction("regular", 59)))[0]);
    }

    [Fact]
    public async Task ComputeAsync_RunningMeanAndVelocityOfOneCustomer_OneRowHoldsBoth_AMissingAmountCountsForVelocityOnly()
    {
        var (version, featurizer) = await MeanAndVelocityAsync("one-row");
        string?[] Paid(int minute, string? amount) => Payment("row-customer", "2026-03-06", minute, amount);

        var store = await StoreAsync();
        await store.ComputeAsync(version.Id, featurizer, Paid(0, "10"), record: true);
        await store.ComputeAsync(version.Id, featurizer, Paid(1, null), record: true); // no amount: says nothing about the mean
        await store.ComputeAsync(version.Id, featurizer, Paid(2, "30"), record: true);
        await store.FlushAsync();

        var after = await StoredAsync(version.Id, featurizer, Paid(3, "40"));

        // Slots are ratio, then count, sum and seconds since the last event.
        Assert.Equal([2f, 3f, 40f, 60f], after); // 40 / mean(10, 30); three events, 10 + 0 + 30, a minute ago
        await using var connection = await fixture.Db.DataSource.OpenConnectionAsync();
        var stored = await connection.QuerySingleAsync<byte[]>("SELECT state FROM entity_state WHERE feature_set_version_id = @id", new { id = version.Id });
        var parts = EntityRow.Split(stored);
        Assert.Equal([0, 1], parts.Keys.Order()); // one row, both features' histories
        Assert.Equal(2, EntityHistory.FromBytes(parts[0].Span).Times.Count);
        Assert.Equal(3, EntityHistory.FromBytes(parts[1].Span).Times.Count);
    }

    [Fact]
    public async Task ComputeAsync_WriteBehind_TwoInstancesOutOfOrder_RowsReadAgainTakeTheUnwrittenTransactionsExactly()
    {
        var (version, featurizer) = await MeanAndVelocityAsync("replay");
        string?[] Paid(int minute, string? amount) => Payment("replayed-customer", "2026-03-10", minute, amount);

        var a = await StoreAsync();
        var b = await StoreAsync();
        // Each write after the first finds the row changed by the other instance: read again, the transaction added
        // to it, and written; the events arrive out of time order, one without an amount.
        foreach (var (store, minute, amount) in new[] { (a, 5, "50"), (b, 3, "30"), (a, 1, "10"), (b, 0, (string?)null) })
        {
            await store.ComputeAsync(version.Id, featurizer, Paid(minute, amount), record: true);
            await store.FlushAsync();
        }

        var after = await StoredAsync(version.Id, featurizer, Paid(10, "60"));

        // 60 / mean(10, 30, 50); four events summing 90; the latest at minute 5, five minutes before.
        Assert.Equal([2f, 4f, 90f, 300f], after);
    }

    [Fact]
    public async Task ComputeAsync_WriteBehind_ReadOnlyCallOnTheSameInstance_SeesTransactionsNotYetStored()
    {
        var (version, featurizer) = await WeeklyVelocityAsync("read-own-unwritten");
        var store = await StoreAsync(start: false); // no writer: everything stays unwritten

        await store.ComputeAsync(version.Id, featurizer, Event("patient-customer", "2026-03-07", 0), record: true);
        await store.ComputeAsync(version.Id, featurizer, Event("patient-customer", "2026-03-07", 1), record: true);

        Assert.Equal(2, store.Unwritten);
        Assert.Equal(2, (await store.ComputeAsync(version.Id, featurizer, Event("patient-customer", "2026-03-07", 2), record: false))[0]);
        Assert.Equal(0, (await StoredAsync(version.Id, featurizer, Event("patient-customer", "2026-03-07", 2)))[0]);
    }

    [Fact]
    public async Task ComputeAsync_WriteBehind_MoreUnwrittenThanAllowed_RefusedUntilStored()
    {
        var (version, featurizer) = await WeeklyVelocityAsync("backlog");
        var store = await StoreAsync(maxUnwritten: 2, start: false);

        await store.ComputeAsync(version.Id, featurizer, Event("busy-a", "2026-03-08", 0), record: true);
        await store.ComputeAsync(version.Id, featurizer, Event("busy-b", "2026-03-08", 1), record: true);
        await Assert.ThrowsAsync<EntityStateBackloggedException>(() => store.ComputeAsync(version.Id, featurizer, Event("busy-c", "2026-03-08", 2), record: true));
        var readOnly = await store.ComputeAsync(version.Id, featurizer, Event("busy-a", "2026-03-08", 3), record: false); // reading is never refused

        await store.StartAsync(CancellationToken.None);
        await store.FlushAsync();
        var third = await store.ComputeAsync(version.Id, featurizer, Event("busy-a", "2026-03-08", 4), record: true);

        Assert.Equal(1, readOnly[0]);
        Assert.Equal(1, third[0]);
    }

    [Fact]
    public async Task StopAsync_WriteBehind_TransactionsWaiting_StoredBeforeItReturns()
    {
        var (version, featurizer) = await WeeklyVelocityAsync("drain-on-stop");
        var store = await StoreAsync(start: false);
        for (var i = 0; i < 50; i++) await store.ComputeAsync(version.Id, featurizer, Event($"leaving-{i % 7}", "2026-03-09", i), record: true);

        await store.StartAsync(CancellationToken.None);
        await store.StopAsync(CancellationToken.None);

        Assert.Equal(0, store.Unwritten);
        var stored = await Task.WhenAll(Enumerable.Range(0, 7).Select(c => StoredAsync(version.Id, featurizer, Event($"leaving-{c}", "2026-03-09", 59))));
        Assert.Equal(50, stored.Sum(f => f[0]));
    }

    [Fact]
    public async Task ComputeAsync_KeysLongerThanPostgresCanIndex_BackfilledAndScoredByTheirHash_NotConfused()
    {
        var (version, featurizer) = await WeeklyVelocityAsync("long-keys");
        var random = new Random(5);
        // An index entry of PostgreSQL's holds at most ~2.7 KB after compression, which random letters defeat.
        var key = string.Concat(Enumerable.Range(0, 5_000).Select(_ => (char)('a' + random.Next(26))));
        var other = key + "x";            // the same first 5,000 characters
        var store = await StoreAsync();

        var backfilled = await store.BackfillAsync(version.Id, version.Fitted, [Event(key, "2026-03-05", 0), Event(key, "2026-03-05", 1), Event(other, "2026-03-05", 2)]);
        var scored = await store.ComputeAsync(version.Id, featurizer, Event(key, "2026-03-05", 3), record: true);
        await store.FlushAsync();

        Assert.Equal(2, backfilled);
        Assert.Equal(2, scored[0]);
        Assert.Equal(3, (await StoredAsync(version.Id, featurizer, Event(key, "2026-03-05", 4)))[0]);
        Assert.Equal(1, (await StoredAsync(version.Id, featurizer, Event(other, "2026-03-05", 4)))[0]);
        Assert.StartsWith("sha256:", featurizer.EntityOf(0, Event(key, "2026-03-05", 0)));
        Assert.Equal(new string('k', Featurizer.MaxKeyLength), featurizer.EntityOf(0, Event(new string('k', Featurizer.MaxKeyLength), "2026-03-05", 0)));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ComputeAsync_BackfilledFromEarlierRows_ThenScoringTheRest_EqualsBatch(bool writeBehind)
    {
        var (version, _) = await fixture.Service.CreateAsync(Request("online-parity-" + writeBehind, FeatureSetServiceTests.Recipes), "test");
        var schema = fixture.Sample.Version.Schema;
        List<string?[]> rows;
        await using (var file = await fixture.Artifacts.OpenReadAsync(fixture.Sample.Version.Checksum)) rows = DatasetRows.Read(file, schema);
        var set = version.Fitted;
        var featurizer = new Featurizer(set);
        var batch = BatchFeaturizer.Run(set, rows);
        var ordered = Enumerable.Range(0, rows.Count).OrderBy(r => featurizer.EventTicks(rows[r])).ThenBy(r => r).ToList();
        var cut = ordered.Count - 400;
        var state = await StoreAsync(writeBehind);

        var entities = await state.BackfillAsync(version.Id, set, [.. ordered.Take(cut).Select(r => rows[r])]);
        var maxDifference = 0.0;
        foreach (var r in ordered.Skip(cut))
        {
            var online = await state.ComputeAsync(version.Id, featurizer, rows[r], record: true);
            for (var s = 0; s < set.SlotCount; s++) maxDifference = Math.Max(maxDifference, Math.Abs(online[s] - batch[r * set.SlotCount + s]));
        }

        Assert.True(entities > 1000);
        Assert.Equal(0, maxDifference);
    }
}
