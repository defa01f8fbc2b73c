using Microsoft.Extensions.DependencyInjection;

namespace FraudWorkbench.Core.Alerts;

public static class AlertsServiceCollectionExtensions
{
    /// <summary>
    /// Alerts: rules on any monitored metric and their backtest, the evaluation loop and the alert lifecycle (ack, silences),
    /// notification channels and the durable delivery of webhooks and e-mail.
    /// </summary>
    public static IServiceCollection AddAlerts(this IServiceCollection services, bool background = true)
    {
        services.AddOptions<AlertsOptions>().BindConfiguration(AlertsOptions.Section)
            .Validate(o => o.IsValid(), "FraudWorkbench:Alerts needs EvaluationTick 100 ms–10 min, non-negative group timings, MaxAttempts 1–50, MaxBackoff >= InitialBackoff > 0, RequestTimeout up to 2 min, an SMTP port 1–65535 and an absolute PublicUrl.")
            .ValidateOnStart();
        services.AddAlertMetrics();
        services.AddAlertLifecycle(background);
        services.AddAlertDelivery(background);
        return services;
    }

    /// <summary>The metric readers and the backtest (metrics work).</summary>
    internal static IServiceCollection AddAlertMetrics(this IServiceCollection services)
    {
        services.AddSingleton<AlertMetricReader>();
        services.AddSingleton<IAlertMetricSource>(sp => sp.GetRequiredService<AlertMetricReader>());
        services.AddSingleton<AlertBacktest>();
        // Always, like the prediction log: any host that answers scoring requests must write their counts.
        services.AddSingleton<Scoring.ScoringRequestStats>();
        services.AddHostedService(sp => sp.GetRequiredService<Scoring.ScoringRequestStats>());
        return services;
    }
}
