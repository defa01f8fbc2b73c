using FraudWorkbench.Core.Jobs;
using FraudWorkbench.Core.Scoring;
using Microsoft.Extensions.DependencyInjection;

namespace FraudWorkbench.Core.Monitoring;

public static class MonitoringServiceCollectionExtensions
{
    /// <summary>Drift and data quality: counts written with the prediction log, the hourly and daily drift jobs, the service pages and the API read.</summary>
    public static IServiceCollection AddMonitoring(this IServiceCollection services)
    {
        services.AddOptions<MonitoringOptions>().BindConfiguration(MonitoringOptions.Section)
            .Validate(o => o.IsValid(), "FraudWorkbench:Monitoring needs a positive RetentionDays and RawSampleSize between 100 and 100,000.").ValidateOnStart();
        services.AddSingleton<MonitoringReferences>();
        services.AddSingleton<MonitoringStore>();
        services.AddSingleton<MonitoringService>();
        services.AddSingleton<IPredictionLogSink, MonitoringLogSink>();
        services.AddSingleton<MonitoringJobHandler>();
        services.AddSingleton<IJobHandler>(sp => sp.GetRequiredService<MonitoringJobHandler>());
        services.AddJobHandler<MonitoringDayJobHandler>();
        services.AddRecurringJob(MonitoringSchedule.Hourly);
        services.AddRecurringJob(MonitoringSchedule.Daily);
        services.AddSingleton<IJobDescriber, MonitoringJobSubjects>();
        services.AddJobHandler<TrafficReplayJobHandler>();
        return services;
    }
}
