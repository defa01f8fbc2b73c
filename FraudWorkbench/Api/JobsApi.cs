using System.Security.Claims;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Jobs;
using FraudWorkbench.Security;
using Microsoft.AspNetCore.Http.HttpResults;

namespace FraudWorkbench.Api;

/// <param name="Result">What a finished job made (e.g. a fitted feature set's <c>versionId</c>).</param>
public sealed record JobResponse(
    Guid Id, string Kind, string Status, int Progress, string? Stage, int Attempts, int MaxAttempts, bool CancelRequested,
    string? Error, string CreatedBy, DateTime CreatedAt, DateTime? StartedAt, DateTime? FinishedAt, System.Text.Json.JsonElement? Result = null)
{
    public static JobResponse From(Job job) => new(job.Id, job.Kind, job.Status, job.Progress, job.Stage, job.Attempts, job.MaxAttempts,
        job.CancelRequested, job.Error, job.CreatedBy, job.CreatedAt, job.StartedAt, job.FinishedAt,
        job.Result is null ? null : System.Text.Json.JsonDocument.Parse(job.Result).RootElement.Clone());
}

public static class JobsApi
{
    public static IEndpointRouteBuilder MapJobsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/jobs").WithTags("Jobs");
        api.MapGet("/", ListJobs).WithName("ListJobs").WithSummary("Recent jobs, newest first.");
        api.MapGet("/{id}", GetJob).WithName("GetJob");
        api.MapPost("/{id}/cancel", CancelJob).WithName("CancelJob").RequireAuthorization(Policies.Write)
            .WithSummary("Cancels a queued job, or asks the worker running it to stop.");
        return app;
    }

    public static async Task<Results<Ok<IReadOnlyList<JobResponse>>, ProblemHttpResult>> ListJobs(
        JobStore jobs, string? status, int? limit, CancellationToken cancellationToken)
    {
        if (status is not null && !JobStatus.All.Contains(status))
        {
            return Problem(400, "Invalid status", $"status must be one of {string.Join(", ", JobStatus.All)}.", "status");
        }

        if (limit is < 1 or > 1000)
        {
            return Problem(400, "Invalid limit", "limit must be between 1 and 1000.", "limit");
        }

        var list = await jobs.ListAsync(status, limit ?? 100, cancellationToken);
        return TypedResults.Ok<IReadOnlyList<JobResponse>>([.. list.Select(JobResponse.From)]);
    }

    public static async Task<Results<Ok<JobResponse>, ProblemHttpResult>> GetJob(Guid id, JobStore jobs, CancellationToken cancellationToken) =>
        await jobs.GetAsync(id, cancellationToken) is { } job
            ? TypedResults.Ok(JobResponse.From(job))
            : Problem(404, "Job not found", $"No job has the id {id}.", "id");

    public static async Task<Results<Ok<JobResponse>, ProblemHttpResult>> CancelJob(
        Guid id, JobStore jobs, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        var (outcome, job) = await jobs.CancelAsync(id, WorkbenchClaims.Actor(user), cancellationToken);
        return outcome switch
        {
            CancelOutcome.NotFound => Problem(404, "Job not found", $"No job has the id {id}.", "id"),
            CancelOutcome.AlreadyFinished => Problem(409, "Job already finished", "A finished job cannot be cancelled.", "id"),
            _ => TypedResults.Ok(JobResponse.From(job!)),
        };
    }

    /// <summary>A 400 listing every bad field (<c>errors: [{field, message}]</c>), the first also as <c>field</c>.</summary>
    internal static ProblemHttpResult Invalid(string title, IReadOnlyList<(string Field, string Message)> issues, int status = 400) =>
        TypedResults.Problem(string.Join(" ", issues.Select(i => $"{i.Field}: {i.Message}")), statusCode: status, title: title,
            extensions: new Dictionary<string, object?>
            {
                ["field"] = issues[0].Field,
                ["errors"] = issues.Select(i => new { field = i.Field, message = i.Message }).ToList(),
            });

    internal static ProblemHttpResult Problem(int status, string title, string detail, string field) =>
        TypedResults.Problem(detail, statusCode: status, title: title, extensions: new Dictionary<string, object?> { ["field"] = field });
}
