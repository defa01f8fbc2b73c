using FraudWorkbench.Core.Fairness;
using FraudWorkbench.Core.Registry;
using static FraudWorkbench.Core.Fairness.DisparityName;

namespace FraudWorkbench.Tests.Fairness;

public sealed class FairnessGateTests
{
    private static readonly FairnessSettings Settings = new();

    private static readonly FairnessLimit DpRatio = new(DemographicParity, Ratio, 0.8);

    private static readonly FairnessLimit EoDifference = new(EqualizedOdds, Difference, 0.1);

    [Theory]
    [InlineData(0.70, 0.60, 0.78, false)] // the whole interval is below 0.8
    [InlineData(0.75, 0.65, 0.85, true)] // below, but the interval reaches the limit: not proven unfair
    [InlineData(0.90, 0.82, 0.97, true)]
    [InlineData(0.80, 0.70, 0.80, true)] // an upper bound exactly on the limit is not beyond it
    public void Judge_RatioLimit_FailsOnlyWhenTheWholeIntervalIsBelow(double value, double lower, double upper, bool passed)
    {
        var checks = FairnessGate.Judge(new([DpRatio]), [Grouping("gender", D(DemographicParity, Ratio, value, lower, upper))], null, null, ["gender"], Settings);

        var check = Assert.Single(checks);
        Assert.Equal((FairnessGate.LimitKind, passed, false), (check.Kind, check.Passed, check.Inconclusive));
        Assert.Equal((value, 0.8, lower, upper, "gender"), (check.Candidate!.Value, check.Reference!.Value, check.Lower!.Value, check.Upper!.Value, check.Subject));
        Assert.Equal("demographic parity ratio (between groups)", check.Metric);
        Assert.Equal(passed && value < 0.8, check.Rule.Contains("the interval reaches it", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(0.15, 0.11, 0.19, false)] // the whole interval is above 0.1
    [InlineData(0.15, 0.09, 0.21, true)]
    [InlineData(0.05, 0.01, 0.09, true)]
    public void Judge_DifferenceLimit_FailsOnlyWhenTheWholeIntervalIsAbove(double value, double lower, double upper, bool passed)
    {
        var grouping = Grouping("gender",
            D(EqualizedOdds, Difference, 0.99, 0.98, 1.0, aggregation: Mean), // another aggregation: must not be the one judged
            D(EqualizedOdds, Difference, value, lower, upper, aggregation: WorstCase));

        var check = Assert.Single(FairnessGate.Judge(new([EoDifference]), [grouping], null, null, ["gender"], Settings));

        Assert.Equal((passed, value), (check.Passed, check.Candidate));
        Assert.Equal("equalized odds difference (worst case, between groups)", check.Metric);
    }

    [Fact]
    public void Judge_WithoutIntervals_JudgesThePointValue()
    {
        var checks = FairnessGate.Judge(new([DpRatio]), [Grouping("gender", D(DemographicParity, Ratio, 0.79, null, null))], null, null, ["gender"], Settings with { Resamples = 0 });

        Assert.False(Assert.Single(checks).Passed);
    }

    [Fact]
    public void Judge_DisparityUndefinedBecauseGroupsTooSmall_InconclusiveNamingThem()
    {
        var grouping = Grouping("gender", D(DemographicParity, Ratio, null, null, null)) with
        {
            Groups = [Group("female", 2_000, 20), Group("male", 12, 1, "fewer than 30 rows")],
        };

        var check = Assert.Single(FairnessGate.Judge(new([DpRatio]), [grouping], null, null, ["gender"], Settings));

        Assert.Equal((false, true, null), (check.Passed, check.Inconclusive, check.Candidate));
        Assert.Contains("fewer than two groups of \"gender\" have at least 30 rows", check.Rule, StringComparison.Ordinal);
        Assert.Contains("male (12 rows, 1 fraud)", check.Rule, StringComparison.Ordinal);
        Assert.Equal(GateStatus.Inconclusive, GateStatus.Of([check]));
        Assert.True(GateStatus.CanOverride(GateStatus.Inconclusive));
        Assert.False(GateStatus.AllowsProduction(GateStatus.Inconclusive));
    }

    [Fact]
    public void Judge_NoGroupingLimit_OneCheckPerProtectedColumn_NamedGroupingMissingIsInconclusive()
    {
        var groupings = new[] { Grouping("gender", D(DemographicParity, Ratio, 0.9, 0.85, 0.95)), Grouping("age", D(DemographicParity, Ratio, 0.7, 0.6, 0.75)) };
        var gate = new FairnessGateSettings([DpRatio, DpRatio with { Grouping = "gender × region" }]);

        var checks = FairnessGate.Judge(gate, groupings, null, null, ["gender", "age"], Settings);

        Assert.Equal(["gender", "age", "gender × region"], checks.Select(c => c.Subject));
        Assert.Equal([true, false, false], checks.Select(c => c.Passed));
        Assert.Equal([false, false, true], checks.Select(c => c.Inconclusive));
        Assert.Contains("no protected grouping \"gender × region\"", checks[2].Rule, StringComparison.Ordinal);
        Assert.Equal(GateStatus.Failed, GateStatus.Of(checks)); // a failure outweighs an inconclusive check
    }

    [Fact]
    public void Judge_EmptyGate_NoChecks_LimitsWithoutProtectedColumns_Inconclusive()
    {
        Assert.Empty(FairnessGate.Judge(FairnessGateSettings.None, [], null, null, [], Settings));
        Assert.Equal(GateStatus.Passed, GateStatus.Of([]));

        var check = Assert.Single(FairnessGate.Judge(new([DpRatio]), [], null, null, [], Settings));

        Assert.True(check.Inconclusive);
        Assert.Contains("marks no protected column", check.Rule, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0.70, 0.60, 0.76, false)] // production 0.80, margin 0.02: the whole interval is below 0.78
    [InlineData(0.70, 0.60, 0.79, true)]
    [InlineData(0.85, 0.80, 0.90, true)]
    public void Judge_NonRegressionOnRatio_AgainstProductionPointMinusMargin(double value, double lower, double upper, bool passed)
    {
        var gate = new FairnessGateSettings([DpRatio with { Threshold = 0.5 }], NonRegression: true, MaxRegression: 0.02);
        var candidate = Grouping("gender", D(DemographicParity, Ratio, value, lower, upper));
        var production = Grouping("gender", D(DemographicParity, Ratio, 0.80, null, null));

        var checks = FairnessGate.Judge(gate, [candidate], [production], 3, ["gender"], Settings);

        Assert.Equal([FairnessGate.LimitKind, FairnessGate.RegressionKind], checks.Select(c => c.Kind));
        var regression = checks[1];
        Assert.Equal((passed, value, 0.80), (regression.Passed, regression.Candidate!.Value, regression.Reference!.Value));
        Assert.StartsWith("≥ 0.78 (production version 3 0.8, at most 0.02 worse)", regression.Rule, StringComparison.Ordinal);
    }

    [Fact]
    public void Judge_NonRegressionWithoutLimits_ComparesDpRatioAndEoDifference()
    {
        var gate = new FairnessGateSettings([], NonRegression: true, MaxRegression: 0.05);
        var candidate = Grouping("gender", D(DemographicParity, Ratio, 0.9, 0.8, 0.95), D(EqualizedOdds, Difference, 0.20, 0.16, 0.25, aggregation: WorstCase));
        var production = Grouping("gender", D(DemographicParity, Ratio, 0.9, null, null), D(EqualizedOdds, Difference, 0.10, null, null, aggregation: WorstCase));

        var checks = FairnessGate.Judge(gate, [candidate], [production], 1, ["gender"], Settings);

        Assert.Equal(["demographic parity ratio (between groups)", "equalized odds difference (worst case, between groups)"], checks.Select(c => c.Metric));
        Assert.Equal([true, false], checks.Select(c => c.Passed)); // EO: 0.16 > 0.10 + 0.05
    }

    [Fact]
    public void Judge_NonRegressionWithoutProduction_NoRegressionChecks_ProductionUndefined_Passes()
    {
        var gate = new FairnessGateSettings([DpRatio], NonRegression: true);
        var candidate = Grouping("gender", D(DemographicParity, Ratio, 0.9, 0.85, 0.95));

        Assert.Single(FairnessGate.Judge(gate, [candidate], null, null, ["gender"], Settings));
        var regression = FairnessGate.Judge(gate, [candidate], [Grouping("gender", D(DemographicParity, Ratio, null, null, null))], 2, ["gender"], Settings)[1];
        Assert.Equal((true, (double?)null), (regression.Passed, regression.Reference));
    }

    [Fact]
    public void Validate_BadLimits_NamesEachField()
    {
        var gate = new FairnessGateSettings(
            [new FairnessLimit("parity", Ratio, 0.8), new FairnessLimit(DemographicParity, "quotient", 1.5, "to_group", WorstCase, " ")],
            MaxRegression: -0.1);

        var fields = gate.Validate().Select(i => i.Field).ToList();

        Assert.Equal(["limits[0].disparity", "limits[1].kind", "limits[1].method", "limits[1].aggregation", "limits[1].threshold", "limits[1].grouping", "maxRegression"], fields);
        Assert.Empty(new FairnessGateSettings([.. FairnessGateSettings.Suggested, EoDifference with { Aggregation = Mean, Method = ToOverall }]).Validate());
    }

    private static GroupingFairness Grouping(string name, params Disparity[] disparities) =>
        new(name, 0, Group("overall", 1_000, 100), [Group("a", 500, 50), Group("b", 500, 50)], disparities, null);

    private static GroupMetrics Group(string name, long count, long fraud, string? tooSmall = null) =>
        new(name, count, count / 1_000.0, fraud, tooSmall, new Dictionary<string, FairnessValue>());

    private static Disparity D(string name, string kind, double? value, double? lower, double? upper, string method = BetweenGroups, string? aggregation = null) =>
        new(name, kind, method, aggregation, new FairnessValue(value, lower, upper), "a", "b");
}
