using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace FraudWorkbench.Core.Training;

/// <param name="Onnx">The ONNX model, or null when the pipeline did not convert exactly.</param>
/// <param name="MaxProbabilityDifference">Largest |p(ONNX) − p(ML.NET)| over the parity rows.</param>
public sealed record OnnxExportResult(byte[]? Onnx, double? MaxProbabilityDifference, int ParityRows, string? Problem);

/// <summary>
/// Exports a trained model to ONNX and proves it: ONNX Runtime must reproduce ML.NET's probabilities on
/// the validation rows within <see cref="Tolerance"/>, or the model is kept as ML.NET-only with the reason.
/// </summary>
public static class OnnxExport
{
    public const double Tolerance = 1e-5;
    private const int MaxParityRows = 5_000;

    private sealed class FeaturesOnly
    {
        public float[] Features { get; set; } = [];
    }

    public static OnnxExportResult Export(TrainedModel model, float[] validation, int rows)
    {
        var ml = new MLContext(seed: 1);
        var definition = SchemaDefinition.Create(typeof(FeaturesOnly));
        definition[nameof(FeaturesOnly.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, model.Width);
        var parityRows = Math.Min(rows, MaxParityRows);
        var sample = Enumerable.Range(0, parityRows).Select(r => new FeaturesOnly { Features = validation.AsSpan(r * model.Width, model.Width).ToArray() }).ToList();
        byte[] onnx;
        try
        {
            using var stream = new MemoryStream();
            // Every column of the data given becomes an ONNX input, so it holds the features only.
            ml.Model.ConvertToOnnx(model.Model, ml.Data.LoadFromEnumerable(sample, definition), stream);
            onnx = stream.ToArray();
        }
        catch (Exception ex) when (ex is NotSupportedException or InvalidOperationException or ArgumentException)
        {
            return new OnnxExportResult(null, null, 0, $"ML.NET could not convert the {model.Trainer} pipeline to ONNX: {ex.Message}");
        }

        var expected = model.Probabilities(validation[..(parityRows * model.Width)], parityRows);
        double[] actual;
        try
        {
            actual = Score(onnx, validation[..(parityRows * model.Width)], parityRows, model.Width);
        }
        catch (OnnxRuntimeException ex)
        {
            return new OnnxExportResult(null, null, parityRows, "ONNX Runtime could not run the exported model: " + ex.Message);
        }

        var difference = expected.Zip(actual, (a, b) => Math.Abs(a - b)).DefaultIfEmpty(0).Max();
        return difference <= Tolerance
            ? new OnnxExportResult(onnx, difference, parityRows, null)
            : new OnnxExportResult(null, difference, parityRows, $"The ONNX model's probabilities differ from ML.NET's by up to {difference:G3} (more than {Tolerance:G1}); it is not shipped.");
    }

    /// <summary>Probabilities from an ONNX model for row-major features (one session; ONNX Runtime's Run is thread-safe).</summary>
    public static double[] Score(byte[] onnx, float[] features, int rows, int width)
    {
        using var session = new InferenceSession(onnx);
        var input = session.InputMetadata.Keys.First();
        var tensor = new DenseTensor<float>(features, [rows, width]);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor(input, tensor)], ["Probability.output"]);
        return [.. results.First().AsEnumerable<float>().Select(p => (double)p)];
    }
}
