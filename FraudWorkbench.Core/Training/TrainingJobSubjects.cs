using Dapper;
using FraudWorkbench.Core.Jobs;
using Npgsql;

namespace FraudWorkbench.Core.Training;

public sealed class TrainingJobSubjects(NpgsqlDataSource dataSource) : IJobDescriber
{
    public IReadOnlyList<string> Kinds { get; } = [TrainingJobHandler.KindName];

    public async Task<IReadOnlyDictionary<Guid, JobSubject>> DescribeAsync(IReadOnlyList<Job> jobs, CancellationToken cancellationToken)
    {
        const string sql = """
            SELECT r.job_id AS JobId, r.id AS RunId,
                   coalesce(r.name, coalesce(r.config -> 'trainer' ->> 'trainer', 'lightgbm') || ' · ' || d.name || ' v' || r.dataset_version) AS Name
            FROM training_runs r JOIN datasets d ON d.id = r.dataset_id
            WHERE r.job_id = ANY(@ids)
            """;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<Row>(new CommandDefinition(sql, new { ids = jobs.Select(j => j.Id).ToArray() }, cancellationToken: cancellationToken));
        return rows.ToDictionary(r => r.JobId, r => new JobSubject($"Training run {r.Name}", $"training/{r.RunId}"));
    }

    private sealed record Row(Guid JobId, Guid RunId, string Name);
}
