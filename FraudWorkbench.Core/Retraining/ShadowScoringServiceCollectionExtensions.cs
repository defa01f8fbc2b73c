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
        return services;
    }
}
