namespace FraudWorkbench.Core.Fairness;

/// <summary>
/// One grouping's rows reduced to what the bootstrap needs: per group, cells of (score bin × label) with each cell's
/// row count, mean score and score variance; and every group metric computed exactly from the rows (the point values).
/// </summary>
/// <remarks>
/// Drawing a group's n rows with replacement and counting them into cells is exactly a multinomial draw of the cell
/// counts (n; each cell's share), so a resample costs one draw per non-empty cell instead of one per row. The bins are
/// slices of all rows in score order holding at most a set share of each class (ties never split, and the decision
/// threshold is always a bin edge, so the confusion counts of a resample are exact); with no more distinct scores than
/// bins each score is its own bin and the cell bootstrap is the row bootstrap. ROC-AUC and average precision of a resample treat a bin as one tied step;
/// the mean score of a resample is Σ count × cell mean plus a normal term with the within-cell variance the drawn
/// rows would add (the first two moments of the row bootstrap's sum).
/// </remarks>
public sealed class FairnessCells
{
    /// <summary>
    /// Bins per class: a bin holds at most 1/50 of the fraud rows and 1/50 of the others (so about 100 bins, a few
    /// more where the threshold cuts). The cost of a resample follows the cells; 25 and 100 a class gave intervals as
    /// close to the per-row bootstrap's as two per-row bootstraps are to each other (docs/fairness.md).
    /// </summary>
    public const int DefaultBins = 50;

    // A group with at most this many rows per non-empty cell draws its rows one by one: n uniform draws cost less than
    // as many binomials, and the counts have the same multinomial distribution either way.
    private const int RowDrawFactor = 4;

    private static readonly int Metrics = FairnessMetric.All.Count;

    private readonly int[] start;
    private readonly int[] count;
    private readonly double[] mean;
    private readonly double[] variance;
    private readonly double[] conditional;
    private readonly int[] bin;
    private readonly bool[] fraud;
    private readonly bool[] binFlagged;
    private readonly int[]?[] rowCells;
    private readonly double?[,] binnedPoint;

    private FairnessCells(int groups, int bins, List<Cell>[] cells, bool[] binFlagged, double?[,] exact, int[] sizes, long[] positives)
    {
        (Bins, this.binFlagged, Exact, Sizes, Fraud) = (bins, binFlagged, exact, sizes, positives);
        start = new int[groups + 1];
        for (var g = 0; g < groups; g++) start[g + 1] = start[g] + cells[g].Count;
        var total = start[groups];
        (count, mean, variance, conditional, bin, fraud) = (new int[total], new double[total], new double[total], new double[total], new int[total], new bool[total]);
        rowCells = new int[]?[groups];
        for (var g = 0; g < groups; g++)
        {
            var list = cells[g];
            long remaining = sizes[g];
            for (var i = 0; i < list.Count; i++)
            {
                var c = start[g] + i;
                (count[c], mean[c], variance[c], bin[c], fraud[c]) = (list[i].Count, list[i].Mean, list[i].Variance, list[i].Bin, list[i].Fraud);
                // Cell i's share of the rows not yet given to cells before it: the chain of binomials is the multinomial.
                conditional[c] = (double)list[i].Count / remaining;
                remaining -= list[i].Count;
            }

            if (sizes[g] <= RowDrawFactor * list.Count)
            {
                var rows = rowCells[g] = new int[sizes[g]];
                var at = 0;
                for (var i = 0; i < list.Count; i++)
                {
                    for (var k = 0; k < list[i].Count; k++) rows[at++] = i;
                }
            }
        }

        var workspace = new Workspace(this);
        Array.Copy(count, workspace.Drawn, total);
        binnedPoint = Values(workspace, random: null);
    }

    /// <summary>Score bins actually used (each distinct score its own bin when there are at most twice the bins asked).</summary>
    public int Bins { get; }

    /// <summary>Rows per group.</summary>
    public int[] Sizes { get; }

    /// <summary>Fraud rows per group, then overall.</summary>
    public long[] Fraud { get; }

    /// <summary>Every metric of every group (overall the last row) from the rows themselves, as Fairlearn and scikit-learn define them.</summary>
    public double?[,] Exact { get; }

    /// <summary>Non-empty cells of all groups, group after group (a resample's counts are laid out the same way).</summary>
    public int Cells => count.Length;

    public int Groups => Sizes.Length;

    /// <summary>The cells of group <paramref name="group"/>: [start, end) in the layout of <see cref="Cells"/>.</summary>
    public (int Start, int End) CellsOf(int group) => (start[group], start[group + 1]);

    public int Count(int cell) => count[cell];

    public double Mean(int cell) => mean[cell];

    public bool IsFraud(int cell) => fraud[cell];

    public int Bin(int cell) => bin[cell];

    /// <summary>
    /// Cells of <paramref name="grouping"/>'s groups over at most <paramref name="bins"/> score bins, and the exact point
    /// metrics, from the rows in score order (<see cref="ScoreOrder"/>: one sort serves every grouping of the same rows).
    /// </summary>
    public static FairnessCells Build(Grouping grouping, ScoreOrder sorted, double threshold, int bins = DefaultBins)
    {
        var n = sorted.Rows.Length;
        if (grouping.Of.Length != n) throw new ArgumentException("The grouping and the sorted rows must have one entry per row.");
        var groups = grouping.Count;
        var (descending, order, fraudSorted) = (sorted.Scores, sorted.Rows, sorted.Labels);

        var distinct = n == 0 ? 0 : 1;
        for (var i = 1; i < n; i++)
        {
            if (descending[i] != descending[i - 1]) distinct++;
        }

        var everyScore = distinct <= 2 * bins;
        // Each bin holds at most 1/bins of the fraud rows and 1/bins of the others: equal-count bins over all rows would
        // put a large share of the rare fraud rows into the few top bins, where the curves need them apart.
        long fraudRows = 0;
        foreach (var y in fraudSorted) fraudRows += y ? 1 : 0;
        double fraudPerBin = Math.Max(1.0, (double)fraudRows / bins), legitPerBin = Math.Max(1.0, (double)(n - fraudRows) / bins);
        long binFraud = 0, binLegit = 0;
        var exact = new Curve[groups + 1];
        var open = new Accumulator[groups, 2];
        var openBin = new int[groups];
        Array.Fill(openBin, -1);
        var cells = new List<Cell>[groups];
        for (var g = 0; g < groups; g++) cells[g] = [];
        var flaggedBins = new List<bool>();
        var current = -1;
        for (var i = 0; i < n; i++)
        {
            var score = descending[i];
            var tie = i > 0 && score == descending[i - 1];
            // A new bin where the score changes and either every score is its own bin, the bin has its share of the
            // rows, or the threshold lies between this score and the previous one.
            if (i == 0 || (!tie && (everyScore || binFraud >= fraudPerBin || binLegit >= legitPerBin || (descending[i - 1] >= threshold) != (score >= threshold))))
            {
                current++;
                (binFraud, binLegit) = (0, 0);
                flaggedBins.Add(score >= threshold);
            }

            var g = grouping.Of[order[i]];
            var y = fraudSorted[i];
            if (y) binFraud++;
            else binLegit++;
            var flagged = score >= threshold;
            exact[g].Add(score, y, flagged);
            exact[groups].Add(score, y, flagged);
            if (openBin[g] != current)
            {
                Flush(g);
                openBin[g] = current;
            }

            open[g, y ? 1 : 0].Add(score);
        }

        for (var g = 0; g < groups; g++) Flush(g);
        var point = new double?[groups + 1, Metrics];
        for (var g = 0; g <= groups; g++) exact[g].Fill(point, g);
        var sizes = new int[groups];
        foreach (var g in grouping.Of) sizes[g]++;
        return new FairnessCells(groups, flaggedBins.Count, cells, [.. flaggedBins], point, sizes, [.. exact.Select(e => (long)(e.Tp + e.Fn))]);

        void Flush(int g)
        {
            if (openBin[g] < 0) return;
            for (var y = 0; y < 2; y++)
            {
                ref var a = ref open[g, y];
                if (a.Count > 0) cells[g].Add(new Cell(openBin[g], y == 1, a.Count, a.Mean, a.Variance));
                a = default;
            }
        }
    }

    /// <summary>As <see cref="Build(Grouping, ScoreOrder, double, int)"/>, sorting the rows first.</summary>
    public static FairnessCells Build(Grouping grouping, IReadOnlyList<bool> labels, IReadOnlyList<double> scores, double threshold, int bins = DefaultBins) =>
        Build(grouping, ScoreOrder.Of(labels, scores), threshold, bins);

    /// <summary>
    /// One bootstrap resample: each group draws as many rows as it has from its own cells only (so every group keeps its
    /// size, however small); <paramref name="drawn"/> gets the count per cell, laid out as <see cref="Cells"/>.
    /// </summary>
    public void Resample(Random random, int[] drawn)
    {
        for (var g = 0; g < Groups; g++)
        {
            var (s, e) = (start[g], start[g + 1]);
            var n = Sizes[g];
            if (rowCells[g] is { } rows)
            {
                Array.Clear(drawn, s, e - s);
                for (var i = 0; i < n; i++) drawn[s + rows[random.Next(n)]]++;
                continue;
            }

            long remaining = n;
            for (var c = s; c < e; c++)
            {
                var k = remaining == 0 ? 0 : Binomial.Sample(random, remaining, conditional[c]);
                drawn[c] = (int)k;
                remaining -= k;
            }
        }
    }

    /// <summary>Every metric of every group and overall from a resample's cell counts (<see cref="Workspace.Drawn"/>).</summary>
    public double?[,] Resampled(Workspace workspace, Random random)
    {
        var values = Values(workspace, random);
        // A bin is one tied step in the resampled curves; the shift by the bins' effect on the point value keeps the
        // intervals around the exact ROC-AUC and average precision (the bins change the spread far less than the level).
        foreach (var k in new[] { RocAucIndex, AveragePrecisionIndex })
        {
            for (var g = 0; g <= Groups; g++)
            {
                if (values[g, k] is { } v && Exact[g, k] is { } e && binnedPoint[g, k] is { } p) values[g, k] = v + (e - p);
            }
        }

        return values;
    }

    private static readonly int RocAucIndex = FairnessMetric.All.ToList().IndexOf(FairnessMetric.RocAuc);
    private static readonly int AveragePrecisionIndex = FairnessMetric.All.ToList().IndexOf(FairnessMetric.AveragePrecision);

    private double?[,] Values(Workspace workspace, Random? random)
    {
        var drawn = workspace.Drawn;
        var overall = workspace.Overall;
        Array.Clear(overall);
        var result = new double?[Groups + 1, Metrics];
        double overallSum = 0;
        for (var g = 0; g < Groups; g++)
        {
            var curve = default(Curve);
            double within = 0;
            var lastBin = -1;
            for (var c = start[g]; c < start[g + 1]; c++)
            {
                var k = drawn[c];
                if (k == 0) continue;
                if (bin[c] != lastBin) curve.Step();
                lastBin = bin[c];
                curve.Add(k, fraud[c], binFlagged[bin[c]], k * mean[c]);
                within += k * variance[c];
                overall[(2 * bin[c]) + (fraud[c] ? 1 : 0)] += k;
            }

            if (random is not null && within > 0) curve.ScoreSum += Math.Sqrt(within) * Normal(random);
            overallSum += curve.ScoreSum;
            curve.Fill(result, g);
        }

        var all = default(Curve);
        for (var b = 0; b < Bins; b++)
        {
            all.Step();
            if (overall[2 * b] > 0) all.Add(overall[2 * b], false, binFlagged[b], 0);
            if (overall[(2 * b) + 1] > 0) all.Add(overall[(2 * b) + 1], true, binFlagged[b], 0);
        }

        all.ScoreSum = overallSum;
        all.Fill(result, Groups);
        return result;
    }

    private static double Normal(Random random)
    {
        // Box–Muller; 1 − u keeps the logarithm finite.
        var u = 1 - random.NextDouble();
        return Math.Sqrt(-2 * Math.Log(u)) * Math.Cos(2 * Math.PI * random.NextDouble());
    }

    /// <summary>All rows by score from the highest (equal scores in row order), with their labels in that order.</summary>
    public sealed class ScoreOrder
    {
        private const ulong Sign = 1UL << 63;

        private ScoreOrder(double[] scores, int[] rows, bool[] labels) => (Scores, Rows, Labels) = (scores, rows, labels);

        /// <summary>The scores, highest first.</summary>
        internal double[] Scores { get; }

        internal int[] Rows { get; }

        internal bool[] Labels { get; }

        public static ScoreOrder Of(IReadOnlyList<bool> labels, IReadOnlyList<double> scores)
        {
            if (labels.Count != scores.Count) throw new ArgumentException("Labels and scores must have one entry per row.");
            var n = scores.Count;
            var keys = new ulong[n];
            for (var r = 0; r < n; r++)
            {
                // The bit pattern made to sort as the number does (negatives' bits flipped, positives' sign bit set),
                // then complemented so the highest score comes first; −0 counts as 0, the same score.
                var bits = BitConverter.DoubleToUInt64Bits(scores[r] == 0 ? 0.0 : scores[r]);
                keys[r] = ~((bits & Sign) != 0 ? ~bits : bits | Sign);
            }

            var rows = RadixOrder(keys);
            var sortedScores = new double[n];
            var sortedLabels = new bool[n];
            for (var i = 0; i < n; i++) (sortedScores[i], sortedLabels[i]) = (scores[rows[i]], labels[rows[i]]);
            return new ScoreOrder(sortedScores, rows, sortedLabels);
        }

        /// <summary>
        /// The rows in ascending key order: a stable least-significant-byte radix sort, eight passes at most (a byte every
        /// key shares is skipped). A million rows sort in a few tens of milliseconds, several times faster than
        /// Array.Sort's comparisons, and the sort is a large part of the point metrics' time.
        /// </summary>
        internal static int[] RadixOrder(ulong[] keys)
        {
            var n = keys.Length;
            var rows = new int[n];
            for (var i = 0; i < n; i++) rows[i] = i;
            if (n < 2) return rows;
            var counts = new int[8 * 256];
            foreach (var key in keys)
            {
                for (var d = 0; d < 8; d++) counts[(d * 256) + (int)((key >> (8 * d)) & 0xFF)]++;
            }

            var (fromKeys, fromRows) = ((ulong[])keys.Clone(), rows);
            var (toKeys, toRows) = (new ulong[n], new int[n]);
            var offsets = new int[256];
            for (var d = 0; d < 8; d++)
            {
                var shift = 8 * d;
                if (counts[(d * 256) + (int)((fromKeys[0] >> shift) & 0xFF)] == n) continue;
                var total = 0;
                for (var b = 0; b < 256; b++) (offsets[b], total) = (total, total + counts[(d * 256) + b]);
                for (var i = 0; i < n; i++)
                {
                    var at = offsets[(int)((fromKeys[i] >> shift) & 0xFF)]++;
                    (toKeys[at], toRows[at]) = (fromKeys[i], fromRows[i]);
                }

                (fromKeys, toKeys, fromRows, toRows) = (toKeys, fromKeys, toRows, fromRows);
            }

            return fromRows;
        }
    }

    /// <summary>Buffers one thread reuses across resamples.</summary>
    public sealed class Workspace(FairnessCells cells)
    {
        public int[] Drawn { get; } = new int[cells.Cells];

        internal long[] Overall { get; } = new long[2 * cells.Bins];
    }

    private readonly record struct Cell(int Bin, bool Fraud, int Count, double Mean, double Variance);

    /// <summary>Count, mean and variance of one cell's scores, taken relative to its first score so equal scores give exactly 0.</summary>
    private struct Accumulator
    {
        private double first;
        private double sum;
        private double squares;

        public int Count { get; private set; }

        public readonly double Mean => first + (sum / Count);

        public readonly double Variance => Math.Max(0, (squares / Count) - ((sum / Count) * (sum / Count)));

        public void Add(double score)
        {
            if (Count == 0) first = score;
            var d = score - first;
            (sum, squares, Count) = (sum + d, squares + (d * d), Count + 1);
        }
    }

    /// <summary>
    /// Confusion counts, score sum and the ROC and precision-recall curves walked from the highest score, ties as one step
    /// (scikit-learn's ROC-AUC by trapezoids and average precision).
    /// </summary>
    private struct Curve
    {
        public double Tp, Fp, Tn, Fn, ScoreSum;
        private double curveTp, curveFp, lastTp, lastFp, area, precisionSum, lastScore;
        private bool started;

        /// <summary>One row of the exact walk: a new score closes the previous tied step.</summary>
        public void Add(double score, bool isFraud, bool flagged)
        {
            if (started && score != lastScore) Step();
            (started, lastScore) = (true, score);
            Add(1, isFraud, flagged, score);
        }

        public void Add(double weight, bool isFraud, bool flagged, double scoreSum)
        {
            if (isFraud)
            {
                if (flagged) Tp += weight;
                else Fn += weight;
                curveTp += weight;
            }
            else
            {
                if (flagged) Fp += weight;
                else Tn += weight;
                curveFp += weight;
            }

            ScoreSum += scoreSum;
        }

        public void Step()
        {
            area += (curveFp - lastFp) * (curveTp + lastTp) / 2;
            if (curveTp > lastTp) precisionSum += (curveTp - lastTp) * curveTp / (curveTp + curveFp);
            (lastTp, lastFp) = (curveTp, curveFp);
        }

        public void Fill(double?[,] result, int g)
        {
            Step();
            double n = Tp + Fp + Tn + Fn, positives = Tp + Fn, negatives = Fp + Tn, flaggedCount = Tp + Fp;
            if (n == 0) return;
            result[g, 0] = flaggedCount / n;
            result[g, 1] = positives > 0 ? Tp / positives : null;
            result[g, 2] = negatives > 0 ? Fp / negatives : null;
            result[g, 3] = positives > 0 ? Fn / positives : null;
            result[g, 4] = flaggedCount > 0 ? Tp / flaggedCount : null;
            result[g, 5] = positives / n;
            result[g, 6] = positives > 0 && negatives > 0 ? area / (positives * negatives) : null;
            result[g, 7] = positives > 0 ? precisionSum / positives : null;
            result[g, 8] = ScoreSum / n;
        }
    }
}
