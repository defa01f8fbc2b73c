namespace FraudWorkbench.Core.Performance;

/// <summary>
/// What CBPE and the alert thresholds take from a version's validation holdout (its calibrated probabilities and labels):
/// the metrics' reference values, thresholds at the mean ± 3 σ of the metric over <see cref="Chunks"/> chunks of it
/// (NannyML's default), and the spread each metric's per-row contributions have there, for sampling-error bands.
/// </summary>
public sealed class CbpeReference
{
    public const int Chunks = 10;
    private const int BootstrapResamples = 200;

    private readonly double referencePositives;
    private readonly Dictionary<string, double> rowSpread = [];
    private readonly Dictionary<string, double> curveSpread = [];

    public IReadOnlyList<MetricReference> Metrics { get; }

    public CbpeReference(IReadOnlyList<double> probabilities, IReadOnlyList<bool> labels, double threshold, int seed = 17)
    {
        var all = PerformanceCounts.FromLabelled(probabilities, labels, threshold);
        var realized = PerformanceCalculator.Realized(all, 0, false);
        referencePositives = all.FraudLabels;

        // Rates are means of a 0/1 contribution over their rows (recall over the fraud, precision over the flagged, …):
        // σ = √(r (1 − r)), divided by √(the cohort's rows of that kind) for its standard error.
        foreach (var metric in new[] { PerformanceMetric.Recall, PerformanceMetric.Precision, PerformanceMetric.FalsePositiveRate, PerformanceMetric.FlagRate, PerformanceMetric.FraudRate })
        {
            if (realized.Metrics[metric] is { } r) rowSpread[metric] = Math.Sqrt(r * (1 - r));
        }

        // The curves have no per-row form: their spread is measured by a Poisson bootstrap of the reference's bins and
        // scales with the number of fraud cases (√(reference fraud ÷ cohort fraud)).
        var random = new Random(seed);
        foreach (var metric in new[] { PerformanceMetric.RocAuc, PerformanceMetric.AveragePrecision })
        {
            var values = new List<double>();
            for (var i = 0; i < BootstrapResamples; i++)
            {
                var positives = new double[ScoreBins.Count];
                var negatives = new double[ScoreBins.Count];
                for (var b = 0; b < ScoreBins.Count; b++)
                {
                    positives[b] = Poisson(random, all.BinFraud[b]);
                    negatives[b] = Poisson(random, all.BinRows[b] - all.BinFraud[b]);
                }

                var value = metric == PerformanceMetric.RocAuc ? PerformanceCalculator.RocAuc(positives, negatives) : PerformanceCalculator.AveragePrecision(positives, negatives);
                if (value is { } v) values.Add(v);
            }

            if (values.Count > 1) curveSpread[metric] = StandardDeviation(values);
        }

        // Chunks in the holdout's order (time order when the split was by time), as NannyML chunks its reference.
        var chunkMetrics = PerformanceMetric.All.ToDictionary(m => m, _ => new List<double>());
        var size = (int)Math.Ceiling((double)probabilities.Count / Chunks);
        for (var start = 0; size > 0 && start < probabilities.Count; start += size)
        {
            var end = Math.Min(start + size, probabilities.Count);
            var chunk = PerformanceCounts.FromLabelled([.. probabilities.Skip(start).Take(end - start)], [.. labels.Skip(start).Take(end - start)], threshold);
            foreach (var (metric, value) in PerformanceCalculator.Realized(chunk, 0, false).Metrics)
            {
                if (value is { } v) chunkMetrics[metric].Add(v);
            }
        }

        Metrics = [.. PerformanceMetric.All.Select(m =>
        {
            var chunks = chunkMetrics[m];
            if (chunks.Count < 2) return new MetricReference(m, realized.Metrics[m], null, null);
            var mean = chunks.Average();
            var sigma = StandardDeviation(chunks);
            return new MetricReference(m, realized.Metrics[m], Math.Max(0, mean - 3 * sigma), Math.Min(1, mean + 3 * sigma));
        })];
    }

    public MetricReference? Threshold(string metric) => Metrics.FirstOrDefault(m => m.Metric == metric);

    /// <summary>The standard error of <paramref name="metric"/>'s estimate over the predictions <paramref name="cohort"/> holds.</summary>
    public double? StandardError(string metric, PerformanceCounts cohort)
    {
        var expectedFraud = cohort.SumP;
        var rows = metric switch
        {
            PerformanceMetric.Recall => expectedFraud,
            PerformanceMetric.Precision => cohort.Flagged,
            PerformanceMetric.FalsePositiveRate => cohort.Rows - expectedFraud,
            PerformanceMetric.FlagRate or PerformanceMetric.FraudRate => cohort.Rows,
            _ => double.NaN,
        };
        if (rowSpread.TryGetValue(metric, out var sigma)) return rows > 0 ? sigma / Math.Sqrt(rows) : null;
        if (curveSpread.TryGetValue(metric, out var spread)) return expectedFraud > 0 ? spread * Math.Sqrt(referencePositives / expectedFraud) : null;
        return null;
    }

    private static double StandardDeviation(IReadOnlyList<double> values)
    {
        var mean = values.Average();
        return Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / values.Count);
    }

    private static double Poisson(Random random, double lambda)
    {
        if (lambda <= 0) return 0;
        if (lambda > 30) return Math.Max(0, Math.Round(lambda + Math.Sqrt(lambda) * Normal(random)));
        var limit = Math.Exp(-lambda);
        var k = 0;
        var product = random.NextDouble();
        while (product > limit)
        {
            k++;
            product *= random.NextDouble();
        }

        return k;
    }

    private static double Normal(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}
