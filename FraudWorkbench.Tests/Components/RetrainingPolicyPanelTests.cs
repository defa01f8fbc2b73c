using Bunit;
using FraudWorkbench.Components.Pages.Retraining;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Alerts;
using FraudWorkbench.Core.Registry;
using FraudWorkbench.Core.Retraining;
using FraudWorkbench.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace FraudWorkbench.Tests.Components;

[Trait("Category", "Database")]
public sealed class RetrainingPolicyPanelTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    private PageContext NewContext(string role)
    {
        var context = new PageContext(db, role);
        var services = context.Bunit.Services;
        services.AddSingleton(db.DataSource);
        services.AddSingleton<RegistryStore>();
        services.AddSingleton<RetrainingStore>();
        services.AddSingleton<RetrainingService>();
        services.AddSingleton<AlertRuleStore>();
        return context;
    }

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
        var panel = context.Bunit.Render<PolicyPanel>(p => p.Add(c => c.Model, model));

        await panel.ClickAsync("[data-testid=policy-edit]");
        await panel.ChangeAsync("[data-testid=policy-maxPerWeek] input", "0");
        await panel.ChangeAsync("[data-testid=policy-holdoutDays] input", "28");
        await panel.ChangeAsync("[data-testid=policy-recipeRunId] input", "last week's run");
        await panel.ClickAsync("[data-testid=policy-save]");

        panel.WaitForAssertion(() => Assert.Contains("recipeRunId", panel.Find("[data-testid=policy-errors]").TextContent));
        // The recipe run cannot even be read: that one is named first, then fixed, then the policy's own checks speak.
        await panel.ChangeAsync("[data-testid=policy-recipeRunId] input", "");
        await panel.ClickAsync("[data-testid=policy-save]");
        panel.WaitForAssertion(() =>
        {
            var errors = panel.Find("[data-testid=policy-errors]").TextContent;
            Assert.Contains("maxPerWeek", errors);
            Assert.Contains("holdoutDays", errors);
            Assert.Contains("At most 1 to 50 workflows a week.", panel.Find("[data-testid=policy-maxPerWeek]").TextContent);
            Assert.Contains("The holdout must be shorter than the training window", panel.Find("[data-testid=policy-holdoutDays]").TextContent);
        });
        Assert.Null((await context.Get<RetrainingStore>().GetPolicyAsync(model))!.UpdatedBy);
    }

    [Fact]
    public async Task Save_Valid_StoredAsTheUserAndShown()
    {
        var model = await ModelAsync("policy-valid");
        await using var context = NewContext(Roles.DataScientist);
        var panel = context.Bunit.Render<PolicyPanel>(p => p.Add(c => c.Model, model));

        await panel.ClickAsync("[data-testid=policy-edit]");
        await panel.ChangeAsync("[data-testid=policy-scheduleDays] input", "14");
        await panel.ChangeAsync("[data-testid=policy-watchHours] input", "24");
        await panel.ClickAsync("[data-testid=policy-save]");

        panel.WaitForAssertion(() => Assert.Contains("every 14 days", panel.Find("[data-testid=policy-triggers]").TextContent));
        var stored = (await context.Get<RetrainingStore>().GetPolicyAsync(model))!;
        Assert.Equal("user:" + PageContext.UserEmail, stored.UpdatedBy);
        Assert.Equal(14, stored.Policy.ScheduleDays);
        Assert.Equal(24, stored.Policy.WatchHours);
        Assert.Equal(RetrainingPolicy.Default with { ScheduleDays = 14, WatchHours = 24, TriggerRuleIds = [] }, stored.Policy);
    }

    [Fact]
    public async Task Reviewer_SeesThePolicy_NoEditButton()
    {
        var model = await ModelAsync("policy-reviewer");
        await using var context = NewContext(Roles.Reviewer);

        var panel = context.Bunit.Render<PolicyPanel>(p => p.Add(c => c.Model, model));

        panel.WaitForAssertion(() => Assert.Contains("Retrain now", panel.Find("[data-testid=policy-triggers]").TextContent));
        Assert.Empty(panel.FindAll("[data-testid=policy-edit]"));
    }
}
