using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Tests.Infrastructure;

namespace FraudWorkbench.Tests.Accounts;

[Trait("Category", "Database")]
public sealed class AuditLogTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    private static readonly DateTime Monday = new(2026, 11, 30, 9, 0, 0, DateTimeKind.Utc);

    private async Task WriteAsync(DateTime at, string actor, string action, string type, string? id, object summary)
    {
        await using var connection = await db.DataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await AuditLog.WriteAsync(transaction, at, actor, action, type, id, summary, CancellationToken.None);
        await transaction.CommitAsync();
    }

    [Fact]
    public async Task PageAsync_Filters_EachNarrowsAndUpdatesCarryThePreviousUpdate()
    {
        var model = Guid.NewGuid().ToString();
        await WriteAsync(Monday, "user:ana@example.com", "model.create", "registered-model", model, new { name = "audit-a" });
        await WriteAsync(Monday.AddHours(1), "user:ana@example.com", "model.update", "registered-model", model, new { description = "first" });
        await WriteAsync(Monday.AddDays(1), "user:bo@example.com", "model.update", "registered-model", model, new { description = "second" });
        await WriteAsync(Monday.AddDays(2), "user:bo@example.com", "dataset.archive", "dataset", Guid.NewGuid().ToString(), new { name = "audit-b" });
        var log = new AuditLog(db.DataSource);

        var byBo = await log.PageAsync(0, 10, new AuditFilter(Actor: "user:bo@example.com"));
        var updates = await log.PageAsync(0, 10, new AuditFilter(Action: "model.update", ObjectType: "registered-model"));
        var tuesday = await log.PageAsync(0, 10, new AuditFilter(From: Monday.Date.AddDays(1), To: Monday.Date.AddDays(2)));
        var bySummary = await log.PageAsync(0, 10, new AuditFilter(Search: "audit-b"));

        Assert.Equal(2, byBo.Total);
        Assert.Equal(["model.update", "model.update"], updates.Items.Select(e => e.Action));
        Assert.Equal("""{"description": "first"}""", updates.Items[0].PreviousSummary); // the newest update compares with the one before it
        Assert.Null(updates.Items[1].PreviousSummary); // the first update has nothing earlier of its kind
        Assert.Equal([AuditChanges.Describe(updates.Items[0]).Single()], [new AuditChange("description", "first", "second", true)]);
        Assert.Equal(["user:bo@example.com"], tuesday.Items.Select(e => e.Actor));
        Assert.Equal("dataset.archive", Assert.Single(bySummary.Items).Action);

        var facets = await log.FacetsAsync();
        Assert.Contains("user:bo@example.com", facets.Actors);
        Assert.Contains("registered-model", facets.ObjectTypes);
        Assert.Contains("dataset.archive", facets.Actions);
    }
}
