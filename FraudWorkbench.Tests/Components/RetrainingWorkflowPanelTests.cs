using Bunit;
using FraudWorkbench.Components.Pages.Retraining;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Events;
using FraudWorkbench.Core.Retraining;
using FraudWorkbench.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace FraudWorkbench.Tests.Components;

/// <summary>Who sees which buttons, and the panel following RetrainingChanged, on workflow rows written as the engine writes them.</summary>
[Trait("Category", "Database")]
public sealed class RetrainingWorkflowPanelTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    private async Task<(string Model, Guid Workflow)> WaitingAsync(string model, string approver)
    {
        var connection = db.ConnectionString;
        var modelId = await RetrainingRows.InsertModelAsync(connection, model);
        var workflow = await RetrainingRows.InsertWorkflowAsync(connection, modelId, model, RetrainingStatus.AwaitingApproval, RetrainingStep.Approval,
            policy: RetrainingPolicy.Default with { Approver = approver });
        return (model, workflow);
    }

    [Theory]
    [InlineData(Roles.Reviewer, ApproverRole.Reviewer, true, false)]
    [InlineData(Roles.Reviewer, ApproverRole.Admin, false, false)]
    [InlineData(Roles.Admin, ApproverRole.Admin, true, true)]
    [InlineData(Roles.DataScientist, ApproverRole.Reviewer, false, true)]
    public async Task AwaitingApproval_Role_ApproveAndCancelShownOnlyToThoseAllowed(string role, string approver, bool decides, bool cancels)
    {
        var (model, _) = await WaitingAsync($"panel-{role.ToLowerInvariant()}-{approver}", approver);
        await using var context = RetrainingContext.Create(db, role);

        var panel = context.Render<WorkflowPanel>(p => p.Add(c => c.Model, model));

        panel.WaitForElement("[data-testid=approval-box]");
        Assert.Equal(decides, panel.FindAll("[data-testid=approve-button]").Count == 1);
        Assert.Equal(decides, panel.FindAll("[data-testid=reject-button]").Count == 1);
        Assert.Equal(cancels, panel.FindAll("[data-testid=cancel-workflow]").Count == 1);
        Assert.Empty(panel.FindAll("[data-testid=retrain-now]"));
    }

    [Fact]
    public async Task NoWorkflow_Writer_RetrainNow_Reviewer_None()
    {
        var model = "panel-empty";
        await RetrainingRows.InsertModelAsync(db.ConnectionString, model);
        await using var writer = RetrainingContext.Create(db, Roles.DataScientist);
        await using var reviewer = RetrainingContext.Create(db, Roles.Reviewer);

        var writerPanel = writer.Render<WorkflowPanel>(p => p.Add(c => c.Model, model));
        var reviewerPanel = reviewer.Render<WorkflowPanel>(p => p.Add(c => c.Model, model));

        writerPanel.WaitForElement("[data-testid=workflow-none]");
        reviewerPanel.WaitForElement("[data-testid=workflow-none]");
        Assert.Single(writerPanel.FindAll("[data-testid=retrain-now]"));
        Assert.Empty(reviewerPanel.FindAll("[data-testid=retrain-now]"));
    }

    [Fact]
    public async Task RetrainingChanged_StepMoved_PanelFollows()
    {
        var connection = db.ConnectionString;
        var model = "panel-live";
        var modelId = await RetrainingRows.InsertModelAsync(connection, model);
        var workflow = await RetrainingRows.InsertWorkflowAsync(connection, modelId, model);
        await using var context = RetrainingContext.Create(db, Roles.Reviewer);
        var panel = context.Render<WorkflowPanel>(p => p.Add(c => c.Model, model));
        panel.WaitForElement("[data-testid=workflow-step][data-step=dataset][data-status=running]");

        await RetrainingRows.AdvanceAsync(connection, workflow, RetrainingStep.Train);
        await context.Services.GetRequiredService<EventHub>().PublishAsync(new RetrainingChanged(workflow, modelId, model, RetrainingStatus.Running, RetrainingStep.Train));

        panel.WaitForAssertion(() =>
        {
            Assert.Equal("train", panel.Find("[data-testid=workflow-timeline]").GetAttribute("data-step"));
            Assert.Equal("succeeded", panel.Find("[data-testid=workflow-step][data-step=features]").GetAttribute("data-status"));
        });
    }
}
