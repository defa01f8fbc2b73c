namespace FraudWorkbench.Core.Training;

/// <param name="K">Nearest same-class neighbours to interpolate towards (imbalanced-learn's k_neighbors).</param>
/// <param name="TargetRatio">Minority rows per majority row after oversampling (imbalanced-learn's sampling_strategy as a float).</param>
public sealed record SmoteOptions(int K = 5, double TargetRatio = 1.0, int Seed = 42);

/// <summary>Synthetic minority rows and, for each, the minority row it started from, the neighbour it moved towards and how far (0–1).</summary>
public sealed record SmoteResult(int Count, double[] Numeric, int[] Categorical, int[] Parents, int[] Neighbours, double[] Gaps);

/// <summary>
/// SMOTE and SMOTENC as imbalanced-learn defines them: a synthetic row is x_i + u·(x_nn − x_i), with
/// x_i a random minority row, x_nn one of its k nearest minority neighbours and u ~ U(0, 1). With
/// categorical columns (SMOTENC) distances add, per differing category, the squared distance of two
/// one-hot vectors whose ones are the median of the minority's numeric standard deviations divided
/// by two; a synthetic row takes the most frequent category among the neighbours (the smallest code on a tie).
/// Only training rows may be passed in: oversampling must never see validation rows.
/// </summary>
public static class Smote
{
    /// <param name="numeric">Row-major numeric features, <paramref name="numericWidth"/> per row.</param>
    /// <param name="categorical">Row-major category codes, <paramref name="categoricalWidth"/> per row (may be empty).</param>
    /// <param name="minority">Which rows belong to the minority (fraud) class.</param>
    public static SmoteResult Generate(double[] numeric, int numericWidth, int[] categorical, int categoricalWidth, IReadOnlyList<bool> minority, SmoteOptions options)
    {
        var rows = minority.Count;
        if (numeric.Length != rows * numericWidth || categorical.Length != rows * categoricalWidth)
            throw new ArgumentException("The feature arrays do not match the number of rows.");
        var members = Enumerable.Range(0, rows).Where(i => minority[i]).ToArray();
        var majority = rows - members.Length;
        var wanted = Math.Max(0, (int)Math.Round(options.TargetRatio * majority) - members.Length);
        if (wanted == 0) return new SmoteResult(0, [], [], [], [], []);
        if (options.K < 1) throw new ArgumentOutOfRangeException(nameof(options), "k must be at least 1.");
        if (members.Length <= options.K)
            throw new ArgumentException($"SMOTE with k = {options.K} needs more than {options.K} minority rows; the training rows have {members.Length}.");

        var categoryWeight = categoricalWidth == 0 ? 0 : CategoryMismatchCost(numeric, numericWidth, members);
        var neighbours = NearestNeighbours(numeric, numericWidth, categorical, categoricalWidth, members, options.K, categoryWeight);

        var random = new Random(options.Seed);
        var outNumeric = new double[wanted * numericWidth];
        var outCategorical = new int[wanted * categoricalWidth];
        var parents = new int[wanted];
        var chosen = new int[wanted];
        var gaps = new double[wanted];
        for (var s = 0; s < wanted; s++)
        {
            var m = random.Next(members.Length);
            var i = members[m];
            var j = members[neighbours[m][random.Next(options.K)]];
            var u = random.NextDouble();
            for (var d = 0; d < numericWidth; d++)
            {
                var xi = numeric[i * numericWidth + d];
                outNumeric[s * numericWidth + d] = xi + u * (numeric[j * numericWidth + d] - xi);
            }

            for (var c = 0; c < categoricalWidth; c++)
            {
                outCategorical[s * categoricalWidth + c] = neighbours[m]
                    .Select(n => categorical[members[n] * categoricalWidth + c])
                    .GroupBy(v => v).OrderByDescending(g => g.Count()).ThenBy(g => g.Key).First().Key;
            }

            (parents[s], chosen[s], gaps[s]) = (i, j, u);
        }

        return new SmoteResult(wanted, outNumeric, outCategorical, parents, chosen, gaps);
    }

    /// <summary>Squared distance added per differing category: two one-hot entries of median(std)/2 each.</summary>
    private static double CategoryMismatchCost(double[] numeric, int width, int[] members)
    {
        if (width == 0) return 1;
        var stds = new double[width];
        for (var d = 0; d < width; d++)
        {
            double mean = 0, m2 = 0;
            for (var k = 0; k < members.Length; k++)
            {
                var x = numeric[members[k] * width + d];
                var delta = x - mean;
                mean += delta / (k + 1);
                m2 += delta * (x - mean);
            }

            stds[d] = Math.Sqrt(m2 / members.Length); // numpy's default (population) standard deviation
        }

        Array.Sort(stds);
        var median = width % 2 == 1 ? stds[width / 2] : (stds[width / 2 - 1] + stds[width / 2]) / 2;
        var half = median / 2;
        return 2 * half * half;
    }

    /// <summary>Σ (a − b)², a SIMD vector at a time.</summary>
    private static double SquaredDistance(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        var sum = System.Numerics.Vector<double>.Zero;
        var width = System.Numerics.Vector<double>.Count;
        var d = 0;
        for (; d <= a.Length - width; d += width)
        {
            var diff = new System.Numerics.Vector<double>(a[d..]) - new System.Numerics.Vector<double>(b[d..]);
            sum += diff * diff;
        }

        var total = System.Numerics.Vector.Sum(sum);
        for (; d < a.Length; d++)
        {
            var diff = a[d] - b[d];
            total += diff * diff;
        }

        return total;
    }

    /// <summary>For each minority row (by position in <paramref name="members"/>), its k nearest other minority rows.</summary>
    private static int[][] NearestNeighbours(double[] numeric, int numericWidth, int[] categorical, int categoricalWidth, int[] members, int k, double categoryWeight)
    {
        var result = new int[members.Length][];
        Parallel.For(0, members.Length, a =>
        {
            // Keep the k best in a small sorted buffer: cheaper than sorting every distance.
            var bestDistance = new double[k];
            var bestIndex = new int[k];
            Array.Fill(bestDistance, double.PositiveInfinity);
            Array.Fill(bestIndex, int.MaxValue);
            var ia = members[a];
            var rowA = numeric.AsSpan(ia * numericWidth, numericWidth);
            for (var b = 0; b < members.Length; b++)
            {
                if (b == a) continue;
                var ib = members[b];
                var rowB = numeric.AsSpan(ib * numericWidth, numericWidth);
                var distance = SquaredDistance(rowA, rowB);

                for (var c = 0; c < categoricalWidth; c++)
                {
                    if (categorical[ia * categoricalWidth + c] != categorical[ib * categoricalWidth + c]) distance += categoryWeight;
                }

                // Ties keep the lower index, as a stable sort by distance would.
                if (distance > bestDistance[k - 1] || (distance == bestDistance[k - 1] && b > bestIndex[k - 1])) continue;
                var position = k - 1;
                while (position > 0 && (bestDistance[position - 1] > distance || (bestDistance[position - 1] == distance && bestIndex[position - 1] > b)))
                {
                    bestDistance[position] = bestDistance[position - 1];
                    bestIndex[position] = bestIndex[position - 1];
                    position--;
                }

                bestDistance[position] = distance;
                bestIndex[position] = b;
            }

            result[a] = bestIndex;
        });
        return result;
    }
}
