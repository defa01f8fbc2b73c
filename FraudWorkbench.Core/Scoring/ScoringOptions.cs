namespace FraudWorkbench.Core.Scoring;

public static class ScoringEngineKind
{
    /// <summary>ONNX Runtime when the model has a parity-checked ONNX export, else ML.NET (the faster of the two in docs/benchmarks.md).</summary>
    public const string Auto = "auto";
    public const string Onnx = "onnx";
    public const string MlNet = "mlnet";

    public static readonly IReadOnlyList<string> All = [Auto, Onnx, MlNet];
}

public sealed class ScoringOptions
{
    public const string Section = "FraudWorkbench:Scoring";

    /// <summary>The registered model <c>POST /api/v1/predict</c> uses when the request names none; unset: the oldest registered model.</summary>
    public string? DefaultModel { get; set; }

    public string Engine { get; set; } = ScoringEngineKind.Auto;

    /// <summary>Requests per minute per API key unless the key carries its own limit (the seed's 1,000).</summary>
    public int RateLimitPerMinute { get; set; } = 1000;

    public int MaxBatch { get; set; } = 1000;

    /// <summary>Labels one <c>POST /api/v1/feedback/batch</c> may carry: case-management exports come in bulk.</summary>
    public int MaxFeedbackBatch { get; set; } = 10_000;

    /// <summary>
    /// Largest body of a feedback batch: 10,000 labels by transaction id, indented, fit in about 2 MB; the rest is room
    /// for long transaction ids. (A label file has its own limit, <c>LabelImport.MaxFileBytes</c>.)
    /// </summary>
    public long MaxFeedbackBodyBytes { get; set; } = 8 * 1024 * 1024;

    /// <summary>Largest request body the scoring and feedback endpoints read.</summary>
    public long MaxBodyBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Predictions waiting to be written; when full, scoring answers 503 instead of dropping log rows.</summary>
    public int LogCapacity { get; set; } = 50_000;

    public int LogBatchSize { get; set; } = 1_000;

    public int PredictionRetentionDays { get; set; } = 90;

    public bool IsValid() =>
        ScoringEngineKind.All.Contains(Engine) && RateLimitPerMinute > 0 && MaxBatch is > 0 and <= 100_000 && MaxBodyBytes > 1024
        && MaxFeedbackBatch is > 0 and <= 100_000 && MaxFeedbackBodyBytes > 1024
        && LogCapacity > 0 && LogBatchSize > 0 && PredictionRetentionDays > 0;
}
