using FraudWorkbench.Core.Alerts;
using FraudWorkbench.Core.Jobs;
using FraudWorkbench.Core.Registry;
using FraudWorkbench.Core.Retraining;
using FraudWorkbench.Tests.Scoring;

namespace FraudWorkbench.Tests.Retraining;

[Collection(RetrainingCollection.Name)]
[Trait("Category", "Database")]
public sealed class RetrainingServiceTests(RetrainingAppFixture fixture)
{
    private RetrainingService Service => fixture.Get<RetrainingService>();

    /// <summary>Automatic triggers on, no cooldown, no cap worth reaching, no maturity needed: each test sets the guard it checks.</summary>
    private static readonly RetrainingPolicy Open = new(Enabled: true, CooldownDays: 0, MaxPerWeek: 50, MinMatureDays: 0);

    /// <summary>A dataset step that holds its job (and so the workflow active) until cancelled or a minute passed.</summary>
    private static StepScript Parked => async (_, _, _, ct) =>
    {
        await Task.Delay(TimeSpan.FromSeconds(60), ct);
        throw new NonRetryableJobException("parked too long");
    };

    [Fact]
    public async Task StartAsync_Manual_NineStepsInOrderPolicySnapshotAndTheDatasetJobQueued()
    {
        var production = await fixture.ProductionModelAsync("svc-start", Open with { ShadowHours = 5 });
        ScriptedRetrainingStepHandler.ByModel["svc-start"] = Parked;

        var workflow = await Service.StartAsync("svc-start", RetrainingTrigger.Manual, null, "Retrain now", "alice");
        try
        {
            var detail = (await fixture.Get<RetrainingStore>().GetDetailAsync(workflow.Id))!;
            Assert.Equal((RetrainingStatus.Running, RetrainingStep.Dataset, production.Id, "alice"), (workflow.Status, workflow.Step, workflow.ChampionVersionId, workflow.CreatedBy));
            Assert.Equal(5, workflow.Policy.ShadowHours);
            Assert.Equal(RetrainingStep.All, detail.Steps.Select(s => s.Step));
            Assert.Equal(Enumerable.Range(0, 9), detail.Steps.Select(s => s.Ordinal));
            Assert.Equal([RetrainingStepStatus.Running, .. Enumerable.Repeat(RetrainingStepStatus.Pending, 8)], detail.Steps.Select(s => s.Status));
            var job = (await fixture.Get<JobStore>().GetAsync(detail.Steps[0].JobId!.Value))!;
            Assert.Equal((RetrainingStepJobHandler.KindName, 2), (job.Kind, job.MaxAttempts));
            Assert.Equal(new RetrainingStepPayload(workflow.Id, RetrainingStep.Dataset), job.PayloadAs<RetrainingStepPayload>());
            Assert.Equal(1, await fixture.ScalarAsync<long>("SELECT count(*) FROM audit_log WHERE action = 'retraining.start' AND object_id = @id", new { id = workflow.Id.ToString() }));
        }
        finally
        {
            await Service.CancelAsync(workflow.Id, "test");
        }
    }

    [Fact]
    public async Task StartAsync_WhileOneIsActive_409NamingIt_EvenManually()
    {
        await fixture.ProductionModelAsync("svc-one", Open);
        ScriptedRetrainingStepHandler.ByModel["svc-one"] = Parked;
        var first = await Service.StartAsync("svc-one", RetrainingTrigger.Manual, null, "Retrain now", "alice");
        try
        {
            var manual = await Assert.ThrowsAsync<RetrainingException>(() => Service.StartAsync("svc-one", RetrainingTrigger.Manual, null, "Retrain now", "alice"));
            var scheduled = await Assert.ThrowsAsync<RetrainingException>(() => Service.StartAsync("svc-one", RetrainingTrigger.Schedule, null, "every 7 days", RetrainingService.SystemActor));

            Assert.Equal(409, manual.Status);
            Assert.Contains(first.Id.ToString(), manual.Message);
            Assert.Contains(first.Id.ToString(), scheduled.Message);
            Assert.Single(await fixture.Get<RetrainingStore>().ListAsync("svc-one"));
        }
        finally
        {
            await Service.CancelAsync(first.Id, "test");
        }
    }

    [Fact]
    public async Task StartAsync_UnknownModelOrNoProduction_404And409()
    {
        var unknown = await Assert.ThrowsAsync<RetrainingException>(() => Service.StartAsync("svc-nobody", RetrainingTrigger.Manual, null, "Retrain now", "alice"));
        await ScoringFixture.RegisterAsync(fixture.App, "svc-candidate-only", fixture.Run, ScoringFixture.LenientGate);
        var nothing = await Assert.ThrowsAsync<RetrainingException>(() => Service.StartAsync("svc-candidate-only", RetrainingTrigger.Manual, null, "Retrain now", "alice"));

        Assert.Equal(404, unknown.Status);
        Assert.Equal(409, nothing.Status);
        Assert.Contains("nothing to retrain", nothing.Message);
    }

    [Fact]
    public async Task StartAsync_AutomaticWithinCooldown_BlockedAndRecorded_ManualSkipsIt_AfterTheCooldownStarts()
    {
        await fixture.ProductionModelAsync("svc-cooldown", Open with { CooldownDays = 2 });
        var first = await Service.StartAsync("svc-cooldown", RetrainingTrigger.Schedule, null, "every 7 days", RetrainingService.SystemActor);
        await fixture.WaitForAsync(first.Id, d => !d.Workflow.IsActive, "the unscripted dataset step fails the first workflow");
        fixture.Time.Advance(TimeSpan.FromDays(1));

        var blocked = await Assert.ThrowsAsync<RetrainingException>(() => Service.StartAsync("svc-cooldown", RetrainingTrigger.Schedule, null, "every 7 days", RetrainingService.SystemActor));
        var manual = await Service.StartAsync("svc-cooldown", RetrainingTrigger.Manual, null, "Retrain now", "alice");
        await fixture.WaitForAsync(manual.Id, d => !d.Workflow.IsActive, "the manual workflow ends");

        Assert.Equal(409, blocked.Status);
        Assert.StartsWith("Cooldown:", blocked.Message);
        var skipped = await fixture.ScalarAsync<string>(
            "SELECT summary ->> 'reason' FROM audit_log WHERE action = 'retraining.skipped' AND summary ->> 'model' = 'svc-cooldown'");
        Assert.Equal(blocked.Message, skipped);

        // The cooldown counts from the last start of any kind: the manual one, a day later than the first.
        fixture.Time.Advance(TimeSpan.FromDays(1.5));
        Assert.Equal(409, (await Assert.ThrowsAsync<RetrainingException>(() => Service.StartAsync("svc-cooldown", RetrainingTrigger.Schedule, null, "s", RetrainingService.SystemActor))).Status);
        fixture.Time.Advance(TimeSpan.FromDays(0.6));
        var after = await Service.StartAsync("svc-cooldown", RetrainingTrigger.Schedule, null, "every 7 days", RetrainingService.SystemActor);
        Assert.Equal(RetrainingTrigger.Schedule, after.TriggerKind);
    }

    [Fact]
    public async Task StartAsync_AutomaticOverTheWeeklyCap_Blocked_UntilTheOldestLeavesTheSevenDays()
    {
        await fixture.ProductionModelAsync("svc-cap", Open with { MaxPerWeek = 2 });
        for (var i = 0; i < 2; i++)
        {
            var started = await Service.StartAsync("svc-cap", RetrainingTrigger.Schedule, null, "s", RetrainingService.SystemActor);
            await fixture.WaitForAsync(started.Id, d => !d.Workflow.IsActive, "the workflow ends");
            fixture.Time.Advance(TimeSpan.FromDays(3));
        }

        // Starts at t0 and t0+3d; now t0+6d: two in the last 7 days.
        var blocked = await Assert.ThrowsAsync<RetrainingException>(() => Service.StartAsync("svc-cap", RetrainingTrigger.Schedule, null, "s", RetrainingService.SystemActor));
        Assert.Equal("Weekly cap: 2 workflows started in the last 7 days (at most 2).", blocked.Message);

        fixture.Time.Advance(TimeSpan.FromDays(1.01));
        await Service.StartAsync("svc-cap", RetrainingTrigger.Schedule, null, "s", RetrainingService.SystemActor);
    }

    [Fact]
    public async Task StartAsync_DisabledPolicy_AutomaticBlocked_ManualStarts()
    {
        await fixture.ProductionModelAsync("svc-disabled", Open with { Enabled = false });

        var blocked = await Assert.ThrowsAsync<RetrainingException>(() => Service.StartAsync("svc-disabled", RetrainingTrigger.Schedule, null, "s", RetrainingService.SystemActor));
        var manual = await Service.StartAsync("svc-disabled", RetrainingTrigger.Manual, null, "Retrain now", "alice");

        Assert.Contains("disabled", blocked.Message);
        Assert.Equal(RetrainingTrigger.Manual, manual.TriggerKind);
    }

    [Fact]
    public async Task StartAsync_LabelMaturity_CountsOnlyDaysWithTrafficWhoseLabelWindowPassedSinceTraining()
    {
        var production = await fixture.ProductionModelAsync("svc-mature", Open with { MinMatureDays = 3 });
        await fixture.ExecuteAsync("UPDATE registered_models SET performance = '{\"labelWindowDays\": 2}' WHERE lower(name) = 'svc-mature'");
        fixture.Time.Advance(TimeSpan.FromDays(7));
        var since = DateOnly.FromDateTime(production.CreatedAt);
        var gap = DateOnly.FromDateTime(fixture.Time.GetUtcNow().UtcDateTime).DayNumber - since.DayNumber;
        // Mature when day + 1 + 2 <= today, i.e. k <= gap − 3 days after the version's registration.
        await InsertCountsAsync(production.Id, since.AddDays(gap - 3), 10); // mature
        await InsertCountsAsync(production.Id, since.AddDays(gap - 4), 10); // mature
        await InsertCountsAsync(production.Id, since.AddDays(gap - 5), 0);  // no traffic
        await InsertCountsAsync(production.Id, since.AddDays(gap - 2), 10); // label window still open
        await InsertCountsAsync(production.Id, since.AddDays(-1), 10);      // before the training data ended

        var blocked = await Assert.ThrowsAsync<RetrainingException>(() => Service.StartAsync("svc-mature", RetrainingTrigger.Schedule, null, "s", RetrainingService.SystemActor));
        Assert.StartsWith("Label maturity: 2 mature labelled days since the training data ended", blocked.Message);
        Assert.Contains("label window 2 days); the policy needs 3.", blocked.Message);

        await InsertCountsAsync(production.Id, since.AddDays(gap - 6), 1);
        Assert.Equal(3, (await Service.MatureDaysAsync("svc-mature")).Days);
        await Service.StartAsync("svc-mature", RetrainingTrigger.Schedule, null, "s", RetrainingService.SystemActor);
    }

    [Fact]
    public async Task ApproveAsync_CommentAndRoleChecked_ThenPromotedAndWatched_UntilTheWatchEnds()
    {
        var (production, candidate, workflow) = await AwaitingApprovalAsync("svc-approve", Open with { WatchHours = 10 });

        Assert.Equal("comment", (await Assert.ThrowsAsync<RetrainingException>(() => Service.ApproveAsync(workflow.Id, "  ", "bob", ApproverRole.Admin))).Field);
        var control = await Assert.ThrowsAsync<RetrainingException>(() => Service.ApproveAsync(workflow.Id, "ok\u0001", "bob", ApproverRole.Admin));
        Assert.Equal((400, "comment"), (control.Status, control.Field));
        Assert.Equal(403, (await Assert.ThrowsAsync<RetrainingException>(() => Service.ApproveAsync(workflow.Id, "looks good", "rita", ApproverRole.Reviewer))).Status);
        Assert.Equal(403, (await Assert.ThrowsAsync<RetrainingException>(() => Service.ApproveAsync(workflow.Id, "looks good", "ann", null))).Status);
        Assert.Equal(production.Id, (await fixture.Get<RegistryStore>().GetProductionAsync("svc-approve"))!.Id);

        var approved = await Service.ApproveAsync(workflow.Id, "looks good", "bob", ApproverRole.Admin);

        Assert.Equal((RetrainingStatus.Watching, RetrainingStep.Watch, "approved", "bob", "looks good"),
            (approved.Status, approved.Step, approved.Decision, approved.DecidedBy, approved.DecisionComment));
        Assert.Equal(approved.PromotedAt!.Value.AddHours(10), approved.WatchUntil);
        Assert.Equal(candidate.Id, (await fixture.Get<RegistryStore>().GetProductionAsync("svc-approve"))!.Id);
        Assert.Equal(1, await fixture.ScalarAsync<long>("SELECT count(*) FROM audit_log WHERE action = 'retraining.approve' AND object_id = @id AND summary ->> 'comment' = 'looks good'", new { id = workflow.Id.ToString() }));
        Assert.Equal(409, (await Assert.ThrowsAsync<RetrainingException>(() => Service.ApproveAsync(workflow.Id, "again", "bob", ApproverRole.Admin))).Status);

        await fixture.Get<RetrainingEngine>().AdvanceAsync(workflow.Id);
        Assert.Equal(RetrainingStatus.Watching, (await fixture.Get<RetrainingStore>().GetAsync(workflow.Id))!.Status);
        fixture.Time.Advance(TimeSpan.FromHours(10));
        await fixture.Get<RetrainingEngine>().AdvanceAsync(workflow.Id);
        var done = (await fixture.Get<RetrainingStore>().GetDetailAsync(workflow.Id))!;
        Assert.Equal(RetrainingStatus.Succeeded, done.Workflow.Status);
        Assert.Equal([RetrainingStepStatus.Succeeded, RetrainingStepStatus.Succeeded, RetrainingStepStatus.Succeeded], done.Steps.Skip(6).Select(s => s.Status));
    }

    [Fact]
    public async Task RejectAsync_ReviewerWhenThePolicySaysSo_EndsRejected_ProductionUntouched()
    {
        var (production, candidate, workflow) = await AwaitingApprovalAsync("svc-reject", Open with { Approver = ApproverRole.Reviewer });

        var rejected = await Service.RejectAsync(workflow.Id, "recall is worse on the big merchants", "rita", ApproverRole.Reviewer);

        Assert.Equal((RetrainingStatus.Rejected, "rejected", "rita"), (rejected.Status, rejected.Decision, rejected.DecidedBy));
        Assert.NotNull(rejected.FinishedAt);
        Assert.Equal(production.Id, (await fixture.Get<RegistryStore>().GetProductionAsync("svc-reject"))!.Id);
        Assert.Equal(ModelStage.Candidate, (await fixture.Get<RegistryStore>().GetVersionAsync(candidate.Id))!.Stage);
        Assert.Equal(1, await fixture.ScalarAsync<long>("SELECT count(*) FROM audit_log WHERE action = 'retraining.reject' AND object_id = @id", new { id = workflow.Id.ToString() }));
    }

    [Fact]
    public async Task CancelAsync_RunningWorkflow_CancelledWithItsJob_ProductionUntouched_SecondCancel409()
    {
        var production = await fixture.ProductionModelAsync("svc-cancel", Open);
        ScriptedRetrainingStepHandler.ByModel["svc-cancel"] = Parked;
        var workflow = await Service.StartAsync("svc-cancel", RetrainingTrigger.Manual, null, "Retrain now", "alice");
        var jobId = (await fixture.Get<RetrainingStore>().StepsAsync(workflow.Id))[0].JobId!.Value;

        var cancelled = await Service.CancelAsync(workflow.Id, "alice");

        Assert.Equal(RetrainingStatus.Cancelled, cancelled.Status);
        var job = await ScoringFixture.WaitForJobAsync(fixture.App, jobId, 30);
        Assert.Equal(JobStatus.Cancelled, job.Status);
        Assert.Equal(production.Id, (await fixture.Get<RegistryStore>().GetProductionAsync("svc-cancel"))!.Id);
        Assert.Equal(RetrainingStepStatus.Failed, (await fixture.Get<RetrainingStore>().StepsAsync(workflow.Id))[0].Status);
        Assert.Equal(409, (await Assert.ThrowsAsync<RetrainingException>(() => Service.CancelAsync(workflow.Id, "alice"))).Status);
        Assert.Equal(1, await fixture.ScalarAsync<long>("SELECT count(*) FROM audit_log WHERE action = 'retraining.cancel' AND object_id = @id", new { id = workflow.Id.ToString() }));
    }

    [Fact]
    public async Task Coordinator_AlertOfATriggerRule_StartsOnce_EvenWhenSeenTwice_OtherRulesIgnored()
    {
        var rule = Guid.NewGuid();
        var alert = await InsertAlertAsync(rule, "svc-alert", AlertSeverity.Warning);
        await fixture.ProductionModelAsync("svc-alert", Open with { TriggerRuleIds = [rule] });
        ScriptedRetrainingStepHandler.ByModel["svc-alert"] = Parked;
        var coordinator = fixture.Get<RetrainingCoordinator>();

        await coordinator.AlertsFiredAsync([new AlertNotice(Guid.NewGuid(), "other", "svc-alert", AlertSeverity.Warning, "x", Guid.NewGuid())]);
        Assert.Empty(await fixture.Get<RetrainingStore>().ListAsync("svc-alert"));
        var notice = new AlertNotice(alert, "Dataset drift", "svc-alert", AlertSeverity.Warning, "PSI 0.31 on amount\nand more", rule);
        await coordinator.AlertsFiredAsync([notice]);
        await coordinator.AlertsFiredAsync([notice]);

        var workflow = Assert.Single(await fixture.Get<RetrainingStore>().ListAsync("svc-alert"));
        try
        {
            Assert.Equal((RetrainingTrigger.Alert, alert), (workflow.TriggerKind, workflow.TriggerAlertId));
            Assert.Contains("Dataset drift", workflow.TriggerDetail);
            Assert.Equal(workflow.Id, Assert.Single(await fixture.Get<RetrainingStore>().ByAlertAsync(alert)).Id);
        }
        finally
        {
            await Service.CancelAsync(workflow.Id, "test");
        }
    }

    private Task<(ModelVersion Production, ModelVersion Candidate, RetrainingWorkflow Workflow)> AwaitingApprovalAsync(string model, RetrainingPolicy policy) =>
        fixture.AwaitingApprovalAsync(model, policy);

    private Task InsertCountsAsync(Guid version, DateOnly day, long rows) => fixture.ExecuteAsync("""
        INSERT INTO performance_counts (model_version_id, day, rows, flagged, sum_p, sum_pq, sum_p_flagged, amount_flagged, amount_unflagged,
            p_amount_flagged, p_amount_unflagged, bin_rows, bin_p, bin_fraud, fraud_flagged, fraud_unflagged, legit_flagged, legit_unflagged,
            fraud_amount_flagged, fraud_amount_unflagged, fraud_delays)
        VALUES (@version, @day, @rows, 0, 0, 0, 0, 0, 0, 0, 0, '{}', '{}', '{}', 0, 0, 0, 0, 0, 0, '{}')
        """, new { version, day, rows });

    /// <summary>A firing alert of a disabled rule (so the evaluator leaves it alone), for the workflows' foreign key.</summary>
    /// <summary>A firing alert of a rule over a 5-minute window, last evaluated now on the fixture's clock.</summary>
    internal static async Task<Guid> InsertAlertAsync(RetrainingAppFixture fixture, Guid rule, string model, string severity)
    {
        var id = Guid.NewGuid();
        var at = fixture.Time.GetUtcNow().UtcDateTime;
        await fixture.ExecuteAsync("""
            INSERT INTO alert_rules (id, name, model_name, spec, enabled, created_by, created_at, updated_by, updated_at)
            VALUES (@rule, 'rule ' || @rule::text, @model, '{"window": "5m"}', false, 'test', now(), 'test', now()) ON CONFLICT DO NOTHING;
            INSERT INTO alerts (id, rule_id, rule_name, model_name, fingerprint, state, severity, labels, annotations, active_at, fired_at, last_true_at, last_evaluated_at)
            VALUES (@id, @rule, 'rule', @model, @id::text, 'firing', @severity, '{}', '{"summary": "recall collapsed"}', @at, @at, @at, @at);
            """, new { id, rule, model, severity, at });
        return id;
    }

    private Task<Guid> InsertAlertAsync(Guid rule, string model, string severity) => InsertAlertAsync(fixture, rule, model, severity);
}
