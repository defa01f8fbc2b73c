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

[Trait("Category", "Database")]
public sealed class FeatureSetServiceTests(SampleDatasetFixture fixture) : IClassFixture<SampleDatasetFixture>
{
    internal static readonly FeatureSetDefinition Recipes = new(
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
    public async Task CreateAsync_OverTheMemoryBudget_FittedOnASampleOfWholeCustomers_TooSmallASampleRefused()
    {
        var needed = FeatureSetService.FitMemoryBytes(fixture.Sample.Version, Recipes);
        FeatureSetService WithBudget(long bytes) => new(fixture.Datasets, fixture.Artifacts, fixture.FeatureSets, Options.Create(new FeatureSetOptions { MaxFitMemoryBytes = bytes }));

        var (atBudget, _) = await WithBudget(needed).CreateAsync(Request("at-budget"), "test");
        var (halved, created) = await WithBudget(needed / 2).CreateAsync(Request("half-budget"), "test");
        // A tenth of the budget holds about 4,000 of the 40,000 rows: below the 10,000 a fit needs.
        var refused = await Assert.ThrowsAsync<FeatureValidationException>(() => WithBudget(needed / 10).CreateAsync(Request("tenth-budget"), "test"));

        Assert.Null(atBudget.Fitted.Sample);
        Assert.True(created);
        var sample = halved.Fitted.Sample!;
        Assert.Equal((40_000L, "customer_id"), (sample.OfRows, sample.ByEntity));
        Assert.InRange(sample.Rows, 16_000, 24_000);
        Assert.Equal(sample.Rows, halved.Reference.Rows);
        var issue = Assert.Single(refused.Issues);
        Assert.Equal("datasetVersion", issue.Field);
        Assert.Contains("MaxFitMemoryBytes", issue.Message);
        Assert.Null((await fixture.FeatureSets.ListAsync()).FirstOrDefault(s => s.Name == "tenth-budget"));
        // 40,000 rows of 15 columns: tens of megabytes. The reported case, 15 million rows (1.5 GB of CSV), is past half of a 24 GB machine: it is sampled.
        Assert.InRange(needed, 10L << 20, 200L << 20);
        var reported = fixture.Sample.Version with { RowCount = 15_000_000, SizeBytes = 1_500_000_000 };
        Assert.True(FeatureSetService.FitMemoryBytes(reported, Recipes) > 12L << 30);
    }

    [Fact]
    public async Task CreateAsync_CancelledWhileFitting_StopsAndSavesNothing()
    {
        using var cancel = new CancellationTokenSource();
        var stages = new List<string>();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => fixture.Service.CreateAsync(Request("cancelled-fit"), "test", cancel.Token, async (_, stage) =>
        {
            stages.Add(stage);
            if (stage.StartsWith("featurizing", StringComparison.Ordinal)) await cancel.CancelAsync();
        }));

        Assert.Equal(["reading the dataset", "fitting the features", "featurizing every row point-in-time"], stages);
        Assert.Null((await fixture.FeatureSets.ListAsync()).FirstOrDefault(s => s.Name == "cancelled-fit"));
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
}
