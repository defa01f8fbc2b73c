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
        var r = SortedFinite(reference);
        var c = SortedFinite(current);
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

    /// <summary>The finite values, sorted: one copy and an in-place sort (sorting is most of KS's time on large samples).</summary>
    private static double[] SortedFinite(IReadOnlyList<double> values)
    {
        var copy = new double[values.Count];
        if (values is double[] array) array.CopyTo(copy, 0);
        else for (var i = 0; i < copy.Length; i++) copy[i] = values[i];
        var kept = 0;
        foreach (var v in copy)
            if (double.IsFinite(v)) copy[kept++] = v;
        Array.Resize(ref copy, kept);
        if (copy.Length < RadixFrom) Array.Sort(copy);
        else RadixSort(copy);
        return copy;
    }

    /// <summary>From this many values an LSD radix sort beats the comparison sort several times over.</summary>
    private const int RadixFrom = 4_096;

    /// <summary>
    /// Sorts finite doubles by their bits: each mapped to an unsigned key in the same order (negative: all bits flipped;
    /// otherwise the sign bit set), then four stable passes of 16 bits, a pass skipped when every key shares its digit.
    /// </summary>
    private static void RadixSort(double[] values)
    {
        const ulong sign = 0x8000_0000_0000_0000;
        var n = values.Length;
        var keys = new ulong[n];
        var buffer = new ulong[n];
        var counts = new int[4 << 16];
        for (var i = 0; i < n; i++)
        {
            var bits = (ulong)BitConverter.DoubleToInt64Bits(values[i]);
            var key = (bits & sign) != 0 ? ~bits : bits | sign;
            keys[i] = key;
            counts[(int)(key & 0xFFFF)]++;
            counts[(1 << 16) + (int)((key >> 16) & 0xFFFF)]++;
            counts[(2 << 16) + (int)((key >> 32) & 0xFFFF)]++;
            counts[(3 << 16) + (int)(key >> 48)]++;
        }

        for (var digit = 0; digit < 4; digit++)
        {
            var histogram = counts.AsSpan(digit << 16, 1 << 16);
            var shift = 16 * digit;
            if (histogram[(int)((keys[0] >> shift) & 0xFFFF)] == n) continue; // one value of this digit: the order stands
            var position = 0;
            for (var b = 0; b < histogram.Length; b++)
            {
                var count = histogram[b];
                histogram[b] = position;
                position += count;
            }

            foreach (var key in keys) buffer[histogram[(int)((key >> shift) & 0xFFFF)]++] = key;
            (keys, buffer) = (buffer, keys);
        }

        for (var i = 0; i < n; i++)
        {
            var key = keys[i];
            values[i] = BitConverter.Int64BitsToDouble((long)((key & sign) != 0 ? key & ~sign : ~key));
        }
    }

    /// <summary>Sizes up to which the p-value is exact, as scipy's <c>ks_2samp</c> "auto" (its MAX_AUTO_N).</summary>
    public const int KsExactUpTo = 10_000;

    /// <summary>
    /// The two-sided p-value of a KS statistic <paramref name="d"/> between samples of <paramref name="m"/> and
    /// <paramref name="n"/> values, as scipy's <c>ks_2samp</c> "auto": exact up to <see cref="KsExactUpTo"/> values a
    /// side, else <c>kstwo.sf(D, round(mn / (m + n)))</c> (<see cref="KolmogorovSurvival"/>).
    /// </summary>
    public static double KolmogorovSmirnovPValue(double d, long m, long n)
    {
        if (m <= 0 || n <= 0) throw new ArgumentException("Both samples need values.");
        if (d <= 0) return 1;
        if (Math.Max(m, n) > KsExactUpTo)
        {
            // numpy's round is half to even; a one-value side against a huge one still has an effective size of 1.
            var effective = (long)Math.Round(m * (double)n / (m + n), MidpointRounding.ToEven);
            return KolmogorovSurvival(Math.Max(1, effective), d);
        }

        // In units of 1 / lcm(m, n), as scipy rounds it: the gap between two step functions is a multiple of that.
        var g = (int)System.Numerics.BigInteger.GreatestCommonDivisor(m, n);
        long mg = m / g, ng = n / g;
        var lcm = mg * n;
        var h = (long)Math.Round(d * lcm, MidpointRounding.ToEven);
        if (h == 0) return 1;
        return Math.Clamp(1 - InsideBand((int)m, (int)n, mg, ng, h), 0, 1);
    }

    /// <summary>
    /// P(D_n ≥ x) for the two-sided one-sample KS statistic of n values (scipy's <c>kstwo.sf(x, n)</c>, its
    /// <c>_kolmogn</c>): Simard and L'Ecuyer's choice by n and n·x² between Ruben-Gambino's closed forms at the ends,
    /// twice the one-sided Smirnov tail (Birnbaum-Tingey's exact sum) where the two tails cannot overlap or the
    /// overlap is below double precision, Durbin's matrix (Marsaglia-Tsang-Wang) for small n·x, and Pelz-Good's
    /// expansion otherwise. Where scipy uses Pomeranz's recursion (n ≤ 140, 0.754693 &lt; n·x² ≤ 4) this uses
    /// Durbin's matrix: both are exact, so they agree to rounding.
    /// </summary>
    public static double KolmogorovSurvival(long n, double x)
    {
        if (n <= 0) throw new ArgumentOutOfRangeException(nameof(n), "The sample size must be positive.");
        if (double.IsNaN(x)) return double.NaN;
        if (x >= 1) return 0;
        if (x <= 0) return 1;
        var t = n * x;
        if (t <= 1)
        {
            if (t <= 0.5) return 1;
            double cdf;
            if (n <= 140)
            {
                cdf = 1;
                for (var i = 1; i <= n; i++) cdf *= i * (1.0 / n) * (2 * t - 1);
            }
            else
            {
                cdf = Math.Exp(LogFactorialOverPower(n) + n * Math.Log(2 * t - 1));
            }

            return Math.Clamp(1 - cdf, 0, 1);
        }

        if (t >= n - 1) return Math.Clamp(2 * Math.Pow(1 - x, n), 0, 1);
        if (x >= 0.5) return Math.Clamp(2 * SmirnovSurvival(n, x), 0, 1);
        var nxSquared = t * x;
        if (n <= 140) return Math.Clamp(nxSquared <= 4 ? 1 - Durbin(n, x) : 2 * SmirnovSurvival(n, x), 0, 1);
        if (nxSquared >= 370) return 0;
        if (nxSquared >= 2.2) return Math.Clamp(2 * SmirnovSurvival(n, x), 0, 1);
        var inside = n <= 100_000 && n * Math.Pow(x, 1.5) <= 1.4 ? Durbin(n, x) : PelzGood(n, x);
        return Math.Clamp(1 - inside, 0, 1);
    }

    /// <summary>ln(n! / nⁿ) by Stirling's series with n·ln n taken out first (no cancellation), as scipy.</summary>
    private static double LogFactorialOverPower(long n)
    {
        ReadOnlySpan<double> stirling =
        [
            -2.955065359477124183e-2, 6.4102564102564102564e-3, -1.9175269175269175269e-3, 8.4175084175084175084e-4,
            -5.952380952380952381e-4, 7.9365079365079365079e-4, -2.7777777777777777778e-3, 8.3333333333333333333e-2,
        ];
        var rn = 1.0 / n;
        var y = rn / n;
        var poly = 0.0;
        foreach (var c in stirling) poly = poly * y + c;
        return Math.Log(n) / 2 - n + Math.Log(2 * Math.PI) / 2 + rn * poly;
    }

    /// <summary>
    /// P(D_n⁺ ≥ x), the one-sided Smirnov tail (cephes' <c>smirnov</c>): x · Σ_{j ≤ n(1−x)} C(n, j) (1 − x − j/n)^(n−j)
    /// (x + j/n)^(j−1), every term positive, summed in logs so that nothing overflows at large n; beyond a million
    /// values cephes' own approximation e^(−(6nx+1)²/18n).
    /// </summary>
    private static double SmirnovSurvival(long n, double x)
    {
        if (n == 1) return x;
        if (x <= 0) return 1;
        if (x >= 1) return 0;
        var nx = n * x;
        var floor = (long)Math.Floor(nx);
        var alpha = nx - floor;
        if (floor == 0 || (floor == 1 && alpha == 0)) return 1 - x * Math.Pow(1 + x, n - 1);
        if (-2 * n * x * x < -708.3964185322641) return 0;
        if (floor >= n - 1) return Math.Pow(1 - x, n);
        if (n > 1_000_000)
        {
            var logp = -Math.Pow(6.0 * n * x + 1, 2) / 18.0 / n;
            return logp < -Math.Log(2) ? Math.Exp(logp) : 1 + double.ExpM1(logp);
        }

        // The last j has 1 − x − j/n > 0; at exactly n·x integer the j = n(1 − x) term is 0 and is left out.
        var last = n - floor - (alpha == 0 ? 2 : 1);
        var terms = last + 1;
        double logBinomial = 0, sum = 0;
        for (long j = 0; j < terms; j++)
        {
            var term = Math.Exp(logBinomial + (n - j) * Math.Log((double)(n - j) / n - x) + (j - 1) * Math.Log(x + (double)j / n));
            sum += term;
            // cephes' early stop: the rest cannot reach the last bit of the sum.
            if (term > 0 && 4.0 * (terms - j) * term < 2.220446049250313e-16 * sum && j != terms - 1) break;
            if (term == 0 && j > n / 2) break;
            logBinomial += Math.Log((double)(n - j) / (j + 1));
        }

        return Math.Clamp(x * sum, 0, 1);
    }

    /// <summary>
    /// P(D_n ≤ d) exactly by Durbin's matrix: with d = (k − h)/n, the (k, k) entry of (n!/nⁿ)·Hⁿ for an
    /// (2k − 1)-square H (Marsaglia, Tsang and Wang 2003), powers scaled by 2¹²⁸ as they grow.
    /// </summary>
    private static double Durbin(long n, double d)
    {
        if (d >= 1) return 1;
        var nd = n * d;
        if (nd <= 0.5) return 0;
        var k = (int)Math.Ceiling(nd);
        var h = k - nd;
        var m = 2 * k - 1;
        var v = new double[m];
        var w = new double[m];
        var factorial = 1.0;
        for (var j = 1; j <= m; j++)
        {
            w[j - 1] = factorial;
            factorial /= j; // may underflow for large m, harmlessly
            v[j - 1] = (1 - Math.Pow(h, j)) * factorial;
        }

        v[m - 1] = (1 + Math.Pow(Math.Max(2 * h - 1, 0), m) - 2 * Math.Pow(h, m)) * factorial;
        var matrix = new double[m * m];
        for (var i = 1; i < m; i++)
            for (var r = i - 1; r < m; r++) matrix[r * m + i] = w[r - i + 1];
        for (var r = 0; r < m; r++) matrix[r * m] = v[r];
        for (var c = 0; c < m; c++) matrix[(m - 1) * m + c] = v[m - 1 - c];

        var power = new double[m * m];
        for (var i = 0; i < m; i++) power[i * m + i] = 1;
        var scratch = new double[m * m];
        const int e128 = 128;
        var scale = Math.ScaleB(1.0, e128);
        int exponent = 0, matrixExponent = 0;
        for (var left = n; left > 0; left /= 2)
        {
            if (left % 2 == 1)
            {
                Multiply(power, matrix, scratch, m);
                (power, scratch) = (scratch, power);
                exponent += matrixExponent;
            }

            Multiply(matrix, matrix, scratch, m);
            (matrix, scratch) = (scratch, matrix);
            matrixExponent *= 2;
            if (Math.Abs(matrix[(k - 1) * m + k - 1]) > scale)
            {
                for (var i = 0; i < matrix.Length; i++) matrix[i] /= scale;
                matrixExponent += e128;
            }
        }

        var p = power[(k - 1) * m + k - 1];
        for (var i = 1; i <= n; i++)
        {
            p = i * p / n;
            if (Math.Abs(p) < 1 / scale)
            {
                p *= scale;
                exponent -= e128;
            }
        }

        return Math.Clamp(Math.ScaleB(p, exponent), 0, 1);
    }

    private static void Multiply(double[] a, double[] b, double[] result, int m)
    {
        Array.Clear(result);
        for (var i = 0; i < m; i++)
        {
            var row = result.AsSpan(i * m, m);
            for (var l = 0; l < m; l++)
            {
                var x = a[i * m + l];
                if (x == 0) continue;
                var other = b.AsSpan(l * m, m);
                for (var j = 0; j < m; j++) row[j] += x * other[j];
            }
        }
    }

    /// <summary>Pelz and Good's (1976) approximation of P(D_n ≤ x) (Li-Chien / Korolyuk's expansion to n^(−3/2), in theta-function form for small √n·x).</summary>
    private static double PelzGood(long n, double x)
    {
        if (x <= 0) return 0;
        if (x >= 1) return 1;
        const double pi2 = Math.PI * Math.PI, pi4 = pi2 * pi2, pi6 = pi4 * pi2;
        var sqrt2Pi = Math.Sqrt(2 * Math.PI);
        var z = Math.Sqrt(n) * x;
        double z2 = z * z, z3 = z2 * z, z4 = z2 * z2, z6 = z4 * z2;
        var qlog = -pi2 / 8 / z2;
        if (qlog < -708) return 0;
        var q = Math.Exp(qlog);
        double k1a = -z2, k1b = pi2 / 4;
        double k2a = 6 * z6 + 2 * z4, k2b = (2 * z4 - 5 * z2) * pi2 / 4, k2c = pi4 * (1 - 2 * z2) / 16;
        double k3d = pi6 * (5 - 30 * z2) / 64, k3c = pi4 * (-60 * z2 + 212 * z4) / 16, k3b = pi2 * (135 * z4 - 96 * z6) / 4, k3a = -30 * z6 - 90 * Math.Pow(z, 8);
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        var maxk = (int)Math.Ceiling(16 * z / Math.PI);
        for (var k = maxk; k > 0; k--)
        {
            double odd = 2 * k - 1, odd2 = odd * odd, odd4 = odd2 * odd2, odd6 = odd4 * odd2;
            var qPower = Math.Pow(q, 8 * k);
            s0 = s0 * qPower + 1;
            s1 = s1 * qPower + k1a + k1b * odd2;
            s2 = s2 * qPower + k2a + k2b * odd2 + k2c * odd4;
            s3 = s3 * qPower + k3a + k3b * odd2 + k3c * odd4 + k3d * odd6;
        }

        var common = q * sqrt2Pi;
        s0 *= common / z;
        s1 *= common / (6 * z4);
        s2 *= common / (72 * Math.Pow(z, 7));
        s3 *= common / (6480 * Math.Pow(z, 10));

        var q2 = Math.Exp(-pi2 / 2 / z2);
        var sqrt3z = Math.Sqrt(3) * z;
        double extra2 = 0, extra3 = 0;
        for (var k = maxk; k > 0; k--)
        {
            double k2 = (double)k * k, kPi = Math.PI * k, qk = Math.Pow(q2, k2);
            extra2 += k2 * qk;
            extra3 += (sqrt3z + kPi) * (sqrt3z - kPi) * k2 * qk;
        }

        s2 += extra2 * pi2 * sqrt2Pi / (-36 * z3);
        s3 += extra3 * pi2 * sqrt2Pi / (216 * z6);
        var rootN = Math.Sqrt(n);
        return s0 + s1 / rootN + s2 / n + s3 / (n * rootN);
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
