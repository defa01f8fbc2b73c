using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Monitoring;
using FraudWorkbench.Core.Registry;
using FraudWorkbench.Core.Scoring;
using Npgsql;

using static FraudWorkbench.Bench.Timing;

namespace FraudWorkbench.Bench;

/// <summary>
/// Part 2 of <c>bench drift</c>: drift of one model over 30 days from the aggregated counts, with many logged
/// predictions in PostgreSQL. The month B sample is scored once through <see cref="ScoringService"/> (the real log
/// and its monitoring sink); those predictions are then replicated server-side over the range (<c>INSERT … SELECT</c>,
/// faster than sending them again by COPY) and the same replicas counted by the real <see cref="BucketCounter"/> and
/// written by <see cref="MonitoringStore.AddCountsAsync"/>, an hour and its day per row as the log's sink writes them.
/// </summary>
public static class DriftApiBenchmark
{
    public const string Route = "/api/v1/monitoring/models/{0}/drift?from={1}&to={2}&window={3}";

    public static async Task RunAsync(long predictions, int days, int calls, TextWriter output, CancellationToken cancellationToken)
    {
        await using var host = await BenchHost.StartAsync("drift-api", cancellationToken);
        var services = host.Services;
        await ScoringBenchmark.PrepareAsync(services, TrainingBenchmark.Recipes, output, cancellationToken);
        var (_, readKey) = await services.GetRequiredService<ApiKeyStore>().CreateAsync("bench-drift-read", [Scopes.Read], null, "bench", cancellationToken: cancellationToken, rateLimitPerMinute: 10_000_000);
        var model = await services.GetRequiredService<ModelServer>().ResolveAsync(ScoringBenchmark.Model, null, cancellationToken);
        var reference = (await services.GetRequiredService<MonitoringReferences>().GetAsync(model.VersionId, cancellationToken))
            ?? throw new InvalidOperationException("The benchmark model has no monitoring reference.");

        // The sources: month B scored once, for real.
        var (rows, inputs) = await host.MonthBAsync(ScoringBenchmark.Model, cancellationToken);
        var scoring = services.GetRequiredService<ScoringService>();
        var scored = new List<Prediction>(rows.Count);
        for (var i = 0; i < rows.Count; i += 500)
        {
            var n = Math.Min(500, rows.Count - i);
            scored.AddRange(await scoring.PredictAsync(model, rows.GetRange(i, n), inputs.GetRange(i, n), "bench", dryRun: false, cancellationToken));
        }

        await services.GetRequiredService<PredictionLog>().FlushAsync(cancellationToken);

        var to = DateTime.UtcNow.Date;
        var from = to.AddDays(-days);
        var step = (long)(to - from).TotalMicroseconds / predictions; // prediction i is at from + i·step µs
        // The past days' partitions first, as the daily maintenance would have made them: rows then land in their days, not in DEFAULT.
        var partitions = services.GetRequiredService<FraudWorkbench.Core.Db.PartitionMaintenance>();
        for (var day = DateOnly.FromDateTime(from); day < DateOnly.FromDateTime(to); day = day.AddDays(1))
        {
            foreach (var table in FraudWorkbench.Core.Db.PartitionMaintenance.All) await partitions.CreateAsync(table, day, cancellationToken);
        }

        var watch = Stopwatch.StartNew();
        await ReplicateAsync(services.GetRequiredService<NpgsqlDataSource>(), scored, predictions, from, step, output, cancellationToken);
        var inserted = watch.Elapsed;
        watch.Restart();
        await CountAsync(services.GetRequiredService<NpgsqlDataSource>(), reference, scored, rows, predictions, from, step, cancellationToken);
        await output.WriteLineAsync($"api path: {predictions:N0} predictions over {days} days ({scored.Count:N0} month B transactions scored once, replicated in PostgreSQL in {inserted.TotalSeconds:0} s; hour and day counts by BucketCounter + MonitoringStore.AddCountsAsync in {watch.Elapsed.TotalSeconds:0} s)");

        var monitoring = services.GetRequiredService<MonitoringService>();
        using var http = new HttpClient { BaseAddress = new Uri(host.Address) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", readKey);
        foreach (var (label, window, rangeFrom) in new[] { ($"{days} days by day", WindowSize.Day, from), ("one 28-day range by week", WindowSize.Week, to.AddDays(-28)) })
        {
            var range = MonitoringRange.Covering(rangeFrom, to, window);
            var report = (await monitoring.DriftAsync(ScoringBenchmark.Model, range, cancellationToken))!;
            var times = await TimeAsync(calls, () => monitoring.DriftAsync(ScoringBenchmark.Model, range, cancellationToken));
            var total = report.Windows.Sum(w => w.Predictions);
            await output.WriteLineAsync($"MonitoringService.DriftAsync, {label}: {report.Windows.Count} windows ({report.Windows.Count(w => w.Stored)} from stored history), {total:N0} predictions, {report.Windows.FirstOrDefault()?.Columns.Count ?? 0} columns: p50 {Percentile(times, 0.5):0.0} ms, p95 {Percentile(times, 0.95):0.0} ms of {calls} calls after one warm-up (in process, no HTTP)");

            var url = string.Format(System.Globalization.CultureInfo.InvariantCulture, Route, ScoringBenchmark.Model,
                Uri.EscapeDataString(range.From.ToString("O")), Uri.EscapeDataString(range.To.ToString("O")), window);
            using var probe = await http.GetAsync(url, cancellationToken);
            if (probe.StatusCode == HttpStatusCode.NotFound)
            {
                await output.WriteLineAsync($"GET {url.Split('?')[0]}: 404, the monitoring API is not in this build; the in-process figure above stands in (rerun when it is)");
                continue;
            }

            probe.EnsureSuccessStatusCode();
            var bytes = (await probe.Content.ReadAsByteArrayAsync(cancellationToken)).Length;
            var httpTimes = await TimeAsync(calls, async () =>
            {
                using var response = await http.GetAsync(url, cancellationToken);
                response.EnsureSuccessStatusCode();
                await response.Content.ReadAsByteArrayAsync(cancellationToken);
            });
            var p95 = Percentile(httpTimes, 0.95);
            await output.WriteLineAsync($"GET drift through the API, {label}: {bytes:N0} bytes, p50 {Percentile(httpTimes, 0.5):0.0} ms, p95 {p95:0.0} ms of {calls} calls after one warm-up (target p95 <= 100 ms) {(p95 <= 100 ? "MET" : "MISSED")}");
        }
    }

    /// <summary>Prediction i = source i mod S at from + i·step µs, a million per statement.</summary>
    private static async Task ReplicateAsync(NpgsqlDataSource dataSource, List<Prediction> sources, long predictions, DateTime from, long step, TextWriter output, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using (var create = new NpgsqlCommand("CREATE TEMP TABLE bench_sources (k int PRIMARY KEY, id uuid NOT NULL)", connection)) await create.ExecuteNonQueryAsync(cancellationToken);
        await using (var importer = await connection.BeginBinaryImportAsync("COPY bench_sources (k, id) FROM STDIN (FORMAT BINARY)", cancellationToken))
        {
            for (var k = 0; k < sources.Count; k++)
            {
                await importer.StartRowAsync(cancellationToken);
                await importer.WriteAsync(k, NpgsqlTypes.NpgsqlDbType.Integer, cancellationToken);
                await importer.WriteAsync(sources[k].PredictionId!.Value, NpgsqlTypes.NpgsqlDbType.Uuid, cancellationToken);
            }

            await importer.CompleteAsync(cancellationToken);
        }

        const string sql = """
            INSERT INTO predictions (id, created_at, model_version_id, actor, input, features, probability, decision, latency_ms, reasons, unseen)
            SELECT gen_random_uuid(), $1 + (g.i * $2) * interval '1 microsecond', p.model_version_id, p.actor, p.input, p.features, p.probability, p.decision, p.latency_ms, p.reasons, p.unseen
            FROM generate_series($3::bigint, $4::bigint) AS g(i)
            JOIN bench_sources s ON s.k = g.i % $5
            JOIN predictions p ON p.id = s.id
            """;
        const long chunk = 1_000_000;
        for (long start = 0; start < predictions; start += chunk)
        {
            await using var insert = new NpgsqlCommand(sql, connection) { CommandTimeout = 0 };
            insert.Parameters.Add(new NpgsqlParameter { Value = from, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.TimestampTz });
            insert.Parameters.Add(new NpgsqlParameter { Value = step, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Bigint });
            insert.Parameters.Add(new NpgsqlParameter { Value = start, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Bigint });
            insert.Parameters.Add(new NpgsqlParameter { Value = Math.Min(predictions, start + chunk) - 1, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Bigint });
            insert.Parameters.Add(new NpgsqlParameter { Value = (long)sources.Count, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Bigint });
            await insert.ExecuteNonQueryAsync(cancellationToken);
            await Console.Error.WriteLineAsync($"  replicated {Math.Min(predictions, start + chunk):N0} of {predictions:N0} predictions");
        }

        await using (var analyze = new NpgsqlCommand("ANALYZE predictions", connection) { CommandTimeout = 0 }) await analyze.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The replicas counted hour by hour (two hours at a time), each day's transaction holding its hours and the day, as the log's sink writes them.</summary>
    private static async Task CountAsync(NpgsqlDataSource dataSource, VersionReference reference, List<Prediction> sources, List<string?[]> rows,
        long predictions, DateTime from, long step, CancellationToken cancellationToken)
    {
        static DateTime At(DateTime from, long i, long step) => from.AddTicks(i * step * 10);
        var columns = reference.All.Select(c => c.Name).ToArray();
        // Hours as contiguous ranges of i (time grows with i), grouped by day.
        var allHours = new List<(DateTime Hour, long First, long End)>();
        for (long i = 0; i < predictions;)
        {
            var hour = WindowSize.Start(WindowSize.Hour, At(from, i, step));
            var j = i;
            while (j < predictions && At(from, j, step) < hour.AddHours(1)) j++;
            allHours.Add((hour, i, j));
            i = j;
        }

        foreach (var byDay in allHours.GroupBy(h => WindowSize.Start(WindowSize.Day, h.Hour)))
        {
            var day = byDay.Key;
            var hours = byDay.ToList();
            var counted = new BucketCounter[hours.Count];
            Parallel.For(0, hours.Count, new ParallelOptions { MaxDegreeOfParallelism = 2, CancellationToken = cancellationToken }, h =>
            {
                var counter = new BucketCounter(reference);
                for (var i = hours[h].First; i < hours[h].End; i++)
                {
                    var k = (int)(i % sources.Count);
                    counter.Add(rows[k], sources[k].Probability, sources[k].Decision);
                }

                counted[h] = counter;
            });

            var written = new List<(Guid, string, DateTime, string, ColumnCounts)>();
            for (var c = 0; c < columns.Length; c++)
            {
                var sum = new ColumnCounts(counted[0].Counts[c].Counts.Length);
                for (var h = 0; h < hours.Count; h++)
                {
                    written.Add((reference.VersionId, MonitoringStore.Hour, hours[h].Hour, columns[c], counted[h].Counts[c]));
                    sum.Add(counted[h].Counts[c]);
                }

                written.Add((reference.VersionId, MonitoringStore.Day, day, columns[c], sum));
            }

            await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await MonitoringStore.AddCountsAsync(connection, transaction, written, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }
    }
}
