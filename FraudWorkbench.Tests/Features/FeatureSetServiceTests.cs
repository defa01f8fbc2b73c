using System.Text;
using Dapper;
using FraudWorkbench.Core.Artifacts;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Features;
using FraudWorkbench.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace FraudWorkbench.Tests.Features;

/// <summary>One ingested sample month shared by the tests of the class.</summary>
public sealed class SampleDatasetFixture : IAsyncLifetime
{
    public DatabaseFixture Db { get; } = new();
    public string DataDirectory { get; } = Directory.CreateTempSubdirectory("fwb-features-").FullName;
    public ArtifactStore Artifacts => new(Path.Combine(DataDirectory, "artifacts"));
    public DatasetStore Datasets => new(Db.DataSource, TimeProvider.System);
    public DatasetIngestor Ingestor => new(Datasets, Artifacts, Options.Create(new DataOptions()), NullLogger<DatasetIngestor>.Instance);
    public FeatureSetStore FeatureSets => new(Db.DataSource, TimeProvider.System);
    public FeatureSetService Service => new(Datasets, Artifacts, FeatureSets);
    public IngestResult Sample { get; private set; } = default!;

    public async Task InitializeAsync()
    {
        await Db.InitializeAsync();
        await using var file = File.OpenRead(Path.Combine(AppContext.BaseDirectory, "samples", "transactions-month-a.csv"));
        var staged = await Ingestor.StageAsync(file, "transactions-month-a.csv");
        Sample = await Ingestor.IngestAsync(staged, "features-sample", SchemaOverrides.None, "test");
    }

    public async Task<IngestResult> IngestAsync(string name, string csv, SchemaOverrides? overrides = null)
    {
        var staged = await Ingestor.StageAsync(new MemoryStream(Encoding.UTF8.GetBytes(csv)), name + ".csv");
        return await Ingestor.IngestAsync(staged, name, overrides ?? SchemaOverrides.None, "test");
    }

    public async Task DisposeAsync()
    {
        await Db.DisposeAsync();
        Directory.Delete(DataDirectory, recursive: true);
    }
}

public sealed class FeatureSetServiceTests(SampleDatasetFixture fixture) : IClassFixture<SampleDatasetFixture>
{
    private static readonly FeatureSetDefinition Recipes = new(
    [
        new FeatureSpec(FeatureKind.Numeric, Column: "amount", Log1p: true),
        new FeatureSpec(FeatureKind.OneHot, Column: "merchant_category", TopK: 5),
        new FeatureSpec(FeatureKind.TargetEncoding, Column: "email_domain"),
        new FeatureSpec(FeatureKind.DateParts, Column: "event_time", Parts: ["hour", "night"]),
        new FeatureSpec(FeatureKind.Mismatch, Column: "ip_country", Other: "home_country"),
        new FeatureSpec(FeatureKind.EntityRatio, Column: "amount", Entity: "customer_id"),
        new FeatureSpec(FeatureKind.Velocity, Column: "amount", Entity: "customer_id", Windows: ["1h", "24h", "7d"]),
    ]);

    private NewFeatureSet Request(string name, FeatureSetDefinition? definition = null) =>
        new(name, fixture.Sample.Dataset.Id, fixture.Sample.Version.Version, definition ?? Recipes);

    [Fact]
    public async Task CreateAsync_SampleWithRecipes_VersionWithHashFittedStateAndReference_SameAgainNotDuplicated()
    {
        var (version, created) = await fixture.Service.CreateAsync(Request("fraud-recipes"), "user:ds@example.com");
        var (again, createdAgain) = await fixture.Service.CreateAsync(Request("fraud-recipes"), "user:ds@example.com");

        Assert.True(created);
        Assert.False(createdAgain);
        Assert.Equal((version.Id, 1), (again.Id, again.Version));
        Assert.Equal(Recipes.Hash(fixture.Sample.Version.Schema), version.Hash);
        var fitted = version.Fitted;
        Assert.Equal(fitted.SlotCount, version.Reference.Slots.Count);
        Assert.Equal(40_000, version.Reference.Rows);
        Assert.Equal(FeatureReferenceBuilder.PreviewRowCount, version.Reference.PreviewRows.Count);
        var mismatch = version.Reference.Slots.Single(s => s.Name == "ip_country__ne__home_country");
        Assert.True(mismatch.Auc > 0.55, $"country mismatch should carry signal, AUC {mismatch.Auc}");
        Assert.True(mismatch.InformationValue > 0.1, $"IV {mismatch.InformationValue}");
        Assert.Equal(40_000, mismatch.Counts.Sum());
        var categories = version.Reference.Categories!["merchant_category"];
        Assert.Equal(1.0, categories.Values.Sum(), 9);
        Assert.True(categories["groceries"] > categories["gift_cards"]);
        var burst = version.Reference.Slots.Single(s => s.Name == "customer_id__count_1h");
        Assert.True(burst.Auc > 0.55, $"1h velocity should carry signal, AUC {burst.Auc}");
    }

    [Fact]
    public async Task CreateAsync_ChangedDefinition_NewVersionOfTheSameSet()
    {
        var first = await fixture.Service.CreateAsync(Request("evolving", new FeatureSetDefinition([new FeatureSpec(FeatureKind.Numeric, Column: "amount")])), "test");
        var second = await fixture.Service.CreateAsync(Request("evolving", new FeatureSetDefinition([new FeatureSpec(FeatureKind.Numeric, Column: "amount", Log1p: true)])), "test");

        Assert.Equal((1, 2), (first.Version.Version, second.Version.Version));
        Assert.NotEqual(first.Version.Hash, second.Version.Hash);
        Assert.Equal(first.Version.FeatureSetId, second.Version.FeatureSetId);
    }

    [Fact]
    public async Task CreateAsync_BadRequests_NameTheFieldAndSaveNothing()
    {
        var noTime = await fixture.IngestAsync("no-event-time", "customer_id,amount,is_fraud\nc1,1,0\nc2,2,1\nc1,0,0\n");
        await using var connection = await fixture.Db.DataSource.OpenConnectionAsync();
        var before = await connection.ExecuteScalarAsync<int>("SELECT count(*) FROM feature_set_versions");

        var velocity = await Assert.ThrowsAsync<FeatureValidationException>(() => fixture.Service.CreateAsync(
            new NewFeatureSet("bad-velocity", noTime.Dataset.Id, 1, new([new FeatureSpec(FeatureKind.Velocity, Entity: "customer_id")])), "test"));
        var ratio = await Assert.ThrowsAsync<FeatureValidationException>(() => fixture.Service.CreateAsync(
            new NewFeatureSet("bad-ratio", noTime.Dataset.Id, 1, new([new FeatureSpec(FeatureKind.Numeric, Column: "amount")])) with
            {
                Definition = new([new FeatureSpec(FeatureKind.Mismatch, Column: "customer_id", Other: "amount"), new FeatureSpec(FeatureKind.EntityRatio, Column: "amount", Entity: "customer_id")]),
            }, "test"));
        var missingVersion = await Assert.ThrowsAsync<FeatureValidationException>(() => fixture.Service.CreateAsync(Request("bad-version") with { DatasetVersion = 99 }, "test"));

        Assert.Contains(velocity.Issues, i => i.Field == "features[0].kind" && i.Message.Contains("event-time"));
        Assert.Contains(ratio.Issues, i => i.Field == "features[1].kind");
        Assert.Equal("datasetVersion", missingVersion.Issues.Single().Field);
        Assert.Equal(before, await connection.ExecuteScalarAsync<int>("SELECT count(*) FROM feature_set_versions"));
    }

    [Fact]
    public async Task CreateAsync_RatioOverValuesThatCanBeZero_Refused()
    {
        var zeros = await fixture.IngestAsync("zero-amounts",
            "event_time,customer_id,amount\n2026-01-01T00:00:00Z,c1,0\n2026-01-01T01:00:00Z,c1,5\n2026-01-01T02:00:00Z,c2,3\n");

        var error = await Assert.ThrowsAsync<FeatureValidationException>(() => fixture.Service.CreateAsync(
            new NewFeatureSet("zero-ratio", zeros.Dataset.Id, 1, new([new FeatureSpec(FeatureKind.EntityRatio, Column: "amount", Entity: "customer_id")])), "test"));

        Assert.Equal("features[0].column", error.Issues.Single().Field);
        Assert.Contains("can be zero", error.Issues.Single().Message);
    }

    [Fact]
    public async Task CreateAsync_TargetEncodingOfAUniqueId_ReferenceShowsNoSignal()
    {
        var csv = new StringBuilder("event_time,card_number,is_fraud\n");
        var random = new Random(11);
        for (var i = 0; i < 5000; i++) csv.Append($"2026-01-01T00:00:00Z,id{i},{(random.NextDouble() < 0.05 ? 1 : 0)}\n");
        var data = await fixture.IngestAsync("unique-ids", csv.ToString(), new SchemaOverrides(new Dictionary<string, ColumnOverride>
        {
            ["card_number"] = new(Type: ColumnType.Categorical, Role: ColumnRole.Feature),
            ["is_fraud"] = new(Role: ColumnRole.Label),
        }, "1"));

        var (version, _) = await fixture.Service.CreateAsync(new NewFeatureSet("leak-check", data.Dataset.Id, 1, new([new FeatureSpec(FeatureKind.TargetEncoding, Column: "card_number")])), "test");

        // Fitted and evaluated on the same rows this would be AUC 1.0; out of fold it is what it is: noise.
        Assert.InRange(version.Reference.Slots.Single().Auc!.Value, 0.4, 0.6);
    }

    /// <summary>A feature set counting each customer's events over seven days: the online-state tests' subject.</summary>
    private async Task<(FeatureSetVersion Version, Featurizer Featurizer)> WeeklyVelocityAsync(string name)
    {
        var (version, _) = await fixture.Service.CreateAsync(Request(name, new FeatureSetDefinition([new FeatureSpec(FeatureKind.Velocity, Entity: "customer_id", Windows: ["7d"])])), "test");
        return (version, new Featurizer(version.Fitted));
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

    [Fact]
    public async Task Online_FirstEventsOfANewEntityScoredConcurrently_NoneLost()
    {
        var (version, featurizer) = await WeeklyVelocityAsync("concurrent");
        string?[] Transaction(int minute) => Event("brand-new-customer", "2026-03-01", minute);

        await Task.WhenAll(Enumerable.Range(0, 30).Select(i => Task.Run(() => new EntityStateStore(fixture.Db.DataSource, TimeProvider.System).ComputeAsync(version.Id, featurizer, Transaction(i), record: true))));
        var after = await new EntityStateStore(fixture.Db.DataSource, TimeProvider.System).ComputeAsync(version.Id, featurizer, Transaction(59), record: false);

        Assert.Equal(30, after[0]);
    }

    [Fact]
    public async Task Online_OneInstance_FortyConcurrentScoringsOfOneEntity_TakeTurns_NoneLostNoneRetried()
    {
        var (version, featurizer) = await WeeklyVelocityAsync("hot-entity");
        string?[] Transaction(int minute) => Event("hot-customer", "2026-03-04", minute);

        var store = new EntityStateStore(fixture.Db.DataSource, TimeProvider.System);

        // More than the attempts a call may take: racing each other, some would have given up.
        await Task.WhenAll(Enumerable.Range(0, 40).Select(i => Task.Run(() => store.ComputeAsync(version.Id, featurizer, Transaction(i), record: true))));
        var after = await new EntityStateStore(fixture.Db.DataSource, TimeProvider.System).ComputeAsync(version.Id, featurizer, Transaction(59), record: false);

        Assert.Equal(40, after[0]);
        Assert.Equal(1, store.Lookups); // the first call read the (absent) history; every later one used the copy the one before wrote
    }

    [Fact]
    public async Task Online_TwoInstancesWithTheirOwnCaches_ScoringOneEntityConcurrently_NoneLost()
    {
        var (version, featurizer) = await WeeklyVelocityAsync("two-instances");
        string?[] Transaction(int minute) => Event("shared-customer", "2026-03-02", minute);

        // Each store caches what it wrote; every write by one makes the other's copy stale.
        var a = new EntityStateStore(fixture.Db.DataSource, TimeProvider.System);
        var b = new EntityStateStore(fixture.Db.DataSource, TimeProvider.System);
        var counts = new List<float>();
        for (var i = 0; i < 6; i++) counts.Add((await (i % 2 == 0 ? a : b).ComputeAsync(version.Id, featurizer, Transaction(i), record: true))[0]);
        await Task.WhenAll(Enumerable.Range(6, 20).Select(i => Task.Run(() => (i % 2 == 0 ? a : b).ComputeAsync(version.Id, featurizer, Transaction(i), record: true))));
        var after = await a.ComputeAsync(version.Id, featurizer, Transaction(59), record: false);

        Assert.Equal([0f, 1f, 2f, 3f, 4f, 5f], counts); // a stale copy is noticed at write time and read again
        Assert.Equal(26, after[0]);
    }

    [Fact]
    public async Task Online_WarmSnapshot_KnownAndNewEntitiesNeedNoRead_OneCreatedElsewhereAfterwardsIsStillCounted()
    {
        var (version, featurizer) = await WeeklyVelocityAsync("warm-snapshot");
        string?[] Transaction(string customer, int minute) => Event(customer, "2026-03-03", minute);

        var a = new EntityStateStore(fixture.Db.DataSource, TimeProvider.System);
        var b = new EntityStateStore(fixture.Db.DataSource, TimeProvider.System);
        await b.ComputeAsync(version.Id, featurizer, Transaction("regular", 0), record: true);

        Assert.Null(await a.WarmAsync(version.Id, limit: 0)); // more histories than it may keep: no snapshot
        Assert.Equal(1, await a.WarmAsync(version.Id));
        await b.ComputeAsync(version.Id, featurizer, Transaction("late", 1), record: true); // after a's snapshot
        var before = a.Lookups;
        var regular = (await a.ComputeAsync(version.Id, featurizer, Transaction("regular", 2), record: true))[0];
        var brandNew = (await a.ComputeAsync(version.Id, featurizer, Transaction("brand-new", 3), record: true))[0];
        var readsForThose = a.Lookups - before;
        // a takes "late" for new; its insert finds b's row, so it reads it and counts b's event.
        var late = (await a.ComputeAsync(version.Id, featurizer, Transaction("late", 4), record: true))[0];

        Assert.Equal((1f, 0f, 1f), (regular, brandNew, late));
        Assert.Equal(0, readsForThose);
        Assert.Equal(1, a.Lookups - before);
        Assert.Equal(2, (await b.ComputeAsync(version.Id, featurizer, Transaction("late", 59), record: false))[0]);
        Assert.Equal(2, (await b.ComputeAsync(version.Id, featurizer, Transaction("regular", 59), record: false))[0]);
    }

    [Fact]
    public async Task Online_RunningMeanAndVelocityOfOneCustomer_OneRowHoldsBoth_AMissingAmountCountsForVelocityOnly()
    {
        var definition = new FeatureSetDefinition(
        [
            new FeatureSpec(FeatureKind.EntityRatio, Column: "amount", Entity: "customer_id"),
            new FeatureSpec(FeatureKind.Velocity, Column: "amount", Entity: "customer_id", Windows: ["7d"]),
        ]);
        var (version, _) = await fixture.Service.CreateAsync(Request("one-row", definition), "test");
        var featurizer = new Featurizer(version.Fitted);
        string?[] Paid(int minute, string? amount)
        {
            var row = Event("row-customer", "2026-03-06", minute);
            row[fixture.Sample.Version.Schema.IndexOf("amount")] = amount;
            return row;
        }

        var store = new EntityStateStore(fixture.Db.DataSource, TimeProvider.System);
        await store.ComputeAsync(version.Id, featurizer, Paid(0, "10"), record: true);
        await store.ComputeAsync(version.Id, featurizer, Paid(1, null), record: true); // no amount: says nothing about the mean
        await store.ComputeAsync(version.Id, featurizer, Paid(2, "30"), record: true);
        // Another instance reads the row from PostgreSQL: slots are ratio, then count, sum and seconds since the last event.
        var after = await new EntityStateStore(fixture.Db.DataSource, TimeProvider.System).ComputeAsync(version.Id, featurizer, Paid(3, "40"), record: false);

        Assert.Equal([2f, 3f, 40f, 60f], after); // 40 / mean(10, 30); three events, 10 + 0 + 30, a minute ago
        await using var connection = await fixture.Db.DataSource.OpenConnectionAsync();
        var stored = await connection.QuerySingleAsync<byte[]>("SELECT state FROM entity_state WHERE feature_set_version_id = @id", new { id = version.Id });
        var parts = EntityRow.Split(stored);
        Assert.Equal([0, 1], parts.Keys.Order()); // one row, both features' histories
        Assert.Equal(2, EntityHistory.FromBytes(parts[0].Span).Times.Count);
        Assert.Equal(3, EntityHistory.FromBytes(parts[1].Span).Times.Count);
    }

    [Fact]
    public async Task Online_KeysLongerThanPostgresCanIndex_BackfilledAndScoredByTheirHash_NotConfused()
    {
        var (version, featurizer) = await WeeklyVelocityAsync("long-keys");
        var random = new Random(5);
        // An index entry of PostgreSQL's holds at most ~2.7 KB after compression, which random letters defeat.
        var key = string.Concat(Enumerable.Range(0, 5_000).Select(_ => (char)('a' + random.Next(26))));
        var other = key + "x";            // the same first 5,000 characters
        var store = new EntityStateStore(fixture.Db.DataSource, TimeProvider.System);

        var backfilled = await store.BackfillAsync(version.Id, version.Fitted, [Event(key, "2026-03-05", 0), Event(key, "2026-03-05", 1), Event(other, "2026-03-05", 2)]);
        var scored = await store.ComputeAsync(version.Id, featurizer, Event(key, "2026-03-05", 3), record: true);
        var after = await new EntityStateStore(fixture.Db.DataSource, TimeProvider.System).ComputeAsync(version.Id, featurizer, Event(key, "2026-03-05", 4), record: false);
        var otherAfter = await new EntityStateStore(fixture.Db.DataSource, TimeProvider.System).ComputeAsync(version.Id, featurizer, Event(other, "2026-03-05", 4), record: false);

        Assert.Equal(2, backfilled);
        Assert.Equal(2, scored[0]);
        Assert.Equal(3, after[0]);
        Assert.Equal(1, otherAfter[0]);
        Assert.StartsWith("sha256:", featurizer.EntityOf(0, Event(key, "2026-03-05", 0)));
        Assert.Equal(new string('k', Featurizer.MaxKeyLength), featurizer.EntityOf(0, Event(new string('k', Featurizer.MaxKeyLength), "2026-03-05", 0)));
    }

    [Fact]
    public async Task Online_BackfilledFromEarlierRows_ThenScoringTheRest_EqualsBatch()
    {
        var (version, _) = await fixture.Service.CreateAsync(Request("online-parity"), "test");
        var schema = fixture.Sample.Version.Schema;
        List<string?[]> rows;
        await using (var file = await fixture.Artifacts.OpenReadAsync(fixture.Sample.Version.Checksum)) rows = DatasetRows.Read(file, schema);
        var set = version.Fitted;
        var featurizer = new Featurizer(set);
        var batch = BatchFeaturizer.Run(set, rows);
        var ordered = Enumerable.Range(0, rows.Count).OrderBy(r => featurizer.EventTicks(rows[r])).ThenBy(r => r).ToList();
        var cut = ordered.Count - 400;
        var state = new EntityStateStore(fixture.Db.DataSource, TimeProvider.System);

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
