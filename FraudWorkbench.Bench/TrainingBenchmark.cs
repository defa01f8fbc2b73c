using System.Diagnostics;
using System.Globalization;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Data.Samples;
using FraudWorkbench.Core.Features;
using FraudWorkbench.Core.Training;

namespace FraudWorkbench.Bench;

/// <summary>
/// <c>bench training</c>: LightGBM on generated rows against xgboost (hist) on the very same feature
/// matrix in the same run; SMOTE against imbalanced-learn on the same rows; and the fraud recipes
/// against raw columns on the month A sample.
/// </summary>
public static class TrainingBenchmark
{
    public static FeatureSetDefinition Recipes => SampleFeatureSets.Recipes;

    public static FeatureSetDefinition RawColumns => SampleFeatureSets.RawColumns;

    /// <summary>The earlier 70 % for training and the later 30 % for validation, as a time-split training run builds them.</summary>
    public static TrainingMatrices Prepare(List<string?[]> rows, DatasetSchema schema, FeatureSetDefinition definition)
    {
        var (train, validation) = TrainingJobHandler.Split(rows, schema, new SplitSettings(SplitKind.Time, 0.3), 42);
        return TrainingMatrices.Build(definition, schema, train, validation);
    }

    /// <summary>Writes <paramref name="rows"/> generated month A transactions to <c>{path}.csv</c> and prepares them with the recipes.</summary>
    public static async Task<TrainingMatrices> GeneratedAsync(string path, int rows)
    {
        await using (var file = new StreamWriter(path + ".csv", false, new System.Text.UTF8Encoding(false), 1 << 16))
        {
            TransactionGenerator.Write(file, new SampleOptions(SampleMonth.A, rows));
        }

        var schema = SchemaInference.Infer(path + ".csv", ',');
        List<string?[]> data;
        await using (var file = File.OpenRead(path + ".csv")) data = DatasetRows.Read(file, schema);
        return Prepare(data, schema, Recipes);
    }

    public static double ValidationPrAuc(TrainedModel model, TrainingData validation) =>
        ClassificationMetrics.AveragePrecision(model.RawScores(validation.Features, validation.Rows), validation.Labels);

    public static async Task<int> RunAsync(int rows, int smoteRows, TextWriter output, CancellationToken cancellationToken)
    {
        // Quality first, on the committed month A sample.
        var samplePath = Path.Combine(AppContext.BaseDirectory, "samples", "transactions-month-a.csv");
        var sampleSchema = SchemaInference.Infer(samplePath, ',');
        List<string?[]> sample;
        await using (var file = File.OpenRead(samplePath)) sample = DatasetRows.Read(file, sampleSchema);
        var settings = new TrainerSettings(Trees: 100, Leaves: 31, LearningRate: 0.1, Threads: 2);
        foreach (var (name, definition) in new[] { ("fraud recipes", Recipes), ("raw columns", RawColumns) })
        {
            var split = Prepare(sample, sampleSchema, definition);
            var model = ModelTrainer.Train(split.Train with { Weights = ModelTrainer.ClassWeights(split.Train.Labels) }, settings);
            await output.WriteLineAsync($"quality, month A sample, time split, LightGBM + class weights, {name} ({split.Set.SlotCount} inputs): PR-AUC {ValidationPrAuc(model, split.Validation):0.000}");
        }

        // Speed: LightGBM against xgboost hist on one matrix.
        var path = Path.Combine(Path.GetTempPath(), $"fwb-train-{rows}");
        try
        {
            var prepared = await GeneratedAsync(path, rows);
            Write(path + ".train", prepared.Train);
            Write(path + ".valid", prepared.Validation);

            // Best of three on both sides: this shared machine's load swings single timings by ±20 %.
            var watch = new Stopwatch();
            TrainedModel lightgbm = default!;
            var fitSeconds = double.MaxValue;
            for (var run = 0; run < 3; run++)
            {
                watch.Restart();
                lightgbm = ModelTrainer.Train(prepared.Train, settings);
                fitSeconds = Math.Min(fitSeconds, watch.Elapsed.TotalSeconds);
            }

            var ours = ValidationPrAuc(lightgbm, prepared.Validation);
            await output.WriteLineAsync($"LightGBM (ML.NET) fit on {prepared.Train.Rows:N0} rows × {prepared.Set.SlotCount} inputs, 100 trees, 31 leaves, 2 threads: best of 3 {fitSeconds:0.000} s, validation PR-AUC {ours:0.000}");

            var script = $$"""
                import time, numpy as np, xgboost as xgb
                from sklearn.metrics import average_precision_score
                w = {{prepared.Set.SlotCount}}
                def load(p):
                    x = np.fromfile(p + ".x", dtype=np.float32).reshape(-1, w); y = np.fromfile(p + ".y", dtype=np.uint8); return x, y
                xt, yt = load({{PythonReference.Literal(path + ".train")}}); xv, yv = load({{PythonReference.Literal(path + ".valid")}})
                best = None
                for _ in range(3):
                    model = xgb.XGBClassifier(tree_method="hist", n_estimators=100, max_depth=6, learning_rate=0.1, n_jobs=2)
                    t = time.perf_counter(); model.fit(xt, yt); t = time.perf_counter() - t
                    best = t if best is None else min(best, t)
                print("xgboost hist validation PR-AUC %.3f" % average_precision_score(yv, model.predict_proba(xv)[:, 1]))
                print(best)
                """;
            var xgboost = await PythonReference.SecondsAsync(script, cancellationToken, output);
            await output.WriteLineAsync(xgboost is double x
                ? $"xgboost hist fit, same matrix, 100 trees, depth 6, 2 threads: best of 3 {x:0.000} s\nratio (LightGBM / xgboost): {fitSeconds / x:0.00}x (target <= 1.0x)"
                : "xgboost: not available (apt-get install python3-xgboost python3-sklearn)");

            // SMOTE on the first rows of the training matrix against imbalanced-learn on the same rows.
            var n = Math.Min(smoteRows, prepared.Train.Rows);
            var subset = new TrainingData(prepared.Train.Features[..(n * prepared.Set.SlotCount)], prepared.Set.SlotCount, prepared.Train.Labels[..n]);
            Write(path + ".smote", subset);
            var numeric = subset.Features.Select(v => (double)v).ToArray();
            Smote.Generate(numeric[..(2_000 * subset.Width)], subset.Width, [], 0, subset.Labels[..2_000], new SmoteOptions(5, 0.5, 42)); // JIT warm-up
            SmoteResult result = default!;
            var smoteSeconds = double.MaxValue;
            for (var run = 0; run < 3; run++)
            {
                watch.Restart();
                result = Smote.Generate(numeric, subset.Width, [], 0, subset.Labels, new SmoteOptions(5, 0.5, 42));
                smoteSeconds = Math.Min(smoteSeconds, watch.Elapsed.TotalSeconds);
            }

            await output.WriteLineAsync($"SMOTE (k = 5, minority to 0.5 of majority) on {n:N0} rows: best of 3 {smoteSeconds:0.000} s, {result.Count:N0} synthetic rows");
            var imblearn = await PythonReference.SecondsAsync($$"""
                import time, numpy as np
                from imblearn.over_sampling import SMOTE
                w = {{prepared.Set.SlotCount}}
                x = np.fromfile({{PythonReference.Literal(path + ".smote.x")}}, dtype=np.float32).reshape(-1, w).astype(np.float64)
                y = np.fromfile({{PythonReference.Literal(path + ".smote.y")}}, dtype=np.uint8)
                best = None
                for _ in range(3):
                    t = time.perf_counter(); SMOTE(k_neighbors=5, sampling_strategy=0.5, random_state=42).fit_resample(x, y); t = time.perf_counter() - t
                    best = t if best is None else min(best, t)
                print(best)
                """, cancellationToken);
            await output.WriteLineAsync(imblearn is double s
                ? $"imbalanced-learn SMOTE, same rows: best of 3 {s:0.000} s\nratio (ours / imbalanced-learn): {smoteSeconds / s:0.00}x (target <= 1.0x)"
                : "imbalanced-learn: not available (apt-get install python3-imblearn)");
            return 0;
        }
        finally
        {
            foreach (var file in Directory.GetFiles(Path.GetTempPath(), Path.GetFileName(path) + "*")) File.Delete(file);
        }
    }

    private static void Write(string path, TrainingData data)
    {
        using (var x = new BinaryWriter(File.Create(path + ".x"))) foreach (var v in data.Features) x.Write(v);
        File.WriteAllBytes(path + ".y", [.. data.Labels.Select(l => l ? (byte)1 : (byte)0)]);
    }
}
