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
        if (background)
        {
            services.AddSingleton<AlertEvaluationService>();
            services.AddHostedService(sp => sp.GetRequiredService<AlertEvaluationService>());
            services.AddSingleton<DefaultAlertRulesService>();
            services.AddHostedService(sp => sp.GetRequiredService<DefaultAlertRulesService>());
        }

        return services;
    }
}
