using System.Globalization;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Features;
using FraudWorkbench.Core.Registry;
using FraudWorkbench.Core.Retraining;
using FraudWorkbench.Core.Scoring;
using FraudWorkbench.Core.Training;
using FraudWorkbench.Tests.Scoring;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using Xunit.Abstractions;

namespace FraudWorkbench.Tests.Retraining;

/// <summary>The common recent holdout: the month A model against a challenger trained on month B traffic, on month B's latest mature week.</summary>
[Trait("Category", "Database")]
[Collection(RetrainingDataCollection.Name)]
public sealed class RecentHoldoutGateCheckTests(ScoringFixture fixture, ITestOutputHelper output)
{
    private static readonly string MonthB = Path.Combine(AppContext.BaseDirectory, "samples", "transactions-month-b.csv");
    private static readonly DateTime February = new(2026, 2, 1, 0, 0, 0, DateTimeKind.Utc);

    private async Task<IReadOnlyList<GateCheck>> EvaluateAsync(RecentHoldoutGateCheck check, string model, ModelVersion candidate, ModelVersion? champion)
    {
        var loader = fixture.App.Get<ModelLoader>();
        using var candidateModel = await loader.LoadAsync(candidate);
        using var championModel = champion is null ? null : await loader.LoadAsync(champion);
        var registered = (await fixture.App.Get<RegistryStore>().GetModelAsync(model))!;
        var evidence = new GateEvidence(registered, candidate, candidateModel, [], [], [], champion, championModel, champion is null ? null : []);
        return await check.EvaluateAsync(evidence, await RetrainingDataScenario.ContextAsync(fixture), default);
    }

    [Fact]
    public async Task EvaluateAsync_ChallengerTrainedOnRecentTraffic_BeatsTheChampionUnlessTheMarginIsUnreachable()
    {
        const string model = "rt-holdout";
        var champion = await fixture.RegisterAndPromoteAsync(model, fixture.StrongRun);
        await RetrainingDataScenario.SetLabelWindowAsync(fixture, model, 14);

        // Month B as the past 28 days of the month A model's traffic (times shifted, order kept); labels for all but the last two days.
        List<string?[]> rows;
        await using (var file = File.OpenRead(MonthB)) rows = DatasetRows.Read(file, fixture.Schema);
        int time = fixture.Schema.IndexOf("event_time"), label = fixture.Schema.IndexOf("is_fraud");
        var now = DateTime.UtcNow;
        var start = new DateTime(now.Ticks - now.Ticks % TimeSpan.TicksPerMinute, DateTimeKind.Utc).AddDays(-28);
        var traffic = rows.Select((r, i) =>
        {
            var at = start + (DateTime.Parse(r[time]!, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal) - February);
            return new LoggedTraffic(Guid.CreateVersion7(at), at, champion.Id, i, at <= now.AddDays(-2) ? r[label] == "1" : null);
        }).ToList();
        await RetrainingDataScenario.LogAsync(fixture, traffic, rows);

        // The workflow's steps: the dataset (the original rows and the traffic), the refit, a run with the champion's recipe.
        var policy = new RetrainingPolicy(TrainingWindowDays: 28, HoldoutDays: 7, DataMode: RetrainingDataMode.Append);
        var workflow = await RetrainingDataScenario.StartWorkflowAsync(fixture, model, policy, champion.Id, now);
        var dataset = await RetrainingDataScenario.Create<TrainingDataBuilder>(fixture, TimeProvider.System).BuildAsync(workflow, await RetrainingDataScenario.ContextAsync(fixture), default);
        workflow = await RetrainingDataScenario.SetAsync(fixture, workflow, dataset);
        var features = await fixture.App.Get<RetrainingFeatureFitter>().FitAsync(workflow, await RetrainingDataScenario.ContextAsync(fixture), default);
        var recipe = (await fixture.App.Get<TrainingRunStore>().GetAsync(fixture.StrongRun))!.Config;
        var (runId, jobId) = await fixture.App.Get<TrainingService>().StartAsync(
            recipe with { DatasetId = dataset.DatasetId, DatasetVersion = dataset.DatasetVersion, FeatureSetVersionId = features.FeatureSetVersionId, Name = null }, "test");
        var trained = await fixture.WaitForJobAsync(jobId, 600);
        Assert.True(trained.Status == Core.Jobs.JobStatus.Succeeded, trained.Error);
        workflow = await RetrainingDataScenario.SetAsync(fixture, workflow, runId: runId);

        // Registering runs the gate, and the gate this check.
        var candidate = await fixture.RegisterAsync(model, runId);
        var checks = candidate.GateResult!.Checks.Where(c => c.Kind == RecentHoldoutGateCheck.Kind).ToList();
        foreach (var c in checks) output.WriteLine($"{c.Metric} {c.Candidate:F4} vs {c.Reference:F4}: {c.Rule} passed={c.Passed} ({c.Subject})");

        // The holdout: 7 whole days ending at the start of the first immature day (now − 14 days, at midnight UTC). Counted
        // here from the rows themselves: every row in it has its label (the last two days are long after it).
        var holdoutTo = now.AddDays(-14).Date;
        var holdout = traffic.Where(t => t.CreatedAt >= holdoutTo.AddDays(-7) && t.CreatedAt < holdoutTo).ToList();
        Assert.Equal((holdoutTo.AddDays(-7), holdoutTo), (dataset.HoldoutFrom, dataset.HoldoutTo));
        var subject = string.Create(CultureInfo.InvariantCulture, $"{holdout.Count:N0} labelled rows, {holdout.Count(t => t.Fraud == true):N0} fraud");
        Assert.Equal(2, checks.Count); // PR-AUC with the policy's improvement, and the gate's one compared metric (pr_auc, margins 1)
        Assert.All(checks, c => Assert.Contains(subject, c.Subject));
        var prAuc = checks[0];
        Assert.Equal(GateMetric.PrAuc, prAuc.Metric);
        Assert.True(prAuc.Passed && prAuc.Candidate > prAuc.Reference, $"{prAuc.Candidate} vs {prAuc.Reference}");
        Assert.True(checks[1].Passed);
        // The dataset step kept the holdout out of the training rows.
        Assert.True(dataset.LeftOut >= holdout.Count);

        // A margin no model can reach fails the same comparison.
        await RetrainingDataScenario.SetAsync(fixture, workflow, policy: policy with { MinImprovement = 1 });
        var strict = await EvaluateAsync(fixture.App.Get<RecentHoldoutGateCheck>(), model, candidate, champion);
        Assert.Equal((prAuc.Candidate, prAuc.Reference, false, false), (strict[0].Candidate, strict[0].Reference, strict[0].Passed, strict[0].Inconclusive));
        Assert.Equal(GateStatus.Failed, GateStatus.Of(strict));

        // Retraining the challenger at once (its dataset is the built one, with its prediction_id column): every mature row of
        // the window is already among its original rows, so nothing new is added twice and there is nothing to train on.
        var again = await RetrainingDataScenario.StartWorkflowAsync(fixture, model, policy, candidate.Id, DateTime.UtcNow);
        var error = await Assert.ThrowsAsync<Core.Jobs.NonRetryableJobException>(async () =>
            await RetrainingDataScenario.Create<TrainingDataBuilder>(fixture, TimeProvider.System).BuildAsync(again, await RetrainingDataScenario.ContextAsync(fixture), default));
        Assert.Contains("No production traffic", error.Message);
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"{dataset.TrafficRows:N0} already among the original rows"), error.Message);
    }

    [Fact]
    public async Task EvaluateAsync_OneClassHoldout_Inconclusive()
    {
        const string model = "rt-holdout-one-class";
        var (v1, v2, _) = await RetrainingDataScenario.HandMadeAsync(fixture, model);
        var workflow = await RetrainingDataScenario.StartWorkflowAsync(fixture, model, RetrainingDataScenario.Policy, v2.Id, RetrainingDataScenario.Now);
        var clock = new FakeTimeProvider(new DateTimeOffset(RetrainingDataScenario.Now));
        var dataset = await RetrainingDataScenario.Create<TrainingDataBuilder>(fixture, clock).BuildAsync(workflow, await RetrainingDataScenario.ContextAsync(fixture), default);
        // Version 1's run stands in for the workflow's run: the check finds the workflow by it.
        await RetrainingDataScenario.SetAsync(fixture, workflow, dataset, runId: v1.RunId);

        var checks = await EvaluateAsync(RetrainingDataScenario.Create<RecentHoldoutGateCheck>(fixture, clock), model, v1, v2);

        var check = Assert.Single(checks);
        Assert.Equal((RecentHoldoutGateCheck.Kind, false, true, (double?)null), (check.Kind, check.Passed, check.Inconclusive, check.Candidate));
        // The 61 holdout rows of the hand-made traffic, all unlabelled past the label window: legitimate, no fraud.
        Assert.Contains("61 labelled rows, 0 fraud", check.Subject);
        Assert.Equal(GateStatus.Inconclusive, GateStatus.Of(checks));
    }

    /// <summary>The backdated scenario's clock, policy and windows: [05-18 12:00, 06-15 12:00), the holdout [05-25, 06-01).</summary>
    private static readonly RetrainingPolicy SevenDayHoldout = RetrainingDataScenario.Policy with { HoldoutDays = 7 };

    private static readonly DateTime WindowFrom = RetrainingDataScenario.Now.AddDays(-28);
    private static readonly DateTime HoldoutFrom = new(2026, 5, 25, 0, 0, 0, DateTimeKind.Utc);
    private static readonly DateTime HoldoutTo = new(2026, 6, 1, 0, 0, 0, DateTimeKind.Utc);

    private sealed record Backdated(ModelVersion Candidate, ModelVersion Champion, List<LoggedTraffic> Traffic, List<string?[]> Rows, FakeTimeProvider Clock);

    /// <summary>
    /// <paramref name="model"/> with the weak run's copy as the candidate of a workflow and the strong run in production (14-day
    /// label window), and 4,000 month A rows logged from 05-18 13:00 to 05-31 in event-time order but each 0 to 10 minutes
    /// late and one in 40 up to two days late; one row in 20 shares the previous row's event time and 3 in 100 have none;
    /// customers come from a pool of 150, so the velocity and ratio features see repeat customers.
    /// Fraud is labelled; of the rest 4 in 5 are labelled legitimate, the others legitimate by the label window.
    /// </summary>
    private async Task<Backdated> BackdatedAsync(string model)
    {
        var weak = await fixture.RegisterAndPromoteAsync(model, fixture.WeakRun);
        var champion = await fixture.RegisterAndPromoteAsync(model, fixture.StrongRun);
        await RetrainingDataScenario.SetLabelWindowAsync(fixture, model, 14);
        int time = fixture.Schema.IndexOf("event_time"), customer = fixture.Schema.IndexOf("customer_id"), label = fixture.Schema.IndexOf("is_fraud");
        var random = new Random(7);
        var rows = new List<string?[]>();
        var traffic = new List<LoggedTraffic>();
        var first = new DateTime(2026, 5, 18, 13, 0, 0, DateTimeKind.Utc);
        const int count = 4_000;
        for (var i = 0; i < count; i++)
        {
            var row = (string?[])fixture.Rows[i].Clone();
            row[customer] = $"c_{random.Next(150)}";
            var shape = random.NextDouble();
            if (shape < 0.05 && i > 0) row[time] = rows[^1][time];
            else if (shape < 0.08) row[time] = null; // sent by a version without time features (the API refuses an unparseable one)
            rows.Add(row);
            var late = random.NextDouble() < 0.025 ? TimeSpan.FromHours(48 * random.NextDouble()) : TimeSpan.FromMinutes(10 * random.NextDouble());
            var at = first + TimeSpan.FromTicks((long)(i * (double)TimeSpan.FromHours(12 * 24 + 10).Ticks / count)) + late;
            at = new DateTime(at.Ticks - at.Ticks % TimeSpan.TicksPerMillisecond, DateTimeKind.Utc); // PostgreSQL keeps microseconds
            var fraud = row[label] == "1";
            traffic.Add(new LoggedTraffic(Guid.CreateVersion7(at), at, champion.Id, i, fraud ? true : random.NextDouble() < 0.8 ? false : null));
        }

        await RetrainingDataScenario.LogAsync(fixture, traffic, rows);
        var clock = new FakeTimeProvider(new DateTimeOffset(RetrainingDataScenario.Now));
        var workflow = await RetrainingDataScenario.StartWorkflowAsync(fixture, model, SevenDayHoldout, champion.Id, RetrainingDataScenario.Now);
        var dataset = await RetrainingDataScenario.Create<TrainingDataBuilder>(fixture, clock).BuildAsync(workflow, await RetrainingDataScenario.ContextAsync(fixture), default);
        Assert.Equal((HoldoutFrom, HoldoutTo), (dataset.HoldoutFrom!.Value, dataset.HoldoutTo!.Value));
        // The weak model as the workflow's candidate, by a run of its own (other tests' workflows name the weak run itself).
        var candidate = weak with { RunId = await EarlierWorkflowScenario.CopyRunAsync(fixture, weak.RunId) };
        await RetrainingDataScenario.SetAsync(fixture, workflow, dataset, runId: candidate.RunId);
        return new Backdated(candidate, champion, traffic, rows, clock);
    }

    /// <summary>
    /// What the check computed before it streamed: every logged row of the window into a list per model, each model's feature
    /// matrix over all of them with <see cref="BatchFeaturizer"/>, then the labelled holdout rows scored (those in
    /// <paramref name="leftOut"/> left out).
    /// </summary>
    private async Task<(double Candidate, double Champion, int Rows, int Fraud)> BatchReferenceAsync(string model, Backdated scenario, IReadOnlySet<Guid> leftOut)
    {
        var loader = fixture.App.Get<ModelLoader>();
        using var candidate = await loader.LoadAsync(scenario.Candidate);
        using var champion = await loader.LoadAsync(scenario.Champion);
        var registered = (await fixture.App.Get<RegistryStore>().GetModelAsync(model))!;
        List<string?[]> candidateRows = [], championRows = [];
        List<int> scored = [];
        List<bool> labels = [];
        await foreach (var prediction in RetrainingTraffic.ReadAsync(fixture.App.Get<NpgsqlDataSource>(), registered.Id, WindowFrom, HoldoutTo, default))
        {
            candidateRows.Add(RetrainingTraffic.ParseRow(prediction.InputJson, candidate.Features.Schema));
            championRows.Add(RetrainingTraffic.ParseRow(prediction.InputJson, champion.Features.Schema));
            if (prediction.CreatedAt < HoldoutFrom || leftOut.Contains(prediction.Id)) continue;
            var label = RetrainingTraffic.Label(prediction.IsFraud, prediction.CreatedAt, RetrainingDataScenario.Now, 14);
            if (label == TrafficLabel.Unknown) continue;
            scored.Add(candidateRows.Count - 1);
            labels.Add(label == TrafficLabel.Fraud);
        }

        double AveragePrecision(ServingModel m, List<string?[]> rows)
        {
            var matrix = BatchFeaturizer.Run(m.Features, rows);
            var width = m.Features.SlotCount;
            var features = new float[scored.Count * width];
            for (var k = 0; k < scored.Count; k++) matrix.AsSpan(scored[k] * width, width).CopyTo(features.AsSpan(k * width, width));
            var probabilities = new double[scored.Count];
            m.Probabilities(features, scored.Count, probabilities);
            return ClassificationMetrics.Evaluate(probabilities, labels).AveragePrecision;
        }

        return (AveragePrecision(candidate, candidateRows), AveragePrecision(champion, championRows), labels.Count, labels.Count(l => l));
    }

    [Fact]
    public async Task EvaluateAsync_BackdatedTrafficWithTiesAndMissingTimes_SameAsFeaturizingEveryRowInOneBatch()
    {
        const string model = "rt-holdout-stream";
        var scenario = await BackdatedAsync(model);
        // Logged out of event-time order (by up to two days), which the streaming featurizer has to undo.
        var byLog = scenario.Traffic.Where(t => t.CreatedAt < HoldoutTo).OrderBy(t => t.CreatedAt).ThenBy(t => t.Id).Select(t => t.Row).ToList();
        Assert.Contains(byLog.Zip(byLog.Skip(1)), p => p.First > p.Second + 100);

        var checks = await EvaluateAsync(RetrainingDataScenario.Create<RecentHoldoutGateCheck>(fixture, scenario.Clock), model, scenario.Candidate, scenario.Champion);
        foreach (var c in checks) output.WriteLine($"{c.Metric} {c.Candidate:R} vs {c.Reference:R}: {c.Rule} passed={c.Passed} ({c.Subject})");

        var expected = await BatchReferenceAsync(model, scenario, new HashSet<Guid>());
        var prAuc = checks[0];
        Assert.Equal((GateMetric.PrAuc, false), (prAuc.Metric, prAuc.Inconclusive));
        Assert.Equal((expected.Candidate, expected.Champion), (prAuc.Candidate!.Value, prAuc.Reference!.Value));
        Assert.NotEqual(expected.Candidate, expected.Champion);
        Assert.InRange(expected.Rows, 1_500, 2_500);
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"{expected.Rows:N0} labelled rows, {expected.Fraud:N0} fraud"), prAuc.Subject);
        Assert.DoesNotContain("trained on left out", prAuc.Subject);
    }

    [Fact]
    public async Task EvaluateAsync_ChampionTrainedOnHoldoutPredictions_LeftOutAndCounted()
    {
        const string model = "rt-holdout-trained-on";
        var scenario = await BackdatedAsync(model);
        // The production version as an earlier workflow trained it: on 30 legitimate and 5 fraud predictions of this holdout,
        // 20 predictions before it (the holdout does not hold them), one never logged and 50 original rows.
        var holdout = scenario.Traffic.Where(t => t.CreatedAt >= HoldoutFrom && t.CreatedAt < HoldoutTo).ToList();
        var trained = holdout.Where(t => t.Fraud == false).Take(30).Concat(holdout.Where(t => t.Fraud == true).Take(5)).ToList();
        var earlier = scenario.Traffic.Where(t => t.CreatedAt < HoldoutFrom).Take(20);
        var built = await EarlierWorkflowScenario.BuiltDatasetAsync(fixture, "rt-holdout-trained-on", [
            .. fixture.Rows.Take(50).Select(r => (r, (Guid?)null)),
            .. trained.Concat(earlier).Select(t => (scenario.Rows[t.Row], (Guid?)t.Id)),
            (fixture.Rows[60], Guid.NewGuid()),
        ]);
        var champion = scenario.Champion with { RunId = await EarlierWorkflowScenario.CopyRunAsync(fixture, scenario.Champion.RunId, built.DatasetId, built.Version) };

        var checks = await EvaluateAsync(RetrainingDataScenario.Create<RecentHoldoutGateCheck>(fixture, scenario.Clock), model, scenario.Candidate, champion);
        foreach (var c in checks) output.WriteLine($"{c.Metric} {c.Candidate:R} vs {c.Reference:R}: {c.Rule} passed={c.Passed} ({c.Subject})");

        var all = await BatchReferenceAsync(model, scenario with { Champion = champion }, new HashSet<Guid>());
        var expected = await BatchReferenceAsync(model, scenario with { Champion = champion }, trained.Select(t => t.Id).ToHashSet());
        Assert.Equal((all.Rows - 35, all.Fraud - 5), (expected.Rows, expected.Fraud));
        var prAuc = checks[0];
        Assert.Equal((expected.Candidate, expected.Champion), (prAuc.Candidate!.Value, prAuc.Reference!.Value));
        Assert.All(checks, c => Assert.Contains(
            string.Create(CultureInfo.InvariantCulture, $"{expected.Rows:N0} labelled rows, {expected.Fraud:N0} fraud") , c.Subject));
        Assert.All(checks, c => Assert.EndsWith("; 35 rows the production version trained on left out", c.Subject));
    }

    [Fact]
    public async Task EvaluateAsync_OverTheFeatureFitMemoryBudget_InconclusiveSayingWhatToChange()
    {
        const string model = "rt-holdout-budget";
        var scenario = await BackdatedAsync(model);
        var budget = Options.Create(new FeatureSetOptions { MaxFitMemoryBytes = 256 * 1024 });

        var checks = await EvaluateAsync(
            ActivatorUtilities.CreateInstance<RecentHoldoutGateCheck>(fixture.App.Services, scenario.Clock, budget), model, scenario.Candidate, scenario.Champion);

        var check = Assert.Single(checks);
        output.WriteLine(check.Subject);
        Assert.Equal((RecentHoldoutGateCheck.Kind, false, true, (double?)null, (double?)null), (check.Kind, check.Passed, check.Inconclusive, check.Candidate, check.Reference));
        Assert.Equal(GateStatus.Inconclusive, GateStatus.Of(checks));
        Assert.StartsWith("common recent holdout 2026-05-25 00:00 to 2026-06-01 00:00 UTC not scored: after ", check.Subject);
        Assert.Contains("more than the 256 KB allowed (FraudWorkbench:Features:MaxFitMemoryBytes)", check.Subject);
        Assert.Contains("entity histories", check.Subject);
        Assert.EndsWith("Shorten the policy's training window (the histories are built from its start) or its holdout days, or raise the budget.", check.Subject);

        // With the default budget the same check scores the holdout.
        var scored = await EvaluateAsync(RetrainingDataScenario.Create<RecentHoldoutGateCheck>(fixture, scenario.Clock), model, scenario.Candidate, scenario.Champion);
        Assert.False(scored[0].Inconclusive);
    }

    [Fact]
    public async Task EvaluateAsync_VersionNoWorkflowMadeOrNoChampion_NoCheck()
    {
        const string model = "rt-holdout-none";
        var champion = await fixture.RegisterAndPromoteAsync(model, fixture.WeakRun);
        var candidate = await fixture.RegisterAsync(model, fixture.StrongRun, ScoringFixture.LenientGate);
        var check = fixture.App.Get<RecentHoldoutGateCheck>();

        Assert.Empty(await EvaluateAsync(check, model, candidate, champion));
        Assert.DoesNotContain(candidate.GateResult!.Checks, c => c.Kind == RecentHoldoutGateCheck.Kind);
        Assert.Empty(await EvaluateAsync(check, model, candidate, null));
    }
}
