using System.Security.Claims;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Jobs;
using FraudWorkbench.Core.Training;
using FraudWorkbench.Security;
using Microsoft.AspNetCore.Http.HttpResults;

namespace FraudWorkbench.Api;

public sealed record TrainingRunResponse(
    Guid Id, Guid JobId, string Status, int Progress, string? Stage, Guid DatasetId, int DatasetVersion, Guid FeatureSetVersionId,
    TrainingRunRequest Config, ClassificationReport? Metrics, ThresholdChoice? Threshold, string? ModelArtifact, string? Error,
    long? DurationMs, string CreatedBy, DateTime CreatedAt, DateTime? FinishedAt, string Name, string? Description)
{
    /// <summary>The job is the source of truth for where a run is; the run row holds what it produced.</summary>
    public static TrainingRunResponse From(TrainingRun run, Job? job) => new(
        run.Id, run.JobId, job?.Status ?? run.Status, job?.Progress ?? 0, job?.Stage, run.DatasetId, run.DatasetVersion, run.FeatureSetVersionId,
        run.Config, run.Result?.Metrics, run.Result?.Threshold, run.ModelArtifact, run.Error ?? job?.Error, run.DurationMs, run.CreatedBy, run.CreatedAt, run.FinishedAt, run.DisplayName, run.Description);
}

public sealed record TrainingRunDescription(string? Name, string? Description);

public static class TrainingApi
{
    public static IEndpointRouteBuilder MapTrainingApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/training/runs").WithTags("Training");
        api.MapPost("/", StartRun).WithName("StartTrainingRun").RequireAuthorization(Policies.Write)
            .WithSummary("Queues a training run (202): dataset version, feature set version, trainer, imbalance strategy, split, threshold.");
        api.MapGet("/", ListRuns).WithName("ListTrainingRuns");
        api.MapGet("/{id}", GetRun).WithName("GetTrainingRun").WithSummary("Status, progress, metrics, threshold and model artifact of a run.");
        api.MapPatch("/{id}", DescribeRun).WithName("DescribeTrainingRun").RequireAuthorization(Policies.Write)
            .WithSummary("Renames a run and sets its description ({ name, description }; an empty description clears it).");
        api.MapPost("/{id}/cancel", CancelRun).WithName("CancelTrainingRun").RequireAuthorization(Policies.Write)
            .WithSummary("Cancels a queued run at once, or asks the worker to stop a running one (409 when it has finished).");
        api.MapGet("/{id}/artifacts/{file}", DownloadArtifact).WithName("DownloadTrainingArtifact")
            .WithSummary("model.zip, model.onnx (when the export matched ML.NET), metadata.json or checksum.sha256; checksum verified before sending.");
        return app;
    }

    public static async Task<Results<Accepted<TrainingRunResponse>, ProblemHttpResult>> StartRun(
        TrainingRunRequest request, TrainingService service, TrainingRunStore runs, JobStore jobs, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        try
        {
            var (runId, jobId) = await service.StartAsync(request, WorkbenchClaims.Actor(user), cancellationToken);
            var run = (await runs.GetAsync(runId, cancellationToken))!;
            return TypedResults.Accepted($"/api/v1/training/runs/{runId}", TrainingRunResponse.From(run, await jobs.GetAsync(jobId, cancellationToken)));
        }
        catch (TrainingValidationException ex)
        {
            return JobsApi.Invalid("The training run is not valid", ex.Issues);
        }
    }

    public static async Task<Results<Ok<TrainingRunResponse>, ProblemHttpResult>> DescribeRun(
        Guid id, TrainingRunDescription body, TrainingService service, JobStore jobs, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        try
        {
            return await service.DescribeAsync(id, body.Name, body.Description, WorkbenchClaims.Actor(user), cancellationToken) is { } run
                ? TypedResults.Ok(TrainingRunResponse.From(run, await jobs.GetAsync(run.JobId, cancellationToken)))
                : JobsApi.Problem(404, "Run not found", $"No training run has the id {id}.", "id");
        }
        catch (TrainingValidationException ex)
        {
            return JobsApi.Invalid("The name or description is not valid", ex.Issues);
        }
    }

    public static async Task<Results<Ok<TrainingRunResponse>, ProblemHttpResult>> CancelRun(
        Guid id, TrainingService service, TrainingRunStore runs, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        var (outcome, job) = await service.CancelAsync(id, WorkbenchClaims.Actor(user), cancellationToken);
        return outcome switch
        {
            CancelOutcome.NotFound => JobsApi.Problem(404, "Run not found", $"No training run has the id {id}.", "id"),
            CancelOutcome.AlreadyFinished => JobsApi.Problem(409, "Run already finished", "A finished run cannot be cancelled.", "id"),
            _ => TypedResults.Ok(TrainingRunResponse.From((await runs.GetAsync(id, cancellationToken))!, job)),
        };
    }

    public static async Task<Ok<List<TrainingRunResponse>>> ListRuns(TrainingRunStore runs, JobStore jobs, CancellationToken cancellationToken)
    {
        var list = await runs.ListAsync(cancellationToken: cancellationToken);
        var byId = await jobs.GetManyAsync([.. list.Select(r => r.JobId)], cancellationToken);
        return TypedResults.Ok(list.Select(run => TrainingRunResponse.From(run, byId.GetValueOrDefault(run.JobId))).ToList());
    }

    public static async Task<Results<FileStreamHttpResult, ProblemHttpResult>> DownloadArtifact(
        Guid id, string file, TrainingRunStore runs, FraudWorkbench.Core.Artifacts.ArtifactStore artifacts, CancellationToken cancellationToken)
    {
        if (await runs.GetAsync(id, cancellationToken) is not { Result.Artifacts: { } files })
            return JobsApi.Problem(404, "No artifacts", $"Training run {id} does not exist or has not produced a model yet.", "id");
        if (!files.FileNames.TryGetValue(file, out var sha256))
            return JobsApi.Problem(404, "No such file", $"The run has {string.Join(", ", files.FileNames.Keys)}.", "file");
        var content = await artifacts.OpenReadAsync(sha256, cancellationToken);
        var type = file.EndsWith(".json", StringComparison.Ordinal) ? "application/json" : file.EndsWith(".sha256", StringComparison.Ordinal) ? "text/plain" : "application/octet-stream";
        return TypedResults.File(content, type, $"run-{id.ToString("N")[^8..]}-{file}");
    }

    public static async Task<Results<Ok<TrainingRunResponse>, ProblemHttpResult>> GetRun(Guid id, TrainingRunStore runs, JobStore jobs, CancellationToken cancellationToken) =>
        await runs.GetAsync(id, cancellationToken) is { } run
            ? TypedResults.Ok(TrainingRunResponse.From(run, await jobs.GetAsync(run.JobId, cancellationToken)))
            : JobsApi.Problem(404, "Run not found", $"No training run has the id {id}.", "id");
}
