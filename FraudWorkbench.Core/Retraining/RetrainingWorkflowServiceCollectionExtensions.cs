using Microsoft.Extensions.DependencyInjection;

namespace FraudWorkbench.Core.Retraining;

public static class RetrainingWorkflowServiceCollectionExtensions
{
    /// <summary>The engine, the step jobs, the coordinator (triggers, schedule, shadow and watch periods, rollback).</summary>
    internal static IServiceCollection AddRetrainingWorkflow(this IServiceCollection services, bool background)
    {
        services.AddSingleton<RetrainingEngine>();
        return services;
    }
}
