using FraudWorkbench.Core.Training;

namespace FraudWorkbench.Tests.Training;

public sealed class OnnxExportTests(SampleMatrixFixture data) : IClassFixture<SampleMatrixFixture>
{
    [Theory]
    [InlineData(TrainerKind.LightGbm)]
    [InlineData(TrainerKind.FastTree)]
    [InlineData(TrainerKind.LogisticRegression)]
    public void Export_TreeEnsemblesAndLogisticRegression_OnnxReproducesMlNetProbabilities(string trainer)
    {
        var model = ModelTrainer.Train(data.Train, new TrainerSettings(trainer, Trees: 40));

        var result = OnnxExport.Export(model, data.Validation.Features, data.Validation.Rows);

        Assert.True(result.Onnx is not null, result.Problem);
        Assert.InRange(result.MaxProbabilityDifference!.Value, 0, OnnxExport.Tolerance);
        Assert.Equal(5_000, result.ParityRows);
        var again = OnnxExport.Score(result.Onnx!, data.Validation.Features[..(10 * data.Width)], 10, data.Width);
        var expected = model.Probabilities(data.Validation.Features[..(10 * data.Width)], 10);
        Assert.All(again.Zip(expected), p => Assert.Equal(p.Second, p.First, 5));
    }
}
