using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using FraudWorkbench.Core.Data.Samples;
using FraudWorkbench.Core.Monitoring;

namespace FraudWorkbench.Bench;

/// <summary>
/// <c>bench drift</c>, issue 16's three figures: drift from raw values against scipy in the same run
/// (<see cref="RunRawAsync"/>), drift of a 30-day range from the aggregated counts through the API
/// (<see cref="DriftApiBenchmark"/>), and what counting on the prediction log costs scoring (<see cref="DriftLoggingBenchmark"/>).
/// </summary>
public static class DriftBenchmark
{
    /// <summary>The transactions' raw input columns the drift table tests (not ids, entity keys, event time or the label).</summary>
    public static readonly string[] NumericColumns = ["amount", "account_age_days", "customer_age"];

    public static readonly string[] CategoricalColumns =
        ["merchant_category", "payment_method", "device_type", "ip_country", "home_country", "shipping_address_new", "customer_gender", "email_domain"];

    public const string PartRaw = "raw", PartApi = "api", PartLogging = "logging";

    public sealed record Options(int ReferenceRows, int CurrentRows, int Runs, long Predictions, int Days, int Calls, int LoadSeconds, int[] Concurrency, string[] Parts);

    public static async Task<int> RunAsync(Options options, TextWriter output, CancellationToken cancellationToken)
    {
        var unknown = options.Parts.Except([PartRaw, PartApi, PartLogging]).ToList();
        if (unknown.Count > 0)
        {
            await Console.Error.WriteLineAsync($"--parts: unknown part(s) {string.Join(", ", unknown)}; use {PartRaw}, {PartApi}, {PartLogging}.");
            return 2;
        }

        await output.WriteLineAsync($"machine: {Environment.ProcessorCount} cores, .NET {Environment.Version}, {RuntimeInformationText()}");
        if (options.Parts.Contains(PartRaw)) await RunRawAsync(options.ReferenceRows, options.CurrentRows, options.Runs, output, cancellationToken);
        if (options.Parts.Contains(PartApi)) await DriftApiBenchmark.RunAsync(options.Predictions, options.Days, options.Calls, output, cancellationToken);
        if (options.Parts.Contains(PartLogging)) await DriftLoggingBenchmark.RunAsync(options.LoadSeconds, options.Concurrency, output, cancellationToken);
        return 0;
    }

    private static string RuntimeInformationText() => System.Runtime.InteropServices.RuntimeInformation.OSDescription;

    /// <summary>The raw values of one side: numeric columns as doubles (NaN = missing), categorical as strings (null = missing).</summary>
    public sealed record Sample(int Rows, double[][] Numeric, string?[][] Categorical);

    /// <summary>One column's test on both sides.</summary>
    public sealed record ColumnResult(string Column, string Test, double Statistic, double PValue);

    /// <summary>
    /// Part 1: month A (reference) against month B (current) from the generator, every input column: KS on the numeric
    /// ones, chi-square on the 2 × k table of the categorical ones, then the same in scipy on the same CSV files. Only
    /// the statistics are timed on both sides (parsing and loading are not): ours is binning/sorting + the test, the
    /// columns run two at a time on two cores; scipy's is <c>ks_2samp</c> and <c>value_counts</c> + <c>chi2_contingency</c>,
    /// one thread as scipy runs.
    /// </summary>
    public static async Task RunRawAsync(int referenceRows, int currentRows, int runs, TextWriter output, CancellationToken cancellationToken)
    {
        var directory = Path.Combine(Path.GetTempPath(), "fwb-bench-drift-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(directory);
        try
        {
            var referencePath = Path.Combine(directory, "reference.csv");
            var currentPath = Path.Combine(directory, "current.csv");
            var watch = Stopwatch.StartNew();
            await WriteSampleAsync(referencePath, new SampleOptions(SampleMonth.A, referenceRows));
            await WriteSampleAsync(currentPath, new SampleOptions(SampleMonth.B, currentRows));
            var reference = Read(referencePath);
            var current = Read(currentPath);
            await output.WriteLineAsync($"raw path: reference month A {reference.Rows:N0} rows, current month B {current.Rows:N0} rows, {NumericColumns.Length} numeric columns (KS) + {CategoricalColumns.Length} categorical (chi-square); generated and parsed in {watch.Elapsed.TotalSeconds:0.0} s (not timed below)");

            List<ColumnResult> ours = [];
            var times = new List<double>();
            for (var run = 0; run < Math.Max(1, runs); run++)
            {
                GC.Collect();
                watch.Restart();
                ours = Compute(reference, current);
                times.Add(watch.Elapsed.TotalSeconds);
            }

            var best = times.Min();
            await output.WriteLineAsync($"fraudworkbench (DriftStatistics.KolmogorovSmirnov, DriftBinning.Categorical + DriftStatistics.ChiSquare, 2 columns at a time): best {best:0.000} s of {times.Count} ({string.Join(", ", times.Select(t => t.ToString("0.000", CultureInfo.InvariantCulture)))})");

            // Where the time goes, one thread: the KS columns (copy + sort + merge) and the chi-square ones (counting + test).
            watch.Restart();
            for (var i = 0; i < NumericColumns.Length; i++) DriftStatistics.KolmogorovSmirnov(reference.Numeric[i], current.Numeric[i]);
            var ksSeconds = watch.Elapsed.TotalSeconds;
            watch.Restart();
            for (var i = 0; i < CategoricalColumns.Length; i++)
            {
                var (r, k) = DriftBinning.Categorical(Present(reference.Categorical[i]), Present(current.Categorical[i]));
                DriftStatistics.ChiSquare(r, k);
            }

            await output.WriteLineAsync($"  of which, on one thread: KS columns {ksSeconds:0.000} s, chi-square columns {watch.Elapsed.TotalSeconds:0.000} s");

            var echo = new StringWriter();
            var scipy = await PythonReference.SecondsAsync(DriftScipy.Script(referencePath, currentPath, NumericColumns, CategoricalColumns, Math.Max(1, runs)), cancellationToken, echo);
            if (scipy is not double seconds)
            {
                await output.WriteLineAsync("scipy reference: not available (apt-get install python3-scipy)");
                return;
            }

            var theirs = echo.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Where(l => l.StartsWith('{')).Select(l => JsonSerializer.Deserialize<ColumnResult>(l, Json)!).ToDictionary(r => r.Column);
            await output.WriteLineAsync($"scipy {DriftScipy.Version(echo.ToString())} (ks_2samp 'auto', Counter + chi2_contingency, one thread): best {seconds:0.000} s of {Math.Max(1, runs)}");
            if (echo.ToString().Split('\n').FirstOrDefault(l => l.StartsWith("parts ", StringComparison.Ordinal))?.Split(' ') is [_, var ks, var chi])
                await output.WriteLineAsync($"  of which: ks_2samp columns {ks} s, chi-square columns {chi} s");
            await output.WriteLineAsync($"ratio (ours / scipy): {best / seconds:0.000}x (target <= 0.25x) {(best / seconds <= 0.25 ? "MET" : "MISSED")}");

            double maxStatistic = 0, maxP = 0;
            foreach (var r in ours)
            {
                var s = theirs[r.Column];
                maxStatistic = Math.Max(maxStatistic, Math.Abs(r.Statistic - s.Statistic) / Math.Max(1, Math.Abs(s.Statistic)));
                maxP = Math.Max(maxP, Math.Abs(r.PValue - s.PValue));
                await output.WriteLineAsync($"  {r.Column,-22} {r.Test,-10} statistic {r.Statistic,14:G8} (scipy {s.Statistic,14:G8})  p {r.PValue,12:G6} (scipy {s.PValue,12:G6})");
            }

            await output.WriteLineAsync($"agreement with scipy: max difference of statistics {maxStatistic:G3} (relative beyond 1), of p-values {maxP:G3} (absolute) {(maxStatistic <= 1e-9 && maxP <= 1e-9 ? "AGREE" : "DIFFER")}");
        }
        finally
        {
            try { Directory.Delete(directory, recursive: true); } catch (IOException) { }
        }
    }

    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Every column's test, the columns two at a time (numeric first: sorting is the long part).</summary>
    public static List<ColumnResult> Compute(Sample reference, Sample current)
    {
        var results = new ColumnResult[NumericColumns.Length + CategoricalColumns.Length];
        Parallel.For(0, results.Length, new ParallelOptions { MaxDegreeOfParallelism = 2 }, i =>
        {
            if (i < NumericColumns.Length)
            {
                var ks = DriftStatistics.KolmogorovSmirnov(reference.Numeric[i], current.Numeric[i]);
                results[i] = new ColumnResult(NumericColumns[i], "ks", ks.Statistic, ks.PValue!.Value);
            }
            else
            {
                var c = i - NumericColumns.Length;
                var (r, k) = DriftBinning.Categorical(Present(reference.Categorical[c]), Present(current.Categorical[c]));
                var chi = DriftStatistics.ChiSquare(r, k);
                results[i] = new ColumnResult(CategoricalColumns[c], "chisquare", chi.Statistic, chi.PValue!.Value);
            }
        });
        return [.. results];
    }

    private static IEnumerable<string> Present(string?[] values)
    {
        foreach (var v in values)
            if (v is not null) yield return v;
    }

    private static async Task WriteSampleAsync(string path, SampleOptions options)
    {
        await using var file = new StreamWriter(path, false, new System.Text.UTF8Encoding(false), 1 << 16);
        TransactionGenerator.Write(file, options);
    }

    /// <summary>The tested columns of a generated CSV (no field of these columns is ever quoted: plain values without commas).</summary>
    public static Sample Read(string path)
    {
        using var reader = new StreamReader(path, System.Text.Encoding.UTF8, false, 1 << 16);
        var header = reader.ReadLine()!.Split(',');
        var numericIndex = NumericColumns.Select(c => Array.IndexOf(header, c)).ToArray();
        var categoricalIndex = CategoricalColumns.Select(c => Array.IndexOf(header, c)).ToArray();
        if (numericIndex.Concat(categoricalIndex).Any(i => i < 0)) throw new InvalidDataException($"{path} lacks a tested column.");
        var numeric = NumericColumns.Select(_ => new List<double>()).ToArray();
        var categorical = CategoricalColumns.Select(_ => new List<string?>()).ToArray();
        var interned = new Dictionary<string, string>(StringComparer.Ordinal); // a few hundred distinct values, a million rows
        var rows = 0;
        while (reader.ReadLine() is { } line)
        {
            if (line.Contains('"')) throw new InvalidDataException($"{path}: a quoted field, which this reader does not expect.");
            var fields = line.Split(',');
            for (var i = 0; i < numericIndex.Length; i++)
            {
                var f = fields[numericIndex[i]];
                numeric[i].Add(f.Length == 0 ? double.NaN : double.Parse(f, CultureInfo.InvariantCulture));
            }

            for (var i = 0; i < categoricalIndex.Length; i++)
            {
                var f = fields[categoricalIndex[i]];
                if (f.Length == 0)
                {
                    categorical[i].Add(null);
                    continue;
                }

                if (!interned.TryGetValue(f, out var v)) interned[f] = v = f;
                categorical[i].Add(v);
            }

            rows++;
        }

        return new Sample(rows, [.. numeric.Select(l => l.ToArray())], [.. categorical.Select(l => l.ToArray())]);
    }
}
