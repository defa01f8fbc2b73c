using FraudWorkbench.Core.Data;

namespace FraudWorkbench.Tests.Data;

public sealed class SchemaDiffTests
{
    private static ColumnProfile Categories(string name, long distinct, bool atLeast, params (string Value, long Count)[] top) =>
        new(name, ColumnType.Categorical, ColumnRole.Feature, 0, 0, distinct, atLeast, null, null, [.. top.Select(t => new CategoryCount(t.Value, t.Count, null))], null);

    private static DatasetProfile Profile(long rows, params ColumnProfile[] columns) => new(rows, columns, null, null, rows);

    [Fact]
    public void NewCategories_ValueAbsentFromAFullyListedPreviousVersion_CertainWithItsShare()
    {
        var v1 = Profile(1_000, Categories("merchant_category", 2, false, ("groceries", 700), ("travel", 300)));
        var v2 = Profile(2_000, Categories("merchant_category", 3, false, ("groceries", 1_500), ("travel", 420), ("crypto_exchange", 80)));

        var found = SchemaDiff.NewCategories(v1, v2);

        Assert.Equal([new NewCategory("merchant_category", "crypto_exchange", 80, 0.04, true)], found);
    }

    [Fact]
    public void NewCategories_PreviousListedOnlyItsMostFrequent_OnlyValuesFromOnePercentAndNotCertain()
    {
        // v1 had more distinct values than it listed: a value missing from its list may just have been rare.
        var v1 = Profile(1_000, Categories("email_domain", 50, false, ("gmail.com", 600), ("(other values)", 400)));
        var v2 = Profile(1_000, Categories("email_domain", 51, false, ("gmail.com", 590), ("proton.me", 30), ("tiny.example", 5), ("(other values)", 375)));

        var found = SchemaDiff.NewCategories(v1, v2);

        Assert.Equal([new NewCategory("email_domain", "proton.me", 30, 0.03, false)], found); // 0.5 % and the bucket row are left out
    }

    [Fact]
    public void NewCategories_ColumnNewOrNotCategorical_NothingReported()
    {
        var v1 = Profile(100, Categories("channel", 1, false, ("web", 100)));
        var v2 = Profile(100, Categories("channel", 1, false, ("web", 100)), Categories("device", 1, false, ("mobile", 100)));

        Assert.Empty(SchemaDiff.NewCategories(v1, v2)); // "device" is an added column, reported as such, not as new values
    }
}
