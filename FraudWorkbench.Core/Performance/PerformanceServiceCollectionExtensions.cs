using FraudWorkbench.Core.Scoring;
using Microsoft.Extensions.DependencyInjection;

namespace FraudWorkbench.Core.Performance;

public static class PerformanceServiceCollectionExtensions
{
    /// <summary>Realized and estimated performance: counts written with the prediction log and with each label, the reports pages and the API read.</summary>
    public static IServiceCollection AddPerformance(this IServiceCollection services)
    {
        services.AddSingleton<PerformanceReferences>();
        services.AddSingleton<PerformanceStore>();
        services.AddSingleton<PerformanceService>();
        services.AddSingleton<LabelImport>();
        services.AddSingleton<LabelStatsStore>();
        services.AddSingleton<IPredictionLogSink, PerformanceLogSink>();
        services.AddSingleton<IFeedbackSink, PerformanceFeedbackSink>();
        return services;
    }
}
