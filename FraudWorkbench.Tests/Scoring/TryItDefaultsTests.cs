using System.Text.Json;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Features;
using FraudWorkbench.Core.Scoring;
using FraudWorkbench.Tests.Data;

namespace FraudWorkbench.Tests.Scoring;

public sealed class TryItDefaultsTests : IDisposable
{
    private static readonly DatasetSchema Schema = new(',',
    [
        new DatasetColumn("event_time", ColumnType.DateTime, ColumnRole.EventTime, ValueParsing.Iso),
        new DatasetColumn("customer_id", ColumnType.Categorical, ColumnRole.EntityKey),
        new DatasetColumn("amount", ColumnType.Decimal, ColumnRole.Feature),
        new DatasetColumn("items", ColumnType.Integer, ColumnRole.Feature),
        new DatasetColumn("merchant", ColumnType.Categorical, ColumnRole.Feature),
        new DatasetColumn("note", ColumnType.Text, ColumnRole.Feature),
        new DatasetColumn("is_fraud", ColumnType.Boolean, ColumnRole.Label),
    ], "1");

    // amount sorted: 7.25 8 12.5 19.99 23.41 40 55.1 300 → median (19.99 + 23.41) / 2 = 21.7 (Python statistics.median).
    // items sorted: 1 2 2 2 3 3 5 9 → median 2.5, rounded half away from zero → 3.
    // merchant: shoes 4, books 2, toys 2; the latest event 2026-01-04T18:30:00Z.
    private const string Csv = "event_time,customer_id,amount,items,merchant,note,is_fraud\n" +
        "2026-01-01T10:00:00Z,c1,12.5,1,shoes,a,0\n" +
        "2026-01-01T11:00:00Z,c2,40,2,books,b,0\n" +
        "2026-01-02T09:00:00Z,c1,7.25,2,shoes,c,0\n" +
        "2026-01-02T10:00:00Z,c3,300,3,toys,d,1\n" +
        "2026-01-03T12:00:00Z,c1,55.1,5,shoes,e,0\n" +
        "2026-01-03T13:00:00Z,c2,19.99,9,books,f,0\n" +
        "2026-01-04T18:30:00Z,c3,23.41,2,toys,g,1\n" +
        "2026-01-04T08:00:00Z,c1,8,3,shoes,h,0\n";

    private readonly CsvFixtures files = new();

    private (TransactionContract Contract, DatasetProfile Profile) Build(params FeatureSpec[] features)
    {
        var path = files.Write(Csv);
        var profile = DatasetProfiler.Run(path, Schema);
        var rows = Csv.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(l => l.Split(',').Select(v => (string?)v).ToArray()).ToList();
        var fitted = FeatureSetFitter.Fit(new FeatureSetDefinition(features), Schema, rows);
        return (new TransactionContract(fitted, profile), profile);
    }

    [Fact]
    public void Fields_FromTheProfile_MedianForNumbersMostFrequentCategoryLatestTime()
    {
        var (contract, profile) = Build(
            new FeatureSpec(FeatureKind.Numeric, Column: "amount"),
            new FeatureSpec(FeatureKind.Numeric, Column: "items"),
            new FeatureSpec(FeatureKind.OneHot, Column: "merchant", TopK: 5),
            new FeatureSpec(FeatureKind.Velocity, Entity: "customer_id", Windows: ["1h"]));

        var fields = TryItDefaults.Fields(contract, profile).ToDictionary(f => f.Column.Name);

        // Only the columns the features read, plus the event time a velocity needs; not the note or the label.
        Assert.Equal(["amount", "customer_id", "event_time", "items", "merchant"], fields.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("21.7", fields["amount"].Typical);
        Assert.Equal("a number", fields["amount"].Hint);
        Assert.Equal("3", fields["items"].Typical);
        Assert.Equal("a whole number", fields["items"].Hint);
        Assert.Equal("shoes", fields["merchant"].Typical);
        Assert.Equal("e.g. shoes, books, toys", fields["merchant"].Hint);
        Assert.Equal(["books", "shoes", "toys"], fields["merchant"].Vocabulary!); // every value counted: a closed vocabulary, sorted
        Assert.Equal("c1", fields["customer_id"].Typical); // 4 of 8 rows
        Assert.Equal("2026-01-04T18:30:00Z", fields["event_time"].Typical);
        Assert.Null(fields["amount"].Vocabulary);
    }

    [Fact]
    public void Fields_AnotherFeatureSet_OnlyItsColumns()
    {
        var (contract, profile) = Build(new FeatureSpec(FeatureKind.Numeric, Column: "items"));

        var field = Assert.Single(TryItDefaults.Fields(contract, profile));

        Assert.Equal("items", field.Column.Name);
        Assert.Equal("3", field.Typical);
    }

    [Fact]
    public void Fields_NoProfile_NoTypicalValues()
    {
        var (contract, _) = Build(new FeatureSpec(FeatureKind.Numeric, Column: "amount"), new FeatureSpec(FeatureKind.OneHot, Column: "merchant", TopK: 5));

        var fields = TryItDefaults.Fields(contract, null);

        Assert.Equal(2, fields.Count);
        Assert.All(fields, f => Assert.Null(f.Typical));
        Assert.Equal(["a number", null], fields.Select(f => f.Hint)); // no categories known to give as examples
    }

    [Theory]
    [InlineData(ValueParsing.EpochSeconds, "1767551400")]
    [InlineData(ValueParsing.EpochMilliseconds, "1767551400000")]
    [InlineData("dd/MM/yyyy HH:mm", "04/01/2026 18:30")]
    public void Typical_DateTime_LatestInTheColumnsOwnFormat(string format, string expected)
    {
        // 2026-01-04T18:30:00Z is 1,767,551,400 s after the Unix epoch (Python: datetime(2026,1,4,18,30,tzinfo=UTC).timestamp()).
        var column = new DatasetColumn("t", ColumnType.DateTime, ColumnRole.EventTime, format);
        var stats = new ColumnProfile("t", ColumnType.DateTime, ColumnRole.EventTime, 0, 0, 8, false, null, null, null,
            new TimeRange(new DateTime(2026, 1, 1, 10, 0, 0), new DateTime(2026, 1, 4, 18, 30, 0)));

        Assert.Equal(expected, TryItDefaults.Typical(column, stats));
    }

    [Fact]
    public void Typical_CappedCategories_SkipsTheOtherValuesBucket()
    {
        var column = new DatasetColumn("merchant", ColumnType.Categorical, ColumnRole.Feature);
        var stats = new ColumnProfile("merchant", ColumnType.Categorical, ColumnRole.Feature, 0, 0, 500, true, null, null,
            [new CategoryCount(TryItDefaults.OtherValues, 900, null), new CategoryCount("shoes", 60, null), new CategoryCount("books", 40, null)], null);

        Assert.Equal("shoes", TryItDefaults.Typical(column, stats));
    }

    [Fact]
    public void Transaction_TypesFollowTheColumns_EmptyIsNull()
    {
        var amount = new DatasetColumn("amount", ColumnType.Decimal, ColumnRole.Feature);
        var items = new DatasetColumn("items", ColumnType.Integer, ColumnRole.Feature);
        var flag = new DatasetColumn("flag", ColumnType.Boolean, ColumnRole.Feature);
        var merchant = new DatasetColumn("merchant", ColumnType.Categorical, ColumnRole.Feature);

        var json = TryItDefaults.Transaction([(amount, " 21.70 "), (items, "abc"), (flag, "true"), (merchant, ""), (new DatasetColumn("n", ColumnType.Text, ColumnRole.Feature), "7")]);

        Assert.Equal(JsonValueKind.Number, json.GetProperty("amount").ValueKind);
        Assert.Equal(21.7m, json.GetProperty("amount").GetDecimal());
        Assert.Equal("abc", json.GetProperty("items").GetString()); // not a number: sent as text for the contract to name
        Assert.True(json.GetProperty("flag").GetBoolean());
        Assert.Equal(JsonValueKind.Null, json.GetProperty("merchant").ValueKind);
        Assert.Equal("7", json.GetProperty("n").GetString()); // a text column stays text
    }

    public void Dispose() => files.Dispose();
}
