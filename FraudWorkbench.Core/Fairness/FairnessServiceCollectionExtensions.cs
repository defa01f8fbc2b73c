using FraudWorkbench.Core.Jobs;
using FraudWorkbench.Core.Monitoring;
using FraudWorkbench.Core.Registry;
using Microsoft.Extensions.DependencyInjection;

namespace FraudWorkbench.Core.Fairness;

public static class FairnessServiceCollectionExtensions
{
    /// <summary>
    /// Fairness by protected group on a version's holdout (the job that computes it, the store that keeps it, reviewers'
    /// sign-offs, its part of the validation gate) and on production traffic (the monitoring job's daily step, any range on demand).
    /// </summary>
    public static IServiceCollection AddFairness(this IServiceCollection services)
    {
        services.AddOptions<FairnessOptions>().BindConfiguration(FairnessOptions.Section)
            .Validate(o => o.IsValid(), "FraudWorkbench:Fairness needs MinGroupSize >= 1, Resamples from 0 to 10,000 and Confidence from 0.5 to below 1 and MaxParallelism >= 1.").ValidateOnStart();
        services.AddSingleton<FairnessStore>();
        services.AddSingleton<FairnessGateStore>();
        services.AddSingleton<IGateCheck, FairnessGateCheck>();
        services.AddSingleton<FairnessSignOffStore>();
        services.AddJobHandler<FairnessJobHandler>();
        services.AddSingleton<IJobDescriber, FairnessJobSubjects>();
        services.AddOptions<FairnessProductionOptions>().BindConfiguration(FairnessProductionOptions.Section)
            .Validate(o => o.IsValid(), "FraudWorkbench:Fairness:Production needs MaxRowsPerWindow 100–1,000,000, MaxRowsPerRange 100–2,000,000, MaxRangeDays 1–800 and RecomputeDays 0–800.").ValidateOnStart();
        services.AddSingleton<ProductionFairnessStore>();
        services.AddSingleton<ProductionFairnessService>();
        services.AddSingleton<IMonitoringWindowStep, FairnessMonitoringStep>();
        return services;
    }
}
