using FraudWorkbench.Core.Data;

namespace FraudWorkbench.Tests.Data;

public sealed class DatasetRowsTests
{
    [Fact]
    public void Read_SampleMonth_EachRepeatedValueIsOneStringPerColumn_TextUnchanged()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "samples", "transactions-month-a.csv");
        var schema = SchemaInference.Infer(path, ',');

        List<string?[]> rows;
        using (var file = File.OpenRead(path)) rows = DatasetRows.Read(file, schema);

        // Exactly the file's cells (the sample has no quoting), row for row.
        var lines = File.ReadLines(path).Skip(1).Select(l => l.Split(',')).ToList();
        Assert.Equal(lines.Count, rows.Count);
        foreach (var i in new[] { 0, 1, 12_345, rows.Count - 1 }) Assert.Equal(lines[i], rows[i]);
        foreach (var column in new[] { "merchant_category", "customer_id", "shipping_address_new" })
        {
            var cells = rows.Select(r => r[schema.IndexOf(column)]).ToList();
            Assert.Equal(cells.Distinct(StringComparer.Ordinal).Count(), cells.Distinct(ReferenceEqualityComparer.Instance).Count());
        }
    }

    [Theory]
    [InlineData(0.5)]
    [InlineData(0.2)]
    public void Sample_ByCustomer_KeepsEveryRowOfAboutTheShareOfCustomersTheSameOnEveryRead(double share)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "samples", "transactions-month-a.csv");
        var schema = SchemaInference.Infer(path, ',');
        var key = schema.IndexOf("customer_id");
        List<string?[]> all, sampled, again;
        using (var file = File.OpenRead(path)) all = DatasetRows.Read(file, schema);
        using (var file = File.OpenRead(path)) sampled = DatasetRows.Read(file, schema, DatasetRows.Sample(share, key));
        using (var file = File.OpenRead(path)) again = DatasetRows.Read(file, schema, DatasetRows.Sample(share, key));

        var rowsPerCustomer = all.GroupBy(r => r[key]).ToDictionary(g => g.Key!, g => g.Count());
        var kept = sampled.GroupBy(r => r[key]).ToDictionary(g => g.Key!, g => g.Count());
        Assert.All(kept, k => Assert.Equal(rowsPerCustomer[k.Key], k.Value)); // whole customers
        Assert.InRange((double)kept.Count / rowsPerCustomer.Count, share * 0.9, share * 1.1);
        Assert.InRange((double)sampled.Count / all.Count, share * 0.85, share * 1.15);
        Assert.Equal(sampled.Select(r => r[0]), again.Select(r => r[0]));
    }

    [Fact]
    public void Sample_ByPosition_KeepsAboutTheShareSpreadOverTheFile()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "samples", "transactions-month-a.csv");
        var schema = SchemaInference.Infer(path, ',');
        List<string?[]> sampled;
        using (var file = File.OpenRead(path)) sampled = DatasetRows.Read(file, schema, DatasetRows.Sample(0.25, null));

        Assert.InRange(sampled.Count, 9_500, 10_500);
        // Not the first quarter of the file: rows from its whole length.
        var ids = File.ReadLines(path).Skip(1).Select(l => l[..l.IndexOf(',')]).ToList();
        Assert.True(ids.IndexOf(sampled[^1][0]!) > 35_000);
    }
}
