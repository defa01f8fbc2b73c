using FraudWorkbench.Core.Alerts;
using FraudWorkbench.Core.Jobs;
using FraudWorkbench.Core.Registry;
using FraudWorkbench.Core.Retraining;
using FraudWorkbench.Core.Training;
using FraudWorkbench.Tests.Scoring;
using Microsoft.Extensions.DependencyInjection;

namespace FraudWorkbench.Tests.Retraining;

/// <summary>
/// The workflow's state machine with the real training, registry and gate, the dataset and feature steps by script
/// (they hand back the fixture's own month A versions) and the coordinator of the app on the fake clock.
/// </summary>
[Collection(RetrainingCollection.Name)]
[Trait("Category", "Database")]
public sealed class RetrainingEngineTests(RetrainingAppFixture fixture)
{
    private static readonly RetrainingPolicy Open = new(Enabled: true, CooldownDays: 0, MaxPerWeek: 50, MinMatureDays: 0);

    private RetrainingService Service => fixture.Get<RetrainingService>();
    private RetrainingStore Store => fixture.Get<RetrainingStore>();
    private RegistryStore Registry => fixture.Get<RegistryStore>();

    [Fact]
    public async Task Workflow_ManualApproval_TrainsTheRecipeRegistersGatesThenWaits_ApprovedIsPromotedWatchedAndSucceeds()
    {
        var production = await fixture.ProductionModelAsync("eng-loop", Open with { ShadowHours = 0, WatchHours = 1 });
        ScriptedRetrainingStepHandler.ByModel["eng-loop"] = fixture.Steps();

        var started = await Service.StartAsync("eng-loop", RetrainingTrigger.Manual, null, "Retrain now", "alice");
        var waiting = await fixture.WaitForAsync(started.Id, d => d.Workflow.Status != RetrainingStatus.Running, "the workflow reaches approval", 240);

        var w = waiting.Workflow;
        Assert.Equal((RetrainingStatus.AwaitingApproval, RetrainingStep.Approval), (w.Status, w.Step));
        Assert.Equal((fixture.DatasetId, 1, fixture.FeatureSetVersion), (w.DatasetId!.Value, w.DatasetVersion!.Value, w.FeatureSetVersionId!.Value));
        Assert.Equal([RetrainingStepStatus.Succeeded, RetrainingStepStatus.Succeeded, RetrainingStepStatus.Succeeded, RetrainingStepStatus.Succeeded,
            RetrainingStepStatus.Succeeded, RetrainingStepStatus.Skipped, RetrainingStepStatus.Waiting, RetrainingStepStatus.Pending, RetrainingStepStatus.Pending],
            waiting.Steps.Select(s => s.Status));
        Assert.Equal(1, waiting.Steps[0].Result<DatasetStepResult>()!.DatasetVersion);
        Assert.Equal(fixture.FeatureSetVersion, waiting.Steps[1].Result<FeaturesStepResult>()!.FeatureSetVersionId);

        // The recipe is the production version's run: its trainer, imbalance, split and threshold on the new data.
        var train = waiting.Steps[2].Result<TrainStepResult>()!;
        Assert.Equal((w.RunId!.Value, fixture.Run), (train.RunId, train.RecipeRunId));
        Assert.Equal(waiting.Steps[2].JobId, train.JobId);
        var run = (await fixture.Get<TrainingRunStore>().GetAsync(train.RunId))!;
        var recipe = (await fixture.Get<TrainingRunStore>().GetAsync(fixture.Run))!;
        Assert.Equal($"retrain eng-loop {fixture.Time.GetUtcNow():yyyy-MM-dd}", run.Name);
        Assert.Equal((recipe.Config.Trainer, recipe.Config.Imbalance, recipe.Config.Split, recipe.Config.Threshold),
            (run.Config.Trainer, run.Config.Imbalance, run.Config.Split, run.Config.Threshold));
        Assert.Equal("system:retraining", run.CreatedBy);

        var candidate = (await Registry.GetVersionAsync(w.CandidateVersionId!.Value))!;
        Assert.Equal((ModelStage.Candidate, GateStatus.Passed, train.RunId, 2), (candidate.Stage, candidate.GateStatus, candidate.RunId, candidate.Version));
        Assert.Equal(["retraining"], candidate.Tags);
        Assert.Contains(w.Id.ToString(), candidate.Notes);
        Assert.Equal(candidate.GateJobId, waiting.Steps[4].JobId);
        Assert.Equal(GateStatus.Passed, waiting.Steps[4].Result<GateStepResult>()!.GateStatus);
        Assert.Equal(production.Id, (await Registry.GetProductionAsync("eng-loop"))!.Id);

        await Service.ApproveAsync(w.Id, "better on recent weeks", "bob", ApproverRole.Admin);
        Assert.Equal(candidate.Id, (await Registry.GetProductionAsync("eng-loop"))!.Id);
        fixture.Time.Advance(TimeSpan.FromHours(1));
        await fixture.Get<RetrainingCoordinator>().TickAsync();
        var done = (await Store.GetDetailAsync(w.Id))!;
        Assert.Equal(RetrainingStatus.Succeeded, done.Workflow.Status);
        Assert.NotNull(done.Workflow.FinishedAt);
    }

    [Fact]
    public async Task Workflow_AutomaticWithShadow_ComparesAtTheEndThenPromotes_CriticalAlertInTheWatchRollsBack_WarningDoesNot()
    {
        var production = await fixture.ProductionModelAsync("eng-auto", Open with { PromotionMode = PromotionMode.Automatic, ShadowHours = 2, ShadowTransactions = null, WatchHours = 24 });
        ScriptedRetrainingStepHandler.ByModel["eng-auto"] = fixture.Steps();

        var started = await Service.StartAsync("eng-auto", RetrainingTrigger.Manual, null, "Retrain now", "alice");
        var shadowing = await fixture.WaitForAsync(started.Id, d => d.Workflow.Step == RetrainingStep.Shadow || !d.Workflow.IsActive, "the workflow shadows", 240);
        Assert.Equal(RetrainingStepStatus.Waiting, shadowing.Steps[5].Status);
        Assert.Equal(shadowing.Workflow.ShadowStartedAt!.Value.AddHours(2), shadowing.Workflow.ShadowEndsAt);

        await fixture.Get<RetrainingEngine>().AdvanceAsync(started.Id);
        Assert.Equal(RetrainingStepStatus.Waiting, (await Store.StepsAsync(started.Id))[5].Status);
        fixture.Time.Advance(TimeSpan.FromHours(2));
        await fixture.Get<RetrainingCoordinator>().TickAsync();
        var watching = await fixture.WaitForAsync(started.Id, d => d.Workflow.Status != RetrainingStatus.Running, "the comparison runs and the challenger is promoted");

        var w = watching.Workflow;
        Assert.Equal((RetrainingStatus.Watching, "automatic", "system:retraining"), (w.Status, w.Decision, w.DecidedBy));
        Assert.Equal(42, watching.Steps[5].Result<ShadowComparison>()!.Transactions);
        Assert.Equal(w.CandidateVersionId, (await Registry.GetProductionAsync("eng-auto"))!.Id);

        // A critical alert whose 5-minute window reaches back before the promotion judges the previous version's traffic.
        var rule = Guid.NewGuid();
        var early = await RetrainingServiceTests.InsertAlertAsync(fixture, rule, "eng-auto", AlertSeverity.Critical);
        await fixture.Get<RetrainingCoordinator>().AlertsFiredAsync([new AlertNotice(early, "Recall collapsed", "eng-auto", AlertSeverity.Critical, "recall 0.12", rule)]);
        await fixture.Get<RetrainingCoordinator>().TickAsync();
        Assert.Equal(RetrainingStatus.Watching, (await Store.GetAsync(w.Id))!.Status);

        fixture.Time.Advance(TimeSpan.FromMinutes(10));
        var warning = await RetrainingServiceTests.InsertAlertAsync(fixture, rule, "eng-auto", AlertSeverity.Warning);
        await fixture.Get<RetrainingCoordinator>().AlertsFiredAsync([new AlertNotice(warning, "Recall below band", "eng-auto", AlertSeverity.Warning, "recall 0.41", rule)]);
        Assert.Equal(RetrainingStatus.Watching, (await Store.GetAsync(w.Id))!.Status);

        var critical = await RetrainingServiceTests.InsertAlertAsync(fixture, rule, "eng-auto", AlertSeverity.Critical);
        await fixture.Get<RetrainingCoordinator>().AlertsFiredAsync([new AlertNotice(critical, "Recall collapsed", "eng-auto", AlertSeverity.Critical, "recall 0.12", rule)]);

        var rolledBack = (await Store.GetDetailAsync(w.Id))!;
        Assert.Equal(RetrainingStatus.RolledBack, rolledBack.Workflow.Status);
        Assert.Contains("'rule'", rolledBack.Workflow.RollbackReason);
        Assert.Contains(critical.ToString(), rolledBack.Workflow.RollbackReason);
        Assert.Equal(RetrainingStepStatus.Failed, rolledBack.Steps[8].Status);
        Assert.Equal(production.Id, (await Registry.GetProductionAsync("eng-auto"))!.Id);
        var history = await Registry.HistoryAsync(production.RegisteredModelId);
        Assert.Contains(history, h => h.Actor == "system:retraining" && h.Reason!.StartsWith("rollback") && h.Reason.Contains(critical.ToString()));
        Assert.Equal(1, await fixture.ScalarAsync<long>("SELECT count(*) FROM audit_log WHERE action = 'retraining.rollback' AND object_id = @id", new { id = w.Id.ToString() }));
    }

    [Fact]
    public async Task Coordinator_CriticalAlertAfterTheWatchEnded_NoRollback()
    {
        var (_, candidate, workflow) = await fixture.AwaitingApprovalAsync("eng-late", Open with { WatchHours = 1 });
        await Service.ApproveAsync(workflow.Id, "ship it", "bob", ApproverRole.Admin);
        fixture.Time.Advance(TimeSpan.FromHours(1.5));

        var rule = Guid.NewGuid();
        var critical = await RetrainingServiceTests.InsertAlertAsync(fixture, rule, "eng-late", AlertSeverity.Critical);
        await fixture.Get<RetrainingCoordinator>().AlertsFiredAsync([new AlertNotice(critical, "Recall collapsed", "eng-late", AlertSeverity.Critical, "recall 0.12", rule)]);

        Assert.Equal(candidate.Id, (await Registry.GetProductionAsync("eng-late"))!.Id);
        Assert.False(await fixture.Get<RetrainingEngine>().RollbackAsync(workflow.Id, "too late"));
        Assert.NotEqual(RetrainingStatus.RolledBack, (await Store.GetAsync(workflow.Id))!.Status);
    }

    [Fact]
    public async Task Decide_CandidateServesButTheWorkflowsCommitWasLost_RejectRefused_ThePromotionIsRecordedAndWatched()
    {
        var (production, candidate, workflow) = await fixture.AwaitingApprovalAsync("eng-lost", Open with { WatchHours = 2 });
        // The registry's swap commits on its own; the approval's transaction that would have recorded it is then lost.
        fixture.Time.Advance(TimeSpan.FromMinutes(3));
        await fixture.Get<RegistryService>().PromoteAsync(candidate, ModelStage.Production, "approved by bob: better recall", "bob");
        var promotedAt = (await Registry.HistoryAsync(production.RegisteredModelId)).First(h => h.ModelVersionId == candidate.Id && h.ToStage == ModelStage.Production).At;
        fixture.Time.Advance(TimeSpan.FromMinutes(7));

        var refused = await Assert.ThrowsAsync<RetrainingException>(() => Service.RejectAsync(workflow.Id, "not convinced", "carol", ApproverRole.Admin));
        // Refused either way: here, or by the coordinator's tick if it recorded the promotion first.
        Assert.Equal(409, refused.Status);
        Assert.Matches("roll the model back", refused.Message);
        Assert.Equal(candidate.Id, (await Registry.GetProductionAsync("eng-lost"))!.Id);

        var recorded = (await Store.GetDetailAsync(workflow.Id))!;
        var w = recorded.Workflow;
        Assert.Equal((RetrainingStatus.Watching, RetrainingStep.Watch, "approved", "bob"), (w.Status, w.Step, w.Decision, w.DecidedBy));
        Assert.Equal("approved by bob: better recall", w.DecisionComment);
        // The watch counts from the registry's swap, not from when the workflow noticed it.
        Assert.Equal(promotedAt, w.PromotedAt!.Value, TimeSpan.FromMilliseconds(1));
        Assert.Equal(promotedAt.AddHours(2), w.WatchUntil!.Value, TimeSpan.FromMilliseconds(1));
        Assert.Equal([RetrainingStepStatus.Succeeded, RetrainingStepStatus.Succeeded, RetrainingStepStatus.Waiting], recorded.Steps.Skip(6).Select(s => s.Status));
        Assert.Equal(1, await fixture.ScalarAsync<long>("SELECT count(*) FROM audit_log WHERE action = 'retraining.promote' AND actor = 'bob' AND object_id = @id", new { id = workflow.Id.ToString() }));
        Assert.Equal(0, await fixture.ScalarAsync<long>("SELECT count(*) FROM audit_log WHERE action = 'retraining.reject' AND object_id = @id", new { id = workflow.Id.ToString() }));
        Assert.NotEqual(production.Id, (await Registry.GetProductionAsync("eng-lost"))!.Id);

        // An approval arriving now is refused as well: nothing to approve.
        var late = await Assert.ThrowsAsync<RetrainingException>(() => Service.ApproveAsync(workflow.Id, "ship it", "dave", ApproverRole.Admin));
        Assert.Equal(409, late.Status);
    }

    [Fact]
    public async Task Tick_WatchedChallengerRolledBackInTheRegistry_TheWorkflowRecordsTheRollbackNotASuccess()
    {
        var (production, _, workflow) = await fixture.AwaitingApprovalAsync("eng-moved", Open with { WatchHours = 1 });
        await Service.ApproveAsync(workflow.Id, "ship it", "bob", ApproverRole.Admin);
        fixture.Time.Advance(TimeSpan.FromMinutes(20));
        var model = (await Registry.GetModelAsync("eng-moved"))!;
        await fixture.Get<RegistryService>().RollbackAsync(model, "recall dropped on the dashboard", "carol");

        await fixture.Get<RetrainingCoordinator>().TickAsync();
        fixture.Time.Advance(TimeSpan.FromHours(1));
        await fixture.Get<RetrainingCoordinator>().TickAsync();

        var detail = (await Store.GetDetailAsync(workflow.Id))!;
        Assert.Equal(RetrainingStatus.RolledBack, detail.Workflow.Status);
        Assert.Contains($"production moved to version {production.Version} by carol", detail.Workflow.RollbackReason);
        Assert.Contains("recall dropped on the dashboard", detail.Workflow.RollbackReason);
        Assert.Equal(RetrainingStepStatus.Failed, detail.Steps[8].Status);
        Assert.Equal(production.Id, (await Registry.GetProductionAsync("eng-moved"))!.Id);
        Assert.Equal(1, await fixture.ScalarAsync<long>("SELECT count(*) FROM audit_log WHERE action = 'retraining.rollback' AND actor = 'carol' AND object_id = @id", new { id = workflow.Id.ToString() }));
    }

    [Fact]
    public async Task Tick_ProductionMovedOnOnlyAfterTheWatchEnded_Succeeded_NoRollbackRecorded()
    {
        var (production, candidate, workflow) = await fixture.AwaitingApprovalAsync("eng-after", Open with { WatchHours = 1 });
        await Service.ApproveAsync(workflow.Id, "ship it", "bob", ApproverRole.Admin);
        // No advance ran when the watch ended (the instances were down, say); production moved on later, by hand.
        fixture.Time.Advance(TimeSpan.FromHours(2));
        await fixture.Get<RegistryService>().RollbackAsync((await Registry.GetModelAsync("eng-after"))!, "back to the old one", "carol");

        await fixture.Get<RetrainingCoordinator>().TickAsync();

        var detail = (await Store.GetDetailAsync(workflow.Id))!;
        Assert.Equal((RetrainingStatus.Succeeded, (string?)null), (detail.Workflow.Status, detail.Workflow.RollbackReason));
        Assert.Equal(RetrainingStepStatus.Succeeded, detail.Steps[8].Status);
        Assert.Equal(production.Id, (await Registry.GetProductionAsync("eng-after"))!.Id);
        Assert.Equal(0, await fixture.ScalarAsync<long>("SELECT count(*) FROM audit_log WHERE action = 'retraining.rollback' AND object_id = @id", new { id = workflow.Id.ToString() }));
        Assert.NotEqual(candidate.Id, production.Id);
    }

    [Fact]
    public async Task Tick_AThirdVersionPromotedWhileAwaitingApproval_WorkflowFailsNamingIt_NothingPromotedLater()
    {
        var (_, candidate, workflow) = await fixture.AwaitingApprovalAsync("eng-third", Open);
        var third = await FraudWorkbench.Tests.Scoring.ScoringFixture.RegisterAsync(fixture.App, "eng-third", fixture.Run);
        await fixture.Get<RegistryService>().PromoteAsync(third, ModelStage.Production, "hotfix model", "carol");

        await fixture.Get<RetrainingCoordinator>().TickAsync();

        var failed = (await Store.GetAsync(workflow.Id))!;
        Assert.Equal(RetrainingStatus.Failed, failed.Status);
        Assert.Contains($"Production moved to version {third.Version} (by carol)", failed.Error);
        var refused = await Assert.ThrowsAsync<RetrainingException>(() => Service.ApproveAsync(workflow.Id, "ship it", "bob", ApproverRole.Admin));
        Assert.Equal(409, refused.Status);
        Assert.Equal(third.Id, (await Registry.GetProductionAsync("eng-third"))!.Id);
        Assert.NotEqual(candidate.Id, third.Id);
    }

    [Fact]
    public async Task Workflow_StepFailsTwice_FailedWithTheErrorAfterTheRetry_ProductionUntouched()
    {
        var production = await fixture.ProductionModelAsync("eng-fail", Open);
        ScriptedRetrainingStepHandler.ByModel["eng-fail"] = (_, _, _, _) => throw new InvalidOperationException("the prediction log is unreadable");

        var started = await Service.StartAsync("eng-fail", RetrainingTrigger.Manual, null, "Retrain now", "alice");
        var failed = await fixture.WaitForAsync(started.Id, d => !d.Workflow.IsActive, "the workflow fails");

        Assert.Equal(RetrainingStatus.Failed, failed.Workflow.Status);
        Assert.Equal("Build the dataset version failed after 2 attempts: the prediction log is unreadable", failed.Workflow.Error);
        Assert.Equal((RetrainingStepStatus.Failed, failed.Workflow.Error), (failed.Steps[0].Status, failed.Steps[0].Error));
        Assert.All(failed.Steps.Skip(1), s => Assert.Equal(RetrainingStepStatus.Pending, s.Status));
        Assert.Equal(2, (await fixture.Get<JobStore>().GetAsync(failed.Steps[0].JobId!.Value))!.Attempts);
        Assert.Equal(production.Id, (await Registry.GetProductionAsync("eng-fail"))!.Id);
        Assert.Single(await Registry.ListVersionsAsync(production.RegisteredModelId));
    }

    [Fact]
    public async Task Workflow_GateFails_FailedNamingTheCheck_CandidateNotPromoted()
    {
        var production = await fixture.ProductionModelAsync("eng-gate", Open with { ShadowHours = 0, PromotionMode = PromotionMode.Automatic });
        var model = (await Registry.GetModelAsync("eng-gate"))!;
        await Registry.UpdateModelAsync(model.Id, "", new GateSettings([new GateBaseline(GateMetric.PrAuc, ">=", 0.999)], []), "test");
        ScriptedRetrainingStepHandler.ByModel["eng-gate"] = fixture.Steps();

        var started = await Service.StartAsync("eng-gate", RetrainingTrigger.Manual, null, "Retrain now", "alice");
        var failed = await fixture.WaitForAsync(started.Id, d => !d.Workflow.IsActive, "the gate fails the workflow", 240);

        Assert.Equal((RetrainingStatus.Failed, RetrainingStep.Gate), (failed.Workflow.Status, failed.Workflow.Step));
        Assert.StartsWith("The validation gate did not pass (failed): baseline pr_auc >= 0.999", failed.Workflow.Error);
        Assert.Equal(GateStatus.Failed, failed.Steps[4].Result<GateStepResult>()!.GateStatus);
        Assert.Equal(ModelStage.Candidate, (await Registry.GetVersionAsync(failed.Workflow.CandidateVersionId!.Value))!.Stage);
        Assert.Equal(production.Id, (await Registry.GetProductionAsync("eng-gate"))!.Id);
    }

    [Fact]
    public async Task Restart_StepJobFinishedWhileNoInstanceListened_ANewCoordinatorsTickAdvances()
    {
        var production = await fixture.ProductionModelAsync("eng-restart", Open);
        ScriptedRetrainingStepHandler.ByModel["eng-restart"] = (_, step, _, _) => throw new NonRetryableJobException($"stop at {step}");
        var (workflow, jobId) = await fixture.InsertRunningAsync("eng-restart", Open, production);
        var result = await fixture.Steps()(workflow, RetrainingStep.Dataset, null!, default);
        await fixture.ExecuteAsync("UPDATE jobs SET status = 'succeeded', progress = 100, finished_at = now(), result = @json::jsonb WHERE id = @jobId",
            new { jobId, json = RetrainingJson.Serialize((DatasetStepResult)result!) });

        // A fresh engine and coordinator, as after a restart: no event told anyone about the finished job.
        var services = fixture.App.Services;
        var engine = ActivatorUtilities.CreateInstance<RetrainingEngine>(services, fixture.Time);
        var coordinator = ActivatorUtilities.CreateInstance<RetrainingCoordinator>(services, fixture.Time, engine);
        await coordinator.TickAsync();

        var steps = await Store.StepsAsync(workflow.Id);
        Assert.Equal(RetrainingStepStatus.Succeeded, steps[0].Status);
        Assert.Equal(1, steps[0].Result<DatasetStepResult>()!.DatasetVersion);
        Assert.Equal((RetrainingStep.Features, fixture.DatasetId), ((await Store.GetAsync(workflow.Id))!.Step, (await Store.GetAsync(workflow.Id))!.DatasetId!.Value));
        Assert.NotNull(steps[1].JobId);
        var failed = await fixture.WaitForAsync(workflow.Id, d => !d.Workflow.IsActive, "the scripted feature step stops it");
        Assert.Equal("Fit the feature set failed after 1 attempt: stop at features", failed.Workflow.Error);
    }

    [Fact]
    public async Task Restart_StepJobOfAWorkerThatDied_RequeuedRunsAgain_TheWorkflowMovesOn()
    {
        var production = await fixture.ProductionModelAsync("eng-requeue", Open);
        var steps = fixture.Steps();
        ScriptedRetrainingStepHandler.ByModel["eng-requeue"] = (w, step, context, ct) =>
            step == RetrainingStep.Dataset ? steps(w, step, context, ct) : throw new NonRetryableJobException($"stop at {step}");
        var (workflow, jobId) = await fixture.InsertRunningAsync("eng-requeue", Open, production);

        // The worker holding the dataset job stopped sending heartbeats: the sweeper queues it again, a live worker runs it.
        await fixture.ExecuteAsync("UPDATE jobs SET heartbeat_at = now() - interval '1 hour' WHERE id = @jobId", new { jobId });
        var moved = await fixture.WaitForAsync(workflow.Id, d => d.Workflow.Step != RetrainingStep.Dataset || !d.Workflow.IsActive, "the requeued dataset job advances the workflow", 60);

        Assert.Equal(RetrainingStep.Features, moved.Workflow.Step);
        Assert.Equal((RetrainingStepStatus.Succeeded, jobId), (moved.Steps[0].Status, moved.Steps[0].JobId!.Value));
        var job = (await fixture.Get<JobStore>().GetAsync(jobId))!;
        Assert.Equal((JobStatus.Succeeded, 2), (job.Status, job.Attempts));
    }

    [Fact]
    public async Task AdvanceAsync_CalledConcurrently_QueuesTheNextStepOnce()
    {
        var production = await fixture.ProductionModelAsync("eng-race", Open);
        ScriptedRetrainingStepHandler.ByModel["eng-race"] = (_, step, _, _) => throw new NonRetryableJobException($"stop at {step}");
        var (workflow, jobId) = await fixture.InsertRunningAsync("eng-race", Open, production);
        var result = (DatasetStepResult)(await fixture.Steps()(workflow, RetrainingStep.Dataset, null!, default))!;
        await fixture.ExecuteAsync("UPDATE jobs SET status = 'succeeded', progress = 100, finished_at = now(), result = @json::jsonb WHERE id = @jobId",
            new { jobId, json = RetrainingJson.Serialize(result) });

        var engines = Enumerable.Range(0, 4).Select(_ => ActivatorUtilities.CreateInstance<RetrainingEngine>(fixture.App.Services, fixture.Time)).ToList();
        await Task.WhenAll(engines.Select(e => e.AdvanceAsync(workflow.Id)));

        Assert.Equal(1, await fixture.ScalarAsync<long>(
            "SELECT count(*) FROM jobs WHERE kind = 'retraining.step' AND payload ->> 'workflowId' = @id AND payload ->> 'step' = 'features'", new { id = workflow.Id.ToString() }));
    }
}
