using FraudWorkbench.Core.Data;

namespace FraudWorkbench.Tests.Infrastructure;

/// <summary>The committed sample month A (40,000 rows), ingested into an app as a dataset.</summary>
public static class SampleMonth
{
    public static async Task<IngestResult> IngestAsync(WorkbenchAppFactory app, string name)
    {
        var ingestor = app.Get<DatasetIngestor>();
        await using var file = File.OpenRead(Path.Combine(AppContext.BaseDirectory, "samples", "transactions-month-a.csv"));
        return await ingestor.IngestAsync(await ingestor.StageAsync(file, "month-a.csv"), name, SchemaOverrides.None, "test");
    }
}
