namespace FraudWorkbench.Core.Fairness;

/// <summary>
/// Binomial(n, p) draws in O(1) expected time whatever n is: inversion while n·min(p, 1 − p) ≤ 30, above that BTPE
/// (Kachitvichyanukul and Schmeiser 1988, "Binomial random variate generation", CACM 31(2)), as numpy's
/// <c>random_binomial</c> does. .NET has no binomial sampler; the fairness bootstrap draws a multinomial over a group's
/// cells as a chain of these.
/// </summary>
public static class Binomial
{
    private const double InversionLimit = 30;

    // 1 / x for the inversion's steps: its bound, n·p + 10·√(n·p·q + 1), stays under 90 when n·p ≤ 30, and a
    // multiplication is several times faster than the division it replaces in the loop.
    private static readonly double[] Reciprocal = [.. Enumerable.Range(0, 128).Select(x => x == 0 ? 0 : 1.0 / x)];

    public static long Sample(Random random, long n, double p)
    {
        if (n <= 0 || p <= 0) return 0;
        if (p >= 1) return n;
        // Both methods want the smaller of p and 1 − p; the larger side is n minus a draw of the smaller.
        if (p <= 0.5) return n * p <= InversionLimit ? Inversion(random, n, p) : Btpe(random, n, p);
        var q = 1 - p;
        return n - (n * q <= InversionLimit ? Inversion(random, n, q) : Btpe(random, n, q));
    }

    /// <summary>Walks the probability mass from 0 up; n·p ≤ 30 keeps the walk short.</summary>
    private static long Inversion(Random random, long n, double p)
    {
        var q = 1 - p;
        // (1 − p)ⁿ through log1p: for n in the billions and p tiny, Math.Log(1 − p) would lose the digits that matter.
        var qn = Math.Exp(n * LogOnePlus(-p));
        var np = n * p;
        var bound = (long)Math.Min(n, np + (10 * Math.Sqrt((np * q) + 1)));
        var odds = p / q;
        long x = 0;
        var px = qn;
        var u = random.NextDouble();
        while (u > px)
        {
            x++;
            if (x > bound)
            {
                // Past ten standard deviations the remaining mass is rounding error: start over rather than walk on.
                x = 0;
                px = qn;
                u = random.NextDouble();
            }
            else
            {
                u -= px;
                px *= (n - x + 1) * odds * (x < Reciprocal.Length ? Reciprocal[x] : 1.0 / x);
            }
        }

        return x;
    }

    private static double LogOnePlus(double x) => Math.Abs(x) < 1e-4 ? x * (1 - (x * (0.5 - (x / 3)))) : Math.Log(1 + x);

    /// <summary>BTPE for p ≤ 0.5 and n·p > 30: a triangle, two parallelograms and two exponential tails over the mass, with squeezes before the exact test.</summary>
    private static long Btpe(Random random, long n, double p)
    {
        double r = p, q = 1 - p;
        var fm = (n * r) + r;
        var m = (long)Math.Floor(fm);
        var nrq = n * r * q;
        var p1 = Math.Floor((2.195 * Math.Sqrt(nrq)) - (4.6 * q)) + 0.5;
        var xm = m + 0.5;
        var xl = xm - p1;
        var xr = xm + p1;
        var c = 0.134 + (20.5 / (15.3 + m));
        var a = (fm - xl) / (fm - (xl * r));
        var laml = a * (1 + (a / 2));
        a = (xr - fm) / (xr * q);
        var lamr = a * (1 + (a / 2));
        var p2 = p1 * (1 + (2 * c));
        var p3 = p2 + (c / laml);
        var p4 = p3 + (c / lamr);

        while (true)
        {
            var u = random.NextDouble() * p4;
            var v = random.NextDouble();
            long y;
            if (u <= p1)
            {
                // The triangle: accepted at once.
                return (long)Math.Floor(xm - (p1 * v) + u);
            }

            if (u <= p2)
            {
                var x = xl + ((u - p1) / c);
                v = (v * c) + 1 - (Math.Abs(m - x + 0.5) / p1);
                if (v > 1) continue;
                y = (long)Math.Floor(x);
            }
            else if (u <= p3)
            {
                y = (long)Math.Floor(xl + (Math.Log(v) / laml));
                if (y < 0 || v == 0) continue;
                v *= (u - p2) * laml;
            }
            else
            {
                y = (long)Math.Floor(xr - (Math.Log(v) / lamr));
                if (y > n || v == 0) continue;
                v *= (u - p3) * lamr;
            }

            var k = Math.Abs(y - m);
            if (k <= 20 || k >= (nrq / 2) - 1)
            {
                // Near the mode: the ratio f(y)/f(m) by recursion.
                var s = r / q;
                var aa = s * (n + 1);
                var f = 1.0;
                if (m < y)
                {
                    for (var i = m + 1; i <= y; i++) f *= (aa / i) - s;
                }
                else if (m > y)
                {
                    for (var i = y + 1; i <= m; i++) f /= (aa / i) - s;
                }

                if (v <= f) return y;
                continue;
            }

            // Far from the mode: squeeze on log v, then the exact log ratio with Stirling's corrections.
            var rho = k / nrq * (((k * ((k / 3.0) + 0.625)) + 0.16666666666666666) / nrq + 0.5);
            var t = -(double)k * k / (2 * nrq);
            var logV = Math.Log(v);
            if (logV < t - rho) return y;
            if (logV > t + rho) continue;

            double x1 = y + 1, f1 = m + 1, z = n + 1 - m, w = n - y + 1;
            if (logV <= (xm * Math.Log(f1 / x1)) + ((n - m + 0.5) * Math.Log(z / w)) + ((y - m) * Math.Log(w * r / (x1 * q)))
                + Stirling(f1) + Stirling(z) + Stirling(x1) + Stirling(w))
            {
                return y;
            }
        }
    }

    private static double Stirling(double x)
    {
        var x2 = x * x;
        return (13680.0 - ((462.0 - ((132.0 - ((99.0 - (140.0 / x2)) / x2)) / x2)) / x2)) / x / 166320.0;
    }
}
