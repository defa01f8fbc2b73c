using FraudWorkbench.Core.Fairness;

namespace FraudWorkbench.Tests.Fairness;

public sealed class ThresholdWhatIfTests
{
    [Fact]
    public void Compute_TwoGroupsByHand_RatesAtEachThresholdScoreAtOrAboveFlags()
    {
        // a: fraud 0.9, 0.4; legit 0.6, 0.2, 0.1.   b: fraud 0.7; legit 0.7, 0.3.   (b is below a minimum of 4)
        var grouping = FairnessGroups.FromValues("g", ["a", "a", "a", "a", "a", "b", "b", "b"]);
        bool[] labels = [true, true, false, false, false, true, false, false];
        double[] scores = [0.9, 0.4, 0.6, 0.2, 0.1, 0.7, 0.7, 0.3];

        var curves = ThresholdWhatIf.Compute(grouping, labels, scores, minGroupSize: 4, thresholds: [0, 0.4, 0.7, 1]);

        var a = curves.Groups[0];
        var b = curves.Groups[1];
        Assert.Equal([1, 0.6, 0.2, 0], a.SelectionRate); // 5/5; 0.9, 0.4, 0.6; 0.9; none
        Assert.Equal([1, 1, 0.5, 0], a.TruePositiveRate);
        Assert.Equal([1, 1.0 / 3, 0, 0], a.FalsePositiveRate);
        Assert.Equal([1, 2.0 / 3, 2.0 / 3, 0], b.SelectionRate); // a score equal to the threshold is flagged
        Assert.Equal([1, 0.5, 0.5, 0], b.FalsePositiveRate);
        Assert.Equal((false, true), (a.TooSmall, b.TooSmall));
        Assert.Equal(101, ThresholdWhatIf.Compute(grouping, labels, scores, 1).Thresholds.Length);
    }

    [Fact]
    public void Compute_GroupWithoutFraud_TprNullEverywhere()
    {
        var grouping = FairnessGroups.FromValues("g", ["x", "x"]);

        var curves = ThresholdWhatIf.Compute(grouping, [false, false], [0.2, 0.8], 1, [0.5]);

        Assert.Equal([null], curves.Groups[0].TruePositiveRate);
        Assert.Equal([0.5], curves.Groups[0].FalsePositiveRate);
    }
}
