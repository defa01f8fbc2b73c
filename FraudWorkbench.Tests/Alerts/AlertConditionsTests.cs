using FraudWorkbench.Core.Alerts;

namespace FraudWorkbench.Tests.Alerts;

/// <summary>Conditions on one reading, with the band and relative-change numbers worked out by hand in the comments.</summary>
public sealed class AlertConditionsTests
{
    private static readonly DateTime T = new(2026, 3, 2, 10, 0, 0, DateTimeKind.Utc);

    private static MetricPoint P(double? value, long sample = 100) => new(T, value, sample);

    private static IReadOnlyList<MetricPoint> Ref(params double[] values) => [.. values.Select((v, i) => new MetricPoint(T.AddDays(-values.Length + i), v, 100))];

    [Theory]
    [InlineData(AlertConditionKind.Above, false, 0.5, 0.5, AlertOutcome.False)]
    [InlineData(AlertConditionKind.Above, true, 0.5, 0.5, AlertOutcome.True)]
    [InlineData(AlertConditionKind.Above, false, 0.5, 0.5000001, AlertOutcome.True)]
    [InlineData(AlertConditionKind.Above, true, 0.5, 0.4999999, AlertOutcome.False)]
    [InlineData(AlertConditionKind.Below, false, 0.7, 0.7, AlertOutcome.False)]
    [InlineData(AlertConditionKind.Below, true, 0.7, 0.7, AlertOutcome.True)]
    [InlineData(AlertConditionKind.Below, false, 0.7, 0.69, AlertOutcome.True)]
    public void Evaluate_AboveBelow_StrictUnlessInclusive(string kind, bool inclusive, double threshold, double value, AlertOutcome expected)
    {
        var result = AlertConditions.Evaluate(new AlertCondition(kind, threshold, Inclusive: inclusive), 0, P(value), [], null);

        Assert.Equal(expected, result.Outcome);
        Assert.Equal(kind == AlertConditionKind.Above ? (null, threshold) : (threshold, (double?)null), (result.Lower, result.Upper));
    }

    [Theory]
    // Reference 10, 12, 14: mean 12, sample sd √((4 + 0 + 4) / 2) = 2; k = 3 → band [6, 18].
    [InlineData(AlertDirection.Either, 18.5, AlertOutcome.True)]
    [InlineData(AlertDirection.Either, 18.0, AlertOutcome.False)]
    [InlineData(AlertDirection.Either, 17.9, AlertOutcome.False)]
    [InlineData(AlertDirection.Either, 5.9, AlertOutcome.True)]
    [InlineData(AlertDirection.Up, 5.9, AlertOutcome.False)]
    [InlineData(AlertDirection.Up, 18.1, AlertOutcome.True)]
    [InlineData(AlertDirection.Down, 5.9, AlertOutcome.True)]
    [InlineData(AlertDirection.Down, 18.1, AlertOutcome.False)]
    public void Evaluate_OutsideBand_MeanPlusMinusThreeSampleSd(string direction, double value, AlertOutcome expected)
    {
        var result = AlertConditions.Evaluate(new AlertCondition(AlertConditionKind.OutsideBand, Direction: direction), 0, P(value), Ref(10, 12, 14), null);

        Assert.Equal(expected, result.Outcome);
        if (direction == AlertDirection.Up) Assert.Null(result.Lower);
        else Assert.Equal(6.0, result.Lower!.Value, 9);
        if (direction == AlertDirection.Down) Assert.Null(result.Upper);
        else Assert.Equal(18.0, result.Upper!.Value, 9);
        Assert.Equal(direction switch { AlertDirection.Up => "> 18", AlertDirection.Down => "< 6", _ => "outside [6, 18]" }, result.Describe());
    }

    [Fact]
    public void Evaluate_OutsideBand_KTwoNarrowsTheBand()
    {
        // Same reference, k = 2 → [12 − 4, 12 + 4] = [8, 16]: 16.5 is outside now.
        var result = AlertConditions.Evaluate(new AlertCondition(AlertConditionKind.OutsideBand, K: 2), 0, P(16.5), Ref(10, 12, 14), null);

        Assert.Equal((AlertOutcome.True, 8.0, 16.0), (result.Outcome, result.Lower!.Value, result.Upper!.Value));
    }

    [Fact]
    public void Evaluate_OutsideBand_ReferenceUnderMinSampleLeftOut()
    {
        // 10 and 12 have 100 observations, 1000 has 1 (under 50): band from {10, 12}: mean 11, sd √((1 + 1) / 1) = √2,
        // k = 3 → [11 − 3√2, 11 + 3√2] = [6.7574, 15.2426]. 15.3 is outside; with the outlier kept it would not be.
        IReadOnlyList<MetricPoint> reference = [new(T.AddDays(-3), 10, 100), new(T.AddDays(-2), 12, 100), new(T.AddDays(-1), 1000, 1)];

        var result = AlertConditions.Evaluate(new AlertCondition(AlertConditionKind.OutsideBand), 50, P(15.3), reference, null);

        Assert.Equal(AlertOutcome.True, result.Outcome);
        Assert.Equal(11 - 3 * Math.Sqrt(2), result.Lower!.Value, 9);
        Assert.Equal(11 + 3 * Math.Sqrt(2), result.Upper!.Value, 9);
    }

    [Fact]
    public void Evaluate_OutsideBand_MetricsOwnBandWinsOverTheReference()
    {
        // CBPE's band [0.61, 0.74] for estimated recall; direction down judges only the lower edge.
        var band = new MetricBand(0.61, 0.74);

        var low = AlertConditions.Evaluate(new AlertCondition(AlertConditionKind.OutsideBand, Direction: AlertDirection.Down), 0, P(0.60), Ref(10, 12, 14), band);
        var high = AlertConditions.Evaluate(new AlertCondition(AlertConditionKind.OutsideBand, Direction: AlertDirection.Down), 0, P(0.99), Ref(10, 12, 14), band);

        Assert.Equal((AlertOutcome.True, 0.61, (double?)null), (low.Outcome, low.Lower!.Value, low.Upper));
        Assert.Equal(AlertOutcome.False, high.Outcome);
        Assert.Equal("< 0.61", low.Describe());
    }

    [Fact]
    public void Evaluate_OutsideBand_FewerThanTwoReferenceReadings_Unknown()
    {
        var one = AlertConditions.Evaluate(new AlertCondition(AlertConditionKind.OutsideBand), 0, P(100), Ref(10), null);
        var none = AlertConditions.Evaluate(new AlertCondition(AlertConditionKind.OutsideBand), 0, P(100), [new MetricPoint(T, null, 0), new MetricPoint(T, null, 0)], null);

        Assert.Equal(AlertOutcome.Unknown, one.Outcome);
        Assert.Equal(AlertOutcome.Unknown, none.Outcome);
    }

    [Theory]
    // Reference 90, 100, 110: mean 100; threshold 0.5 → band [50, 150].
    [InlineData(AlertDirection.Either, 151, AlertOutcome.True)]
    [InlineData(AlertDirection.Either, 150, AlertOutcome.False)]
    [InlineData(AlertDirection.Either, 49, AlertOutcome.True)]
    [InlineData(AlertDirection.Up, 49, AlertOutcome.False)]
    [InlineData(AlertDirection.Down, 49, AlertOutcome.True)]
    public void Evaluate_RelativeChange_AgainstTheReferenceMean(string direction, double value, AlertOutcome expected)
    {
        var result = AlertConditions.Evaluate(new AlertCondition(AlertConditionKind.RelativeChange, 0.5, Direction: direction), 0, P(value), Ref(90, 100, 110), null);

        Assert.Equal(expected, result.Outcome);
        if (direction != AlertDirection.Up) Assert.Equal(50.0, result.Lower!.Value, 9);
        if (direction != AlertDirection.Down) Assert.Equal(150.0, result.Upper!.Value, 9);
    }

    [Fact]
    public void Evaluate_RelativeChange_NegativeMeanUsesItsMagnitude()
    {
        // Mean −10, threshold 0.5 → [−10 − 5, −10 + 5] = [−15, −5]: −4 is a rise of 60 %.
        var result = AlertConditions.Evaluate(new AlertCondition(AlertConditionKind.RelativeChange, 0.5), 0, P(-4), Ref(-10, -10), null);

        Assert.Equal((AlertOutcome.True, -15.0, -5.0), (result.Outcome, result.Lower!.Value, result.Upper!.Value));
    }

    [Fact]
    public void Evaluate_RelativeChange_ZeroMeanOrNoReference_Unknown()
    {
        Assert.Equal(AlertOutcome.Unknown, AlertConditions.Evaluate(new AlertCondition(AlertConditionKind.RelativeChange, 0.5), 0, P(3), Ref(0, 0), null).Outcome);
        Assert.Equal(AlertOutcome.Unknown, AlertConditions.Evaluate(new AlertCondition(AlertConditionKind.RelativeChange, 0.5), 0, P(3), [], null).Outcome);
    }

    [Theory]
    [InlineData(null, 100L)]
    [InlineData(double.NaN, 100L)]
    [InlineData(double.PositiveInfinity, 100L)]
    [InlineData(99.0, 19L)]
    public void Evaluate_NoValueOrSmallSample_Unknown(double? value, long sample)
    {
        var result = AlertConditions.Evaluate(new AlertCondition(AlertConditionKind.Above, 50), 20, new MetricPoint(T, value, sample), [], null);

        Assert.Same(ConditionResult.Unknown, result);
        Assert.Equal("no threshold", result.Describe());
    }
}
