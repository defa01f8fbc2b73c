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

/// <summary>A reviewer's decision on the version's current fairness report.</summary>
/// <param name="Decision"><c>approve</c> or <c>reject</c>.</param>
/// <param name="Comment">Why; required, up to 2,000 characters.</param>
/// <param name="ReportComputedAt">Optional: the <c>computedAt</c> of the report that was read; refused (409) when the report was recomputed since.</param>
public sealed record SignOffRequest(string? Decision, string? Comment, DateTime? ReportComputedAt = null);

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
        api.MapGet("/{name}/versions/{version}/fairness/report.pdf", ExportPdf).WithName("ExportFairnessReportPdf")
            .WithSummary("The latest fairness report as a PDF (same content as the HTML file: every group's numbers with intervals, disparities, charts, method notes, the latest sign-off).")
            .WithDescription("The file's SHA-256 is in the `Repr-Digest` header (`sha-256=:base64:`) and is recorded in the audit log (`fairness.export`, format pdf). 404 until a report has been computed.")
            .Produces(StatusCodes.Status200OK, contentType: "application/pdf")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        api.MapPost("/{name}/versions/{version}/fairness/signoffs", SignOff).WithName("SignOffFairness").RequireAuthorization(Policies.SignOff)
            .WithSummary("A Reviewer's (or Admin's) sign-off of the version's current fairness report: `decision` approve or reject, with a required `comment`; audited (`fairness.signoff`).")
            .WithDescription("""
                Only signed-in Reviewers and Admins may sign off (403 for Data Scientists and API keys: a sign-off is a named person's judgement,
                apart from the people who build the model). 400 naming `decision` or `comment`; 409 naming `version` when no report has been
                computed, or `reportComputedAt` when it is given and the report was recomputed since. Every sign-off is kept; the latest is shown.
                """)
            .Produces<FairnessSignOff>(StatusCodes.Status201Created)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
        api.MapGet("/{name}/versions/{version}/fairness/signoffs", ListSignOffs).WithName("ListFairnessSignOffs")
            .WithSummary("Every sign-off of the version's fairness report, latest first (`reportComputedAt` names the report each one read).")
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

    public static Task<Results<FileContentHttpResult, ProblemHttpResult>> ExportHtml(
        string name, int version, HttpContext context, RegistryStore registry, FairnessStore fairness, FairnessSignOffStore signOffs, TimeProvider time,
        ClaimsPrincipal user, CancellationToken cancellationToken) =>
        ExportAsync(name, version, "html", "text/html; charset=utf-8", context, registry, fairness, signOffs, time, user,
            (report, signOff, at, actor) => System.Text.Encoding.UTF8.GetBytes(Reports.FairnessReportHtml.Render(report, at, actor, signOff)), cancellationToken);

    public static async Task<Results<FileContentHttpResult, ProblemHttpResult>> ExportPdf(
        string name, int version, HttpContext context, RegistryStore registry, FairnessStore fairness, FairnessSignOffStore signOffs, TimeProvider time,
        ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        try
        {
            return await ExportAsync(name, version, "pdf", "application/pdf", context, registry, fairness, signOffs, time, user, Reports.FairnessReportPdf.Render, cancellationToken);
        }
        catch (Reports.PdfFontsMissingException ex)
        {
            // A machine set up without the fonts is an operator's fix, not a fault of the request.
            return JobsApi.Problem(503, "PDF fonts missing", ex.Message, "format");
        }
    }

    /// <summary>Renders the latest report with its latest sign-off, sends its SHA-256 in <c>Repr-Digest</c> and records it in the audit log.</summary>
    private static async Task<Results<FileContentHttpResult, ProblemHttpResult>> ExportAsync(
        string name, int version, string format, string contentType, HttpContext context, RegistryStore registry, FairnessStore fairness,
        FairnessSignOffStore signOffs, TimeProvider time, ClaimsPrincipal user, Func<FairnessReport, FairnessSignOff?, DateTime, string, byte[]> render,
        CancellationToken cancellationToken)
    {
        if (await registry.GetVersionAsync(name, version, cancellationToken) is not { } found) return RegistryApi.VersionNotFound(name, version);
        if (await fairness.GetAsync(found.Id, cancellationToken) is not { Report: { } report })
            return JobsApi.Problem(404, "Not computed", $"No fairness report of {found.ModelName} version {version} yet; POST …/fairness to compute it.", "version");
        var signOff = await signOffs.LatestAsync(found.Id, cancellationToken);
        return await SendAsync(report, signOff, format, contentType, $"fairness-{found.ModelName}-v{version}.{format}", context, fairness, time, user, render, cancellationToken);
    }

    /// <summary>Renders a report file, sends its SHA-256 in <c>Repr-Digest</c> and records it in the audit log.</summary>
    internal static async Task<FileContentHttpResult> SendAsync(
        FairnessReport report, FairnessSignOff? signOff, string format, string contentType, string fileName, HttpContext context, FairnessStore fairness,
        TimeProvider time, ClaimsPrincipal user, Func<FairnessReport, FairnessSignOff?, DateTime, string, byte[]> render, CancellationToken cancellationToken)
    {
        var actor = WorkbenchClaims.Actor(user);
        var bytes = render(report, signOff, time.GetUtcNow().UtcDateTime, actor);
        var hash = System.Security.Cryptography.SHA256.HashData(bytes);
        await fairness.RecordExportAsync(report, format, Convert.ToHexStringLower(hash), actor, cancellationToken);
        context.Response.Headers["Repr-Digest"] = $"sha-256=:{Convert.ToBase64String(hash)}:";
        return TypedResults.File(bytes, contentType, fileName);
    }

    public static async Task<Results<Created<FairnessSignOff>, ProblemHttpResult>> SignOff(
        string name, int version, SignOffRequest? request, RegistryStore registry, FairnessSignOffStore signOffs, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        if (await registry.GetVersionAsync(name, version, cancellationToken) is not { } found) return RegistryApi.VersionNotFound(name, version);
        try
        {
            var signOff = await signOffs.SignOffAsync(found.Id, request?.Decision, request?.Comment, WorkbenchClaims.Actor(user), request?.ReportComputedAt, cancellationToken);
            return TypedResults.Created($"/api/v1/models/{Uri.EscapeDataString(found.ModelName)}/versions/{version}/fairness/signoffs", signOff);
        }
        catch (FairnessSignOffException ex)
        {
            return JobsApi.Problem(ex.Status, ex.Status == 409 ? "Cannot sign off" : "Invalid sign-off", ex.Message, ex.Field);
        }
    }

    public static async Task<Results<Ok<IReadOnlyList<FairnessSignOff>>, ProblemHttpResult>> ListSignOffs(
        string name, int version, RegistryStore registry, FairnessSignOffStore signOffs, CancellationToken cancellationToken)
    {
        if (await registry.GetVersionAsync(name, version, cancellationToken) is not { } found) return RegistryApi.VersionNotFound(name, version);
        return TypedResults.Ok(await signOffs.ListAsync(found.Id, cancellationToken));
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
