using System.Security.Claims;
using System.Text;
using System.Text.Json;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Registry;
using FraudWorkbench.Core.Retraining;
using FraudWorkbench.Security;
using Microsoft.AspNetCore.Http.HttpResults;

namespace FraudWorkbench.Api;

/// <param name="Detail">Why, in words, kept as the workflow's trigger detail ("Retrain now" when left out).</param>
public sealed record StartRetrainingRequest(string? Detail = null);

public sealed record RetrainingDecisionRequest(string? Comment);

/// <summary>A workflow as the API shows it: the row with its policy snapshot parsed.</summary>
public sealed record RetrainingWorkflowResponse(
    Guid Id, string Model, string Status, string Step, string TriggerKind, Guid? TriggerAlertId, string TriggerDetail, RetrainingPolicy Policy,
    Guid? ChampionVersionId, Guid? DatasetId, int? DatasetVersion, Guid? FeatureSetVersionId, Guid? RunId, Guid? CandidateVersionId,
    DateTime? ShadowStartedAt, DateTime? ShadowEndsAt, DateTime? PromotedAt, DateTime? WatchUntil,
    string? Decision, string? DecidedBy, DateTime? DecidedAt, string? DecisionComment, DateTime? RolledBackAt, string? RollbackReason,
    string? Error, string CreatedBy, DateTime CreatedAt, DateTime UpdatedAt, DateTime? FinishedAt)
{
    public static RetrainingWorkflowResponse From(RetrainingWorkflow w) => new(
        w.Id, w.ModelName, w.Status, w.Step, w.TriggerKind, w.TriggerAlertId, w.TriggerDetail, w.Policy,
        w.ChampionVersionId, w.DatasetId, w.DatasetVersion, w.FeatureSetVersionId, w.RunId, w.CandidateVersionId,
        w.ShadowStartedAt, w.ShadowEndsAt, w.PromotedAt, w.WatchUntil,
        w.Decision, w.DecidedBy, w.DecidedAt, w.DecisionComment, w.RolledBackAt, w.RollbackReason,
        w.Error, w.CreatedBy, w.CreatedAt, w.UpdatedAt, w.FinishedAt);
}

/// <summary>A step with its result record as JSON (its shape depends on the step).</summary>
public sealed record RetrainingStepResponse(
    string Step, string Title, int Ordinal, string Status, Guid? JobId, DateTime? StartedAt, DateTime? FinishedAt, JsonElement? Result, string? Error)
{
    public static RetrainingStepResponse From(RetrainingStepRow s) => new(
        s.Step, RetrainingStep.Title(s.Step), s.Ordinal, s.Status, s.JobId, s.StartedAt, s.FinishedAt,
        s.ResultJson is null ? null : JsonDocument.Parse(s.ResultJson).RootElement.Clone(), s.Error);
}

public sealed record RetrainingWorkflowDetailResponse(RetrainingWorkflowResponse Workflow, IReadOnlyList<RetrainingStepResponse> Steps)
{
    public static RetrainingWorkflowDetailResponse From(RetrainingWorkflowDetail d) => new(RetrainingWorkflowResponse.From(d.Workflow), [.. d.Steps.Select(RetrainingStepResponse.From)]);
}

/// <summary>Retraining policies, workflows (start, approve, reject, cancel) and the audit chain export.</summary>
public static class RetrainingApi
{
    public static IEndpointRouteBuilder MapRetrainingApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/models").WithTags("Retraining");
        api.MapGet("/{name}/retraining/policy", GetPolicy).WithName("GetRetrainingPolicy")
            .WithSummary("The model's retraining policy (the defaults, with updatedBy null, until one is saved).")
            .ProducesProblem(StatusCodes.Status404NotFound);
        api.MapPut("/{name}/retraining/policy", SavePolicy).WithName("SaveRetrainingPolicy").RequireAuthorization(Policies.Write)
            .WithSummary("Replaces the model's retraining policy: triggers, guards, training data, recipe, promotion mode, approver, shadow and watch; audited.")
            .WithDescription("""
                Fields (all optional, defaults in brackets): `enabled` [false] lets the automatic triggers act: `triggerRuleIds` (alert rules whose
                firing on this model starts a workflow) and `scheduleDays` (every so many days; null for none). Guards for automatic triggers:
                `cooldownDays` [7], `maxPerWeek` [1], `minMatureDays` [7] of labelled traffic past the label window. Data: `trainingWindowDays` [28] of
                prediction-log traffic, the latest `holdoutDays` [7] of it kept out as the common holdout, `dataMode` append (to the production
                version's dataset version) or replace [append]; `recipeRunId` (the run whose trainer settings to reuse; null: the production version's).
                Gate: `minImprovement` [0] of PR-AUC on the common holdout. `promotionMode` manual or automatic [manual]; `approver` admin or reviewer
                [admin]. `shadowHours` [24] (0: no shadow) and `shadowTransactions` [10000] (null: time only); `watchHours` [72]. A 400 names each bad field.
                "Retrain now" works whether or not the policy is enabled.
                """)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);
        api.MapGet("/{name}/retraining/workflows", ListWorkflows).WithName("ListRetrainingWorkflows")
            .WithSummary("The model's retraining workflows, newest first (`take` 1–500, default 50).")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);
        api.MapPost("/{name}/retraining/workflows", Start).WithName("StartRetraining").RequireAuthorization(Policies.Write)
            .WithSummary("\"Retrain now\": starts a workflow (dataset → features → train → register → gate → shadow → approval → promote → watch); 201 with it.")
            .WithDescription("Refused with 409 naming the guard when a workflow is already running for the model or the model has no production version. The cooldown and weekly cap apply to automatic triggers only.")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        api.MapGet("/{name}/retraining/workflows/{id}", GetWorkflow).WithName("GetRetrainingWorkflow")
            .WithSummary("One workflow with its nine steps: each step's status, job, times, error and result (dataset version, feature set version, run, candidate, gate, shadow comparison).")
            .ProducesProblem(StatusCodes.Status404NotFound);
        api.MapPost("/{name}/retraining/workflows/{id}/approve", Approve).WithName("ApproveRetraining").RequireAuthorization(Policies.SignOff)
            .WithSummary("Approves the challenger awaiting approval and promotes it. A signed-in Admin, or a Reviewer when the policy's approver is reviewer; comment required; audited.")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
        api.MapPost("/{name}/retraining/workflows/{id}/reject", Reject).WithName("RejectRetraining").RequireAuthorization(Policies.SignOff)
            .WithSummary("Rejects the challenger awaiting approval: the workflow ends rejected and production is untouched. Same approvers as approve; comment required; audited.")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
        api.MapPost("/{name}/retraining/workflows/{id}/cancel", Cancel).WithName("CancelRetraining").RequireAuthorization(Policies.Write)
            .WithSummary("Stops a workflow that has not promoted (its running job is asked to cancel); production untouched; audited.")
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        api.MapGet("/{name}/versions/{version}/audit-chain", AuditChain).WithName("GetAuditChain")
            .WithSummary("The version's audit chain for auditors: dataset version checksums → feature set version hash → run → artifact checksums → gate → fairness → approvals → promotion.")
            .WithDescription("""
                Answers the document itself as an `application/json` download, its lower-case hex SHA-256 in `X-Content-SHA256` (and as
                `Repr-Digest: sha-256=:base64:`). With `format=envelope` it answers `{modelName, version, json, sha256}` instead, the document
                as a string whose UTF-8 bytes hash to `sha256`.
                """)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }

    public static async Task<Results<Ok<StoredRetrainingPolicy>, ProblemHttpResult>> GetPolicy(string name, RetrainingStore store, CancellationToken cancellationToken) =>
        await store.GetPolicyAsync(name, cancellationToken) is { } policy ? TypedResults.Ok(policy) : RegistryApi.ModelNotFound(name);

    public static async Task<Results<Ok<StoredRetrainingPolicy>, ProblemHttpResult>> SavePolicy(
        string name, RetrainingPolicy? request, RetrainingService service, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        if (request is null) return JobsApi.Problem(400, "The policy is missing.", "Send the policy as JSON: {\"enabled\": true, \"triggerRuleIds\": [...], ...}.", "enabled");
        try
        {
            return TypedResults.Ok(await service.SavePolicyAsync(name, request, WorkbenchClaims.Actor(user), cancellationToken));
        }
        catch (RetrainingException ex)
        {
            return Problem(ex, "name");
        }
    }

    public static async Task<Results<Ok<IReadOnlyList<RetrainingWorkflowResponse>>, ProblemHttpResult>> ListWorkflows(
        string name, RegistryStore registry, RetrainingStore store, CancellationToken cancellationToken, int? take = null)
    {
        if (take is < 1 or > 500) return JobsApi.Problem(400, "Invalid take", "take must be between 1 and 500.", "take");
        if (await registry.GetModelAsync(name, cancellationToken) is not { } model) return RegistryApi.ModelNotFound(name);
        var workflows = await store.ListAsync(model.Name, take ?? 50, cancellationToken);
        return TypedResults.Ok<IReadOnlyList<RetrainingWorkflowResponse>>([.. workflows.Select(RetrainingWorkflowResponse.From)]);
    }

    public static async Task<Results<Ok<RetrainingWorkflowDetailResponse>, ProblemHttpResult>> GetWorkflow(
        string name, Guid id, RetrainingStore store, CancellationToken cancellationToken) =>
        await store.GetDetailAsync(id, cancellationToken) is { } detail && SameModel(detail.Workflow, name)
            ? TypedResults.Ok(RetrainingWorkflowDetailResponse.From(detail))
            : WorkflowNotFound(name, id);

    public static async Task<Results<Created<RetrainingWorkflowDetailResponse>, ProblemHttpResult>> Start(
        string name, StartRetrainingRequest? request, RetrainingService service, RetrainingStore store, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        var detail = string.IsNullOrWhiteSpace(request?.Detail) ? "Retrain now" : request.Detail.Trim();
        if (detail.Length > 500) return JobsApi.Problem(400, "Invalid request", "detail has at most 500 characters.", "detail");
        try
        {
            var workflow = await service.StartAsync(name, RetrainingTrigger.Manual, null, detail, WorkbenchClaims.Actor(user), cancellationToken);
            var created = await store.GetDetailAsync(workflow.Id, cancellationToken) ?? new RetrainingWorkflowDetail(workflow, []);
            return TypedResults.Created($"/api/v1/models/{Uri.EscapeDataString(workflow.ModelName)}/retraining/workflows/{workflow.Id}", RetrainingWorkflowDetailResponse.From(created));
        }
        catch (RetrainingException ex)
        {
            return Problem(ex, "name");
        }
    }

    public static Task<Results<Ok<RetrainingWorkflowDetailResponse>, ProblemHttpResult>> Approve(
        string name, Guid id, RetrainingDecisionRequest? request, RetrainingService service, RetrainingStore store, ClaimsPrincipal user, CancellationToken cancellationToken) =>
        ActAsync(name, id, store, cancellationToken, () => service.ApproveAsync(id, request?.Comment, WorkbenchClaims.Actor(user), ApproverRoleOf(user), cancellationToken));

    public static Task<Results<Ok<RetrainingWorkflowDetailResponse>, ProblemHttpResult>> Reject(
        string name, Guid id, RetrainingDecisionRequest? request, RetrainingService service, RetrainingStore store, ClaimsPrincipal user, CancellationToken cancellationToken) =>
        ActAsync(name, id, store, cancellationToken, () => service.RejectAsync(id, request?.Comment, WorkbenchClaims.Actor(user), ApproverRoleOf(user), cancellationToken));

    public static Task<Results<Ok<RetrainingWorkflowDetailResponse>, ProblemHttpResult>> Cancel(
        string name, Guid id, RetrainingService service, RetrainingStore store, ClaimsPrincipal user, CancellationToken cancellationToken) =>
        ActAsync(name, id, store, cancellationToken, () => service.CancelAsync(id, WorkbenchClaims.Actor(user), cancellationToken));

    public static async Task<Results<FileContentHttpResult, Ok<AuditChainDocument>, ProblemHttpResult>> AuditChain(
        string name, int version, AuditChainBuilder builder, HttpContext context, CancellationToken cancellationToken, string? format = null)
    {
        if (format is not (null or "json" or "envelope")) return JobsApi.Problem(400, "Invalid format", "format is json (the document, the default) or envelope.", "format");
        if (await builder.BuildAsync(name, version, cancellationToken) is not { } document) return RegistryApi.VersionNotFound(name, version);
        if (format == "envelope") return TypedResults.Ok(document);
        var bytes = Encoding.UTF8.GetBytes(document.Json);
        context.Response.Headers["X-Content-SHA256"] = document.Sha256;
        context.Response.Headers["Repr-Digest"] = $"sha-256=:{Convert.ToBase64String(Convert.FromHexString(document.Sha256))}:";
        return TypedResults.File(bytes, "application/json", FileName(document));
    }

    /// <summary>The download's name: the model name may hold characters a file name should not.</summary>
    public static string FileName(AuditChainDocument document) =>
        $"audit-chain-{new string([.. document.ModelName.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '-')])}-v{document.Version}.json";

    /// <summary>The caller's <see cref="ApproverRole"/>: admin for an Admin, reviewer for a Reviewer, else none (the service refuses with 403).</summary>
    public static string? ApproverRoleOf(ClaimsPrincipal user) =>
        user.IsInRole(Roles.Admin) ? ApproverRole.Admin : user.IsInRole(Roles.Reviewer) ? ApproverRole.Reviewer : null;

    private static async Task<Results<Ok<RetrainingWorkflowDetailResponse>, ProblemHttpResult>> ActAsync(
        string name, Guid id, RetrainingStore store, CancellationToken cancellationToken, Func<Task<RetrainingWorkflow>> act)
    {
        // The path names the model too: a workflow of another model is not found here, whatever its id.
        if (await store.GetAsync(id, cancellationToken) is not { } workflow || !SameModel(workflow, name)) return WorkflowNotFound(name, id);
        try
        {
            var done = await act();
            var detail = await store.GetDetailAsync(done.Id, cancellationToken) ?? new RetrainingWorkflowDetail(done, []);
            return TypedResults.Ok(RetrainingWorkflowDetailResponse.From(detail));
        }
        catch (RetrainingException ex)
        {
            return Problem(ex, "id");
        }
    }

    private static bool SameModel(RetrainingWorkflow workflow, string name) => string.Equals(workflow.ModelName, name, StringComparison.OrdinalIgnoreCase);

    /// <summary>A <see cref="RetrainingException"/> as ProblemDetails: a 400 lists every bad field; the others name theirs, else <paramref name="field"/>.</summary>
    internal static ProblemHttpResult Problem(RetrainingException ex, string field) => ex.Status == 400 && ex.Issues.Count > 0
        ? JobsApi.Invalid("Invalid request", ex.Issues)
        : JobsApi.Problem(ex.Status is 400 or 403 or 404 or 409 ? ex.Status : 409,
            ex.Status switch { 404 => "Not found", 403 => "Not allowed", 400 => "Invalid request", _ => "Not possible now" }, ex.Message, ex.Field ?? field);

    private static ProblemHttpResult WorkflowNotFound(string name, Guid id) =>
        JobsApi.Problem(404, "Workflow not found", $"Model '{name}' has no retraining workflow {id}.", "id");
}
