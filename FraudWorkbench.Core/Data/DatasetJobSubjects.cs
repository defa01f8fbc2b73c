using System.Text.Json;
using FraudWorkbench.Core.Jobs;

namespace FraudWorkbench.Core.Data;

/// <summary>"Upload card-fraud → v2", linked to the dataset once the upload has made it.</summary>
public sealed class DatasetJobSubjects : IJobDescriber
{
    public IReadOnlyList<string> Kinds { get; } = [DatasetIngestJobHandler.KindName];

    public Task<IReadOnlyDictionary<Guid, JobSubject>> DescribeAsync(IReadOnlyList<Job> jobs, CancellationToken cancellationToken)
    {
        var subjects = new Dictionary<Guid, JobSubject>();
        foreach (var job in jobs)
        {
            var outcome = job.Result is null ? null : JsonSerializer.Deserialize<DatasetIngestOutcome>(job.Result, Events.EventHub.JsonOptions);
            var name = outcome?.Name ?? job.PayloadAs<DatasetIngestRequest>()?.Name ?? "dataset";
            subjects[job.Id] = outcome is null
                ? new JobSubject($"Upload {name}", null)
                : new JobSubject($"Upload {name} → v{outcome.Version}", $"datasets/{outcome.DatasetId}");
        }

        return Task.FromResult<IReadOnlyDictionary<Guid, JobSubject>>(subjects);
    }
}
