using FraudWorkbench.Core.Jobs;

namespace FraudWorkbench.Core.Registry;

/// <summary>Describes jobs whose payload names a model version: "Validation gate · card-fraud v3", linked to that tab of the version page.</summary>
public class VersionJobSubjects<TPayload>(RegistryStore registry, string kind, string title, string tab, Func<TPayload, Guid> versionOf) : IJobDescriber
{
    public IReadOnlyList<string> Kinds { get; } = [kind];

    public async Task<IReadOnlyDictionary<Guid, JobSubject>> DescribeAsync(IReadOnlyList<Job> jobs, CancellationToken cancellationToken)
    {
        var versionByJob = jobs.Select(j => (j.Id, Payload: j.PayloadAs<TPayload>())).Where(p => p.Payload is not null).ToDictionary(p => p.Id, p => versionOf(p.Payload!));
        var names = await registry.VersionNamesAsync([.. versionByJob.Values.Distinct()], cancellationToken);
        return versionByJob.Where(p => names.ContainsKey(p.Value)).ToDictionary(p => p.Key, p =>
        {
            var (model, version) = names[p.Value];
            return new JobSubject($"{title} · {model} v{version}", $"models/{Uri.EscapeDataString(model)}/versions/{version}?tab={tab}");
        });
    }
}

public sealed class ValidationJobSubjects(RegistryStore registry)
    : VersionJobSubjects<ModelValidationPayload>(registry, ModelValidationJobHandler.KindName, "Validation gate", "gate", p => p.VersionId);
