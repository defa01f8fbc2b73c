using Microsoft.Extensions.ObjectPool;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;

namespace FraudWorkbench.Core.Scoring;

/// <summary>Scores feature rows with one loaded model: the raw score (log-odds for tree ensembles) and the model's own probability.</summary>
public interface IScoringEngine
{
    string Name { get; }

    /// <param name="features">Row-major, <paramref name="rows"/> × the model's width.</param>
    void Score(ReadOnlySpan<float> features, int rows, Span<float> scores, Span<float> probabilities);
}

/// <summary>ML.NET's PredictionEngine, which is not thread-safe: one per concurrent caller, kept in a pool.</summary>
public sealed class MlNetScoringEngine : IScoringEngine
{
    private sealed class Input
    {
        public float[] Features { get; set; } = [];
    }

    private sealed class Output
    {
        public float Score { get; set; }

        public float Probability { get; set; }
    }

    private sealed class EnginePolicy(MLContext ml, ITransformer model, SchemaDefinition schema) : PooledObjectPolicy<PredictionEngine<Input, Output>>
    {
        public override PredictionEngine<Input, Output> Create() => ml.Model.CreatePredictionEngine<Input, Output>(model, inputSchemaDefinition: schema);

        public override bool Return(PredictionEngine<Input, Output> engine) => true;
    }

    private readonly ObjectPool<PredictionEngine<Input, Output>> pool;
    private readonly int width;

    public MlNetScoringEngine(MLContext ml, ITransformer model, int width)
    {
        this.width = width;
        var schema = SchemaDefinition.Create(typeof(Input));
        schema[nameof(Input.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, width);
        pool = new DefaultObjectPool<PredictionEngine<Input, Output>>(new EnginePolicy(ml, model, schema), Environment.ProcessorCount * 4);
    }

    public string Name => ScoringEngineKind.MlNet;

    public void Score(ReadOnlySpan<float> features, int rows, Span<float> scores, Span<float> probabilities)
    {
        var engine = pool.Get();
        try
        {
            var input = new Input { Features = new float[width] };
            var output = new Output();
            for (var r = 0; r < rows; r++)
            {
                features.Slice(r * width, width).CopyTo(input.Features);
                engine.Predict(input, ref output);
                scores[r] = output.Score;
                probabilities[r] = output.Probability;
            }
        }
        finally
        {
            pool.Return(engine);
        }
    }
}

/// <summary>ONNX Runtime: one session per model (its Run is thread-safe), the OrtValue API, only the two outputs needed.</summary>
public sealed class OnnxScoringEngine : IScoringEngine, IDisposable
{
    private static readonly string[] OutputNames = ["Score.output", "Probability.output"];
    private readonly InferenceSession session;
    private readonly string[] inputNames;
    private readonly RunOptions runOptions = new();
    private readonly int width;

    public OnnxScoringEngine(byte[] onnx, int width)
    {
        this.width = width;
        // One thread per request: requests already run in parallel, and intra-op threads for a single row only add hand-offs.
        using var options = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1, ExecutionMode = ExecutionMode.ORT_SEQUENTIAL };
        session = new InferenceSession(onnx, options);
        inputNames = [session.InputMetadata.Keys.First()];
    }

    public string Name => ScoringEngineKind.Onnx;

    public void Score(ReadOnlySpan<float> features, int rows, Span<float> scores, Span<float> probabilities)
    {
        var buffer = features[..(rows * width)].ToArray();
        using var input = OrtValue.CreateTensorValueFromMemory(buffer, [rows, width]);
        using var outputs = session.Run(runOptions, inputNames, [input], OutputNames);
        outputs[0].GetTensorDataAsSpan<float>().CopyTo(scores);
        outputs[1].GetTensorDataAsSpan<float>().CopyTo(probabilities);
    }

    public void Dispose()
    {
        session.Dispose();
        runOptions.Dispose();
    }
}
