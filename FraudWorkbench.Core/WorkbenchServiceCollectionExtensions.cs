using Dapper;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Alerts;
using FraudWorkbench.Core.Artifacts;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Db;
using FraudWorkbench.Core.Events;
using FraudWorkbench.Core.Fairness;
using FraudWorkbench.Core.Features;
using FraudWorkbench.Core.Jobs;
using FraudWorkbench.Core.Monitoring;
using FraudWorkbench.Core.Performance;
using FraudWorkbench.Core.Registry;
using FraudWorkbench.Core.Retraining;
using FraudWorkbench.Core.Scoring;
using FraudWorkbench.Core.Training;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace FraudWorkbench.Core;

public static class WorkbenchServiceCollectionExtensions
{
    /// <summary>Registers every Core capability. <paramref name="background"/> adds the job workers and the event listener.</summary>
    public static IServiceCollection AddFraudWorkbench(this IServiceCollection services, bool background = true)
    {
        DefaultTypeMap.MatchNamesWithUnderscores = true;
        services.TryAddSingleton(TimeProvider.System);

        services.AddOptions<WorkbenchOptions>().BindConfiguration(WorkbenchOptions.Section)
            .PostConfigure<IConfiguration>((o, c) => o.DataDirectory = WorkbenchOptions.ResolveDataDirectory(c));
        services.AddOptions<AccountOptions>().BindConfiguration(AccountOptions.Section)
            .PostConfigure<IConfiguration>((o, c) =>
            {
                o.AdminEmail = c["FRAUDWB_ADMIN_EMAIL"] is { Length: > 0 } email ? email : o.AdminEmail;
                o.AdminPassword = c["FRAUDWB_ADMIN_PASSWORD"] is { Length: > 0 } password ? password : o.AdminPassword;
                o.BootstrapApiKey = c["FRAUDWB_BOOTSTRAP_API_KEY"] is { Length: > 0 } key ? key : o.BootstrapApiKey;
            })
            .Validate(o => o.MaxFailedSignIns > 0 && o.LockoutDuration > TimeSpan.Zero && o.MinPasswordLength >= 8 && o.AnonymousRequestsPerMinute > 0,
                "FraudWorkbench:Accounts needs MaxFailedSignIns > 0, a positive LockoutDuration, MinPasswordLength >= 8 and AnonymousRequestsPerMinute > 0.")
            .ValidateOnStart();
        services.AddOptions<JobOptions>().BindConfiguration(JobOptions.Section)
            .Validate(o => o.Concurrency is > 0 and <= 64 && o.HeartbeatInterval > TimeSpan.Zero && o.StaleAfter > o.HeartbeatInterval * 2,
                "FraudWorkbench:Jobs needs Concurrency 1-64 and StaleAfter longer than two heartbeat intervals.")
            .ValidateOnStart();

        // Resolving the endpoint starts the private cluster when no connection string is configured.
        services.AddSingleton(sp => DatabaseEndpoint.ResolveAsync(
            sp.GetRequiredService<IConfiguration>(), sp.GetRequiredService<ILoggerFactory>().CreateLogger<DatabaseEndpoint>()).GetAwaiter().GetResult());
        services.AddSingleton(sp =>
        {
            var builder = new NpgsqlDataSourceBuilder(sp.GetRequiredService<DatabaseEndpoint>().ConnectionString);
            builder.UseLoggerFactory(sp.GetRequiredService<ILoggerFactory>());
            var given = sp.GetRequiredService<DatabaseEndpoint>().ConnectionString;
            // Unless the connection string says otherwise: a pool well under PostgreSQL's default 100 connections
            // (a burst of requests then queues for a connection instead of being refused by the server), prepared
            // statements for the SQL the scoring path sends thousands of times a second, and no session reset when
            // a connection goes back to the pool (six statements PostgreSQL parsed and ran before each borrower's
            // first): nothing here leaves session state behind (settings are set_config(..., true), locks are
            // transaction locks or released in a finally, LISTEN keeps its own connection).
            if (!System.Text.RegularExpressions.Regex.IsMatch(given, @"(?i)max(imum)?\s*pool\s*size")) builder.ConnectionStringBuilder.MaxPoolSize = 40;
            if (!System.Text.RegularExpressions.Regex.IsMatch(given, @"(?i)max\s*auto\s*prepare")) builder.ConnectionStringBuilder.MaxAutoPrepare = 50;
            if (!System.Text.RegularExpressions.Regex.IsMatch(given, @"(?i)no\s*reset\s*on\s*close")) builder.ConnectionStringBuilder.NoResetOnClose = true;
            // A database that is away or stalled must cost a caller seconds, not Npgsql's 15 s to connect and 30 s per
            // command. 5 s to connect (or to wait for a pooled connection) leaves room for a loaded server's
            // scram authentication; 2 s failed under the test suite's load. A stalled statement is given up only by the
            // command timeout (a cancelled token still waits for the server), after which Npgsql spends up to two connect
            // timeouts asking the server to cancel it: about 10 + 2 x 5 s at most. Statements that may legitimately run
            // longer (migrations) set their own.
            if (!System.Text.RegularExpressions.Regex.IsMatch(given, @"(?i)(^|;)\s*timeout\s*=")) builder.ConnectionStringBuilder.Timeout = 5;
            if (!System.Text.RegularExpressions.Regex.IsMatch(given, @"(?i)command\s*timeout")) builder.ConnectionStringBuilder.CommandTimeout = 10;
            return builder.Build();
        });
        services.AddSingleton<Migrator>();

        services.AddSingleton(sp => new ArtifactStore(Path.Combine(WorkbenchOptions.ResolveDataDirectory(sp.GetRequiredService<IConfiguration>()), "artifacts")));

        services.AddSingleton<PostgresEventRelay>();
        services.AddSingleton<IEventRelay>(sp => sp.GetRequiredService<PostgresEventRelay>());
        services.AddSingleton<EventHub>();

        services.AddSingleton<JobStore>();
        services.AddSingleton<JobSubjects>();
        services.AddSingleton<UserStore>();
        services.AddSingleton<ApiKeyStore>();
        services.AddSingleton<AuditLog>();
        services.AddSingleton<DataProtectionKeyRepository>();

        services.AddOptions<DataOptions>().BindConfiguration(DataOptions.Section)
            .Validate(o => o.MaxUploadBytes > 0, "FraudWorkbench:Data:MaxUploadBytes must be positive.").ValidateOnStart();
        services.AddSingleton<DatasetStore>();
        services.AddSingleton<DatasetIngestor>();
        services.AddSingleton<DatasetPreview>();
        services.AddSingleton<SampleDatasets>();
        services.AddJobHandler<DatasetIngestJobHandler>();
        services.AddJobHandler<DatasetReviseJobHandler>();
        services.AddSingleton<IJobDescriber, DatasetJobSubjects>();

        services.AddSingleton<FeatureSetStore>();
        services.AddSingleton<FeatureSetService>();
        services.AddOptions<FeatureSetOptions>().BindConfiguration(FeatureSetOptions.Section)
            .Validate(o => o.MaxFitMemoryBytes >= 0, "FraudWorkbench:Features:MaxFitMemoryBytes must be 0 (half the available memory) or positive.").ValidateOnStart();
        services.AddJobHandler<FeatureSetFitJobHandler>();
        services.AddOptions<EntityStateOptions>().BindConfiguration(EntityStateOptions.Section)
            .Validate(o => o.MaxUnwritten > 0, "FraudWorkbench:EntityState:MaxUnwritten must be positive.").ValidateOnStart();
        services.AddSingleton<EntityStateStore>();
        services.AddJobHandler<FeatureBackfillJobHandler>();
        services.AddSingleton<IJobDescriber, FeatureJobSubjects>();

        services.AddSingleton<TrainingRunStore>();
        services.AddSingleton<TrainingService>();
        services.AddJobHandler<TrainingJobHandler>();
        services.AddSingleton<IJobDescriber, TrainingJobSubjects>();

        services.AddOptions<ScoringOptions>().BindConfiguration(ScoringOptions.Section)
            .Validate(o => o.IsValid(), "FraudWorkbench:Scoring needs Engine auto, onnx or mlnet, and positive RateLimitPerMinute, MaxBatch, MaxFeedbackBatch (both at most 100,000), MaxBodyBytes, MaxFeedbackBodyBytes, LogCapacity, LogBatchSize and PredictionRetentionDays.")
            .ValidateOnStart();
        services.AddSingleton<RegistryStore>();
        services.AddSingleton<ModelLoader>();
        services.AddSingleton<ModelServer>();
        services.AddSingleton<RegistryService>();
        services.AddJobHandler<ModelValidationJobHandler>();
        services.AddSingleton<IJobDescriber, ValidationJobSubjects>();
        services.AddSingleton<PredictionLog>();
        services.AddSingleton<PredictionStore>();
        services.AddSingleton<ScoringService>();
        services.AddJobHandler<PredictionRetentionJobHandler>();
        services.AddRecurringJob(PredictionRetentionSchedule.Daily);
        services.AddSingleton<IJobDescriber, RetentionJobSubjects>();
        services.AddSingleton<Explain.GlobalExplanationStore>();
        services.AddJobHandler<Explain.GlobalExplanationJobHandler>();
        services.AddSingleton<IJobDescriber, Explain.GlobalExplanationJobSubjects>();
        services.AddSingleton<Explain.HoldoutExplainer>();
        services.AddMonitoring();
        services.AddPerformance();
        services.AddFairness();
        services.AddAlerts(background);
        services.AddRetraining(background);

        // Order matters: hosted services start in registration order, and the database comes first.
        services.AddHostedService<DatabaseMigrationService>();
        services.AddSingleton<PartitionMaintenance>();
        services.AddHostedService<PartitionMaintenanceService>();
        services.AddHostedService<LocalClusterWatchdog>();
        if (background)
        {
            services.AddSingleton<AccountBootstrapService>();
            services.AddHostedService(sp => sp.GetRequiredService<AccountBootstrapService>());
            services.AddSingleton<PostgresEventListener>();
            services.AddHostedService(sp => sp.GetRequiredService<PostgresEventListener>());
            services.AddHostedService<JobWorker>();
            services.AddHostedService(sp => sp.GetRequiredService<ModelServer>());
            services.AddHostedService<RecurringJobScheduler>();
            services.AddHostedService<EntityStateWarmup>();
        }

        // Hosted services stop in reverse order and the web server (started after them) stops first, so
        // the log and the entity histories drain once no request can add to them, before the services registered ahead of them.
        services.AddHostedService(sp => sp.GetRequiredService<PredictionLog>());
        services.AddHostedService(sp => sp.GetRequiredService<EntityStateStore>());

        return services;
    }

    /// <summary>Registers a job handler; the worker runs jobs of its kind.</summary>
    public static IServiceCollection AddJobHandler<THandler>(this IServiceCollection services) where THandler : class, IJobHandler
    {
        services.AddSingleton<IJobHandler, THandler>();
        return services;
    }
}
