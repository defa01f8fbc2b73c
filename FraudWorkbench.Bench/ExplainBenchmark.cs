using System.Diagnostics;
using FraudWorkbench.Core.Explain;
using FraudWorkbench.Core.Training;

namespace FraudWorkbench.Bench;

/// <summary>
/// <c>bench explain</c>: exact TreeSHAP per row on a LightGBM model (100 trees, 31 leaves, the fraud
/// recipes) against xgboost's C++ TreeSHAP (<c>pred_contribs</c>) on a same-size model trained on the
/// very same matrix, one thread each, then a batch of rows on every core.
/// </summary>
public static class ExplainBenchmark
{
    public static async Task<int> RunAsync(int rows, int explainRows, int maximumDepth, TextWriter output, CancellationToken cancellationToken)
    {
        var path = Path.Combine(Path.GetTempPath(), $"fwb-explain-{rows}");
        try
        {
            var prepared = await TrainingBenchmark.GeneratedAsync(path, rows);
            var width = prepared.Set.SlotCount;
            var model = ModelTrainer.Train(prepared.Train with { Weights = ModelTrainer.ClassWeights(prepared.Train.Labels) }, new TrainerSettings(Trees: 100, Leaves: 31, MaximumDepth: maximumDepth));
            var explainer = ModelExplainer.Create(model, ModelExplainer.Prepare(model, prepared.Train.Features, prepared.Train.Rows));
            var n = Math.Min(explainRows, prepared.Validation.Rows);
            var x = prepared.Validation.Features[..(n * width)];
            await output.WriteLineAsync($"model: LightGBM {explainer.Trees!.Count} trees, up to 31 leaves (deepest {explainer.Trees.Max(t => t.Depth)} levels), {width} inputs, validation PR-AUC {TrainingBenchmark.ValidationPrAuc(model, prepared.Validation):0.000}; {n:N0} validation rows explained");

            var leaves = explainer.Tables!;
            await output.WriteLineAsync($"leaves: {leaves.Leaves:N0}, of which {leaves.UntabledLeaves:N0} computed per row rather than tabled (more distinct features on their path than the tables take); tables {leaves.TableBytes / 1e6:0.0} MB; mean distinct features per leaf {leaves.MeanDistinctFeatures:0.00}");
            for (var r = 0; r < Math.Min(500, n); r++) explainer.Explain(x.AsSpan(r * width, width)); // JIT warm-up
            var best = double.MaxValue;
            var worstError = 0.0;
            var scores = model.RawScores(x, n);
            for (var run = 0; run < 3; run++)
            {
                var watch = Stopwatch.StartNew();
                for (var r = 0; r < n; r++)
                {
                    var e = explainer.Explain(x.AsSpan(r * width, width));
                    if (run == 0) worstError = Math.Max(worstError, Math.Abs(e.BaseValue + e.Contributions.Sum() - scores[r]));
                }

                best = Math.Min(best, watch.Elapsed.TotalMicroseconds / n);
            }

            await output.WriteLineAsync($"TreeSHAP (ours), one thread: best of 3 {best:0.0} us per row (target <= 100 us); local accuracy: max |base + sum - score| {worstError:G2}");
            var parallel = Stopwatch.StartNew();
            Parallel.For(0, n, r => explainer.Explain(x.AsSpan(r * width, width)));
            var parallelSeconds = parallel.Elapsed.TotalSeconds;
            await output.WriteLineAsync($"TreeSHAP (ours), {n:N0} rows on {Environment.ProcessorCount} cores: {parallelSeconds * 1000:0} ms ({n / parallelSeconds:N0} rows/s)");

            using (var xs = new BinaryWriter(File.Create(path + ".train.x"))) foreach (var v in prepared.Train.Features) xs.Write(v);
            await File.WriteAllBytesAsync(path + ".train.y", [.. prepared.Train.Labels.Select(l => l ? (byte)1 : (byte)0)], cancellationToken);
            using (var xs = new BinaryWriter(File.Create(path + ".explain.x"))) foreach (var v in x) xs.Write(v);
            var script = $$"""
                import time, numpy as np, xgboost as xgb
                w = {{width}}
                xt = np.fromfile({{PythonReference.Literal(path + ".train.x")}}, dtype=np.float32).reshape(-1, w)
                yt = np.fromfile({{PythonReference.Literal(path + ".train.y")}}, dtype=np.uint8)
                xe = np.fromfile({{PythonReference.Literal(path + ".explain.x")}}, dtype=np.float32).reshape(-1, w)
                model = xgb.XGBClassifier(tree_method="hist", n_estimators=100, grow_policy="lossguide", max_leaves=31, max_depth={{maximumDepth}}, learning_rate=0.1, n_jobs=2)
                model.fit(xt, yt)
                booster = model.get_booster()
                d = xgb.DMatrix(xe)
                booster.set_param({"nthread": 2})
                t = time.perf_counter(); booster.predict(d, pred_contribs=True); t2 = time.perf_counter() - t
                print("xgboost pred_contribs, %d rows on 2 threads: %.0f ms (%.0f rows/s)" % (len(xe), t2 * 1000, len(xe) / t2))
                booster.set_param({"nthread": 1})
                booster.predict(d, pred_contribs=True)
                best = None
                for _ in range(3):
                    t = time.perf_counter(); booster.predict(d, pred_contribs=True); t = time.perf_counter() - t
                    best = t if best is None else min(best, t)
                print(best / len(xe))
                """;
            var reference = await PythonReference.SecondsAsync(script, cancellationToken, output);
            await output.WriteLineAsync(reference is double s
                ? $"xgboost pred_contribs (C++ TreeSHAP), same matrix, 100 trees, 31 leaves, one thread: best of 3 {s * 1e6:0.0} us per row\nratio (ours / xgboost): {best / (s * 1e6):0.00}x"
                : "xgboost: not available (apt-get install python3-xgboost)");
            return 0;
        }
        finally
        {
            foreach (var file in Directory.GetFiles(Path.GetTempPath(), Path.GetFileName(path) + "*")) File.Delete(file);
        }
    }
}
