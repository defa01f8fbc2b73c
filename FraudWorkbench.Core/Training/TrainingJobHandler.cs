using System.Diagnostics;
using FraudWorkbench.Core.Artifacts;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Features;
using FraudWorkbench.Core.Jobs;

namespace FraudWorkbench.Core.Training;

/// <summary>
/// Runs a training run as a durable job: split, fit the feature set on the training rows only,
/// featurize point-in-time, rebalance the training rows only, train, recalibrate on validation,
/// evaluate, choose the threshold and store the model.
/// </summary>
public sealed class TrainingJobHandler(TrainingRunStore runs, DatasetStore datasets, FeatureSetStore featureSets, ArtifactStore artifacts) : IJobHandler
{
    public const string KindName = "training.run";
    private const int MaxCurvePoints = 200;

    public string Kind => KindName;

    public async Task<object?> ExecuteAsync(JobContext context, CancellationToken cancellationToken)
    {
        var payload = context.Payload<TrainingJobPayload>();
        var run = await runs.GetAsync(payload.RunId, cancellationToken) ?? throw new NonRetryableJobException($"Training run {payload.RunId} does not exist.");
        await runs.SetStatusAsync(run.Id, JobStatus.Running, cancellationToken);
        var watch = Stopwatch.StartNew();
        try
        {
            var dataset = await datasets.GetVersionAsync(run.DatasetId, run.DatasetVersion, cancellationToken)
                ?? throw new NonRetryableJobException("The dataset version no longer exists.");
            var featureSet = await featureSets.GetVersionAsync(run.FeatureSetVersionId, cancellationToken)
                ?? throw new NonRetryableJobException("The feature set version no longer exists.");
            var (result, model, onnx, fitted, explainer, validation) = await TrainAsync(run.Config, dataset, featureSet, context, cancellationToken);
            await context.ReportAsync(95, "saving the model, its ONNX export and metadata", cancellationToken);
            var files = await SaveAsync(run, dataset, featureSet, result, model, onnx, fitted, explainer, cancellationToken);
            var scores = await artifacts.PutAsync(validation.Serialize(), cancellationToken);
            await runs.CompleteAsync(run.Id, result with { Artifacts = files, ValidationScores = scores.Sha256 }, files.ModelZip, watch.ElapsedMilliseconds, CancellationToken.None);
            return new { runId = run.Id, modelArtifact = files.ModelZip, onnx = files.Onnx, result.Metrics.AveragePrecision };
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await runs.SetStatusAsync(run.Id, JobStatus.Queued, CancellationToken.None); // a cancel or a restart: the job decides which
            throw;
        }
        catch (Exception ex) when (ex is NonRetryableJobException || context.Job.Attempts >= context.Job.MaxAttempts)
        {
            await runs.FailAsync(run.Id, JobStatus.Failed, ex.Message, CancellationToken.None);
            throw;
        }
        catch (Exception ex)
        {
            await runs.FailAsync(run.Id, JobStatus.Queued, "attempt failed, retrying: " + ex.Message, CancellationToken.None);
            throw;
        }
    }

    /// <summary>model.zip, model.onnx (when exact), features.json, metadata.json and checksum.sha256, each stored by its SHA-256.</summary>
    private async Task<ModelArtifacts> SaveAsync(TrainingRun run, DatasetVersion dataset, FeatureSetVersion featureSet, TrainingResult result, byte[] model, OnnxExportResult onnx, FittedFeatureSet fitted, Explain.ExplainerData explainer, CancellationToken cancellationToken)
    {
        var zip = await artifacts.PutAsync(model, cancellationToken);
        var onnxFile = onnx.Onnx is null ? null : await artifacts.PutAsync(onnx.Onnx, cancellationToken);
        var featuresFile = await artifacts.PutAsync(System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(fitted, DatasetSchema.Json), cancellationToken);
        var explainerFile = await artifacts.PutAsync(System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(explainer, DatasetSchema.Json), cancellationToken);
        var metadata = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new
        {
            run = run.Id,
            trainer = run.Config.Trainer,
            imbalance = run.Config.Imbalance,
            split = run.Config.Split,
            metrics = result.Metrics,
            threshold = result.Threshold,
            recalibration = result.Recalibration,
            inputs = result.Inputs,
            featureSet = new { id = run.FeatureSetVersionId, featureSet?.Name, featureSet?.Version, featureSet?.Hash },
            dataset = new { id = run.DatasetId, version = run.DatasetVersion, checksum = dataset?.Checksum },
            onnx = new { exported = onnx.Onnx is not null, maxProbabilityDifference = onnx.MaxProbabilityDifference, parityRows = onnx.ParityRows, problem = onnx.Problem },
        }, new System.Text.Json.JsonSerializerOptions(Data.DatasetSchema.Json) { WriteIndented = true });
        var metadataFile = await artifacts.PutAsync(metadata, cancellationToken);
        var lines = new List<string> { $"{zip.Sha256}  {ModelArtifacts.ModelZipName}" };
        if (onnxFile is not null) lines.Add($"{onnxFile.Sha256}  {ModelArtifacts.OnnxName}");
        lines.Add($"{featuresFile.Sha256}  {ModelArtifacts.FeaturesName}");
        lines.Add($"{explainerFile.Sha256}  {ModelArtifacts.ExplainerName}");
        lines.Add($"{metadataFile.Sha256}  {ModelArtifacts.MetadataName}");
        var checksums = await artifacts.PutAsync(System.Text.Encoding.UTF8.GetBytes(string.Join('\n', lines) + "\n"), cancellationToken);
        return new ModelArtifacts(zip.Sha256, onnxFile?.Sha256, metadataFile.Sha256, checksums.Sha256, onnx.MaxProbabilityDifference, onnx.Problem, featuresFile.Sha256, explainerFile.Sha256);
    }

    private async Task<(TrainingResult Result, byte[] Model, OnnxExportResult Onnx, FittedFeatureSet Fitted, Explain.ExplainerData Explainer, ValidationScores Validation)> TrainAsync(
        TrainingRunRequest config, DatasetVersion version, FeatureSetVersion featureSet, JobContext context, CancellationToken cancellationToken)
    {
        var schema = version.Schema;
        var settings = config.Trainer ?? new TrainerSettings();

        await context.ReportAsync(5, "reading the dataset", cancellationToken);
        var rows = await DatasetRows.ReadAsync(artifacts, version, cancellationToken);
        var splitSettings = config.Split ?? new SplitSettings();
        var imbalance = config.Imbalance ?? new ImbalanceSettings();
        Fold final;
        double[] probabilities;
        bool[] validationLabels;
        float[] validationKnown;
        List<string?[]> validationRows;
        PlattCalibration? recalibration = null;
        if (splitSettings.Kind == SplitKind.KFold)
        {
            // Small data: every row is validated once by a model that did not see it; the shipped model then learns from all rows.
            var folds = Math.Clamp(splitSettings.Folds, 2, 10);
            var assignment = StratifiedFolds(rows, schema, folds, settings.Seed);
            var pooled = new List<(double Probability, bool Label, string?[] Row, float[] Features)>();
            for (var f = 0; f < folds; f++)
            {
                await context.ReportAsync(15 + 60 * f / folds, $"fold {f + 1} of {folds}: fitting and training", cancellationToken);
                var fold = await TrainFoldAsync(featureSet.Definition, schema, [.. rows.Where((_, i) => assignment[i] != f)], [.. rows.Where((_, i) => assignment[i] == f)], imbalance, settings,
                    Fitting(context, 15 + 60 * f / folds, $"fold {f + 1} of {folds}: "), cancellationToken);
                var calibrated = Calibrate(fold, imbalance);
                for (var i = 0; i < fold.ValidationLabels.Length; i++)
                    pooled.Add((calibrated.Probabilities[i], fold.ValidationLabels[i], fold.ValidationRows[i], fold.ValidationFeatures.AsSpan(i * fold.Set.SlotCount, fold.Set.SlotCount).ToArray()));
            }

            await context.ReportAsync(78, "training the final model on all rows", cancellationToken);
            final = await TrainFoldAsync(featureSet.Definition, schema, rows, [], imbalance, settings, Fitting(context, 78, "final model: "), cancellationToken);
            probabilities = [.. pooled.Select(p => p.Probability)];
            validationLabels = [.. pooled.Select(p => p.Label)];
            validationRows = [.. pooled.Select(p => p.Row)];
            validationKnown = final.TrainFeatures; // ONNX parity on the final model's own rows
        }
        else
        {
            var (train, validation) = Split(rows, schema, splitSettings, settings.Seed);
            await context.ReportAsync(20, "fitting features on the training rows and training", cancellationToken);
            final = await TrainFoldAsync(featureSet.Definition, schema, train, validation, imbalance, settings, Fitting(context, 20, ""), cancellationToken);
            if (!final.ValidationLabels.Contains(true) || !final.ValidationLabels.Contains(false))
                throw new NonRetryableJobException("The validation rows need both fraud and legitimate examples; use a stratified split or more data.");
            (probabilities, recalibration) = Calibrate(final, imbalance);
            validationLabels = final.ValidationLabels;
            validationRows = final.ValidationRows;
            validationKnown = final.ValidationFeatures;
        }

        await context.ReportAsync(80, "evaluating on the validation rows", cancellationToken);
        var set = final.Set;
        var model = final.Model;
        var rows2 = validationLabels.Length;
        var trainRows = final.TrainRows;
        var synthetic = final.Synthetic;
        var metrics = ClassificationMetrics.Evaluate(probabilities, validationLabels);
        var thresholdSettings = config.Threshold ?? new ThresholdSettings();
        ThresholdChoice threshold;
        IReadOnlyList<CostPoint>? costCurve = null;
        double[]? validationAmounts = null;
        var validationDays = 1.0;
        if (thresholdSettings.Method == "cost")
        {
            var amountIndex = schema.IndexOf(thresholdSettings.AmountColumn!);
            var known = validationRows;
            var amounts = known.Select(r => Featurizer.TryNumber(r[amountIndex], out var a) ? a : 0).ToArray();
            var featurizer = new Featurizer(set);
            var times = known.Select(featurizer.EventTicks).Where(t => t is not null).Select(t => t!.Value).ToList();
            var days = times.Count < 2 ? 1 : Math.Max(1, (times.Max() - times.Min()) / (double)TimeSpan.TicksPerDay);
            (threshold, costCurve) = ThresholdSelection.MinExpectedCost(probabilities, validationLabels, amounts, thresholdSettings.ReviewCost, days, thresholdSettings.MaxReviewsPerDay);
            (validationAmounts, validationDays) = (amounts, days);
            costCurve = Thin(costCurve);
        }
        else
        {
            threshold = ThresholdSelection.MaxF1(probabilities, validationLabels);
        }

        using var zip = new MemoryStream();
        model.Save(zip);
        var onnx = OnnxExport.Export(model, validationKnown, validationKnown.Length / set.SlotCount);
        var result = new TrainingResult(metrics, threshold,
            Thin(ClassificationMetrics.RocCurve(probabilities, validationLabels)),
            Thin(ClassificationMetrics.PrecisionRecallCurve(probabilities, validationLabels)),
            ClassificationMetrics.Calibration(probabilities, validationLabels),
            costCurve, recalibration, trainRows, synthetic, rows2, set.SlotNames,
            Importance: model.Importance()?.Select(v => (double)v).ToList(),
            ScoreDistribution: ScoreBins(probabilities, validationLabels));
        // Node covers from the real training rows (never synthetic ones) for exact TreeSHAP at scoring time.
        var explainer = Explain.ModelExplainer.Prepare(model, final.TrainFeatures, final.TrainFeatures.Length / set.SlotCount);
        // Kept so the run page can show any threshold's metrics and bootstrap intervals without retraining.
        var kept = ValidationScores.Keep(probabilities, validationLabels, validationAmounts, validationDays, settings.Seed);
        return (result, zip.ToArray(), onnx, set, explainer, kept);
    }

    /// <summary>One model trained and (when there are validation rows) scored: features fitted on the training rows only.</summary>
    private sealed record Fold(
        FittedFeatureSet Set, TrainedModel Model, int TrainRows, int Synthetic, float[] TrainFeatures,
        float[] ValidationFeatures, bool[] ValidationLabels, List<string?[]> ValidationRows, double[] RawScores);

    /// <summary>ML.NET reports nothing from inside a fit, so the stage says how long it has run, every <see cref="FitHeartbeat"/>.</summary>
    private static readonly TimeSpan FitHeartbeat = TimeSpan.FromSeconds(2);

    private static Func<TrainerSettings, TimeSpan, Task> Fitting(JobContext context, int progress, string prefix) => (settings, elapsed) =>
        // Not cancellable itself: a cancel reaches the fit, which then ends the wait for it.
        context.ReportAsync(progress, $"{prefix}fitting {settings.Trainer} ({settings.Trees} trees) on the training rows, {elapsed.TotalSeconds:0} s so far", CancellationToken.None);

    private static async Task<Fold> TrainFoldAsync(
        FeatureSetDefinition definition, DatasetSchema schema, List<string?[]> train, List<string?[]> validation, ImbalanceSettings imbalance, TrainerSettings settings,
        Func<TrainerSettings, TimeSpan, Task> fitting, CancellationToken cancellationToken)
    {
        var matrices = TrainingMatrices.Build(definition, schema, train, validation);
        cancellationToken.ThrowIfCancellationRequested();
        var (data, synthetic) = Rebalance(matrices.Train, imbalance, settings.Seed, OneHotGroups(matrices.Set));
        // The fit is the long part (minutes on large data): cancelling stops it within a boosting round.
        var started = Stopwatch.GetTimestamp();
        var fit = ModelTrainer.TrainAsync(data, settings, cancellationToken);
        while (await Task.WhenAny(fit, Task.Delay(FitHeartbeat, CancellationToken.None)) != fit) await fitting(settings, Stopwatch.GetElapsedTime(started));
        var model = await fit;
        var validationData = matrices.Validation;
        var raw = validationData.Rows == 0 ? [] : model.RawScores(validationData.Features, validationData.Rows);
        return new Fold(matrices.Set, model, matrices.Train.Rows, synthetic, matrices.Train.Features, validationData.Features, validationData.Labels, matrices.ValidationRows, raw);
    }

    /// <summary>Weights and resampling distort probabilities: then they are recalibrated (Platt) on the validation scores.</summary>
    private static (double[] Probabilities, PlattCalibration? Calibration) Calibrate(Fold fold, ImbalanceSettings imbalance)
    {
        if (imbalance.Strategy == ImbalanceStrategy.None) return (fold.Model.Probabilities(fold.ValidationFeatures, fold.ValidationLabels.Length), null);
        var calibration = PlattCalibration.Fit(fold.RawScores, fold.ValidationLabels);
        return ([.. fold.RawScores.Select(calibration.Probability)], calibration);
    }

    /// <summary>Each row's fold, so that every fold holds about the same share of fraud.</summary>
    public static int[] StratifiedFolds(List<string?[]> rows, DatasetSchema schema, int folds, int seed)
    {
        var labels = FeatureSetService.Labels(schema, rows)!;
        var random = new Random(seed);
        var assignment = new int[rows.Count];
        foreach (var group in Enumerable.Range(0, rows.Count).GroupBy(i => labels[i]))
        {
            var k = 0;
            foreach (var i in group.OrderBy(_ => random.Next())) assignment[i] = k++ % folds;
        }

        return assignment;
    }

    /// <summary>Time split: the latest rows validate. Stratified: each class split at the same fraction, at random.</summary>
    public static (List<string?[]> Train, List<string?[]> Validation) Split(List<string?[]> rows, DatasetSchema schema, SplitSettings split, int seed)
    {
        if (split.Kind == SplitKind.Time && schema.EventTime is not null)
        {
            var featurizer = new Featurizer(new FittedFeatureSet(new FeatureSetDefinition([]), schema, []));
            var order = BatchFeaturizer.TimeOrder([.. rows.Select(featurizer.EventTicks)]);
            var cut = (int)Math.Round(order.Length * (1 - split.ValidationFraction));
            return ([.. order.Take(cut).Select(i => rows[i])], [.. order.Skip(cut).Select(i => rows[i])]);
        }

        var labels = FeatureSetService.Labels(schema, rows)!;
        var random = new Random(seed);
        var validation = new HashSet<int>();
        foreach (var group in Enumerable.Range(0, rows.Count).GroupBy(i => labels[i]))
        {
            var members = group.OrderBy(_ => random.Next()).ToList();
            foreach (var i in members.Take((int)Math.Round(members.Count * split.ValidationFraction))) validation.Add(i);
        }

        return ([.. rows.Where((_, i) => !validation.Contains(i))], [.. rows.Where((_, i) => validation.Contains(i))]);
    }

    /// <summary>The slot ranges of one-hot features: SMOTE treats each as one categorical column (SMOTENC).</summary>
    public static IReadOnlyList<(int Start, int Count)> OneHotGroups(FittedFeatureSet set)
    {
        var groups = new List<(int, int)>();
        var slot = 0;
        foreach (var feature in set.Features)
        {
            if (feature.Spec.Kind == FeatureKind.OneHot) groups.Add((slot, feature.Slots.Count));
            slot += feature.Slots.Count;
        }

        return groups;
    }

    /// <summary>
    /// Class weights, SMOTE or undersampling — on the training rows only. With one-hot groups, SMOTE
    /// runs as SMOTENC: each group is a category (its hot slot), interpolation covers the other inputs,
    /// and a synthetic row's category is the neighbours' most frequent one, written back as one-hot.
    /// </summary>
    public static (TrainingData Data, int Synthetic) Rebalance(TrainingData data, ImbalanceSettings imbalance, int seed, IReadOnlyList<(int Start, int Count)>? oneHotGroups = null)
    {
        switch (imbalance.Strategy)
        {
            case ImbalanceStrategy.ClassWeights:
                return (data with { Weights = ModelTrainer.ClassWeights(data.Labels, imbalance.PositiveWeight) }, 0);
            case ImbalanceStrategy.Smote:
            {
                var groups = oneHotGroups ?? [];
                var inGroup = new bool[data.Width];
                foreach (var (start, count) in groups) for (var k = 0; k < count; k++) inGroup[start + k] = true;
                var numericSlots = Enumerable.Range(0, data.Width).Where(d => !inGroup[d]).ToArray();
                var numeric = new double[data.Rows * numericSlots.Length];
                var categorical = new int[data.Rows * groups.Count];
                for (var r = 0; r < data.Rows; r++)
                {
                    var row = data.Features.AsSpan(r * data.Width, data.Width);
                    for (var n = 0; n < numericSlots.Length; n++) numeric[r * numericSlots.Length + n] = row[numericSlots[n]];
                    for (var g = 0; g < groups.Count; g++) categorical[r * groups.Count + g] = row.Slice(groups[g].Start, groups[g].Count).IndexOf(1f);
                }

                var result = Smote.Generate(numeric, numericSlots.Length, categorical, groups.Count, data.Labels, new SmoteOptions(imbalance.K, imbalance.TargetRatio, seed));
                var features = new float[data.Features.Length + result.Count * data.Width];
                data.Features.CopyTo(features, 0);
                for (var s = 0; s < result.Count; s++)
                {
                    var row = features.AsSpan(data.Features.Length + s * data.Width, data.Width);
                    for (var n = 0; n < numericSlots.Length; n++) row[numericSlots[n]] = (float)result.Numeric[s * numericSlots.Length + n];
                    for (var g = 0; g < groups.Count; g++)
                    {
                        var hot = result.Categorical[s * groups.Count + g];
                        if (hot >= 0) row[groups[g].Start + hot] = 1;
                    }
                }

                return (new TrainingData(features, data.Width, [.. data.Labels, .. Enumerable.Repeat(true, result.Count)]), result.Count);
            }

            case ImbalanceStrategy.Undersample:
            {
                var random = new Random(seed);
                var positives = data.Labels.Count(l => l);
                var keepNegatives = (int)Math.Min(data.Rows - positives, Math.Round(positives / imbalance.TargetRatio));
                var negatives = Enumerable.Range(0, data.Rows).Where(i => !data.Labels[i]).OrderBy(_ => random.Next()).Take(keepNegatives).ToHashSet();
                var keep = Enumerable.Range(0, data.Rows).Where(i => data.Labels[i] || negatives.Contains(i)).ToArray();
                var features = new float[keep.Length * data.Width];
                for (var k = 0; k < keep.Length; k++) data.Features.AsSpan(keep[k] * data.Width, data.Width).CopyTo(features.AsSpan(k * data.Width, data.Width));
                return (new TrainingData(features, data.Width, [.. keep.Select(i => data.Labels[i])]), 0);
            }

            default:
                return (data, 0);
        }
    }

    private static List<ScoreBin> ScoreBins(double[] probabilities, bool[] labels, int bins = 20)
    {
        var legit = new long[bins];
        var fraud = new long[bins];
        for (var i = 0; i < probabilities.Length; i++)
        {
            var b = Math.Min(bins - 1, (int)(Math.Clamp(probabilities[i], 0, 1) * bins));
            if (labels[i]) fraud[b]++; else legit[b]++;
        }

        return [.. Enumerable.Range(0, bins).Select(b => new ScoreBin((double)b / bins, (double)(b + 1) / bins, legit[b], fraud[b]))];
    }

    private static List<T> Thin<T>(IReadOnlyList<T> points)
    {
        if (points.Count <= MaxCurvePoints) return [.. points];
        var step = (double)(points.Count - 1) / (MaxCurvePoints - 1);
        return [.. Enumerable.Range(0, MaxCurvePoints).Select(i => points[(int)Math.Round(i * step)])];
    }
}
