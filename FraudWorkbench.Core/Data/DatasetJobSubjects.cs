using System.Text.Json;
using FraudWorkbench.Core.Jobs;

namespace FraudWorkbench.Core.Data;

/// <summary>"Upload card-fraud → v2" and "Correct roles of card-fraud v1 → v2", linked to the dataset once known.</summary>
public sealed class DatasetJobSubjects(DatasetStore datasets) : IJobDescriber
{
    public IReadOnlyList<string> Kinds { get; } = [DatasetIngestJobHandler.KindName, DatasetReviseJobHandler.KindName];

    public async Task<IReadOnlyDictionary<Guid, JobSubject>> DescribeAsync(IReadOnlyList<Job> jobs, CancellationToken cancellationToken)
    {
        var subjects = new Dictionary<Guid, JobSubject>();
        foreach (var job in jobs)
        {
            var outcome = job.Result is null ? null : JsonSerializer.Deserialize<DatasetIngestOutcome>(job.Result, Events.EventHub.JsonOptions);
            if (job.Kind == DatasetReviseJobHandler.KindName)
            {
                if (job.PayloadAs<DatasetReviseRequest>() is not { } revise) continue;
                var dataset = outcome?.Name ?? (await datasets.GetAsync(revise.DatasetId, cancellationToken))?.Name ?? "a dataset";
                subjects[job.Id] = new($"Correct roles of {dataset} v{revise.FromVersion}{(outcome is null ? "" : $" → v{outcome.Version}")}", $"datasets/{revise.DatasetId}");
                continue;
            }

            var name = outcome?.Name ?? job.PayloadAs<DatasetIngestRequest>()?.Name ?? "dataset";
            subjects[job.Id] = outcome is null
                ? new JobSubject($"Upload {name}", null)
                : new JobSubject($"Upload {name} → v{outcome.Version}", $"datasets/{outcome.DatasetId}");
        }

        return subjects;
    }
}
