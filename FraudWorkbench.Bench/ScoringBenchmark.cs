using System.Diagnostics;
using System.Text.Json;
using FraudWorkbench.Core;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Features;
using FraudWorkbench.Core.Jobs;
using FraudWorkbench.Core.Registry;
using FraudWorkbench.Core.Scoring;
using FraudWorkbench.Core.Training;
using Microsoft.Extensions.Options;

namespace FraudWorkbench.Bench;

/// <summary>
/// <c>bench scoring</c>: starts the app (its own PostgreSQL, prediction logging on), trains and promotes a
/// LightGBM model (100 trees, the fraud recipes) on the month A sample, then has a separate load-generator process
/// (<see cref="LoadGenerator"/>) drive <c>POST /api/v1/predict</c> over loopback with month B transactions: open-loop
/// at fixed rates (latency from each request's scheduled time, so a stall is not hidden) and closed-loop for the
/// maximum throughput, with CPU per request and the app's GC read around each step. Before that it compares the
/// two in-process engines on the same feature rows.
/// </summary>
public static class ScoringBenchmark
{
    internal const string Model = "bench-cnp";
    private const int WarmupSeconds = LoadGenerator.DefaultWarmupSeconds;

    /// <param name="rawColumns">Train on the raw columns (no entity features) instead of the fraud recipes: scoring without the online entity state.</param>
    /// <param name="concurrency">Requests in flight for the closed-loop steps; the maximum throughput is the best of them.</param>
    /// <param name="reasons">Ask for reasons (the API's default) or send <c>explain: false</c>, to see what explanations cost.</param>
    public static async Task<int> RunAsync(int seconds, int[] rates, int[] concurrency, bool rawColumns, TextWriter output, CancellationToken cancellationToken, bool reasons = true)
    {
        await using var host = await BenchHost.StartAsync("scoring", cancellationToken);
        var (app, dataDirectory, address) = (host.App, host.DataDirectory, host.Address);
        var secret = await PrepareAsync(app.Services, rawColumns ? TrainingBenchmark.RawColumns : TrainingBenchmark.Recipes, output, cancellationToken);
        var (bodies, refused) = await BodiesAsync(app.Services, reasons, cancellationToken);
        await CompareEnginesAsync(app.Services, output, cancellationToken);

        // The load comes from a process of its own, like a partner's client: its allocations, collections and
        // threads are not the app's. It still shares the two cores with the app and PostgreSQL.
        var bodiesPath = Path.Combine(dataDirectory, "bodies.jsonl");
        await File.WriteAllLinesAsync(bodiesPath, bodies.Select(b => System.Text.Encoding.UTF8.GetString(b)), cancellationToken);
        await output.WriteLineAsync($"load: POST /api/v1/predict from a separate process (the bench's load command), one month B transaction per request ({bodies.Count:N0} distinct; {refused:N0} rows left out because the model refuses them, e.g. a home country it never saw), prediction logging on, {(reasons ? "reasons on (top 5 by TreeSHAP)" : "reasons off (explain: false)")}, {seconds} s per step after a {WarmupSeconds} s warm-up");
        using var generator = StartGenerator(address, bodiesPath, seconds, WarmupSeconds, rates, concurrency, secret);
        await using var stop = cancellationToken.Register(() => generator.Kill(entireProcessTree: true));
        var best = (Rate: 0.0, InFlight: "");
        var before = Snapshot.Take(generator.Id);
        while (await generator.StandardOutput.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.StartsWith("begin ", StringComparison.Ordinal)) before = Snapshot.Take(generator.Id);
            if (!line.StartsWith("result ", StringComparison.Ordinal)) continue;
            var r = JsonSerializer.Deserialize<LoadGenerator.LoadResult>(line["result ".Length..], LoadGenerator.Json)!;
            var d = Snapshot.Take(generator.Id) - before;
            var rate = r.Count / r.Seconds;
            var gc = $"GC in the app: {d.Collections} collections, {d.Pause.TotalMilliseconds:0} ms paused; JIT in the app: {d.JitMethods:N0} methods, {d.Jit.TotalMilliseconds:0} ms";
            if (r.Step == "warm-up")
            {
                await output.WriteLineAsync($"warm-up    {rates[0],5}/s for {WarmupSeconds} s: p50 {r.P50:0.00} ms, p99 {r.P99:0.00} ms (not counted; {gc})");
            }
            else if (r.Step.StartsWith("open ", StringComparison.Ordinal))
            {
                await output.WriteLineAsync($"open loop {r.Step[5..],5}/s: sent {r.Count:N0}, errors {r.Errors}, achieved {rate:N0}/s, p50 {r.P50:0.00} ms, p99 {r.P99:0.00} ms, max {r.Max:0.0} ms (sent late by p50 {r.LateP50:0.00} / p99 {r.LateP99:0.00} ms; in the app p50 {r.ServerP50:0.00} / p99 {r.ServerP99:0.00} ms; {gc})");
            }
            else
            {
                if (rate > best.Rate) best = (rate, r.Step[7..]);
                await output.WriteLineAsync($"closed loop, {r.Step[7..]} in flight: {rate:N0} requests/s, errors {r.Errors}, p50 {r.P50:0.00} ms, p99 {r.P99:0.00} ms; CPU per request: app {1000 * d.App / r.Count:0.000} ms, load generator {1000 * d.Generator / r.Count:0.000} ms, PostgreSQL {1000 * d.Postgres / r.Count:0.000} ms (of {Environment.ProcessorCount} cores); app allocated {d.Allocated / 1024.0 / r.Count:0.0} KB per request; {gc}");
            }
        }

        await generator.WaitForExitAsync(cancellationToken);
        if (generator.ExitCode != 0) throw new InvalidOperationException($"The load generator exited with {generator.ExitCode}.");
        await output.WriteLineAsync($"maximum throughput: {best.Rate:N0} requests/s ({best.InFlight} in flight)");
        var log = app.Services.GetRequiredService<PredictionLog>();
        await log.FlushAsync(cancellationToken);
        await output.WriteLineAsync($"prediction log: {log.Written:N0} predictions written, none pending");
        return 0;
    }

    /// <summary><c>bench load</c> in a child process: the same host (dotnet or the app's own launcher), workstation GC as a small client would have.</summary>
    internal static Process StartGenerator(string address, string bodiesPath, int seconds, int warmupSeconds, int[] rates, int[] concurrency, string secret)
    {
        var host = Environment.ProcessPath!;
        var info = new ProcessStartInfo(host) { RedirectStandardOutput = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(host) == "dotnet") info.ArgumentList.Add(typeof(ScoringBenchmark).Assembly.Location);
        string[] arguments = ["load", "--url", address, "--bodies", bodiesPath, "--seconds", $"{seconds}", "--warmup-seconds", $"{warmupSeconds}", "--rates", .. rates.Select(r => $"{r}"), "--concurrency", .. concurrency.Select(c => $"{c}")];
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        info.Environment[LoadGenerator.KeyVariable] = secret; // not on the command line, where any user's ps would show it
        info.Environment["DOTNET_gcServer"] = "0";
        return Process.Start(info) ?? throw new InvalidOperationException("The load generator did not start.");
    }

    /// <summary>CPU seconds of the app, the generator and PostgreSQL, and the app's GC figures, at one moment.</summary>
    private sealed record Snapshot(double App, double Generator, double Postgres, long Allocated, TimeSpan Pause, int Collections, TimeSpan Jit, long JitMethods)
    {
        public static Snapshot Take(int generator) => new(CpuSeconds(p => p == Environment.ProcessId), CpuSeconds(p => p == generator), CpuSeconds(IsPostgres),
            GC.GetTotalAllocatedBytes(precise: true), GC.GetTotalPauseDuration(), GC.CollectionCount(0),
            System.Runtime.JitInfo.GetCompilationTime(), System.Runtime.JitInfo.GetCompiledMethodCount());

        public static Snapshot operator -(Snapshot a, Snapshot b) =>
            new(a.App - b.App, a.Generator - b.Generator, a.Postgres - b.Postgres, a.Allocated - b.Allocated, a.Pause - b.Pause, a.Collections - b.Collections, a.Jit - b.Jit, a.JitMethods - b.JitMethods);
    }

    /// <summary>Month A sample → features → LightGBM (100 trees, class weights) → registered, gated, promoted; a key without a practical rate limit.</summary>
    internal static async Task<string> PrepareAsync(IServiceProvider services, FeatureSetDefinition features, TextWriter output, CancellationToken cancellationToken)
    {
        var ingestor = services.GetRequiredService<DatasetIngestor>();
        IngestResult dataset;
        await using (var file = File.OpenRead(Path.Combine(AppContext.BaseDirectory, "samples", "transactions-month-a.csv")))
        {
            dataset = await ingestor.IngestAsync(await ingestor.StageAsync(file, "transactions-month-a.csv", cancellationToken: cancellationToken), "month-a", SchemaOverrides.None, "bench", cancellationToken: cancellationToken);
        }

        var (featureSet, _) = await services.GetRequiredService<FeatureSetService>().CreateAsync(new NewFeatureSet("bench-features", dataset.Dataset.Id, 1, features), "bench", cancellationToken);
        var (runId, jobId) = await services.GetRequiredService<TrainingService>().StartAsync(new TrainingRunRequest(dataset.Dataset.Id, 1, featureSet.Id, new TrainerSettings()), "bench", cancellationToken);
        await WaitAsync(services, jobId, cancellationToken);
        var registry = services.GetRequiredService<RegistryService>();
        var version = await registry.RegisterAsync(Model, runId, ["bench"], null, "bench", cancellationToken);
        await WaitAsync(services, version.GateJobId!.Value, cancellationToken);
        version = (await services.GetRequiredService<RegistryStore>().GetVersionAsync(version.Id, cancellationToken))!;
        if (version.GateStatus != GateStatus.Passed) await registry.OverrideGateAsync(version, "benchmark model, gate not under test", "bench", cancellationToken);
        version = (await services.GetRequiredService<RegistryStore>().GetVersionAsync(version.Id, cancellationToken))!;
        await registry.PromoteAsync(version, ModelStage.Production, "benchmark", "bench", cancellationToken);
        var (_, secret) = await services.GetRequiredService<ApiKeyStore>().CreateAsync("bench-load", [Scopes.Predict], null, "bench", cancellationToken: cancellationToken, rateLimitPerMinute: 10_000_000);
        var run = (await services.GetRequiredService<TrainingRunStore>().GetAsync(runId, cancellationToken))!.Result!;
        await output.WriteLineAsync($"model: LightGBM 100 trees, {run.Inputs.Count} inputs, validation PR-AUC {run.Metrics.AveragePrecision:0.000}, ONNX export {(run.Artifacts!.Onnx is null ? "absent" : "present")}, serving engine {services.GetRequiredService<ModelServer>().Current(Model)!.Engine.Name}");
        return secret;
    }

    internal static async Task WaitAsync(IServiceProvider services, Guid jobId, CancellationToken cancellationToken)
    {
        var jobs = services.GetRequiredService<JobStore>();
        while (true)
        {
            var job = (await jobs.GetAsync(jobId, cancellationToken))!;
            if (job.Status == JobStatus.Succeeded) return;
            if (job.Status is JobStatus.Failed or JobStatus.Cancelled) throw new InvalidOperationException($"Job {job.Kind} {job.Status}: {job.Error}");
            await Task.Delay(200, cancellationToken);
        }
    }

    /// <summary>Month B rows as request bodies, label left out; rows the model's contract refuses (unseen closed-vocabulary values) are counted and left out.</summary>
    internal static async Task<(List<byte[]> Bodies, int Refused)> BodiesAsync(IServiceProvider services, bool reasons, CancellationToken cancellationToken)
    {
        var contract = (await services.GetRequiredService<ModelServer>().ResolveAsync(Model, null, cancellationToken)).Contract;
        var path = Path.Combine(AppContext.BaseDirectory, "samples", "transactions-month-b.csv");
        var schema = SchemaInference.Infer(path, ',');
        List<string?[]> rows;
        await using (var file = File.OpenRead(path)) rows = DatasetRows.Read(file, schema);
        var bodies = new List<byte[]>();
        var refused = 0;
        foreach (var row in rows)
        {
            var transaction = schema.Columns.Select((c, i) => (c, i)).Where(x => x.c.Role != ColumnRole.Label)
                .ToDictionary(x => x.c.Name, x => (object?)(row[x.i] is not { } v ? null : x.c.Type switch
                {
                    ColumnType.Integer or ColumnType.Decimal => double.Parse(v, System.Globalization.CultureInfo.InvariantCulture),
                    ColumnType.Boolean => ValueParsing.TryBoolean(v, out var b) && b,
                    _ => v,
                }));
            using var parsed = JsonSerializer.SerializeToDocument(transaction);
            if (contract.Parse(parsed.RootElement, "", []) is null) refused++;
            else if (reasons) bodies.Add(JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object?> { ["model"] = Model, ["transaction"] = transaction }));
            else bodies.Add(JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object?> { ["model"] = Model, ["explain"] = false, ["transaction"] = transaction }));
        }

        return (bodies, refused);
    }

    /// <summary>ML.NET's pooled PredictionEngine against ONNX Runtime on the same featurized rows, one row per call.</summary>
    private static async Task CompareEnginesAsync(IServiceProvider services, TextWriter output, CancellationToken cancellationToken)
    {
        var version = (await services.GetRequiredService<RegistryStore>().GetProductionAsync(Model, cancellationToken))!;
        ModelLoader Loader(string engine) => new(services.GetRequiredService<TrainingRunStore>(), services.GetRequiredService<DatasetStore>(),
            services.GetRequiredService<Core.Artifacts.ArtifactStore>(), Options.Create(new ScoringOptions { Engine = engine }));
        var path = Path.Combine(AppContext.BaseDirectory, "samples", "transactions-month-b.csv");
        foreach (var engine in new[] { ScoringEngineKind.MlNet, ScoringEngineKind.Onnx })
        {
            var model = await Loader(engine).LoadAsync(version, cancellationToken);
            List<string?[]> rows;
            await using (var file = File.OpenRead(path)) rows = DatasetRows.Read(file, model.Features.Schema);
            var matrix = BatchFeaturizer.Run(model.Features, rows[..20_000]);
            var width = model.Features.SlotCount;
            var probability = new double[1];
            for (var i = 0; i < 2_000; i++) model.Probabilities(matrix.AsSpan(i * width, width), 1, probability);
            var watch = Stopwatch.StartNew();
            for (var i = 0; i < 20_000; i++) model.Probabilities(matrix.AsSpan(i * width, width), 1, probability);
            var single = watch.Elapsed.TotalMicroseconds / 20_000;
            watch.Restart();
            Parallel.For(0, 2, new ParallelOptions { MaxDegreeOfParallelism = 2 }, part =>
            {
                var p = new double[1];
                for (var i = part; i < 20_000; i += 2) model.Probabilities(matrix.AsSpan(i * width, width), 1, p);
            });
            await output.WriteLineAsync($"engine {engine,-5}: {single:0.0} us per row on one thread, {20_000 / watch.Elapsed.TotalSeconds:N0} rows/s on two");
        }
    }

    private static bool IsPostgres(int pid) => File.Exists($"/proc/{pid}/comm") && File.ReadAllText($"/proc/{pid}/comm").Trim() == "postgres";

    /// <summary>User + system CPU seconds of the matching processes, from /proc (Linux; 0 elsewhere).</summary>
    internal static double CpuSeconds(Func<int, bool> match)
    {
        if (!OperatingSystem.IsLinux()) return 0;
        var ticks = 0L;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            try
            {
                if (!match(pid)) continue;
                // Fields after the command name: state is field 3, utime 14, stime 15.
                var stat = File.ReadAllText($"{dir}/stat");
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                ticks += long.Parse(fields[11], System.Globalization.CultureInfo.InvariantCulture) + long.Parse(fields[12], System.Globalization.CultureInfo.InvariantCulture);
            }
            catch (IOException)
            {
                // The process ended while being read.
            }
        }

        return ticks / 100.0; // USER_HZ
    }
}
