using System.Diagnostics;
using System.Globalization;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Data.Samples;
using FraudWorkbench.Core.Features;

namespace FraudWorkbench.Bench;

/// <summary>
/// <c>bench features</c>: fits and computes a feature set with three velocity windows over generated
/// rows already in memory, against the same features in pandas (groupby/rolling) in the same run;
/// then the time to compute one transaction's features from in-memory entity state (no database).
/// </summary>
public static class FeatureBenchmark
{
    public static readonly FeatureSetDefinition Definition = new(
    [
        new FeatureSpec(FeatureKind.Numeric, Column: "amount", Log1p: true),
        new FeatureSpec(FeatureKind.OneHot, Column: "merchant_category", TopK: 10),
        new FeatureSpec(FeatureKind.DateParts, Column: "event_time"),
        new FeatureSpec(FeatureKind.Mismatch, Column: "ip_country", Other: "home_country"),
        new FeatureSpec(FeatureKind.EntityRatio, Column: "amount", Entity: "customer_id"),
        new FeatureSpec(FeatureKind.Velocity, Column: "amount", Entity: "customer_id", Windows: ["1h", "24h", "7d"]),
    ]);

    public static async Task<int> RunAsync(int rows, int runs, TextWriter output, CancellationToken cancellationToken)
    {
        var path = Path.Combine(Path.GetTempPath(), $"fwb-features-{rows}.csv");
        try
        {
            await using (var file = new StreamWriter(path, false, new System.Text.UTF8Encoding(false), 1 << 16))
            {
                TransactionGenerator.Write(file, new SampleOptions(SampleMonth.A, rows));
            }

            var schema = SchemaInference.Infer(path, ',');
            List<string?[]> data;
            await using (var file = File.OpenRead(path)) data = DatasetRows.Read(file, schema);
            await output.WriteLineAsync($"rows: {data.Count:N0} in memory; features: {Definition.Features.Count} definitions incl. velocity over 1h/24h/7d");

            var times = new List<double>();
            FittedFeatureSet? set = null;
            for (var run = 0; run < runs; run++)
            {
                GC.Collect();
                var watch = Stopwatch.StartNew();
                set = FeatureSetFitter.Fit(Definition, schema, data);
                var matrix = BatchFeaturizer.Run(set, data);
                watch.Stop();
                times.Add(watch.Elapsed.TotalSeconds);
                GC.KeepAlive(matrix);
            }

            var best = times.Min();
            await output.WriteLineAsync($"fraudworkbench fit + batch featurize: best {best:0.000} s of {runs} ({string.Join(", ", times.Select(t => t.ToString("0.000", CultureInfo.InvariantCulture)))}), {set!.SlotCount} inputs per row (target <= 3 s)");

            var pandas = await PandasAsync(path, runs, cancellationToken);
            await output.WriteLineAsync(pandas is double p
                ? $"pandas groupby/rolling reference: best {p:0.000} s of {runs}\nratio (ours / pandas): {best / p:0.00}x (target <= 1.5x)"
                : "pandas reference: not available (apt-get install python3-pandas)");

            await output.WriteLineAsync($"online, one transaction from in-memory entity state: {OnlineMicroseconds(set, data):0.0} µs mean over 200,000 transactions (target <= 200 µs)");
            return 0;
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>Compute + record for single transactions in time order, as scoring does, without the database round trip.</summary>
    private static double OnlineMicroseconds(FittedFeatureSet set, List<string?[]> data)
    {
        var featurizer = new Featurizer(set);
        var histories = new Dictionary<(int, string), EntityHistory>();
        EntityHistory? Find(int f, string e) => histories.GetValueOrDefault((f, e));
        EntityHistory GetOrAdd(int f, string e)
        {
            if (!histories.TryGetValue((f, e), out var h)) histories[(f, e)] = h = new EntityHistory();
            return h;
        }

        var output = new float[set.SlotCount];
        var count = Math.Min(200_000, data.Count);
        for (var i = 0; i < Math.Min(20_000, count); i++) Step(data[i]); // warm-up
        histories.Clear();
        var watch = Stopwatch.StartNew();
        for (var i = 0; i < count; i++) Step(data[i]);
        watch.Stop();
        return watch.Elapsed.TotalMicroseconds / count;

        void Step(string?[] row)
        {
            var ticks = featurizer.EventTicks(row)!.Value;
            featurizer.Compute(row, ticks, Find, output);
            featurizer.Observe(row, ticks, GetOrAdd);
        }
    }

    /// <summary>Best time of the same features in pandas over the runs.</summary>
    private static Task<double?> PandasAsync(string path, int runs, CancellationToken cancellationToken)
    {
        var script = $$"""
            import time, numpy as np, pandas as pd
            raw = pd.read_csv({{PythonReference.Literal(path)}})
            raw["event_time"] = pd.to_datetime(raw["event_time"], utc=True)
            best = None
            for _ in range({{runs}}):
                t0 = time.perf_counter()
                df = raw.sort_values("event_time", kind="stable").reset_index(drop=True)
                out = pd.DataFrame(index=df.index)
                out["amount_log1p"] = np.log1p(df["amount"])
                top = df["merchant_category"].value_counts().index[:10]
                out = out.join(pd.get_dummies(df["merchant_category"].where(df["merchant_category"].isin(top), "(other)"), prefix="cat"))
                out["hour"] = df["event_time"].dt.hour
                out["dow"] = df["event_time"].dt.dayofweek
                out["weekend"] = (out["dow"] >= 5).astype(int)
                out["night"] = (out["hour"] < 6).astype(int)
                out["mismatch"] = (df["ip_country"] != df["home_country"]).astype(int)
                g = df.groupby("customer_id")["amount"]
                out["ratio"] = df["amount"] / g.transform(lambda s: s.expanding().mean().shift(1)).fillna(df["amount"])
                out["since_prev"] = df.groupby("customer_id")["event_time"].diff().dt.total_seconds().fillna(7 * 86400)
                indexed = df.set_index("event_time")
                for w in ["1h", "24h", "7d"]:
                    r = indexed.groupby("customer_id")["amount"].rolling(w, closed="left")
                    counts = r.count().fillna(0)
                    sums = r.sum().fillna(0)
                    out["count_" + w] = counts.to_numpy()
                    out["sum_" + w] = sums.to_numpy()
                t = time.perf_counter() - t0
                best = t if best is None else min(best, t)
            print(best)
            """;
        return PythonReference.SecondsAsync(script, cancellationToken);
    }
}
