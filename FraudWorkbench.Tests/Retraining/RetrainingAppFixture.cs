using System.Collections.Concurrent;
using Dapper;
using FraudWorkbench.Core;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Features;
using FraudWorkbench.Core.Jobs;
using FraudWorkbench.Core.Registry;
using FraudWorkbench.Core.Retraining;
using FraudWorkbench.Core.Training;
using FraudWorkbench.Tests.Infrastructure;
using FraudWorkbench.Tests.Scoring;
using FraudWorkbench.Tests.Training;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Time.Testing;

namespace FraudWorkbench.Tests.Retraining;

[CollectionDefinition(Name)]
public sealed class RetrainingCollection : ICollectionFixture<RetrainingAppFixture>
{
    public const string Name = "Retraining app";
}

/// <summary>What a scripted <c>retraining.step</c> job does for one workflow and step.</summary>
public delegate Task<object?> StepScript(RetrainingWorkflow workflow, string step, JobContext context, CancellationToken cancellationToken);

/// <summary>
/// Runs the <c>retraining.step</c> jobs of the tests' models by script, so the engine's transitions can be driven with
/// known step results without the dataset and feature steps (another part's work). A model without a script fails its step.
/// </summary>
public sealed class ScriptedRetrainingStepHandler(RetrainingStore store) : IJobHandler
{
    public static readonly ConcurrentDictionary<string, StepScript> ByModel = new(StringComparer.OrdinalIgnoreCase);

    public string Kind => RetrainingStepJobHandler.KindName;

    public async Task<object?> ExecuteAsync(JobContext context, CancellationToken cancellationToken)
    {
        var payload = context.Payload<RetrainingStepPayload>();
        var workflow = await store.GetAsync(payload.WorkflowId, cancellationToken) ?? throw new NonRetryableJobException("no workflow");
        if (!ByModel.TryGetValue(workflow.ModelName, out var script)) throw new NonRetryableJobException($"no script for {workflow.ModelName}");
        return await script(workflow, payload.Step, context, cancellationToken);
    }
}

/// <summary>The app with the retraining services on a fake clock and step jobs by script.</summary>
public sealed class RetrainingAppFactory(string connectionString, FakeTimeProvider time, IDictionary<string, string?> extra) : WorkbenchAppFactory(connectionString, extra)
{
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.ConfigureTestServices(services =>
        {
            services.RemoveAll<RetrainingStore>();
            services.RemoveAll<RetrainingEngine>();
            services.RemoveAll<RetrainingService>();
            services.RemoveAll<RetrainingCoordinator>();
            services.AddSingleton(sp => ActivatorUtilities.CreateInstance<RetrainingStore>(sp, time));
            services.AddSingleton(sp => ActivatorUtilities.CreateInstance<RetrainingEngine>(sp, time));
            services.AddSingleton(sp => ActivatorUtilities.CreateInstance<RetrainingService>(sp, time));
            services.AddSingleton(sp => ActivatorUtilities.CreateInstance<RetrainingCoordinator>(sp, time));
            // The common recent holdout reads the dataset step's lineage, which scripted steps do not write: its own tests and
            // the loop test run it; here the gate is the registry's with the fairness checks.
            services.RemoveAll<FraudWorkbench.Core.Registry.IGateCheck>();
            services.AddSingleton<FraudWorkbench.Core.Registry.IGateCheck, FraudWorkbench.Core.Fairness.FairnessGateCheck>();
            var real = services.Single(d => d.ServiceType == typeof(IJobHandler) && d.ImplementationType == typeof(RetrainingStepJobHandler));
            services.Remove(real);
            services.AddJobHandler<ScriptedRetrainingStepHandler>();
        });
    }
}

/// <summary>
/// One app with the month A sample, its feature set and one trained run; each test registers its own model (production
/// from that run) and drives its workflows on the fake clock <see cref="Time"/>.
/// </summary>
public sealed class RetrainingAppFixture : IAsyncLifetime
{
    public FakeTimeProvider Time { get; } = new(DateTimeOffset.UtcNow);

    public RetrainingAppFactory App { get; private set; } = default!;

    public Guid DatasetId { get; private set; }

    public Guid FeatureSetVersion { get; private set; }

    public Guid Run { get; private set; }

    public async Task InitializeAsync()
    {
        App = new RetrainingAppFactory(await PostgresServer.CreateDatabaseAsync(), Time, new Dictionary<string, string?>
        {
            ["FRAUDWB_BOOTSTRAP_API_KEY"] = AppFixture.BootstrapApiKey,
            ["FraudWorkbench:Retraining:CoordinatorTick"] = "00:10:00",
        });
        App.StartServer();
        var ingestor = App.Get<DatasetIngestor>();
        IngestResult dataset;
        await using (var file = File.OpenRead(Path.Combine(AppContext.BaseDirectory, "samples", "transactions-month-a.csv")))
        {
            dataset = await ingestor.IngestAsync(await ingestor.StageAsync(file, "month-a.csv"), "retraining-sample", SchemaOverrides.None, "test");
        }

        DatasetId = dataset.Dataset.Id;
        var (featureSet, _) = await App.Get<FeatureSetService>().CreateAsync(new NewFeatureSet("retraining-recipes", dataset.Dataset.Id, 1, SampleMatrixFixture.Definition), "test");
        FeatureSetVersion = featureSet.Id;
        var (runId, jobId) = await App.Get<TrainingService>().StartAsync(new TrainingRunRequest(DatasetId, 1, FeatureSetVersion, new TrainerSettings(Trees: 20)), "test");
        var job = await ScoringFixture.WaitForJobAsync(App, jobId);
        Assert.True(job.Status == JobStatus.Succeeded, job.Error);
        Run = runId;
    }

    public async Task DisposeAsync() => await App.DisposeAsync();

    public T Get<T>() where T : notnull => App.Get<T>();

    /// <summary>A new model with the fixture's run in production (lenient gate) and <paramref name="policy"/> stored.</summary>
    public async Task<ModelVersion> ProductionModelAsync(string name, RetrainingPolicy? policy = null)
    {
        var version = await ScoringFixture.RegisterAndPromoteAsync(App, name, Run);
        if (policy is not null) await Get<RetrainingService>().SavePolicyAsync(name, policy, "test");
        return version;
    }

    /// <summary>Dataset and feature steps that hand back the fixture's own dataset and feature set versions; the shadow comparison made up.</summary>
    public StepScript Steps(Func<string, JobContext, Task>? before = null) => async (workflow, step, context, ct) =>
    {
        if (before is not null) await before(step, context);
        return step switch
        {
            RetrainingStep.Dataset => new DatasetStepResult(DatasetId, "retraining-sample", 1, Guid.Empty, "sha", 100, 0, 100, 1, 99, 0, 0,
                Time.GetUtcNow().UtcDateTime.AddDays(-28), Time.GetUtcNow().UtcDateTime, null, null, "sha"),
            RetrainingStep.Features => new FeaturesStepResult(FeatureSetVersion, "retraining-recipes", 1, "hash", false),
            _ => new ShadowComparison(42, 0, null, null, 0.9, 0.9, 0.95, 0.8, 0.02, 0.02, 0.05, 0.05, 2, 2, 0, 0, null, null, 1.5),
        };
    };

    public async Task<RetrainingWorkflowDetail> WaitForAsync(Guid workflowId, Func<RetrainingWorkflowDetail, bool> condition, string what, int seconds = 120)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            var detail = (await Get<RetrainingStore>().GetDetailAsync(workflowId))!;
            if (condition(detail)) return detail;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"{what}: workflow is {detail.Workflow.Status} at {detail.Workflow.Step} ({detail.Workflow.Error}); steps "
                    + string.Join(", ", detail.Steps.Select(s => $"{s.Step}={s.Status}{(s.Error is null ? "" : $" [{s.Error}]")}")));
            await Task.Delay(50);
        }
    }

    public async Task<T> ScalarAsync<T>(string sql, object? parameters = null)
    {
        await using var connection = await Get<Npgsql.NpgsqlDataSource>().OpenConnectionAsync();
        return (await connection.ExecuteScalarAsync<T>(sql, parameters))!;
    }

    public async Task ExecuteAsync(string sql, object? parameters = null)
    {
        await using var connection = await Get<Npgsql.NpgsqlDataSource>().OpenConnectionAsync();
        await connection.ExecuteAsync(sql, parameters);
    }
    /// <summary>A model in production and a second version of the same run, passed, waiting for approval in a workflow.</summary>
    public async Task<(ModelVersion Production, ModelVersion Candidate, RetrainingWorkflow Workflow)> AwaitingApprovalAsync(string model, RetrainingPolicy policy)
    {
        var production = await ProductionModelAsync(model, policy);
        var candidate = await ScoringFixture.RegisterAsync(App, model, Run);
        Assert.Equal(GateStatus.Passed, candidate.GateStatus);
        var now = Time.GetUtcNow().UtcDateTime;
        var workflow = new RetrainingWorkflow(Guid.NewGuid(), production.RegisteredModelId, model, RetrainingTrigger.Manual, null, "test", policy.ToJson(), production.Id,
            RetrainingStatus.AwaitingApproval, RetrainingStep.Approval, null, null, null, production.RunId, candidate.Id, null, null, null, null, null, null, null, null, null, null,
            null, "test", now, now, null);
        await using var connection = await Get<Npgsql.NpgsqlDataSource>().OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await RetrainingStore.InsertAsync(transaction, workflow, default);
        await Get<RetrainingStore>().UpdateAsync(transaction, workflow, default);
        await Dapper.SqlMapper.ExecuteAsync(connection, "UPDATE retraining_steps SET status = CASE WHEN ordinal < 6 THEN 'succeeded' ELSE 'waiting' END WHERE workflow_id = @id AND ordinal <= 6",
            new { id = workflow.Id }, transaction);
        await transaction.CommitAsync();
        return (production, candidate, workflow);
    }


    /// <summary>
    /// A running workflow written straight to the database (no events, as if written by an instance that went down), its
    /// dataset step running with a queued job that the test then moves as it needs.
    /// </summary>
    public async Task<(RetrainingWorkflow Workflow, Guid JobId)> InsertRunningAsync(string model, RetrainingPolicy policy, ModelVersion production)
    {
        var now = Time.GetUtcNow().UtcDateTime;
        var workflow = new RetrainingWorkflow(Guid.NewGuid(), production.RegisteredModelId, model, RetrainingTrigger.Manual, null, "test", policy.ToJson(), production.Id,
            RetrainingStatus.Running, RetrainingStep.Dataset, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null,
            null, "test", now, now, null);
        await using var connection = await Get<Npgsql.NpgsqlDataSource>().OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await RetrainingStore.InsertAsync(transaction, workflow, default);
        // Held by a worker that does not exist, so no live worker takes it before the test decides its state.
        var job = await JobStore.InsertAsync(transaction, RetrainingStepJobHandler.KindName, new RetrainingStepPayload(workflow.Id, RetrainingStep.Dataset), "test", 2, TimeProvider.System, default);
        await connection.ExecuteAsync("UPDATE jobs SET status = 'running', attempts = 1, worker = 'gone/1', heartbeat_at = now(), started_at = now() WHERE id = @id", new { id = job.Id }, transaction);
        await RetrainingStore.UpdateStepAsync(transaction, new RetrainingStepRow(workflow.Id, RetrainingStep.Dataset, 0, RetrainingStepStatus.Running, job.Id, now, null, null, null), default);
        await transaction.CommitAsync();
        return (workflow, job.Id);
    }
}
