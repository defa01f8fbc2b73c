using System.Security.Claims;
using Bunit;
using FraudWorkbench.Components.Pages.Alerts;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Alerts;
using FraudWorkbench.Core.Events;
using FraudWorkbench.Core.Registry;
using FraudWorkbench.Security;
using FraudWorkbench.Tests.Infrastructure;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using MudBlazor;
using MudBlazor.Services;

namespace FraudWorkbench.Tests.Components;

[Trait("Category", "Database")]
public sealed class AlertRuleEditorTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    /// <summary>No metric is read here: the editor's backtest is not run.</summary>
    private sealed class NoMetrics : IAlertMetricSource
    {
        public Task<IReadOnlyList<MetricPoint>> SeriesAsync(string model, AlertMetricSpec metric, TimeSpan window, IReadOnlyList<DateTime> times, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("not read in these tests");

        public Task<MetricBand?> BandAsync(string model, AlertMetricSpec metric, CancellationToken cancellationToken) => Task.FromResult<MetricBand?>(null);

        public Task<IReadOnlyList<string>> ModelsAsync(AlertMetricSpec metric, CancellationToken cancellationToken) => Task.FromResult<IReadOnlyList<string>>([]);
    }

    private BunitContext NewContext(string role)
    {
        BunitContext.DefaultWaitTimeout = TimeSpan.FromSeconds(15);
        var context = new BunitContext();
        context.JSInterop.Mode = JSRuntimeMode.Loose;
        var services = context.Services;
        services.AddMudServices();
        services.AddSingleton(db.DataSource);
        services.AddSingleton(db.NewHub());
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(Options.Create(new AlertsOptions()));
        services.AddDataProtection();
        services.AddSingleton<WebhookUrlPolicy>();
        services.AddSingleton<NotificationChannelStore>();
        services.AddSingleton<AlertRuleStore>();
        services.AddSingleton<IAlertMetricSource, NoMetrics>();
        services.AddSingleton<AlertBacktest>();
        services.AddSingleton<RegistryStore>();
        services.AddLogging();
        services.AddAuthorizationCore(SecurityExtensions.ConfigurePolicies);
        services.AddTransient<IAuthorizationService, DefaultAuthorizationService>();
        services.AddSingleton<AuthenticationStateProvider>(new FixedUser(role, "editor@example.com"));
        services.AddCascadingAuthenticationState();
        services.AddScoped<CurrentUser>();
        context.Render<MudPopoverProvider>();
        return context;
    }

    private static AlertRuleSpec Rule(string name) =>
        new(name, null, new AlertMetricSpec(AlertMetricKind.DriftShare), new AlertCondition(AlertConditionKind.Above, 0.5, Inclusive: true), Window: "1d");

    [Fact]
    public async Task AlertRuleEditor_NameInUse_TheServersAnswerShownAtTheNameField()
    {
        var name = $"drift {Guid.NewGuid():N}"[..20];
        await using var context = NewContext(Roles.DataScientist);
        var store = context.Services.GetRequiredService<AlertRuleStore>();
        await store.CreateAsync(Rule(name), "test");

        var cut = context.Render<AlertRuleEditor>();
        cut.WaitForElement("input[data-testid=rule-name]").Change(name);
        cut.Find("button[data-testid=rule-save]").Click();

        // The client's checks pass (the same as the server's 400s); the server's 409 lands at the field it is about.
        cut.WaitForAssertion(() => Assert.Contains("name", cut.Find("[data-testid=rule-errors]").TextContent));
        var field = cut.Find("input[data-testid=rule-name]").Closest(".mud-input-control")!;
        Assert.Contains("mud-input-error", field.InnerHtml);
        Assert.Contains("in use", field.TextContent);
        Assert.Single(await store.ListAsync(), r => r.Name == name);
    }

    [Fact]
    public async Task AlertRuleEditor_AboveWithoutThreshold_RefusedAtTheThresholdFieldBeforeTheServer()
    {
        var name = $"nothr {Guid.NewGuid():N}"[..20];
        await using var context = NewContext(Roles.DataScientist);
        var store = context.Services.GetRequiredService<AlertRuleStore>();

        var cut = context.Render<AlertRuleEditor>();
        cut.WaitForElement("input[data-testid=rule-name]").Change(name);
        cut.Find("input[data-testid=rule-threshold]").Change("");
        cut.Find("button[data-testid=rule-save]").Click();

        cut.WaitForAssertion(() => Assert.Contains("condition.threshold", cut.Find("[data-testid=rule-errors]").TextContent));
        var field = cut.Find("input[data-testid=rule-threshold]").Closest(".mud-input-control")!;
        Assert.Contains("needs a finite threshold", field.TextContent);
        Assert.DoesNotContain(await store.ListAsync(), r => r.Name == name);
    }

    [Theory]
    [InlineData(AlertMetricKind.JobFailures, true)]
    [InlineData(AlertMetricKind.ErrorRate, false)]
    [InlineData(AlertMetricKind.LatencyP99, false)]
    public async Task AlertRuleEditor_InstallationWideMetric_ModelSelectDisabled(string kind, bool disabled)
    {
        var name = $"scope {Guid.NewGuid():N}"[..20];
        await using var context = NewContext(Roles.DataScientist);
        var rule = await context.Services.GetRequiredService<AlertRuleStore>().CreateAsync(
            new AlertRuleSpec(name, null, new AlertMetricSpec(kind), new AlertCondition(AlertConditionKind.Above, 1), Window: "1h"), "test");

        var cut = context.Render<AlertRuleEditor>(p => p.Add(x => x.Id, rule.Id));

        var control = cut.WaitForElement("[data-testid=rule-model]").Closest(".mud-input-control")!;
        Assert.Equal(disabled, control.QuerySelector("input")!.HasAttribute("disabled"));
        Assert.Equal(disabled, control.TextContent.Contains("whole installation: no model"));
    }

    [Fact]
    public void AlertRuleForm_ModelLeftOverOnAMetricWithoutModels_NotSent()
    {
        var form = new AlertRuleForm { Name = "jobs", Model = "m1", Window = "1h" };
        form.SetMetric(AlertMetricKind.JobFailures);

        Assert.Null(form.ToSpec().Model);
        form.SetMetric(AlertMetricKind.ErrorRate);
        Assert.Equal("m1", form.ToSpec().Model);
    }

    [Fact]
    public async Task AlertRuleEditor_AuditedActions_ActionFieldShown_ClearedRefusedAtItsField_OtherMetricsHaveNone()
    {
        var name = $"audit {Guid.NewGuid():N}"[..20];
        await using var context = NewContext(Roles.DataScientist);
        var store = context.Services.GetRequiredService<AlertRuleStore>();
        var rule = await store.CreateAsync(new AlertRuleSpec(name, null, new AlertMetricSpec(AlertMetricKind.AuditEvents, Metric: "retraining.fail"),
            new AlertCondition(AlertConditionKind.Above, 0), Window: "1h"), "test");
        var other = await store.CreateAsync(Rule($"drift {Guid.NewGuid():N}"[..20]), "test");

        var cut = context.Render<AlertRuleEditor>(p => p.Add(x => x.Id, rule.Id));
        var action = cut.WaitForElement("input[data-testid=rule-audit-action]");
        Assert.Equal("retraining.fail", action.GetAttribute("value"));
        Assert.Empty(cut.FindAll("input[data-testid=rule-performance-metric]"));

        action.Input("");
        cut.Find("input[data-testid=rule-audit-action]").Blur();
        cut.Find("button[data-testid=rule-save]").Click();

        cut.WaitForAssertion(() => Assert.Contains("metric.metric", cut.Find("[data-testid=rule-errors]").TextContent));
        var field = cut.Find("input[data-testid=rule-audit-action]").Closest(".mud-input-control")!;
        Assert.Contains("mud-input-error", field.InnerHtml);
        Assert.Contains("needs the audited action", field.TextContent);
        Assert.Equal("retraining.fail", (await store.GetAsync(rule.Id))!.Spec.Metric.Metric);

        var drift = context.Render<AlertRuleEditor>(p => p.Add(x => x.Id, other.Id));
        drift.WaitForElement("input[data-testid=rule-name]");
        Assert.Empty(drift.FindAll("input[data-testid=rule-audit-action]"));
    }

    [Fact]
    public void Condition_AuditedActions_ReadAsTheCount()
    {
        var rule = new AlertRuleSpec("failures", null, new AlertMetricSpec(AlertMetricKind.AuditEvents, Metric: "retraining.fail"), new AlertCondition(AlertConditionKind.Above, 0), Window: "1h");

        Assert.Equal("retraining.fail audited > 0 in 1h", AlertsView.Condition(rule));
        Assert.Equal("Audited actions: retraining.fail", AlertsView.Metric(rule.Metric));
        Assert.Equal("model-version.stage audited ≥ 3 in 1d, at least 10 audited entries of any action in a window, for 5m",
            AlertsView.Condition(rule with { Metric = rule.Metric with { Metric = "model-version.stage" }, Condition = new AlertCondition(AlertConditionKind.Above, 3, Inclusive: true), Window = "1d", MinSample = 10, For = "5m" }));
        Assert.Equal("retraining.start audited < 1 in 7d", AlertsView.Condition(rule with { Metric = rule.Metric with { Metric = "retraining.start" }, Condition = new AlertCondition(AlertConditionKind.Below, 1), Window = "7d" }));
        // A band keeps the general wording.
        Assert.StartsWith("outside the reference band", AlertsView.Condition(rule with { Condition = new AlertCondition(AlertConditionKind.OutsideBand) }));
    }

    [Fact]
    public void Form_AuditedActionsRoundTrip_AndSwitchingMetricsLeavesNoActionBehind()
    {
        var spec = new AlertRuleSpec("failures", "fraud-a", new AlertMetricSpec(AlertMetricKind.AuditEvents, Metric: "retraining.fail"), new AlertCondition(AlertConditionKind.Above, 0), Window: "1h");

        var form = AlertRuleForm.From(spec);
        Assert.Equal(("retraining.fail", FraudWorkbench.Core.Performance.PerformanceMetric.Recall), (form.AuditAction, form.PerformanceMetric));
        Assert.Equal(spec with { Labels = null }, form.ToSpec() with { Labels = null });
        form.AuditAction = "  user.sign-in-throttled ";
        Assert.Equal("user.sign-in-throttled", form.ToSpec().Metric.Metric);
        form.AuditAction = null;
        Assert.Null(form.ToSpec().Metric.Metric);

        form.SetMetric(AlertMetricKind.LatencyP99);
        Assert.Equal(new AlertMetricSpec(AlertMetricKind.LatencyP99), form.ToSpec().Metric);
        form.SetMetric(AlertMetricKind.Estimated);
        Assert.Equal(FraudWorkbench.Core.Performance.PerformanceMetric.Recall, form.ToSpec().Metric.Metric);
    }

    [Fact]
    public async Task AlertRuleEditor_Reviewer_ReadOnlyWithoutSave()
    {
        var name = $"ro {Guid.NewGuid():N}"[..20];
        await using var context = NewContext(Roles.Reviewer);
        var rule = await context.Services.GetRequiredService<AlertRuleStore>().CreateAsync(Rule(name), "test");

        var cut = context.Render<AlertRuleEditor>(p => p.Add(x => x.Id, rule.Id));

        cut.WaitForElement("[data-testid=rule-read-only]");
        Assert.Equal(name, cut.Find("input[data-testid=rule-name]").GetAttribute("value"));
        Assert.True(cut.Find("input[data-testid=rule-name]").HasAttribute("readonly"));
        Assert.Empty(cut.FindAll("[data-testid=rule-save]"));
    }
}
