using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Performance;
using FraudWorkbench.Core.Scoring;
using Npgsql;

using static FraudWorkbench.Bench.Timing;

namespace FraudWorkbench.Bench;

/// <summary>
/// <c>bench performance</c> (issue 17): realized and estimated performance of 90 daily cohorts from the day rows kept as
/// predictions are logged and labels arrive, against scikit-learn computing the same realized metrics from an export of
/// the same rows in the same run. The rows come from <see cref="PerformanceData"/>: counted with the real
/// <see cref="PerformanceCounts"/> and written with <see cref="PerformanceStore.AddPredictionsAsync"/> and
/// <see cref="PerformanceStore.AddLabelsAsync"/>, as the log and feedback sinks do. The raw prediction rows are not
/// inserted: the query reads only the day aggregates, by design.
/// </summary>
public static class PerformanceBenchmark
{
    public const string Route = "/api/v1/monitoring/models/{0}/performance?from={1}&to={2}&cohort=day";

    /// <summary>The range ends this many days before today, so with the default 90-day label window its oldest cohorts are mature and the rest provisional.</summary>
    public const int EndDaysAgo = 30;

    /// <summary>
    /// Largest |ours − sklearn| accepted. Our curves come from 1,000 score bins, each a tie group: against sklearn on the
    /// same bins they must agree to rounding; against sklearn on the exact scores ROC-AUC moves by ~1e-4 and average
    /// precision by ~1e-3 (its step at a tie group's end is not the expected step of the group's rows in score order).
    /// </summary>
    public const double RocAucTolerance = 1e-3, AveragePrecisionTolerance = 5e-3, ExactTolerance = 1e-9;

    public const string OnBins = " on bins";

    public const double TargetMilliseconds = 1000;

    public const string Script = "performance_sklearn.py";

    public sealed record Options(long Predictions, long Labels, int Days, int Calls, int Seed);

    public static async Task<int> RunAsync(Options options, TextWriter output, CancellationToken cancellationToken)
    {
        if (options.Days is < 1 or > PerformanceService.MaxRangeDays || options.Predictions < options.Days || options.Labels < 0 || options.Calls < 1)
        {
            await Console.Error.WriteLineAsync($"--days is 1 to {PerformanceService.MaxRangeDays}, --predictions at least one a day, --labels not negative, --calls at least 1.");
            return 2;
        }

        await output.WriteLineAsync($"machine: {Environment.ProcessorCount} cores, .NET {Environment.Version}, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}");
        await using var host = await BenchHost.StartAsync("performance", cancellationToken);
        var services = host.Services;
        await ScoringBenchmark.PrepareAsync(services, TrainingBenchmark.RawColumns, output, cancellationToken);
        var model = await services.GetRequiredService<ModelServer>().ResolveAsync(ScoringBenchmark.Model, null, cancellationToken);
        var version = await services.GetRequiredService<PerformanceReferences>().GetAsync(model.VersionId, cancellationToken)
            ?? throw new InvalidOperationException("The benchmark model has no performance reference.");

        var now = DateTime.UtcNow;
        var to = DateOnly.FromDateTime(now).AddDays(-EndDaysAgo);
        var from = to.AddDays(-(options.Days - 1));
        var plan = new PerformanceData.Plan(options.Predictions, options.Labels, options.Days, from, now, version.Threshold, options.Seed);
        var exportPath = Path.Combine(host.DataDirectory, "performance-export.bin");
        var dataSource = services.GetRequiredService<NpgsqlDataSource>();
        var watch = Stopwatch.StartNew();
        PerformanceData.Totals totals;
        await using (var export = new FileStream(exportPath, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
        {
            totals = await PerformanceData.RunAsync(plan, export, async day =>
            {
                // As the sinks write: the log's counts in one transaction, the feedback's label changes in another.
                await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
                await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
                {
                    await PerformanceStore.AddPredictionsAsync(connection, transaction, [new PerformanceDay(version.VersionId, day.Day, day.Predictions)], cancellationToken);
                    await transaction.CommitAsync(cancellationToken);
                }

                await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
                {
                    await PerformanceStore.AddLabelsAsync(connection, transaction, [new PerformanceDay(version.VersionId, day.Day, day.Labels)], cancellationToken);
                    await transaction.CommitAsync(cancellationToken);
                }
            });
        }

        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"data: {totals.Predictions:N0} predictions over {options.Days} days ({from:yyyy-MM-dd} to {to:yyyy-MM-dd}, seed {options.Seed}), {totals.Labels:N0} labels in by now ({totals.FraudLabels:N0} fraud; {totals.Fraud:N0} fraud in truth, {100.0 * totals.Fraud / totals.Predictions:0.00} %; flagged {100.0 * totals.Flagged / totals.Predictions:0.00} % at the version's threshold {version.Threshold:0.####}); generated, counted by PerformanceCounts and written by PerformanceStore.AddPredictionsAsync/AddLabelsAsync in {watch.Elapsed.TotalSeconds:0.0} s; raw prediction rows not inserted (the query reads only the day aggregates); export {new FileInfo(exportPath).Length / 1e6:0.0} MB"));

        var performance = services.GetRequiredService<PerformanceService>();
        var report = (await performance.ReportAsync(ScoringBenchmark.Model, from, to, CohortSize.Day, cancellationToken))!;
        var mature = report.Cohorts.Count(c => c.Mature);
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"report: {report.Cohorts.Count} daily cohorts, {mature} mature, {report.Cohorts.Count - mature} inside the {report.Config.LabelWindowDays}-day label window (maturity {report.Cohorts.Where(c => !c.Mature).Select(c => c.Maturity).DefaultIfEmpty(1).Min():0.00} to {report.Cohorts.Where(c => !c.Mature).Select(c => c.Maturity).DefaultIfEmpty(1).Max():0.00}); label arrival median {report.Arrival.MedianDays} days from {report.Arrival.Labels:N0} fraud labels; range ROC-AUC realized {report.Range?.Realized.Metrics[PerformanceMetric.RocAuc]:0.0000} / estimated {report.Range?.Estimated.Metrics[PerformanceMetric.RocAuc].Value:0.0000}, recall realized {report.Range?.Realized.Metrics[PerformanceMetric.Recall]:0.0000} / estimated {report.Range?.Estimated.Metrics[PerformanceMetric.Recall].Value:0.0000}"));

        var times = await TimeAsync(options.Calls, () => performance.ReportAsync(ScoringBenchmark.Model, from, to, CohortSize.Day, cancellationToken));
        var oursMs = Percentile(times, 0.5);
        var ours = "in process";
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"PerformanceService.ReportAsync, {report.Cohorts.Count} daily cohorts (realized + estimated + the range + the arrival curve): p50 {oursMs:0.0} ms, p95 {Percentile(times, 0.95):0.0} ms of {options.Calls} calls after one warm-up (in process, no HTTP)"));

        var (_, readKey) = await services.GetRequiredService<ApiKeyStore>().CreateAsync("bench-performance-read", [Scopes.Read], null, "bench", cancellationToken: cancellationToken, rateLimitPerMinute: 10_000_000);
        using var http = new HttpClient { BaseAddress = new Uri(host.Address), Timeout = TimeSpan.FromMinutes(5) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", readKey);
        var url = string.Format(CultureInfo.InvariantCulture, Route, ScoringBenchmark.Model, from.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), to.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        using (var probe = await http.GetAsync(url, cancellationToken))
        {
            if (probe.StatusCode == HttpStatusCode.NotFound)
            {
                await output.WriteLineAsync($"GET {url.Split('?')[0]}: 404, the performance API is not in this build; the in-process figure stands in (rerun when it is): p95 {Percentile(times, 0.95):0.0} ms (target p95 <= {TargetMilliseconds:0} ms) {(Percentile(times, 0.95) <= TargetMilliseconds ? "MET in process" : "MISSED in process")}");
            }
            else if (!probe.IsSuccessStatusCode)
            {
                await output.WriteLineAsync($"GET {url}: {(int)probe.StatusCode}, not timed: {Truncate(await probe.Content.ReadAsStringAsync(cancellationToken), 300)}");
            }
            else
            {
                var bytes = (await probe.Content.ReadAsByteArrayAsync(cancellationToken)).Length;
                var httpTimes = await TimeAsync(options.Calls, async () =>
                {
                    using var response = await http.GetAsync(url, cancellationToken);
                    response.EnsureSuccessStatusCode();
                    await response.Content.ReadAsByteArrayAsync(cancellationToken);
                });
                var p95 = Percentile(httpTimes, 0.95);
                oursMs = Percentile(httpTimes, 0.5);
                ours = "through the API";
                await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"GET performance through the API, {report.Cohorts.Count} days by day: {bytes:N0} bytes, p50 {oursMs:0.0} ms, p95 {p95:0.0} ms of {options.Calls} calls after one warm-up (target p95 <= {TargetMilliseconds:0} ms) {(p95 <= TargetMilliseconds ? "MET" : "MISSED")}"));
            }
        }

        var resultPath = Path.Combine(host.DataDirectory, "performance-sklearn.csv");
        var script = $"import sys\nsys.argv = ['{Script}', {PythonReference.Literal(exportPath)}, {PythonReference.Literal(resultPath)}]\n"
            + await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, Script), cancellationToken);
        var printed = new StringWriter();
        var sklearnSeconds = await PythonReference.SecondsAsync(script, cancellationToken, printed);
        var lines = printed.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (sklearnSeconds is not { } seconds || !File.Exists(resultPath))
        {
            await output.WriteLineAsync("sklearn reference: /usr/bin/python3 with numpy and scikit-learn (Debian python3-sklearn) did not run; no ratio and no agreement check");
            return 0;
        }

        var load = lines.FirstOrDefault(l => l.StartsWith("load ", StringComparison.Ordinal)) is { } l ? double.Parse(l[5..], CultureInfo.InvariantCulture) : double.NaN;
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"{lines.FirstOrDefault(l => l.StartsWith("sklearn ", StringComparison.Ordinal)) ?? "sklearn"}: load {load:0.000} s (numpy.fromfile of the export, not in the ratio), realized metrics of {options.Days} daily cohorts {seconds:0.000} s (confusion_matrix, roc_auc_score, average_precision_score and the fraud amounts per day, one thread)"));
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"ratio (ours p50 {ours} / sklearn metrics): {oursMs / 1000 / seconds:0.000}x"));

        var reference = ReadReference(resultPath);
        var agreement = Compare(report.Cohorts, reference);
        await output.WriteLineAsync(agreement.Describe(report.Cohorts));
        return 0;
    }

    /// <summary>One daily cohort as the sklearn script computed it (NaN where a curve is undefined).</summary>
    public sealed record SklearnCohort(int Day, long Rows, long TruePositives, long FalsePositives, long FalseNegatives, long TrueNegatives,
        double RocAuc, double AveragePrecision, double FraudCaught, double FraudMissed, double RocAucBins, double AveragePrecisionBins);

    public static IReadOnlyList<SklearnCohort> ReadReference(string path) =>
        [.. File.ReadLines(path).Skip(1).Where(l => l.Length > 0).Select(line =>
        {
            var f = line.Split(',');
            static double D(string s) => s is "nan" ? double.NaN : double.Parse(s, CultureInfo.InvariantCulture);
            static long L(string s) => long.Parse(s, CultureInfo.InvariantCulture);
            return new SklearnCohort(int.Parse(f[0], CultureInfo.InvariantCulture), L(f[1]), L(f[2]), L(f[3]), L(f[4]), L(f[5]), D(f[6]), D(f[7]), D(f[8]), D(f[9]), D(f[10]), D(f[11]));
        })];

    /// <summary>The largest difference per metric and the cohort where it is (−1 when no cohort had the metric on both sides).</summary>
    public sealed record Agreement(int Cohorts, int ConfusionsEqual, IReadOnlyDictionary<string, (double Difference, int Cohort)> Largest)
    {
        public bool Agree => Cohorts > 0 && ConfusionsEqual == Cohorts && Largest.All(kv => kv.Value.Difference <= Tolerance(kv.Key));

        public static double Tolerance(string metric) => metric switch
        {
            PerformanceMetric.RocAuc => RocAucTolerance,
            PerformanceMetric.AveragePrecision => AveragePrecisionTolerance,
            _ => ExactTolerance,
        };

        public string Describe(IReadOnlyList<CohortPerformance> cohorts) => string.Create(CultureInfo.InvariantCulture,
            $"agreement with sklearn over {Cohorts} daily cohorts, largest |ours - sklearn| (relative for money): {string.Join(", ", Largest.Select(kv => $"{kv.Key} {kv.Value.Difference:0.0e+00}{(kv.Value.Cohort >= 0 && kv.Value.Cohort < cohorts.Count ? $" ({cohorts[kv.Value.Cohort].Start:MM-dd})" : "")}"))}; confusion counts equal in {ConfusionsEqual} of {Cohorts}: {(Agree ? "AGREE" : "DISAGREE")} (against sklearn on the exact scores rocAuc within {RocAucTolerance:0e+00} and averagePrecision within {AveragePrecisionTolerance:0e+00}, the bins' cost; everything else, the curves on the same bins included, within {ExactTolerance:0e+00})");
    }

    /// <summary>Our realized figures per cohort against sklearn's: confusion counts exactly, the curves and rates as differences, the fraud amounts relatively.</summary>
    public static Agreement Compare(IReadOnlyList<CohortPerformance> ours, IReadOnlyList<SklearnCohort> sklearn)
    {
        var largest = new Dictionary<string, (double, int)>();
        void Note(string metric, double? mine, double theirs, int cohort)
        {
            // Undefined on both sides agrees; defined on one side only is a difference that fails any tolerance.
            var difference = mine is { } m ? double.IsNaN(theirs) ? double.PositiveInfinity : Math.Abs(m - theirs) : double.IsNaN(theirs) ? 0 : double.PositiveInfinity;
            if (!largest.TryGetValue(metric, out var was) || difference > was.Item1) largest[metric] = (difference, cohort);
        }

        static double Ratio(long a, long b) => b > 0 ? (double)a / b : double.NaN;
        static double Relative(double? a, double b) => a is { } x ? Math.Abs(x - b) / Math.Max(1, Math.Abs(b)) : double.PositiveInfinity;
        var equal = 0;
        var count = Math.Max(ours.Count, sklearn.Count);
        for (var i = 0; i < count; i++)
        {
            if (i >= ours.Count || i >= sklearn.Count || sklearn[i].Day != i)
            {
                largest["cohorts"] = (double.PositiveInfinity, i);
                continue;
            }

            var (r, s) = (ours[i].Realized, sklearn[i]);
            var c = r.Confusion;
            if (r.Predictions == s.Rows && (c.TruePositives, c.FalsePositives, c.FalseNegatives, c.TrueNegatives) == (s.TruePositives, s.FalsePositives, s.FalseNegatives, s.TrueNegatives)) equal++;
            var metrics = r.Metrics;
            Note(PerformanceMetric.RocAuc, metrics[PerformanceMetric.RocAuc], s.RocAuc, i);
            Note(PerformanceMetric.AveragePrecision, metrics[PerformanceMetric.AveragePrecision], s.AveragePrecision, i);
            Note(PerformanceMetric.RocAuc + OnBins, metrics[PerformanceMetric.RocAuc], s.RocAucBins, i);
            Note(PerformanceMetric.AveragePrecision + OnBins, metrics[PerformanceMetric.AveragePrecision], s.AveragePrecisionBins, i);
            Note(PerformanceMetric.Recall, metrics[PerformanceMetric.Recall], Ratio(s.TruePositives, s.TruePositives + s.FalseNegatives), i);
            Note(PerformanceMetric.Precision, metrics[PerformanceMetric.Precision], Ratio(s.TruePositives, s.TruePositives + s.FalsePositives), i);
            Note(PerformanceMetric.FalsePositiveRate, metrics[PerformanceMetric.FalsePositiveRate], Ratio(s.FalsePositives, s.FalsePositives + s.TrueNegatives), i);
            Note(PerformanceMetric.FlagRate, metrics[PerformanceMetric.FlagRate], Ratio(s.TruePositives + s.FalsePositives, s.Rows), i);
            Note(PerformanceMetric.FraudRate, metrics[PerformanceMetric.FraudRate], Ratio(s.TruePositives + s.FalseNegatives, s.Rows), i);
            foreach (var (name, mine, theirs) in new[] { ("moneyCaught", r.Money?.FraudCaught, s.FraudCaught), ("moneyMissed", r.Money?.FraudMissed, s.FraudMissed) })
            {
                var difference = Relative(mine, theirs);
                if (!largest.TryGetValue(name, out var was) || difference > was.Item1) largest[name] = (difference, i);
            }
        }

        return new Agreement(count, equal, largest);
    }

    private static string Truncate(string text, int length) => text.Length <= length ? text : text[..length] + "…";
}
