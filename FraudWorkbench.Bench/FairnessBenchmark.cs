using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Fairness;

namespace FraudWorkbench.Bench;

/// <summary>
/// <c>bench fairness</c> (issue 18): group metrics and disparities with bootstrap intervals for two protected columns
/// (sex, age in bands) and their intersection on a generated holdout (<see cref="FairnessData"/>), as
/// <see cref="FairnessAnalysis.Evaluate"/> computes them (the groupings, then <see cref="FairnessCalculator.Evaluate"/>
/// per grouping), against pandas groupby computing the same point metrics from an export of the same rows in the same run.
/// </summary>
public static class FairnessBenchmark
{
    public const double TargetSeconds = 2;

    /// <summary>Largest |ours − pandas| accepted for every rate and the mean score; counts must be equal.</summary>
    public const double Tolerance = 1e-9;

    public const string Script = "fairness_pandas.py";

    /// <summary>Timed runs of the point metrics alone (the best is reported); the resampled run is timed once.</summary>
    public const int PointRuns = 3;

    /// <summary>The point metrics both sides compute, by our names (pandas's columns in the same order).</summary>
    public static readonly string[] Compared =
    [
        FairnessMetric.SelectionRate, FairnessMetric.TruePositiveRate, FairnessMetric.FalsePositiveRate, FairnessMetric.FalseNegativeRate,
        FairnessMetric.Precision, FairnessMetric.FraudRate, FairnessMetric.MeanScore,
    ];

    public sealed record Options(int Rows, int Resamples, int Seed);

    /// <summary>Seconds spent forming the groups, sorting the rows by score once, and evaluating each grouping.</summary>
    public sealed record Timed(IReadOnlyList<Grouping> Groupings, IReadOnlyList<GroupingFairness> Results, double GroupingSeconds, double SortSeconds, IReadOnlyList<double> EvaluateSeconds)
    {
        public double Total => GroupingSeconds + SortSeconds + EvaluateSeconds.Sum();
    }

    /// <summary>
    /// What <see cref="FairnessAnalysis.Evaluate"/> does for these two columns, timed by step: each protected column's
    /// groups from the cells, their crossing, one sort of the rows by score, then <see cref="FairnessCalculator.Evaluate"/> per grouping.
    /// </summary>
    public static Timed Evaluate(IReadOnlyList<string?[]> cells, IReadOnlyList<bool> labels, IReadOnlyList<double> scores, double threshold, FairnessSettings settings)
    {
        var schema = FairnessData.Schema;
        var watch = Stopwatch.StartNew();
        var singles = schema.Columns.Select((c, i) => FairnessGroups.Of(c, i, cells)).ToList();
        List<Grouping> groupings = [.. singles, FairnessGroups.Cross(singles)];
        var groupingSeconds = watch.Elapsed.TotalSeconds;
        // One sort of all rows by score that every grouping shares, as FairnessAnalysis.Evaluate does.
        watch.Restart();
        var sorted = FairnessCells.ScoreOrder.Of(labels, scores);
        var sortSeconds = watch.Elapsed.TotalSeconds;
        var results = new List<GroupingFairness>();
        var seconds = new List<double>();
        foreach (var grouping in groupings)
        {
            watch.Restart();
            results.Add(FairnessCalculator.Evaluate(grouping, sorted, threshold, settings));
            seconds.Add(watch.Elapsed.TotalSeconds);
        }

        return new Timed(groupings, results, groupingSeconds, sortSeconds, seconds);
    }

    public static async Task<int> RunAsync(Options options, TextWriter output, CancellationToken cancellationToken)
    {
        if (options.Rows < 1 || options.Resamples < 0)
        {
            await Console.Error.WriteLineAsync("--rows is at least 1, --resamples not negative.");
            return 2;
        }

        var load = File.Exists("/proc/loadavg") ? " load average " + string.Join(' ', (await File.ReadAllTextAsync("/proc/loadavg", cancellationToken)).Split(' ').Take(3)) + " at the start," : "";
        await output.WriteLineAsync($"machine: {Environment.ProcessorCount} cores,{load} .NET {Environment.Version}, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}");
        var watch = Stopwatch.StartNew();
        var holdout = FairnessData.Generate(options.Rows, options.Seed);
        var cells = holdout.Cells();
        var fraud = holdout.Labels.Count(l => l);
        var flagged = holdout.Scores.Count(s => s >= FairnessData.Threshold);
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"data: {options.Rows:N0} holdout rows (seed {options.Seed}), sex F/M with {100.0 * holdout.Sex.Count(s => s < 0) / options.Rows:0.00} % missing, age 17–90 in the default bands [{string.Join(", ", SchemaInference.DefaultAgeBands)}] ({100.0 * holdout.Age.Count(double.IsNaN) / options.Rows:0.00} % missing), {100.0 * fraud / options.Rows:0.00} % fraud in every group, {100.0 * flagged / options.Rows:0.00} % flagged at threshold {FairnessData.Threshold}; planted: ages 18–24 scored +{FairnessData.PlantedShift} in log-odds; generated in {watch.Elapsed.TotalSeconds:0.0} s (not timed)"));

        // Warm-up (JIT) on the first rows, not timed.
        var warm = Math.Min(options.Rows, 20_000);
        Evaluate(cells.Take(warm).ToList(), holdout.Labels[..warm], holdout.Scores[..warm], FairnessData.Threshold, new FairnessSettings(Resamples: 5));

        Timed? point = null;
        for (var run = 0; run < PointRuns; run++)
        {
            GC.Collect();
            var timed = Evaluate(cells, holdout.Labels, holdout.Scores, FairnessData.Threshold, new FairnessSettings(Resamples: 0));
            if (point is null || timed.Total < point.Total) point = timed;
        }

        GC.Collect();
        var settings = new FairnessSettings(Resamples: options.Resamples);
        // CPU time beside the wall time: on a shared machine the wall time mostly measures the other processes.
        var process = System.Diagnostics.Process.GetCurrentProcess();
        process.Refresh();
        var cpuBefore = process.TotalProcessorTime;
        var ours = Evaluate(cells, holdout.Labels, holdout.Scores, FairnessData.Threshold, settings);
        process.Refresh();
        var cpuSeconds = (process.TotalProcessorTime - cpuBefore).TotalSeconds;
        var names = ours.Results.Select(r => $"{r.Name} ({r.Groups.Count} groups)").ToList();
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"ours, point metrics only (Resamples 0): {point!.Total:0.000} s, best of {PointRuns} (groups from the cells {point.GroupingSeconds:0.000} s; rows sorted by score once {point.SortSeconds:0.000} s; {string.Join(", ", names.Select((n, i) => $"{n} {point.EvaluateSeconds[i]:0.000} s"))})"));
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"ours, with {options.Resamples:N0} bootstrap resamples (within each group, seed {settings.Seed}): {ours.Total:0.000} s, one run (groups {ours.GroupingSeconds:0.000} s; sort {ours.SortSeconds:0.000} s; {string.Join(", ", names.Select((n, i) => $"{n} {ours.EvaluateSeconds[i]:0.000} s"))}); CPU time of the process meanwhile {cpuSeconds:0.000} s on {Environment.ProcessorCount} cores"));
        if (options.Resamples > 0)
        {
            var perResample = (ours.EvaluateSeconds.Sum() - point.EvaluateSeconds.Sum()) / options.Resamples;
            var tables = ours.Groupings.Select(g => FairnessCells.Build(g, holdout.Labels, holdout.Scores, FairnessData.Threshold)).ToList();
            var drawing = tables.Sum(c => DrawMilliseconds(c, DrawRuns));
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"  per resample: {1000 * perResample:0.000} ms for the three groupings on {Environment.ProcessorCount} cores, each group drawing its cell counts (score bin x label: {string.Join(", ", tables.Select((c, i) => $"{ours.Results[i].Name} {c.Cells:N0} cells over {c.Bins} bins"))}) instead of its rows; of which drawing the cells (FairnessCells.Resample timed alone on one core, {DrawRuns} times a grouping) {drawing:0.000} ms, the rest the metrics from the cells and the disparities"));
        }

        var target = ours.Total <= TargetSeconds;
        var loadAfter = File.Exists("/proc/loadavg") ? $" (load average {string.Join(' ', (await File.ReadAllTextAsync("/proc/loadavg", cancellationToken)).Split(' ').Take(3))} after the timing)" : "";
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"target: group metrics and disparities with {options.Resamples:N0} resamples for sex, age and sex × age on {options.Rows:N0} rows <= {TargetSeconds:0} s: {ours.Total:0.000} s {(target ? "MET" : $"MISSED ({ours.Total / TargetSeconds:0.0}x the target)")}{loadAfter}"));
        foreach (var grouping in ours.Results.Take(2)) await output.WriteLineAsync(Planted(grouping));

        var directory = Path.Combine(Path.GetTempPath(), "fwb-bench-fairness-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(directory);
        try
        {
            var exportPath = Path.Combine(directory, "fairness.bin");
            var resultPath = Path.Combine(directory, "fairness-pandas.tsv");
            await using (var export = new FileStream(exportPath, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20)) FairnessData.Export(holdout, export);
            var script = $"import sys\nsys.argv = ['{Script}', {PythonReference.Literal(exportPath)}, {PythonReference.Literal(resultPath)}, '{FairnessData.Threshold.ToString(CultureInfo.InvariantCulture)}', {PythonReference.Literal(JsonSerializer.Serialize(SchemaInference.DefaultAgeBands))}, {PythonReference.Literal(JsonSerializer.Serialize(FairnessGroups.BandLabels(SchemaInference.DefaultAgeBands)))}]\n"
                + await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, Script), cancellationToken);
            var printed = new StringWriter();
            var pandasSeconds = await PythonReference.SecondsAsync(script, cancellationToken, printed);
            var lines = printed.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (pandasSeconds is not { } seconds || !File.Exists(resultPath))
            {
                await output.WriteLineAsync("pandas reference: /usr/bin/python3 with pandas and numpy (apt-get install python3-pandas) did not run; no ratio and no agreement check");
                return 0;
            }

            var loadSeconds = lines.FirstOrDefault(l => l.StartsWith("load ", StringComparison.Ordinal)) is { } l ? double.Parse(l[5..], CultureInfo.InvariantCulture) : double.NaN;
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"{lines.FirstOrDefault(l => l.StartsWith("pandas ", StringComparison.Ordinal)) ?? "pandas"}: load {loadSeconds:0.000} s (numpy.fromfile of the {new FileInfo(exportPath).Length / 1e6:0.0} MB export into a DataFrame, not in the ratio), point metrics {seconds:0.000} s (flags, pd.cut into the bands, missing as a group, groupby sex / age band / both with count, sums and mean, the rates; one thread)"));
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"ratio (ours / pandas metrics): with {options.Resamples:N0} resamples {ours.Total / seconds:0.000}x, point metrics only {point.Total / seconds:0.000}x"));
            var agreement = Compare(ours.Results, ReadReference(resultPath));
            await output.WriteLineAsync(agreement.Describe());
            return 0;
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    public const int DrawRuns = 20;

    /// <summary>Milliseconds of one <see cref="FairnessCells.Resample"/> of a grouping's cells (the mean of <paramref name="runs"/>, after one warm-up).</summary>
    public static double DrawMilliseconds(FairnessCells cells, int runs)
    {
        var drawn = new int[cells.Cells];
        var random = new Random(1);
        cells.Resample(random, drawn);
        var watch = Stopwatch.StartNew();
        for (var i = 0; i < runs; i++) cells.Resample(random, drawn);
        return watch.Elapsed.TotalMilliseconds / runs;
    }

    /// <summary>A grouping's demographic parity and equalized odds (between groups) with their intervals, and the flagged share per group.</summary>
    private static string Planted(GroupingFairness grouping)
    {
        static string Value(FairnessValue v) => v.Value is not { } x ? "undefined" : v.Lower is { } lo && v.Upper is { } hi
            ? string.Create(CultureInfo.InvariantCulture, $"{x:0.000} [{lo:0.000}, {hi:0.000}]") : string.Create(CultureInfo.InvariantCulture, $"{x:0.000}");
        Disparity Find(string name, string kind, string? aggregation = null) => grouping.Disparities.First(d =>
            d.Name == name && d.Kind == kind && d.Method == DisparityName.BetweenGroups && (aggregation is null || d.Aggregation == aggregation));
        var ratio = Find(DisparityName.DemographicParity, "ratio");
        var odds = Find(DisparityName.EqualizedOdds, "difference", DisparityName.WorstCase);
        var rates = string.Join(", ", grouping.Groups.Select(g => string.Create(CultureInfo.InvariantCulture,
            $"{g.Group} {100 * g.Metrics[FairnessMetric.SelectionRate].Value:0.00} % ({100 * g.Metrics[FairnessMetric.FraudRate].Value:0.00} % fraud)")));
        return $"  {grouping.Name}: demographic parity ratio {Value(ratio.Value)} (lowest {ratio.Lowest}, highest {ratio.Highest}{(grouping.FourFifths == true ? ", under four-fifths" : "")}), equalized odds difference (worst case) {Value(odds.Value)}; flagged: {rates}";
    }

    /// <summary>One group's point metrics as pandas computed them (NaN where undefined).</summary>
    public sealed record PandasGroup(string Grouping, string Group, long Count, IReadOnlyList<double> Metrics);

    public static IReadOnlyList<PandasGroup> ReadReference(string path) =>
        [.. File.ReadLines(path).Skip(1).Where(l => l.Length > 0).Select(line =>
        {
            var f = line.Split('\t');
            return new PandasGroup(f[0], f[1], long.Parse(f[2], CultureInfo.InvariantCulture),
                [.. f.Skip(3).Select(s => s is "nan" ? double.NaN : double.Parse(s, CultureInfo.InvariantCulture))]);
        })];

    /// <summary>The largest difference per metric and the group where it is; every group on either side must be on the other.</summary>
    public sealed record Agreement(int Groups, int CountsEqual, IReadOnlyList<string> Unmatched, IReadOnlyDictionary<string, (double Difference, string Where)> Largest)
    {
        public bool Agree => Groups > 0 && CountsEqual == Groups && Unmatched.Count == 0 && Largest.Values.All(v => v.Difference <= Tolerance);

        public string Describe() => string.Create(CultureInfo.InvariantCulture,
            $"agreement with pandas over {Groups} groups (3 groupings, their overall rows included), largest |ours - pandas|: {string.Join(", ", Largest.Select(kv => $"{kv.Key} {kv.Value.Difference:0.0e+00} ({kv.Value.Where})"))}; largest of all {Largest.Values.Select(v => v.Difference).DefaultIfEmpty(double.PositiveInfinity).Max():0.0e+00}; counts equal in {CountsEqual} of {Groups}{(Unmatched.Count > 0 ? $"; on one side only: {string.Join(", ", Unmatched.Take(5))}" : "")}: {(Agree ? "AGREE" : "DISAGREE")} (within {Tolerance:0e+00})");
    }

    /// <summary>Our point values per group (and overall) against pandas's: counts exactly, rates and mean score as differences, undefined on both sides agreeing.</summary>
    public static Agreement Compare(IReadOnlyList<GroupingFairness> ours, IReadOnlyList<PandasGroup> pandas)
    {
        var reference = pandas.ToDictionary(p => (p.Grouping, p.Group));
        var seen = new HashSet<(string, string)>();
        var unmatched = new List<string>();
        var largest = Compared.ToDictionary(m => m, _ => (Difference: 0.0, Where: "-"));
        var groups = 0;
        var equal = 0;
        foreach (var grouping in ours)
        {
            foreach (var group in grouping.Groups.Prepend(grouping.Overall))
            {
                groups++;
                var where = $"{grouping.Name}: {group.Group}";
                if (!reference.TryGetValue((grouping.Name, group.Group), out var theirs))
                {
                    unmatched.Add("ours " + where);
                    continue;
                }

                seen.Add((grouping.Name, group.Group));
                if (theirs.Count == group.Count) equal++;
                for (var k = 0; k < Compared.Length; k++)
                {
                    var mine = group.Metrics[Compared[k]].Value;
                    var other = k < theirs.Metrics.Count ? theirs.Metrics[k] : double.NaN;
                    // Undefined on both sides agrees; defined on one side only is a difference that fails any tolerance.
                    var difference = mine is { } m ? double.IsNaN(other) ? double.PositiveInfinity : Math.Abs(m - other) : double.IsNaN(other) ? 0 : double.PositiveInfinity;
                    if (difference > largest[Compared[k]].Difference) largest[Compared[k]] = (difference, where);
                }
            }
        }

        unmatched.AddRange(pandas.Where(p => !seen.Contains((p.Grouping, p.Group))).Select(p => $"pandas {p.Grouping}: {p.Group}"));
        return new Agreement(groups, equal, unmatched, largest);
    }
}
