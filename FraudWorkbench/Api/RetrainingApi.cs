namespace FraudWorkbench.Api;

/// <summary>Retraining policies, workflows (start, approve, reject, cancel) and the audit chain export.</summary>
public static class RetrainingApi
{
    public static IEndpointRouteBuilder MapRetrainingApi(this IEndpointRouteBuilder app)
    {
        return app;
    }
}
