using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Dapper;
using FraudWorkbench.Api;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Events;
using FraudWorkbench.Core.Features;
using FraudWorkbench.Core.Registry;
using FraudWorkbench.Core.Retraining;
using FraudWorkbench.Core.Scoring;
using FraudWorkbench.Core.Training;
using FraudWorkbench.Tests.Infrastructure;
using FraudWorkbench.Tests.Scoring;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace FraudWorkbench.Tests.Retraining;

/// <summary>
/// Shadow scoring in the running app: the champion (the fixture's strong run) serves over HTTP while a workflow row names
/// a challenger and the feature set version whose histories it keeps; the real tailer reads the prediction log, records
/// the traffic into the challenger's histories from the feature step on, and scores it during the shadow period.
/// </summary>
[Trait("Category", "Database")]
public sealed class ShadowScorerTests(ShadowFixture fixture) : IClassFixture<ShadowFixture>
{
    private static readonly DateTime EventBase = new(2026, 6, 1, 12, 0, 0, DateTimeKind.Utc);

    /// <summary>
    /// A workflow row as the engine leaves it (columns per 0026 and 0027; its steps as the engine has them at
    /// <paramref name="step"/>), announced as the engine would. The tailer starts reading the log at <paramref name="through"/>.
    /// </summary>
    internal static async Task<Guid> InsertWorkflowAsync(
        WorkbenchAppFactory app, ModelVersion champion, ModelVersion? challenger, Guid featureSetVersionId, DateTime through,
        string step = RetrainingStep.Shadow, DateTime? shadowStartedAt = null, DateTime? shadowEndsAt = null, string status = RetrainingStatus.Running, bool steps = true)
    {
        var id = Guid.CreateVersion7();
        const string sql = """
            INSERT INTO retraining_workflows (id, registered_model_id, model_name, trigger_kind, trigger_detail, policy, champion_version_id, status, step,
                feature_set_version_id, candidate_version_id, shadow_started_at, shadow_ends_at, histories_through, histories_through_id, created_by, created_at, updated_at)
            VALUES (@id, @modelId, @model, 'manual', 'test', @policy::jsonb, @championId, @status, @step,
                @featureSetVersionId, @challengerId, @startedAt, @endsAt, @through, @nil, 'test', @through, @through);
            INSERT INTO retraining_steps (workflow_id, step, ordinal, status, started_at)
            SELECT @id, s.step, s.ordinal - 1,
                CASE WHEN s.ordinal - 1 < @current THEN 'succeeded' WHEN s.ordinal - 1 = @current THEN (CASE WHEN @step = 'shadow' THEN 'waiting' ELSE 'running' END) ELSE 'pending' END,
                CASE WHEN s.ordinal - 1 <= @current THEN @through END
            FROM unnest(@steps::text[]) WITH ORDINALITY AS s (step, ordinal)
            WHERE @withSteps;
            """;
        await using (var connection = new NpgsqlConnection(app.ConnectionString))
        {
            await connection.ExecuteAsync(sql, new
            {
                id, modelId = champion.RegisteredModelId, model = champion.ModelName, policy = RetrainingPolicy.Default.ToJson(), status, step,
                championId = champion.Id, challengerId = challenger?.Id, featureSetVersionId, startedAt = shadowStartedAt, endsAt = shadowEndsAt,
                through = LogPosition.Microseconds(through), nil = Guid.Empty, current = RetrainingStep.All.ToList().IndexOf(step), steps = RetrainingStep.All.ToArray(), withSteps = steps,
            });
        }

        await app.Get<EventHub>().PublishAsync(new RetrainingChanged(id, champion.RegisteredModelId, champion.ModelName, status, step));
        return id;
    }

    private Task ExecuteAsync(string sql, object parameters) => WithConnectionAsync(c => c.ExecuteAsync(sql, parameters));

    private async Task<T> WithConnectionAsync<T>(Func<NpgsqlConnection, Task<T>> action)
    {
        await using var connection = new NpgsqlConnection(fixture.App.ConnectionString);
        return await action(connection);
    }

    /// <summary>Ends the workflow, so the tailer leaves it alone for the tests after.</summary>
    private Task CancelAsync(Guid workflow) =>
        ExecuteAsync("UPDATE retraining_workflows SET status = 'cancelled', finished_at = now(), updated_at = now() WHERE id = @workflow", new { workflow });

    private async Task<(ModelVersion Champion, ModelVersion Challenger)> ModelAsync(string name, Guid? challengerRun = null)
    {
        var champion = await fixture.RegisterAndPromoteAsync(name, fixture.StrongRun);
        var challenger = await fixture.RegisterAsync(name, challengerRun ?? fixture.WeakRun, ScoringFixture.LenientGate);
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

    /// <summary>A month A row as a new customer's transaction, <paramref name="minute"/> minutes after <see cref="EventBase"/>.</summary>
    private Dictionary<string, object?> CustomerTransaction(string customer, int minute, int row = 100)
    {
        var transaction = fixture.Transaction(row);
        transaction["transaction_id"] = $"{customer}-{minute}";
        transaction["customer_id"] = customer;
        transaction["event_time"] = EventBase.AddMinutes(minute).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        transaction["amount"] = 10.0 + minute * 7.25;
        return transaction;
    }

    private async Task<List<PredictionResponse>> PredictAsync(string model, IEnumerable<Dictionary<string, object?>> transactions)
    {
        using var client = fixture.Client();
        var responses = new List<PredictionResponse>();
        foreach (var transaction in transactions)
        {
            var response = await client.PostAsJsonAsync("/api/v1/predict", new { model, transaction });
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            responses.Add((await response.Content.ReadFromJsonAsync<PredictionResponse>(DatasetSchema.Json))!);
        }

        await fixture.App.Get<PredictionLog>().FlushAsync();
        return responses;
    }

    private Task<List<PredictionResponse>> PredictAsync(string model, IEnumerable<int> rows) => PredictAsync(model, rows.Select(fixture.Transaction));

    /// <summary>How <paramref name="model"/> scores the transactions now, recording nothing (features from events strictly before each one's time).</summary>
    private async Task<IReadOnlyList<Core.Scoring.Prediction>> DryRunAsync(ServingModel model, IEnumerable<Dictionary<string, object?>> transactions)
    {
        var elements = transactions.Select(t => JsonSerializer.SerializeToElement(t)).ToList();
        var parsed = elements.Select(e => model.Contract.Parse(e, "", [])!).ToList();
        return await fixture.App.Get<ScoringService>().PredictAsync(model, parsed, elements, "test", dryRun: true, CancellationToken.None);
    }

    private Task<IReadOnlyList<Core.Scoring.Prediction>> DryRunAsync(ServingModel model, IEnumerable<int> rows) => DryRunAsync(model, rows.Select(fixture.Transaction));

    /// <summary>Waits until the tailer has read the log past <paramref name="createdAt"/>.</summary>
    private async Task WaitForPositionAsync(Guid workflow, DateTime createdAt, string what)
    {
        var store = fixture.App.Get<ShadowStore>();
        await Wait.UntilAsync(async () => (await store.PositionAsync(workflow))?.CreatedAt > createdAt, 60, what);
    }

    private async Task<DateTime> LoggedAtAsync(PredictionResponse response) => (await fixture.App.Get<PredictionStore>().GetAsync(response.PredictionId!.Value))!.CreatedAt;

    /// <summary>
    /// The histories of <paramref name="customer"/> in the feature set version hold exactly <paramref name="recorded"/>, each once:
    /// a later transaction's features from the stored histories equal those of an in-memory replay of those transactions
    /// alone, and the widest window's velocity count is their number.
    /// </summary>
    private async Task AssertHistoriesHoldExactlyAsync(ServingModel challenger, string customer, IReadOnlyList<Dictionary<string, object?>> recorded, int probeMinute)
    {
        var featurizer = challenger.Featurizer;
        var rows = recorded.Select(t => challenger.Contract.Parse(JsonSerializer.SerializeToElement(t), "", [])!).ToList();
        var histories = new Dictionary<(int, string), EntityHistory>();
        foreach (var row in rows.OrderBy(r => featurizer.EventTicks(r)))
        {
            featurizer.Observe(row, featurizer.EventTicks(row)!.Value, (f, e) => histories.TryGetValue((f, e), out var h) ? h : histories[(f, e)] = new EntityHistory());
        }

        var probe = challenger.Contract.Parse(JsonSerializer.SerializeToElement(CustomerTransaction(customer, probeMinute)), "", [])!;
        var expected = new float[featurizer.Set.SlotCount];
        featurizer.Compute(probe, featurizer.EventTicks(probe), (f, e) => histories.GetValueOrDefault((f, e)), expected);
        await fixture.App.Get<EntityStateStore>().FlushAsync();
        var stored = await fixture.App.Get<EntityStateStore>().ComputeAsync(challenger.FeatureSetVersionId, featurizer, probe, record: false);

        var counts = featurizer.Set.SlotNames.Select((name, i) => (name, i)).Where(s => s.name.StartsWith("customer_id__count_", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(counts);
        Assert.Equal(recorded.Count, counts.Max(c => stored[c.i]));
        for (var i = 0; i < expected.Length; i++) Assert.True(Math.Abs(expected[i] - stored[i]) <= 1e-5 * Math.Max(1, Math.Abs(expected[i])), $"{featurizer.Set.SlotNames[i]}: replay {expected[i]}, stored {stored[i]}");
    }

    private static void AssertReport(ClassificationReport? expected, ClassificationReport? actual)
    {
        Assert.NotNull(expected);
        Assert.NotNull(actual);
        // The curves are walked in the same order, so the same sums; log loss and Brier are summed per distinct score.
        Assert.Equal((expected.RocAuc, expected.AveragePrecision, expected.RecallAtOnePercentFpr, expected.Positives, expected.Negatives),
            (actual.RocAuc, actual.AveragePrecision, actual.RecallAtOnePercentFpr, actual.Positives, actual.Negatives));
        Assert.Equal(expected.LogLoss, actual.LogLoss, 12);
        Assert.Equal(expected.Brier, actual.Brier, 12);
    }

    [Fact]
    public async Task Tailer_ShadowingWorkflow_WritesTheChallengersScoresAndLeavesTheChampionsResponsesAndLogAlone()
    {
        const string name = "shadow-scoring";
        var (champion, challenger) = await ModelAsync(name);
        var start = DateTime.UtcNow;
        // The weak run shares the champion's feature set version: the champion's own scoring keeps the histories.
        var workflow = await InsertWorkflowAsync(fixture.App, champion, challenger, fixture.FeatureSetVersion, start, shadowStartedAt: start);
        var rows = Rows(2_000, 40, 10);

        var responses = await PredictAsync(name, rows);

        var store = fixture.App.Get<ShadowStore>();
        await Wait.UntilAsync(async () => await store.CountAsync(workflow) == rows.Count, 60, "a shadow prediction for each");
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

        // Labels arrive for every transaction: the comparison joins them.
        var label = fixture.Schema.IndexOf(fixture.Schema.Label!.Name);
        await fixture.App.Get<PredictionStore>().RecordFeedbackAsync([.. rows.Select((i, k) => new FeedbackItem(responses[k].PredictionId!.Value, fixture.Rows[i][label] == "1"))], "test");
        var comparison = await fixture.App.Get<ShadowComparer>().CompareAsync((await fixture.App.Get<RetrainingStore>().GetAsync(workflow))!);

        var labels = rows.Select(i => fixture.Rows[i][label] == "1").ToList();
        Assert.Equal((40L, 40L, 10L, 0L), (comparison.Transactions, comparison.Labelled, comparison.LabelledFraud, comparison.Dropped));
        AssertReport(ClassificationMetrics.Evaluate([.. shadowed.Select(s => s.ChampionProbability)], labels), comparison.ChampionRealized);
        AssertReport(ClassificationMetrics.Evaluate([.. shadowed.Select(s => s.Probability)], labels), comparison.ChallengerRealized);
        Assert.Equal(ShadowReference.Pearson([.. shadowed.Select(s => s.ChampionProbability)], [.. shadowed.Select(s => s.Probability)])!.Value, comparison.ScoreCorrelation!.Value, 12);
        Assert.Equal(shadowed.Count(s => s.Decision) / 40.0, comparison.ChallengerFlagRate, 12);
        Assert.Equal(shadowed.Sum(s => s.Probability), comparison.ChallengerExpectedFraud, 9);
        await CancelAsync(workflow);
    }

    [Fact]
    public async Task Tailer_ShadowPeriodEnds_LaterTrafficIsNotShadowedTheEngineComparesOnceReadAndOtherModelsAreNeverShadowed()
    {
        const string name = "shadow-ended";
        var (champion, challenger) = await ModelAsync(name);
        var (other, _) = await ModelAsync("shadow-ended-other");
        var start = DateTime.UtcNow;
        var workflow = await InsertWorkflowAsync(fixture.App, champion, challenger, fixture.FeatureSetVersion, start, shadowStartedAt: start);
        await PredictAsync(name, Rows(3_000, 5, 0));
        await PredictAsync(other.ModelName, Rows(3_050, 5, 0));
        var store = fixture.App.Get<ShadowStore>();
        await Wait.UntilAsync(async () => await store.CountAsync(workflow) == 5, 60, "the first five shadowed");

        // The engine ends the period (shadow_ends_at now); the tailer reads the log up to the end and advances the workflow,
        // whose comparison (a real step job) then runs and leaves it waiting for an approver.
        var ends = LogPosition.Microseconds(DateTime.UtcNow);
        await ExecuteAsync("UPDATE retraining_workflows SET shadow_ends_at = @ends, updated_at = @ends WHERE id = @workflow", new { workflow, ends });
        await PredictAsync(name, Rows(3_100, 5, 0));
        var retraining = fixture.App.Get<RetrainingStore>();
        await Wait.UntilAsync(async () => (await retraining.GetAsync(workflow))!.Status == RetrainingStatus.AwaitingApproval, 90, "the comparison once the tailer read the period");

        Assert.True((await store.PositionAsync(workflow))!.Value.CreatedAt >= ends);
        Assert.Equal(5, await store.CountAsync(workflow));
        var comparison = (await retraining.StepsAsync(workflow)).Single(s => s.Step == RetrainingStep.Shadow).Result<ShadowComparison>()!;
        Assert.Equal((5L, 0L), (comparison.Transactions, comparison.Dropped));
        Assert.Equal(0, await WithConnectionAsync(c => c.ExecuteScalarAsync<long>(
            "SELECT count(*) FROM shadow_predictions WHERE champion_version_id = @other", new { other = other.Id })));
        await CancelAsync(workflow);
    }

    [Fact]
    public async Task Tailer_ChallengerWithItsOwnFeatureSetVersion_KeepsItsOwnHistoriesAndScoresAsItWould()
    {
        // As after a retraining: the recipes refitted as a new feature set version, so the challenger's velocity features
        // come from histories only the tailer writes (record: true), never from the champion's.
        const string name = "shadow-refit";
        var (featureSet, run) = await fixture.RefitAsync();
        var (champion, challenger) = await ModelAsync(name, run);
        var start = DateTime.UtcNow;
        var workflow = await InsertWorkflowAsync(fixture.App, champion, challenger, featureSet, start, shadowStartedAt: start);
        var rows = Rows(4_000, 20, 4);

        var responses = await PredictAsync(name, rows);

        var store = fixture.App.Get<ShadowStore>();
        await Wait.UntilAsync(async () => await store.CountAsync(workflow) == rows.Count, 60, "a shadow prediction for each");
        var shadowed = await store.ListAsync(workflow);
        var challengerModel = await fixture.App.Get<ModelServer>().ResolveAsync(name, challenger.Version);
        Assert.Equal(featureSet, challengerModel.FeatureSetVersionId);
        await fixture.App.Get<EntityStateStore>().FlushAsync();
        var challengerNow = await DryRunAsync(challengerModel, rows);
        Assert.Equal(responses.Select(r => r.PredictionId!.Value), shadowed.Select(s => s.PredictionId));
        for (var k = 0; k < rows.Count; k++) Assert.Equal(challengerNow[k].Probability, shadowed[k].Probability, 12);
        // The tailer wrote the challenger's own histories (the champion's feature set version is another).
        Assert.True(await WithConnectionAsync(c => c.ExecuteScalarAsync<long>("SELECT count(*) FROM entity_state WHERE feature_set_version_id = @id", new { id = featureSet })) > 0);
        await CancelAsync(workflow);
    }

    [Fact]
    public async Task Tailer_TrafficBeforeTheShadowAndWhileAwaitingApproval_RecordedIntoTheChallengersHistoriesExactlyOnce()
    {
        // The gaps of the queue-fed shadow: what the champion served during training and the gate, and after the shadow
        // period while an approver takes their time, never reached the challenger's histories.
        const string name = "shadow-gaps";
        var (featureSet, run) = await fixture.RefitAsync();
        var (champion, challenger) = await ModelAsync(name, run);
        var customer = "gap-" + Guid.NewGuid().ToString("N")[..8];
        var minute = 0;
        List<Dictionary<string, object?>> Next(int count) => [.. Enumerable.Range(0, count).Select(_ => CustomerTransaction(customer, minute++))];

        // Before the feature step's cut: the step's own replay holds this one, the tailer must not add it again.
        var early = await PredictAsync(name, Next(1));
        var cut = (await LoggedAtAsync(early[0])).AddTicks(10);
        // No step rows: the engine leaves alone a workflow whose steps this test moves by hand.
        var workflow = await InsertWorkflowAsync(fixture.App, champion, null, featureSet, cut, step: RetrainingStep.Train, steps: false);
        var recorded = new List<Dictionary<string, object?>>();

        var training = Next(2);
        await PredictAsync(name, training);
        recorded.AddRange(training);
        await ExecuteAsync("UPDATE retraining_workflows SET step = 'gate', candidate_version_id = @challenger WHERE id = @workflow", new { workflow, challenger = challenger.Id });
        var gate = Next(2);
        await PredictAsync(name, gate);
        recorded.AddRange(gate);

        var shadowStart = LogPosition.Microseconds(DateTime.UtcNow);
        await ExecuteAsync("UPDATE retraining_workflows SET step = 'shadow', shadow_started_at = @shadowStart WHERE id = @workflow", new { workflow, shadowStart });
        var shadowTraffic = Next(2);
        var shadowResponses = await PredictAsync(name, shadowTraffic);
        recorded.AddRange(shadowTraffic);

        var shadowEnd = LogPosition.Microseconds(DateTime.UtcNow);
        await ExecuteAsync("UPDATE retraining_workflows SET status = 'awaiting_approval', step = 'approval', shadow_ends_at = @shadowEnd WHERE id = @workflow", new { workflow, shadowEnd });
        var approval = Next(2);
        var last = await PredictAsync(name, approval);
        recorded.AddRange(approval);

        await WaitForPositionAsync(workflow, await LoggedAtAsync(last[^1]), "the tailer reads the traffic sent while awaiting approval");

        // Shadow predictions for the shadow period's two alone; every transaction since the cut in the histories once.
        Assert.Equal(shadowResponses.Select(r => r.PredictionId!.Value), (await fixture.App.Get<ShadowStore>().ListAsync(workflow)).Select(s => s.PredictionId));
        var challengerModel = await fixture.App.Get<ModelServer>().ResolveAsync(name, challenger.Version);
        await AssertHistoriesHoldExactlyAsync(challengerModel, customer, recorded, probeMinute: minute + 1);
        await CancelAsync(workflow);
    }

    [Fact]
    public async Task Tailer_TwoInstancesOnOneDatabase_EachLoggedTransactionRecordedAndShadowedOnce()
    {
        const string name = "shadow-two";
        var (featureSet, run) = await fixture.RefitAsync();
        var (champion, challenger) = await ModelAsync(name, run);
        var customer = "two-" + Guid.NewGuid().ToString("N")[..8];
        var start = DateTime.UtcNow;
        var workflow = await InsertWorkflowAsync(fixture.App, champion, challenger, featureSet, start, shadowStartedAt: start);

        // A second instance: its own tailer and its own copy of the entity histories, on the same database, passing as fast
        // as it can while the app's own tailer passes every quarter second.
        var services = fixture.App.Services;
        var entities = new EntityStateStore(services.GetRequiredService<NpgsqlDataSource>(), TimeProvider.System);
        await entities.StartAsync(default);
        var second = ActivatorUtilities.CreateInstance<ShadowScorer>(services, entities);
        var first = services.GetRequiredService<ShadowScorer>();
        using var stop = new CancellationTokenSource();
        long secondRead = 0;
        var loop = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                Interlocked.Add(ref secondRead, (await second.RunOnceAsync()).Read);
                await Task.Delay(20);
            }
        });

        var sent = new List<Dictionary<string, object?>>();
        var responses = new List<PredictionResponse>();
        var firstBefore = first.Shadowed;
        for (var round = 0; round < 40 && (sent.Count < 12 || secondRead == 0 || first.Shadowed == firstBefore); round++)
        {
            var batch = Enumerable.Range(sent.Count, 3).Select(m => CustomerTransaction(customer, m)).ToList();
            responses.AddRange(await PredictAsync(name, batch));
            sent.AddRange(batch);
            await Task.Delay(400);
        }

        await WaitForPositionAsync(workflow, await LoggedAtAsync(responses[^1]), "the tailers read every transaction");
        await stop.CancelAsync();
        await loop;
        await entities.StopAsync(default);
        second.Dispose();

        Assert.True(secondRead > 0 && first.Shadowed > firstBefore, $"both instances tailed: the second read {secondRead}, the first shadowed {first.Shadowed - firstBefore}");
        var shadowed = await fixture.App.Get<ShadowStore>().ListAsync(workflow);
        Assert.Equal(responses.Select(r => r.PredictionId!.Value), shadowed.Select(s => s.PredictionId));
        var challengerModel = await fixture.App.Get<ModelServer>().ResolveAsync(name, challenger.Version);
        await AssertHistoriesHoldExactlyAsync(challengerModel, customer, sent, probeMinute: sent.Count + 1);
        // Each instance scored from histories holding what the other had recorded: a copy left stale by the other's batches
        // would show here as velocity features missing transactions.
        var now = await DryRunAsync(challengerModel, sent);
        for (var k = 0; k < sent.Count; k++) Assert.Equal(now[k].Probability, shadowed[k].Probability, 12);
        await CancelAsync(workflow);
    }

    [Fact]
    public async Task Comparison_LogRowsThePeriodMissed_CountedAsDroppedFromTheDatabaseByAnyInstanceAfterARestart()
    {
        const string name = "shadow-dropped";
        var (champion, challenger) = await ModelAsync(name);
        var start = DateTime.UtcNow;
        var workflow = await InsertWorkflowAsync(fixture.App, champion, challenger, fixture.FeatureSetVersion, start, shadowStartedAt: start);
        var store = fixture.App.Get<ShadowStore>();
        await PredictAsync(name, Rows(5_000, 5, 0));
        await Wait.UntilAsync(async () => await store.CountAsync(workflow) == 5, 60, "the first five shadowed");

        // Three predictions the log committed only after the tailer had read past their time (as a retried log batch may):
        // served, in the period, never shadowed.
        var position = (await store.PositionAsync(workflow))!.Value;
        Assert.True(position.CreatedAt > start);
        var input = JsonSerializer.Serialize(fixture.Transaction(5_100));
        for (var k = 1; k <= 3; k++)
        {
            await ExecuteAsync("""
                INSERT INTO predictions (id, created_at, model_version_id, actor, input, features, probability, decision, latency_ms)
                VALUES (@id, @at, @champion, 'test', @input::jsonb, '{}', 0.25, false, 1)
                """, new { id = Guid.NewGuid(), at = position.CreatedAt.AddTicks(-10 * k), champion = champion.Id, input });
        }

        // A new instance (as after a restart) carries on from the stored position; the app's own tailer is still there too.
        var restarted = ActivatorUtilities.CreateInstance<ShadowScorer>(fixture.App.Services);
        var later = await PredictAsync(name, Rows(5_200, 4, 0));
        await Wait.UntilAsync(async () =>
        {
            await restarted.RunOnceAsync();
            return await store.CountAsync(workflow) == 9;
        }, 60, "the later four shadowed");
        var ends = LogPosition.Microseconds(DateTime.UtcNow);
        await ExecuteAsync("UPDATE retraining_workflows SET shadow_ends_at = @ends WHERE id = @workflow", new { workflow, ends });
        await WaitForPositionAsync(workflow, ends.AddTicks(-10), "the tailer reads the period to its end");

        // A comparer of its own, as on another instance: the figures come from the database alone.
        var comparison = await new ShadowComparer(fixture.App.Get<NpgsqlDataSource>()).CompareAsync((await fixture.App.Get<RetrainingStore>().GetAsync(workflow))!);
        Assert.Equal((9L, 3L), (comparison.Transactions, comparison.Dropped));
        Assert.Equal(await LoggedAtAsync(later[^1]), comparison.To);
        // 3 of 12 is over 5 %: no automatic promotion on that.
        var doubt = RetrainingEngine.ShadowDoubt(new RetrainingStepRow(workflow, RetrainingStep.Shadow, 5, RetrainingStepStatus.Succeeded, null, null, null, RetrainingJson.Serialize(comparison), null));
        Assert.Equal("the challenger did not score 3 of the champion's 12 transactions in the shadow period (more than 5 %).", doubt);
        restarted.Dispose();
        await CancelAsync(workflow);
    }

    [Fact]
    public async Task Comparison_ChallengerCannotBeLoaded_ThePeriodsTrafficCountsAsDropped()
    {
        // The candidate was trained on another feature set version than the workflow's histories: the tailer refuses to score
        // it with them, and says so in the comparison rather than leave the period looking quiet.
        const string name = "shadow-unloadable";
        var (_, run) = await fixture.RefitAsync();
        var (champion, challenger) = await ModelAsync(name, run);
        var start = DateTime.UtcNow;
        var workflow = await InsertWorkflowAsync(fixture.App, champion, challenger, fixture.FeatureSetVersion, start, shadowStartedAt: start);
        var responses = await PredictAsync(name, Rows(6_000, 6, 0));
        await WaitForPositionAsync(workflow, await LoggedAtAsync(responses[^1]), "the tailer reads the six");
        await ExecuteAsync("UPDATE retraining_workflows SET shadow_ends_at = @ends WHERE id = @workflow", new { workflow, ends = LogPosition.Microseconds(DateTime.UtcNow) });

        var comparison = await fixture.App.Get<ShadowComparer>().CompareAsync((await fixture.App.Get<RetrainingStore>().GetAsync(workflow))!);

        Assert.Equal((0L, 6L), (comparison.Transactions, comparison.Dropped));
        Assert.Equal("the challenger scored no live transaction in the shadow period.",
            RetrainingEngine.ShadowDoubt(new RetrainingStepRow(workflow, RetrainingStep.Shadow, 5, RetrainingStepStatus.Succeeded, null, null, null, RetrainingJson.Serialize(comparison), null)));
        await CancelAsync(workflow);
    }

    /// <summary>The comparison data set of <see cref="Comparison_ThousandsOfPairs_SqlEqualsTheInMemoryReferenceAndScipySklearn"/>, reproducible in Python.</summary>
    private static (double A, double B, bool Fa, bool Fb, float Latency, bool? Label) Pair(int i)
    {
        var ai = i * 7919 % 1000;
        var bi = ai * 8 + i * 104729 % 2000;
        var (a, b) = (ai / 1000.0, bi / 10000.0);
        return (a, b, a >= 0.5, b >= 0.45, (float)(i * 31 % 97 / 10.0), i % 4 == 0 ? null : ai + i % 7 * 50 > 800);
    }

    [Fact]
    public async Task Comparison_ThousandsOfPairs_SqlEqualsTheInMemoryReferenceAndScipySklearn()
    {
        const string name = "shadow-compare";
        var (champion, challenger) = await ModelAsync(name);
        var start = LogPosition.Microseconds(DateTime.UtcNow.AddHours(-1));
        var ends = start.AddMinutes(30);
        // Cancelled, so not tailed: the rows below are the whole story.
        var workflow = await InsertWorkflowAsync(fixture.App, champion, challenger, fixture.FeatureSetVersion, start, shadowStartedAt: start, shadowEndsAt: ends, status: RetrainingStatus.Cancelled);
        const int n = 3_000;
        var pairs = Enumerable.Range(0, n).Select(Pair).ToList();
        var ids = Enumerable.Range(0, n).Select(_ => Guid.NewGuid()).ToArray();
        var times = Enumerable.Range(0, n).Select(i => start.AddMilliseconds(i)).ToArray();
        await using (var connection = new NpgsqlConnection(fixture.App.ConnectionString))
        {
            const string log = """
                INSERT INTO predictions (id, created_at, model_version_id, actor, input, features, probability, decision, latency_ms)
                SELECT id, at, @champion, 'test', '{}', '{}', p, p >= 0.5, 1 FROM unnest(@ids::uuid[], @times::timestamptz[], @probabilities::float8[]) AS t(id, at, p)
                """;
            await connection.ExecuteAsync(log, new { champion = champion.Id, ids, times, probabilities = pairs.Select(p => p.A).ToArray() });
            const string shadow = """
                INSERT INTO shadow_predictions (workflow_id, prediction_id, prediction_created_at, champion_version_id, challenger_version_id,
                    champion_probability, champion_decision, probability, decision, latency_ms, scored_at)
                SELECT @workflow, id, at, @champion, @challenger, a, fa, b, fb, l, now()
                FROM unnest(@ids::uuid[], @times::timestamptz[], @a::float8[], @fa::boolean[], @b::float8[], @fb::boolean[], @l::real[]) AS t(id, at, a, fa, b, fb, l)
                """;
            await connection.ExecuteAsync(shadow, new
            {
                workflow, champion = champion.Id, challenger = challenger.Id, ids, times,
                a = pairs.Select(p => p.A).ToArray(), fa = pairs.Select(p => p.Fa).ToArray(), b = pairs.Select(p => p.B).ToArray(),
                fb = pairs.Select(p => p.Fb).ToArray(), l = pairs.Select(p => p.Latency).ToArray(),
            });
            var labelled = Enumerable.Range(0, n).Where(i => pairs[i].Label is not null).ToList();
            await connection.ExecuteAsync("""
                INSERT INTO prediction_feedback (prediction_id, prediction_created_at, is_fraud, actor, received_at)
                SELECT id, at, y, 'test', now() FROM unnest(@ids::uuid[], @times::timestamptz[], @labels::boolean[]) AS t(id, at, y)
                """, new { ids = labelled.Select(i => ids[i]).ToArray(), times = labelled.Select(i => times[i]).ToArray(), labels = labelled.Select(i => pairs[i].Label!.Value).ToArray() });
            // Outside the period: shadow predictions after its end, and champion traffic before and after it, none of which counts.
            // Inside it: 37 of the champion's predictions without a shadow prediction, which count as dropped.
            var outside = Enumerable.Range(0, 4).Select(k => (Id: Guid.NewGuid(), At: ends.AddSeconds(k))).ToList();
            var unshadowed = Enumerable.Range(0, 37).Select(k => (Id: Guid.NewGuid(), At: start.AddSeconds(10 + k))).ToList();
            var elsewhere = Enumerable.Range(0, 5).Select(k => (Id: Guid.NewGuid(), At: start.AddSeconds(-1 - k))).Concat(outside).ToList();
            foreach (var (id, at) in unshadowed.Concat(elsewhere))
            {
                await connection.ExecuteAsync("""
                    INSERT INTO predictions (id, created_at, model_version_id, actor, input, features, probability, decision, latency_ms)
                    VALUES (@id, @at, @champion, 'test', '{}', '{}', 0.5, true, 1)
                    """, new { id, at, champion = champion.Id });
            }

            foreach (var (id, at) in outside)
            {
                await connection.ExecuteAsync("""
                    INSERT INTO shadow_predictions (workflow_id, prediction_id, prediction_created_at, champion_version_id, challenger_version_id,
                        champion_probability, champion_decision, probability, decision, latency_ms, scored_at)
                    VALUES (@workflow, @id, @at, @champion, @challenger, 0.99, true, 0.01, false, 500, now())
                    """, new { workflow, id, at, champion = champion.Id, challenger = challenger.Id });
            }
        }

        var comparison = await fixture.App.Get<ShadowComparer>().CompareAsync((await fixture.App.Get<RetrainingStore>().GetAsync(workflow))!);

        var reference = ShadowReference.Compare([.. pairs.Select((p, i) => new ShadowPair(p.A, p.Fa, p.B, p.Fb, p.Latency, times[i], p.Label))], 37);
        Assert.Equal((reference.Transactions, reference.Dropped, reference.From, reference.To, reference.Labelled, reference.LabelledFraud),
            (comparison.Transactions, comparison.Dropped, comparison.From, comparison.To, comparison.Labelled, comparison.LabelledFraud));
        Assert.Equal((3_000L, 37L, 2_250L, 787L), (comparison.Transactions, comparison.Dropped, comparison.Labelled, comparison.LabelledFraud));
        foreach (var (expected, actual) in new[]
        {
            (reference.ScoreCorrelation!.Value, comparison.ScoreCorrelation!.Value), (reference.RankCorrelation!.Value, comparison.RankCorrelation!.Value),
            (reference.FlagAgreement!.Value, comparison.FlagAgreement!.Value), (reference.Kappa!.Value, comparison.Kappa!.Value),
            (reference.ChampionFlagRate, comparison.ChampionFlagRate), (reference.ChallengerFlagRate, comparison.ChallengerFlagRate),
            (reference.ChampionMeanScore, comparison.ChampionMeanScore), (reference.ChallengerMeanScore, comparison.ChallengerMeanScore),
            (reference.ChallengerLatencyP99Ms, comparison.ChallengerLatencyP99Ms),
        })
        {
            Assert.Equal(expected, actual, 12);
        }

        Assert.Equal(reference.ChampionExpectedFraud, comparison.ChampionExpectedFraud, 9);
        Assert.Equal(reference.ChallengerExpectedFraud, comparison.ChallengerExpectedFraud, 9);
        AssertReport(reference.ChampionRealized, comparison.ChampionRealized);
        AssertReport(reference.ChallengerRealized, comparison.ChallengerRealized);

        // The same data through /usr/bin/python3 (numpy 1.24, scipy 1.10, scikit-learn 1.2), with the generator of Pair:
        //   scipy.stats.pearsonr(a, b)[0] = 0.9694874209543896, scipy.stats.spearmanr(a, b)[0] = 0.9487017471345508,
        //   sklearn.metrics.cohen_kappa_score(fa, fb) = 0.724, numpy.percentile(float32 latency, 99) = 9.600000381469727,
        //   on the labelled: roc_auc_score 0.9777241417046139 / 0.9573781398164465, average_precision_score 0.9607829441887658 / 0.9226085896089864,
        //   log_loss 0.3754068717581582 / 0.4308553907267384, brier_score_loss 0.11603222222222224 / 0.13310194888888888,
        //   max TPR at FPR <= 1 % on roc_curve(drop_intermediate=False) 0.6797966963151207 / 0.49809402795425667.
        Assert.Equal(0.9694874209543896, comparison.ScoreCorrelation!.Value, 12);
        Assert.Equal(0.9487017471345508, comparison.RankCorrelation!.Value, 12);
        Assert.Equal(0.724, comparison.Kappa!.Value, 12);
        Assert.Equal(0.862, comparison.FlagAgreement!.Value, 12);
        Assert.Equal((0.5, 0.5833333333333334), (comparison.ChampionFlagRate, comparison.ChallengerFlagRate));
        Assert.Equal(1498.5, comparison.ChampionExpectedFraud, 9);
        Assert.Equal(1498.25, comparison.ChallengerExpectedFraud, 9);
        Assert.Equal(9.600000381469727, comparison.ChallengerLatencyP99Ms, 9);
        foreach (var (report, roc, ap, logLoss, brier, recall) in new[]
        {
            (comparison.ChampionRealized!, 0.9777241417046139, 0.9607829441887658, 0.3754068717581582, 0.11603222222222224, 0.6797966963151207),
            (comparison.ChallengerRealized!, 0.9573781398164465, 0.9226085896089864, 0.4308553907267384, 0.13310194888888888, 0.49809402795425667),
        })
        {
            Assert.Equal(roc, report.RocAuc, 12);
            Assert.Equal(ap, report.AveragePrecision, 12);
            Assert.Equal(logLoss, report.LogLoss, 12);
            Assert.Equal(brier, report.Brier, 12);
            Assert.Equal(recall, report.RecallAtOnePercentFpr, 12);
        }
    }
}
