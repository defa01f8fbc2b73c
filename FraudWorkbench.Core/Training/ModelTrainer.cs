using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;
using Microsoft.ML.Trainers.FastTree;
using Microsoft.ML.Trainers.LightGbm;

namespace FraudWorkbench.Core.Training;

public static class TrainerKind
{
    public const string LightGbm = "lightgbm";
    public const string FastTree = "fasttree";
    public const string FastForest = "fastforest";
    public const string LogisticRegression = "logistic_regression";

    public static readonly IReadOnlyList<string> All = [LightGbm, FastTree, FastForest, LogisticRegression];
}

/// <summary>Hyperparameters with their defaults; <see cref="Validate"/> names any that is out of range.</summary>
public sealed record TrainerSettings(
    string Trainer = TrainerKind.LightGbm,
    int Trees = 100,
    int Leaves = 31,
    double LearningRate = 0.1,
    int MinimumExamplesPerLeaf = 20,
    double L2Regularization = 1.0,
    int Threads = 2,
    int Seed = 42,
    int MaximumDepth = 0)
{
    public IReadOnlyList<(string Field, string Message)> Validate()
    {
        var issues = new List<(string, string)>();
        if (!TrainerKind.All.Contains(Trainer)) issues.Add(("trainer", $"'{Trainer}' is not one of {string.Join(", ", TrainerKind.All)}."));
        if (Trees is < 1 or > 5000) issues.Add(("trees", "Trees must be between 1 and 5000."));
        if (Leaves is < 2 or > 1024) issues.Add(("leaves", "Leaves must be between 2 and 1024."));
        if (LearningRate is not (> 0 and <= 1)) issues.Add(("learningRate", "The learning rate must be in (0, 1]."));
        if (MinimumExamplesPerLeaf is < 1 or > 100_000) issues.Add(("minimumExamplesPerLeaf", "Minimum examples per leaf must be between 1 and 100,000."));
        if (L2Regularization is not (>= 0 and <= 1e6)) issues.Add(("l2Regularization", "L2 regularisation must be between 0 and 1e6."));
        if (Threads is < 1 or > 64) issues.Add(("threads", "Threads must be between 1 and 64."));
        if (MaximumDepth is < 0 or > 64) issues.Add(("maximumDepth", "The maximum depth must be between 0 (unlimited) and 64."));
        return issues;
    }
}

/// <summary>Rows of model inputs (row-major), their labels and optional example weights.</summary>
public sealed record TrainingData(float[] Features, int Width, bool[] Labels, float[]? Weights = null)
{
    public int Rows => Labels.Length;
}

/// <summary>A fitted ML.NET model over a fixed-width float vector, scoring rows to probabilities.</summary>
public sealed class TrainedModel(MLContext ml, ITransformer model, int width, string trainer)
{
    public ITransformer Model => model;

    public int Width => width;

    public string Trainer => trainer;

    /// <summary>The model's own probability of fraud per row (before any recalibration).</summary>
    public double[] Probabilities(float[] features, int rows) => Column(features, rows, "Probability");

    /// <summary>The uncalibrated score (log-odds scale for the tree ensembles).</summary>
    public double[] RawScores(float[] features, int rows) => Column(features, rows, "Score");

    public void Save(Stream stream) => ml.Model.Save(model, ModelTrainer.Schema(ml, width), stream);

    /// <summary>
    /// Importance per input: the tree ensembles' split gains, or the absolute coefficients of logistic
    /// regression (on standardised inputs); null when the trainer exposes neither.
    /// </summary>
    public float[]? Importance()
    {
        // The predictor is the last transformer that carries model parameters (a forest's Platt calibrator comes after it).
        var transformers = model is IEnumerable<ITransformer> chain ? chain.Reverse() : [model];
        var parameters = transformers.OfType<ISingleFeaturePredictionTransformer<object>>().Select(t => Unwrap(t.Model))
            .FirstOrDefault(p => p is TreeEnsembleModelParameters or LinearModelParameters);
        switch (parameters)
        {
            case TreeEnsembleModelParameters trees:
                VBuffer<float> gains = default;
                trees.GetFeatureWeights(ref gains);
                return [.. gains.DenseValues()];
            case LinearModelParameters linear:
                return [.. linear.Weights.Select(Math.Abs)];
            default:
                return null;
        }
    }

    /// <summary>
    /// ML.NET's permutation feature importance (PFI): each input shuffled on its own across the rows, the change in
    /// PR-AUC (negative: the model does worse without it), mean and standard deviation over <paramref name="permutations"/> shuffles.
    /// </summary>
    public IReadOnlyList<(string Input, double Change, double StandardDeviation)> PermutationFeatureImportance(
        float[] features, bool[] labels, IReadOnlyList<string> inputNames, int permutations, int seed = 7)
    {
        // PFI needs the predictor last in the chain: a forest's Platt calibrator after it would be handed the raw rows.
        // PR-AUC only ranks scores, which a monotone calibrator does not change.
        var predictor = model;
        if (model is IEnumerable<ITransformer> chain)
        {
            var parts = chain.ToList();
            while (parts.Count > 1 && parts[^1].GetType().Name.Contains("CalibratorTransformer", StringComparison.Ordinal)) parts.RemoveAt(parts.Count - 1);
            predictor = new TransformerChain<ITransformer>([.. parts]);
        }

        // ML.NET reports by input name, so the names must be unique.
        var names = inputNames.Select((n, i) => inputNames.Count(m => m == n) > 1 ? $"{n} [{i}]" : n).ToList();
        var context = new MLContext(seed);
        var view = new MatrixDataView(new TrainingData(features, width, labels), names);
        var result = context.BinaryClassification.PermutationFeatureImportanceNonCalibrated(predictor, view, MatrixDataView.Label, permutationCount: permutations);
        return [.. names.Where(result.ContainsKey).Select(n => (n, result[n].AreaUnderPrecisionRecallCurve.Mean, result[n].AreaUnderPrecisionRecallCurve.StandardDeviation))];
    }

    /// <summary>A calibrated model's inner model (SubModel is redeclared down the hierarchy, hence the walk).</summary>
    internal static object Unwrap(object parameters)
    {
        for (var type = parameters.GetType(); type is not null; type = type.BaseType)
        {
            var property = type.GetProperty("SubModel", System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.DeclaredOnly);
            if (property?.GetValue(parameters) is { } inner) return inner;
        }

        return parameters;
    }

    private double[] Column(float[] features, int rows, string column)
    {
        var view = ModelTrainer.ToDataView(ml, new TrainingData(features, width, new bool[rows]));
        var scored = model.Transform(view);
        return [.. scored.GetColumn<float>(column).Select(v => (double)v)];
    }
}

/// <summary>A fit was cancelled; <see cref="FitEnded"/> completes once its thread has stopped.</summary>
public sealed class FitCancelledException(Task fitEnded, CancellationToken cancellationToken) : OperationCanceledException("The training was cancelled.", cancellationToken)
{
    public Task FitEnded { get; } = fitEnded;
}

/// <summary>Trains the four ML.NET binary trainers on a feature matrix.</summary>
public static class ModelTrainer
{
    // ML.NET stops a fit through MLContext.CancelExecution, which its trainers check through their channels: LightGBM
    // every boosting round, FastTree and FastForest every tree (a 5,000-tree fit stops within seconds: ModelTrainerTests).
    // It is public only in the Microsoft.ML.Experimental package, which is not published for ML.NET 5, hence
    // reflection (null if a later version drops it: then cancelling only abandons the fit).
    private static readonly MethodInfo? CancelExecution = typeof(MLContext).GetMethod("CancelExecution", BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic, Type.EmptyTypes);
    private static readonly Lock AbandonedLock = new();
    private static Task abandoned = Task.CompletedTask;

    /// <summary>Fits that were cancelled but have not stopped yet; completes when none is left.</summary>
    public static Task Abandoned
    {
        get
        {
            lock (AbandonedLock) return abandoned;
        }
    }

    public static TrainedModel Train(TrainingData data, TrainerSettings settings) => Fit(Check(data, settings), data, settings);

    /// <summary>
    /// Trains on a thread of its own, so that cancelling returns at once: the fit is told to stop (the tree trainers stop
    /// within a round) and abandoned, its result discarded, should it run on in a stage that checks nothing. A new fit
    /// waits until abandoned ones have ended, so no abandoned fit's memory piles up beside it.
    /// </summary>
    public static async Task<TrainedModel> TrainAsync(TrainingData data, TrainerSettings settings, CancellationToken cancellationToken)
    {
        await Abandoned.WaitAsync(cancellationToken);
        var ml = Check(data, settings);
        var fit = Task.Factory.StartNew(() => Fit(ml, data, settings), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        try
        {
            return await fit.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            CancelExecution?.Invoke(ml, null);
            // Observed here (its cancellation or its model, both discarded), so nothing surfaces as an unobserved exception.
            var ended = fit.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
            lock (AbandonedLock) abandoned = Task.WhenAll(abandoned, ended);
            throw new FitCancelledException(ended, cancellationToken);
        }
    }

    private static MLContext Check(TrainingData data, TrainerSettings settings)
    {
        if (settings.Validate() is { Count: > 0 } issues) throw new ArgumentException(string.Join(" ", issues.Select(i => $"{i.Field}: {i.Message}")));
        if (!data.Labels.Contains(true) || !data.Labels.Contains(false)) throw new ArgumentException("Training needs both fraud and legitimate rows.");
        return new MLContext(seed: settings.Seed);
    }

    private static TrainedModel Fit(MLContext ml, TrainingData data, TrainerSettings settings)
    {
        var view = ToDataView(ml, data);
        var weight = data.Weights is null ? null : MatrixDataView.Weight;
        IEstimator<ITransformer> trainer = settings.Trainer switch
        {
            TrainerKind.LightGbm => ml.BinaryClassification.Trainers.LightGbm(new LightGbmBinaryTrainer.Options
            {
                NumberOfIterations = settings.Trees,
                NumberOfLeaves = settings.Leaves,
                LearningRate = settings.LearningRate,
                MinimumExampleCountPerLeaf = settings.MinimumExamplesPerLeaf,
                L2CategoricalRegularization = settings.L2Regularization,
                NumberOfThreads = settings.Threads,
                Seed = settings.Seed,
                Silent = true,
                Verbose = false,
                UseCategoricalSplit = false, // keeps ONNX export exact (see REFERENCE: categorical splits break it)
                // Our matrices are narrow and long, where row-wise histograms win; forcing it skips
                // LightGBM's timed trial of both layouts (about 10 % of a 700k-row fit).
                ForceRowWise = true,
                ExampleWeightColumnName = weight,
                Booster = new GradientBooster.Options { L2Regularization = settings.L2Regularization, MaximumTreeDepth = settings.MaximumDepth },
            }),
            TrainerKind.FastTree => ml.BinaryClassification.Trainers.FastTree(new FastTreeBinaryTrainer.Options
            {
                NumberOfTrees = settings.Trees,
                NumberOfLeaves = settings.Leaves,
                LearningRate = settings.LearningRate,
                MinimumExampleCountPerLeaf = settings.MinimumExamplesPerLeaf,
                NumberOfThreads = settings.Threads,
                Seed = settings.Seed,
                ExampleWeightColumnName = weight,
            }),
            // A forest's score is an average of trees, not a probability: Platt scaling on the training rows makes one.
            TrainerKind.FastForest => ml.BinaryClassification.Trainers.FastForest(new FastForestBinaryTrainer.Options
            {
                NumberOfTrees = settings.Trees,
                NumberOfLeaves = settings.Leaves,
                MinimumExampleCountPerLeaf = settings.MinimumExamplesPerLeaf,
                NumberOfThreads = settings.Threads,
                Seed = settings.Seed,
                ExampleWeightColumnName = weight,
            }).Append(ml.BinaryClassification.Calibrators.Platt()),
            _ => ml.Transforms.NormalizeMeanVariance(MatrixDataView.Features)
                .Append(ml.BinaryClassification.Trainers.LbfgsLogisticRegression(new LbfgsLogisticRegressionBinaryTrainer.Options
                {
                    L2Regularization = (float)settings.L2Regularization,
                    NumberOfThreads = settings.Threads,
                    ExampleWeightColumnName = weight,
                })),
        };

        if (settings.Trainer != TrainerKind.LightGbm) return new TrainedModel(ml, trainer.Fit(view), data.Width, settings.Trainer);
        // LightGBM keeps its OpenMP thread count in process-wide state that every booster sets. Two fits at once have
        // killed the whole process in native code (a divide error in lib_lightgbm.so, twice on the test machine, with
        // test classes training side by side; ML.NET's own CI has seen the like), so one LightGBM fit runs at a time.
        lock (LightGbmFit) return new TrainedModel(ml, trainer.Fit(view), data.Width, settings.Trainer);
    }

    private static readonly Lock LightGbmFit = new();

    /// <summary>Class weights: positives weigh <paramref name="positiveWeight"/> (default: negatives ÷ positives), negatives 1.</summary>
    public static float[] ClassWeights(bool[] labels, double? positiveWeight = null)
    {
        var positives = labels.Count(l => l);
        var weight = (float)(positiveWeight ?? (positives == 0 ? 1 : (double)(labels.Length - positives) / positives));
        return [.. labels.Select(l => l ? weight : 1f)];
    }

    internal static DataViewSchema Schema(MLContext ml, int width) => MatrixDataView.SchemaFor(width);

    internal static IDataView ToDataView(MLContext ml, TrainingData data) => new MatrixDataView(data);
}

/// <summary>
/// Platt scaling fitted on validation scores: p = 1 / (1 + exp(A·s + B)). Class weights and resampling
/// shift a model's probabilities away from the true fraud rate; this brings them back.
/// </summary>
public sealed record PlattCalibration(double A, double B)
{
    public double Probability(double score) => 1 / (1 + Math.Exp(A * score + B));

    /// <summary>
    /// Maximum likelihood with Platt's smoothed targets, by Newton's method with a backtracking line
    /// search (Lin, Lin and Weng's robust variant): plain Newton steps diverge on well-separated scores.
    /// </summary>
    public static PlattCalibration Fit(IReadOnlyList<double> scores, IReadOnlyList<bool> labels)
    {
        double positives = labels.Count(l => l), negatives = labels.Count - positives;
        double hi = (positives + 1) / (positives + 2), lo = 1 / (negatives + 2);
        var targets = labels.Select(l => l ? hi : lo).ToArray();
        double a = 0, b = Math.Log((negatives + 1) / (positives + 1));
        var loss = Loss(a, b);
        for (var iteration = 0; iteration < 100; iteration++)
        {
            double g1 = 0, g2 = 0, h11 = 1e-12, h22 = 1e-12, h21 = 0;
            for (var i = 0; i < scores.Count; i++)
            {
                var p = Sigmoid(a * scores[i] + b);
                var d = targets[i] - p;        // gradient of the loss with respect to A·s + B
                var w = p * (1 - p);
                g1 += scores[i] * d;
                g2 += d;
                h11 += scores[i] * scores[i] * w;
                h22 += w;
                h21 += scores[i] * w;
            }

            if (Math.Abs(g1) < 1e-9 && Math.Abs(g2) < 1e-9) break;
            var det = h11 * h22 - h21 * h21;
            var da = -(h22 * g1 - h21 * g2) / det;
            var db = -(-h21 * g1 + h11 * g2) / det;
            var step = 1.0;
            while (step > 1e-10)
            {
                var candidate = Loss(a + step * da, b + step * db);
                if (candidate < loss + 1e-4 * step * (g1 * da + g2 * db))
                {
                    (a, b, loss) = (a + step * da, b + step * db, candidate);
                    break;
                }

                step /= 2;
            }

            if (step <= 1e-10) break;
        }

        return new PlattCalibration(a, b);

        double Loss(double pa, double pb)
        {
            var sum = 0.0;
            for (var i = 0; i < scores.Count; i++)
            {
                // −[t·log p + (1 − t)·log(1 − p)] with p = 1 / (1 + e^z), computed without overflow.
                var z = pa * scores[i] + pb;
                sum += z >= 0 ? targets[i] * z + Math.Log(1 + Math.Exp(-z)) : Math.Log(1 + Math.Exp(z)) - (1 - targets[i]) * z;
            }

            return sum;
        }
    }

    private static double Sigmoid(double z) => z >= 0 ? Math.Exp(-z) / (1 + Math.Exp(-z)) : 1 / (1 + Math.Exp(z));
}
