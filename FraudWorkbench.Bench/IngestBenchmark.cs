using System.Diagnostics;
using System.Globalization;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Data.Samples;

namespace FraudWorkbench.Bench;

/// <summary>
/// <c>bench ingest</c>: generates a CSV, then times FraudWorkbench's ingest path (format checks, schema
/// inference, validation and profiling of every row; no database) against pandas' <c>read_csv</c> on the
/// same file in the same run, and reports the process's peak memory against the file size.
/// </summary>
public static class IngestBenchmark
{
    public static async Task<int> RunAsync(int rows, int runs, TextWriter output, CancellationToken cancellationToken)
    {
        var path = Path.Combine(Path.GetTempPath(), $"fwb-bench-{rows}.csv");
        try
        {
            await using (var file = new StreamWriter(path, false, new System.Text.UTF8Encoding(false), 1 << 16))
            {
                TransactionGenerator.Write(file, new SampleOptions(SampleMonth.A, rows));
            }

            var size = new FileInfo(path).Length;
            await output.WriteLineAsync($"file: {rows:N0} rows, {TransactionGenerator.Columns.Count} columns, {size / 1e6:0.0} MB ({path})");

            var pandas = await PandasAsync(path, runs, cancellationToken);
            var ours = new List<double>();
            long resultRows = 0;
            for (var run = 0; run < runs; run++)
            {
                GC.Collect();
                var watch = Stopwatch.StartNew();
                var delimiter = CsvFile.Inspect(path);
                var schema = SchemaInference.Infer(path, delimiter);
                var profile = DatasetProfiler.Run(path, schema, cancellationToken: cancellationToken);
                watch.Stop();
                resultRows = profile.RowCount;
                ours.Add(watch.Elapsed.TotalSeconds);
            }

            var peak = Process.GetCurrentProcess().PeakWorkingSet64;
            var best = ours.Min();
            await output.WriteLineAsync($"fraudworkbench ingest+profile: best {best:0.000} s of {runs} ({string.Join(", ", ours.Select(t => t.ToString("0.000", CultureInfo.InvariantCulture)))}), {resultRows:N0} rows");
            if (pandas is double p)
            {
                await output.WriteLineAsync($"pandas.read_csv:               best {p:0.000} s of {runs}");
                await output.WriteLineAsync($"ratio (ours / pandas):         {best / p:0.00}x (target <= 1.5x)");
            }
            else
            {
                await output.WriteLineAsync("pandas.read_csv:               not available (apt-get install python3-pandas)");
            }

            await output.WriteLineAsync($"peak working set:              {peak / 1e6:0.0} MB = {(double)peak / size:0.00}x the file (target <= 2x)");
            await output.WriteLineAsync($"machine: {Environment.ProcessorCount} cores, {Environment.OSVersion}, .NET {Environment.Version}, server GC {System.Runtime.GCSettings.IsServerGC}");
            return 0;
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>Best time of pandas.read_csv over the runs.</summary>
    private static Task<double?> PandasAsync(string path, int runs, CancellationToken cancellationToken)
    {
        var script = $$"""
            import time, pandas
            best = None
            for _ in range({{runs}}):
                t = time.perf_counter(); pandas.read_csv({{PythonReference.Literal(path)}}); t = time.perf_counter() - t
                best = t if best is None else min(best, t)
            print(best)
            """;
        return PythonReference.SecondsAsync(script, cancellationToken);
    }
}
