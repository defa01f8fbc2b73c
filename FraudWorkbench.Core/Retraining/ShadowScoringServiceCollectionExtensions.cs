using Microsoft.Extensions.DependencyInjection;

namespace FraudWorkbench.Core.Retraining;

public static class ShadowScoringServiceCollectionExtensions
{
    /// <summary>Shadow scoring (the log tailer, its store), the comparison and the audit chain.</summary>
    internal static IServiceCollection AddShadowScoring(this IServiceCollection services, bool background)
    {
        services.AddSingleton<ShadowStore>();
        services.AddSingleton<ShadowComparer>();
        services.AddSingleton<AuditChainBuilder>();
        // Nothing in the prediction log's writer: the tailer reads what it committed.
        if (background)
        {
            services.AddSingleton<ShadowScorer>();
            services.AddHostedService(sp => sp.GetRequiredService<ShadowScorer>());
        }

        return services;
    }
}
