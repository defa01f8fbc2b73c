using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text.Json;
using FraudWorkbench.Core;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Features;
using FraudWorkbench.Core.Jobs;
using FraudWorkbench.Core.Registry;
using FraudWorkbench.Core.Scoring;
using FraudWorkbench.Core.Training;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;

namespace FraudWorkbench.Cli;

/// <summary>
/// <c>bench scoring</c>: starts the app (its own PostgreSQL, prediction logging on), trains and promotes a
/// LightGBM model (100 trees, the fraud recipes) on the month A sample, then drives <c>POST /api/v1/predict</c>
/// over loopback with month B transactions: open-loop at fixed rates (latency from each request's scheduled
/// time, so a stall is not hidden) and closed-loop for the maximum throughput. Before that it compares the
/// two in-process engines on the same feature rows.
/// </summary>
public static class ScoringBenchmark
{
    private const string Model = "bench-cnp";
    private const int WarmupSeconds = 10;

    /// <param name="rawColumns">Train on the raw columns (no entity features) instead of the fraud recipes: scoring without the online entity state.</param>
    /// <param name="concurrency">Requests in flight for the closed-loop steps; the maximum throughput is the best of them.</param>
    /// <param name="reasons">Ask for reasons (the API's default) or send <c>explain: false</c>, to see what explanations cost.</param>
    public static async Task<int> RunAsync(int seconds, int[] rates, int[] concurrency, bool rawColumns, TextWriter output, CancellationToken cancellationToken, bool reasons = true)
    {
        var dataDirectory = Path.Combine(Path.GetTempPath(), "fwb-bench-scoring-" + Guid.NewGuid().ToString("N")[..8]);
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory, EnvironmentName = "Production" });
        builder.Configuration.AddSharedSettings();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["FraudWorkbench:DataDirectory"] = dataDirectory,
            ["Urls"] = "http://127.0.0.1:0",
            ["Logging:LogLevel:Default"] = "Warning",
        });
        builder.Services.AddFraudWorkbench();
        builder.AddWorkbenchWeb();
        var app = builder.Build();
        app.UseWorkbench();
        await app.StartAsync(cancellationToken);
        try
        {
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            var secret = await PrepareAsync(app.Services, rawColumns ? TrainingBenchmark.RawColumns : TrainingBenchmark.Recipes, output, cancellationToken);
            var (bodies, refused) = await BodiesAsync(app.Services, reasons, cancellationToken);
            await CompareEnginesAsync(app.Services, output, cancellationToken);

            using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = 512, PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5) };
            using var client = new HttpClient(handler) { BaseAddress = new Uri(address), Timeout = TimeSpan.FromSeconds(30) };
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", secret);
            await output.WriteLineAsync($"load: POST /api/v1/predict, one month B transaction per request ({bodies.Count:N0} distinct; {refused:N0} rows left out because the model refuses them, e.g. a home country it never saw), prediction logging on, {(reasons ? "reasons on (top 5 by TreeSHAP)" : "reasons off (explain: false)")}, {seconds} s per step after a {WarmupSeconds} s warm-up");
            // Warm-up, shown but not counted: tiered JIT recompiling hot methods in the background, connections, the
            // instance loading the entity histories, PostgreSQL's caches. It takes seconds; a server runs for days.
            var warm = await OpenLoopAsync(client, bodies, rates[0], WarmupSeconds, cancellationToken);
            await output.WriteLineAsync($"warm-up    {rates[0],5}/s for {WarmupSeconds} s: p50 {warm.P50:0.00} ms, p99 {warm.P99:0.00} ms (not counted)");
            foreach (var rate in rates)
            {
                var (pause, collections) = (GC.GetTotalPauseDuration(), GC.CollectionCount(0));
                var result = await OpenLoopAsync(client, bodies, rate, seconds, cancellationToken);
                await output.WriteLineAsync($"open loop {rate,5}/s: sent {result.Count:N0}, errors {result.Errors}, achieved {result.Count / (double)seconds:N0}/s, p50 {result.P50:0.00} ms, p99 {result.P99:0.00} ms, max {result.Max:0.0} ms (sent late by p50 {result.LateP50:0.00} / p99 {result.LateP99:0.00} ms; in the app p50 {result.ServerP50:0.00} / p99 {result.ServerP99:0.00} ms; GC: {GC.CollectionCount(0) - collections} collections, {(GC.GetTotalPauseDuration() - pause).TotalMilliseconds:0} ms paused)");
            }

            var best = (Rate: 0.0, InFlight: 0);
            foreach (var inFlight in concurrency)
            {
                var appBefore = CpuSeconds(p => p == Environment.ProcessId);
                var postgresBefore = CpuSeconds(IsPostgres);
                var (allocated, pause, collections) = (GC.GetTotalAllocatedBytes(), GC.GetTotalPauseDuration(), GC.CollectionCount(0));
                var closed = await ClosedLoopAsync(client, bodies, inFlight, seconds, cancellationToken);
                var appCpu = CpuSeconds(p => p == Environment.ProcessId) - appBefore;
                var postgresCpu = CpuSeconds(IsPostgres) - postgresBefore;
                var rate = closed.Count / (double)seconds;
                if (rate > best.Rate) best = (rate, inFlight);
                await output.WriteLineAsync($"closed loop, {inFlight} in flight: {rate:N0} requests/s, errors {closed.Errors}, p50 {closed.P50:0.00} ms, p99 {closed.P99:0.00} ms; CPU per request: app + load generator {1000 * appCpu / closed.Count:0.000} ms, PostgreSQL {1000 * postgresCpu / closed.Count:0.000} ms (of {Environment.ProcessorCount} cores); allocated {(GC.GetTotalAllocatedBytes() - allocated) / 1024.0 / closed.Count:0.0} KB per request; GC: {GC.CollectionCount(0) - collections} collections, {(GC.GetTotalPauseDuration() - pause).TotalMilliseconds:0} ms paused");
            }

            await output.WriteLineAsync($"maximum throughput: {best.Rate:N0} requests/s ({best.InFlight} in flight)");
            var log = app.Services.GetRequiredService<PredictionLog>();
            await log.FlushAsync(cancellationToken);
            await output.WriteLineAsync($"prediction log: {log.Written:N0} predictions written, none pending");
            return 0;
        }
        finally
        {
            await app.StopAsync(CancellationToken.None);
            await app.DisposeAsync(); // stops the private PostgreSQL before its directory goes
            try { Directory.Delete(dataDirectory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>Month A sample → features → LightGBM (100 trees, class weights) → registered, gated, promoted; a key without a practical rate limit.</summary>
    private static async Task<string> PrepareAsync(IServiceProvider services, FeatureSetDefinition features, TextWriter output, CancellationToken cancellationToken)
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

    private static async Task WaitAsync(IServiceProvider services, Guid jobId, CancellationToken cancellationToken)
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
    private static async Task<(List<byte[]> Bodies, int Refused)> BodiesAsync(IServiceProvider services, bool reasons, CancellationToken cancellationToken)
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

    private static int reported;

    private static bool IsPostgres(int pid) => File.Exists($"/proc/{pid}/comm") && File.ReadAllText($"/proc/{pid}/comm").Trim() == "postgres";

    /// <summary>User + system CPU seconds of the matching processes, from /proc (Linux; 0 elsewhere).</summary>
    private static double CpuSeconds(Func<int, bool> match)
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

    /// <param name="Late">How long after its scheduled time the generator sent the request (its own share of the latency).</param>
    /// <param name="Server">The app's own <c>latencyMs</c>: features, entity state, model and reasons, without HTTP.</param>
    private sealed record LoadResult(int Count, int Errors, double P50, double P99, double Max, double LateP50 = 0, double LateP99 = 0, double ServerP50 = 0, double ServerP99 = 0);

    /// <summary>One request's latency from its scheduled time, how late it was sent, and the app's own latencyMs (NaN when not read).</summary>
    private struct Sample
    {
        public double Total;
        public double Late;
        public double Server;
    }

    private static async Task<LoadResult> OpenLoopAsync(HttpClient client, List<byte[]> bodies, int rate, int seconds, CancellationToken cancellationToken)
    {
        var total = rate * seconds;
        var samples = new Sample[total];
        var errors = 0;
        var inflight = new Task[total];
        // Paced by a thread of its own sleeping a millisecond at a time (1.1 ms here), not by Task.Delay(1): the
        // runtime's timers wake 4-12 ms late on this host, and latency counts from the scheduled time, so the
        // generator's lateness would be charged to the app.
        var paced = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var pacer = new Thread(() =>
        {
            var start = Stopwatch.GetTimestamp();
            var sent = 0;
            while (sent < total && !cancellationToken.IsCancellationRequested)
            {
                // Request k is due at k / rate: every request whose time has come, the one at time 0 included.
                var due = (int)Math.Min(total, Math.Floor(Stopwatch.GetElapsedTime(start).TotalSeconds * rate) + 1);
                for (; sent < due; sent++)
                {
                    var scheduled = start + (long)(sent * (double)Stopwatch.Frequency / rate);
                    inflight[sent] = SendAsync(client, bodies[sent % bodies.Count], scheduled, samples, sent, readServer: true, () => Interlocked.Increment(ref errors), cancellationToken);
                }

                Thread.Sleep(1);
            }

            paced.SetResult();
        }) { IsBackground = true, Name = "open-loop pacer" };
        pacer.Start();
        await paced.Task;
        cancellationToken.ThrowIfCancellationRequested();
        await Task.WhenAll(inflight);
        return Summarise(samples, errors);
    }

    private static async Task<LoadResult> ClosedLoopAsync(HttpClient client, List<byte[]> bodies, int concurrency, int seconds, CancellationToken cancellationToken)
    {
        var samples = new System.Collections.Concurrent.ConcurrentBag<Sample>();
        var errors = 0;
        var next = 0;
        var end = Stopwatch.GetTimestamp() + seconds * Stopwatch.Frequency;
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
        {
            var one = new Sample[1];
            while (Stopwatch.GetTimestamp() < end)
            {
                var i = Interlocked.Increment(ref next);
                await SendAsync(client, bodies[i % bodies.Count], Stopwatch.GetTimestamp(), one, 0, readServer: false, () => Interlocked.Increment(ref errors), cancellationToken);
                samples.Add(one[0]);
            }
        }));
        return Summarise([.. samples], errors);
    }

    private static async Task SendAsync(HttpClient client, byte[] body, long scheduled, Sample[] samples, int index, bool readServer, Action onError, CancellationToken cancellationToken)
    {
        samples[index].Late = Stopwatch.GetElapsedTime(scheduled).TotalMilliseconds;
        samples[index].Server = double.NaN;
        try
        {
            using var content = new ByteArrayContent(body);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            using var response = await client.PostAsync("/api/v1/predict", content, cancellationToken);
            await response.Content.LoadIntoBufferAsync(cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                onError();
                if (Interlocked.Increment(ref reported) <= 3) Console.Error.WriteLine($"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(cancellationToken)}");
            }
            else if (readServer)
            {
                using var json = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync(cancellationToken));
                samples[index].Server = json.RootElement.GetProperty("latencyMs").GetDouble();
            }
        }
        catch (HttpRequestException)
        {
            onError();
        }

        samples[index].Total = Stopwatch.GetElapsedTime(scheduled).TotalMilliseconds;
    }

    private static LoadResult Summarise(Sample[] samples, int errors)
    {
        static (double P50, double P99, double Max) Percentiles(IEnumerable<double> values)
        {
            var sorted = values.Where(v => !double.IsNaN(v)).Order().ToArray();
            double At(double q) => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];
            return (At(0.50), At(0.99), sorted.Length == 0 ? double.NaN : sorted[^1]);
        }

        var total = Percentiles(samples.Select(s => s.Total));
        var late = Percentiles(samples.Select(s => s.Late));
        var server = Percentiles(samples.Select(s => s.Server));
        return new LoadResult(samples.Length, errors, total.P50, total.P99, total.Max, late.P50, late.P99, server.P50, server.P99);
    }
}
