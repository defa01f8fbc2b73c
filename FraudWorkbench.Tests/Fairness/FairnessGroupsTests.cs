using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Fairness;

namespace FraudWorkbench.Tests.Fairness;

public sealed class FairnessGroupsTests
{
    private static readonly IReadOnlyList<double> Ages = SchemaInference.DefaultAgeBands; // 18, 25, 35, 45, 55, 65

    [Theory]
    [InlineData(17.9, "<18")]
    [InlineData(18, "18–24")]
    [InlineData(24.99, "18–24")]
    [InlineData(25, "25–34")]
    [InlineData(64, "55–64")]
    [InlineData(65, "65+")]
    [InlineData(101, "65+")]
    public void Band_DefaultAgeBands_AgeLabels(double age, string band) => Assert.Equal(band, FairnessGroups.Band(age, Ages));

    [Fact]
    public void Band_FractionalBounds_HalfOpenIntervals()
    {
        Assert.Equal("[0.5, 1.5)", FairnessGroups.Band(1, [0.5, 1.5, 3]));
        Assert.Equal(["<0.5", "[0.5, 1.5)", "[1.5, 3)", "3+"], FairnessGroups.BandLabels([0.5, 1.5, 3]));
    }

    [Fact]
    public void Of_AgeColumnWithMissingAndUnreadable_BandsInOrderThenMissing()
    {
        var column = new DatasetColumn("customer_age", ColumnType.Integer, ColumnRole.Protected, AgeBands: Ages);
        string?[][] rows = [["70"], ["19"], [null], ["?"], ["abc"], ["40"], ["19"], [""]];

        var grouping = FairnessGroups.Of(column, 0, rows);

        // Bands in age order whatever order the rows came in; missing, "?", empty and unreadable all as "(missing)".
        Assert.Equal(["18–24", "35–44", "65+", FairnessGroups.Missing], grouping.Labels);
        Assert.Equal([2, 0, 3, 3, 3, 1, 0, 3], grouping.Of);
        Assert.Equal(0, grouping.Bucketed);
    }

    [Fact]
    public void Of_CategoryWithManyValues_TwentyMostFrequentKeptTheRestAsOther()
    {
        var column = new DatasetColumn("email_domain", ColumnType.Categorical, ColumnRole.Protected);
        // Value i appears 100 − i times: values 0–19 are the 20 most frequent, 20–49 (30 values) go to "(other)".
        var rows = Enumerable.Range(0, 50).SelectMany(i => Enumerable.Repeat(new string?[] { $"d{i:00}" }, 100 - i)).ToList();

        var grouping = FairnessGroups.Of(column, 0, rows);

        Assert.Equal(21, grouping.Count);
        Assert.Equal(30, grouping.Bucketed);
        Assert.Equal(FairnessGroups.Other, grouping.Labels[^1]);
        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"d{i:00}"), grouping.Labels.Take(20));
        Assert.Equal(Enumerable.Range(20, 30).Sum(i => 100 - i), grouping.Of.Count(g => g == 20));
    }

    [Fact]
    public void Of_OneValueOrAllMissing_OneGroup()
    {
        var column = new DatasetColumn("customer_gender", ColumnType.Categorical, ColumnRole.Protected);

        Assert.Equal(["F"], FairnessGroups.Of(column, 0, [["F"], ["F"]]).Labels);
        Assert.Equal([FairnessGroups.Missing], FairnessGroups.Of(column, 0, [[null], [""]]).Labels);
    }

    [Fact]
    public void Cross_GenderByAgeBand_OneGroupPerCombinationInTheColumnsOrder()
    {
        var gender = FairnessGroups.FromValues("customer_gender", ["M", "F", "F", "M", "F"]);
        var age = FairnessGroups.FromValues("customer_age", ["65+", "18–24", "65+", "65+", "18–24"], order: ["18–24", "65+"]);

        var crossed = FairnessGroups.Cross([gender, age]);

        Assert.Equal("customer_gender × customer_age", crossed.Name);
        Assert.Equal(["F × 18–24", "F × 65+", "M × 65+"], crossed.Labels); // M × 18–24 does not occur
        Assert.Equal([2, 0, 1, 2, 0], crossed.Of);
        Assert.Throws<ArgumentException>(() => FairnessGroups.Cross([gender]));
    }

    [Fact]
    public void Cross_ThreeColumns_LabelsJoinAllThree()
    {
        var a = FairnessGroups.FromValues("a", ["x", "x", "y"]);
        var b = FairnessGroups.FromValues("b", ["1", "2", "1"]);
        var c = FairnessGroups.FromValues("c", ["p", "p", "q"]);

        var crossed = FairnessGroups.Cross([a, b, c]);

        Assert.Equal(["x × 1 × p", "x × 2 × p", "y × 1 × q"], crossed.Labels);
    }
}
