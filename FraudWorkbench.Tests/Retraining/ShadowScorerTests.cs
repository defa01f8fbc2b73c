using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Dapper;
using FraudWorkbench.Api;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Events;
using FraudWorkbench.Core.Registry;
using FraudWorkbench.Core.Retraining;
using FraudWorkbench.Core.Scoring;
using FraudWorkbench.Core.Training;
using FraudWorkbench.Tests.Infrastructure;
using FraudWorkbench.Tests.Scoring;
using Npgsql;

namespace FraudWorkbench.Tests.Retraining;

/// <summary>
/// Shadow scoring in the running app: the champion (the fixture's strong run) serves over HTTP while a workflow row in its
/// shadow step names a challenger (the weak run, registered as a candidate); the real log sink and scorer do the rest.
/// </summary>
[Trait("Category", "Database")]
public sealed class ShadowScorerTests(ScoringFixture fixture) : IClassFixture<ScoringFixture>
{
    /// <summary>A workflow row as the engine leaves it on entering shadow (columns per 0026), announced as the engine would.</summary>
    internal static async Task<Guid> InsertShadowWorkflowAsync(WorkbenchAppFactory app, ModelVersion champion, ModelVersion challenger, DateTime startedAt, DateTime? endsAt)
    {
        var id = Guid.CreateVersion7();
        const string sql = """
            INSERT INTO retraining_workflows (id, registered_model_id, model_name, trigger_kind, trigger_detail, policy, champion_version_id, status, step,
                candidate_version_id, shadow_started_at, shadow_ends_at, created_by, created_at, updated_at)
            VALUES (@id, @modelId, @model, 'manual', 'test', @policy::jsonb, @championId, 'running', 'shadow', @challengerId, @startedAt, @endsAt, 'test', @startedAt, @startedAt)
            """;
        await using (var connection = new NpgsqlConnection(app.ConnectionString))
        {
            await connection.ExecuteAsync(sql, new
            {
                id, modelId = champion.RegisteredModelId, model = champion.ModelName, policy = RetrainingPolicy.Default.ToJson(),
                championId = champion.Id, challengerId = challenger.Id, startedAt, endsAt,
            });
        }

        await app.Get<EventHub>().PublishAsync(new RetrainingChanged(id, champion.RegisteredModelId, champion.ModelName, RetrainingStatus.Running, RetrainingStep.Shadow));
        return id;
    }

    private async Task<(ModelVersion Champion, ModelVersion Challenger)> ModelAsync(string name)
    {
        var champion = await fixture.RegisterAndPromoteAsync(name, fixture.StrongRun);
        var challenger = await fixture.RegisterAsync(name, fixture.WeakRun, ScoringFixture.LenientGate);
        return (champion, challenger);
    }

    /// <summary>Month A rows from <paramref name="from"/> in time order: <paramref name="fraud"/> fraud and the legitimate ones between.</summary>
    private List<int> Rows(int from, int count, int fraud)
    {
        var label = fixture.Schema.IndexOf(fixture.Schema.Label!.Name);
        var frauds = Enumerable.Range(from, fixture.Rows.Count - from).Where(i => fixture.Rows[i][label] == "1").Take(fraud).ToList();
        var legit = Enumerable.Range(from, fixture.Rows.Count - from).Where(i => fixture.Rows[i][label] == "0").Take(count - fraud).ToList();
        return [.. frauds.Concat(legit).Order()];
    }

    private async Task<List<PredictionResponse>> PredictAsync(string model, IEnumerable<int> rows)
    {
        using var client = fixture.Client();
        var responses = new List<PredictionResponse>();
        foreach (var i in rows)
        {
            var response = await client.PostAsJsonAsync("/api/v1/predict", new { model, transaction = fixture.Transaction(i) });
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            responses.Add((await response.Content.ReadFromJsonAsync<PredictionResponse>(DatasetSchema.Json))!);
        }

        return responses;
    }

    /// <summary>How <paramref name="model"/> scores the rows now, recording nothing (features from events strictly before each row's time).</summary>
    private async Task<IReadOnlyList<Core.Scoring.Prediction>> DryRunAsync(ServingModel model, IEnumerable<int> rows)
    {
        var elements = rows.Select(i => JsonSerializer.SerializeToElement(fixture.Transaction(i))).ToList();
        var parsed = elements.Select(e => model.Contract.Parse(e, "", [])!).ToList();
        return await fixture.App.Get<ScoringService>().PredictAsync(model, parsed, elements, "test", dryRun: true, CancellationToken.None);
    }

    [Fact]
    public async Task Scorer_ShadowingWorkflow_WritesTheChallengersScoresAndLeavesTheChampionsResponsesAndLogAlone()
    {
        const string name = "shadow-scoring";
        var (champion, challenger) = await ModelAsync(name);
        var workflow = await InsertShadowWorkflowAsync(fixture.App, champion, challenger, DateTime.UtcNow.AddMinutes(-1), null);
        var scorer = fixture.App.Get<ShadowScorer>();
        await Wait.UntilAsync(() => Task.FromResult(scorer.Active.Contains(workflow)), what: "the scorer takes the workflow");
        var rows = Rows(2_000, 40, 10);

        var responses = await PredictAsync(name, rows);

        await fixture.App.Get<PredictionLog>().FlushAsync();
        var store = fixture.App.Get<ShadowStore>();
        await Wait.UntilAsync(async () => await store.CountAsync(workflow) == rows.Count, what: "a shadow prediction for each");
        var shadowed = await store.ListAsync(workflow);
        var server = fixture.App.Get<ModelServer>();
        var championModel = await server.ResolveAsync(name, champion.Version);
        var challengerModel = await server.ResolveAsync(name, challenger.Version);
        var championNow = await DryRunAsync(championModel, rows);
        var challengerNow = await DryRunAsync(challengerModel, rows);
        Assert.Equal(responses.Select(r => r.PredictionId!.Value), shadowed.Select(s => s.PredictionId)); // one each, in the champion's order
        for (var k = 0; k < rows.Count; k++)
        {
            var (response, shadow) = (responses[k], shadowed[k]);
            // The response is the champion's own scoring, as if no shadow ran.
            Assert.Equal(1, response.Version);
            Assert.Equal(championNow[k].Probability, response.Probability, 12);
            var logged = (await fixture.App.Get<PredictionStore>().GetAsync(response.PredictionId!.Value))!;
            Assert.Equal(champion.Id, logged.ModelVersionId);
            Assert.Equal(response.Probability, logged.Probability, 12);
            // The shadow row: the champion's logged score beside the challenger's own scoring of the same transaction.
            Assert.Equal((champion.Id, challenger.Id, logged.CreatedAt), (shadow.ChampionVersionId, shadow.ChallengerVersionId, shadow.PredictionCreatedAt));
            Assert.Equal(logged.Probability, shadow.ChampionProbability, 12);
            Assert.Equal(logged.Decision, shadow.ChampionDecision);
            Assert.Equal(challengerNow[k].Probability, shadow.Probability, 12);
            Assert.Equal(challengerNow[k].Decision, shadow.Decision);
            Assert.True(shadow.LatencyMs > 0);
        }

        Assert.NotEqual(shadowed.Select(s => s.ChampionProbability), shadowed.Select(s => s.Probability)); // two models, two sets of scores
        Assert.Equal(0, fixture.App.Get<ShadowLogSink>().Dropped(workflow));

        // Labels arrive for every transaction: the comparison joins them.
        var label = fixture.Schema.IndexOf(fixture.Schema.Label!.Name);
        await fixture.App.Get<PredictionStore>().RecordFeedbackAsync([.. rows.Select((i, k) => new FeedbackItem(responses[k].PredictionId!.Value, fixture.Rows[i][label] == "1"))], "test");
        var comparison = await fixture.App.Get<ShadowComparer>().CompareAsync((await fixture.App.Get<RetrainingStore>().GetAsync(workflow))!);

        var labels = rows.Select(i => fixture.Rows[i][label] == "1").ToList();
        Assert.Equal((40L, 40L, 10L, 0L), (comparison.Transactions, comparison.Labelled, comparison.LabelledFraud, comparison.Dropped));
        Assert.Equal(ClassificationMetrics.Evaluate([.. shadowed.Select(s => s.ChampionProbability)], labels), comparison.ChampionRealized);
        Assert.Equal(ClassificationMetrics.Evaluate([.. shadowed.Select(s => s.Probability)], labels), comparison.ChallengerRealized);
        Assert.Equal(ShadowStatistics.Pearson([.. shadowed.Select(s => s.ChampionProbability)], [.. shadowed.Select(s => s.Probability)]), comparison.ScoreCorrelation);
        Assert.Equal(shadowed.Count(s => s.Decision) / 40.0, comparison.ChallengerFlagRate, 12);
        Assert.Equal(shadowed.Sum(s => s.Probability), comparison.ChallengerExpectedFraud, 9);
    }

    [Fact]
    public async Task Scorer_WorkflowEnded_StopsShadowingAndOtherModelsAreNeverShadowed()
    {
        const string name = "shadow-ended";
        var (champion, challenger) = await ModelAsync(name);
        var workflow = await InsertShadowWorkflowAsync(fixture.App, champion, challenger, DateTime.UtcNow.AddMinutes(-1), null);
        var scorer = fixture.App.Get<ShadowScorer>();
        await Wait.UntilAsync(() => Task.FromResult(scorer.Active.Contains(workflow)), what: "the scorer takes the workflow");
        var before = Rows(3_000, 5, 0);
        await PredictAsync(name, before);
        await fixture.App.Get<PredictionLog>().FlushAsync();
        var store = fixture.App.Get<ShadowStore>();
        await Wait.UntilAsync(async () => await store.CountAsync(workflow) == 5, what: "the first five shadowed");

        // The engine ends the period (shadow_ends_at now) and announces it.
        await using (var connection = new NpgsqlConnection(fixture.App.ConnectionString))
        {
            await connection.ExecuteAsync("UPDATE retraining_workflows SET shadow_ends_at = @now, updated_at = @now WHERE id = @workflow", new { workflow, now = DateTime.UtcNow });
        }

        await fixture.App.Get<EventHub>().PublishAsync(new RetrainingChanged(workflow, champion.RegisteredModelId, name, RetrainingStatus.Running, RetrainingStep.Shadow));
        await Wait.UntilAsync(() => Task.FromResult(!scorer.Active.Contains(workflow)), what: "the scorer lets the workflow go");
        Assert.DoesNotContain(fixture.App.Get<ShadowLogSink>().Targets, t => t.WorkflowId == workflow);
        await PredictAsync(name, Rows(3_100, 5, 0));
        await fixture.App.Get<PredictionLog>().FlushAsync();
        await Task.Delay(300);

        Assert.Equal(5, await store.CountAsync(workflow));
    }

    [Fact]
    public async Task Scorer_ChallengerWithItsOwnFeatureSetVersion_KeepsItsOwnHistoriesAndScoresAsItWould()
    {
        // As after a retraining: the recipes refitted as a new feature set version, so the challenger's velocity features
        // come from histories only the shadow scorer writes (record: true), never from the champion's.
        const string name = "shadow-refit";
        var run = (await fixture.App.Get<TrainingRunStore>().GetAsync(fixture.StrongRun))!;
        var (featureSet, _) = await fixture.App.Get<Core.Features.FeatureSetService>().CreateAsync(
            new Core.Features.NewFeatureSet("shadow-refit-recipes", run.DatasetId, run.DatasetVersion, Training.SampleMatrixFixture.Definition), "test");
        Assert.NotEqual(fixture.FeatureSetVersion, featureSet.Id);
        var (runId, jobId) = await fixture.App.Get<TrainingService>().StartAsync(new TrainingRunRequest(run.DatasetId, run.DatasetVersion, featureSet.Id, new TrainerSettings(Trees: 15)), "test");
        Assert.Equal(Core.Jobs.JobStatus.Succeeded, (await fixture.WaitForJobAsync(jobId)).Status);
        var champion = await fixture.RegisterAndPromoteAsync(name, fixture.StrongRun);
        var challenger = await fixture.RegisterAsync(name, runId, ScoringFixture.LenientGate);
        var workflow = await InsertShadowWorkflowAsync(fixture.App, champion, challenger, DateTime.UtcNow.AddMinutes(-1), null);
        var scorer = fixture.App.Get<ShadowScorer>();
        await Wait.UntilAsync(() => Task.FromResult(scorer.Active.Contains(workflow)), what: "the scorer takes the workflow");
        var rows = Rows(4_000, 20, 4);

        var responses = await PredictAsync(name, rows);

        await fixture.App.Get<PredictionLog>().FlushAsync();
        var store = fixture.App.Get<ShadowStore>();
        await Wait.UntilAsync(async () => await store.CountAsync(workflow) == rows.Count, what: "a shadow prediction for each");
        var shadowed = await store.ListAsync(workflow);
        var challengerModel = await fixture.App.Get<ModelServer>().ResolveAsync(name, challenger.Version);
        Assert.Equal(featureSet.Id, challengerModel.FeatureSetVersionId);
        var challengerNow = await DryRunAsync(challengerModel, rows);
        Assert.Equal(responses.Select(r => r.PredictionId!.Value), shadowed.Select(s => s.PredictionId));
        for (var k = 0; k < rows.Count; k++) Assert.Equal(challengerNow[k].Probability, shadowed[k].Probability, 12);
        // The shadow wrote the challenger's own histories (the champion's feature set version is another).
        await fixture.App.Get<Core.Features.EntityStateStore>().FlushAsync();
        await using var connection = new NpgsqlConnection(fixture.App.ConnectionString);
        Assert.True(await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM entity_state WHERE feature_set_version_id = @id", new { id = featureSet.Id }) > 0);
    }
}
