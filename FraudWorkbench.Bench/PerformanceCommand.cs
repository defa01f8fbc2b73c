using System.CommandLine;

namespace FraudWorkbench.Bench;

/// <summary>The <c>performance</c> command's options (kept here so the entry point gains one line).</summary>
public static class PerformanceCommand
{
    public static Command Create(TextWriter output)
    {
        var predictions = new Option<long>("--predictions") { Description = "Logged predictions counted into the day rows", DefaultValueFactory = _ => 10_000_000 };
        var labels = new Option<long>("--labels") { Description = "Labels arrived by now (met in expectation)", DefaultValueFactory = _ => 2_000_000 };
        var days = new Option<int>("--days") { Description = $"Days the predictions cover, ending {PerformanceBenchmark.EndDaysAgo} days before today (the range asked for by day)", DefaultValueFactory = _ => 90 };
        var calls = new Option<int>("--calls") { Description = "Timed calls of the performance query (after one warm-up)", DefaultValueFactory = _ => 20 };
        var seed = new Option<int>("--seed") { Description = "Random seed of the generated rows", DefaultValueFactory = _ => 17 };
        var command = new Command("performance", "Realized and estimated performance of daily cohorts from the aggregated counts (in process and through the API) against sklearn on an export of the same rows")
        {
            predictions, labels, days, calls, seed,
        };
        command.SetAction((parse, ct) => PerformanceBenchmark.RunAsync(new PerformanceBenchmark.Options(
            parse.GetValue(predictions), parse.GetValue(labels), parse.GetValue(days), parse.GetValue(calls), parse.GetValue(seed)), output, ct));
        return command;
    }
}
