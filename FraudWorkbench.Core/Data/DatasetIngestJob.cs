using FraudWorkbench.Core.Jobs;

namespace FraudWorkbench.Core.Data;

/// <summary>The payload of a <c>dataset.ingest</c> job: a staged upload and what to make of it.</summary>
/// <param name="DatasetId">Set for "upload a new version" of an existing dataset; <paramref name="Name"/> is then not used.</param>
public sealed record DatasetIngestRequest(StagedUpload Upload, string Name, SchemaOverrides Overrides, string Actor, Guid? DatasetId = null);

/// <summary>The payload of a <c>dataset.revise</c> job: corrected roles for an existing version.</summary>
public sealed record DatasetReviseRequest(Guid DatasetId, int FromVersion, SchemaOverrides Overrides, string Actor);

public sealed record DatasetIngestOutcome(Guid DatasetId, string Name, int Version, long Rows, bool Created);

/// <summary>Ingests browser uploads in the background, so progress survives the page and a restart.</summary>
public sealed class DatasetIngestJobHandler(DatasetIngestor ingestor) : IJobHandler
{
    public const string KindName = "dataset.ingest";

    public string Kind => KindName;

    public async Task<object?> ExecuteAsync(JobContext context, CancellationToken cancellationToken)
    {
        var request = context.Payload<DatasetIngestRequest>();
        if (!File.Exists(ingestor.StagedPath(request.Upload.Id)))
        {
            throw new NonRetryableJobException("The uploaded file is no longer in the staging folder (it was ingested or discarded); upload it again.");
        }

        await context.ReportAsync(0, "validating and profiling", cancellationToken);
        var lastPercent = 0;
        try
        {
            void Progress(double fraction)
            {
                var percent = (int)(fraction * 95);
                if (percent <= lastPercent) return;
                lastPercent = percent;
                // Progress is written from the profiling loop; the write is throttled by the context.
                context.ReportAsync(percent, "validating and profiling", cancellationToken).GetAwaiter().GetResult();
            }

            var result = request.DatasetId is Guid datasetId
                ? await ingestor.AddVersionAsync(datasetId, request.Upload, request.Overrides, request.Actor, Progress, cancellationToken)
                : await ingestor.IngestAsync(request.Upload, request.Name, request.Overrides, request.Actor, Progress, cancellationToken);
            await context.ReportAsync(100, result.Created ? $"version {result.Version.Version} created" : $"identical to version {result.Version.Version}", cancellationToken);
            return new DatasetIngestOutcome(result.Dataset.Id, result.Dataset.Name, result.Version.Version, result.Version.RowCount, result.Created);
        }
        catch (DatasetValidationException ex)
        {
            throw new NonRetryableJobException(ex.Describe(), ex);
        }
        catch (Exception) when (context.Job.Attempts >= context.Job.MaxAttempts)
        {
            // The last attempt: nobody will come back for the staged file.
            ingestor.Discard(request.Upload);
            throw;
        }
    }
}

/// <summary>Profiles a version's stored file again under corrected roles, as the dataset's next version.</summary>
public sealed class DatasetReviseJobHandler(DatasetIngestor ingestor) : IJobHandler
{
    public const string KindName = "dataset.revise";

    public string Kind => KindName;

    public async Task<object?> ExecuteAsync(JobContext context, CancellationToken cancellationToken)
    {
        var request = context.Payload<DatasetReviseRequest>();
        await context.ReportAsync(0, "profiling with the corrected roles", cancellationToken);
        var lastPercent = 0;
        try
        {
            var result = await ingestor.ReviseAsync(request.DatasetId, request.FromVersion, request.Overrides, request.Actor, fraction =>
            {
                var percent = (int)(fraction * 95);
                if (percent <= lastPercent) return;
                lastPercent = percent;
                context.ReportAsync(percent, "profiling with the corrected roles", cancellationToken).GetAwaiter().GetResult();
            }, cancellationToken);
            await context.ReportAsync(100, result.Created ? $"version {result.Version.Version} created" : $"identical to version {result.Version.Version}", cancellationToken);
            return new DatasetIngestOutcome(result.Dataset.Id, result.Dataset.Name, result.Version.Version, result.Version.RowCount, result.Created);
        }
        catch (DatasetValidationException ex)
        {
            throw new NonRetryableJobException(ex.Describe(), ex);
        }
    }
}
