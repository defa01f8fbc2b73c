using System.Globalization;
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

    /// <summary>Rows shaped like the Kaggle "credit card transactions fraud detection" file (fraudTrain.csv).</summary>
    private static string KaggleShaped(int rows)
    {
        var first = new[] { "Jennifer", "Stephanie", "Edward", "Jeremy", "Tyler", "Kathleen", "Christopher", "Ronald", "Lisa", "Jessica" };
        var last = new[] { "Banks", "Gill", "Sanchez", "White", "Garcia", "Smith", "Williams", "Johnson", "Brown", "Jones" };
        var categories = new[] { "misc_net", "grocery_pos", "entertainment", "gas_transport", "shopping_net" };
        var sb = new System.Text.StringBuilder(",trans_date_trans_time,cc_num,merchant,category,amt,first,last,gender,street,city,state,zip,lat,long,city_pop,job,dob,trans_num,unix_time,merch_lat,merch_long,is_fraud\n");
        for (var i = 0; i < rows; i++)
        {
            // 40 cards of 11 to 19 digits (Kaggle's shortest is 60416207185), 120 merchants: each card and merchant repeats.
            var card = (i % 40) switch { 0 => "60416207185", 1 => "4613314721966", var k => (2703186189652095L + k * 7919L).ToString() };
            if (i % 40 == 2) card = "4992346398065154184";
            var time = new DateTime(2019, 1, 1, 0, 0, 18, DateTimeKind.Utc).AddMinutes(i * 7);
            sb.Append(CultureInfo.InvariantCulture, $"{i},{time:yyyy-MM-dd HH:mm:ss},{card},\"fraud_Rippin, Kub and Mann {i % 120}\",{categories[i % 5]},{4.97 + i % 300 * 1.31:0.00},")
              .Append(CultureInfo.InvariantCulture, $"{first[i % 10]},{last[i / 10 % 10]},{(i % 2 == 0 ? "F" : "M")},{561 + i} Perry Cove,Moravian Falls,NC,{28654 + i % 40},{36.0788 + i % 40 * 0.01:0.0000},{-81.1781 - i % 40 * 0.01:0.0000},{3495 + i % 40},")
              .Append(CultureInfo.InvariantCulture, $"\"Psychologist, counselling {i % 60}\",{1988 - i % 40}-03-09,{Guid.NewGuid():N},{1325376018 + i * 420},{36.011293 + i % 97 * 0.001:0.000000},{-82.048315 + i % 89 * 0.001:0.000000},{(i % 50 == 7 ? 1 : 0)}\n");
        }

        return sb.ToString();
    }

    [Fact]
    public void Infer_KaggleCardTransactions_IdentifiersNamesAndTextOutOfTheFeatures()
    {
        var schema = Infer(KaggleShaped(600));

        // A card number is who paid: the entity key, stored as text (19 digits do not fit a long; it is not a quantity).
        Assert.Equal((ColumnType.Text, ColumnRole.EntityKey), (Column(schema, "cc_num").Type, Column(schema, "cc_num").Role));
        Assert.Equal((ColumnType.Text, ColumnRole.Ignore), (Column(schema, "trans_num").Type, Column(schema, "trans_num").Role)); // one per row
        Assert.Equal(ColumnRole.Ignore, Column(schema, "column_1").Role); // the unnamed row index
        Assert.Equal(ColumnRole.Ignore, Column(schema, "first").Role);
        Assert.Equal(ColumnRole.Ignore, Column(schema, "last").Role);
        Assert.Equal(ColumnRole.Ignore, Column(schema, "street").Role);
        Assert.NotEqual(ColumnRole.EntityKey, Column(schema, "merchant").Role);
        Assert.Equal((ColumnType.DateTime, ColumnRole.EventTime), (Column(schema, "trans_date_trans_time").Type, Column(schema, "trans_date_trans_time").Role));
        Assert.Equal((ColumnType.Boolean, ColumnRole.Label, "1"), (Column(schema, "is_fraud").Type, Column(schema, "is_fraud").Role, schema.PositiveLabel));
        Assert.Equal(ColumnRole.Protected, Column(schema, "gender").Role);
        Assert.Equal((ColumnType.Decimal, ColumnRole.Feature), (Column(schema, "amt").Type, Column(schema, "amt").Role));
        Assert.Equal((ColumnType.Categorical, ColumnRole.Feature), (Column(schema, "category").Type, Column(schema, "category").Role));
        Assert.Equal(["cc_num"], schema.Columns.Where(c => c.Role == ColumnRole.EntityKey).Select(c => c.Name));
        // Nothing that only identifies a row or a person is left as a numeric feature.
        Assert.DoesNotContain(schema.Columns, c => c.Role == ColumnRole.Feature && ColumnType.IsNumeric(c.Type) && c.Name is "cc_num" or "trans_num" or "column_1");
    }

    [Theory]
    [InlineData("card_number", "4111111111111111", ColumnRole.EntityKey)]
    [InlineData("account_id", "100200300", ColumnRole.EntityKey)]
    [InlineData("deviceId", "d-9", ColumnRole.EntityKey)]
    [InlineData("merchant_id", "m-", ColumnRole.Ignore)]
    [InlineData("order_no", "", ColumnRole.Ignore)]
    [InlineData("session_uuid", "uuid", ColumnRole.Ignore)]
    [InlineData("reference", "long", ColumnRole.Ignore)]
    [InlineData("customer_name", "Ann ", ColumnRole.Ignore)]
    [InlineData("merchant", "shop ", ColumnRole.Feature)]
    public void Infer_IdentifierShapes_EntityKeyOrIgnore(string name, string prefix, string expected)
    {
        // 200 rows, 80 distinct values: too many for a category, each seen more than once.
        var values = Enumerable.Range(0, 200).Select(i => prefix switch
        {
            "uuid" => new Guid(i % 80, 0, 0, new byte[8]).ToString(),
            "long" => (900_000_000_000L + i % 80 * 13).ToString(CultureInfo.InvariantCulture),
            "merchant" => "",
            _ => prefix + (i % 80 * 37 + 1000).ToString(CultureInfo.InvariantCulture),
        });
        if (name == "merchant") values = Enumerable.Range(0, 200).Select(i => prefix + (i % 12));
        var schema = Infer($"{name},amount\n" + string.Concat(values.Select((v, i) => $"{v},{i}.5\n")));

        Assert.Equal(expected, Column(schema, name).Role);
        if (expected != ColumnRole.Feature) Assert.False(ColumnType.IsNumeric(Column(schema, name).Type) && Column(schema, name).Role == ColumnRole.Feature);
    }

    [Fact]
    public void CarryOver_PreviousRolesWinForSameColumns_NewColumnsKeepTheirGuess()
    {
        var previous = Infer("outcome,customer_id,amount\nfraud,c1,1\nok,c2,2\n");
        previous = SchemaInference.Apply(previous, new SchemaOverrides(new Dictionary<string, ColumnOverride>
        {
            ["outcome"] = new(Role: ColumnRole.Label),
            ["customer_id"] = new(Role: ColumnRole.Ignore),
        }, PositiveLabel: "fraud"));
        var next = Infer("outcome,customer_id,amount,is_fraud\nfraud,c1,1,0\nok,c2,2,1\n");

        var carried = SchemaInference.CarryOver(next, previous);

        Assert.Equal((ColumnRole.Label, "fraud"), (Column(carried, "outcome").Role, carried.PositiveLabel));
        Assert.Equal(ColumnRole.Ignore, Column(carried, "customer_id").Role);
        Assert.Equal(ColumnRole.Feature, Column(carried, "is_fraud").Role); // one label: the one the user chose before
    }

    public void Dispose() => files.Dispose();
}
