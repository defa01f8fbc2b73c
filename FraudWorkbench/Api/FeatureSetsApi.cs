using System.Security.Claims;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Features;
using FraudWorkbench.Core.Jobs;
using FraudWorkbench.Security;
using Microsoft.AspNetCore.Http.HttpResults;

namespace FraudWorkbench.Api;

public sealed record CreateFeatureSetRequest(string? Name, Guid DatasetId, int DatasetVersion, IReadOnlyList<FeatureSpec>? Features);

public sealed record FeatureSetVersionResponse(
    Guid Id, Guid FeatureSetId, string Name, int Version, string Hash, Guid DatasetId, int DatasetVersion, IReadOnlyList<string> Slots,
    string CreatedBy, DateTime CreatedAt)
{
    public static FeatureSetVersionResponse From(FeatureSetVersion v) => new(
        v.Id, v.FeatureSetId, v.Name, v.Version, v.Hash, v.DatasetId, v.DatasetVersion, v.Fitted.SlotNames, v.CreatedBy, v.CreatedAt);
}

public sealed record FeatureSetVersionDetail(FeatureSetVersionResponse Version, FeatureSetDefinition Definition, FittedFeatureSet Fitted, FeatureReference Reference);

public static class FeatureSetsApi
{
    public static IEndpointRouteBuilder MapFeatureSetsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/feature-sets").WithTags("Feature sets");
        api.MapPost("/", CreateFeatureSet).WithName("CreateFeatureSet").RequireAuthorization(Policies.Write)
            .WithSummary("Validates a feature set for a dataset version and queues the job that fits and saves it (202 with the job; 200 with the version when the same definition on the same data exists).");
        api.MapGet("/", ListFeatureSets).WithName("ListFeatureSets");
        api.MapGet("/{id}", ListFeatureSetVersions).WithName("ListFeatureSetVersions");
        api.MapGet("/versions/{versionId}", GetFeatureSetVersion).WithName("GetFeatureSetVersion")
            .WithSummary("A version's definition, fitted state and reference statistics.");
        api.MapPost("/versions/{versionId}/backfill", BackfillEntityState).WithName("BackfillEntityState").RequireAuthorization(Policies.Write)
            .WithSummary("Queues a job that fills the online entity state from the dataset version the feature set was fitted on.");
        return app;
    }

    public static async Task<Results<Accepted<JobResponse>, Ok<FeatureSetVersionResponse>, ProblemHttpResult>> CreateFeatureSet(
        CreateFeatureSetRequest request, FeatureSetService service, JobStore jobs, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        try
        {
            var newSet = new NewFeatureSet(request.Name ?? "", request.DatasetId, request.DatasetVersion, new FeatureSetDefinition(request.Features ?? []));
            // Everything short of reading the rows (the memory budget included) is checked here: a job is only queued for a fit that can run.
            if (await service.ExistingAsync(newSet, cancellationToken) is { } same) return TypedResults.Ok(FeatureSetVersionResponse.From(same));
            var job = await jobs.EnqueueAsync(FeatureSetFitJobHandler.KindName, newSet, WorkbenchClaims.Actor(user), cancellationToken: cancellationToken);
            return TypedResults.Accepted($"/api/v1/jobs/{job.Id}", JobResponse.From(job));
        }
        catch (FeatureValidationException ex)
        {
            return JobsApi.Invalid("The feature set is not valid for this dataset version", [.. ex.Issues.Select(i => (i.Field, i.Message))]);
        }
    }

    public static async Task<Ok<IReadOnlyList<FeatureSetSummary>>> ListFeatureSets(FeatureSetStore store, CancellationToken cancellationToken) =>
        TypedResults.Ok(await store.ListAsync(cancellationToken));

    public static async Task<Results<Ok<IReadOnlyList<FeatureSetVersionResponse>>, ProblemHttpResult>> ListFeatureSetVersions(Guid id, FeatureSetStore store, CancellationToken cancellationToken)
    {
        var versions = await store.ListVersionsAsync(id, cancellationToken);
        return versions.Count == 0
            ? JobsApi.Problem(404, "Feature set not found", $"No feature set has the id {id}.", "id")
            : TypedResults.Ok<IReadOnlyList<FeatureSetVersionResponse>>([.. versions.Select(FeatureSetVersionResponse.From)]);
    }

    public static async Task<Results<Ok<FeatureSetVersionDetail>, ProblemHttpResult>> GetFeatureSetVersion(Guid versionId, FeatureSetStore store, CancellationToken cancellationToken) =>
        await store.GetVersionAsync(versionId, cancellationToken) is { } v
            ? TypedResults.Ok(new FeatureSetVersionDetail(FeatureSetVersionResponse.From(v), v.Definition, v.Fitted, v.Reference))
            : JobsApi.Problem(404, "Version not found", $"No feature set version has the id {versionId}.", "versionId");

    public static async Task<Results<Accepted<JobResponse>, ProblemHttpResult>> BackfillEntityState(
        Guid versionId, FeatureSetStore store, JobStore jobs, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        if (await store.GetVersionAsync(versionId, cancellationToken) is null)
            return JobsApi.Problem(404, "Version not found", $"No feature set version has the id {versionId}.", "versionId");
        var job = await jobs.EnqueueAsync(FeatureBackfillJobHandler.KindName, new FeatureBackfillRequest(versionId), WorkbenchClaims.Actor(user), cancellationToken: cancellationToken);
        return TypedResults.Accepted($"/api/v1/jobs/{job.Id}", JobResponse.From(job));
    }
}
