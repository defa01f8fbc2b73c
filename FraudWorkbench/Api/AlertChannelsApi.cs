namespace FraudWorkbench.Api;

/// <summary>Notification channels, test sends and dead letters (STUB: implemented by the delivery work).</summary>
public static class AlertChannelsApi
{
    public static IEndpointRouteBuilder MapAlertChannelsApi(this IEndpointRouteBuilder app) => app;
}
