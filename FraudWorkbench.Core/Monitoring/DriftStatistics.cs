namespace FraudWorkbench.Core.Monitoring;

/// <summary>A two-sample test's outcome: the statistic, and its p-value when the test has one.</summary>
public readonly record struct TestResult(double Statistic, double? PValue = null, int? DegreesOfFreedom = null);

/// <summary>
/// Drift statistics with the reference tools' definitions (Evidently's stattests on scipy; see
/// REFERENCE.md), computed from bin counts so that the same code serves counts aggregated as
/// predictions are logged and counts from raw values. Index i of the reference and current counts
/// is the same bin (or category; an unseen category is a bin whose reference count is 0).
/// </summary>
public static class DriftStatistics
{
    /// <summary>What Evidently puts in a bin with no rows before taking logs or ratios.</summary>
    public const double EmptyBinShare = 1e-4;

    /// <summary>Shares of each bin, an empty bin given <see cref="EmptyBinShare"/> (not renormalised, as Evidently).</summary>
    public static double[] Shares(IReadOnlyList<long> counts)
    {
        var total = counts.Sum();
        var shares = new double[counts.Count];
        for (var i = 0; i < shares.Length; i++) shares[i] = total == 0 || counts[i] == 0 ? EmptyBinShare : (double)counts[i] / total;
        return shares;
    }

    /// <summary>Population stability index: Σ (r − c) · ln(r / c) over the bins' shares.</summary>
    public static double Psi(IReadOnlyList<long> reference, IReadOnlyList<long> current)
    {
        Check(reference, current);
        var (r, c) = (Shares(reference), Shares(current));
        var psi = 0.0;
        for (var i = 0; i < r.Length; i++) psi += (r[i] - c[i]) * Math.Log(r[i] / c[i]);
        return psi;
    }

    /// <summary>
    /// Jensen-Shannon distance (the square root of the divergence, natural log) of the bins' shares,
    /// as scipy's <c>jensenshannon</c> on Evidently's shares: each side normalised to sum 1 first.
    /// </summary>
    public static double JensenShannon(IReadOnlyList<long> reference, IReadOnlyList<long> current)
    {
        Check(reference, current);
        var p = Normalise(Shares(reference));
        var q = Normalise(Shares(current));
        var divergence = 0.0;
        for (var i = 0; i < p.Length; i++)
        {
            var m = (p[i] + q[i]) / 2;
            divergence += (RelativeEntropy(p[i], m) + RelativeEntropy(q[i], m)) / 2;
        }

        return Math.Sqrt(Math.Max(0, divergence));
    }

    /// <summary>Hellinger distance of the bins' shares (no smoothing needed): √(½ Σ (√p − √q)²), between 0 and 1.</summary>
    public static double Hellinger(IReadOnlyList<long> reference, IReadOnlyList<long> current)
    {
        Check(reference, current);
        var (rTotal, cTotal) = ((double)reference.Sum(), (double)current.Sum());
        var sum = 0.0;
        for (var i = 0; i < reference.Count; i++)
        {
            var d = Math.Sqrt(reference[i] / rTotal) - Math.Sqrt(current[i] / cTotal);
            sum += d * d;
        }

        return Math.Sqrt(sum / 2);
    }

    /// <summary>
    /// Chi-square test of homogeneity on the 2 × k table of reference and current counts, as scipy's
    /// <c>chi2_contingency</c> (Yates' correction when there is one degree of freedom). Bins empty on
    /// both sides are left out; an unseen category (reference 0) is a column like any other.
    /// </summary>
    public static TestResult ChiSquare(IReadOnlyList<long> reference, IReadOnlyList<long> current)
    {
        Check(reference, current);
        var columns = Enumerable.Range(0, reference.Count).Where(i => reference[i] + current[i] > 0).ToList();
        var (rTotal, cTotal) = ((double)reference.Sum(), (double)current.Sum());
        var total = rTotal + cTotal;
        var dof = columns.Count - 1;
        if (dof < 1 || rTotal == 0 || cTotal == 0) return new TestResult(0, 1, Math.Max(dof, 0));
        var statistic = 0.0;
        foreach (var i in columns)
        {
            var column = reference[i] + current[i];
            foreach (var (observed, rowTotal) in new[] { (reference[i], rTotal), (current[i], cTotal) })
            {
                var expected = rowTotal * column / total;
                var difference = Math.Abs(observed - expected);
                if (dof == 1) difference = Math.Max(0, difference - 0.5); // Yates, never past zero (scipy: min(0.5, |O − E|))
                statistic += difference * difference / expected;
            }
        }

        return new TestResult(statistic, SpecialFunctions.ChiSquareSurvival(statistic, dof), dof);
    }

    /// <summary>
    /// Two-proportion z-test for a binary column (Evidently's <c>z</c>): pooled proportion, two-sided p-value.
    /// </summary>
    public static TestResult ProportionZ(long referencePositives, long referenceCount, long currentPositives, long currentCount)
    {
        if (referenceCount == 0 || currentCount == 0) return new TestResult(0, 1);
        var p1 = (double)referencePositives / referenceCount;
        var p2 = (double)currentPositives / currentCount;
        var pooled = (double)(referencePositives + currentPositives) / (referenceCount + currentCount);
        var spread = Math.Sqrt(pooled * (1 - pooled) * (1.0 / referenceCount + 1.0 / currentCount));
        if (spread == 0) return new TestResult(0, 1); // one value on both sides: nothing moved
        var z = (p1 - p2) / spread;
        return new TestResult(z, SpecialFunctions.NormalTwoSided(z));
    }

    /// <summary>
    /// Two-sample Kolmogorov-Smirnov test, two-sided: D = the largest gap between the empirical CDFs, and
    /// its exact p-value (scipy's <c>ks_2samp</c> method "exact", which its "auto" uses up to 10,000 values a
    /// side; the monitoring reads a bounded sample of a window for KS, so this is the path that matters).
    /// The p-value is the share of lattice paths from (0, 0) to (m, n) that leave the band
    /// |x/m − y/n| &lt; D, walked as probabilities (a path's share, not a count, so nothing overflows).
    /// </summary>
    public static TestResult KolmogorovSmirnov(IReadOnlyList<double> reference, IReadOnlyList<double> current)
    {
        var r = reference.Where(double.IsFinite).Order().ToArray();
        var c = current.Where(double.IsFinite).Order().ToArray();
        if (r.Length == 0 || c.Length == 0) throw new ArgumentException("Both samples need values.");
        int m = r.Length, n = c.Length;

        var d = 0.0;
        int i = 0, j = 0;
        while (i < m && j < n)
        {
            var next = Math.Min(r[i], c[j]);
            while (i < m && r[i] == next) i++;
            while (j < n && c[j] == next) j++;
            d = Math.Max(d, Math.Abs((double)i / m - (double)j / n));
        }

        return new TestResult(d, KolmogorovSmirnovPValue(d, m, n));
    }

    /// <summary>Sizes up to which the p-value is exact, as scipy's <c>ks_2samp</c> "auto" (its MAX_AUTO_N).</summary>
    public const int KsExactUpTo = 10_000;

    /// <summary>
    /// The two-sided p-value of a KS statistic <paramref name="d"/> between samples of <paramref name="m"/> and
    /// <paramref name="n"/> values: exact up to <see cref="KsExactUpTo"/> values a side, else the asymptotic
    /// Kolmogorov distribution at √(mn/(m+n))·D with Stephens' small-sample correction.
    /// </summary>
    public static double KolmogorovSmirnovPValue(double d, long m, long n)
    {
        if (m <= 0 || n <= 0) throw new ArgumentException("Both samples need values.");
        if (d <= 0) return 1;
        if (Math.Max(m, n) > KsExactUpTo) return KolmogorovSurvival((Math.Sqrt(m * (double)n / (m + n)) + 0.12 + 0.11 / Math.Sqrt(m * (double)n / (m + n))) * d);
        // In units of 1 / lcm(m, n), as scipy rounds it: the gap between two step functions is a multiple of that.
        var g = (int)System.Numerics.BigInteger.GreatestCommonDivisor(m, n);
        long mg = m / g, ng = n / g;
        var lcm = mg * n;
        var h = (long)Math.Round(d * lcm, MidpointRounding.ToEven);
        if (h == 0) return 1;
        return Math.Clamp(1 - InsideBand((int)m, (int)n, mg, ng, h), 0, 1);
    }

    /// <summary>Q(x) = 2 Σ (−1)^(k−1) e^(−2k²x²), the limiting distribution's upper tail.</summary>
    private static double KolmogorovSurvival(double x)
    {
        if (x < 0.2) return 1;
        double sum = 0, sign = 1;
        for (var k = 1; k <= 100; k++)
        {
            var term = sign * Math.Exp(-2.0 * k * k * x * x);
            sum += term;
            if (Math.Abs(term) < 1e-16) break;
            sign = -sign;
        }

        return Math.Clamp(2 * sum, 0, 1);
    }

    /// <summary>Share of all paths to (m, n) whose every point keeps |x·n/g − y·m/g| &lt; h.</summary>
    private static double InsideBand(int m, int n, long mg, long ng, long h)
    {
        // column[y] = share of paths to (x, y) that stayed inside: A(x, y) = A(x−1, y)·x/(x+y) + A(x, y−1)·y/(x+y).
        var column = new double[n + 1];
        for (var y = 0; y <= n; y++) column[y] = y == 0 || (column[y - 1] > 0 && Math.Abs(y * mg) < h) ? 1 : 0;
        for (var x = 1; x <= m; x++)
        {
            for (var y = 0; y <= n; y++)
            {
                if (Math.Abs(x * ng - y * mg) >= h)
                {
                    column[y] = 0;
                    continue;
                }

                column[y] = y == 0 ? column[0] : (column[y] * x + column[y - 1] * y) / (x + y);
            }
        }

        return column[n];
    }

    /// <summary>
    /// First Wasserstein distance of two samples (scipy's <c>wasserstein_distance</c>: the area between
    /// their empirical CDFs) divided by the reference's population standard deviation, at least 0.001 (Evidently's normed form).
    /// </summary>
    public static double NormedWasserstein(IReadOnlyList<double> reference, IReadOnlyList<double> current)
    {
        if (reference.Count == 0 || current.Count == 0) throw new ArgumentException("Both samples need values.");
        var r = reference.Order().ToArray();
        var c = current.Order().ToArray();
        double distance = 0, previous = Math.Min(r[0], c[0]);
        int i = 0, j = 0;
        while (i < r.Length || j < c.Length)
        {
            var next = j >= c.Length || (i < r.Length && r[i] <= c[j]) ? r[i] : c[j];
            distance += Math.Abs((double)i / r.Length - (double)j / c.Length) * (next - previous);
            while (i < r.Length && r[i] == next) i++;
            while (j < c.Length && c[j] == next) j++;
            previous = next;
        }

        var mean = r.Average();
        var std = Math.Sqrt(r.Sum(x => (x - mean) * (x - mean)) / r.Length);
        return distance / Math.Max(std, 0.001);
    }

    private static double[] Normalise(double[] shares)
    {
        var sum = shares.Sum();
        return [.. shares.Select(s => s / sum)];
    }

    private static double RelativeEntropy(double x, double y) => x > 0 ? x * Math.Log(x / y) : 0;

    private static void Check(IReadOnlyList<long> reference, IReadOnlyList<long> current)
    {
        if (reference.Count != current.Count) throw new ArgumentException($"The reference has {reference.Count} bins and the current counts {current.Count}; a bin must mean the same on both sides.");
        if (reference.Any(c => c < 0) || current.Any(c => c < 0)) throw new ArgumentException("Counts cannot be negative.");
    }
}
