namespace FraudWorkbench.Core.Training;

public static class ImbalanceStrategy
{
    public const string None = "none";
    public const string ClassWeights = "class_weights";
    public const string Smote = "smote";
    public const string Undersample = "undersample";

    public static readonly IReadOnlyList<string> All = [None, ClassWeights, Smote, Undersample];
}

public static class SplitKind
{
    /// <summary>Train on earlier events, validate on later ones (the default when there is an event time).</summary>
    public const string Time = "time";
    public const string Stratified = "stratified";
    /// <summary>k-fold cross-validation for small data: metrics from out-of-fold predictions, the model from all rows.</summary>
    public const string KFold = "kfold";

    public static readonly IReadOnlyList<string> All = [Time, Stratified, KFold];
}

/// <param name="PositiveWeight">class_weights: the fraud rows' weight; null for negatives ÷ positives.</param>
/// <param name="TargetRatio">smote / undersample: minority rows per majority row afterwards.</param>
public sealed record ImbalanceSettings(string Strategy = ImbalanceStrategy.ClassWeights, double? PositiveWeight = null, int K = 5, double TargetRatio = 0.5);

public sealed record SplitSettings(string Kind = SplitKind.Time, double ValidationFraction = 0.3, int Folds = 5);

/// <param name="Method">max_f1 or cost.</param>
/// <param name="AmountColumn">cost: the column whose value a missed fraud costs.</param>
public sealed record ThresholdSettings(string Method = "max_f1", double ReviewCost = 5, double? MaxReviewsPerDay = null, string? AmountColumn = null);

/// <param name="Name">Optional; "trainer · dataset vN" when empty. Kept on the run, not in its config.</param>
public sealed record TrainingRunRequest(
    Guid DatasetId,
    int DatasetVersion,
    Guid FeatureSetVersionId,
    TrainerSettings? Trainer = null,
    ImbalanceSettings? Imbalance = null,
    SplitSettings? Split = null,
    ThresholdSettings? Threshold = null,
    string? Name = null,
    string? Description = null);

/// <param name="ValidationScores">The artifact (SHA-256) holding the validation probabilities and labels (<see cref="Training.ValidationScores"/>); null for runs trained before they were kept.</param>
public sealed record TrainingResult(
    ClassificationReport Metrics,
    ThresholdChoice Threshold,
    IReadOnlyList<CurvePoint> Roc,
    IReadOnlyList<CurvePoint> PrecisionRecall,
    IReadOnlyList<CalibrationBin> Calibration,
    IReadOnlyList<CostPoint>? CostCurve,
    PlattCalibration? Recalibration,
    int TrainingRows,
    int SyntheticRows,
    int ValidationRows,
    IReadOnlyList<string> Inputs,
    ModelArtifacts? Artifacts = null,
    IReadOnlyList<double>? Importance = null,
    IReadOnlyList<ScoreBin>? ScoreDistribution = null,
    string? ValidationScores = null);

/// <summary>Validation rows per probability bin, by class.</summary>
public sealed record ScoreBin(double From, double To, long Legitimate, long Fraud);

/// <summary>The files a run produced, each an artifact named by its SHA-256 (see the file names in <see cref="FileNames"/>).</summary>
/// <param name="Onnx">Null when the model is ML.NET-only; <see cref="OnnxProblem"/> says why.</param>
/// <param name="Features">The feature set as fitted on this model's training rows (imputation values, vocabularies,
/// encodings): scoring must featurize with exactly this, not with the feature set version's own fit.</param>
/// <param name="Explainer">Training-row covers of every tree node (or input means of a linear model) for exact explanations.</param>
public sealed record ModelArtifacts(string ModelZip, string? Onnx, string Metadata, string Checksums, double? OnnxMaxDifference, string? OnnxProblem, string? Features = null, string? Explainer = null)
{
    public const string ModelZipName = "model.zip";
    public const string OnnxName = "model.onnx";
    public const string MetadataName = "metadata.json";
    public const string ChecksumsName = "checksum.sha256";
    public const string FeaturesName = "features.json";
    public const string ExplainerName = "explainer.json";

    public IReadOnlyDictionary<string, string> FileNames => new Dictionary<string, string?>
    {
        [ModelZipName] = ModelZip, [OnnxName] = Onnx, [FeaturesName] = Features, [ExplainerName] = Explainer, [MetadataName] = Metadata, [ChecksumsName] = Checksums,
    }.Where(kv => kv.Value is not null).ToDictionary(kv => kv.Key, kv => kv.Value!);
}

public sealed record TrainingRun(
    Guid Id, Guid JobId, Guid DatasetId, int DatasetVersion, Guid FeatureSetVersionId, string ConfigJson, string Status,
    string? ResultJson, string? ModelArtifact, string? Error, long? DurationMs, string CreatedBy, DateTime CreatedAt, DateTime? FinishedAt,
    string? Name = null, string? Description = null)
{
    public const int MaxNameLength = 200;
    public const int MaxDescriptionLength = 4000;

    /// <summary>The name people see: the stored one, or the trainer for a run with none.</summary>
    public string DisplayName => string.IsNullOrWhiteSpace(Name) ? Config.Trainer?.Trainer ?? "run" : Name;

    public static string DefaultName(TrainingRunRequest request, string datasetName) =>
        $"{(request.Trainer ?? new TrainerSettings()).Trainer} · {datasetName} v{request.DatasetVersion}";

    public TrainingRunRequest Config => field ??= System.Text.Json.JsonSerializer.Deserialize<TrainingRunRequest>(ConfigJson, Data.DatasetSchema.Json)!;

    public TrainingResult? Result => ResultJson is null ? null : field ??= System.Text.Json.JsonSerializer.Deserialize<TrainingResult>(ResultJson, Data.DatasetSchema.Json);
}

/// <summary>The request does not describe a run that can be trained; nothing was queued.</summary>
public sealed class TrainingValidationException(IReadOnlyList<(string Field, string Message)> issues)
    : Exception(string.Join(" ", issues.Select(i => $"{i.Field}: {i.Message}")))
{
    public IReadOnlyList<(string Field, string Message)> Issues { get; } = issues;
}
