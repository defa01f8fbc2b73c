namespace FraudWorkbench.Core.Jobs;

/// <summary>What a job works on, as a person reads it ("Training run lightgbm · card-fraud v1"), and where that lives.</summary>
public sealed record JobSubject(string Title, string? Href);

/// <summary>
/// Names the subjects of one kind of job. Each capability describes its own jobs, because only it
/// knows its payloads and tables; a page of jobs costs one query per kind, not one per job.
/// </summary>
public interface IJobDescriber
{
    IReadOnlyList<string> Kinds { get; }

    Task<IReadOnlyDictionary<Guid, JobSubject>> DescribeAsync(IReadOnlyList<Job> jobs, CancellationToken cancellationToken);
}

public sealed class JobSubjects(IEnumerable<IJobDescriber> describers)
{
    private readonly Dictionary<string, IJobDescriber> byKind = describers.SelectMany(d => d.Kinds.Select(k => (k, d))).ToDictionary(p => p.k, p => p.d);

    /// <summary>A subject for every job given; a job whose subject is gone (or of a kind nobody describes) gets its kind in words.</summary>
    public async Task<IReadOnlyDictionary<Guid, JobSubject>> DescribeAsync(IEnumerable<Job> jobs, CancellationToken cancellationToken = default)
    {
        var subjects = new Dictionary<Guid, JobSubject>();
        foreach (var group in jobs.GroupBy(j => j.Kind))
        {
            var described = byKind.TryGetValue(group.Key, out var describer)
                ? await describer.DescribeAsync([.. group], cancellationToken)
                : new Dictionary<Guid, JobSubject>();
            foreach (var job in group)
            {
                subjects[job.Id] = described.GetValueOrDefault(job.Id) ?? Fallback(job.Kind);
            }
        }

        return subjects;
    }

    /// <summary>"features.backfill" → "Features backfill".</summary>
    public static JobSubject Fallback(string kind)
    {
        var words = kind.Replace('.', ' ').Replace('_', ' ').Replace('-', ' ');
        return new(words.Length == 0 ? "Job" : char.ToUpperInvariant(words[0]) + words[1..], null);
    }
}
