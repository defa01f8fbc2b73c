using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Features;
using FraudWorkbench.Core.Training;

namespace FraudWorkbench.Tests.Training;

/// <summary>The month A sample featurized with the fraud recipes and split by time, 70 % earlier rows for training.</summary>
public sealed class SampleMatrixFixture
{
    public SampleMatrixFixture()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "samples", "transactions-month-a.csv");
        var schema = SchemaInference.Infer(path, ',');
        List<string?[]> rows;
        using (var file = File.OpenRead(path)) rows = DatasetRows.Read(file, schema);
        var (train, validation) = TrainingJobHandler.Split(rows, schema, new SplitSettings(SplitKind.Time, 0.3), 42);
        var matrices = TrainingMatrices.Build(Definition, schema, train, validation);
        Width = matrices.Set.SlotCount;
        Train = matrices.Train;
        Validation = matrices.Validation;
    }

    public static readonly FeatureSetDefinition Definition = new(
    [
        new FeatureSpec(FeatureKind.Numeric, Column: "amount", Log1p: true),
        new FeatureSpec(FeatureKind.OneHot, Column: "merchant_category"),
        new FeatureSpec(FeatureKind.OneHot, Column: "payment_method"),
        new FeatureSpec(FeatureKind.DateParts, Column: "event_time"),
        new FeatureSpec(FeatureKind.Mismatch, Column: "ip_country", Other: "home_country"),
        new FeatureSpec(FeatureKind.Numeric, Column: "account_age_days"),
        new FeatureSpec(FeatureKind.OneHot, Column: "shipping_address_new"),
        new FeatureSpec(FeatureKind.EntityRatio, Column: "amount", Entity: "customer_id"),
        new FeatureSpec(FeatureKind.Velocity, Column: "amount", Entity: "customer_id"),
    ]);

    public int Width { get; }
    public TrainingData Train { get; }
    public TrainingData Validation { get; }
}

public sealed class ModelTrainerTests(SampleMatrixFixture data) : IClassFixture<SampleMatrixFixture>
{
    private ClassificationReport Evaluate(TrainedModel model) =>
        ClassificationMetrics.Evaluate(model.Probabilities(data.Validation.Features, data.Validation.Rows), data.Validation.Labels);

    [Fact]
    public void LightGbm_FraudRecipesWithClassWeights_FindsTheFraudOnLaterRows()
    {
        var model = ModelTrainer.Train(data.Train with { Weights = ModelTrainer.ClassWeights(data.Train.Labels) }, new TrainerSettings());

        var report = Evaluate(model);

        var importance = model.Importance()!;
        Assert.Equal(data.Width, importance.Length);
        Assert.All(importance, v => Assert.True(v >= 0));
        Assert.True(importance.Sum() > 0);
        var baseRate = (double)report.Positives / (report.Positives + report.Negatives);
        Assert.True(report.AveragePrecision > 10 * baseRate, $"PR-AUC {report.AveragePrecision:0.000} against a base rate of {baseRate:0.000}");
        Assert.True(report.RocAuc > 0.85, $"ROC AUC {report.RocAuc:0.000}");
    }

    [Theory]
    [InlineData(TrainerKind.LightGbm)]
    [InlineData(TrainerKind.FastTree)]
    [InlineData(TrainerKind.FastForest)]
    public async Task TrainAsync_CancelledMidFit_ReturnsAtOnceAndTheFitItselfStops(string trainer)
    {
        // Thousands of deep trees: minutes of fitting if nothing stopped it (LightGBM: 300 s here).
        var settings = new TrainerSettings(trainer, Trees: 5000, Leaves: 255, MinimumExamplesPerLeaf: 1);
        using var cancel = new CancellationTokenSource();
        var fit = ModelTrainer.TrainAsync(data.Train, settings, cancel.Token);
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.False(fit.IsCompleted);
        var watch = System.Diagnostics.Stopwatch.StartNew();

        await cancel.CancelAsync();
        var cancelled = await Assert.ThrowsAsync<FitCancelledException>(() => fit);
        var returned = watch.Elapsed;
        await cancelled.FitEnded.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.True(returned < TimeSpan.FromSeconds(1), $"returned {returned.TotalSeconds:0.0} s after the cancel");
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"the fit itself ran {watch.Elapsed.TotalSeconds:0.0} s after the cancel");
    }

    [Theory]
    [InlineData(TrainerKind.FastTree)]
    [InlineData(TrainerKind.FastForest)]
    [InlineData(TrainerKind.LogisticRegression)]
    public void OtherTrainers_TrainAndScoreProbabilities(string trainer)
    {
        var model = ModelTrainer.Train(data.Train, new TrainerSettings(trainer, Trees: 50));

        var probabilities = model.Probabilities(data.Validation.Features, data.Validation.Rows);
        var report = ClassificationMetrics.Evaluate(probabilities, data.Validation.Labels);

        Assert.All(probabilities, p => Assert.InRange(p, 0, 1));
        Assert.True(report.RocAuc > 0.75, $"{trainer}: ROC AUC {report.RocAuc:0.000}");
    }

    [Theory]
    [InlineData(TrainerKind.LightGbm)]
    [InlineData(TrainerKind.FastForest)] // Platt calibrator after the forest
    [InlineData(TrainerKind.LogisticRegression)] // normaliser before the regression
    public void PermutationFeatureImportance_LabelFromOneInputOnly_ThatInputDropsPrAuc_TheOthersDoNot(string trainer)
    {
        // Fraud exactly when input "signal" > 0.8; "noise" and "constant" say nothing about it.
        var random = new Random(3);
        const int rows = 2_000;
        var features = new float[rows * 3];
        var labels = new bool[rows];
        for (var i = 0; i < rows; i++)
        {
            features[i * 3] = (float)random.NextDouble();
            features[i * 3 + 1] = (float)random.NextDouble();
            features[i * 3 + 2] = 1;
            labels[i] = features[i * 3] > 0.8;
        }

        var model = ModelTrainer.Train(new TrainingData(features, 3, labels), new TrainerSettings(trainer, Trees: 30));

        var importance = model.PermutationFeatureImportance(features, labels, ["signal", "noise", "constant"], permutations: 3).ToDictionary(p => p.Input);

        Assert.Equal(["signal", "noise", "constant"], importance.Keys);
        // Shuffled, the signal leaves the ranking near the base rate (0.2): PR-AUC falls from about 1 by well over half.
        Assert.True(importance["signal"].Change < -0.5, $"{trainer}: signal {importance["signal"].Change:0.000}");
        Assert.InRange(importance["noise"].Change, -0.02, 0.02);
        Assert.Equal(0, importance["constant"].Change, 12); // shuffling identical values changes nothing
    }

    [Fact]
    public void ClassWeights_MoveTheDecisionBoundary_AndPlattScalingBringsProbabilitiesBack()
    {
        var settings = new TrainerSettings(TrainerKind.LogisticRegression);
        var plain = ModelTrainer.Train(data.Train, settings);
        var weighted = ModelTrainer.Train(data.Train with { Weights = ModelTrainer.ClassWeights(data.Train.Labels) }, settings);

        var plainP = plain.Probabilities(data.Validation.Features, data.Validation.Rows);
        var weightedP = weighted.Probabilities(data.Validation.Features, data.Validation.Rows);
        var flaggedPlain = plainP.Count(p => p >= 0.5);
        var flaggedWeighted = weightedP.Count(p => p >= 0.5);
        var calibration = PlattCalibration.Fit(weighted.RawScores(data.Validation.Features, data.Validation.Rows), data.Validation.Labels);
        var recalibrated = weighted.RawScores(data.Validation.Features, data.Validation.Rows).Select(calibration.Probability).ToArray();
        var fraudRate = data.Validation.Labels.Average(l => l ? 1.0 : 0.0);

        Assert.True(flaggedWeighted > 3 * flaggedPlain, $"flagged at 0.5: {flaggedPlain} without weights, {flaggedWeighted} with");
        Assert.True(weightedP.Average() > 5 * fraudRate, "weighted probabilities overstate fraud");
        Assert.InRange(recalibrated.Average(), fraudRate * 0.8, fraudRate * 1.2);
    }

    [Fact]
    public void PlattCalibration_RecoversTheGeneratingSigmoid()
    {
        var random = new Random(5);
        var scores = Enumerable.Range(0, 20_000).Select(_ => random.NextDouble() * 8 - 4).ToArray();
        var labels = scores.Select(s => random.NextDouble() < 1 / (1 + Math.Exp(-1.5 * s + 0.5))).ToArray(); // A = −1.5, B = 0.5

        var fit = PlattCalibration.Fit(scores, labels);

        Assert.Equal(-1.5, fit.A, 1);
        Assert.Equal(0.5, fit.B, 1);
    }

    [Fact]
    public void PlattCalibration_WellSeparatedScores_StaysFiniteAndKeepsTheOrder()
    {
        // Plain Newton steps diverge here (seen with SMOTE-trained LightGBM scores): the line search must hold.
        var scores = Enumerable.Range(0, 1000).Select(i => i < 20 ? 5 + i * 0.1 : -13 + i * 0.01).ToArray();
        var labels = Enumerable.Range(0, 1000).Select(i => i < 20).ToArray();

        var fit = PlattCalibration.Fit(scores, labels);
        var probabilities = scores.Select(fit.Probability).ToArray();

        Assert.True(double.IsFinite(fit.A) && double.IsFinite(fit.B) && fit.A < 0, $"A {fit.A}, B {fit.B}");
        Assert.Equal(1.0, ClassificationMetrics.AveragePrecision(probabilities, labels), 12);
    }

    [Fact]
    public void Settings_OutOfRange_NamedByField()
    {
        var issues = new TrainerSettings("xgboost", Trees: 0, Leaves: 1, LearningRate: 2, Threads: 0).Validate().Select(i => i.Field);

        Assert.Equal(["trainer", "trees", "leaves", "learningRate", "threads"], issues);
    }

    [Fact]
    public void Settings_NaN_NamedByField()
    {
        var issues = new TrainerSettings(LearningRate: double.NaN, L2Regularization: double.NaN).Validate().Select(i => i.Field);

        Assert.Equal(["learningRate", "l2Regularization"], issues);
    }
}

public sealed class RecipeQualityTests
{
    [Fact]
    public async Task FraudRecipes_BeatRawColumnsByAClearPrAucMargin_OnTheSampleTimeSplit()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "samples", "transactions-month-a.csv");
        var schema = SchemaInference.Infer(path, ',');
        List<string?[]> rows;
        await using (var file = File.OpenRead(path)) rows = DatasetRows.Read(file, schema);
        var settings = new TrainerSettings();

        double PrAuc(FeatureSetDefinition definition)
        {
            // The earlier 70 % to train, the later 30 % to validate, as a time-split training run does.
            var (train, validation) = TrainingJobHandler.Split(rows, schema, new SplitSettings(SplitKind.Time, 0.3), 42);
            var split = TrainingMatrices.Build(definition, schema, train, validation);
            var model = ModelTrainer.Train(split.Train with { Weights = ModelTrainer.ClassWeights(split.Train.Labels) }, settings);
            return ClassificationMetrics.AveragePrecision(model.RawScores(split.Validation.Features, split.Validation.Rows), split.Validation.Labels);
        }

        var recipes = PrAuc(SampleFeatureSets.Recipes);
        var raw = PrAuc(SampleFeatureSets.RawColumns);

        Assert.True(recipes > raw + 0.08, $"recipes {recipes:0.000} against raw columns {raw:0.000}");
    }
}
