using FraudWorkbench.Core.Jobs;
using FraudWorkbench.Core.Monitoring;
using Microsoft.Extensions.Options;

namespace FraudWorkbench.Core.Scoring;

public sealed class RetentionJobSubjects(IOptions<ScoringOptions> options, IOptions<MonitoringOptions> monitoring) : IJobDescriber
{
    public IReadOnlyList<string> Kinds { get; } = [PredictionRetentionJobHandler.KindName];

    public Task<IReadOnlyDictionary<Guid, JobSubject>> DescribeAsync(IReadOnlyList<Job> jobs, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyDictionary<Guid, JobSubject>>(jobs.ToDictionary(
            j => j.Id, _ => new JobSubject(
                $"Delete predictions older than {options.Value.PredictionRetentionDays} days and monitoring data older than {monitoring.Value.RetentionDays} days", null)));
}
