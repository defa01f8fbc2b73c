using Bunit;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Registry;
using FraudWorkbench.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using AuditPage = FraudWorkbench.Components.Pages.Audit;

namespace FraudWorkbench.Tests.Components;

[Trait("Category", "Database")]
public sealed class AuditPageTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    [Fact]
    public async Task Audit_UpdatedModelGate_ShowsTheModelByNameAndOnlyWhatChanged()
    {
        await using var context = new PageContext(db, Roles.Reviewer);
        var registry = new RegistryStore(db.DataSource, TimeProvider.System);
        await using var fallback = new ServiceCollection().AddSingleton(registry).BuildServiceProvider();
        context.Bunit.Services.AddFallbackServiceProvider(fallback);
        await using (var connection = await db.DataSource.OpenConnectionAsync())
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            await registry.EnsureModelAsync(transaction, "audited-model", "user:ana@example.com", CancellationToken.None);
            await transaction.CommitAsync();
        }

        var model = (await registry.GetModelAsync("audited-model"))!;
        await registry.UpdateModelAsync(model.Id, "v1", new GateSettings([new GateBaseline(GateMetric.PrAuc, ">=", 0.5)], [GateMetric.PrAuc], 0.02, 0.1), "user:ana@example.com");
        await registry.UpdateModelAsync(model.Id, "v1", new GateSettings([new GateBaseline(GateMetric.PrAuc, ">=", 0.6)], [GateMetric.PrAuc], 0.02, 0.1), "user:bo@example.com");

        var page = context.Render<AuditPage>();

        page.WaitForAssertion(() =>
        {
            var newest = page.FindAll("[data-testid=audit-table] tbody tr")[0];
            Assert.Contains("bo@example.com", newest.TextContent);
            Assert.DoesNotContain("user:bo", newest.TextContent);
            Assert.Equal("audited-model", newest.QuerySelector("[data-testid=audit-object] a")!.TextContent.Trim());
            Assert.Equal("models/audited-model", newest.QuerySelector("[data-testid=audit-object] a")!.GetAttribute("href"));
            var change = Assert.Single(newest.QuerySelectorAll("[data-testid=audit-change]"));
            Assert.Equal("gate.baselines[0].threshold", change.GetAttribute("data-field"));
            Assert.Equal("0.5", change.QuerySelector("del")!.TextContent);
            Assert.Equal("0.6", change.QuerySelector("ins")!.TextContent);
            Assert.DoesNotContain(model.Id.ToString(), newest.TextContent); // a name, not the bare id
        });
    }
}
