using System.Security.Claims;
using Bunit;
using FraudWorkbench.Components.Pages.Monitoring;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Events;
using FraudWorkbench.Core.Monitoring;
using FraudWorkbench.Core.Registry;
using FraudWorkbench.Security;
using FraudWorkbench.Tests.Scoring;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor;
using MudBlazor.Services;

namespace FraudWorkbench.Tests.Components;

/// <summary>One trained app (month A, two runs) shared by the monitoring panels' tests: training is the slow part.</summary>
[CollectionDefinition(Name)]
public sealed class MonitoringPanelsCollection : ICollectionFixture<ScoringFixture>
{
    public const string Name = "monitoring panels";
}

/// <summary>
/// A bUnit context over a running app: the app's own services (monitoring, registry, audit, its event hub) behind
/// MudBlazor, the real authorization policies and a signed-in user of <paramref name="role"/>.
/// </summary>
public sealed class AppPageContext : IAsyncDisposable
{
    /// <param name="replace">Registers services over the app's own (a store on a database that is down, say).</param>
    public AppPageContext(ScoringFixture fixture, string role, Action<IServiceCollection>? replace = null)
    {
        BunitContext.DefaultWaitTimeout = TimeSpan.FromSeconds(15);
        Bunit.JSInterop.Mode = JSRuntimeMode.Loose;
        var services = Bunit.Services;
        services.AddMudServices();
        services.AddAuthorizationCore(SecurityExtensions.ConfigurePolicies);
        services.AddTransient<IAuthorizationService, DefaultAuthorizationService>();
        services.AddSingleton<AuthenticationStateProvider>(new FixedUser(role, UserEmail));
        services.AddScoped<CurrentUser>();
        // The app's own instances, not its provider: its scoped services (the renderer's among them) must not leak in.
        var app = new ServiceCollection()
            .AddSingleton(fixture.App.Get<MonitoringService>())
            .AddSingleton(fixture.App.Get<RegistryStore>())
            .AddSingleton(fixture.App.Get<AuditLog>())
            .AddSingleton(fixture.App.Get<EventHub>())
            .AddSingleton(fixture.App.Get<TimeProvider>())
            .AddSingleton(fixture.App.Get<FraudWorkbench.Core.Jobs.JobStore>())
            .AddSingleton(fixture.App.Get<FraudWorkbench.Core.Jobs.JobSubjects>())
            .AddSingleton(fixture.App.Get<FraudWorkbench.Core.Data.DatasetStore>())
            .AddSingleton(fixture.App.Get<FraudWorkbench.Core.Performance.PerformanceService>())
            .AddSingleton(fixture.App.Get<FraudWorkbench.Core.Performance.LabelImport>())
            .AddSingleton(fixture.App.Get<FraudWorkbench.Core.Performance.LabelStatsStore>());
        fallback = app.BuildServiceProvider();
        services.AddFallbackServiceProvider(fallback);
        replace?.Invoke(services);
        Bunit.Render<MudPopoverProvider>();
    }

    private readonly ServiceProvider fallback;

    public const string UserEmail = "monitor@example.com";

    public BunitContext Bunit { get; } = new();

    public T Get<T>() where T : notnull => Bunit.Services.GetRequiredService<T>();

    public async ValueTask DisposeAsync()
    {
        await Bunit.DisposeAsync();
        await fallback.DisposeAsync();
    }

}

[Trait("Category", "Database")]
[Collection(MonitoringPanelsCollection.Name)]
public sealed class MonitoringSettingsTests(ScoringFixture fixture)
{
    private static IRenderedComponent<MonitoringSettingsPanel> Render(AppPageContext context, string model)
    {
        var page = context.Bunit.Render<MonitoringSettingsPanel>(p => p.Add(x => x.Model, model));
        page.WaitForAssertion(() => Assert.Equal("ready", page.Find("[data-testid=monitoring-settings]").GetAttribute("data-state")));
        return page;
    }

    private static IRenderedComponent<MudSelect<string>> MethodSelect(IRenderedComponent<MonitoringSettingsPanel> page, string column) =>
        page.FindComponents<MudSelect<string>>().Single(s => Equals(s.Instance.UserAttributes.GetValueOrDefault("data-column"), column));

    private static Task SetThresholdAsync(IRenderedComponent<MonitoringSettingsPanel> page, string column, string value) =>
        page.ChangeAsync($"input[data-testid=threshold-input][data-column='{column}']", value);

    private static AngleSharp.Dom.IElement Row(IRenderedComponent<MonitoringSettingsPanel> page, string column) =>
        page.FindAll("[data-testid=settings-table] tbody tr").Single(r => r.GetAttribute("data-column") == column);

    private async Task<IReadOnlyList<AuditEntry>> AuditAsync(string model) =>
        [.. (await fixture.App.Get<AuditLog>().PageAsync(0, 50, new AuditFilter(Action: "model.monitoring"))).Items.Where(e => e.ObjectId == model)];

    [Fact]
    public async Task Save_EditedTestAndThreshold_StoredReloadedAndAuditedWithBeforeAndAfter()
    {
        const string model = "settings-edit";
        await fixture.RegisterAsync(model, fixture.WeakRun, ScoringFixture.LenientGate);
        await using var context = new AppPageContext(fixture, Roles.DataScientist);
        var page = Render(context, model);

        // Every monitored column is offered, the score and the decision under their plain names; month A's reference
        // holds more than 1,000 rows, so automatic means normed Wasserstein for numbers and Jensen-Shannon otherwise.
        var reference = (await fixture.App.Get<MonitoringService>().ReferenceAsync(model))!;
        Assert.Equal(reference.All.Select(c => c.Name), page.FindAll("[data-testid=settings-table] tbody tr").Select(r => r.GetAttribute("data-column")));
        Assert.StartsWith("fraud score", Row(page, MonitoredColumns.Score).TextContent.Trim());
        Assert.StartsWith("decision", Row(page, MonitoredColumns.Decision).TextContent.Trim());
        Assert.Equal("wasserstein", Row(page, "amount").GetAttribute("data-automatic"));
        Assert.Equal("jensenshannon", Row(page, "merchant_category").GetAttribute("data-automatic"));
        Assert.Equal("Automatic (jensenshannon)", MethodSelect(page, "merchant_category").Find("input").GetAttribute("value")); // what the closed select reads
        Assert.Equal("0.1", page.Find("input[data-testid=threshold-input][data-column=amount]").GetAttribute("placeholder"));

        // Only the tests that can read the column are offered: no KS or Wasserstein for a category.
        Assert.Equal(string.Join(",", DriftMethod.All), Row(page, "amount").GetAttribute("data-methods"));
        Assert.Equal("chisquare,z,jensenshannon,psi,hellinger", Row(page, "merchant_category").GetAttribute("data-methods"));

        await page.InvokeAsync(() => MethodSelect(page, "amount").Instance.ValueChanged.InvokeAsync(DriftMethod.KolmogorovSmirnov));
        page.WaitForAssertion(() => Assert.Equal("0.05", page.Find("input[data-testid=threshold-input][data-column=amount]").GetAttribute("placeholder"))); // KS's default
        await SetThresholdAsync(page, "amount", "0.01");
        await SetThresholdAsync(page, "merchant_category", "0.2");
        await page.ChangeAsync("input[data-testid=drift-share-input]", "0.4");
        await page.ClickAsync("[data-testid=save-settings]");

        page.WaitForAssertion(() => Assert.Equal("ready", page.Find("[data-testid=monitoring-settings]").GetAttribute("data-state")));
        var saved = (await fixture.App.Get<MonitoringService>().ConfigAsync(model))!;
        Assert.Equal(0.4, saved.DriftShare);
        Assert.Equal(2, saved.Columns!.Count);
        Assert.Equal(new ColumnDriftSettings(DriftMethod.KolmogorovSmirnov, 0.01), saved.Columns["amount"]);
        Assert.Equal(new ColumnDriftSettings(null, 0.2), saved.Columns["merchant_category"]);
        Assert.Contains(context.Get<ISnackbar>().ShownSnackbars, s => s.Message == "Monitoring settings saved.");

        // A fresh panel reads back what was stored.
        var reloaded = Render(context, model);
        Assert.Equal(("ks", "0.01"), (Row(reloaded, "amount").GetAttribute("data-method"), Row(reloaded, "amount").GetAttribute("data-threshold")));
        Assert.Equal(("", "0.2"), (Row(reloaded, "merchant_category").GetAttribute("data-method"), Row(reloaded, "merchant_category").GetAttribute("data-threshold")));
        Assert.Equal("0.4", reloaded.Find("input[data-testid=drift-share-input]").GetAttribute("value"));

        // The audit trail says who changed what, from the defaults to the new values, as /audit shows it.
        var entry = Assert.Single(await AuditAsync(model));
        Assert.Equal(("user:" + AppPageContext.UserEmail, "registered-model"), (entry.Actor, entry.ObjectType)); // the registry's own object type, so /audit links the model
        var changes = AuditChanges.Describe(entry).ToDictionary(c => c.Field);
        Assert.Equal((null, "ks"), (changes["columns.amount.method"].Before, changes["columns.amount.method"].After));
        Assert.Equal((null, "0.01"), (changes["columns.amount.threshold"].Before, changes["columns.amount.threshold"].After));
        Assert.Equal(("0.5", "0.4"), (changes["driftShare"].Before, changes["driftShare"].After)); // the defaults were in force before
        Assert.Equal(["columns.amount.method", "columns.amount.threshold", "columns.merchant_category.threshold", "driftShare"], changes.Keys.Order(StringComparer.Ordinal));
        var audit = context.Bunit.Render<FraudWorkbench.Components.Pages.Audit>();
        audit.WaitForAssertion(() =>
        {
            var newest = audit.FindAll("[data-testid=audit-table] tbody tr")[0];
            Assert.Contains("model.monitoring", newest.TextContent);
            Assert.Equal(model, newest.QuerySelector("[data-testid=audit-object] a")!.TextContent.Trim());
            Assert.Equal($"models/{model}", newest.QuerySelector("[data-testid=audit-object] a")!.GetAttribute("href"));
            var method = newest.QuerySelectorAll("[data-testid=audit-change]").Single(c => c.GetAttribute("data-field") == "columns.amount.method");
            Assert.Equal("ks", method.QuerySelector("ins")!.TextContent);
        });

        // Reset asks first; cancelling keeps the settings, confirming stores the defaults and audits that too.
        await reloaded.ClickAsync("[data-testid=reset-settings]");
        Assert.Contains("Reset every column to the automatic test", reloaded.Find("[data-testid=reset-confirm]").TextContent);
        await reloaded.ClickAsync("[data-testid=reset-cancel]");
        Assert.Empty(reloaded.FindAll("[data-testid=reset-confirm]"));
        Assert.Equal(2, (await fixture.App.Get<MonitoringService>().ConfigAsync(model))!.Columns!.Count);
        await reloaded.ClickAsync("[data-testid=reset-settings]");
        await reloaded.ClickAsync("[data-testid=reset-yes]");

        reloaded.WaitForAssertion(() => Assert.Equal("", Row(reloaded, "amount").GetAttribute("data-method")));
        var reset = (await fixture.App.Get<MonitoringService>().ConfigAsync(model))!;
        Assert.Equal((0.5, null), (reset.DriftShare, reset.Columns));
        var audits = await AuditAsync(model);
        Assert.Equal(2, audits.Count);
        var undone = AuditChanges.Describe(audits[0]).ToDictionary(c => c.Field);
        Assert.Equal(("0.4", "0.5"), (undone["driftShare"].Before, undone["driftShare"].After));
        Assert.Equal(("ks", null), (undone["columns.amount.method"].Before, undone["columns.amount.method"].After));
    }

    [Fact]
    public async Task Save_InvalidThresholdAndShare_MessagesAtTheirFieldsAndNothingSaved()
    {
        const string model = "settings-invalid";
        await fixture.RegisterAsync(model, fixture.WeakRun, ScoringFixture.LenientGate);
        await using var context = new AppPageContext(fixture, Roles.Admin);
        var page = Render(context, model);

        // Jensen-Shannon distance lies in [0, 1]: 1.5 can never be reached. Text that is no number is refused as well.
        await page.InvokeAsync(() => MethodSelect(page, "merchant_category").Instance.ValueChanged.InvokeAsync(DriftMethod.JensenShannon));
        await SetThresholdAsync(page, "merchant_category", "1.5");
        await SetThresholdAsync(page, "amount", "0.1");
        await page.ChangeAsync("input[data-testid=drift-share-input]", "1.5");
        await page.ClickAsync("[data-testid=save-settings]");

        page.WaitForAssertion(() =>
        {
            Assert.Contains("A Jensen-Shannon or Hellinger threshold is above 0 and at most 1", Row(page, "merchant_category").TextContent);
            Assert.Contains("The dataset drift share is a fraction above 0 and at most 1", page.Markup);
        });
        Assert.DoesNotContain("at most 1", Row(page, "amount").TextContent); // the valid one is not blamed
        Assert.Equal(MonitoringConfig.Default, await fixture.App.Get<MonitoringService>().ConfigAsync(model));

        await SetThresholdAsync(page, "merchant_category", "abc");
        await page.ChangeAsync("input[data-testid=drift-share-input]", "0.5");
        await page.ClickAsync("[data-testid=save-settings]");

        page.WaitForAssertion(() => Assert.Contains("The threshold of merchant_category is not a number: 'abc'.", Row(page, "merchant_category").TextContent));
        Assert.DoesNotContain("fraction above 0", page.Markup);
        Assert.Equal(MonitoringConfig.Default, await fixture.App.Get<MonitoringService>().ConfigAsync(model));
        Assert.Empty(await AuditAsync(model));
        Assert.DoesNotContain(context.Get<ISnackbar>().ShownSnackbars, s => s.Message?.Contains("saved") == true);
    }

    [Fact]
    public async Task Render_Reviewer_SeesTheSettingsReadOnly()
    {
        const string model = "settings-read-only";
        await fixture.RegisterAsync(model, fixture.WeakRun, ScoringFixture.LenientGate);
        var config = new MonitoringConfig(0.3, new Dictionary<string, ColumnDriftSettings> { ["amount"] = new(DriftMethod.Psi, 0.25) });
        Assert.Empty((await fixture.App.Get<MonitoringService>().SaveConfigAsync(model, config, "test"))!);
        await using var context = new AppPageContext(fixture, Roles.Reviewer);

        var page = Render(context, model);

        Assert.Equal("false", page.Find("[data-testid=monitoring-settings]").GetAttribute("data-editable"));
        Assert.Contains("Only Admins and Data Scientists may change these settings", page.Find("[data-testid=settings-read-only]").TextContent);
        Assert.Empty(page.FindAll("input"));
        Assert.Empty(page.FindComponents<MudSelect<string>>());
        Assert.Empty(page.FindAll("[data-testid=save-settings], [data-testid=reset-settings]"));
        Assert.Equal("psi", Row(page, "amount").QuerySelector("[data-testid=method-value]")!.TextContent.Trim());
        Assert.Equal("0.25", Row(page, "amount").QuerySelector("[data-testid=threshold-value]")!.TextContent.Trim());
        Assert.Equal("Automatic (jensenshannon)", Row(page, "merchant_category").QuerySelector("[data-testid=method-value]")!.TextContent.Trim());
        Assert.Equal("0.1 (default)", Row(page, "merchant_category").QuerySelector("[data-testid=threshold-value]")!.TextContent.Trim());
        Assert.Contains("Dataset drift share: 0.3", page.Find("[data-testid=drift-share-value]").TextContent);
    }

    [Fact]
    public async Task Render_UnknownModel_SaysSo()
    {
        await using var context = new AppPageContext(fixture, Roles.Admin);

        var page = context.Bunit.Render<MonitoringSettingsPanel>(p => p.Add(x => x.Model, "no-such-model"));

        page.WaitForAssertion(() => Assert.Contains("There is no model named 'no-such-model'.", page.Find("[data-testid=settings-error]").TextContent));
    }
}
