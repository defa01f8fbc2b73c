using System.Security.Claims;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Registry;
using FraudWorkbench.Core.Training;
using FraudWorkbench.Security;
using Microsoft.AspNetCore.Http.HttpResults;

namespace FraudWorkbench.Api;

/// <summary>Where a version came from: its run, the dataset version (with its checksum) and the feature set version.</summary>
public sealed record Lineage(Guid RunId, string Trainer, Guid DatasetId, int DatasetVersion, string? DatasetChecksum, Guid FeatureSetVersionId);

public sealed record ModelVersionResponse(
    Guid Id, string Model, int Version, string Stage, string[] Tags, string Notes, string GateStatus, GateResult? Gate, string? OverrideReason,
    ClassificationReport? Metrics, double? Threshold, Lineage? Lineage, string CreatedBy, DateTime CreatedAt);

public sealed record ModelResponse(Guid Id, string Name, string Description, GateSettings Gate, IReadOnlyList<ModelVersionResponse> Versions, IReadOnlyList<StageChange> History);

public sealed record RegisterVersionRequest(Guid RunId, IReadOnlyList<string>? Tags = null, string? Notes = null);

public sealed record PromoteRequest(string? Stage = ModelStage.Production, string? Reason = null);

public sealed record ReasonRequest(string? Reason = null);

public sealed record UpdateModelRequest(string? Description, GateSettings? Gate);

public sealed record UpdateVersionRequest(IReadOnlyList<string>? Tags, string? Notes);

public static class RegistryApi
{
    public static IEndpointRouteBuilder MapRegistryApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/models").WithTags("Registry");
        api.MapGet("/", ListModels).WithName("ListModels").WithSummary("Registered models with their latest and production version numbers.");
        api.MapGet("/{name}", GetModel).WithName("GetModel").WithSummary("A registered model: its gate, every version with metrics, gate result and lineage, and the stage history.");
        api.MapPut("/{name}", UpdateModel).WithName("UpdateModel").RequireAuthorization(Policies.Write)
            .WithSummary("Sets the description and the validation gate (baselines, compared metrics, absolute and relative margins).");
        api.MapPost("/{name}/versions", RegisterVersion).WithName("RegisterModelVersion").RequireAuthorization(Policies.Write)
            .WithSummary("Registers a succeeded training run as the next candidate version (creating the model) and queues its validation gate.");
        api.MapGet("/{name}/versions/{version}", GetVersion).WithName("GetModelVersion");
        api.MapPatch("/{name}/versions/{version}", UpdateVersion).WithName("UpdateModelVersion").RequireAuthorization(Policies.Write)
            .WithSummary("Replaces a version's tags and notes.");
        api.MapPost("/{name}/versions/{version}/promote", Promote).WithName("PromoteModelVersion").RequireAuthorization(Policies.Write)
            .WithSummary("Moves a version to a stage (default production). Production needs a passed or overridden gate and verified artifacts; serving switches at once.");
        api.MapPost("/{name}/versions/{version}/gate", RunGate).WithName("RunModelGate").RequireAuthorization(Policies.Write)
            .WithSummary("Evaluates the version's validation gate again (202), e.g. after the production version changed.");
        api.MapPost("/{name}/versions/{version}/gate/override", OverrideGate).WithName("OverrideModelGate").RequireAuthorization(Policies.Admin)
            .WithSummary("Admin only: lets a version with a failed gate be promoted; the written reason is audited.");
        api.MapPost("/{name}/versions/{version}/explanations", ComputeGlobalExplanation).WithName("ComputeGlobalExplanation").RequireAuthorization(Policies.Write)
            .WithSummary("Queues the global explanation of a version (202): mean |contribution| per column, beeswarm and dependence points, permutation importance.");
        api.MapGet("/{name}/versions/{version}/explanations", GetGlobalExplanation).WithName("GetGlobalExplanation")
            .WithSummary("The version's global explanation, once computed (404 before; the job id while it runs).");
        api.MapPost("/{name}/rollback", Rollback).WithName("RollbackModel").RequireAuthorization(Policies.Write)
            .WithSummary("Returns production to the version that held it before the current one.");
        return app;
    }

    public static async Task<Ok<IReadOnlyList<RegisteredModelSummary>>> ListModels(RegistryStore registry, CancellationToken cancellationToken) =>
        TypedResults.Ok(await registry.ListModelsAsync(cancellationToken));

    public static async Task<Results<Ok<ModelResponse>, ProblemHttpResult>> GetModel(
        string name, RegistryStore registry, TrainingRunStore runs, DatasetStore datasets, CancellationToken cancellationToken)
    {
        if (await registry.GetModelAsync(name, cancellationToken) is not { } model) return ModelNotFound(name);
        var versions = new List<ModelVersionResponse>();
        foreach (var version in await registry.ListVersionsAsync(model.Id, cancellationToken)) versions.Add(await ResponseAsync(version, runs, datasets, cancellationToken));
        return TypedResults.Ok(new ModelResponse(model.Id, model.Name, model.Description, model.Gate, versions, await registry.HistoryAsync(model.Id, cancellationToken)));
    }

    public static async Task<Results<Ok<ModelResponse>, ProblemHttpResult>> UpdateModel(
        string name, UpdateModelRequest request, RegistryStore registry, RegistryService service, TrainingRunStore runs, DatasetStore datasets, ClaimsPrincipal user,
        CancellationToken cancellationToken)
    {
        if (await registry.GetModelAsync(name, cancellationToken) is not { } model) return ModelNotFound(name);
        try
        {
            await service.UpdateModelAsync(model, request.Description, request.Gate ?? model.Gate, WorkbenchClaims.Actor(user), cancellationToken);
        }
        catch (RegistryException ex)
        {
            return Problem(ex);
        }

        return await GetModel(name, registry, runs, datasets, cancellationToken);
    }

    public static async Task<Results<Created<ModelVersionResponse>, ProblemHttpResult>> RegisterVersion(
        string name, RegisterVersionRequest request, RegistryService service, TrainingRunStore runs, DatasetStore datasets, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        try
        {
            var version = await service.RegisterAsync(name, request.RunId, request.Tags, request.Notes, WorkbenchClaims.Actor(user), cancellationToken);
            return TypedResults.Created($"/api/v1/models/{version.ModelName}/versions/{version.Version}", await ResponseAsync(version, runs, datasets, cancellationToken));
        }
        catch (RegistryException ex)
        {
            return Problem(ex);
        }
    }

    public static async Task<Results<Ok<ModelVersionResponse>, ProblemHttpResult>> GetVersion(
        string name, int version, RegistryStore registry, TrainingRunStore runs, DatasetStore datasets, CancellationToken cancellationToken) =>
        await registry.GetVersionAsync(name, version, cancellationToken) is { } found
            ? TypedResults.Ok(await ResponseAsync(found, runs, datasets, cancellationToken))
            : VersionNotFound(name, version);

    public static async Task<Results<Ok<ModelVersionResponse>, ProblemHttpResult>> UpdateVersion(
        string name, int version, UpdateVersionRequest request, RegistryStore registry, RegistryService service, TrainingRunStore runs, DatasetStore datasets,
        ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        if (await registry.GetVersionAsync(name, version, cancellationToken) is not { } found) return VersionNotFound(name, version);
        try
        {
            await service.UpdateVersionAsync(found, request.Tags, request.Notes, WorkbenchClaims.Actor(user), cancellationToken);
        }
        catch (RegistryException ex)
        {
            return Problem(ex);
        }

        return TypedResults.Ok(await ResponseAsync((await registry.GetVersionAsync(found.Id, cancellationToken))!, runs, datasets, cancellationToken));
    }

    public static async Task<Results<Ok<ModelVersionResponse>, ProblemHttpResult>> Promote(
        string name, int version, PromoteRequest? request, RegistryStore registry, RegistryService service, TrainingRunStore runs, DatasetStore datasets,
        ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        if (await registry.GetVersionAsync(name, version, cancellationToken) is not { } found) return VersionNotFound(name, version);
        try
        {
            var promoted = await service.PromoteAsync(found, request?.Stage ?? ModelStage.Production, request?.Reason, WorkbenchClaims.Actor(user), cancellationToken);
            return TypedResults.Ok(await ResponseAsync(promoted, runs, datasets, cancellationToken));
        }
        catch (RegistryException ex)
        {
            return Problem(ex);
        }
    }

    public static async Task<Results<Accepted<ModelVersionResponse>, ProblemHttpResult>> RunGate(
        string name, int version, RegistryStore registry, RegistryService service, TrainingRunStore runs, DatasetStore datasets, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        if (await registry.GetVersionAsync(name, version, cancellationToken) is not { } found) return VersionNotFound(name, version);
        var pending = await service.RevalidateAsync(found, WorkbenchClaims.Actor(user), cancellationToken);
        return TypedResults.Accepted($"/api/v1/models/{found.ModelName}/versions/{version}", await ResponseAsync(pending, runs, datasets, cancellationToken));
    }

    public static async Task<Results<Ok<ModelVersionResponse>, ProblemHttpResult>> OverrideGate(
        string name, int version, ReasonRequest request, RegistryStore registry, RegistryService service, TrainingRunStore runs, DatasetStore datasets,
        ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        if (await registry.GetVersionAsync(name, version, cancellationToken) is not { } found) return VersionNotFound(name, version);
        try
        {
            await service.OverrideGateAsync(found, request.Reason ?? "", WorkbenchClaims.Actor(user), cancellationToken);
            return TypedResults.Ok(await ResponseAsync((await registry.GetVersionAsync(found.Id, cancellationToken))!, runs, datasets, cancellationToken));
        }
        catch (RegistryException ex)
        {
            return Problem(ex);
        }
    }

    public static async Task<Results<Ok<ModelVersionResponse>, ProblemHttpResult>> Rollback(
        string name, ReasonRequest? request, RegistryStore registry, RegistryService service, TrainingRunStore runs, DatasetStore datasets,
        ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        if (await registry.GetModelAsync(name, cancellationToken) is not { } model) return ModelNotFound(name);
        try
        {
            var restored = await service.RollbackAsync(model, request?.Reason, WorkbenchClaims.Actor(user), cancellationToken);
            return TypedResults.Ok(await ResponseAsync(restored, runs, datasets, cancellationToken));
        }
        catch (RegistryException ex)
        {
            return Problem(ex);
        }
    }

    public sealed record GlobalExplanationResponse(Guid JobId, string Status, FraudWorkbench.Core.Explain.GlobalExplanation? Result);

    public static async Task<Results<Accepted<GlobalExplanationResponse>, ProblemHttpResult>> ComputeGlobalExplanation(
        string name, int version, RegistryStore registry, FraudWorkbench.Core.Explain.GlobalExplanationStore explanations, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        if (await registry.GetVersionAsync(name, version, cancellationToken) is not { } found) return VersionNotFound(name, version);
        var job = await explanations.StartAsync(found, WorkbenchClaims.Actor(user), cancellationToken);
        var previous = await explanations.GetAsync(found.Id, cancellationToken);
        return TypedResults.Accepted($"/api/v1/models/{found.ModelName}/versions/{version}/explanations", new GlobalExplanationResponse(job.Id, job.Status, previous?.Result));
    }

    public static async Task<Results<Ok<GlobalExplanationResponse>, ProblemHttpResult>> GetGlobalExplanation(
        string name, int version, RegistryStore registry, FraudWorkbench.Core.Explain.GlobalExplanationStore explanations, FraudWorkbench.Core.Jobs.JobStore jobs, CancellationToken cancellationToken)
    {
        if (await registry.GetVersionAsync(name, version, cancellationToken) is not { } found) return VersionNotFound(name, version);
        if (await explanations.GetAsync(found.Id, cancellationToken) is not { } stored)
            return JobsApi.Problem(404, "Not computed", $"No global explanation of {found.ModelName} version {version} yet; POST to compute it.", "version");
        var job = await jobs.GetAsync(stored.JobId, cancellationToken);
        return TypedResults.Ok(new GlobalExplanationResponse(stored.JobId, job?.Status ?? "unknown", stored.Result));
    }

    public static async Task<ModelVersionResponse> ResponseAsync(ModelVersion v, TrainingRunStore runs, DatasetStore datasets, CancellationToken cancellationToken)
    {
        var run = await runs.GetAsync(v.RunId, cancellationToken);
        var dataset = run is null ? null : await datasets.GetVersionAsync(run.DatasetId, run.DatasetVersion, cancellationToken);
        var lineage = run is null ? null : new Lineage(run.Id, run.Config.Trainer?.Trainer ?? TrainerKind.LightGbm, run.DatasetId, run.DatasetVersion, dataset?.Checksum, run.FeatureSetVersionId);
        return new ModelVersionResponse(v.Id, v.ModelName, v.Version, v.Stage, v.Tags, v.Notes, v.GateStatus, v.GateResult, v.OverrideReason,
            run?.Result?.Metrics, run?.Result?.Threshold.Threshold, lineage, v.CreatedBy, v.CreatedAt);
    }

    internal static ProblemHttpResult Problem(RegistryException ex) => ex.Issues.Count > 1
        ? JobsApi.Invalid("Invalid request", ex.Issues)
        : JobsApi.Problem(ex.Status, ex.Status == 400 ? "Invalid request" : "Not possible now", ex.Message, ex.Field ?? "version");

    internal static ProblemHttpResult ModelNotFound(string name) => JobsApi.Problem(404, "Model not found", $"There is no registered model '{name}'.", "name");

    internal static ProblemHttpResult VersionNotFound(string name, int version) => JobsApi.Problem(404, "Version not found", $"Model '{name}' has no version {version}.", "version");
}
