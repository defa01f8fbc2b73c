using Bunit;
using FraudWorkbench.Components.Pages.Monitoring;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Jobs;
using FraudWorkbench.Core.Monitoring;
using FraudWorkbench.Tests.Scoring;
using MudBlazor;

namespace FraudWorkbench.Tests.Components;

[Trait("Category", "Database")]
[Collection(MonitoringPanelsCollection.Name)]
public sealed class ReplayTrafficFormTests(ScoringFixture fixture)
{
    [Fact]
    public async Task Start_DatasetChosen_ScoresItsRowsAsTrafficAndFollowsTheJobLive()
    {
        const string model = "replay-form";
        await fixture.RegisterAndPromoteAsync(model, fixture.WeakRun);
        await using var context = new AppPageContext(fixture, Roles.DataScientist);
        var form = context.Bunit.Render<ReplayTrafficForm>(p => p.Add(x => x.Model, model));

        // The sample month the fixture ingested is offered; choosing it picks its newest version.
        var datasets = form.FindComponents<MudSelect<Guid?>>().Single();
        var sample = (await context.Get<Core.Data.DatasetStore>().ListAsync()).Single(d => d.Name == "scoring-sample");
        await form.InvokeAsync(() => datasets.Instance.ValueChanged.InvokeAsync(sample.Id));
        form.WaitForAssertion(() => Assert.False(form.Find("button[data-testid=replay-start]").HasAttribute("disabled"))); // a version was picked
        await form.InvokeAsync(() => form.FindComponents<MudNumericField<int?>>().Single().Instance.ValueChanged.InvokeAsync(300));
        await form.ClickAsync("button[data-testid=replay-start]");

        // The job's progress arrives over the event hub; the form shows it finish without being re-rendered by the test.
        form.WaitForAssertion(() => Assert.Equal(JobStatus.Succeeded, form.Find("[data-testid=replay-job]").GetAttribute("data-status")), TimeSpan.FromSeconds(60));
        var now = DateTime.UtcNow;
        var drift = (await fixture.App.Get<MonitoringService>().DriftAsync(model, MonitoringRange.Covering(now.AddMinutes(-1), now, WindowSize.Hour)))!;
        Assert.Equal(300, drift.Windows.Sum(w => w.Predictions));
    }

    [Fact]
    public async Task Render_Reviewer_CannotStartAReplay()
    {
        await using var context = new AppPageContext(fixture, Roles.Reviewer);
        var form = context.Bunit.Render<ReplayTrafficForm>(p => p.Add(x => x.Model, "any-model"));

        form.WaitForAssertion(() => Assert.Contains("Only data scientists and admins", form.Find("[data-testid=replay-read-only]").TextContent));
        Assert.Empty(form.FindAll("[data-testid=replay-start]"));
    }
}
