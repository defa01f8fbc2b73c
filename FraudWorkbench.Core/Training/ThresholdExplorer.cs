using FraudWorkbench.Core.Artifacts;

namespace FraudWorkbench.Core.Training;

/// <summary>What flagging every score ≥ <see cref="Threshold"/> does on the validation rows.</summary>
/// <param name="ExpectedCost">Missed fraud amounts plus a review per flagged row (as the cost threshold counts it); null without amounts.</param>
public sealed record ThresholdPoint(double Threshold, ConfusionMatrix Confusion, double FlaggedShare, double? ExpectedCost)
{
    public long Flagged => Confusion.TruePositives + Confusion.FalsePositives;
}

/// <summary>A point estimate with the bounds of its confidence interval.</summary>
public sealed record Interval(double Estimate, double Low, double High)
{
    public bool Contains(double value) => value >= Low && value <= High;

    public double Width => High - Low;
}

/// <summary>Precision, recall, false positive rate, flagged share and expected cost at any threshold, from sorted validation scores.</summary>
public sealed class ThresholdTable
{
    private readonly double[] sorted; // descending
    private readonly long[] truePositives; // among the first k sorted rows
    private readonly double[] caughtAmounts;
    private readonly double totalFraudAmount;
    private readonly double? reviewCost;
    private readonly double sampleRate;

    public ThresholdTable(ValidationScores scores, double? reviewCost = null)
    {
        if (scores.Count == 0) throw new ArgumentException("No validation rows.");
        var order = Enumerable.Range(0, scores.Count).OrderByDescending(i => scores.Probabilities[i]).ToArray();
        sorted = [.. order.Select(i => scores.Probabilities[i])];
        truePositives = new long[order.Length + 1];
        caughtAmounts = new double[order.Length + 1];
        for (var k = 0; k < order.Length; k++)
        {
            var fraud = scores.Labels[order[k]];
            truePositives[k + 1] = truePositives[k] + (fraud ? 1 : 0);
            caughtAmounts[k + 1] = caughtAmounts[k] + (fraud && scores.Amounts is { } amounts ? amounts[order[k]] : 0);
        }

        totalFraudAmount = caughtAmounts[^1];
        Positives = truePositives[^1];
        Negatives = order.Length - Positives;
        this.reviewCost = scores.Amounts is null ? null : reviewCost;
        sampleRate = scores.SampleRate;
    }

    public long Positives { get; }

    public long Negatives { get; }

    public int Rows => sorted.Length;

    public bool HasCost => reviewCost is not null;

    /// <summary>The metrics when every row with score ≥ <paramref name="threshold"/> is flagged.</summary>
    public ThresholdPoint At(double threshold)
    {
        var flagged = CountAtOrAbove(threshold);
        var tp = truePositives[flagged];
        var fp = flagged - tp;
        var confusion = new ConfusionMatrix(tp, fp, Negatives - fp, Positives - tp);
        // A sampled validation set counts each kept row for 1 ÷ rate rows: costs are in the full set's money.
        double? cost = reviewCost is double review ? (totalFraudAmount - caughtAmounts[flagged] + flagged * review) / sampleRate : null;
        return new ThresholdPoint(threshold, confusion, (double)flagged / Rows, cost);
    }

    /// <summary>
    /// Up to <paramref name="points"/> thresholds for a slider, ascending: distinct scores picked at evenly spaced
    /// ranks (fraud scores crowd near 0, so even steps in probability would waste most of the slider), plus
    /// <paramref name="include"/> (the run's chosen threshold) when given.
    /// </summary>
    public IReadOnlyList<double> Grid(int points = 201, double? include = null)
    {
        var distinct = new List<double>();
        for (var i = sorted.Length - 1; i >= 0; i--) if (distinct.Count == 0 || sorted[i] != distinct[^1]) distinct.Add(sorted[i]);
        var grid = distinct.Count <= points
            ? distinct
            : [.. Enumerable.Range(0, points).Select(i => distinct[(int)Math.Round(i * (distinct.Count - 1.0) / (points - 1))]).Distinct()];
        if (include is double chosen && chosen < ClassificationMetrics.FlagNothing && !grid.Contains(chosen))
        {
            grid.Add(chosen);
            grid.Sort();
        }

        return grid;
    }

    private int CountAtOrAbove(double threshold)
    {
        // sorted is descending: the first index whose score is below the threshold.
        int low = 0, high = sorted.Length;
        while (low < high)
        {
            var mid = (low + high) / 2;
            if (sorted[mid] >= threshold) low = mid + 1; else high = mid;
        }

        return low;
    }
}

/// <param name="Resamples">How many bootstrap samples.</param>
/// <param name="Level">Confidence level of the percentile intervals.</param>
/// <param name="Seed">Fixed, so that a page shows the same interval every time it opens.</param>
public sealed record BootstrapOptions(int Resamples = 1000, double Level = 0.95, int Seed = 20_26);

/// <summary>
/// Percentile bootstrap intervals for validation metrics, resampling with replacement within each class
/// (stratified: every sample keeps the validation set's fraud count, which matters when there are only a
/// few hundred fraud rows). A sample is held as a multiplicity per row, so each costs one pass over the
/// rows sorted once, not a sort.
/// </summary>
public sealed class BootstrapIntervals
{
    private readonly double[] thresholds;
    private readonly long[,] truePositives;
    private readonly long[,] falsePositives;
    private readonly double level;

    private BootstrapIntervals(double[] thresholds, long[,] truePositives, long[,] falsePositives, long positives, long negatives,
        Interval prAuc, Interval rocAuc, double level)
    {
        this.thresholds = thresholds;
        this.truePositives = truePositives;
        this.falsePositives = falsePositives;
        Positives = positives;
        Negatives = negatives;
        PrAuc = prAuc;
        RocAuc = rocAuc;
        this.level = level;
    }

    /// <summary>Average precision (PR-AUC, sklearn's definition) with its interval.</summary>
    public Interval PrAuc { get; }

    public Interval RocAuc { get; }

    public long Positives { get; }

    public long Negatives { get; }

    public IReadOnlyList<double> Thresholds => thresholds;

    public int Resamples => truePositives.GetLength(0);

    /// <summary>Precision at <see cref="Thresholds"/>[<paramref name="index"/>]: the point estimate and its interval.</summary>
    public Interval PrecisionAt(int index, ConfusionMatrix observed) =>
        Percentiles(observed.Precision, b => truePositives[b, index] + falsePositives[b, index] == 0 ? 0 : (double)truePositives[b, index] / (truePositives[b, index] + falsePositives[b, index]));

    public Interval RecallAt(int index, ConfusionMatrix observed) => Percentiles(observed.Recall, b => (double)truePositives[b, index] / Positives);

    public Interval FalsePositiveRateAt(int index, ConfusionMatrix observed) => Percentiles(observed.FalsePositiveRate, b => (double)falsePositives[b, index] / Negatives);

    /// <param name="thresholds">Thresholds whose precision and recall get intervals (flag score ≥ threshold).</param>
    public static BootstrapIntervals Compute(IReadOnlyList<double> scores, IReadOnlyList<bool> labels, IReadOnlyList<double> thresholds, BootstrapOptions? options = null)
    {
        options ??= new BootstrapOptions();
        if (scores.Count != labels.Count) throw new ArgumentException($"{scores.Count} scores but {labels.Count} labels.");
        if (options.Resamples < 10) throw new ArgumentOutOfRangeException(nameof(options), "Use at least 10 resamples.");
        if (options.Level is not (> 0 and < 1)) throw new ArgumentOutOfRangeException(nameof(options), "The level is between 0 and 1.");
        var positives = Enumerable.Range(0, labels.Count).Where(i => labels[i]).ToArray();
        var negatives = Enumerable.Range(0, labels.Count).Where(i => !labels[i]).ToArray();
        if (positives.Length == 0 || negatives.Length == 0) throw new ArgumentException("The bootstrap needs both fraud and legitimate rows.");

        var order = Enumerable.Range(0, scores.Count).OrderByDescending(i => scores[i]).ToArray();
        var grid = thresholds.ToArray();
        var gridOrder = Enumerable.Range(0, grid.Length).OrderByDescending(g => grid[g]).ToArray();
        var resamples = options.Resamples;
        var tps = new long[resamples, grid.Length];
        var fps = new long[resamples, grid.Length];
        var prAucs = new double[resamples];
        var rocAucs = new double[resamples];
        var weights = new int[scores.Count];
        var random = new Random(options.Seed);
        for (var b = 0; b < resamples; b++)
        {
            Array.Clear(weights);
            for (var k = 0; k < positives.Length; k++) weights[positives[random.Next(positives.Length)]]++;
            for (var k = 0; k < negatives.Length; k++) weights[negatives[random.Next(negatives.Length)]]++;
            (prAucs[b], rocAucs[b]) = Pass(scores, labels, order, weights, positives.Length, negatives.Length, grid, gridOrder, b, tps, fps);
        }

        // Point estimates on the rows as they are: every weight 1.
        Array.Fill(weights, 1);
        var (prAuc, rocAuc) = Pass(scores, labels, order, weights, positives.Length, negatives.Length, grid, gridOrder, -1, tps, fps);
        return new BootstrapIntervals(grid, tps, fps, positives.Length, negatives.Length,
            Interval(prAuc, prAucs, options.Level), Interval(rocAuc, rocAucs, options.Level), options.Level);
    }

    /// <summary>
    /// One walk down the scores with a weight per row: average precision Σ ΔR·P and the trapezoidal ROC area over
    /// tie groups (as scikit-learn computes them with sample weights), and the counts at each grid threshold.
    /// </summary>
    private static (double PrAuc, double RocAuc) Pass(
        IReadOnlyList<double> scores, IReadOnlyList<bool> labels, int[] order, int[] weights, long positives, long negatives,
        double[] grid, int[] gridOrder, int sample, long[,] tps, long[,] fps)
    {
        long tp = 0, fp = 0;
        double ap = 0, area = 0;
        var g = 0;
        var k = 0;
        while (k < order.Length)
        {
            var score = scores[order[k]];
            for (; g < gridOrder.Length && score < grid[gridOrder[g]]; g++) Record(sample, gridOrder[g], tp, fp, tps, fps);
            long groupTp = 0, groupFp = 0;
            for (; k < order.Length && scores[order[k]] == score; k++)
            {
                if (labels[order[k]]) groupTp += weights[order[k]]; else groupFp += weights[order[k]];
            }

            area += groupFp * (2.0 * tp + groupTp) / 2;
            tp += groupTp;
            fp += groupFp;
            if (groupTp > 0) ap += groupTp * ((double)tp / (tp + fp));
        }

        for (; g < gridOrder.Length; g++) Record(sample, gridOrder[g], tp, fp, tps, fps);
        return (ap / positives, area / ((double)positives * negatives));
    }

    private static void Record(int sample, int index, long tp, long fp, long[,] tps, long[,] fps)
    {
        if (sample < 0) return;
        tps[sample, index] = tp;
        fps[sample, index] = fp;
    }

    private Interval Percentiles(double estimate, Func<int, double> value)
    {
        var values = new double[Resamples];
        for (var b = 0; b < values.Length; b++) values[b] = value(b);
        return Interval(estimate, values, level);
    }

    private static Interval Interval(double estimate, double[] values, double level)
    {
        Array.Sort(values);
        var tail = (1 - level) / 2;
        return new Interval(estimate, Quantile(values, tail), Quantile(values, 1 - tail));
    }

    /// <summary>The q-quantile of sorted values with linear interpolation (numpy's default).</summary>
    public static double Quantile(double[] sorted, double q)
    {
        var position = q * (sorted.Length - 1);
        var below = (int)Math.Floor(position);
        var above = Math.Min(below + 1, sorted.Length - 1);
        return sorted[below] + (position - below) * (sorted[above] - sorted[below]);
    }
}

/// <summary>Everything the run page's threshold explorer shows, loaded from the run's stored validation scores.</summary>
public sealed record ThresholdExplorerData(ValidationScores Scores, ThresholdTable Table, BootstrapIntervals Intervals, double ChosenThreshold, double? ReviewCost)
{
    /// <summary>The slider's thresholds, ascending (the bootstrap's grid).</summary>
    public IReadOnlyList<double> Grid => Intervals.Thresholds;

    public int ChosenIndex => Math.Max(0, Grid.ToList().IndexOf(ChosenThreshold));

    /// <summary>The run's stored validation scores with the table and intervals, or null when the run kept none (trained before they were stored).</summary>
    /// <exception cref="ArtifactCorruptedException">The stored file failed its checksum.</exception>
    public static async Task<ThresholdExplorerData?> LoadAsync(TrainingRun run, ArtifactStore artifacts, BootstrapOptions? options = null, CancellationToken cancellationToken = default)
    {
        if (run.Result is not { } result || await ValidationScores.LoadAsync(run, artifacts, cancellationToken) is not { } scores) return null;
        var reviewCost = run.Config.Threshold?.ReviewCost;
        // Up to a second of arithmetic for the largest validation sets: off the caller's (a circuit's) thread.
        return await Task.Run(() =>
        {
            var table = new ThresholdTable(scores, reviewCost);
            var chosen = result.Threshold.Threshold;
            var intervals = BootstrapIntervals.Compute(scores.Probabilities, scores.Labels, table.Grid(include: chosen), options);
            return new ThresholdExplorerData(scores, table, intervals, chosen, scores.Amounts is null ? null : reviewCost);
        }, cancellationToken);
    }
}
