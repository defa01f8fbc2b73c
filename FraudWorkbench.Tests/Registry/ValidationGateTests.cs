using FraudWorkbench.Core.Registry;
using FraudWorkbench.Core.Training;

namespace FraudWorkbench.Tests.Registry;

public sealed class ValidationGateTests
{
    private static ClassificationReport Report(double prAuc, double rocAuc = 0.9, double recall = 0.5, double logLoss = 0.1) =>
        new(rocAuc, prAuc, logLoss, 0.02, recall, 100, 9900);

    [Fact]
    public void Evaluate_Baselines_EachOperatorAsWritten()
    {
        var gate = new GateSettings(
            [new GateBaseline(GateMetric.PrAuc, ">=", 0.5), new GateBaseline(GateMetric.RecallAtOnePercentFpr, ">", 0.6), new GateBaseline(GateMetric.LogLoss, "<", 0.1)], []);

        var checks = ValidationGate.Evaluate(gate, Report(prAuc: 0.5, recall: 0.6, logLoss: 0.09), champion: null);

        Assert.Equal([true, false, true], checks.Select(c => c.Passed));
        Assert.Equal([0.5, 0.6, 0.09], checks.Select(c => c.Candidate));
    }

    [Theory]
    // MLflow's rule, here as "may be worse by at most": production PR-AUC 0.80, margins 0.02 absolute and 5 % relative.
    // Floor = max(0.80 − 0.02, 0.80 × 0.95) = max(0.78, 0.76) = 0.78.
    [InlineData(0.781, true)]
    [InlineData(0.780, true)]
    [InlineData(0.779, false)]
    public void Evaluate_Champion_StricterOfAbsoluteAndRelativeMargin(double candidate, bool passes)
    {
        var gate = new GateSettings([], [GateMetric.PrAuc], MaxAbsoluteDrop: 0.02, MaxRelativeDrop: 0.05);

        var check = Assert.Single(ValidationGate.Evaluate(gate, Report(candidate), Report(0.80)));

        Assert.Equal("champion", check.Kind);
        Assert.Equal(0.80, check.Reference);
        Assert.Equal(passes, check.Passed);
        Assert.StartsWith(">= 0.78 ", check.Rule);
    }

    [Fact]
    public void Evaluate_ChampionOnLowerIsBetterMetric_CeilingIsTheStricterMargin()
    {
        // Production log loss 0.20; worse means higher. Ceiling = min(0.20 + 0.05, 0.20 × 1.10) = min(0.25, 0.22) = 0.22.
        var gate = new GateSettings([], [GateMetric.LogLoss], MaxAbsoluteDrop: 0.05, MaxRelativeDrop: 0.10);

        var within = Assert.Single(ValidationGate.Evaluate(gate, Report(0.5, logLoss: 0.2199), Report(0.5, logLoss: 0.20)));
        var beyond = Assert.Single(ValidationGate.Evaluate(gate, Report(0.5, logLoss: 0.2201), Report(0.5, logLoss: 0.20)));

        Assert.True(within.Passed);
        Assert.False(beyond.Passed);
        Assert.StartsWith("<= 0.22 ", beyond.Rule);
    }

    [Fact]
    public void Evaluate_NaNMetric_NeverPasses()
    {
        var gate = new GateSettings([new GateBaseline(GateMetric.RocAuc, "<=", 1)], []);

        Assert.False(Assert.Single(ValidationGate.Evaluate(gate, Report(0.5, rocAuc: double.NaN), null)).Passed);
    }

    [Fact]
    public void Validate_UnknownMetricOperatorAndMargins_NamesEachField()
    {
        var gate = new GateSettings([new GateBaseline("accuracy", "==", double.PositiveInfinity)], ["f2"], -0.1, 2);

        Assert.Equal(["baselines[0].metric", "baselines[0].operator", "baselines[0].threshold", "compareMetrics[0]", "maxAbsoluteDrop", "maxRelativeDrop"],
            gate.Validate().Select(i => i.Field));
        Assert.Empty(GateSettings.Default.Validate());
    }

    [Theory]
    [InlineData(GateMetric.PrAuc, 1.5)]
    [InlineData(GateMetric.RocAuc, -0.01)]
    [InlineData(GateMetric.RecallAtOnePercentFpr, double.NaN)]
    [InlineData(GateMetric.Brier, 2)]
    [InlineData(GateMetric.LogLoss, -0.1)]
    [InlineData(GateMetric.LogLoss, double.PositiveInfinity)]
    public void Validate_ThresholdOutsideTheMetricsRange_NamesTheThreshold(string metric, double threshold)
    {
        var gate = new GateSettings([new GateBaseline(metric, ">=", threshold)], []);

        Assert.Equal(["baselines[0].threshold"], gate.Validate().Select(i => i.Field));
    }

    [Theory]
    [InlineData(double.NaN, 0.05)]
    [InlineData(0.01, double.NaN)]
    public void Validate_NaNMargin_Refused(double absolute, double relative)
    {
        Assert.Single(new GateSettings([], [], absolute, relative).Validate());
    }

    [Fact]
    public void Validate_ThresholdsAtTheEdgesOfTheRange_Accepted()
    {
        var gate = new GateSettings([new GateBaseline(GateMetric.PrAuc, ">=", 1), new GateBaseline(GateMetric.Brier, "<=", 0), new GateBaseline(GateMetric.LogLoss, "<=", 2.5)], []);

        Assert.Empty(gate.Validate());
    }

    [Fact]
    public void Validate_MoreBaselinesOrComparedMetricsThanThereCanBeDistinct_Refused()
    {
        var baselines = new GateSettings([.. Enumerable.Repeat(new GateBaseline(GateMetric.PrAuc, ">=", 0.5), 21)], []);
        var compared = new GateSettings([], [.. Enumerable.Repeat(GateMetric.PrAuc, 6)]);

        Assert.Equal(["baselines"], baselines.Validate().Select(i => i.Field));
        Assert.Equal(["compareMetrics"], compared.Validate().Select(i => i.Field));
    }
}
