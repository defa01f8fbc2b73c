using System.Diagnostics;
using System.Text.Json;
using FraudWorkbench.Core.Monitoring;
using FraudWorkbench.Core.Scoring;
using Microsoft.Extensions.Options;

namespace FraudWorkbench.Bench;

/// <summary>
/// Part 3 of <c>bench drift</c>: what counting every logged batch into the monitoring buckets costs scoring. One app,
/// one model (<c>bench scoring</c>'s), the same load generator process driving <c>POST /api/v1/predict</c>, with
/// <c>FraudWorkbench:Monitoring:AggregateOnLog</c> on and off in alternation (on, off, on, off) so that a trend in the
/// run (entity histories growing, PostgreSQL's cache warming) does not fall on one side; the log is flushed between runs.
/// </summary>
public static class DriftLoggingBenchmark
{
    public static async Task RunAsync(int seconds, int[] concurrency, TextWriter output, CancellationToken cancellationToken, int warmupSeconds = 10, int rate = 500, int rounds = 2)
    {
        await using var host = await DriftHost.StartAsync("drift-logging", cancellationToken);
        var services = host.Services;
        var secret = await ScoringBenchmark.PrepareAsync(services, TrainingBenchmark.Recipes, output, cancellationToken);
        var (_, inputs) = await host.MonthBAsync(ScoringBenchmark.Model, cancellationToken);
        var bodiesPath = Path.Combine(host.DataDirectory, "bodies.jsonl");
        await File.WriteAllLinesAsync(bodiesPath, inputs.Select(i => JsonSerializer.Serialize(new Dictionary<string, object?> { ["model"] = ScoringBenchmark.Model, ["transaction"] = i })), cancellationToken);

        // The switch is read for every batch from the options instance, so flipping it here takes effect at the next batch
        // without a restart: both sides share one app, one model and one warmed-up JIT.
        var options = services.GetRequiredService<IOptions<MonitoringOptions>>().Value;
        var log = services.GetRequiredService<PredictionLog>();
        await output.WriteLineAsync($"logging overhead: POST /api/v1/predict from the load generator process, {inputs.Count:N0} month B transactions, reasons on; per run a {warmupSeconds} s warm-up, {seconds} s open loop at {rate}/s, {seconds} s closed loop at {string.Join("/", concurrency)} in flight; aggregation on/off alternating, {rounds} runs each");
        var results = new Dictionary<bool, List<(double Throughput, double P99)>> { [true] = [], [false] = [] };
        for (var round = 0; round < rounds; round++)
        {
            foreach (var aggregate in new[] { true, false })
            {
                options.AggregateOnLog = aggregate;
                var (throughput, p99, errors) = await LoadAsync(host.Address, bodiesPath, secret, warmupSeconds, seconds, rate, concurrency, cancellationToken);
                await log.FlushAsync(cancellationToken);
                results[aggregate].Add((throughput, p99));
                await output.WriteLineAsync($"  aggregation {(aggregate ? "on " : "off")}: open loop {rate}/s p99 {p99:0.00} ms, maximum {throughput:N0} requests/s, errors {errors}");
            }
        }

        options.AggregateOnLog = true;
        double On(Func<(double Throughput, double P99), double> f) => results[true].Select(f).Max();
        double Off(Func<(double Throughput, double P99), double> f) => results[false].Select(f).Max();
        var onRate = On(r => r.Throughput);
        var offRate = Off(r => r.Throughput);
        var loss = 1 - onRate / offRate;
        var onP99 = results[true].Min(r => r.P99);
        var offP99 = results[false].Min(r => r.P99);
        await output.WriteLineAsync($"aggregation on vs off (best of {rounds} runs each): {onRate:N0} vs {offRate:N0} requests/s ({loss:+0.0%;-0.0%} lower throughput with it on; target <= 5 %) {(loss <= 0.05 ? "MET" : "MISSED")}; open-loop p99 {onP99:0.00} vs {offP99:0.00} ms");
    }

    /// <summary>One run of the load generator; the best closed-loop rate and the open-loop p99.</summary>
    private static async Task<(double Throughput, double P99, int Errors)> LoadAsync(string address, string bodiesPath, string secret, int warmupSeconds, int seconds, int rate, int[] concurrency, CancellationToken cancellationToken)
    {
        var host = Environment.ProcessPath!;
        var info = new ProcessStartInfo(host) { RedirectStandardOutput = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(host) == "dotnet") info.ArgumentList.Add(typeof(DriftLoggingBenchmark).Assembly.Location);
        string[] arguments = ["load", "--url", address, "--bodies", bodiesPath, "--seconds", $"{seconds}", "--warmup-seconds", $"{warmupSeconds}", "--rates", $"{rate}", "--concurrency", .. concurrency.Select(c => $"{c}")];
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        info.Environment[LoadGenerator.KeyVariable] = secret;
        info.Environment["DOTNET_gcServer"] = "0";
        using var generator = Process.Start(info) ?? throw new InvalidOperationException("The load generator did not start.");
        await using var stop = cancellationToken.Register(() => generator.Kill(entireProcessTree: true));
        double best = 0, p99 = double.NaN;
        var errors = 0;
        while (await generator.StandardOutput.ReadLineAsync(cancellationToken) is { } line)
        {
            if (!line.StartsWith("result ", StringComparison.Ordinal)) continue;
            var r = JsonSerializer.Deserialize<LoadGenerator.LoadResult>(line["result ".Length..], LoadGenerator.Json)!;
            if (r.Step == "warm-up") continue;
            errors += r.Errors;
            if (r.Step.StartsWith("open ", StringComparison.Ordinal)) p99 = r.P99;
            else best = Math.Max(best, r.Count / r.Seconds);
        }

        await generator.WaitForExitAsync(cancellationToken);
        if (generator.ExitCode != 0) throw new InvalidOperationException($"The load generator exited with {generator.ExitCode}.");
        return (best, p99, errors);
    }
}
