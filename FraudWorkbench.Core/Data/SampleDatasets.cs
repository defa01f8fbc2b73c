using FraudWorkbench.Core.Jobs;

namespace FraudWorkbench.Core.Data;

public sealed record SampleDataset(string Name, string Path, long SizeBytes);

/// <summary>The sample files shipped next to the app (<c>samples/*.csv</c>, from the repository's data-samples folder).</summary>
public sealed class SampleDatasets(DatasetIngestor ingestor, JobStore jobs)
{
    public static string Directory { get; set; } = System.IO.Path.Combine(AppContext.BaseDirectory, "samples");

    public IReadOnlyList<SampleDataset> Available =>
        System.IO.Directory.Exists(Directory)
            ? [.. System.IO.Directory.GetFiles(Directory, "*.csv").Order(StringComparer.Ordinal)
                .Select(p => new SampleDataset(System.IO.Path.GetFileNameWithoutExtension(p), p, new FileInfo(p).Length))]
            : [];

    /// <summary>Stages a sample and queues its ingestion with the inferred schema; returns the job.</summary>
    public async Task<Job> ImportAsync(SampleDataset sample, string actor, CancellationToken cancellationToken = default)
    {
        await using var file = File.OpenRead(sample.Path);
        var staged = await ingestor.StageAsync(file, System.IO.Path.GetFileName(sample.Path), cancellationToken: cancellationToken);
        return await jobs.EnqueueAsync(DatasetIngestJobHandler.KindName,
            new DatasetIngestRequest(staged, sample.Name, SchemaOverrides.None, actor), actor, maxAttempts: 2, cancellationToken);
    }
}
