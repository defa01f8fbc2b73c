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
}
