namespace FraudWorkbench.Core.Monitoring;

/// <summary>The distribution tails the drift tests' p-values need (.NET has no erfc or incomplete gamma).</summary>
public static class SpecialFunctions
{
    /// <summary>P(X ≥ x) for a chi-square variable with <paramref name="degreesOfFreedom"/>: Q(k/2, x/2).</summary>
    public static double ChiSquareSurvival(double x, int degreesOfFreedom) =>
        x <= 0 ? 1 : UpperRegularizedGamma(degreesOfFreedom / 2.0, x / 2);

    /// <summary>Two-sided tail of the standard normal: P(|Z| ≥ |z|) = erfc(|z| / √2).</summary>
    public static double NormalTwoSided(double z) => Erfc(Math.Abs(z) / Math.Sqrt(2));

    /// <summary>erfc(x) for x ≥ 0, as Q(½, x²).</summary>
    public static double Erfc(double x) => x < 0 ? 2 - Erfc(-x) : x == 0 ? 1 : UpperRegularizedGamma(0.5, x * x);

    /// <summary>
    /// Q(a, x) = Γ(a, x) / Γ(a): the series for x &lt; a + 1, Lentz's continued fraction beyond
    /// (Numerical Recipes §6.2), to about 1e-15 relative.
    /// </summary>
    public static double UpperRegularizedGamma(double a, double x)
    {
        if (a <= 0) throw new ArgumentOutOfRangeException(nameof(a));
        if (x <= 0) return 1;
        var logPrefix = a * Math.Log(x) - x - LogGamma(a);
        if (x < a + 1)
        {
            double term = 1 / a, sum = term;
            for (var n = 1; n < 10_000; n++)
            {
                term *= x / (a + n);
                sum += term;
                if (Math.Abs(term) < Math.Abs(sum) * 1e-16) break;
            }

            return Math.Max(0, 1 - sum * Math.Exp(logPrefix));
        }

        const double tiny = 1e-300;
        double b = x + 1 - a, c = 1 / tiny, d = 1 / b, h = d;
        for (var i = 1; i < 10_000; i++)
        {
            var an = -i * (i - a);
            b += 2;
            d = an * d + b;
            if (Math.Abs(d) < tiny) d = tiny;
            c = b + an / c;
            if (Math.Abs(c) < tiny) c = tiny;
            d = 1 / d;
            var delta = d * c;
            h *= delta;
            if (Math.Abs(delta - 1) < 1e-16) break;
        }

        return Math.Exp(logPrefix) * h;
    }

    /// <summary>ln Γ(x) for x &gt; 0 (Lanczos, g = 7, nine coefficients: about 15 digits).</summary>
    public static double LogGamma(double x)
    {
        if (x < 0.5) return Math.Log(Math.PI / Math.Abs(Math.Sin(Math.PI * x))) - LogGamma(1 - x);
        ReadOnlySpan<double> g =
        [
            0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
            12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
        ];
        x -= 1;
        var sum = g[0];
        for (var i = 1; i < g.Length; i++) sum += g[i] / (x + i);
        var t = x + 7.5;
        return 0.5 * Math.Log(2 * Math.PI) + (x + 0.5) * Math.Log(t) - t + Math.Log(sum);
    }
}
