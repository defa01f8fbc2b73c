using System.Security.Claims;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Fairness;
using FraudWorkbench.Core.Registry;
using FraudWorkbench.Security;
using Microsoft.AspNetCore.Http.HttpResults;

namespace FraudWorkbench.Api;

/// <summary>A registered model's fairness gate, the part of its validation gate that judges disparities between protected groups.</summary>
public static class FairnessGateApi
{
    public static IEndpointRouteBuilder MapFairnessGateApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/models").WithTags("Fairness");
        api.MapGet("/{name}/fairness/gate", Get).WithName("GetFairnessGate")
            .WithSummary("The model's fairness limits and non-regression setting (empty limits when none are set).")
            .ProducesProblem(StatusCodes.Status404NotFound);
        api.MapPut("/{name}/fairness/gate", Put).WithName("UpdateFairnessGate").RequireAuthorization(Policies.Write)
            .WithSummary("Sets the fairness limits the validation gate judges; versions validated from now on use them.")
            .WithDescription("""
                `limits[]`: `disparity` (demographicParity, equalizedOdds, equalOpportunity), `kind` (ratio: at least `threshold`; difference: at most),
                `method` (between_groups, default, or to_overall), `aggregation` (equalizedOdds only: worst_case, default, or mean), `grouping` (a protected
                column or crossed columns joined by " × "; omit for every protected column on its own). A limit fails only when the whole bootstrap interval
                is beyond it; a disparity that cannot be computed (fewer than two groups large enough) makes the gate `inconclusive`, which blocks promotion
                until an Admin overrides it. `nonRegression` with `maxRegression`: the candidate's disparities (those of the limits, or DP ratio and EO
                difference when there are none) may be at most that much worse than the production version's on the same rows. Audited.
                """)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }

    public static async Task<Results<Ok<FairnessGateSettings>, ProblemHttpResult>> Get(string name, RegistryStore registry, FairnessGateStore gates, CancellationToken cancellationToken)
    {
        if (await registry.GetModelAsync(name, cancellationToken) is not { } model) return RegistryApi.ModelNotFound(name);
        return TypedResults.Ok(await gates.GetAsync(model.Id, cancellationToken));
    }

    public static async Task<Results<Ok<FairnessGateSettings>, ProblemHttpResult>> Put(
        string name, FairnessGateSettings? request, RegistryStore registry, FairnessGateStore gates, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        if (await registry.GetModelAsync(name, cancellationToken) is not { } model) return RegistryApi.ModelNotFound(name);
        if (request is null) return JobsApi.Problem(400, "The fairness gate is missing.", "Send the fairness gate as JSON: {\"limits\": [...], \"nonRegression\": false}.", "limits");
        try
        {
            await gates.SaveAsync(model, request, WorkbenchClaims.Actor(user), cancellationToken);
        }
        catch (RegistryException ex)
        {
            return RegistryApi.Problem(ex);
        }

        return TypedResults.Ok(await gates.GetAsync(model.Id, cancellationToken));
    }
}
