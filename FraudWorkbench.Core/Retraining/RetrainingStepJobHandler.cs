using Dapper;
using FraudWorkbench.Core.Jobs;
using Npgsql;

namespace FraudWorkbench.Core.Retraining;

/// <summary>The payload of a <c>retraining.step</c> job: the workflow and the step it runs.</summary>
public sealed record RetrainingStepPayload(Guid WorkflowId, string Step);

/// <summary>
/// Runs a workflow's job steps: the dataset version, the feature fit and the shadow comparison. The returned record is
/// the job's result, which the engine copies into the step row when it advances.
/// </summary>
public sealed class RetrainingStepJobHandler(RetrainingStore store, TrainingDataBuilder data, RetrainingFeatureFitter features, ShadowComparer comparer) : IJobHandler
{
    public const string KindName = "retraining.step";

    public string Kind => KindName;

    public async Task<object?> ExecuteAsync(JobContext context, CancellationToken cancellationToken)
    {
        var payload = context.Payload<RetrainingStepPayload>();
        var workflow = await store.GetAsync(payload.WorkflowId, cancellationToken)
            ?? throw new NonRetryableJobException($"Retraining workflow {payload.WorkflowId} does not exist.");
        if (!workflow.IsActive) throw new NonRetryableJobException($"Retraining workflow {workflow.Id} is {workflow.Status}; its {payload.Step} step is not needed any more.");
        return payload.Step switch
        {
            RetrainingStep.Dataset => await data.BuildAsync(workflow, context, cancellationToken),
            RetrainingStep.Features => await features.FitAsync(workflow, context, cancellationToken),
            RetrainingStep.Shadow => await comparer.CompareAsync(workflow, cancellationToken),
            _ => throw new NonRetryableJobException($"Step '{payload.Step}' does not run as a job."),
        };
    }
}

/// <summary>Names a step job by its workflow: "Retraining card-fraud: Build the dataset version".</summary>
public sealed class RetrainingJobSubjects(NpgsqlDataSource dataSource) : IJobDescriber
{
    public IReadOnlyList<string> Kinds { get; } = [RetrainingStepJobHandler.KindName];

    public async Task<IReadOnlyDictionary<Guid, JobSubject>> DescribeAsync(IReadOnlyList<Job> jobs, CancellationToken cancellationToken)
    {
        const string sql = """
            SELECT j.id AS JobId, w.id AS WorkflowId, w.model_name AS Model, j.payload ->> 'step' AS Step
            FROM jobs j JOIN retraining_workflows w ON w.id = (j.payload ->> 'workflowId')::uuid
            WHERE j.id = ANY(@ids)
            """;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<Row>(new CommandDefinition(sql, new { ids = jobs.Select(j => j.Id).ToArray() }, cancellationToken: cancellationToken));
        return rows.ToDictionary(r => r.JobId, r => new JobSubject(
            $"Retraining {r.Model}: {(r.Step == RetrainingStep.Shadow ? "Compare the shadow predictions" : RetrainingStep.Title(r.Step ?? ""))}",
            $"models/{Uri.EscapeDataString(r.Model)}/retraining?workflow={r.WorkflowId}"));
    }

    private sealed record Row(Guid JobId, Guid WorkflowId, string Model, string? Step);
}
