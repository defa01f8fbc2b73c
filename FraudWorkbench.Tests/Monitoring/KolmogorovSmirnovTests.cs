using FraudWorkbench.Core.Monitoring;

namespace FraudWorkbench.Tests.Monitoring;

/// <summary>Expected values from scipy 1.10.1 <c>stats.ks_2samp(a, b)</c> (method "auto", exact at these sizes) on the same arrays.</summary>
public sealed class KolmogorovSmirnovTests
{
    // numpy.random.default_rng(11): round(normal(0, 1, 300), 3), round(normal(0.25, 1, 200), 3), then round(normal(0, 1, 100), 2) twice.
    private static readonly double[] Shifted300 = [0.034, 1.36, 1.225, -0.51, -0.298, -0.527, 0.57, -0.056, 0.747, -1.847, 1.567, -0.096, 0.68, -0.137, -0.379, 0.463, 0.825, -0.203, -0.153, 0.686, -0.87, -1.514, 0.395, -0.671, -1.92, -0.814, -0.468, -1.193, -1.492, 0.037, 0.897, -0.233, -0.744, 0.385, 0.717, -0.3, 0.545, 1.043, -0.207, -0.814, 0.348, 0.248, 1.099, -1.285, -0.662, -0.838, -1.734, 0.126, 0.528, -0.739, 1.386, 0.822, 0.627, 0.402, 0.956, -1.332, 0.614, 0.603, -1.768, 0.347, -0.25, 0.782, -0.439, -0.018, 0.343, -0.876, 0.599, -0.105, 0.492, -0.522, 1.086, 0.605, -0.178, 0.632, 1.26, 1.791, -1.574, 0.883, 0.465, -0.094, -1.007, 1.257, -1.262, 0.567, 1.302, -1.6, -0.303, -1.309, 0.244, 1.514, 2.024, -1.778, -0.575, 0.704, 1.579, 0.421, -0.746, 0.297, -0.017, -0.204, -0.734, 0.387, 0.308, -0.093, -0.222, -1.285, -0.486, 1.206, -0.191, -1.44, 1.334, 0.53, 2.108, 0.063, -0.461, -1.448, 1.324, 2.57, -0.821, -0.647, 0.596, -0.83, -0.271, -0.35, 0.192, 1.095, 0.022, 0.919, -0.42, 0.328, -2.138, -1.45, 0.796, -0.59, 0.58, 0.542, 1.322, 0.812, 1.017, -0.112, -0.698, -0.732, -0.488, -1.13, -0.547, -0.093, 0.252, -0.339, -1.924, -0.072, 0.225, 1.084, 0.578, -0.644, -0.724, 2.011, 0.757, 1.831, 2.129, -0.818, 0.385, 0.458, 0.56, 0.542, 0.202, 0.174, -1.502, -0.165, -0.748, 0.126, -0.468, 0.619, 0.819, 0.309, 0.316, 0.093, -0.448, -0.165, -0.496, 0.388, 0.014, 0.581, -1.329, 0.888, -0.763, -0.734, -0.197, -0.563, 0.291, -0.574, -1.069, -0.846, 1.312, 0.044, -1.168, 0.008, -1.556, 1.79, -1.524, 0.479, 0.544, -1.45, 0.3, 0.997, 0.468, 0.261, 0.949, 0.161, 0.336, -0.127, 0.632, -0.941, 0.792, -0.505, -1.091, 0.365, 1.693, 0.962, -0.516, 0.698, -0.454, -0.124, 0.09, -2.317, 0.192, -1.03, -0.697, -1.474, -1.517, -0.943, 0.826, 1.666, -0.025, 1.092, -0.264, -1.912, 0.15, 0.446, -0.429, 0.302, 0.573, -0.863, -1.477, -0.221, -0.211, -0.353, 0.987, 1.726, -0.417, 0.699, 0.941, 0.713, 1.047, -0.389, 0.74, 2.024, 0.804, -0.62, 0.608, 1.262, 0.369, -0.563, 1.543, -1.25, 0.503, -0.016, -1.194, 1.219, 0.348, -1.167, 0.602, -0.432, -1.903, -0.689, 0.264, 0.636, 0.166, 0.045, 0.47, -0.211, 1.177, 0.149, 0.294, 0.541, -1.057, -0.709, 1.529, 0.335, -0.283, 0.341, -0.482, 0.279, -0.666, 0.276, -1.578, 1.331, -0.513, -1.581, -0.224, -0.371];
    private static readonly double[] Shifted200 = [0.402, -0.895, 0.647, 3.874, -1.029, 0.588, -0.061, 0.443, -1.562, -0.901, 0.71, 0.212, 1.885, -0.455, 0.424, 3.163, -0.516, -0.654, 0.215, 0.205, 1.094, 0.38, -0.507, 0.461, 2.889, 1.522, -2.532, 0.108, -0.625, 0.872, 0.077, 2.183, 1.181, 1.14, 0.437, 0.21, 0.59, 1.545, 0.784, -0.101, 1.525, 0.442, 0.172, -0.541, -0.316, -0.386, -2.542, 1.267, 0.816, 0.036, 1.296, 0.688, 0.622, -2.225, 0.017, 0.782, 1.86, 2.09, 1.676, -0.912, -1.948, 0.82, 0.278, 1.213, 0.124, 0.47, -1.25, 0.698, -0.195, 0.6, 0.709, 0.133, 0.567, 0.236, 1.009, 0.752, -0.297, -0.338, 1.994, 0.148, 1.242, 0.643, -0.314, -0.499, 0.37, 0.507, 0.864, -1.017, -0.345, 0.155, 1.851, -2.11, 0.689, -0.29, 0.681, -0.242, 0.615, 1.815, 0.604, 0.683, 0.623, -0.5, 0.793, 0.042, -0.562, 0.211, 0.023, 1.003, 0.207, -0.279, 1.706, 1.238, 1.52, 0.858, 0.14, -0.169, -0.029, 1.198, 0.362, -1.233, 0.211, -1.166, 0.416, -0.954, -1.014, 0.369, 0.172, -1.412, 0.998, 2.413, -1.231, 2.07, -0.438, -0.244, 0.071, -1.195, 1.549, 0.743, -0.501, -0.027, -1.266, -0.098, 1.186, -1.465, -0.186, 0.397, 1.298, 1.599, -0.207, -0.49, 0.7, -0.113, -0.06, 1.33, 1.94, 0.516, 0.058, 0.821, -1.638, 0.232, -0.811, 2.639, 0.97, 0.391, 0.056, -2.265, 0.963, 1.879, -0.479, 0.933, 0.973, -1.298, 1.186, 1.605, 0.478, 0.187, 1.038, -1.291, 0.343, 1.304, -0.992, 1.243, -0.168, -1.831, 0.144, -0.722, 0.569, -0.922, 1.3, -0.489, 0.606, -0.344, -0.073, 1.442, 0.465, -0.145, -1.002, 1.41, 0.983, -0.077];
    private static readonly double[] Same100A = [0.24, -1.03, -1.01, -0.83, 0.35, 0.3, -0.75, 0.74, 0.78, 0.17, 1.04, -0.29, -0.11, 0.47, -0.03, 0.79, -1.25, 1.43, -0.78, -0.16, -1.38, 0.6, 1.27, 1.07, 0.83, -1.56, -0.78, -0.46, -0.93, 1.12, 0.18, -0.02, 0.49, -0.95, -0.91, -0.88, 0.5, 0.34, 0.58, 1.08, -1.36, -0.56, 0.15, -1.35, -0.53, 1.01, 1.1, 1.08, 0.04, -0.21, 1.08, -0.37, 0.34, 1.33, -0.37, -0.61, -0.01, 0.6, 0.48, 0.16, 0.56, -1.6, -0.86, 0.16, -0.93, -1.34, -1.21, -0.92, -0.18, -1.02, 0.23, 1.7, -0.15, 1.27, 0.29, -1.12, -0.26, -0.98, 0.77, -1.15, 1.32, 0.58, -2.02, 0.78, 1.55, -0.79, 0.99, -1.8, 0.25, -1.66, 0.48, -1.79, -2.63, 0.4, 2.29, -0.6, 0.83, 0.11, -0.32, 0.62];
    private static readonly double[] Same100B = [1.64, -1.24, 0.56, 0.35, -1.42, 1.61, 1.95, -0.95, 1.74, 0.06, -0.16, 1.5, 0.23, 0.32, 1.52, 1.29, 0.89, -1.4, -1.57, 1.13, -0.93, 0.15, -1.07, -0.18, -1.28, 1.63, -1.02, -0.12, -0.19, 1.21, -1.42, -0.03, -0.21, 0.53, 0.47, -0.46, 0.24, -0.37, 0.47, -0.1, -0.66, -0.03, 0.36, 2.27, -0.49, 0.31, 1.46, -2.08, -1.74, -1.19, -0.11, 2.44, 0.39, 1.21, -0.22, -2.46, -2.31, 1.02, 0.18, -1.3, 1.12, -1.54, 1.13, 1.45, -0.76, -1.11, 0.84, -1.1, 0.86, -1.2, 0.81, 0.09, -0.43, -0.9, 0.24, -1.89, -0.28, -0.4, 0.68, -1.25, 1.71, -0.31, -1.14, 1.39, 1.66, -0.19, -0.89, 0.02, -0.69, -0.31, 1.56, 0.39, 0.15, 0.35, -0.06, 0.84, 0.88, -0.37, 0.11, 2.41];

    [Fact]
    public void KolmogorovSmirnov_TiesAndUnequalSizes_MatchesScipyExact()
    {
        var result = DriftStatistics.KolmogorovSmirnov([1, 2, 2, 3, 10], [2, 4, 4, 5]);

        Assert.Equal(0.55, result.Statistic, 12);
        Assert.Equal(0.4285714285714286, result.PValue!.Value, 12);
    }

    [Fact]
    public void KolmogorovSmirnov_MeanShiftOfAQuarterStd_MatchesScipyAndIsDrift()
    {
        var result = DriftStatistics.KolmogorovSmirnov(Shifted300, Shifted200);

        Assert.Equal(0.13166666666666665, result.Statistic, 12);
        Assert.Equal(0.029211288018390635, result.PValue!.Value, 10);
        Assert.True(DriftMethod.IsDrift(DriftMethod.KolmogorovSmirnov, result.PValue.Value, 0.05));
    }

    [Fact]
    public void KolmogorovSmirnov_SameDistributionEqualSizes_MatchesScipyAndIsNoDrift()
    {
        var result = DriftStatistics.KolmogorovSmirnov(Same100A, Same100B);

        Assert.Equal(0.13, result.Statistic, 12);
        Assert.Equal(0.36818778606286096, result.PValue!.Value, 10);
        Assert.False(DriftMethod.IsDrift(DriftMethod.KolmogorovSmirnov, result.PValue.Value, 0.05));
    }

    [Fact]
    public void KolmogorovSmirnov_IdenticalSamples_NoGapPValueOne() =>
        Assert.Equal(new TestResult(0, 1), DriftStatistics.KolmogorovSmirnov([3, 1, 2], [1, 2, 3]));

    // scipy 1.10.1: float(scipy.stats.kstwo.sf(x, n)) (Debian python3-scipy). The rows walk every branch of its
    // _kolmogn: Ruben-Gambino at both ends (n·x ≤ 1, n·x ≥ n − 1), x ≥ 0.5 (twice Smirnov), n ≤ 140 with Durbin
    // (n·x² ≤ 0.754693), Pomeranz (≤ 4) and Smirnov beyond, and for n > 140 Durbin (n·x^1.5 ≤ 1.4), Pelz-Good,
    // Smirnov (n·x² ≥ 2.2, exact sum up to n = 10⁶, cephes' approximation beyond).
    [Theory]
    [InlineData(5, 0.19, 0.977325184)]
    [InlineData(5, 0.3, 0.664)]
    [InlineData(5, 0.7, 0.005560000000000004)]
    [InlineData(5, 0.85, 0.0001518750000000001)]
    [InlineData(100, 0.05, 0.9532159710635725)]
    [InlineData(100, 0.09, 0.3706320255863282)]
    [InlineData(100, 0.12, 0.1033037490181987)]
    [InlineData(100, 0.2, 0.0005551927327988775)]
    [InlineData(100, 0.3, 1.7719869892662917e-08)]
    [InlineData(140, 0.15, 0.0032495604415101703)]
    [InlineData(141, 0.02, 0.9999999744561288)]
    [InlineData(200, 0.00499, 1.0)]
    [InlineData(1000, 0.01, 0.9999496745370611)]
    [InlineData(1000, 0.03, 0.3226902143914636)]
    [InlineData(1000, 0.06, 0.001428597887952891)]
    [InlineData(1000, 0.1, 3.703687096817711e-09)]
    [InlineData(10000, 0.005, 0.9628778025204304)]
    [InlineData(10000, 0.012, 0.11135257403749388)]
    [InlineData(25000, 0.002, 0.9999624147768598)]
    [InlineData(25000, 0.0085, 0.05366121545391589)]
    [InlineData(25000, 0.02, 4.061196710119753e-09)]
    [InlineData(100000, 0.001, 0.9999638407940036)]
    [InlineData(100000, 0.004, 0.08130148920222469)]
    [InlineData(166667, 0.0015, 0.8469207235884255)]
    [InlineData(166667, 0.0035, 0.03362322997736111)]
    [InlineData(166667, 0.02, 2.421702817433634e-58)]
    [InlineData(2000000, 0.0005, 0.6991771101944894)]
    [InlineData(2000000, 0.001, 0.03660662431970485)]
    [InlineData(2000000, 0.0015, 0.00024657290508461606)]
    public void KolmogorovSurvival_EveryBranchOfScipysKolmogn_MatchesKstwoSf(long n, double x, double expected)
    {
        var actual = DriftStatistics.KolmogorovSurvival(n, x);

        Assert.True(Math.Abs(actual - expected) <= 1e-9 * expected + 1e-14, $"kstwo.sf({x}, {n}): expected {expected:R}, got {actual:R}");
    }

    [Fact]
    public void KolmogorovSurvival_OutsideZeroToOne_ClosedForm()
    {
        Assert.Equal(1, DriftStatistics.KolmogorovSurvival(10, 0));
        Assert.Equal(0, DriftStatistics.KolmogorovSurvival(10, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => DriftStatistics.KolmogorovSurvival(0, 0.5));
    }

    // scipy 1.10.1: r = np.arange(20000) / 20000.0; c = (np.arange(15000) / 15000.0) ** p; ks_2samp(r, c) ("auto" is
    // "asymp" here, 20,000 > 10,000 values a side: kstwo.sf(D, round(20000·15000 / 35000) = 8571)).
    [Theory]
    [InlineData(1.02, 0.007350000000000023, 0.7405433507896015)]
    [InlineData(1.1, 0.03510000000000002, 1.308198227420772e-09)]
    public void KolmogorovSmirnov_MoreThanTenThousandASide_MatchesScipyAsymp(double power, double statistic, double pValue)
    {
        var reference = Enumerable.Range(0, 20_000).Select(i => i / 20000.0).ToArray();
        var current = Enumerable.Range(0, 15_000).Select(j => Math.Pow(j / 15000.0, power)).ToArray();

        var result = DriftStatistics.KolmogorovSmirnov(reference, current);

        Assert.Equal(statistic, result.Statistic, 12);
        Assert.True(Math.Abs(result.PValue!.Value - pValue) <= 1e-9 * pValue, $"expected {pValue:R}, got {result.PValue:R}");
    }

    // scipy 1.10.1: i = np.arange(12000); r = ((i * 7919) % 20011 - 10000) / 7.0; j = np.arange(5000);
    // c = ((j * 104729) % 9973 - 5200) / 3.0; ks_2samp(r, c) → (0.0962, 7.064595133951146e-29). Negative values, zeros and
    // ties through the radix sort used from 4,096 values; NaN and infinities are left out (scipy was given none).
    [Fact]
    public void KolmogorovSmirnov_NegativesTiesAndNonFiniteAtRadixSortSizes_MatchesScipy()
    {
        var reference = Enumerable.Range(0, 12_000).Select(i => ((i * 7919L) % 20011 - 10000) / 7.0).Append(double.NaN).Append(double.PositiveInfinity).ToArray();
        var current = Enumerable.Range(0, 5_000).Select(j => ((j * 104729L) % 9973 - 5200) / 3.0).Prepend(double.NegativeInfinity).ToList();

        var result = DriftStatistics.KolmogorovSmirnov(reference, current);

        Assert.Equal(0.0962, result.Statistic, 12);
        Assert.True(Math.Abs(result.PValue!.Value - 7.064595133951146e-29) <= 1e-9 * 7.064595133951146e-29, $"got {result.PValue:R}");
    }
}
