using System.Text.Json;
using Dapper;
using FraudWorkbench.Core.Jobs;
using Npgsql;

namespace FraudWorkbench.Core.Features;

/// <summary>"Feature set velocity · fit on card-fraud v1" and "Entity history backfill · velocity v2", linked to the feature set.</summary>
public sealed class FeatureJobSubjects(NpgsqlDataSource dataSource) : IJobDescriber
{
    public IReadOnlyList<string> Kinds { get; } = [FeatureSetFitJobHandler.KindName, FeatureBackfillJobHandler.KindName];

    public async Task<IReadOnlyDictionary<Guid, JobSubject>> DescribeAsync(IReadOnlyList<Job> jobs, CancellationToken cancellationToken)
    {
        var fits = jobs.Where(j => j.Kind == FeatureSetFitJobHandler.KindName).Select(j => (Job: j, Request: j.PayloadAs<NewFeatureSet>())).Where(f => f.Request is not null).ToList();
        var backfills = jobs.Where(j => j.Kind == FeatureBackfillJobHandler.KindName).Select(j => (Job: j, Request: j.PayloadAs<FeatureBackfillRequest>())).Where(b => b.Request is not null).ToList();

        const string sql = """
            SELECT id AS Id, name AS Name, 0 AS Version, NULL::uuid AS FeatureSetId FROM datasets WHERE id = ANY(@datasets)
            UNION ALL
            SELECT v.id, s.name, v.version, v.feature_set_id FROM feature_set_versions v JOIN feature_sets s ON s.id = v.feature_set_id WHERE v.id = ANY(@versions)
            """;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var names = (await connection.QueryAsync<Row>(new CommandDefinition(sql, new
        {
            datasets = fits.Select(f => f.Request!.DatasetId).Distinct().ToArray(),
            versions = backfills.Select(b => b.Request!.FeatureSetVersionId).Distinct().ToArray(),
        }, cancellationToken: cancellationToken))).ToDictionary(r => r.Id);

        var subjects = new Dictionary<Guid, JobSubject>();
        foreach (var (job, request) in fits)
        {
            var dataset = names.GetValueOrDefault(request!.DatasetId)?.Name ?? "a dataset";
            var fitted = job.Result is null ? null : JsonSerializer.Deserialize<FitResult>(job.Result, Events.EventHub.JsonOptions);
            subjects[job.Id] = new($"Feature set {request.Name} · fit on {dataset} v{request.DatasetVersion}", fitted is null ? null : $"features/{fitted.FeatureSetId}");
        }

        foreach (var (job, request) in backfills)
        {
            if (names.GetValueOrDefault(request!.FeatureSetVersionId) is { } version)
            {
                subjects[job.Id] = new($"Entity history backfill · {version.Name} v{version.Version}", $"features/{version.FeatureSetId}");
            }
        }

        return subjects;
    }

    private sealed record Row(Guid Id, string Name, int Version, Guid? FeatureSetId);

    private sealed record FitResult(Guid FeatureSetId);
}
