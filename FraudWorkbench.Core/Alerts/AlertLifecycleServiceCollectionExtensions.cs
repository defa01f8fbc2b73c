using Microsoft.Extensions.DependencyInjection;

namespace FraudWorkbench.Core.Alerts;

public static class AlertLifecycleServiceCollectionExtensions
{
    /// <summary>Rules, alerts, silences and the evaluation loop (lifecycle work).</summary>
    internal static IServiceCollection AddAlertLifecycle(this IServiceCollection services, bool background)
    {
        services.AddSingleton<AlertRuleStore>();
        services.AddSingleton<AlertStore>();
        services.AddSingleton<AlertEvaluator>();
        return services;
    }
}
