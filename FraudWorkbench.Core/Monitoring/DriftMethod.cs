namespace FraudWorkbench.Core.Monitoring;

/// <summary>The tests a column's drift can be judged by, with Evidently's names and default thresholds.</summary>
public static class DriftMethod
{
    public const string KolmogorovSmirnov = "ks";
    public const string ChiSquare = "chisquare";
    public const string ProportionZ = "z";
    public const string Wasserstein = "wasserstein";
    public const string JensenShannon = "jensenshannon";
    public const string Psi = "psi";
    public const string Hellinger = "hellinger";

    public static readonly IReadOnlyList<string> All = [KolmogorovSmirnov, ChiSquare, ProportionZ, Wasserstein, JensenShannon, Psi, Hellinger];

    /// <summary>Tests whose score is a p-value: drift when it is small. The others are distances: drift when large.</summary>
    public static bool IsPValue(string method) => method is KolmogorovSmirnov or ChiSquare or ProportionZ;

    /// <summary>Evidently's defaults: 0.05 for the p-value tests, 0.1 for the distances.</summary>
    public static double DefaultThreshold(string method) => IsPValue(method) ? 0.05 : 0.1;

    /// <summary>Drift as Evidently decides it: KS when p ≤ threshold, the other p-value tests when p &lt; threshold, distances when ≥ threshold.</summary>
    public static bool IsDrift(string method, double score, double threshold) => method switch
    {
        KolmogorovSmirnov => score <= threshold,
        ChiSquare or ProportionZ => score < threshold,
        _ => score >= threshold,
    };

    /// <summary>
    /// Evidently's automatic choice (<c>registry.py</c>): a numeric column with at most 5 distinct values (over
    /// reference and current together) is treated as categorical; with a reference of at most 1,000 rows,
    /// numeric → KS, categorical with more than 2 values → chi-square, else the z-test; with a larger
    /// reference, numeric → normed Wasserstein, categorical → Jensen-Shannon.
    /// </summary>
    public static string Choose(long referenceRows, bool numeric, long distinctValues)
    {
        var isNumeric = numeric && distinctValues > 5;
        if (referenceRows <= 1_000) return isNumeric ? KolmogorovSmirnov : distinctValues > 2 ? ChiSquare : ProportionZ;
        return isNumeric ? Wasserstein : JensenShannon;
    }

    /// <summary>Dataset drift, as Evidently: at least this share of the tested columns drifted.</summary>
    public const double DefaultDriftShare = 0.5;

    public static bool IsDatasetDrift(int drifted, int tested, double share = DefaultDriftShare) => tested > 0 && (double)drifted / tested >= share;
}
