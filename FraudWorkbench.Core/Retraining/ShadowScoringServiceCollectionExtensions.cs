using FraudWorkbench.Core.Scoring;
using Microsoft.Extensions.DependencyInjection;

namespace FraudWorkbench.Core.Retraining;

public static class ShadowScoringServiceCollectionExtensions
{
    /// <summary>Shadow scoring (the log sink, the scorer, its store), the comparison and the audit chain.</summary>
    internal static IServiceCollection AddShadowScoring(this IServiceCollection services, bool background)
    {
        services.AddSingleton<ShadowStore>();
        services.AddSingleton<ShadowComparer>();
        services.AddSingleton<AuditChainBuilder>();
        // Without the scorer the sink has no targets and queues nothing.
        services.AddSingleton<ShadowLogSink>();
        services.AddSingleton<IPredictionLogSink>(sp => sp.GetRequiredService<ShadowLogSink>());
        if (background)
        {
            services.AddSingleton<ShadowScorer>();
            services.AddHostedService(sp => sp.GetRequiredService<ShadowScorer>());
        }

        return services;
    }
}
