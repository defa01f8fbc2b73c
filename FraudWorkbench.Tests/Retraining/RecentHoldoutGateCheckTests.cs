using System.Globalization;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Registry;
using FraudWorkbench.Core.Retraining;
using FraudWorkbench.Core.Scoring;
using FraudWorkbench.Core.Training;
using FraudWorkbench.Tests.Scoring;
using Microsoft.Extensions.Time.Testing;
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
