using System.Text;
using FraudWorkbench.Core.Data;

namespace FraudWorkbench.Tests.Data;

public sealed class DatasetProfilerTests : IDisposable
{
    private readonly CsvFixtures files = new();

    private DatasetProfile Profile(string text, SchemaOverrides? overrides = null)
    {
        var path = files.Write(text);
        var schema = SchemaInference.Apply(SchemaInference.Infer(path, CsvFile.Inspect(path)), overrides ?? SchemaOverrides.None);
        return DatasetProfiler.Run(path, schema);
    }

    private DatasetValidationException Refused(string text, SchemaOverrides? overrides = null) =>
        Assert.Throws<DatasetValidationException>(() => Profile(text, overrides));

    [Fact]
    public void Run_NumericColumn_StatisticsMatchHandCalculation()
    {
        // 1..10 plus a missing value. Sample std = sqrt(82.5 / 9); quantiles by linear interpolation, h = (n-1)p.
        var profile = Profile("amount\n" + string.Join("\n", Enumerable.Range(1, 10)) + "\nNA\n");

        var amount = profile.Columns.Single();
        var n = amount.Numeric!;
        Assert.Equal(11, profile.RowCount);
        Assert.Equal((1, 100.0 / 11), (amount.Missing, amount.MissingPercent));
        Assert.Equal(10, amount.Distinct);
        Assert.Equal((1.0, 10.0, 5.5), (n.Min, n.Max, n.Mean));
        Assert.Equal(Math.Sqrt(82.5 / 9), n.Std, 12);
        Assert.Equal(5.5, n.P50, 12);
        Assert.Equal(3.25, n.P25, 12);  // h = 2.25 -> 3 + 0.25 * (4 - 3)
        Assert.Equal(9.91, n.P99, 12);  // h = 8.91 -> 9 + 0.91 * (10 - 9)
        Assert.Equal(1.09, n.P1, 12);
        Assert.Equal(10, amount.Histogram!.Sum(b => b.Count));
    }

    [Fact]
    public void Run_WithLabel_FraudRatesPerCategoryAndBinAndLabelBalance()
    {
        var profile = Profile("category,amount,is_fraud\na,1,1\na,1,0\na,2,0\nb,9,1\nb,10,1\nc,10,0\n");

        Assert.Equal(new LabelBalance("is_fraud", "1", "0", 3, 3, 0), profile.Label);
        var category = profile.Columns.Single(c => c.Name == "category");
        Assert.Equal([("a", 3L, 1L), ("b", 2L, 2L), ("c", 1L, 0L)], category.TopCategories!.Select(c => (c.Value, c.Count, c.Positives!.Value)));
        Assert.Equal(1.0 / 3, category.TopCategories![0].FraudRate!.Value, 12);
        var amount = profile.Columns.Single(c => c.Name == "amount");
        Assert.Equal((2L, 1L), (amount.Histogram![0].Count, amount.Histogram[0].Positives!.Value)); // 1 and 1: the first of 20 bins of width 0.45
        Assert.Equal(6, amount.Histogram.Sum(b => b.Count));
        Assert.Equal(3, amount.Histogram.Sum(b => b.Positives));
        Assert.Null(profile.Columns.Single(c => c.Name == "is_fraud").TopCategories![0].Positives); // no rate of the label by itself
    }

    [Fact]
    public void Run_QuotedFieldsWithDelimitersQuotesAndNewlines_AreSingleValues()
    {
        var profile = Profile("id,comment\r\n1,\"a, b\"\r\n2,\"line one\nline two\"\r\n3,\"say \"\"hi\"\"\"\r\n");

        Assert.Equal(3, profile.RowCount);
        Assert.Equal(["a, b", "line one\nline two", "say \"hi\""], profile.Columns[1].TopCategories!.Select(c => c.Value).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Run_EventTime_RangeFromTheData()
    {
        var profile = Profile("event_time,amount\n2026-01-03T10:00:00Z,1\n2026-01-01T09:30:00Z,2\n2026-01-02T00:00:00+01:00,3\n");

        Assert.Equal(new TimeRange(new DateTime(2026, 1, 1, 9, 30, 0, DateTimeKind.Utc), new DateTime(2026, 1, 3, 10, 0, 0, DateTimeKind.Utc)), profile.EventTime);
    }

    [Fact]
    public void Run_RaggedRows_RefusedNamingRowAndLine()
    {
        var error = Refused("a,b\n1,2\n3\n4,5,6\n");

        Assert.Contains("2 problems", error.Message);
        Assert.Equal([(2L, 3L), (3L, 4L)], error.Examples.Select(e => (e.Row!.Value, e.Line!.Value)));
        Assert.Contains("has 1 fields but the header has 2", error.Examples[0].ToString());
    }

    [Fact]
    public void Run_UnparsableValueInNumericColumn_NamesRowColumnAndValueWithAtMostTenExamples()
    {
        var rows = string.Join("\n", Enumerable.Range(1, 30).Select(i => $"{i},{i}.5"));
        var text = "id,amount\n" + rows + "\n31,twelve\n" + string.Join("\n", Enumerable.Range(32, 20).Select(i => $"{i},x{i}")) + "\n";
        var path = files.Write(text);
        var schema = SchemaInference.Infer(path, ','); // the sample sees the bad values too: force the numeric type
        schema = SchemaInference.Apply(schema, new SchemaOverrides(new Dictionary<string, ColumnOverride> { ["amount"] = new(Type: ColumnType.Decimal) }));

        var error = Assert.Throws<DatasetValidationException>(() => DatasetProfiler.Run(path, schema));

        Assert.StartsWith("21 problems", error.Message);
        Assert.Equal(10, error.Examples.Count);
        Assert.Equal(new DataIssue(31, 32, "amount", "twelve", "is not a number"), error.Examples[0]);
        Assert.Equal("row 31, line 32, column 'amount': is not a number (value 'twelve')", error.Examples[0].ToString());
    }

    [Fact]
    public void Run_LabelWithThreeClassesOrOne_Refused()
    {
        var label = new SchemaOverrides(new Dictionary<string, ColumnOverride> { ["y"] = new(Role: ColumnRole.Label) }, "1");

        var three = Refused("x,y\n1,1\n2,0\n3,2\n", label);
        var one = Refused("x,y\n1,1\n2,1\n", label);

        Assert.Contains("more than two classes", three.Message);
        Assert.Contains("only one class", one.Message);
    }

    [Theory]
    [InlineData("", "The file is empty.")]
    [InlineData("a,b\n", "header but no data rows")]
    [InlineData("1,2,3\n4,5,6\n", "looks like data, not a header")]
    [InlineData("amount,Amount\n1,2\n", "'amount' more than one column")]
    public void Run_BadStructure_Refused(string text, string message) =>
        Assert.Contains(message, Refused(text).Message);

    [Fact]
    public void Inspect_BinaryLatin1AndUtf16_RefusedWithTheReason()
    {
        var binary = files.WriteBytes([0x50, 0x4B, 0x03, 0x04, 0x00, 0x00, 0x08, 0x00]);
        var latin1 = files.WriteBytes(Encoding.Latin1.GetBytes("name,city\nRen\u00e9,K\u00f6ln\n"));
        var utf16 = files.WriteBytes([.. Encoding.Unicode.Preamble.ToArray(), .. Encoding.Unicode.GetBytes("a,b\n1,2\n")]);

        Assert.Contains("binary", Assert.Throws<DatasetValidationException>(() => CsvFile.Inspect(binary)).Message);
        var notUtf8 = Assert.Throws<DatasetValidationException>(() => CsvFile.Inspect(latin1));
        Assert.Contains("not valid UTF-8", notUtf8.Message);
        Assert.Equal(2, notUtf8.Examples.Single().Line);
        Assert.Contains("UTF-16", Assert.Throws<DatasetValidationException>(() => CsvFile.Inspect(utf16)).Message);
    }

    [Fact]
    public void Run_QuoteInsideUnquotedValue_RefusedInsteadOfMergingRows()
    {
        var error = Refused("id,product\n1,12\" monitor\n2,ok\n3,24\" screen\n4,fine\n");

        var issue = error.Examples[0];
        Assert.Equal((1L, "product"), (issue.Row!.Value, issue.Column));
        Assert.Contains("quote that CSV does not allow", issue.Message);
    }

    [Fact]
    public void Run_QuoteThatNeverCloses_Refused()
    {
        var error = Refused("a,b\n1,\"hello\n2,3\n4,5\n");

        Assert.Contains(error.Examples, e => e.Column == "b" && e.Message.Contains("never closes"));
    }

    [Theory]
    [InlineData("a,b\n1,2\n3,4\n\n")]
    [InlineData("a,b\r\n1,2\r\n3,4\r\n\r\n")]
    [InlineData("a,b\n1,2\n\n3,4\n")]
    public void Run_BlankLines_AreNotRows(string text) =>
        Assert.Equal(2, Profile(text).RowCount);

    [Fact]
    public void Run_UnlabelledRows_LeftOutOfTheFraudRate()
    {
        var profile = Profile("category,is_fraud\na,1\na,0\na,\na,NA\n", new SchemaOverrides(new Dictionary<string, ColumnOverride> { ["is_fraud"] = new(Role: ColumnRole.Label) }, "1"));

        var a = profile.Columns[0].TopCategories!.Single();
        Assert.Equal((4L, 1L, 2L), (a.Count, a.Positives!.Value, a.Labelled!.Value));
        Assert.Equal(0.5, a.FraudRate);
        Assert.Equal(2, profile.Label!.Missing);
    }

    [Fact]
    public void Run_SparseColumnWhoseOnlyValueComesAfterTheSampleSize_StillSummarised()
    {
        var text = new StringBuilder("id,rare\n");
        for (var i = 0; i < DatasetProfiler.SampleCapacity + 1000; i++) text.Append(i).Append(",\n");
        text.Append("x,42.5\n");
        var path = files.Write(text.ToString());
        var schema = SchemaInference.Apply(SchemaInference.Infer(path, ','), new SchemaOverrides(new Dictionary<string, ColumnOverride>
        {
            ["id"] = new(Type: ColumnType.Text),
            ["rare"] = new(Type: ColumnType.Decimal),
        }));

        var rare = DatasetProfiler.Run(path, schema).Columns[1];

        Assert.Equal((42.5, 42.5, 42.5), (rare.Numeric!.Min, rare.Numeric.P50, rare.Numeric.Max));
        Assert.Equal(1, rare.Histogram!.Single().Count);
    }

    [Fact]
    public void Run_Utf8BomButLatin1FurtherOn_RefusedNamingTheLine()
    {
        var text = new StringBuilder("name,city\n");
        for (var i = 0; i < 5000; i++) text.Append("anna,berlin\n");
        var bytes = Encoding.UTF8.Preamble.ToArray().Concat(Encoding.UTF8.GetBytes(text.ToString())).Concat(Encoding.Latin1.GetBytes("ren\u00e9,k\u00f6ln\n")).ToArray();
        var path = files.WriteBytes(bytes);
        var schema = SchemaInference.Infer(files.Write("name,city\nanna,berlin\n"), ',');

        var error = Assert.Throws<DatasetValidationException>(() => DatasetProfiler.Run(path, schema));

        Assert.Contains("not valid UTF-8", error.Message);
        Assert.Equal(5002, error.Examples.Single().Line); // header, 5000 rows, then the Latin-1 one
    }

    [Fact]
    public void Run_SampleAmounts_LogBinsWithManyBarsFilled_LinearForAges()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(directory!.FullName, "FraudWorkbench.sln"))) directory = directory.Parent;
        var path = Path.Combine(directory.FullName, "data-samples", "transactions-month-a.csv");
        var schema = SchemaInference.Apply(SchemaInference.Infer(path, CsvFile.Inspect(path)), SchemaOverrides.None);

        var profile = DatasetProfiler.Run(path, schema);

        // Amounts are log-normal-ish (skewness about 6.4): equal widths of 186 put most rows in the first bar.
        var amount = profile.Columns.Single(c => c.Name == "amount");
        Assert.Equal(HistogramBinning.Log, amount.Bins);
        Assert.Equal(amount.Numeric!.Min, amount.Histogram![0].From);
        Assert.Equal(amount.Numeric.Max, amount.Histogram[^1].To);
        Assert.True(amount.Histogram.Count(b => b.Count > 0) >= 15, string.Join(", ", amount.Histogram.Select(b => b.Count)));
        Assert.True(amount.Histogram.Max(b => b.Count) < profile.RowCount / 4);
        Assert.Equal(profile.RowCount - amount.Missing, amount.Histogram.Sum(b => b.Count));
        Assert.All(amount.Histogram.Zip(amount.Histogram.Skip(1)), p => Assert.Equal(p.First.To, p.Second.From));

        Assert.Equal(HistogramBinning.Linear, profile.Columns.Single(c => c.Name == "customer_age").Bins);
    }

    public void Dispose() => files.Dispose();
}
