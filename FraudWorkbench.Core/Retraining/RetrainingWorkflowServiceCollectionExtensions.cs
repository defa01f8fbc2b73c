using FraudWorkbench.Core.Jobs;
using Microsoft.Extensions.DependencyInjection;

namespace FraudWorkbench.Core.Retraining;

public static class RetrainingWorkflowServiceCollectionExtensions
{
    /// <summary>The engine, the step jobs, the coordinator (triggers, schedule, shadow and watch periods, rollback).</summary>
    internal static IServiceCollection AddRetrainingWorkflow(this IServiceCollection services, bool background)
    {
        services.AddSingleton<RetrainingEngine>();
        services.AddJobHandler<RetrainingStepJobHandler>();
        services.AddSingleton<IJobDescriber, RetrainingJobSubjects>();
        if (background)
        {
            services.AddSingleton<RetrainingCoordinator>();
            services.AddHostedService(sp => sp.GetRequiredService<RetrainingCoordinator>());
        }

        return services;
    }
}
