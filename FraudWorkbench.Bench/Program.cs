using System.CommandLine;
using FraudWorkbench.Core.Data.Samples;

namespace FraudWorkbench.Bench;

// Benchmarks, their load generator and the sample generator: tools for the people who build
// FraudWorkbench, kept out of the app (which keeps only its operator commands, user and api-key).
// Figures and how to read them: docs/benchmarks.md.
public static class BenchProgram
{
    public static async Task<int> Main(string[] args)
    {
        var output = Console.Out;
        var root = new RootCommand("FraudWorkbench benchmarks and sample data: run with -c Release");

        var month = new Option<SampleMonth>("--month") { Description = "A (training month) or B (a later month with data and concept drift)", DefaultValueFactory = _ => SampleMonth.A };
        var rows = new Option<int>("--rows") { Description = "Number of transactions", DefaultValueFactory = _ => 40_000 };
        var seed = new Option<int>("--seed") { Description = "Random seed; the same seed gives the same file", DefaultValueFactory = _ => 42 };
        var outPath = new Option<string?>("--out") { Description = "File to write (default: standard output)" };
        var generate = new Command("generate", "Write synthetic e-commerce transactions with planted fraud patterns as CSV") { month, rows, seed, outPath };
        generate.SetAction(async (parse, ct) =>
        {
            var options = new SampleOptions(parse.GetValue(month), parse.GetValue(rows), parse.GetValue(seed));
            if (parse.GetValue(outPath) is { Length: > 0 } path)
            {
                await using var file = new StreamWriter(path, append: false, new System.Text.UTF8Encoding(false), 1 << 16);
                TransactionGenerator.Write(file, options);
                await Console.Error.WriteLineAsync($"Wrote {options.Rows:N0} transactions (month {options.Month}, seed {options.Seed}) to {path}.");
            }
            else
            {
                TransactionGenerator.Write(output, options);
            }

            return 0;
        });

        var benchRows = new Option<int>("--rows") { Description = "Rows of generated data to ingest", DefaultValueFactory = _ => 1_000_000 };
        var benchRuns = new Option<int>("--runs") { Description = "Timed runs of each side (the best is reported)", DefaultValueFactory = _ => 3 };
        var benchIngest = new Command("ingest", "Time ingest + profile of a generated CSV against pandas.read_csv on the same file") { benchRows, benchRuns };
        benchIngest.SetAction((parse, ct) => IngestBenchmark.RunAsync(parse.GetValue(benchRows), parse.GetValue(benchRuns), output, ct));

        root.Subcommands.Add(new Command("samples", "Sample data") { generate });

        var featureRows = new Option<int>("--rows") { Description = "Rows of generated data to featurize", DefaultValueFactory = _ => 1_000_000 };
        var featureRuns = new Option<int>("--runs") { Description = "Timed runs of each side (the best is reported)", DefaultValueFactory = _ => 3 };
        var benchFeatures = new Command("features", "Time fitting + batch featurization (three velocity windows) against pandas groupby/rolling, and one online transaction") { featureRows, featureRuns };
        benchFeatures.SetAction((parse, ct) => FeatureBenchmark.RunAsync(parse.GetValue(featureRows), parse.GetValue(featureRuns), output, ct));

        var trainingRows = new Option<int>("--rows") { Description = "Rows of generated data to train on (70 % train, 30 % validation)", DefaultValueFactory = _ => 1_000_000 };
        var smoteRows = new Option<int>("--smote-rows") { Description = "Training rows to oversample with SMOTE", DefaultValueFactory = _ => 100_000 };
        var benchTraining = new Command("training", "Quality of the fraud recipes, LightGBM against xgboost, SMOTE against imbalanced-learn") { trainingRows, smoteRows };
        benchTraining.SetAction((parse, ct) => TrainingBenchmark.RunAsync(parse.GetValue(trainingRows), parse.GetValue(smoteRows), output, ct));

        var scoringSeconds = new Option<int>("--seconds") { Description = "Seconds of load per step", DefaultValueFactory = _ => 10 };
        var scoringRates = new Option<int[]>("--rates") { Description = "Open-loop request rates per second", DefaultValueFactory = _ => [500, 1000], AllowMultipleArgumentsPerToken = true };
        var scoringConcurrency = new Option<int[]>("--concurrency") { Description = "Requests in flight for the closed-loop steps (the maximum throughput is the best)", DefaultValueFactory = _ => [32, 64], AllowMultipleArgumentsPerToken = true };
        var scoringNoReasons = new Option<bool>("--no-reasons") { Description = "Send explain: false (no TreeSHAP reasons), to see what explanations cost" };
        var scoringRaw = new Option<bool>("--raw-columns") { Description = "Train on the raw columns (no entity features, so no online entity state) instead of the fraud recipes" };
        var scoringShadow = new Option<bool>("--shadow") { Description = "Instead: the champion's latency and failed requests with shadow scoring off and on (a challenger scoring the same traffic), in alternating rounds of one run" };
        var scoringShadowPairs = new Option<int>("--shadow-pairs") { Description = "With --shadow: pairs of rounds (off and on), in ABBA order", DefaultValueFactory = _ => 2 };
        var benchScoring = new Command("scoring", "Start the app, promote a sample model and load POST /api/v1/predict: p50/p99 at fixed rates, maximum throughput, ML.NET vs ONNX Runtime; or (--shadow) shadow scoring's cost") { scoringSeconds, scoringRates, scoringConcurrency, scoringRaw, scoringNoReasons, scoringShadow, scoringShadowPairs };
        benchScoring.SetAction((parse, ct) => parse.GetValue(scoringShadow)
            ? ShadowBenchmark.RunAsync(parse.GetValue(scoringSeconds), parse.GetValue(scoringRates)!, Math.Max(1, parse.GetValue(scoringShadowPairs)), output, ct)
            : ScoringBenchmark.RunAsync(parse.GetValue(scoringSeconds), parse.GetValue(scoringRates)!, parse.GetValue(scoringConcurrency)!, parse.GetValue(scoringRaw), output, ct, reasons: !parse.GetValue(scoringNoReasons)));
        var loadUrl = new Option<string>("--url") { Description = "The app's base address", Required = true };
        var loadBodies = new Option<string>("--bodies") { Description = "File of request bodies for POST /api/v1/predict, one JSON document per line", Required = true };
        var loadWarmup = new Option<int>("--warmup-seconds") { Description = "Seconds of load at the first rate before the measured steps", DefaultValueFactory = _ => LoadGenerator.DefaultWarmupSeconds };
        var benchLoad = new Command("load", $"The scoring benchmark's load generator, as a process of its own (API key in {LoadGenerator.KeyVariable})") { loadUrl, loadBodies, scoringSeconds, loadWarmup, scoringRates, scoringConcurrency };
        benchLoad.SetAction((parse, ct) => LoadGenerator.RunAsync(parse.GetValue(loadUrl)!, parse.GetValue(loadBodies)!, Environment.GetEnvironmentVariable(LoadGenerator.KeyVariable), parse.GetValue(loadWarmup), parse.GetValue(scoringSeconds), parse.GetValue(scoringRates)!, parse.GetValue(scoringConcurrency)!, output, ct));
        var explainRows = new Option<int>("--rows") { Description = "Rows of generated data (70 % train the model)", DefaultValueFactory = _ => 200_000 };
        var explainCount = new Option<int>("--explain-rows") { Description = "Validation rows to explain", DefaultValueFactory = _ => 10_000 };
        var explainDepth = new Option<int>("--max-depth") { Description = "Maximum tree depth of both models (0: unlimited, LightGBM's default)", DefaultValueFactory = _ => 0 };
        var benchExplain = new Command("explain", "Exact TreeSHAP per row against xgboost's pred_contribs on a same-size model, and a parallel batch") { explainRows, explainCount, explainDepth };
        benchExplain.SetAction((parse, ct) => ExplainBenchmark.RunAsync(parse.GetValue(explainRows), parse.GetValue(explainCount), parse.GetValue(explainDepth), output, ct));
        var benchDrift = DriftCommand.Create(output);
        foreach (var command in new[] { benchIngest, benchFeatures, benchTraining, benchScoring, benchLoad, benchExplain, benchDrift, PerformanceCommand.Create(output), FairnessCommand.Create(output) }) root.Subcommands.Add(command);
        return await root.Parse(args).InvokeAsync();
    }
}
