using System.CommandLine;

namespace FraudWorkbench.Bench;

/// <summary>The <c>drift</c> command's options (kept here so the entry point gains one line).</summary>
public static class DriftCommand
{
    public static Command Create(TextWriter output)
    {
        var referenceRows = new Option<int>("--reference-rows") { Description = "Month A rows generated as the raw path's reference", DefaultValueFactory = _ => 1_000_000 };
        var currentRows = new Option<int>("--current-rows") { Description = "Month B rows generated as the raw path's current data", DefaultValueFactory = _ => 200_000 };
        var runs = new Option<int>("--runs") { Description = "Timed runs of each side of the raw path (the best is reported)", DefaultValueFactory = _ => 3 };
        var predictions = new Option<long>("--predictions") { Description = "Logged predictions in PostgreSQL for the API path", DefaultValueFactory = _ => 10_000_000 };
        var days = new Option<int>("--days") { Description = "Days the predictions cover (the range asked for by day)", DefaultValueFactory = _ => 30 };
        var calls = new Option<int>("--calls") { Description = "Timed calls of the drift query (after one warm-up)", DefaultValueFactory = _ => 20 };
        var seconds = new Option<int>("--seconds") { Description = "Seconds of load per step of the logging-overhead runs", DefaultValueFactory = _ => 10 };
        var concurrency = new Option<int[]>("--concurrency") { Description = "Requests in flight for the closed-loop steps", DefaultValueFactory = _ => [32, 64], AllowMultipleArgumentsPerToken = true };
        var parts = new Option<string[]>("--parts") { Description = $"Which parts: {DriftBenchmark.PartRaw} (raw values vs scipy), {DriftBenchmark.PartApi} (30 days from the counts), {DriftBenchmark.PartLogging} (aggregation on vs off)", DefaultValueFactory = _ => [DriftBenchmark.PartRaw, DriftBenchmark.PartApi, DriftBenchmark.PartLogging], AllowMultipleArgumentsPerToken = true };
        var command = new Command("drift", "Drift from raw values against scipy, drift of 30 days from the aggregated counts through the API, and what aggregating on the log costs scoring")
        {
            referenceRows, currentRows, runs, predictions, days, calls, seconds, concurrency, parts,
        };
        command.SetAction((parse, ct) => DriftBenchmark.RunAsync(new DriftBenchmark.Options(
            parse.GetValue(referenceRows), parse.GetValue(currentRows), parse.GetValue(runs), parse.GetValue(predictions), parse.GetValue(days),
            parse.GetValue(calls), parse.GetValue(seconds), parse.GetValue(concurrency)!, parse.GetValue(parts)!), output, ct));
        return command;
    }
}
