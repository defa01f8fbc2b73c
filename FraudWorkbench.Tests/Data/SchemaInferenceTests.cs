using FraudWorkbench.Core.Data;

namespace FraudWorkbench.Tests.Data;

public sealed class SchemaInferenceTests : IDisposable
{
    private readonly CsvFixtures files = new();

    private DatasetSchema Infer(string text, bool bom = false)
    {
        var path = files.Write(text, bom);
        return SchemaInference.Infer(path, CsvFile.Inspect(path));
    }

    private static DatasetColumn Column(DatasetSchema schema, string name) => schema.Columns.Single(c => c.Name == name);

    [Fact]
    public void Infer_BomSemicolonsAndCrlf_DetectsDelimiterStripsBomAndTypes()
    {
        var schema = Infer("id;amount;is_fraud\r\n1;2.5;0\r\n2;3;1\r\n3;-4.25;0\r\n", bom: true);

        Assert.Equal(';', schema.Delimiter);
        Assert.Equal(["id", "amount", "is_fraud"], schema.Columns.Select(c => c.Name));
        Assert.Equal((ColumnType.Integer, ColumnType.Decimal, ColumnType.Boolean), (Column(schema, "id").Type, Column(schema, "amount").Type, Column(schema, "is_fraud").Type));
        Assert.Equal(ColumnRole.Label, Column(schema, "is_fraud").Role);
        Assert.Equal("1", schema.PositiveLabel);
    }

    [Theory]
    [InlineData("a\tb\tc\n1\t2\t3\n", '\t')]
    [InlineData("a|b|c\n1|2|3\n", '|')]
    [InlineData("a,b,c\n1,2,3\n", ',')]
    [InlineData("\"x;y\",b,c\n1,2,3\n", ',')] // a delimiter inside a quoted header name does not count
    public void Inspect_Delimiters_DetectedFromTheHeader(string text, char expected) =>
        Assert.Equal(expected, CsvFile.Inspect(files.Write(text)));

    [Fact]
    public void Infer_MissingTokens_AreNotValuesAndDoNotSpoilTheType()
    {
        var schema = Infer("amount,code\n1.5,a\nNA,b\n,a\nnull,NULL\n?,N/A\nNaN,b\n2,a\n");

        Assert.Equal(ColumnType.Decimal, Column(schema, "amount").Type);
        Assert.Equal(ColumnType.Categorical, Column(schema, "code").Type);
    }

    [Fact]
    public void Infer_LeadingUnnamedIndexColumn_NamedAndIgnored()
    {
        var schema = Infer(",amount,Class\n0,1.0,0\n1,2.0,1\n2,3.5,0\n");

        Assert.Equal(new DatasetColumn("column_1", ColumnType.Integer, ColumnRole.Ignore), schema.Columns[0]);
        Assert.Equal(ColumnRole.Label, Column(schema, "Class").Role);
    }

    [Fact]
    public void Infer_DatesAndTimes_IsoDayFirstAndEpochSeconds()
    {
        var schema = Infer("event_time,birthday,timestamp,note\n2026-01-05T10:00:00Z,13/02/1990,1767225600,a\n2026-01-06T11:30:00Z,01/12/1985,1767312000,b\n");

        Assert.Equal(new DatasetColumn("event_time", ColumnType.DateTime, ColumnRole.EventTime, ValueParsing.Iso), Column(schema, "event_time"));
        Assert.Equal((ColumnType.DateTime, "dd/MM/yyyy"), (Column(schema, "birthday").Type, Column(schema, "birthday").DateFormat));
        Assert.Equal((ColumnType.DateTime, ValueParsing.EpochSeconds, ColumnRole.Feature), (Column(schema, "timestamp").Type, Column(schema, "timestamp").DateFormat, Column(schema, "timestamp").Role));
    }

    [Fact]
    public void Infer_BooleanSpellings_AndZeroOneOnly()
    {
        var schema = Infer("new_address,vip,flag,count\nyes,Y,1,0\nno,n,0,1\nYes,y,1,2\n");

        Assert.Equal([ColumnType.Boolean, ColumnType.Boolean, ColumnType.Boolean, ColumnType.Integer], schema.Columns.Select(c => c.Type));
    }

    [Fact]
    public void Infer_RoleGuessesByName()
    {
        var rows = string.Join("\n", Enumerable.Range(0, 60).Select(i => $"tx_{i},c_{i % 7},{20 + i % 50},{i % 400},{(i % 2 == 0 ? "F" : "M")},{i % 3},{(i % 10 == 0 ? "fraud" : "ok")}"));
        var schema = Infer("transaction_id,customer_id,customer_age,account_age_days,gender,card,outcome\n" + rows + "\n");

        Assert.Equal(ColumnRole.Ignore, Column(schema, "transaction_id").Role); // unique text
        Assert.Equal(ColumnRole.EntityKey, Column(schema, "customer_id").Role);
        Assert.Equal(ColumnRole.EntityKey, Column(schema, "card").Role);
        Assert.Equal((ColumnRole.Protected, SchemaInference.DefaultAgeBands), (Column(schema, "customer_age").Role, Column(schema, "customer_age").AgeBands));
        Assert.Equal(ColumnRole.Feature, Column(schema, "account_age_days").Role);
        Assert.Equal(ColumnRole.Protected, Column(schema, "gender").Role);
        Assert.Equal(ColumnRole.Feature, Column(schema, "outcome").Role); // not named like a label: the user picks it
    }

    [Fact]
    public void Apply_Overrides_ChangeTypeRoleAndPositiveLabel_AndRefuseIncoherentOnes()
    {
        var schema = Infer("outcome,amount,when\nfraud,1,2026-01-01\nok,2,2026-01-02\n");

        var applied = SchemaInference.Apply(schema, new SchemaOverrides(new Dictionary<string, ColumnOverride>
        {
            ["outcome"] = new(Role: ColumnRole.Label),
            ["amount"] = new(Type: ColumnType.Decimal),
        }, PositiveLabel: "fraud"));

        Assert.Equal((ColumnRole.Label, "fraud"), (Column(applied, "outcome").Role, applied.PositiveLabel));
        Assert.Equal(ColumnType.Decimal, Column(applied, "amount").Type);
        var unknown = Assert.Throws<DatasetValidationException>(() => SchemaInference.Apply(schema, new SchemaOverrides(new Dictionary<string, ColumnOverride> { ["nope"] = new(Role: ColumnRole.Label) })));
        Assert.Equal("schema", unknown.Field);
        Assert.Contains("'nope'", unknown.Message);
        var badTime = Assert.Throws<DatasetValidationException>(() => SchemaInference.Apply(schema, new SchemaOverrides(new Dictionary<string, ColumnOverride>
        {
            ["amount"] = new(Role: ColumnRole.EventTime),
            ["when"] = new(Role: ColumnRole.Feature),
        })));
        Assert.Contains("'amount'", badTime.Message);
    }

    [Fact]
    public void Infer_UniqueIntegerIdsBeyondTheDistinctCap_Ignored()
    {
        var schema = Infer("transaction_id,amount\n" + string.Concat(Enumerable.Range(0, 20_000).Select(i => $"{i},{i % 7}.5\n")));

        Assert.Equal(ColumnRole.Ignore, Column(schema, "transaction_id").Role);
    }

    [Fact]
    public void Infer_NumberBeforeDatesInATimeColumn_NotADatetime()
    {
        var schema = Infer("created_time,x\n12,1\n2020-01-01,2\n2020-01-02,3\n");

        Assert.NotEqual(ColumnType.DateTime, Column(schema, "created_time").Type);
    }

    public void Dispose() => files.Dispose();
}
