using System.Text.Json;
using Dapper;
using FraudWorkbench.Core.Jobs;
using FraudWorkbench.Core.Performance;
using FraudWorkbench.Core.Registry;
using FraudWorkbench.Core.Retraining;
using FraudWorkbench.Tests.Scoring;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace FraudWorkbench.Tests.Retraining;

/// <summary>The month A model and the runs the retraining data tests share (one training for all of them).</summary>
[CollectionDefinition(Name)]
public sealed class RetrainingDataCollection : ICollectionFixture<ScoringFixture>
{
    public const string Name = "retraining-data";
}

/// <summary>One prediction to log: its time, the sample row it sends, the version that made it and its label (null: none came).</summary>
public sealed record LoggedTraffic(Guid Id, DateTime CreatedAt, Guid VersionId, int Row, bool? Fraud);

/// <summary>Traffic written straight into the prediction log and its labels, workflow rows, and the data steps built with a chosen clock.</summary>
public static class RetrainingDataScenario
{
    /// <summary>The clock of the hand-made traffic: with a 14-day label window, 2026-05-31 is the latest mature day.</summary>
    public static readonly DateTime Now = new(2026, 6, 15, 12, 0, 0, DateTimeKind.Utc);

    /// <summary>28 days of training window, a 3-day holdout: [2026-05-18 12:00, 2026-06-15 12:00) and [2026-05-29, 2026-06-01).</summary>
    public static readonly RetrainingPolicy Policy = new(TrainingWindowDays: 28, HoldoutDays: 3, DataMode: RetrainingDataMode.Replace);

    /// <summary>
    /// <paramref name="model"/> with the weak run as version 1 and the strong run as version 2 in production, a 14-day label
    /// window, and a small hand-made traffic set whose every row tests one rule (see the comments for how each counts at <see cref="Now"/>).
    /// </summary>
    public static async Task<(ModelVersion V1, ModelVersion V2, List<LoggedTraffic> Traffic)> HandMadeAsync(ScoringFixture fixture, string model)
    {
        var v1 = await fixture.RegisterAndPromoteAsync(model, fixture.WeakRun);
        var v2 = await fixture.RegisterAndPromoteAsync(model, fixture.StrongRun);
        var other = await fixture.RegisterAndPromoteAsync(model + "-other", fixture.StrongRun);
        await SetLabelWindowAsync(fixture, model, 14);
        var traffic = new List<LoggedTraffic>();
        var row = 0;
        void Add(DateTime at, ModelVersion version, bool? fraud) => traffic.Add(new LoggedTraffic(Guid.CreateVersion7(at), at, version.Id, row++, fraud));
        var may20 = new DateTime(2026, 5, 20, 10, 0, 0, DateTimeKind.Utc);
        // Version 1's traffic, mature: 4 fraud and 6 legitimate labels, 10 unlabelled (legitimate by the window).
        for (var i = 0; i < 20; i++) Add(may20.AddMinutes(i), v1, i < 4 ? true : i < 10 ? false : null);
        // The window's first instant is in it: unlabelled and mature, legitimate by the window.
        Add(new DateTime(2026, 5, 18, 12, 0, 0, DateTimeKind.Utc), v1, null);
        // The holdout days 2026-05-29 to 05-31: 61 rows kept out, all unlabelled and mature, so legitimate (a one-class holdout).
        Add(new DateTime(2026, 5, 29, 0, 0, 0, DateTimeKind.Utc), v2, null);
        for (var i = 0; i < 60; i++) Add(new DateTime(2026, 5, 30, 0, 0, 0, DateTimeKind.Utc).AddMinutes(10 * i), v2, null);
        // 2026-06-01 is immature (it ends 06-02, plus 14 days is after now) and not in the holdout: its first instant labelled
        // legitimate counts as labelled; 00:30 unlabelled is 14 days old at 06-15 00:30, before now: legitimate by the window.
        Add(new DateTime(2026, 6, 1, 0, 0, 0, DateTimeKind.Utc), v2, false);
        Add(new DateTime(2026, 6, 1, 0, 30, 0, DateTimeKind.Utc), v2, null);
        // Immature days: 3 fraud and 2 legitimate labels count; 7 unlabelled are left out (a fraud label may still come).
        for (var i = 0; i < 12; i++) Add(new DateTime(2026, 6, 5, 13, 0, 0, DateTimeKind.Utc).AddMinutes(i), v2, i < 3 ? true : i < 5 ? false : null);
        for (var i = 0; i < 2; i++) Add(new DateTime(2026, 6, 10, 9, 0, 0, DateTimeKind.Utc).AddMinutes(i), v2, false);
        // Outside the window (before it, and at its end, which is now), and another model's traffic inside it: not read at all.
        for (var i = 0; i < 3; i++) Add(new DateTime(2026, 5, 10, 12, 0, 0, DateTimeKind.Utc).AddMinutes(i), v2, true);
        Add(Now, v2, true);
        for (var i = 0; i < 2; i++) Add(may20.AddHours(1).AddMinutes(i), other, true);
        await LogAsync(fixture, traffic);
        return (v1, v2, traffic);
    }

    /// <summary>The hand-made traffic's rows the dataset step takes at <see cref="Now"/>, in log order.</summary>
    public static List<LoggedTraffic> Expected(List<LoggedTraffic> traffic, ModelVersion v1, ModelVersion v2)
    {
        var from = Now.AddDays(-28);
        DateTime holdoutFrom = new(2026, 5, 29, 0, 0, 0, DateTimeKind.Utc), holdoutTo = new(2026, 6, 1, 0, 0, 0, DateTimeKind.Utc);
        return [.. traffic.Where(t => (t.VersionId == v1.Id || t.VersionId == v2.Id) && t.CreatedAt >= from && t.CreatedAt < Now)
            .Where(t => t.CreatedAt < holdoutFrom || t.CreatedAt >= holdoutTo)
            .Where(t => t.Fraud is not null || t.CreatedAt.AddDays(14) <= Now)
            .OrderBy(t => t.CreatedAt)];
    }

    /// <summary>Writes the predictions (input: the sample row as a partner sends it) and the labels of those that have one.</summary>
    public static async Task LogAsync(ScoringFixture fixture, IReadOnlyList<LoggedTraffic> traffic, IReadOnlyList<string?[]>? rows = null)
    {
        rows ??= fixture.Rows;
        await using var connection = await fixture.App.Get<NpgsqlDataSource>().OpenConnectionAsync();
        const string predictions = """
            INSERT INTO predictions (id, created_at, model_version_id, actor, input, features, probability, decision, latency_ms)
            SELECT id, created_at, version, 'test', input::jsonb, '{}'::real[], 0.5, false, 0.1
            FROM unnest(@ids, @times, @versions, @inputs) AS t(id, created_at, version, input)
            """;
        await connection.ExecuteAsync(predictions, new
        {
            ids = traffic.Select(t => t.Id).ToArray(),
            times = traffic.Select(t => t.CreatedAt).ToArray(),
            versions = traffic.Select(t => t.VersionId).ToArray(),
            inputs = traffic.Select(t => JsonSerializer.Serialize(ScoringFixture.Transaction(fixture.Schema, rows[t.Row]))).ToArray(),
        });
        var labelled = traffic.Where(t => t.Fraud is not null).ToList();
        const string feedback = """
            INSERT INTO prediction_feedback (prediction_id, prediction_created_at, is_fraud, label_date, actor, received_at)
            SELECT id, created_at, fraud, NULL, 'test', created_at FROM unnest(@ids, @times, @frauds) AS t(id, created_at, fraud)
            """;
        await connection.ExecuteAsync(feedback, new
        {
            ids = labelled.Select(t => t.Id).ToArray(),
            times = labelled.Select(t => t.CreatedAt).ToArray(),
            frauds = labelled.Select(t => t.Fraud!.Value).ToArray(),
        });
    }

    /// <summary>A workflow row as the engine writes it when it starts (finished, so a model can have several in a test).</summary>
    public static async Task<RetrainingWorkflow> StartWorkflowAsync(ScoringFixture fixture, string model, RetrainingPolicy policy, Guid? championVersionId, DateTime createdAt)
    {
        var registered = (await fixture.App.Get<RegistryStore>().GetModelAsync(model))!;
        var id = Guid.CreateVersion7();
        await using (var connection = await fixture.App.Get<NpgsqlDataSource>().OpenConnectionAsync())
        {
            const string sql = """
                INSERT INTO retraining_workflows (id, registered_model_id, model_name, trigger_kind, trigger_detail, policy, champion_version_id, status, step,
                    created_by, created_at, updated_at)
                VALUES (@id, @modelId, @model, 'manual', 'a test', @policy::jsonb, @championVersionId, 'succeeded', 'dataset', 'test', @createdAt, @createdAt)
                """;
            await connection.ExecuteAsync(sql, new { id, modelId = registered.Id, model = registered.Name, policy = policy.ToJson(), championVersionId, createdAt });
        }

        return (await fixture.App.Get<RetrainingStore>().GetAsync(id))!;
    }

    /// <summary>Records what the engine records after the dataset step (and, with a run, before registering it).</summary>
    public static async Task<RetrainingWorkflow> SetAsync(ScoringFixture fixture, RetrainingWorkflow workflow, DatasetStepResult? dataset = null, Guid? runId = null, RetrainingPolicy? policy = null)
    {
        await using (var connection = await fixture.App.Get<NpgsqlDataSource>().OpenConnectionAsync())
        {
            const string sql = """
                UPDATE retraining_workflows SET dataset_id = coalesce(@datasetId, dataset_id), dataset_version = coalesce(@datasetVersion, dataset_version),
                    run_id = coalesce(@runId, run_id), policy = coalesce(@policy::jsonb, policy)
                WHERE id = @id
                """;
            await connection.ExecuteAsync(sql, new { workflow.Id, datasetId = dataset?.DatasetId, datasetVersion = dataset?.DatasetVersion, runId, policy = policy?.ToJson() });
        }

        return (await fixture.App.Get<RetrainingStore>().GetAsync(workflow.Id))!;
    }

    public static async Task SetLabelWindowAsync(ScoringFixture fixture, string model, int days)
    {
        var registered = (await fixture.App.Get<RegistryStore>().GetModelAsync(model))!;
        await fixture.App.Get<PerformanceStore>().SaveConfigAsync(registered.Id, registered.Name, new PerformanceConfig(days), "test", default);
    }

    /// <summary>A context for calling a step directly: a job of a kind no worker takes, so nobody else runs it.</summary>
    public static async Task<JobContext> ContextAsync(ScoringFixture fixture)
    {
        var jobs = fixture.App.Get<JobStore>();
        var job = await jobs.EnqueueAsync("test.retraining-data", new { }, "test");
        return new JobContext(job, "test", jobs, TimeProvider.System, TimeSpan.Zero, _ => { });
    }

    /// <summary>A data step built from the app's services with <paramref name="time"/> as its clock.</summary>
    public static T Create<T>(ScoringFixture fixture, TimeProvider time) where T : notnull =>
        ActivatorUtilities.CreateInstance<T>(fixture.App.Services, time);
}
