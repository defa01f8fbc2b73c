using FraudWorkbench.Core.Registry;
using Microsoft.Extensions.DependencyInjection;

namespace FraudWorkbench.Core.Retraining;

public static class RetrainingDataServiceCollectionExtensions
{
    /// <summary>The dataset and feature steps and the common recent holdout gate check.</summary>
    internal static IServiceCollection AddRetrainingData(this IServiceCollection services)
    {
        services.AddSingleton<TrainingDataBuilder>();
        services.AddSingleton<RetrainingFeatureFitter>();
        services.AddSingleton<RecentHoldoutGateCheck>();
        services.AddSingleton<IGateCheck>(sp => sp.GetRequiredService<RecentHoldoutGateCheck>());
        return services;
    }
}
