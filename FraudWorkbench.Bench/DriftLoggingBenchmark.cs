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
        await using var host = await BenchHost.StartAsync("drift-logging", cancellationToken);
        var services = host.Services;
        var secret = await ScoringBenchmark.PrepareAsync(services, TrainingBenchmark.Recipes, output, cancellationToken);
        var (_, inputs) = await host.MonthBAsync(ScoringBenchmark.Model, cancellationToken);
        var bodiesPath = Path.Combine(host.DataDirectory, "bodies.jsonl");
        await File.WriteAllLinesAsync(bodiesPath, inputs.Select(i => JsonSerializer.Serialize(new Dictionary<string, object?> { ["model"] = ScoringBenchmark.Model, ["transaction"] = i })), cancellationToken);

        // The switch is read for every batch from the options instance, so flipping it here takes effect at the next batch
        // without a restart: both sides share one app, one model and one warmed-up JIT.
        var options = services.GetRequiredService<IOptions<MonitoringOptions>>().Value;
        var log = services.GetRequiredService<PredictionLog>();
        var isPostgres = OwnPostgres(host.DataDirectory);
        await output.WriteLineAsync($"logging overhead: POST /api/v1/predict from the load generator process, {inputs.Count:N0} month B transactions, reasons on; per run a {warmupSeconds} s warm-up, {seconds} s open loop at {rate}/s, {seconds} s closed loop at {string.Join("/", concurrency)} in flight; aggregation on/off alternating, {rounds} runs each");
        var results = new Dictionary<bool, List<(double Throughput, double P99)>> { [true] = [], [false] = [] };
        for (var round = 0; round < rounds; round++)
        {
            foreach (var aggregate in new[] { true, false })
            {
                options.AggregateOnLog = aggregate;
                var (app, postgres) = (ScoringBenchmark.CpuSeconds(p => p == Environment.ProcessId), ScoringBenchmark.CpuSeconds(isPostgres));
                var (throughput, p99, errors, requests) = await LoadAsync(host.Address, bodiesPath, secret, warmupSeconds, seconds, rate, concurrency, cancellationToken);
                await log.FlushAsync(cancellationToken);
                (app, postgres) = (ScoringBenchmark.CpuSeconds(p => p == Environment.ProcessId) - app, ScoringBenchmark.CpuSeconds(isPostgres) - postgres);
                results[aggregate].Add((throughput, p99));
                await output.WriteLineAsync($"  aggregation {(aggregate ? "on " : "off")}: open loop {rate}/s p99 {p99:0.00} ms, maximum {throughput:N0} requests/s, errors {errors}; CPU per request over the run (log flushed): app {1000 * app / requests:0.000} ms, PostgreSQL {1000 * postgres / requests:0.000} ms");
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
        await output.WriteLineAsync($"aggregation on vs off (best of {rounds} runs each): {onRate:N0} vs {offRate:N0} requests/s ({(loss >= 0 ? $"{loss:0.0%} lower" : $"{-loss:0.0%} higher")} throughput with it on; target: at most 5 % lower) {(loss <= 0.05 ? "MET" : "MISSED")}; open-loop p99 {onP99:0.00} vs {offP99:0.00} ms");
    }

    /// <summary>One run of the load generator; the best closed-loop rate and the open-loop p99.</summary>
    private static async Task<(double Throughput, double P99, int Errors, long Requests)> LoadAsync(string address, string bodiesPath, string secret, int warmupSeconds, int seconds, int rate, int[] concurrency, CancellationToken cancellationToken)
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
        long requests = 0;
        while (await generator.StandardOutput.ReadLineAsync(cancellationToken) is { } line)
        {
            if (!line.StartsWith("result ", StringComparison.Ordinal)) continue;
            var r = JsonSerializer.Deserialize<LoadGenerator.LoadResult>(line["result ".Length..], LoadGenerator.Json)!;
            requests += r.Count;
            if (r.Step == "warm-up") continue;
            errors += r.Errors;
            if (r.Step.StartsWith("open ", StringComparison.Ordinal)) p99 = r.P99;
            else best = Math.Max(best, r.Count / r.Seconds);
        }

        await generator.WaitForExitAsync(cancellationToken);
        if (generator.ExitCode != 0) throw new InvalidOperationException($"The load generator exited with {generator.ExitCode}.");
        return (best, p99, errors, Math.Max(1, requests));
    }

    /// <summary>
    /// This app's own PostgreSQL: the postmaster started on its data directory (pg_ctl detaches it, so it is no child
    /// of the app) and that postmaster's backends; other people's clusters on a shared machine are not counted.
    /// </summary>
    private static Func<int, bool> OwnPostgres(string dataDirectory)
    {
        int? postmaster = null;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            try
            {
                if (File.ReadAllText($"{dir}/cmdline").Replace('\0', ' ') is var line && line.Contains("postgres") && line.Contains(" -D " + dataDirectory, StringComparison.Ordinal)) postmaster = pid;
            }
            catch (IOException)
            {
                // The process ended while being read.
            }
        }

        return pid => postmaster is { } p && (pid == p || Parent(pid) == p);
    }

    private static int Parent(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return -1;
        }
    }
}
