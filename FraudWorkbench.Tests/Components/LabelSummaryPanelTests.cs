using Bunit;
using FraudWorkbench.Components.Pages.Monitoring;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Scoring;
using FraudWorkbench.Tests.Performance;
using FraudWorkbench.Tests.Scoring;

namespace FraudWorkbench.Tests.Components;

[Trait("Category", "Database")]
[Collection(MonitoringPanelsCollection.Name)]
public sealed class LabelSummaryPanelTests(ScoringFixture fixture)
{
    private static string Attribute(IRenderedComponent<LabelSummaryPanel> panel, string testId, string name) =>
        panel.Find($"[data-testid={testId}]").GetAttribute(name) ?? "";

    [Fact]
    public async Task Render_LabelBatchArrives_CountsFollowLiveAndTheStaleWarningGoes()
    {
        const string model = "labels-summary-live";
        var scored = await LabelScenario.ScoreAsync(fixture, model, 30, 31, 32, 33);
        var predictions = fixture.App.Get<PredictionStore>();
        await predictions.RecordFeedbackAsync([new FeedbackItem(scored[0].Id, true)], "test");
        await LabelScenario.SetReceivedAsync(fixture, scored[0].Id, DateTime.UtcNow.AddDays(-20));
        await using var context = new AppPageContext(fixture, Roles.Reviewer);

        var panel = context.Bunit.Render<LabelSummaryPanel>(p => p.Add(x => x.Model, model));

        panel.WaitForAssertion(() => Assert.Equal("loaded", Attribute(panel, "label-summary", "data-state")));
        Assert.Equal(("1", "1"), (Attribute(panel, "labels-month", "data-labels"), Attribute(panel, "labels-month", "data-fraud")));
        Assert.Equal("1 fraud (100 %)", panel.Find("[data-testid=labels-month-fraud]").TextContent.Trim());
        Assert.Equal("0", Attribute(panel, "labels-week", "data-labels"));
        Assert.Equal("no labels", panel.Find("[data-testid=labels-day-fraud]").TextContent.Trim());
        Assert.Equal("20", Attribute(panel, "labels-last", "data-days"));
        Assert.StartsWith("No labels for 20 days.", panel.Find("[data-testid=labels-stale]").TextContent.Trim());

        // A batch for this model: the panel reloads on the event, no polling.
        await predictions.RecordFeedbackAsync([new FeedbackItem(scored[1].Id, false), new FeedbackItem(scored[2].Id, true), new FeedbackItem(scored[3].Id, false)], "test");

        panel.WaitForAssertion(() => Assert.Equal("3", Attribute(panel, "labels-day", "data-labels")));
        Assert.Equal("1 fraud (33.3 %)", panel.Find("[data-testid=labels-day-fraud]").TextContent.Trim());
        Assert.Equal(("4", "2"), (Attribute(panel, "labels-month", "data-labels"), Attribute(panel, "labels-month", "data-fraud")));
        Assert.Equal("0", Attribute(panel, "labels-last", "data-days"));
        Assert.Equal("just now", panel.Find("[data-testid=labels-last-value]").TextContent.Trim());
        Assert.Empty(panel.FindAll("[data-testid=labels-stale]"));
    }

    [Fact]
    public async Task Render_NoLabelEver_SaysSo()
    {
        const string model = "labels-summary-none";
        await fixture.RegisterAndPromoteAsync(model, fixture.StrongRun);
        await using var context = new AppPageContext(fixture, Roles.DataScientist);

        var panel = context.Bunit.Render<LabelSummaryPanel>(p => p.Add(x => x.Model, model));

        panel.WaitForAssertion(() => Assert.Equal("loaded", Attribute(panel, "label-summary", "data-state")));
        Assert.Equal("never", panel.Find("[data-testid=labels-last-value]").TextContent.Trim());
        Assert.StartsWith("No label has arrived for this model yet.", panel.Find("[data-testid=labels-stale]").TextContent.Trim());
    }

    [Fact]
    public async Task Render_UnknownModel_SaysSo()
    {
        await using var context = new AppPageContext(fixture, Roles.Admin);

        var panel = context.Bunit.Render<LabelSummaryPanel>(p => p.Add(x => x.Model, "no-such-model"));

        panel.WaitForAssertion(() => Assert.Equal("There is no model named 'no-such-model'.", panel.Find("[data-testid=label-summary-error]").TextContent.Trim()));
    }
}
