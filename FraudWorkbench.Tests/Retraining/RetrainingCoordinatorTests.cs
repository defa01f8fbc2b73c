using FraudWorkbench.Core.Jobs;
using FraudWorkbench.Core.Retraining;
using Microsoft.Extensions.DependencyInjection;

namespace FraudWorkbench.Tests.Retraining;

[Collection(RetrainingCollection.Name)]
[Trait("Category", "Database")]
public sealed class RetrainingCoordinatorTests(RetrainingAppFixture fixture)
{
    private static readonly RetrainingPolicy Open = new(Enabled: true, CooldownDays: 0, MaxPerWeek: 50, MinMatureDays: 0);

    private RetrainingStore Store => fixture.Get<RetrainingStore>();

    [Fact]
    public async Task TickAsync_Schedule_DueDaysAfterThePolicyWasSaved_ThenAfterTheLastStart_OnceEvenWithTwoCoordinators()
    {
        await fixture.ProductionModelAsync("co-schedule", Open with { ScheduleDays = 2 });
        var coordinator = fixture.Get<RetrainingCoordinator>();
        var other = ActivatorUtilities.CreateInstance<RetrainingCoordinator>(fixture.App.Services, fixture.Time);

        await coordinator.TickAsync();
        Assert.Empty(await Store.ListAsync("co-schedule"));

        fixture.Time.Advance(TimeSpan.FromDays(2));
        await Task.WhenAll(coordinator.TickAsync(), other.TickAsync());
        var first = Assert.Single(await Store.ListAsync("co-schedule"));
        Assert.Equal((RetrainingTrigger.Schedule, "every 2 days", RetrainingService.SystemActor), (first.TriggerKind, first.TriggerDetail, first.CreatedBy));
        await fixture.WaitForAsync(first.Id, d => !d.Workflow.IsActive, "the unscripted workflow ends");

        fixture.Time.Advance(TimeSpan.FromDays(1.9));
        await coordinator.TickAsync();
        Assert.Single(await Store.ListAsync("co-schedule"));
        fixture.Time.Advance(TimeSpan.FromDays(0.1));
        await coordinator.TickAsync();
        Assert.Equal(2, (await Store.ListAsync("co-schedule")).Count);
    }

    [Fact]
    public async Task TickAsync_ScheduleBlockedByAGuard_RecordedOnceADay_NotAtEveryTick()
    {
        await fixture.ProductionModelAsync("co-blocked", Open with { ScheduleDays = 1, MinMatureDays = 5 });
        fixture.Time.Advance(TimeSpan.FromDays(1));
        var coordinator = fixture.Get<RetrainingCoordinator>();

        await coordinator.TickAsync();
        await coordinator.TickAsync();
        const string sql = "SELECT count(*) FROM audit_log WHERE action = 'retraining.skipped' AND summary ->> 'model' = 'co-blocked' AND summary ->> 'trigger' = 'schedule'";
        Assert.Equal(1, await fixture.ScalarAsync<long>(sql));
        Assert.StartsWith("Label maturity: 0 mature", await fixture.ScalarAsync<string>("SELECT summary ->> 'reason' FROM audit_log WHERE action = 'retraining.skipped' AND summary ->> 'model' = 'co-blocked'"));

        fixture.Time.Advance(TimeSpan.FromDays(1));
        await coordinator.TickAsync();
        Assert.Equal(2, await fixture.ScalarAsync<long>(sql));
        Assert.Empty(await Store.ListAsync("co-blocked"));
    }

    [Fact]
    public async Task JobFinishedAsync_JobOfNoWorkflow_Ignored_StepJobDescribedByItsWorkflow()
    {
        var production = await fixture.ProductionModelAsync("co-describe", Open);
        ScriptedRetrainingStepHandler.ByModel["co-describe"] = (_, step, _, _) => throw new NonRetryableJobException($"stop at {step}");
        var (workflow, jobId) = await fixture.InsertRunningAsync("co-describe", Open, production);

        await fixture.Get<RetrainingCoordinator>().JobFinishedAsync(Guid.NewGuid());
        var job = (await fixture.Get<JobStore>().GetAsync(jobId))!;
        var subject = (await fixture.Get<JobSubjects>().DescribeAsync([job]))[jobId];

        Assert.Equal("Retraining co-describe: Build the dataset version", subject.Title);
        Assert.Equal($"models/co-describe/retraining?workflow={workflow.Id}", subject.Href);
        await fixture.Get<RetrainingService>().CancelAsync(workflow.Id, "test");
    }
}
