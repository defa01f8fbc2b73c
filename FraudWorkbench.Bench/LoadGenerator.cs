using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text.Json;

namespace FraudWorkbench.Bench;

/// <summary>
/// <c>bench load</c>: the load generator of <c>bench scoring</c>, run as a process of its own like a partner's
/// client, so that its allocations, collections and threads are not the app's. It reads the request bodies
/// (one JSON document per line) and the API key (<see cref="KeyVariable"/>), runs a warm-up, the open-loop
/// rates and the closed-loop steps, and reports each step on standard output as <c>begin {step}</c> when it
/// starts and <c>result {json}</c> when it ends, so the parent can read CPU and GC figures around it.
/// </summary>
public static class LoadGenerator
{
    public const string KeyVariable = "FWB_BENCH_KEY";

    // Long enough for tiered compilation to settle: after 10 s at 1,000/s the app was still recompiling thousands of
    // hot methods (4.5 s of JIT in the next 10 s, and that step's p99 three times the following ones'). The parent
    // prints the JIT work done during each step, so a step measured before it settled shows.
    public const int DefaultWarmupSeconds = 30;

    /// <summary>One step's figures, in milliseconds; <c>Late</c>: how long after its scheduled time the request was sent; <c>Server</c>: the app's own latencyMs (features, entity state, model, reasons; no HTTP).</summary>
    public sealed record LoadResult(string Step, int Count, int Errors, double Seconds, double P50, double P99, double Max, double LateP50 = 0, double LateP99 = 0, double ServerP50 = 0, double ServerP99 = 0);

    /// <summary>For the result lines: a step without a figure (the app's latency is read only in open loop) reports NaN.</summary>
    public static readonly JsonSerializerOptions Json = new() { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

    private static int reported;

    /// <param name="secret">The API key, from <see cref="KeyVariable"/>.</param>
    public static async Task<int> RunAsync(string address, string bodiesPath, string? secret, int warmupSeconds, int seconds, int[] rates, int[] concurrency, TextWriter output, CancellationToken cancellationToken)
    {
        if (!Uri.TryCreate(address, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
        {
            await Console.Error.WriteLineAsync($"--url: '{address}' is not an http(s) address.");
            return 2;
        }

        if (string.IsNullOrEmpty(secret))
        {
            await Console.Error.WriteLineAsync($"{KeyVariable}: set it to an API key with the predict scope.");
            return 2;
        }

        var bodies = (await File.ReadAllLinesAsync(bodiesPath, cancellationToken)).Where(l => l.Length > 0).Select(System.Text.Encoding.UTF8.GetBytes).ToList();
        if (bodies.Count == 0)
        {
            await Console.Error.WriteLineAsync($"--bodies: {bodiesPath} holds no request bodies.");
            return 2;
        }

        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = 512, PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5) };
        using var client = new HttpClient(handler) { BaseAddress = url, Timeout = TimeSpan.FromSeconds(30) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        async Task Step(string name, Func<Task<LoadResult>> run)
        {
            await output.WriteLineAsync($"begin {name}");
            await output.FlushAsync(cancellationToken);
            var result = await run();
            await output.WriteLineAsync($"result {JsonSerializer.Serialize(result with { Step = name }, Json)}");
            await output.FlushAsync(cancellationToken);
        }

        await Step("warm-up", () => OpenLoopAsync(client, bodies, rates[0], warmupSeconds, cancellationToken));
        foreach (var rate in rates) await Step($"open {rate}", () => OpenLoopAsync(client, bodies, rate, seconds, cancellationToken));
        foreach (var inFlight in concurrency.Where(c => c > 0)) await Step($"closed {inFlight}", () => ClosedLoopAsync(client, bodies, inFlight, seconds, cancellationToken));
        return 0;
    }

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
                var due = Due(Stopwatch.GetElapsedTime(start).TotalSeconds, rate, total);
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
        return Summarise(samples, errors, seconds);
    }

    /// <summary>How many requests are due <paramref name="elapsed"/> seconds into an open loop: request k is due at k / rate, the one at time 0 included.</summary>
    internal static int Due(double elapsed, int rate, int total) => (int)Math.Min(total, Math.Floor(elapsed * rate) + 1);

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
        return Summarise([.. samples], errors, seconds);
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

    private static LoadResult Summarise(Sample[] samples, int errors, int seconds)
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
        return new LoadResult("", samples.Length, errors, seconds, total.P50, total.P99, total.Max, late.P50, late.P99, server.P50, server.P99);
    }
}
