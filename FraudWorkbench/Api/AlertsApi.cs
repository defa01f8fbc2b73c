namespace FraudWorkbench.Api;

/// <summary>Alert rules, their backtest, alerts (ack) and silences (STUB: implemented by the lifecycle work).</summary>
public static class AlertsApi
{
    public static IEndpointRouteBuilder MapAlertsApi(this IEndpointRouteBuilder app) => app;
}
