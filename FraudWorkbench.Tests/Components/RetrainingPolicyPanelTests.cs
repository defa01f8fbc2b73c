using Bunit;
using FraudWorkbench.Components.Pages.Retraining;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Alerts;
using FraudWorkbench.Core.Registry;
using FraudWorkbench.Core.Retraining;
using FraudWorkbench.Tests.Infrastructure;
using System.Security.Claims;
using FraudWorkbench.Security;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Components.Authorization;
using FraudWorkbench.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor;
using MudBlazor.Services;

namespace FraudWorkbench.Tests.Components;

[Trait("Category", "Database")]
public sealed class RetrainingPolicyPanelTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    private const string UserEmail = RetrainingContext.UserEmail;

    private BunitContext NewContext(string role) => RetrainingContext.Create(db, role);

    private static string FieldText(IRenderedComponent<PolicyPanel> panel, string field) =>
        panel.Find($"input[data-testid=policy-{field}]").Closest(".mud-input-control")!.TextContent;

    private async Task<string> ModelAsync(string name)
    {
        await using var connection = await db.DataSource.OpenConnectionAsync();
        await Dapper.SqlMapper.ExecuteAsync(connection,
            "INSERT INTO registered_models (id, name, gate, created_by, created_at) VALUES (gen_random_uuid(), @name, '{}', 'test', now()) ON CONFLICT DO NOTHING", new { name });
        return name;
    }

    [Fact]
    public async Task Save_InvalidValues_ErrorsAtTheirFields_NothingSaved()
    {
        var model = await ModelAsync("policy-invalid");
        await using var context = NewContext(Roles.DataScientist);
        var panel = context.Render<PolicyPanel>(p => p.Add(c => c.Model, model));

        await panel.ClickAsync("[data-testid=policy-edit]");
        await panel.ChangeAsync("input[data-testid=policy-maxPerWeek]", "0");
        await panel.ChangeAsync("input[data-testid=policy-holdoutDays]", "28");
        await panel.ChangeAsync("input[data-testid=policy-recipeRunId]", "last week's run");
        await panel.ClickAsync("[data-testid=policy-save]");

        panel.WaitForAssertion(() => Assert.Contains("recipeRunId", panel.Find("[data-testid=policy-errors]").TextContent));
        // The recipe run cannot even be read: that one is named first, then fixed, then the policy's own checks speak.
        await panel.ChangeAsync("input[data-testid=policy-recipeRunId]", "");
        await panel.ClickAsync("[data-testid=policy-save]");
        panel.WaitForAssertion(() =>
        {
            var errors = panel.Find("[data-testid=policy-errors]").TextContent;
            Assert.Contains("maxPerWeek", errors);
            Assert.Contains("holdoutDays", errors);
            Assert.Contains("At most 1 to 50 workflows a week.", FieldText(panel, "maxPerWeek"));
            Assert.Contains("The holdout must be shorter than the training window", FieldText(panel, "holdoutDays"));
        });
        Assert.Null((await context.Services.GetRequiredService<RetrainingStore>().GetPolicyAsync(model))!.UpdatedBy);
    }

    [Fact]
    public async Task Save_Valid_StoredAsTheUserAndShown()
    {
        var model = await ModelAsync("policy-valid");
        await using var context = NewContext(Roles.DataScientist);
        var panel = context.Render<PolicyPanel>(p => p.Add(c => c.Model, model));

        await panel.ClickAsync("[data-testid=policy-edit]");
        await panel.ChangeAsync("input[data-testid=policy-scheduleDays]", "14");
        await panel.ChangeAsync("input[data-testid=policy-watchHours]", "24");
        await panel.ClickAsync("[data-testid=policy-save]");

        panel.WaitForAssertion(() => Assert.Contains("every 14 days", panel.Find("[data-testid=policy-triggers]").TextContent));
        var stored = (await context.Services.GetRequiredService<RetrainingStore>().GetPolicyAsync(model))!;
        Assert.Equal("user:" + UserEmail, stored.UpdatedBy);
        Assert.Equal(14, stored.Policy.ScheduleDays);
        Assert.Equal(24, stored.Policy.WatchHours);
        Assert.Empty(stored.Policy.Rules);
        Assert.Equal(RetrainingPolicy.Default with { ScheduleDays = 14, WatchHours = 24 }, stored.Policy with { TriggerRuleIds = null });
    }

    [Fact]
    public async Task Reviewer_SeesThePolicy_NoEditButton()
    {
        var model = await ModelAsync("policy-reviewer");
        await using var context = NewContext(Roles.Reviewer);

        var panel = context.Render<PolicyPanel>(p => p.Add(c => c.Model, model));

        panel.WaitForAssertion(() => Assert.Contains("Retrain now", panel.Find("[data-testid=policy-triggers]").TextContent));
        Assert.Empty(panel.FindAll("[data-testid=policy-edit]"));
    }
}

/// <summary>A bUnit context with the retraining stores and service on the class's database and a signed-in user of a role.</summary>
internal static class RetrainingContext
{
    public const string UserEmail = "policy-editor@example.com";

    public static BunitContext Create(DatabaseFixture db, string role)
    {
        BunitContext.DefaultWaitTimeout = TimeSpan.FromSeconds(15);
        var context = new BunitContext();
        context.JSInterop.Mode = JSRuntimeMode.Loose;
        var services = context.Services;
        var hub = db.NewHub();
        services.AddMudServices();
        services.AddSingleton(db.DataSource);
        services.AddSingleton(hub);
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(db.Jobs(hub));
        services.AddSingleton(new FraudWorkbench.Core.Features.FeatureSetStore(db.DataSource, TimeProvider.System));
        services.AddSingleton<RegistryStore>();
        services.AddSingleton<RetrainingStore>();
        services.AddSingleton<AlertRuleStore>();
        services.AddLogging();
        // The service (with the engine and everything it starts) as the app builds it, on the same database: what the panels
        // call on save, approve and cancel. Nothing runs in the background here.
        var dataDirectory = Directory.CreateTempSubdirectory("fwb-bunit-retraining-").FullName;
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Postgres"] = db.ConnectionString,
            ["FraudWorkbench:DataDirectory"] = dataDirectory,
        }).Build();
        var app = new ServiceCollection().AddSingleton<IConfiguration>(configuration).AddLogging().AddFraudWorkbench(background: false).BuildServiceProvider();
        services.AddFallbackServiceProvider(app);
        // Made by a factory so the context owns it: disposing the context disposes the app's provider and removes its directory.
        services.AddSingleton(_ => new AppCleanup(app, dataDirectory));
        services.AddAuthorizationCore(SecurityExtensions.ConfigurePolicies);
        services.AddTransient<IAuthorizationService, DefaultAuthorizationService>();
        services.AddSingleton<AuthenticationStateProvider>(new FixedUser(role, UserEmail));
        services.AddScoped<CurrentUser>();
        context.Render<MudPopoverProvider>();
        context.Services.GetRequiredService<AppCleanup>();
        return context;
    }

    private sealed class AppCleanup(ServiceProvider app, string dataDirectory) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await app.DisposeAsync();
            if (Directory.Exists(dataDirectory)) Directory.Delete(dataDirectory, recursive: true);
        }
    }
}
