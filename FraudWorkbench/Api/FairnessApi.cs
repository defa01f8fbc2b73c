using System.Security.Claims;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Fairness;
using FraudWorkbench.Core.Jobs;
using FraudWorkbench.Core.Registry;
using FraudWorkbench.Security;
using Microsoft.AspNetCore.Http.HttpResults;

namespace FraudWorkbench.Api;

/// <summary>A fairness report and the job that is (re)computing it.</summary>
public sealed record FairnessResponse(Guid JobId, string Status, FairnessReport? Report);

/// <summary>
/// How a model version treats the groups of its protected columns on its validation holdout, as Fairlearn measures it,
/// with bootstrap intervals: computed by a job (202), then read.
/// </summary>
public static class FairnessApi
{
    public static IEndpointRouteBuilder MapFairnessApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/models").WithTags("Fairness");
        api.MapPost("/{name}/versions/{version}/fairness", Compute).WithName("ComputeFairness").RequireAuthorization(Policies.Write)
            .WithSummary("Queues the version's fairness report on its validation holdout (202); the previous report stays readable meanwhile.")
            .ProducesProblem(StatusCodes.Status404NotFound);
        api.MapGet("/{name}/versions/{version}/fairness", Get).WithName("GetFairness")
            .WithSummary("The version's fairness on its holdout: every protected column and their crossings, each group's metrics and the disparities, with intervals.")
            .WithDescription("""
                `report.groupings[]`: one per protected column, then every two and three of them crossed (`name` "customer_gender × customer_age").
                Each has `overall` and `groups[]` (`group`, `count`, `share`, `fraud`, `tooSmall` when below the minimum size and so left out of
                disparities) with `metrics` under Fairlearn's names: `selectionRate`, `truePositiveRate`, `falsePositiveRate`, `falseNegativeRate`,
                `precision`, `fraudRate`, `rocAuc`, `averagePrecision`, `meanScore` — each `{value, lower, upper}`, the bounds a percentile bootstrap
                interval with every group resampled within itself (null value where undefined, e.g. no fraud in the group). `disparities[]`:
                `demographicParity`, `equalOpportunity` and `equalizedOdds` (with `aggregation` worst_case or mean), each as `difference` and
                `ratio`, by `between_groups` and `to_overall`, with the `highest` and `lowest` group. `fourFifths` is true when the demographic
                parity ratio is under 0.8 (a rule of thumb, often misapplied: read it with the intervals). 404 before the first computation.
                """)
            .ProducesProblem(StatusCodes.Status404NotFound);
        api.MapGet("/{name}/versions/{version}/fairness/report.html", ExportHtml).WithName("ExportFairnessReport")
            .WithSummary("The latest fairness report as one standalone HTML file (charts inline, nothing fetched), for team leads.")
            .WithDescription("The file's SHA-256 is in the `Repr-Digest` header (`sha-256=:base64:`) and is recorded in the audit log (`fairness.export`), so a copy handed around can be checked. 404 until a report has been computed.")
            .Produces(StatusCodes.Status200OK, contentType: "text/html")
            .ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }

    public static async Task<Results<Accepted<FairnessResponse>, ProblemHttpResult>> Compute(
        string name, int version, RegistryStore registry, FairnessStore fairness, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        if (await registry.GetVersionAsync(name, version, cancellationToken) is not { } found) return RegistryApi.VersionNotFound(name, version);
        var previous = await fairness.GetAsync(found.Id, cancellationToken);
        var job = await fairness.StartAsync(found, WorkbenchClaims.Actor(user), cancellationToken);
        return TypedResults.Accepted($"/api/v1/models/{Uri.EscapeDataString(found.ModelName)}/versions/{version}/fairness", new FairnessResponse(job.Id, job.Status, previous?.Report));
    }

    public static async Task<Results<FileContentHttpResult, ProblemHttpResult>> ExportHtml(
        string name, int version, HttpContext context, RegistryStore registry, FairnessStore fairness, TimeProvider time, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        if (await registry.GetVersionAsync(name, version, cancellationToken) is not { } found) return RegistryApi.VersionNotFound(name, version);
        if (await fairness.GetAsync(found.Id, cancellationToken) is not { Report: { } report })
            return JobsApi.Problem(404, "Not computed", $"No fairness report of {found.ModelName} version {version} yet; POST …/fairness to compute it.", "version");
        var actor = WorkbenchClaims.Actor(user);
        var bytes = System.Text.Encoding.UTF8.GetBytes(Reports.FairnessReportHtml.Render(report, time.GetUtcNow().UtcDateTime, actor));
        var hash = System.Security.Cryptography.SHA256.HashData(bytes);
        await fairness.RecordExportAsync(report, "html", Convert.ToHexStringLower(hash), actor, cancellationToken);
        context.Response.Headers["Repr-Digest"] = $"sha-256=:{Convert.ToBase64String(hash)}:";
        return TypedResults.File(bytes, "text/html; charset=utf-8", $"fairness-{found.ModelName}-v{version}.html");
    }

    public static async Task<Results<Ok<FairnessResponse>, ProblemHttpResult>> Get(
        string name, int version, RegistryStore registry, FairnessStore fairness, JobStore jobs, CancellationToken cancellationToken)
    {
        if (await registry.GetVersionAsync(name, version, cancellationToken) is not { } found) return RegistryApi.VersionNotFound(name, version);
        if (await fairness.GetAsync(found.Id, cancellationToken) is not { } stored)
            return JobsApi.Problem(404, "Not computed", $"No fairness report of {found.ModelName} version {version} yet; POST to compute it.", "version");
        var job = await jobs.GetAsync(stored.JobId, cancellationToken);
        return TypedResults.Ok(new FairnessResponse(stored.JobId, job?.Status ?? "unknown", stored.Report));
    }
}
