using FraudWorkbench.Core.Accounts;

namespace FraudWorkbench.Tests.Accounts;

public sealed class AuditChangesTests
{
    private static AuditEntry Entry(string action, string? summary, string? previous = null) =>
        new(1, new DateTime(2026, 12, 7, 0, 0, 0, DateTimeKind.Utc), "user:ana@example.com", action, "thing", "id", summary, previous);

    [Fact]
    public void Describe_UpdateAfterAnUpdate_OnlyTheFieldsThatChangedDeepInsideTheSettings()
    {
        var previous = """{"description":"card fraud","gate":{"baselines":[{"metric":"pr_auc","operator":">=","threshold":0.5}],"compareMetrics":["pr_auc"],"maxAbsoluteDrop":0.02}}""";
        var current = """{"description":"card fraud","gate":{"baselines":[{"metric":"pr_auc","operator":">=","threshold":0.6}],"compareMetrics":["pr_auc","roc_auc"],"maxRelativeDrop":0.1}}""";

        var changes = AuditChanges.Describe(Entry("model.update", current, previous));

        Assert.Equal(
            [
                new AuditChange("gate.baselines[0].threshold", "0.5", "0.6", true),
                new AuditChange("gate.compareMetrics", "pr_auc", "pr_auc, roc_auc", true),
                new AuditChange("gate.maxRelativeDrop", null, "0.1", true),
                new AuditChange("gate.maxAbsoluteDrop", "0.02", null, true),
            ],
            changes);
    }

    [Fact]
    public void Describe_BeforeAndAfterInTheSummary_OneLineNamedAfterTheAction()
    {
        var changes = AuditChanges.Describe(Entry("user.set-role", """{"before":"Reviewer","after":"Admin"}"""));

        Assert.Equal([new AuditChange("role", "Reviewer", "Admin", true)], changes);
    }

    [Fact]
    public void Describe_PlainSummary_FieldsWithReadableValues()
    {
        var changes = AuditChanges.Describe(Entry("api-key.create", """{"name":"acme","scopes":["predict","feedback"],"expiresAt":"2027-01-31T10:15:00Z","active":true,"limit":null}"""));

        Assert.Equal(
            [
                new AuditChange("name", null, "acme", false),
                new AuditChange("scopes", null, "predict, feedback", false),
                new AuditChange("expiresAt", null, "2027-01-31 10:15:00", false),
                new AuditChange("active", null, "yes", false),
                new AuditChange("limit", null, null, false),
            ],
            changes);
    }

    [Fact]
    public void NameOf_VersionOrNamedObject_TheNamePeopleUse()
    {
        Assert.Equal("card-fraud v3", AuditChanges.NameOf(Entry("model-version.stage", """{"model":"card-fraud","version":3,"from":"staging"}""")));
        Assert.Equal("month-a", AuditChanges.NameOf(Entry("dataset.archive", """{"name":"month-a"}""")));
        Assert.Null(AuditChanges.NameOf(Entry("job.cancel", """{"kind":"training.run"}""")));
        Assert.Null(AuditChanges.NameOf(Entry("job.cancel", null)));
    }
}
