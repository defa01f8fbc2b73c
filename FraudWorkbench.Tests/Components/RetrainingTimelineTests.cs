using Bunit;
using FraudWorkbench.Components.Pages.Retraining;
using FraudWorkbench.Core.Jobs;
using FraudWorkbench.Core.Retraining;
using FraudWorkbench.Core.Training;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor;
using MudBlazor.Services;

namespace FraudWorkbench.Tests.Components;

/// <summary>The timeline renders a workflow it is given: no database, the records as the engine stores them.</summary>
public sealed class RetrainingTimelineTests : IAsyncDisposable
{
    private static readonly DateTime Start = new(2026, 12, 1, 9, 0, 0, DateTimeKind.Utc);
    private static readonly Guid DatasetId = Guid.Parse("11111111-1111-1111-1111-111111111111");
    private static readonly Guid RunId = Guid.Parse("22222222-2222-2222-2222-222222222222");
    private static readonly Guid TrainJob = Guid.Parse("33333333-3333-3333-3333-333333333333");
    private static readonly Guid FeatureSetId = Guid.Parse("44444444-4444-4444-4444-444444444444");

    private readonly BunitContext bunit = new();

    public RetrainingTimelineTests()
    {
        bunit.JSInterop.Mode = JSRuntimeMode.Loose;
        bunit.Services.AddMudServices();
        bunit.Render<MudPopoverProvider>();
    }

    public ValueTask DisposeAsync() => bunit.DisposeAsync();

    private static RetrainingWorkflow Workflow(string status, string step, string? error = null, string? decision = null, RetrainingPolicy? policy = null) => new(
        Guid.NewGuid(), Guid.NewGuid(), "fraud-model", RetrainingTrigger.Alert, Guid.Parse("55555555-5555-5555-5555-555555555555"), "alert 'Dataset drift' fired",
        (policy ?? RetrainingPolicy.Default).ToJson(), null, status, step, DatasetId, 4, null, RunId, null,
        Start.AddHours(3), Start.AddHours(27), null, null, decision, decision is null ? null : "user:ann@example.com", decision is null ? null : Start.AddDays(2),
        decision is null ? null : "holdout gain is real", null, null, error, "system:retraining", Start, Start.AddHours(4), null);

    private static RetrainingStepRow Step(Guid workflow, string step, string status, object? result = null, Guid? job = null, string? error = null) => new(
        workflow, step, RetrainingStep.All.ToList().IndexOf(step) + 1, status, job, status == RetrainingStepStatus.Pending ? null : Start,
        status is RetrainingStepStatus.Succeeded or RetrainingStepStatus.Failed ? Start.AddMinutes(12) : null,
        result is null ? null : RetrainingJson.Serialize(result), error);

    /// <summary>Dataset, features, train, register and gate done; shadow finished with its comparison; waiting for approval.</summary>
    private static RetrainingWorkflowDetail AwaitingApproval(RetrainingPolicy? policy = null)
    {
        var w = Workflow(RetrainingStatus.AwaitingApproval, RetrainingStep.Approval, policy: policy);
        var champion = new ClassificationReport(0.91, 0.62, 0.05, 0.01, 0.55, 40, 9960);
        var challenger = new ClassificationReport(0.94, 0.71, 0.04, 0.01, 0.63, 40, 9960);
        return new(w,
        [
            Step(w.Id, RetrainingStep.Dataset, RetrainingStepStatus.Succeeded, new DatasetStepResult(DatasetId, "fraud-model-retraining", 4, Guid.NewGuid(),
                "9f86d081884c7d659a2feaa0c55ad015", 61_234, 41_234, 20_000, 310, 30_000, 10_924, 1_200, Start.AddDays(-28), Start, Start.AddDays(-7), Start, "ab")),
            Step(w.Id, RetrainingStep.Features, RetrainingStepStatus.Succeeded, new FeaturesStepResult(Guid.NewGuid(), "fraud-features", 3, "c0ffee00c0ffee00", true)),
            Step(w.Id, RetrainingStep.Train, RetrainingStepStatus.Succeeded, new TrainStepResult(RunId, TrainJob, "retrain-fraud-model-1", Guid.NewGuid()), TrainJob),
            Step(w.Id, RetrainingStep.Register, RetrainingStepStatus.Succeeded, new RegisterStepResult(Guid.NewGuid(), 7, Guid.NewGuid())),
            Step(w.Id, RetrainingStep.Gate, RetrainingStepStatus.Succeeded, new GateStepResult("passed", 6, 0, 0, 0.712, 0.655)),
            Step(w.Id, RetrainingStep.Shadow, RetrainingStepStatus.Succeeded, new ShadowComparison(10_000, 3, Start.AddHours(3), Start.AddHours(20),
                0.934, 0.912, 0.987, 0.81, 0.012, 0.011, 0.031, 0.029, 312, 290, 8_000, 40, champion, challenger, 0.42)),
            Step(w.Id, RetrainingStep.Approval, RetrainingStepStatus.Waiting),
            Step(w.Id, RetrainingStep.Promote, RetrainingStepStatus.Pending),
            Step(w.Id, RetrainingStep.Watch, RetrainingStepStatus.Pending),
        ]);
    }

    private IRenderedComponent<WorkflowTimeline> Render(RetrainingWorkflowDetail detail, bool canDecide = false, IReadOnlyDictionary<Guid, Job>? jobs = null,
        Action<(bool, string)>? decided = null) =>
        bunit.Render<WorkflowTimeline>(p => p
            .Add(c => c.Detail, detail)
            .Add(c => c.CanDecide, canDecide)
            .Add(c => c.FeatureSetId, FeatureSetId)
            .Add(c => c.Jobs, jobs ?? new Dictionary<Guid, Job>())
            .Add(c => c.Now, Start.AddDays(2))
            .Add(c => c.OnDecide, EventCallback.Factory.Create<(bool, string)>(this, d => decided?.Invoke(d))));

    [Fact]
    public void Render_AwaitingApproval_NineStepsInOrderWithStatusesAndResultLinks()
    {
        var page = Render(AwaitingApproval());

        var steps = page.FindAll("[data-testid=workflow-step]");
        Assert.Equal([.. RetrainingStep.All], steps.Select(s => s.GetAttribute("data-step")!).ToList());
        Assert.Equal(["succeeded", "succeeded", "succeeded", "succeeded", "succeeded", "succeeded", "waiting", "pending", "pending"],
            steps.Select(s => s.GetAttribute("data-status")).ToList());
        Assert.Equal("awaiting approval", page.Find("[data-testid=workflow-status]").TextContent.Trim());
        Assert.Equal($"datasets/{DatasetId}?version=4", page.Find("[data-testid=dataset-link]").GetAttribute("href"));
        Assert.Contains("61,234 rows", page.Find("[data-testid=dataset-result]").TextContent);
        Assert.Equal($"features/{FeatureSetId}?version=3", page.Find("[data-testid=features-link]").GetAttribute("href"));
        Assert.Equal($"training/{RunId}", page.Find("[data-testid=run-link]").GetAttribute("href"));
        Assert.Equal("models/fraud-model/versions/7", page.Find("[data-testid=candidate-link]").GetAttribute("href"));
        Assert.Equal("models/fraud-model/versions/7?tab=gate", page.Find("[data-testid=gate-link]").GetAttribute("href"));
        var gate = page.Find("[data-testid=gate-result]").TextContent;
        Assert.Contains("passed", gate);
        Assert.Contains("challenger 0.712, champion 0.655", gate);
        Assert.Equal("alerts?id=55555555-5555-5555-5555-555555555555", page.Find("[data-testid=workflow-trigger-alert]").GetAttribute("href"));
    }

    [Fact]
    public void Render_ShadowComparison_FiguresOfBothVersions()
    {
        var page = Render(AwaitingApproval());

        Assert.Equal("0.934", page.Find("[data-testid=shadow-correlation]").TextContent);
        Assert.Equal("98.7%", page.Find("[data-testid=shadow-agreement]").TextContent);
        Assert.Equal("0.810", page.Find("[data-testid=shadow-kappa]").TextContent);
        var rows = page.FindAll("[data-testid=shadow-row]").Select(r => r.QuerySelectorAll("td").Select(td => td.TextContent).ToList()).ToList();
        Assert.Equal(["Champion", "1.2%", "0.031", "312.0", "0.620", "0.910", "0.550"], rows[0]);
        Assert.Equal(["Challenger", "1.1%", "0.029", "290.0", "0.710", "0.940", "0.630"], rows[1]);
    }

    [Fact]
    public async Task Approve_WithoutComment_RefusedAtTheField_WithComment_Decides()
    {
        var decisions = new List<(bool, string)>();
        var page = Render(AwaitingApproval(), canDecide: true, decided: decisions.Add);

        await page.ClickAsync("[data-testid=approve-button]");
        Assert.Empty(decisions);
        Assert.Contains("Say why you approve", page.Find("[data-testid=approval-box]").TextContent);

        await page.InvokeAsync(() => page.Find("textarea[data-testid=decision-comment]").Input("holdout gain is real"));
        await page.ClickAsync("[data-testid=reject-button]");

        Assert.Equal([(false, "holdout gain is real")], decisions);
    }

    [Fact]
    public void Render_CannotDecide_NoApprovalButtons()
    {
        var page = Render(AwaitingApproval(), canDecide: false);

        Assert.Contains("Waiting for an Admin", page.Find("[data-testid=approval-box]").TextContent);
        Assert.Empty(page.FindAll("[data-testid=approve-button]"));
        Assert.Empty(page.FindAll("[data-testid=reject-button]"));
    }

    [Fact]
    public void Render_RunningTrainJob_ShowsItsStageAndPercent()
    {
        var w = Workflow(RetrainingStatus.Running, RetrainingStep.Train);
        var detail = new RetrainingWorkflowDetail(w, [.. RetrainingStep.All.Select(s => Step(w.Id, s,
            s is RetrainingStep.Dataset or RetrainingStep.Features ? RetrainingStepStatus.Succeeded : s == RetrainingStep.Train ? RetrainingStepStatus.Running : RetrainingStepStatus.Pending,
            job: s == RetrainingStep.Train ? TrainJob : null))]);
        var job = new Job(TrainJob, "training.run", "{}", JobStatus.Running, 40, "boosting round 120 of 300", 1, 2, false, "w1", Start, null, null, "system:retraining", Start, Start, null);

        var page = Render(detail, jobs: new Dictionary<Guid, Job> { [TrainJob] = job });

        var progress = page.Find("[data-step=train] [data-testid=job-progress]");
        Assert.Equal("40", progress.GetAttribute("data-progress"));
        Assert.Contains("boosting round 120 of 300", progress.TextContent);
        Assert.Single(page.FindAll("[data-testid=job-progress]"));
    }

    [Fact]
    public void Render_FailedWorkflow_ShowsTheErrorAndTheFailedStep()
    {
        var w = Workflow(RetrainingStatus.Failed, RetrainingStep.Gate, error: "gate failed: pr_auc on the common holdout 0.61 < champion 0.66 + 0.01");
        var detail = new RetrainingWorkflowDetail(w, [.. RetrainingStep.All.Select(s => Step(w.Id, s,
            RetrainingStep.All.ToList().IndexOf(s) < 4 ? RetrainingStepStatus.Succeeded : s == RetrainingStep.Gate ? RetrainingStepStatus.Failed : RetrainingStepStatus.Pending,
            result: s == RetrainingStep.Gate ? new GateStepResult("failed", 6, 1, 0, 0.61, 0.66) : null,
            error: s == RetrainingStep.Gate ? "champion_margin: pr_auc" : null))]);

        var page = Render(detail);

        Assert.Contains("gate failed", page.Find("[data-testid=workflow-error]").TextContent);
        Assert.Equal("failed", page.Find("[data-step=gate]").GetAttribute("data-status"));
        Assert.Equal("champion_margin: pr_auc", page.Find("[data-step=gate] [data-testid=step-error]").TextContent);
        Assert.Contains("took", page.Find("[data-testid=workflow-trigger]").TextContent);
        Assert.Empty(page.FindAll("[data-testid=approval-box]"));
    }
}
