using System.Text.Json;
using Bunit;
using FraudWorkbench.Components.Pages.Monitoring;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Performance;
using FraudWorkbench.Tests.Scoring;
using MudBlazor;

namespace FraudWorkbench.Tests.Components;

[Trait("Category", "Database")]
[Collection(MonitoringPanelsCollection.Name)]
public sealed class PerformanceSettingsPanelTests(ScoringFixture fixture)
{
    private static IRenderedComponent<PerformanceSettingsPanel> Render(AppPageContext context, string model)
    {
        var panel = context.Bunit.Render<PerformanceSettingsPanel>(p => p.Add(x => x.Model, model));
        panel.WaitForAssertion(() => Assert.Equal("ready", panel.Find("[data-testid=performance-settings]").GetAttribute("data-state")));
        return panel;
    }

    private static string Text(IRenderedComponent<PerformanceSettingsPanel> panel) => panel.Find("[data-testid=performance-settings]").TextContent;

    private async Task<IReadOnlyList<AuditEntry>> AuditAsync(string model) =>
        [.. (await fixture.App.Get<AuditLog>().PageAsync(0, 50, new AuditFilter(Action: "model.performance"))).Items.Where(e => e.ObjectId == model)];

    private Task<PerformanceConfig?> ConfigAsync(string model) => fixture.App.Get<PerformanceService>().ConfigAsync(model);

    [Fact]
    public async Task Save_NewWindowAndMaturity_StoredReloadedAndAudited()
    {
        const string model = "performance-settings-save";
        await fixture.RegisterAsync(model, fixture.WeakRun, ScoringFixture.LenientGate);
        await using var context = new AppPageContext(fixture, Roles.DataScientist);
        var panel = Render(context, model);

        // The defaults, as the core has them, fill the fields of a model never configured.
        Assert.Equal("90", panel.Find("input[data-testid=label-window-input]").GetAttribute("value"));
        Assert.Equal("80", panel.Find("input[data-testid=alert-maturity-input]").GetAttribute("value"));
        Assert.Contains("default 90 days", Text(panel));
        Assert.Contains("default 80 %", Text(panel));

        await panel.ChangeAsync("input[data-testid=label-window-input]", "30");
        await panel.ChangeAsync("input[data-testid=alert-maturity-input]", "65 %");
        await panel.ClickAsync("[data-testid=save-performance-settings]");

        panel.WaitForAssertion(() => Assert.Contains(context.Get<ISnackbar>().ShownSnackbars, s => s.Message == "Performance settings saved."));
        Assert.Equal(new PerformanceConfig(30, 0.65), await ConfigAsync(model));
        var reloaded = Render(context, model);
        Assert.Equal("30", reloaded.Find("input[data-testid=label-window-input]").GetAttribute("value"));
        Assert.Equal("65", reloaded.Find("input[data-testid=alert-maturity-input]").GetAttribute("value"));

        var entry = Assert.Single(await AuditAsync(model));
        Assert.Equal(("user:" + AppPageContext.UserEmail, "registered-model"), (entry.Actor, entry.ObjectType));
        using var summary = JsonDocument.Parse(entry.Summary!);
        Assert.Equal((90, 0.8), (summary.RootElement.GetProperty("before").GetProperty("labelWindowDays").GetInt32(), summary.RootElement.GetProperty("before").GetProperty("alertMaturity").GetDouble()));
        Assert.Equal((30, 0.65), (summary.RootElement.GetProperty("after").GetProperty("labelWindowDays").GetInt32(), summary.RootElement.GetProperty("after").GetProperty("alertMaturity").GetDouble()));
    }

    [Fact]
    public async Task Save_OutOfRangeAndNotNumbers_MessagesAtTheirFieldsAndNothingSaved()
    {
        const string model = "performance-settings-invalid";
        await fixture.RegisterAsync(model, fixture.WeakRun, ScoringFixture.LenientGate);
        await using var context = new AppPageContext(fixture, Roles.Admin);
        var panel = Render(context, model);

        await panel.ChangeAsync("input[data-testid=label-window-input]", "366");
        await panel.ChangeAsync("input[data-testid=alert-maturity-input]", "120");
        await panel.ClickAsync("[data-testid=save-performance-settings]");

        panel.WaitForAssertion(() =>
        {
            Assert.Contains("The label window is from 1 to 365 days.", Text(panel));
            Assert.Contains("The alert maturity is a percentage from 0 to 100.", Text(panel));
        });

        await panel.ChangeAsync("input[data-testid=label-window-input]", "2.5");
        await panel.ChangeAsync("input[data-testid=alert-maturity-input]", "most");
        await panel.ClickAsync("[data-testid=save-performance-settings]");

        panel.WaitForAssertion(() =>
        {
            Assert.Contains("The label window is a whole number of days: '2.5' is not.", Text(panel));
            Assert.Contains("The alert maturity is a percentage: 'most' is not a number.", Text(panel));
        });
        Assert.DoesNotContain("from 1 to 365", Text(panel));

        // Zero is a valid maturity (alert on any labels), one day the shortest window.
        await panel.ChangeAsync("input[data-testid=label-window-input]", "0");
        await panel.ChangeAsync("input[data-testid=alert-maturity-input]", "0");
        await panel.ClickAsync("[data-testid=save-performance-settings]");
        panel.WaitForAssertion(() => Assert.Contains("The label window is from 1 to 365 days.", Text(panel)));
        Assert.DoesNotContain("percentage", Text(panel));

        Assert.Equal(PerformanceConfig.Default, await ConfigAsync(model));
        Assert.Empty(await AuditAsync(model));
        Assert.DoesNotContain(context.Get<ISnackbar>().ShownSnackbars, s => s.Message?.Contains("saved") == true);
    }

    [Fact]
    public async Task Render_Reviewer_SeesTheValuesAndCannotSave()
    {
        const string model = "performance-settings-read-only";
        await fixture.RegisterAsync(model, fixture.WeakRun, ScoringFixture.LenientGate);
        Assert.Empty((await fixture.App.Get<PerformanceService>().SaveConfigAsync(model, new PerformanceConfig(45, 0.9), "test"))!);
        await using var context = new AppPageContext(fixture, Roles.Reviewer);

        var panel = Render(context, model);

        Assert.Equal("false", panel.Find("[data-testid=performance-settings]").GetAttribute("data-editable"));
        Assert.Contains("Only Admins and Data Scientists may change these settings", panel.Find("[data-testid=performance-settings-read-only]").TextContent);
        Assert.Empty(panel.FindAll("input"));
        Assert.Empty(panel.FindAll("[data-testid=save-performance-settings]"));
        Assert.Equal("Label window: 45 days", panel.Find("[data-testid=label-window-value]").TextContent.Trim());
        Assert.Equal("Alert maturity: 90 %", panel.Find("[data-testid=alert-maturity-value]").TextContent.Trim());
    }
}
