using Microsoft.Extensions.DependencyInjection;

namespace FraudWorkbench.Core.Retraining;

public static class RetrainingServiceCollectionExtensions
{
    /// <summary>
    /// Retraining: per-model policies, workflows of durable steps from a trigger (alert, schedule, "Retrain now") through
    /// a new dataset version, feature fit, training, the gate with the common recent holdout, shadow scoring and approval
    /// to promotion and the watch period with automatic rollback; the audit chain export.
    /// </summary>
    public static IServiceCollection AddRetraining(this IServiceCollection services, bool background = true)
    {
        services.AddOptions<RetrainingOptions>().BindConfiguration(RetrainingOptions.Section)
            .Validate(o => o.IsValid(), RetrainingOptions.Requirements)
            .ValidateOnStart();
        services.AddSingleton<RetrainingStore>();
        services.AddSingleton<RetrainingService>();
        services.AddSingleton<RetrainingFailureRule>();
        services.AddRetrainingWorkflow(background);
        services.AddRetrainingData();
        services.AddShadowScoring(background);
        return services;
    }
}
