using FraudWorkbench.Core.Training;

namespace FraudWorkbench.Tests.Training;

public sealed class RunParametersTests
{
    private static TrainingRunRequest Config(TrainerSettings? trainer = null, ImbalanceSettings? imbalance = null, SplitSettings? split = null) =>
        new(Guid.Empty, 1, Guid.Empty, trainer, imbalance, split, Name: "not a setting", Description: "nor this");

    [Fact]
    public void Of_DefaultConfig_EverySettingWithPlainLabels_NoLineageOrName()
    {
        var parameters = RunParameters.Of(Config());

        Assert.Equal("lightgbm", parameters.Single(p => p.Key == "trainer.trainer").Value);
        Assert.Equal("100", parameters.Single(p => p.Key == "trainer.trees").Value);
        Assert.Equal("0.1", parameters.Single(p => p.Key == "trainer.learningRate").Value);
        Assert.Equal("class weights", parameters.Single(p => p.Key == "imbalance.strategy").Value);
        Assert.Equal("", parameters.Single(p => p.Key == "imbalance.positiveWeight").Value);
        Assert.Equal("Validation share", parameters.Single(p => p.Key == "split.validationFraction").Label);
        // Every TrainerSettings property is a row (9), so a setting added later shows up without a change to the page.
        Assert.Equal(typeof(TrainerSettings).GetProperties().Length, parameters.Count(p => p.Group == "Trainer"));
        Assert.DoesNotContain(parameters, p => p.Value is "not a setting" or "nor this");
        Assert.DoesNotContain(parameters, p => p.Key.Contains("datasetId", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public void Diff_TwoRuns_MarksOnlyTheSettingsThatDiffer()
    {
        var diff = RunParameters.Diff([
            Config(new TrainerSettings(Trees: 30)),
            Config(new TrainerSettings(Trees: 10), new ImbalanceSettings(ImbalanceStrategy.Undersample)),
        ]);

        // Class weights use the fraud weight, undersampling the target ratio: each is "not used" by the other run.
        Assert.Equal(["trainer.trees", "imbalance.strategy", "imbalance.positiveWeight", "imbalance.targetRatio"], diff.Where(r => r.Differs).Select(r => r.Key));
        Assert.Equal(["30", "10"], diff.Single(r => r.Key == "trainer.trees").Values);
        Assert.Equal(["", RunParameters.NotUsed], diff.Single(r => r.Key == "imbalance.positiveWeight").Values);
        Assert.Equal([RunParameters.NotUsed, "0.5"], diff.Single(r => r.Key == "imbalance.targetRatio").Values);
        // Settings neither run uses are not rows at all: no SMOTE k, no folds, no review cost under best F1.
        Assert.DoesNotContain(diff, r => r.Key is "imbalance.k" or "split.folds" or "threshold.reviewCost" or "threshold.amountColumn");
    }

    [Fact]
    public void Best_HigherOrLowerIsBetter_TiesAndEqualValues()
    {
        var prAuc = ComparedMetric.All.Single(m => m.Label == "PR-AUC");
        var logLoss = ComparedMetric.All.Single(m => m.Label == "Log loss");

        Assert.Equal([1], prAuc.Best([0.5, 0.7, 0.6]));
        Assert.Equal([0], logLoss.Best([0.05, 0.07, 0.06]));
        Assert.Equal([0, 2], prAuc.Best([0.7, 0.5, 0.7]));
        Assert.Empty(prAuc.Best([0.5, 0.5])); // nothing to tell apart
        Assert.Empty(prAuc.Best([double.NaN, 0.4])); // a missing value neither wins nor makes the other one "best"
    }
}
